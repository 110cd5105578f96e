/**
 * The whole stack's configuration: every `ducklake:*` key of `Pulumi.<stack>.yaml`, as one strict zod
 * schema. This module is pure (no Pulumi): the loader, the tests and the offline plan all parse with it.
 *
 * Cross-section rules live here; rules that need a calculator (memory budget, setting ranges per
 * PostgreSQL major, partition runway) are registered in `./validators.ts` and run after parsing.
 */
import { z } from "zod";
import { awsTags } from "./common";
import { ClusterSchema } from "./cluster";
import { NodesSchema } from "./nodes";
import { StorageSchema } from "./storage";
import { PostgresSchema } from "./postgres";
import { QueuesSchema } from "./queues";
import { LoggingSchema } from "./logging";
import { GP3_LIMITS } from "./gp3";
import { configPath } from "./issues";

/** Config namespace of every key this program reads (`ducklake:postgres`, ...). */
export const CONFIG_NAMESPACE = "ducklake";

/** Keys that hold secrets: they must be set with `pulumi config set --secret` and are read as Pulumi secrets. */
export const SECRET_KEYS = ["grafanaAdminPassword"] as const;

/**
 * `ducklake:*` keys, without the namespace. Objects are strict: a misspelled key is an error.
 */
export const StackConfigSchema = z
  .strictObject({
    /** Target cluster. */
    cluster: ClusterSchema,
    /** Dedicated Postgres node group (EKS only; required there). */
    nodes: NodesSchema.optional(),
    /** StorageClass of the data volumes. */
    storage: StorageSchema,
    /** The Postgres cluster and its tuning. */
    postgres: PostgresSchema,
    /** PGMQ queues. */
    queues: QueuesSchema,
    /** Loki and the log agent. */
    logging: LoggingSchema,
    /** AWS tags added to every AWS resource. Defaults to none. */
    tags: awsTags.default({}),
  })
  .superRefine((cfg, ctx) => {
    const isEks = cfg.cluster.provider === "eks";
    if (isEks && cfg.nodes === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["nodes"],
        message: "is required when cluster.provider is eks (the Postgres node group)",
      });
    }
    if (!isEks && cfg.nodes !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["nodes"],
        message: "must not be set when cluster.provider is kind (a kind stack creates no nodes)",
      });
    }
    if (!isEks && cfg.storage.gp3 !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["storage", "gp3"],
        message: "gp3 needs the EBS CSI driver: only allowed when cluster.provider is eks",
      });
    }
    if (!isEks && cfg.logging.loki.storage.type === "s3") {
      ctx.addIssue({
        code: "custom",
        path: ["logging", "loki", "storage", "type"],
        input: "s3",
        message: "s3 storage needs AWS: only allowed when cluster.provider is eks",
      });
    }
    // Required anti-affinity puts each instance on its own node: refuse more instances than nodes.
    const nodes = cfg.cluster.provider === "kind" ? cfg.cluster.nodeCount : cfg.nodes?.scaling.maxSize;
    const nodesKey = cfg.cluster.provider === "kind" ? "cluster.nodeCount" : "nodes.scaling.maxSize";
    const sync = cfg.postgres.synchronousReplication;
    if (sync !== undefined && sync.number > cfg.postgres.instances - 1) {
      ctx.addIssue({
        code: "custom",
        path: ["postgres", "synchronousReplication", "number"],
        input: sync.number,
        message:
          `is ${sync.number} but postgres.instances is ${cfg.postgres.instances}: at most instances - 1 = ${cfg.postgres.instances - 1} standbys can confirm a commit` +
          (cfg.postgres.instances === 1
            ? "; a single instance has no standby (remove synchronousReplication or add instances)"
            : ""),
      });
    }
    if (nodes !== undefined && cfg.postgres.instances > nodes && !cfg.postgres.allowColocatedInstances) {
      ctx.addIssue({
        code: "custom",
        path: ["postgres", "instances"],
        input: cfg.postgres.instances,
        message: `${cfg.postgres.instances} instances need ${cfg.postgres.instances} nodes for required anti-affinity but ${nodesKey} is ${nodes}; lower instances or set postgres.allowColocatedInstances: true`,
      });
    }
    // gp3: at most 500 IOPS per GiB of each claimed volume.
    if (cfg.storage.gp3 !== undefined) {
      const sizes: Array<[string[], number]> = [[["postgres", "storage", "sizeGiB"], cfg.postgres.storage.sizeGiB]];
      if (cfg.postgres.storage.walSizeGiB !== undefined)
        sizes.push([["postgres", "storage", "walSizeGiB"], cfg.postgres.storage.walSizeGiB]);
      // Loki's volume is claimed from the same class (its PVC, or its WAL/cache PVC with S3 storage).
      sizes.push([["logging", "loki", "storage", "sizeGiB"], cfg.logging.loki.storage.sizeGiB]);
      for (const [path, sizeGiB] of sizes) {
        const maxIops = sizeGiB * GP3_LIMITS.maxIopsPerGiB;
        if (cfg.storage.gp3.iops > maxIops) {
          ctx.addIssue({
            code: "custom",
            path,
            input: sizeGiB,
            message: `a ${sizeGiB} GiB gp3 volume allows at most ${maxIops} IOPS (500 per GiB) but storage.gp3.iops is ${cfg.storage.gp3.iops}; use >= ${Math.ceil(cfg.storage.gp3.iops / GP3_LIMITS.maxIopsPerGiB)} GiB`,
          });
        }
      }
    }
    // Queue names are unique across queues and dead-letter queues.
    const seen = new Map<string, string>();
    cfg.queues.definitions.forEach((q, i) => {
      const names: Array<[string, (string | number)[]]> = [[q.name, ["queues", "definitions", i, "name"]]];
      if (q.deadLetter) names.push([q.deadLetter.queue, ["queues", "definitions", i, "deadLetter", "queue"]]);
      for (const [name, path] of names) {
        const prior = seen.get(name);
        if (prior !== undefined) {
          ctx.addIssue({
            code: "custom",
            path,
            input: name,
            message: `queue name "${name}" is already used by ${prior}`,
          });
        } else {
          seen.set(name, configPath(CONFIG_NAMESPACE, path));
        }
      }
    });
  });

/** Parsed, defaulted stack configuration. */
export type StackConfig = z.output<typeof StackConfigSchema>;
/** Stack configuration as written in `Pulumi.<stack>.yaml` (before defaults). */
export type StackConfigInput = z.input<typeof StackConfigSchema>;
