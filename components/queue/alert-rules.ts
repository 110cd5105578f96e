/**
 * Prometheus alert rules for the queue database (issue 17), over the metrics the stack exports:
 * the queue metrics (`monitoringMetricsYaml`, CloudNativePG custom queries, named
 * `cnpg_<query>_<column>`: cloudnative-pg docs/src/monitoring.md, "Output of a user defined metric") and
 * CloudNativePG's own `cnpg_pg_replication_lag` (config/manager/default-monitoring.yaml, query
 * `pg_replication`, column `lag`, seconds).
 *
 * One pure function makes the rules from the stack's config; the plan writes them as a plain Prometheus
 * rules file (`alert-rules.yaml`), prod also gets them as a PrometheusRule where the Prometheus Operator's
 * CRD exists (`postgres.podMonitor`), and `test/queue/alert-rules.promtool.test.ts` runs
 * `promtool test rules` with a firing and a quiet case for every alert. Each alert's runbook is a
 * paragraph of docs/queue.md ("Alerts"), linked from the `runbook` annotation.
 */
import { parse } from "yaml";
import type { StackConfig } from "../../config/schema";
import { bgwIntervalSeconds, maintenanceSchedule } from "./runway";
import { monitoringMetricsYaml } from "./monitoring";
import { scheduleMaxGapSeconds } from "../postgres/backups";

/** CloudNativePG's built-in metrics the rules use, with where they are defined. */
export const CNPG_BUILTIN_METRICS: Readonly<Record<string, string>> = {
  cnpg_pg_replication_lag: "cloudnative-pg config/manager/default-monitoring.yaml, pg_replication.lag (seconds)",
  cnpg_pg_stat_archiver_failed_count:
    "cloudnative-pg config/manager/default-monitoring.yaml, pg_stat_archiver.failed_count (counter of failed archive_command runs)",
  cnpg_collector_pg_wal_archive_status:
    'cloudnative-pg instance collector, pg_wal_archive_status{value="ready"|"done"} (WAL segments waiting for archive_command, and archived)',
};

/**
 * The Barman Cloud plugin's metrics (with backups on), exposed "through the native Prometheus exporter of the
 * instance manager" (plugin-barman-cloud, web/docs/observability.md).
 */
export const BARMAN_PLUGIN_METRICS: Readonly<Record<string, string>> = {
  barman_cloud_cloudnative_pg_io_last_available_backup_timestamp: "UNIX time of the most recent available base backup",
  barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp: "UNIX time of the most recent failed base backup",
};

/**
 * WAL segments waiting for archiving that page: four per parallel upload (`walMaxParallel`), sustained 15 minutes.
 * A segment Postgres has not archived is never recycled, so a lasting backlog is pg_wal filling up. The
 * project's choice.
 */
export const WAL_ARCHIVE_BACKLOG_PER_PARALLEL_UPLOAD = 4;

/**
 * The age past which the newest base backup pages: the longest gap between scheduled backups plus a quarter of it
 * (at least an hour), for a backup that runs long. The project's choice.
 * @param schedule `postgres.backups.schedule`.
 */
export function baseBackupAgeAlertSeconds(schedule: string): number {
  const gap = scheduleMaxGapSeconds(schedule);
  return Math.round(gap + Math.max(3_600, gap / 4));
}

/**
 * Oldest-message age that pages: 5 minutes. The product's latency target is sub-second for a consumer
 * that keeps up; a message 5 minutes old means consumers are not keeping up (or are down), well before
 * retention (dev 10,000,000 ids ≈ 33 minutes at 5,000 msgs/s; docs/queue.md) drops unread messages.
 * The project's choice, not the seed guide's (the guide names no threshold).
 */
export const OLDEST_MESSAGE_AGE_ALERT_SECONDS = 300;

/** Cache hit ratio below which the alert fires: the seed guide's "Buffer cache hit ratio (should be >99%)". */
export const CACHE_HIT_RATIO_MIN = 0.99;

/** Replication lag that pages, in seconds (the project's choice: several times a healthy standby's sub-second lag). */
export const REPLICATION_LAG_ALERT_SECONDS = 30;

/** One Prometheus alerting rule (https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/). */
export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: "critical" | "warning" };
  readonly annotations: { readonly summary: string; readonly description: string; readonly runbook: string };
}

/** A Prometheus rules file: one group. */
export interface AlertRuleFile {
  readonly groups: ReadonlyArray<{ readonly name: string; readonly rules: readonly AlertRule[] }>;
}

const RUNBOOK = "docs/queue.md#alerts";

function rule(
  alert: string,
  expr: string,
  forDuration: string,
  severity: "critical" | "warning",
  summary: string,
  description: string,
): AlertRule {
  return {
    alert,
    expr,
    for: forDuration,
    labels: { severity },
    annotations: { summary, description, runbook: `${RUNBOOK}-${alert.toLowerCase()}` },
  };
}

/**
 * The alert rules of a stack.
 * @param config the parsed stack config: its queues (their dead-letter queues are watched separately),
 *   `pg_partman_bgw.interval` (the partition-maintenance period), and `postgres.instances` (the
 *   replication alert only with standbys).
 */
export function queueAlertRules(config: StackConfig): AlertRuleFile {
  const queues = config.queues.definitions.map((q) => q.name);
  const queueSel = `queue_name=~"${queues.join("|")}"`;
  const period = maintenanceSchedule(bgwIntervalSeconds(config).seconds).periodSeconds;
  const rules: AlertRule[] = [
    rule(
      "DucklakeDeadLettersGrowing",
      "delta(cnpg_ducklake_dead_letter_dead_letters[15m]) > 0",
      "0m",
      "warning",
      "Messages are being dead-lettered",
      "The dead-letter queue gained messages in the last 15 minutes: some messages failed maxDeliveries times. Read them with ops.dead_letter_newest().",
    ),
    rule(
      "DucklakeOldestMessageTooOld",
      `cnpg_ducklake_queue_oldest_message_age_seconds{${queueSel}} > ${OLDEST_MESSAGE_AGE_ALERT_SECONDS}`,
      "5m",
      "critical",
      "Consumers are not keeping up",
      `The oldest message of a queue has waited more than ${OLDEST_MESSAGE_AGE_ALERT_SECONDS} s for 5 minutes; retention drops unread messages once the queue's ids pass retentionMessages.`,
    ),
    rule(
      "DucklakeQueueDepthGrowing",
      `deriv(cnpg_ducklake_queue_queue_length{${queueSel}}[15m]) > 0 and cnpg_ducklake_queue_queue_length{${queueSel}} > 10000`,
      "15m",
      "warning",
      "Queue depth keeps growing",
      "A queue has held more than 10,000 messages and grown for 15 minutes: producers outrun consumers.",
    ),
    rule(
      "DucklakeDefaultPartitionRows",
      "cnpg_ducklake_default_partition_row_count > 0",
      "0m",
      "critical",
      "Rows in a default partition",
      "The partition runway was overrun: rows sit in a default partition until the next partition maintenance moves them out. Check the partition-maintenance CronJob and the runway rule.",
    ),
    rule(
      "DucklakePartitionRunwayLow",
      `cnpg_ducklake_partition_runway_runway_messages / (rate(cnpg_ducklake_partition_runway_last_msg_id[5m]) > 0) < ${2 * period}`,
      "5m",
      "critical",
      "Partition runway below two maintenance periods",
      `At the current send rate the partitions run out in less than two partition-maintenance periods (${2 * period} s); messages would land in the default partition.`,
    ),
    rule(
      "DucklakePartitionMaintenanceStalled",
      `cnpg_ducklake_partition_maintenance_seconds_since_success > ${3 * period} or cnpg_ducklake_partition_maintenance_seconds_since_success < 0 or cnpg_ducklake_partition_maintenance_failing == 1`,
      "5m",
      "critical",
      "Partition maintenance is not succeeding",
      `No successful partition maintenance for more than three periods (${3 * period} s), or its last run failed: the runway is shrinking. See ops.partition_maintenance.last_error and the CronJob's Job logs.`,
    ),
    rule(
      "DucklakeDeadTuplesOutrunningAutovacuum",
      "cnpg_ducklake_queue_table_n_dead_tup > 100000 and cnpg_ducklake_queue_table_n_dead_tup > 2 * cnpg_ducklake_queue_table_n_live_tup",
      "15m",
      "warning",
      "Dead tuples outrun autovacuum on a queue table",
      "A queue table has held more than 100,000 dead tuples, twice its live ones, for 15 minutes: reads slow down. Check ops.vacuum_progress and long transactions.",
    ),
    rule(
      "DucklakeCacheHitRatioLow",
      `cnpg_ducklake_cache_hit_ratio < ${CACHE_HIT_RATIO_MIN}`,
      "15m",
      "warning",
      "Buffer cache hit ratio below 99%",
      "The database's buffer cache hit ratio has been below the seed guide's 99% for 15 minutes: shared_buffers may be too small for the working set.",
    ),
  ];
  if (config.postgres.instances > 1) {
    rules.push(
      rule(
        "DucklakeReplicationLag",
        `cnpg_pg_replication_lag > ${REPLICATION_LAG_ALERT_SECONDS}`,
        "5m",
        "critical",
        "A standby lags behind the primary",
        `A standby has replayed nothing newer than ${REPLICATION_LAG_ALERT_SECONDS} s behind the primary for 5 minutes; a failover now would lose more.`,
      ),
    );
  }
  if (config.postgres.backups.enabled) {
    const backlog = WAL_ARCHIVE_BACKLOG_PER_PARALLEL_UPLOAD * config.postgres.backups.walMaxParallel;
    const maxAge = baseBackupAgeAlertSeconds(config.postgres.backups.schedule);
    rules.push(
      rule(
        "DucklakeWalArchiveFailing",
        "increase(cnpg_pg_stat_archiver_failed_count[10m]) > 0",
        "10m",
        "critical",
        "WAL archiving keeps failing",
        "archive_command (the Barman Cloud plugin's upload) has failed within every 10 minutes for 10 minutes: point-in-time recovery stops at the last archived segment, and pg_wal grows until the volume is full.",
      ),
      rule(
        "DucklakeWalArchiveBacklog",
        `cnpg_collector_pg_wal_archive_status{value="ready"} > ${backlog}`,
        "15m",
        "critical",
        "WAL segments are waiting to be archived",
        `More than ${backlog} WAL segments (${WAL_ARCHIVE_BACKLOG_PER_PARALLEL_UPLOAD} per parallel upload, walMaxParallel ${config.postgres.backups.walMaxParallel}) have waited for archiving for 15 minutes: uploads fall behind the write rate and pg_wal grows.`,
      ),
      rule(
        "DucklakeBaseBackupTooOld",
        `time() - barman_cloud_cloudnative_pg_io_last_available_backup_timestamp > ${maxAge}`,
        "10m",
        "critical",
        "No recent base backup",
        `The newest base backup is older than ${maxAge} s (the schedule's longest gap plus a margin): a restore replays ever more WAL, and retention may have no backup to keep.`,
      ),
      rule(
        "DucklakeBaseBackupFailed",
        "barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp > barman_cloud_cloudnative_pg_io_last_available_backup_timestamp",
        "0m",
        "warning",
        "The last base backup failed",
        "The most recent base backup attempt failed after the last one that succeeded. See the Backup objects (kubectl get backups) and the plugin sidecar's log.",
      ),
    );
  }
  return { groups: [{ name: "ducklake-queue", rules }] };
}

/**
 * Every metric name the stack's exporter defines: `cnpg_<query>_<column>` for each non-LABEL column of the
 * queue metrics (CloudNativePG's naming), `CNPG_BUILTIN_METRICS`, and with backups on `BARMAN_PLUGIN_METRICS`.
 * @param config the parsed stack config: its PostgreSQL major (the checkpoint queries differ) and queues.
 */
export function exportedMetricNames(config: StackConfig): Set<string> {
  const doc = parse(monitoringMetricsYaml(config.postgres.majorVersion, config.queues)) as Record<
    string,
    { name?: string; metrics: Array<Record<string, { usage: string }>> }
  >;
  const names = new Set<string>(Object.keys(CNPG_BUILTIN_METRICS));
  if (config.postgres.backups.enabled) for (const m of Object.keys(BARMAN_PLUGIN_METRICS)) names.add(m);
  for (const [key, q] of Object.entries(doc)) {
    for (const column of q.metrics) {
      for (const [col, spec] of Object.entries(column)) {
        if (spec.usage !== "LABEL" && spec.usage !== "DISCARD") names.add(`cnpg_${q.name ?? key}_${col}`);
      }
    }
  }
  return names;
}

/**
 * Metric names a PromQL expression uses: identifiers outside label matchers, range selectors and numbers
 * that are not followed by `(` (functions) and are not PromQL keywords.
 */
export function metricNamesIn(expr: string): string[] {
  const keywords = new Set([
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
  ]);
  const bare = expr
    .replace(/\b(on|ignoring|by|without|group_left|group_right)\s*\([^)]*\)/g, " ") // label lists
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // range selectors
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, " "); // numbers
  const out = new Set<string>();
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const next = bare.slice((m.index ?? 0) + m[0].length).trimStart()[0];
    if (keywords.has(m[0]) || next === "(") continue;
    out.add(m[0]);
  }
  return [...out];
}
