/**
 * Partition runway of a PGMQ queue partitioned by `msg_id` (pg_partman numeric partitioning).
 *
 * Partitions are made by the project's partition maintenance (components/queue/sql/partition-maintenance.sql,
 * `ops.run_partition_maintenance()`, run by the partition-maintenance CronJob every maintenance period):
 * each run makes partitions so that `premake` partitions of `partition_interval` ids exist beyond the one
 * holding the queue's **next id** (its sequence), whatever the queue's depth. pg_partman's own worker
 * cannot be relied on for this: it extends from the newest id found in rows and makes nothing while the
 * queue is empty, the normal state of a queue whose consumers keep up (issue 19; pg_partman
 * sql/functions/run_maintenance.sql, "Partition set is completely empty. Nothing to do").
 *
 * Between two runs a queue can therefore absorb at least `partition_interval x premake` new messages;
 * anything beyond lands in the default partition (the next run moves it out again, but the messages sat
 * in the default partition meanwhile; see docs/queue.md).
 *
 * The rule: `partition_interval x premake >= peak rate (msgs/s) x maintenance period (s) x safety
 * factor`. The peak (burst) rate is used, not the average: producers send in batches. The maintenance
 * period is `pg_partman_bgw.interval` (the seed's knob for how often partitions are maintained) rounded
 * up to whole minutes, a CronJob's resolution (`maintenanceSchedule`).
 */
import { MAX_PREMAKE, type QueueConfig } from "../../config/queues";
import type { StackConfig } from "../../config/schema";
import type { SemanticIssue, SemanticResult } from "../../config/issues";
import { effectiveSetting } from "../../config/postgres";

/** pg_partman's default `premake` (doc/pg_partman.md, `create_parent`): used when deriving and none is given. */
export const DEFAULT_PREMAKE = 4;

/** pg_partman's default `pg_partman_bgw.interval` in seconds (src/pg_partman_bgw.c), when the stack sets none. */
export const DEFAULT_BGW_INTERVAL_SECONDS = 3600;

/** Smallest numeric interval pg_partman accepts for range partitioning (create_parent: "must be >= 2"). */
export const MIN_PARTITION_INTERVAL = 2;

/** When the partition-maintenance CronJob runs, and the longest time between two runs. */
export interface MaintenanceSchedule {
  /** A Kubernetes CronJob schedule (cron syntax, minute resolution). */
  readonly cron: string;
  /** Longest time between two scheduled runs, in seconds: what the runway must cover. */
  readonly periodSeconds: number;
}

/**
 * The partition-maintenance CronJob's schedule for a `pg_partman_bgw.interval`: every N minutes with
 * N = ceil(interval / 60) (`*\/N * * * *` for N < 60; runs at minutes 0, N, 2N, ... of each hour, so no
 * two runs are more than N minutes apart), or every H hours with H = ceil(N / 60) for N >= 60
 * (`0 *\/H * * *`), once a day at most. Cron syntax: https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax.
 * @param bgwSeconds `pg_partman_bgw.interval` in seconds (>= 1).
 * @throws Error when bgwSeconds is not a positive integer.
 */
export function maintenanceSchedule(bgwSeconds: number): MaintenanceSchedule {
  if (!Number.isInteger(bgwSeconds) || bgwSeconds < 1) {
    throw new Error(`pg_partman_bgw.interval must be a whole number of seconds >= 1 (got ${bgwSeconds})`);
  }
  const minutes = Math.ceil(bgwSeconds / 60);
  if (minutes < 60) return { cron: minutes === 1 ? "* * * * *" : `*/${minutes} * * * *`, periodSeconds: minutes * 60 };
  const hours = Math.min(24, Math.ceil(minutes / 60));
  if (hours === 24) return { cron: "0 0 * * *", periodSeconds: 86_400 };
  return { cron: hours === 1 ? "0 * * * *" : `0 */${hours} * * *`, periodSeconds: hours * 3600 };
}

/** What `planRunway` decides for one queue. */
export interface RunwayPlan {
  /** Messages (msg_id values) per partition. */
  partitionInterval: number;
  /** Partitions kept made ahead of the newest msg_id. */
  premake: number;
  /** `partitionInterval x premake`: messages the queue absorbs between two maintenance runs (at least). */
  runwayMessages: number;
  /** `ceil(peakRateMsgsPerSecond x maintenancePeriodSeconds x safetyFactor)`: messages the runway must cover. */
  requiredMessages: number;
  /** True when partitionInterval or premake was derived (absent from the config). */
  derived: boolean;
}

/**
 * Rounds up to the next number of the 1-2-5 series (1, 2, 5, 10, 20, 50, ...), so derived intervals
 * read well in partition names (`q_lineage_events_p500000`).
 * @param n a positive number.
 * @returns the smallest 1-2-5 number >= n (at least 1).
 */
export function roundUpNice(n: number): number {
  if (!(n > 1)) return 1;
  const exp = Math.floor(Math.log10(n));
  for (let e = exp; e <= exp + 1; e++) {
    for (const m of [1, 2, 5]) {
      const candidate = m * 10 ** e;
      if (candidate >= n) return candidate;
    }
  }
  return 10 ** (exp + 1);
}

/**
 * Plans a queue's partition runway.
 * - both `partitionInterval` and `premake` given: they are used as is (the validator checks them);
 * - only `partitionInterval`: premake = max(4, ceil(required / interval));
 * - only `premake`: interval = ceil(required / premake) rounded up to the 1-2-5 series;
 * - neither: premake = 4 (pg_partman's default), interval as above.
 * @param queue the queue's config (`peakRateMsgsPerSecond`, optional `partitionInterval`/`premake`).
 * @param maintenancePeriodSeconds the longest time between two partition-maintenance runs (`maintenanceSchedule`).
 * @param safetyFactor `queues.runwaySafetyFactor` (>= 1).
 * @throws Error when maintenancePeriodSeconds or safetyFactor is not a positive number.
 */
export function planRunway(queue: QueueConfig, maintenancePeriodSeconds: number, safetyFactor: number): RunwayPlan {
  if (!(maintenancePeriodSeconds > 0) || !Number.isFinite(maintenancePeriodSeconds)) {
    throw new Error(`the maintenance period must be a positive number of seconds (got ${maintenancePeriodSeconds})`);
  }
  if (!(safetyFactor >= 1) || !Number.isFinite(safetyFactor)) {
    throw new Error(`runwaySafetyFactor must be >= 1 (got ${safetyFactor})`);
  }
  const requiredMessages = Math.ceil(queue.peakRateMsgsPerSecond * maintenancePeriodSeconds * safetyFactor);
  let partitionInterval = queue.partitionInterval;
  let premake = queue.premake;
  const derived = partitionInterval === undefined || premake === undefined;
  if (partitionInterval === undefined) {
    premake = premake ?? DEFAULT_PREMAKE;
    partitionInterval = Math.max(MIN_PARTITION_INTERVAL, roundUpNice(requiredMessages / premake));
  } else if (premake === undefined) {
    premake = Math.max(DEFAULT_PREMAKE, Math.ceil(requiredMessages / partitionInterval));
  }
  return { partitionInterval, premake, runwayMessages: partitionInterval * premake, requiredMessages, derived };
}

/** Where a stack's `pg_partman_bgw.interval` comes from and its value. */
export interface BgwIntervalSetting {
  /** Seconds; pg_partman's default 3600 when the stack sets none. */
  readonly seconds: number;
  /** Config path of the value (relative to `ducklake`), or undefined when defaulted. */
  readonly path?: readonly (string | number)[];
  /** Why the value is unusable, when it is. */
  readonly error?: string;
}

/**
 * Reads `pg_partman_bgw.interval` from `postgres.tuning` (an override wins over the seed). The GUC is an
 * integer number of seconds without a unit (src/pg_partman_bgw.c defines it with no GUC_UNIT flag), so
 * a number or a string of digits is accepted; anything else (e.g. `60s`) is reported as an error.
 * @returns the seconds and the key they came from; `error` set when unusable (seconds then 3600).
 */
export function bgwIntervalSeconds(config: StackConfig): BgwIntervalSetting {
  const set = effectiveSetting(config.postgres.tuning, "pg_partman_bgw.interval");
  if (set === undefined) return { seconds: DEFAULT_BGW_INTERVAL_SECONDS };
  const raw = set.value;
  const seconds =
    typeof raw === "number" ? raw : typeof raw === "string" && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(seconds) || seconds < 1) {
    return {
      seconds: DEFAULT_BGW_INTERVAL_SECONDS,
      path: set.path,
      error: `pg_partman_bgw.interval is a whole number of seconds >= 1 without a unit (pg_partman_bgw.c), got ${JSON.stringify(raw)}`,
    };
  }
  return { seconds, path: set.path };
}

const fmt = (n: number): string => n.toLocaleString("en-US");

/**
 * The queue rules that need the runway calculator (registered in components/stack.ts):
 * - `partitionInterval x premake` covers `peakRateMsgsPerSecond x maintenance period x
 *   runwaySafetyFactor` (the period from `maintenanceSchedule`), with every number in the message and the smallest fix;
 * - `retentionMessages >= partitionInterval` (pg_partman drops partitions wholly below
 *   max(msg_id) - retention: a smaller retention drops every partition as soon as the next one fills);
 * - `pg_partman_bgw.interval` is an integer number of seconds.
 * Dead-letter queues are not partitioned (low volume) and have no runway.
 * @returns errors with their key paths; a warning per derived runway, naming the values used.
 */
export function validateQueues(config: StackConfig): SemanticResult {
  const errors: SemanticIssue[] = [];
  const warnings: string[] = [];
  const bgw = bgwIntervalSeconds(config);
  if (bgw.error !== undefined) {
    errors.push({ path: bgw.path ?? ["postgres", "tuning"], message: bgw.error });
    return { errors, warnings };
  }
  const bgwFrom = bgw.path === undefined ? "pg_partman's default" : bgw.path.slice(0, 4).join(".");
  const safety = config.queues.runwaySafetyFactor;
  const schedule = maintenanceSchedule(bgw.seconds);
  const period =
    schedule.periodSeconds === bgw.seconds
      ? `maintenance period ${fmt(schedule.periodSeconds)} s (pg_partman_bgw.interval, ${bgwFrom})`
      : `maintenance period ${fmt(schedule.periodSeconds)} s (pg_partman_bgw.interval ${fmt(bgw.seconds)} s, ${bgwFrom}, rounded up to the CronJob's "${schedule.cron}")`;
  config.queues.definitions.forEach((queue, i) => {
    const base = ["queues", "definitions", i];
    const plan = planRunway(queue, schedule.periodSeconds, safety);
    const need = `peakRateMsgsPerSecond ${fmt(queue.peakRateMsgsPerSecond)} x ${period} x runwaySafetyFactor ${safety} = ${fmt(plan.requiredMessages)} messages`;
    if (plan.premake > MAX_PREMAKE) {
      errors.push({
        path: [...base, "premake"],
        value: plan.premake,
        message:
          `queue "${queue.name}": covering ${need} with partitionInterval ${fmt(plan.partitionInterval)} needs premake ${fmt(plan.premake)}, above the limit ${MAX_PREMAKE} ` +
          `(one maintenance run makes up to premake + 1 partitions in one transaction); raise partitionInterval to >= ${fmt(roundUpNice(plan.requiredMessages / MAX_PREMAKE))}, or leave it unset to derive it`,
      });
    } else if (plan.runwayMessages < plan.requiredMessages) {
      const premakeFix = Math.ceil(plan.requiredMessages / plan.partitionInterval);
      const intervalFix = Math.ceil(plan.requiredMessages / plan.premake);
      const fix =
        premakeFix <= MAX_PREMAKE
          ? `Raise premake to >= ${premakeFix}, or partitionInterval to >= ${fmt(intervalFix)}`
          : `Raise partitionInterval to >= ${fmt(intervalFix)} (premake would have to be ${fmt(premakeFix)}, above its limit ${MAX_PREMAKE})`;
      errors.push({
        path: [...base, "premake"],
        value: plan.premake,
        message:
          `queue "${queue.name}": partition runway partitionInterval ${fmt(plan.partitionInterval)} x premake ${plan.premake} = ${fmt(plan.runwayMessages)} messages ` +
          `does not cover ${need}; between two partition-maintenance runs the overflow lands in the default partition ` +
          `(the next run moves it out, but until then those messages sit in the default partition, and pg_partman's own maintenance fails on it). ${fix}, ` +
          `or leave both unset to derive them`,
      });
    } else if (plan.derived) {
      warnings.push(
        `ducklake:queues.definitions[${i}] (${queue.name}): derived partitionInterval ${fmt(plan.partitionInterval)} x premake ${plan.premake} = ${fmt(plan.runwayMessages)} messages of runway for ${need}`,
      );
    }
    if (queue.retentionMessages < plan.partitionInterval) {
      errors.push({
        path: [...base, "retentionMessages"],
        value: queue.retentionMessages,
        message: `queue "${queue.name}": retentionMessages ${fmt(queue.retentionMessages)} is below one partition (partitionInterval ${fmt(plan.partitionInterval)}); pg_partman would drop each partition, unread messages included, as soon as the next one starts filling. Use >= ${fmt(plan.partitionInterval)}`,
      });
    }
  });
  return { errors, warnings };
}

/**
 * One line per partitioned queue for the plan's summary: what the partition maintenance guarantees
 * (partitions ahead of the sequence after every run) and what the runway covers.
 * @param config the parsed stack config.
 */
export function runwaySummaryLines(config: StackConfig): string[] {
  const bgw = bgwIntervalSeconds(config);
  const schedule = maintenanceSchedule(bgw.seconds);
  const safety = config.queues.runwaySafetyFactor;
  return config.queues.definitions.map((queue) => {
    const plan = planRunway(queue, schedule.periodSeconds, safety);
    return (
      `queue ${queue.name}: after every partition-maintenance run (CronJob "${schedule.cron}", UTC) at least ` +
      `${fmt(plan.partitionInterval)} x premake ${plan.premake} = ${fmt(plan.runwayMessages)} ids are partitioned ahead of its sequence, ` +
      `for the queue and its archive, whatever their depth; that covers peak ${fmt(queue.peakRateMsgsPerSecond)} msgs/s x ${fmt(schedule.periodSeconds)} s x safety ${safety} = ${fmt(plan.requiredMessages)}`
    );
  });
}
