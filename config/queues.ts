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
  /**
   * Hours a dead letter is kept before the partition-maintenance CronJob deletes it (`ops.purge_dead_letters()`).
   * Defaults to 336 (14 days), the longest retention Amazon SQS allows a dead-letter queue
   * (`MessageRetentionPeriod` up to 1,209,600 s: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
   * At most 8,760 (a year).
   */
  retentionHours: positiveInt.max(8_760, { message: "must be <= 8760 (a year)" }).default(336),
});

/**
 * Most partitions made ahead (`premake`): a maintenance run makes up to premake + 1 partitions in one
 * transaction, each holding several locks (table, TOAST table and index, msg_id index) to its end, from a
 * shared lock table of max_locks_per_transaction (64) x max_connections slots (dev: 64 x 18 = 1,152);
 * premake 100,000 failed with "out of shared memory" (issue 20).
 */
export const MAX_PREMAKE = 100;

/** One PGMQ queue, partitioned by `msg_id` (numeric pg_partman partitioning). */
export const QueueSchema = z.strictObject({
  /** Queue name (PGMQ tables are `pgmq.q_<name>` and `pgmq.a_<name>`). */
  name: pgIdentifier,
  /** Peak (burst) enqueue rate in messages per second, not the average: the runway must cover it. */
  peakRateMsgsPerSecond: z.number().positive({ message: "must be > 0" }),
  /** Messages per partition (pg_partman numeric interval). Derived from the runway rule when absent. */
  partitionInterval: positiveInt.optional(),
  /**
   * Partitions kept made beyond the one holding the queue's next msg_id (its sequence) after every partition-maintenance
   * run. Derived from the runway rule when absent. At most 100.
   */
  premake: positiveInt
    .max(MAX_PREMAKE, {
      message:
        'must be at most 100: a maintenance run makes up to premake + 1 partitions in one transaction, each holding several locks (table, TOAST table and index, msg_id index) to its end, from a shared lock table of max_locks_per_transaction (64) x max_connections slots (dev: 64 x 18 = 1,152); premake 100,000 failed with "out of shared memory". Raise partitionInterval instead',
    })
    .optional(),
  /** Messages kept: partitions wholly below the last msg_id handed out − retention are dropped, for the queue and its archive. */
  retentionMessages: positiveInt,
  /** Default visibility timeout in seconds for the read routine. Defaults to 30. */
  visibilityTimeoutSeconds: positiveInt.default(30),
  /**
   * Seconds an idempotency key of `ops.send_idempotent` is remembered: a key sent again within it enqueues nothing.
   * Defaults to 300, Amazon SQS FIFO's deduplication interval of 5 minutes
   * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html).
   * At most 86,400 (a day).
   */
  deduplicationWindowSeconds: positiveInt.max(86_400, { message: "must be <= 86400 (a day)" }).default(300),
  /**
   * FIFO per message group (the `x-pgmq-group` header, e.g. an OpenLineage job's namespace and name): the bootstrap
   * builds the index pgmq's grouped reads need, `(COALESCE(headers->>'x-pgmq-group', '_default_fifo_group'), msg_id)`,
   * and consumers may call `ops.read_grouped_with_dlq` (pgmq >= 1.11.1, docs/queue.md "FIFO per job"). Without the
   * index, `pgmq.read_grouped` scanned the whole queue once per group: 29–40 s per read of 100 at 72,000 messages in
   * 1,000 groups (PostgreSQL 15, pgmq 1.11.1, measured 2026-12-04). The index costs every send an index insert
   * (`npm run bench:fifo-read`), so it is off by default. Defaults to false.
   */
  fifoGroups: z.boolean().default(false),
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

/** A storage parameter value: a number or a boolean (`autovacuum_enabled`). */
const tableParameterValue = z.union([z.number(), z.boolean()]);

/**
 * What PostgreSQL accepts for each storage parameter: its type and range, from
 * src/backend/access/common/reloptions.c (boolRelOpts, intRelOpts, realRelOpts: default, min, max) and
 * CREATE TABLE's "Storage Parameters" (https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-STORAGE-PARAMETERS);
 * the same in PostgreSQL 15–18. test/queue/table-parameters.integration.test.ts checks every bound on a real server.
 */
export const TABLE_PARAMETER_RULES: Readonly<
  Record<
    (typeof TABLE_AUTOVACUUM_PARAMETERS)[number],
    { type: "boolean" | "integer" | "real"; min?: number; max?: number }
  >
> = {
  autovacuum_enabled: { type: "boolean" },
  autovacuum_vacuum_threshold: { type: "integer", min: 0, max: 2147483647 },
  autovacuum_vacuum_scale_factor: { type: "real", min: 0, max: 100 },
  autovacuum_vacuum_insert_threshold: { type: "integer", min: -1, max: 2147483647 },
  autovacuum_vacuum_insert_scale_factor: { type: "real", min: 0, max: 100 },
  autovacuum_analyze_threshold: { type: "integer", min: 0, max: 2147483647 },
  autovacuum_analyze_scale_factor: { type: "real", min: 0, max: 100 },
  autovacuum_vacuum_cost_delay: { type: "real", min: 0, max: 100 },
  autovacuum_vacuum_cost_limit: { type: "integer", min: 1, max: 10000 },
  autovacuum_freeze_min_age: { type: "integer", min: 0, max: 1000000000 },
  autovacuum_freeze_max_age: { type: "integer", min: 100000, max: 2000000000 },
  autovacuum_freeze_table_age: { type: "integer", min: 0, max: 2000000000 },
  fillfactor: { type: "integer", min: 10, max: 100 },
};

/** Why a storage parameter value is refused, or undefined when PostgreSQL accepts it (`TABLE_PARAMETER_RULES`). */
export function tableParameterProblem(
  name: (typeof TABLE_AUTOVACUUM_PARAMETERS)[number],
  value: number | boolean,
): string | undefined {
  const rule = TABLE_PARAMETER_RULES[name];
  if (rule.type === "boolean")
    return typeof value === "boolean" ? undefined : `${name} is a boolean (true or false), got ${String(value)}`;
  if (typeof value !== "number") return `${name} is a number, got ${String(value)}`;
  if (rule.type === "integer" && !Number.isInteger(value)) return `${name} is an integer, got ${value}`;
  if ((rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max))
    return `${name} must be between ${rule.min} and ${rule.max} (PostgreSQL reloptions.c), got ${value}`;
  return undefined;
}

/** The per-queue-table storage parameters: the seed guide's, and this stack's departures with reasons. */
export const TableAutovacuumSchema = z
  .strictObject({
    /** The seed guide's `ALTER TABLE pgmq.q_lineage_events SET (...)` parameters, verbatim (test/config/seed.test.ts compares them with the guide). */
    seed: z.partialRecord(z.enum(TABLE_AUTOVACUUM_PARAMETERS), tableParameterValue),
    /** Departures from the seed, each `{ value, reason }`; rendered in bootstrap.sql with origin `override` and the reason. Defaults to none. */
    overrides: z
      .partialRecord(
        z.enum(TABLE_AUTOVACUUM_PARAMETERS),
        z.strictObject({
          /** The value this stack uses instead. */
          value: tableParameterValue,
          /** Why the stack departs from the guide. */
          reason: z
            .string()
            .trim()
            .min(10, { message: "must say why the stack departs from the guide (at least 10 characters)" }),
        }),
      )
      .default({}),
  })
  .superRefine((t, ctx) => {
    for (const [name, value] of Object.entries(t.seed) as Array<
      [(typeof TABLE_AUTOVACUUM_PARAMETERS)[number], number | boolean]
    >) {
      const problem = tableParameterProblem(name, value);
      if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["seed", name], message: problem });
    }
    for (const [name, o] of Object.entries(t.overrides) as Array<
      [(typeof TABLE_AUTOVACUUM_PARAMETERS)[number], { value: number | boolean }]
    >) {
      const problem = tableParameterProblem(name, o.value);
      if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["overrides", name, "value"], message: problem });
    }
  });

/** `ducklake:queues`. */
export const QueuesSchema = z.strictObject({
  /** The queues; the lineage pipeline's is `lineage_events` with DLQ `lineage_events_dlq`. */
  definitions: z.array(QueueSchema).min(1, { message: "needs at least one queue" }),
  /**
   * Autovacuum storage parameters of every table that holds a queue's rows: each leaf partition, pg_partman's
   * template (so later partitions inherit them), the archive and the dead-letter queue.
   */
  tableAutovacuum: TableAutovacuumSchema,
  /** Runway safety factor: partition_interval x premake must be >= peak rate x maintenance period (pg_partman_bgw.interval rounded up to whole minutes) x this. Defaults to 3. */
  runwaySafetyFactor: z.number().min(1, { message: "must be >= 1" }).default(3),
});

/** One storage parameter the bootstrap sets, and where its value comes from. */
export interface TableParameter {
  readonly name: (typeof TABLE_AUTOVACUUM_PARAMETERS)[number];
  readonly value: number | boolean;
  readonly origin: "seed" | "override";
  /** The override's reason. */
  readonly reason?: string;
  /** The seed value an override replaces. */
  readonly replaces?: number | boolean;
}

/**
 * The effective storage parameters (an override beats the seed), in the order of `TABLE_AUTOVACUUM_PARAMETERS`.
 */
export function effectiveTableParameters(t: z.output<typeof TableAutovacuumSchema>): TableParameter[] {
  const out: TableParameter[] = [];
  for (const name of TABLE_AUTOVACUUM_PARAMETERS) {
    const o = t.overrides[name];
    const seed = t.seed[name];
    if (o !== undefined)
      out.push({
        name,
        value: o.value,
        origin: "override",
        reason: o.reason,
        ...(seed !== undefined ? { replaces: seed } : {}),
      });
    else if (seed !== undefined) out.push({ name, value: seed, origin: "seed" });
  }
  return out;
}

export type QueuesConfig = z.output<typeof QueuesSchema>;
export type QueueConfig = z.output<typeof QueueSchema>;
