/**
 * Partition runway of a PGMQ queue partitioned by `msg_id` (pg_partman numeric partitioning).
 *
 * pg_partman's background worker runs `run_maintenance()` every `pg_partman_bgw.interval` seconds; each
 * run makes partitions so that `premake` partitions of `partition_interval` ids exist ahead of the
 * partition holding the newest id. Between two runs a queue can therefore absorb at most
 * `partition_interval x premake` new messages; anything beyond lands in the default partition, and the
 * next run then fails with "updated partition constraint for default partition ... would be violated by
 * some row" (reproduced on a test server with batch producers; see issue 4 and
 * test/queue/queue.integration.test.ts). Sources: pg_partman `doc/pg_partman.md` (`p_premake`,
 * `run_maintenance`), `src/pg_partman_bgw.c` (`pg_partman_bgw.interval`, integer seconds, default 3600).
 *
 * The rule: `partition_interval x premake >= peak rate (msgs/s) x pg_partman_bgw.interval (s) x safety
 * factor`. The peak (burst) rate is used, not the average: producers send in batches.
 */
import type { QueueConfig } from "../../config/queues";
import type { StackConfig } from "../../config/schema";
import type { SemanticIssue, SemanticResult } from "../../config/issues";
import { effectiveSetting } from "../../config/postgres";

/** pg_partman's default `premake` (doc/pg_partman.md, `create_parent`): used when deriving and none is given. */
export const DEFAULT_PREMAKE = 4;

/** pg_partman's default `pg_partman_bgw.interval` in seconds (src/pg_partman_bgw.c), when the stack sets none. */
export const DEFAULT_BGW_INTERVAL_SECONDS = 3600;

/** Smallest numeric interval pg_partman accepts for range partitioning (create_parent: "must be >= 2"). */
export const MIN_PARTITION_INTERVAL = 2;

/** What `planRunway` decides for one queue. */
export interface RunwayPlan {
  /** Messages (msg_id values) per partition. */
  partitionInterval: number;
  /** Partitions kept made ahead of the newest msg_id. */
  premake: number;
  /** `partitionInterval x premake`: messages the queue absorbs between two maintenance runs. */
  runwayMessages: number;
  /** `ceil(peakRateMsgsPerSecond x bgwIntervalSeconds x safetyFactor)`: messages the runway must cover. */
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
 * @param bgwIntervalSeconds `pg_partman_bgw.interval` in seconds (see `bgwIntervalSeconds`).
 * @param safetyFactor `queues.runwaySafetyFactor` (>= 1).
 * @throws Error when bgwIntervalSeconds or safetyFactor is not a positive number.
 */
export function planRunway(queue: QueueConfig, bgwIntervalSeconds: number, safetyFactor: number): RunwayPlan {
  if (!(bgwIntervalSeconds > 0) || !Number.isFinite(bgwIntervalSeconds)) {
    throw new Error(`pg_partman_bgw.interval must be a positive number of seconds (got ${bgwIntervalSeconds})`);
  }
  if (!(safetyFactor >= 1) || !Number.isFinite(safetyFactor)) {
    throw new Error(`runwaySafetyFactor must be >= 1 (got ${safetyFactor})`);
  }
  const requiredMessages = Math.ceil(queue.peakRateMsgsPerSecond * bgwIntervalSeconds * safetyFactor);
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
 * - `partitionInterval x premake` covers `peakRateMsgsPerSecond x pg_partman_bgw.interval x
 *   runwaySafetyFactor`, with every number in the message and the smallest fix;
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
  config.queues.definitions.forEach((queue, i) => {
    const base = ["queues", "definitions", i];
    const plan = planRunway(queue, bgw.seconds, safety);
    const need = `peakRateMsgsPerSecond ${fmt(queue.peakRateMsgsPerSecond)} x pg_partman_bgw.interval ${fmt(bgw.seconds)} s (${bgwFrom}) x runwaySafetyFactor ${safety} = ${fmt(plan.requiredMessages)} messages`;
    if (plan.runwayMessages < plan.requiredMessages) {
      const premakeFix = Math.ceil(plan.requiredMessages / plan.partitionInterval);
      const intervalFix = Math.ceil(plan.requiredMessages / plan.premake);
      errors.push({
        path: [...base, "premake"],
        value: plan.premake,
        message:
          `queue "${queue.name}": partition runway partitionInterval ${fmt(plan.partitionInterval)} x premake ${plan.premake} = ${fmt(plan.runwayMessages)} messages ` +
          `does not cover ${need}; between two pg_partman maintenance runs the overflow lands in the default partition and the next run fails ` +
          `("updated partition constraint for default partition ... would be violated"). Raise premake to >= ${premakeFix}, or partitionInterval to >= ${fmt(intervalFix)}, ` +
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
