/**
 * Rules that span two or more sections of the stack's config (which sections go with which cluster
 * provider, standbys against instances, instances against nodes, gp3 IOPS against each claimed volume,
 * unique queue names). They are registered validators (`components/stack.ts`), not a refinement of the
 * whole schema, so each runs as soon as the sections it reads parse: a typo in `logging` does not hide
 * an instance count the nodes cannot hold. Pure; needs nothing but the config.
 */
import type { SemanticIssue, SemanticResult } from "./issues";
import { CONFIG_NAMESPACE, type StackConfig } from "./schema";
import type { RegisteredValidator } from "./validators";
import { GP3_LIMITS } from "./gp3";
import { configPath } from "./issues";

const result = (errors: SemanticIssue[]): SemanticResult => ({ errors, warnings: [] });

/** `nodes` is required on EKS (the Postgres node group) and refused on kind (a kind stack creates no nodes). */
export function nodesForProvider(cfg: StackConfig): SemanticResult {
  const isEks = cfg.cluster.provider === "eks";
  if (isEks && cfg.nodes === undefined)
    return result([{ path: ["nodes"], message: "is required when cluster.provider is eks (the Postgres node group)" }]);
  if (!isEks && cfg.nodes !== undefined)
    return result([
      { path: ["nodes"], message: "must not be set when cluster.provider is kind (a kind stack creates no nodes)" },
    ]);
  return result([]);
}

/** A gp3 class needs the EBS CSI driver, which only an EKS stack installs. */
export function gp3NeedsEks(cfg: StackConfig): SemanticResult {
  if (cfg.cluster.provider !== "eks" && cfg.storage.gp3 !== undefined)
    return result([
      { path: ["storage", "gp3"], message: "gp3 needs the EBS CSI driver: only allowed when cluster.provider is eks" },
    ]);
  return result([]);
}

/** Loki's S3 storage needs AWS (the bucket and IRSA), which only an EKS stack has. */
export function lokiS3NeedsEks(cfg: StackConfig): SemanticResult {
  if (cfg.cluster.provider !== "eks" && cfg.logging.loki.storage.type === "s3")
    return result([
      {
        path: ["logging", "loki", "storage", "type"],
        value: "s3",
        message: "s3 storage needs AWS: only allowed when cluster.provider is eks",
      },
    ]);
  return result([]);
}

/** At most `instances - 1` standbys can confirm a commit. */
export function standbysWithinInstances(cfg: StackConfig): SemanticResult {
  const sync = cfg.postgres.synchronousReplication;
  const instances = cfg.postgres.instances;
  if (sync === undefined || sync.number <= instances - 1) return result([]);
  return result([
    {
      path: ["postgres", "synchronousReplication", "number"],
      value: sync.number,
      message:
        `is ${sync.number} but postgres.instances is ${instances}: at most instances - 1 = ${instances - 1} standbys can confirm a commit` +
        (instances === 1 ? "; a single instance has no standby (remove synchronousReplication or add instances)" : ""),
    },
  ]);
}

/** Required anti-affinity puts each instance on its own node: refuse more instances than nodes. */
export function instancesWithinNodes(cfg: StackConfig): SemanticResult {
  const nodes = cfg.cluster.provider === "kind" ? cfg.cluster.nodeCount : cfg.nodes?.scaling.maxSize;
  const nodesKey = cfg.cluster.provider === "kind" ? "cluster.nodeCount" : "nodes.scaling.maxSize";
  const instances = cfg.postgres.instances;
  if (nodes === undefined || instances <= nodes || cfg.postgres.allowColocatedInstances) return result([]);
  return result([
    {
      path: ["postgres", "instances"],
      value: instances,
      message: `${instances} instances need ${instances} nodes for required anti-affinity but ${nodesKey} is ${nodes}; lower instances or set postgres.allowColocatedInstances: true`,
    },
  ]);
}

/**
 * gp3: at most 500 IOPS per GiB of each volume claimed from the class (`GP3_LIMITS`, config/gp3.ts).
 * @param volumes the volumes' key paths and sizes in GiB.
 */
function gp3IopsPerGiB(cfg: StackConfig, volumes: ReadonlyArray<readonly [string[], number]>): SemanticResult {
  const gp3 = cfg.storage.gp3;
  if (gp3 === undefined) return result([]);
  const errors: SemanticIssue[] = [];
  for (const [path, sizeGiB] of volumes) {
    const maxIops = sizeGiB * GP3_LIMITS.maxIopsPerGiB;
    if (gp3.iops > maxIops) {
      errors.push({
        path,
        value: sizeGiB,
        message: `a ${sizeGiB} GiB gp3 volume allows at most ${maxIops} IOPS (500 per GiB) but storage.gp3.iops is ${gp3.iops}; use >= ${Math.ceil(gp3.iops / GP3_LIMITS.maxIopsPerGiB)} GiB`,
      });
    }
  }
  return result(errors);
}

/** gp3 IOPS against the Postgres data and WAL volumes. */
export function gp3IopsPostgresVolumes(cfg: StackConfig): SemanticResult {
  const volumes: Array<[string[], number]> = [[["postgres", "storage", "sizeGiB"], cfg.postgres.storage.sizeGiB]];
  if (cfg.postgres.storage.walSizeGiB !== undefined)
    volumes.push([["postgres", "storage", "walSizeGiB"], cfg.postgres.storage.walSizeGiB]);
  return gp3IopsPerGiB(cfg, volumes);
}

/** gp3 IOPS against Loki's volume, claimed from the same class (its PVC, or its WAL/cache PVC with S3 storage). */
export function gp3IopsLokiVolume(cfg: StackConfig): SemanticResult {
  return gp3IopsPerGiB(cfg, [[["logging", "loki", "storage", "sizeGiB"], cfg.logging.loki.storage.sizeGiB]]);
}

/** Queue names are unique across queues and dead-letter queues. */
export function uniqueQueueNames(cfg: StackConfig): SemanticResult {
  const errors: SemanticIssue[] = [];
  const seen = new Map<string, string>();
  cfg.queues.definitions.forEach((q, i) => {
    const names: Array<[string, (string | number)[]]> = [[q.name, ["queues", "definitions", i, "name"]]];
    if (q.deadLetter) names.push([q.deadLetter.queue, ["queues", "definitions", i, "deadLetter", "queue"]]);
    for (const [name, path] of names) {
      const prior = seen.get(name);
      if (prior !== undefined)
        errors.push({ path, value: name, message: `queue name "${name}" is already used by ${prior}` });
      else seen.set(name, configPath(CONFIG_NAMESPACE, path));
    }
  });
  return result(errors);
}

/** Every cross-section rule with the sections it reads. */
export const CROSS_SECTION_VALIDATORS: readonly RegisteredValidator[] = [
  { needs: ["cluster", "nodes"], validate: nodesForProvider },
  { needs: ["cluster", "storage"], validate: gp3NeedsEks },
  { needs: ["cluster", "logging"], validate: lokiS3NeedsEks },
  { needs: ["postgres"], validate: standbysWithinInstances },
  { needs: ["cluster", "nodes", "postgres"], validate: instancesWithinNodes },
  { needs: ["storage", "postgres"], validate: gp3IopsPostgresVolumes },
  { needs: ["storage", "logging"], validate: gp3IopsLokiVolume },
  { needs: ["queues"], validate: uniqueQueueNames },
];
