/**
 * The whole stack's configuration: every `ducklake:*` key of `Pulumi.<stack>.yaml`, as one strict zod
 * schema. This module is pure (no Pulumi): the loader, the tests and the offline plan all parse with it.
 *
 * Each section is checked on its own here; rules across sections are validators (`./cross-section.ts`), and
 * rules that need a calculator (memory budget, setting ranges per PostgreSQL major, partition runway) live
 * beside it in `components/`; `components/stack.ts` registers all of them and the loader runs each one on
 * the sections it reads as soon as those parse.
 */
import { z } from "zod";
import { awsTags } from "./common";
import { ClusterSchema } from "./cluster";
import { NodesSchema } from "./nodes";
import { StorageSchema } from "./storage";
import { PostgresSchema } from "./postgres";
import { QueuesSchema } from "./queues";
import { LoggingSchema } from "./logging";

/** Config namespace of every key this program reads (`ducklake:postgres`, ...). */
export const CONFIG_NAMESPACE = "ducklake";

/** Keys that hold secrets: they must be set with `pulumi config set --secret` and are read as Pulumi secrets. */
export const SECRET_KEYS = ["grafanaAdminPassword"] as const;

/**
 * `ducklake:*` keys, without the namespace. Objects are strict: a misspelled key is an error.
 */
export const StackConfigSchema = z.strictObject({
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
});

/** Parsed, defaulted stack configuration. */
export type StackConfig = z.output<typeof StackConfigSchema>;
/** Stack configuration as written in `Pulumi.<stack>.yaml` (before defaults). */
export type StackConfigInput = z.input<typeof StackConfigSchema>;
