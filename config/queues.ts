/**
 * `ducklake:queues`: the PGMQ queues the bootstrap creates, their partition runway, dead-letter
 * routing and the per-queue-table autovacuum storage parameters.
 */
import { z } from "zod";
import { pgIdentifier, positiveInt } from "./common";

/** Dead-letter routing of one queue. */
export const DeadLetterSchema = z.strictObject({
  /** Name of the dead-letter queue, e.g. `lineage_events_dlq`; the bootstrap creates it. */
  queue: pgIdentifier,
  /** A message read more than this many times moves to the dead-letter queue. Defaults to 5. */
  maxDeliveries: positiveInt.default(5),
});

/** One PGMQ queue, partitioned by `msg_id` (numeric pg_partman partitioning). */
export const QueueSchema = z.strictObject({
  /** Queue name (PGMQ tables are `pgmq.q_<name>` and `pgmq.a_<name>`). */
  name: pgIdentifier,
  /** Peak (burst) enqueue rate in messages per second, not the average: the runway must cover it. */
  peakRateMsgsPerSecond: z.number().positive({ message: "must be > 0" }),
  /** Messages per partition (pg_partman numeric interval). Derived from the runway rule when absent. */
  partitionInterval: positiveInt.optional(),
  /** Partitions pg_partman keeps made ahead of the newest msg_id. Derived from the runway rule when absent. */
  premake: positiveInt.optional(),
  /** Messages kept: partitions wholly below max(msg_id) − retention are dropped, for the queue and its archive. */
  retentionMessages: positiveInt,
  /** Default visibility timeout in seconds for the read routine. Defaults to 30. */
  visibilityTimeoutSeconds: positiveInt.default(30),
  /** Dead-letter routing; no DLQ when absent. */
  deadLetter: DeadLetterSchema.optional(),
});

/** Storage parameters (`ALTER TABLE ... SET (...)`) that may be set per queue table. */
export const TABLE_AUTOVACUUM_PARAMETERS = [
  "autovacuum_enabled",
  "autovacuum_vacuum_threshold",
  "autovacuum_vacuum_scale_factor",
  "autovacuum_vacuum_insert_threshold",
  "autovacuum_vacuum_insert_scale_factor",
  "autovacuum_analyze_threshold",
  "autovacuum_analyze_scale_factor",
  "autovacuum_vacuum_cost_delay",
  "autovacuum_vacuum_cost_limit",
  "autovacuum_freeze_min_age",
  "autovacuum_freeze_max_age",
  "autovacuum_freeze_table_age",
  "fillfactor",
] as const;

/** `ducklake:queues`. */
export const QueuesSchema = z.strictObject({
  /** The queues; the lineage pipeline's is `lineage_events` with DLQ `lineage_events_dlq`. */
  definitions: z.array(QueueSchema).min(1, { message: "needs at least one queue" }),
  /** The seed guide's per-queue-table autovacuum storage parameters, applied to every leaf partition. */
  tableAutovacuum: z.partialRecord(z.enum(TABLE_AUTOVACUUM_PARAMETERS), z.union([z.number(), z.boolean()])),
  /** Runway safety factor: partition_interval x premake must be >= peak rate x pg_partman_bgw.interval x this. Defaults to 3. */
  runwaySafetyFactor: z.number().min(1, { message: "must be >= 1" }).default(3),
});

export type QueuesConfig = z.output<typeof QueuesSchema>;
export type QueueConfig = z.output<typeof QueueSchema>;
