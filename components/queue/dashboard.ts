/**
 * The queue's Grafana dashboard (issue 17), generated from the stack's config so every panel queries only metrics the
 * stack exports (`exportedMetricNames`): throughput in and out, depth and oldest age, latency (the wait of the next
 * message to be read, `oldest_unread_wait_seconds`: nothing records each message's send→read time), dead letters and redeliveries,
 * partition runway and maintenance, dead tuples and autovacuum, checkpoints, cache hit ratio, connections and lock
 * waits, replication, WAL archiving and base backups (with backups on), and the Postgres errors the log pipeline
 * labels (Loki, `error_severity`: ./../logging/cnpg-pipeline.ts).
 *
 * Consumption has no counter of its own: PGMQ counts what was sent (the msg_id sequence) and what is queued, so
 * messages consumed per second are `rate(sent) - deriv(depth)` over the same window (messages that left the queue by
 * delete, archive or dead-lettering).
 *
 * The plan writes it as `grafana-dashboard.json` and the repository keeps prod's copy in
 * `dashboards/ducklake-queue.json` (import it into any Grafana with a Prometheus data source scraping the
 * CloudNativePG PodMonitor); test/queue/dashboard.test.ts checks every PromQL expression with `promtool` (as recording
 * rules) and against the exporter's metric names, and that the committed copy is current.
 */
import type { StackConfig } from "../../config/schema";
import { bgwIntervalSeconds, maintenanceSchedule } from "./runway";
import { CACHE_HIT_RATIO_MIN } from "./alert-rules";
import { cnpgParseRules } from "../logging/cnpg-pipeline";

/** One panel: a title, its PromQL (or LogQL) targets with legends, the unit, and its grid position. */
export interface DashboardPanel {
  /** The panel's title. */
  readonly title: string;
  /** What it shows, in the panel's info tooltip. */
  readonly description: string;
  /** The data source it queries: Prometheus (PromQL) or Loki (LogQL). */
  readonly datasource: "prometheus" | "loki";
  /** The queries, each with its series legend (Grafana's `{{label}}` templating; "" for none). */
  readonly targets: ReadonlyArray<{ readonly expr: string; readonly legend: string }>;
  /** Grafana's unit id (`ops` per second, `s`, `short`, `percentunit`, `m` minutes); "" for a logs panel. */
  readonly unit: string;
}

/** Rate window of every `rate()`/`deriv()`: 5 minutes, 10 scrapes at CloudNativePG's default 30 s interval. */
export const RATE_WINDOW = "5m";

/**
 * The panels of a stack's dashboard, in order.
 * @param config the parsed stack config (backup panels only with backups; replication only with standbys).
 */
export function dashboardPanels(config: StackConfig): DashboardPanel[] {
  const w = RATE_WINDOW;
  const period = maintenanceSchedule(bgwIntervalSeconds(config).seconds).periodSeconds;
  const panels: DashboardPanel[] = [
    {
      title: "Messages sent per second",
      description: "rate of each queue's msg_id sequence (pgmq's total_messages)",
      datasource: "prometheus",
      targets: [
        { expr: `sum by (queue_name) (rate(cnpg_ducklake_queue_total_messages_sent[${w}]))`, legend: "{{queue_name}}" },
      ],
      unit: "ops",
    },
    {
      title: "Messages consumed per second",
      description: "sent minus the change in depth: messages deleted, archived or dead-lettered",
      datasource: "prometheus",
      targets: [
        {
          expr: `sum by (queue_name) (rate(cnpg_ducklake_queue_total_messages_sent[${w}]) - deriv(cnpg_ducklake_queue_queue_length[${w}]))`,
          legend: "{{queue_name}}",
        },
      ],
      unit: "ops",
    },
    {
      title: "Depth",
      description: "messages in the queue table, and the visible ones (vt passed)",
      datasource: "prometheus",
      targets: [
        { expr: "max by (queue_name) (cnpg_ducklake_queue_queue_length)", legend: "{{queue_name}} depth" },
        { expr: "max by (queue_name) (cnpg_ducklake_queue_visible_messages)", legend: "{{queue_name}} visible" },
      ],
      unit: "short",
    },
    {
      title: "Oldest message age",
      description: "how long the oldest queued message has waited (the alert pages above 300 s)",
      datasource: "prometheus",
      targets: [
        { expr: "max by (queue_name) (cnpg_ducklake_queue_oldest_message_age_seconds)", legend: "{{queue_name}}" },
      ],
      unit: "s",
    },
    {
      title: "Latency: how long the next message to be read has waited (send → read)",
      description:
        "seconds the first readable, never-read message (lowest msg_id) has been readable: reads take readable messages in msg_id order, so in a backlog this is the send→read latency of the messages being read now; 0 when none waits. Sampled at each scrape: a wait that starts and ends between two scrapes does not show. The product's target is sub-second",
      datasource: "prometheus",
      targets: [
        { expr: "max by (queue_name) (cnpg_ducklake_queue_oldest_unread_wait_seconds)", legend: "{{queue_name}}" },
      ],
      unit: "s",
    },
    {
      title: "Dead letters",
      description: "messages in each dead-letter queue, and redelivered messages still queued",
      datasource: "prometheus",
      targets: [
        {
          expr: "max by (dead_letter_queue) (cnpg_ducklake_dead_letter_dead_letters)",
          legend: "{{dead_letter_queue}}",
        },
        {
          expr: "max by (queue_name) (cnpg_ducklake_stuck_messages_redelivered_messages)",
          legend: "{{queue_name}} redelivered",
        },
      ],
      unit: "short",
    },
    {
      title: "Partition runway (minutes at the current send rate)",
      description: `ids partitioned ahead of the sequence / the send rate; maintenance runs every ${period} s`,
      datasource: "prometheus",
      targets: [
        {
          expr: `max by (parent_table) (cnpg_ducklake_partition_runway_runway_messages) / clamp_min(max by (parent_table) (rate(cnpg_ducklake_partition_runway_last_msg_id[${w}])), 1) / 60`,
          legend: "{{parent_table}}",
        },
      ],
      unit: "m",
    },
    {
      title: "Rows in default partitions, and partition maintenance",
      description: "any row in a default partition is an overrun runway; seconds since the last successful maintenance",
      datasource: "prometheus",
      targets: [
        {
          expr: "max by (parent_table) (cnpg_ducklake_default_partition_row_count)",
          legend: "{{parent_table}} default rows",
        },
        {
          expr: "max by (parent_table) (cnpg_ducklake_partition_maintenance_seconds_since_success)",
          legend: "{{parent_table}} s since maintenance",
        },
      ],
      unit: "short",
    },
    {
      title: "Dead tuples and autovacuum on the queue tables",
      description: "dead tuples per table, and seconds since its last autovacuum",
      datasource: "prometheus",
      targets: [
        { expr: "sum by (relname) (cnpg_ducklake_queue_table_n_dead_tup)", legend: "{{relname}} dead" },
        {
          expr: "max by (relname) (cnpg_ducklake_queue_table_seconds_since_autovacuum)",
          legend: "{{relname}} s since autovacuum",
        },
      ],
      unit: "short",
    },
    {
      title: "Checkpoints",
      description: "requested (WAL-size driven) and timed checkpoints per minute",
      datasource: "prometheus",
      targets: [
        { expr: `sum(rate(cnpg_ducklake_checkpoints_requested[${w}])) * 60`, legend: "requested" },
        { expr: `sum(rate(cnpg_ducklake_checkpoints_timed[${w}])) * 60`, legend: "timed" },
      ],
      unit: "short",
    },
    {
      title: "Buffer cache hit ratio",
      description: `the seed guide's monitoring target: above ${CACHE_HIT_RATIO_MIN * 100}%`,
      datasource: "prometheus",
      targets: [{ expr: "min(cnpg_ducklake_cache_hit_ratio)", legend: "hit ratio" }],
      unit: "percentunit",
    },
    {
      title: "Connections and lock waits",
      description: "share of max_connections in use, sessions waiting on a lock",
      datasource: "prometheus",
      targets: [
        { expr: "max(cnpg_ducklake_connections_used_ratio)", legend: "used / max_connections" },
        { expr: "max(cnpg_ducklake_lock_waits_waiting)", legend: "waiting on locks" },
      ],
      unit: "short",
    },
  ];
  if (config.postgres.instances > 1) {
    panels.push({
      title: "Replication lag",
      description: "seconds each standby's replay is behind the primary",
      datasource: "prometheus",
      targets: [{ expr: "max by (pod) (cnpg_pg_replication_lag)", legend: "{{pod}}" }],
      unit: "s",
    });
  }
  if (config.postgres.backups.enabled) {
    panels.push({
      title: "WAL archiving and base backups",
      description: "WAL segments waiting for archiving, archive failures per hour, hours since the newest base backup",
      datasource: "prometheus",
      targets: [
        { expr: 'max by (pod) (cnpg_collector_pg_wal_archive_status{value="ready"})', legend: "{{pod}} waiting" },
        { expr: "sum by (pod) (increase(cnpg_pg_stat_archiver_failed_count[1h]))", legend: "{{pod}} failures / h" },
        {
          expr: "(time() - max(barman_cloud_cloudnative_pg_io_last_available_backup_timestamp)) / 3600",
          legend: "hours since base backup",
        },
      ],
      unit: "short",
    });
  }
  panels.push({
    title: "Postgres errors (Loki)",
    description: "ERROR, FATAL and PANIC lines of the cluster, labelled by the log pipeline (error_severity)",
    datasource: "loki",
    targets: [
      {
        // the log pipeline's own selector, narrowed to the severities that mean a failed statement or worse
        expr: cnpgParseRules(config.postgres.namespace).selector.replace(
          /\}$/,
          ', error_severity=~"ERROR|FATAL|PANIC"}',
        ),
        legend: "",
      },
    ],
    unit: "",
  });
  return panels;
}

/**
 * The Grafana dashboard JSON (schema of Grafana 10+: `panels` with `gridPos`, `targets`, data sources as template
 * variables so it imports into any Grafana).
 * @param config the parsed stack config.
 * @param stack the stack's name (in the title).
 */
export function queueDashboard(config: StackConfig, stack: string): Record<string, unknown> {
  const panels = dashboardPanels(config).map((p, i) => {
    const ds = p.datasource === "prometheus" ? "${prometheus}" : "${loki}";
    const logs = p.datasource === "loki";
    return {
      id: i + 1,
      type: logs ? "logs" : "timeseries",
      title: p.title,
      description: p.description,
      datasource: { type: p.datasource, uid: ds },
      gridPos: logs
        ? { h: 10, w: 24, x: 0, y: Math.ceil(i / 2) * 8 }
        : { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
      ...(logs ? {} : { fieldConfig: { defaults: { unit: p.unit }, overrides: [] } }),
      targets: p.targets.map((t, j) => ({
        refId: String.fromCharCode(65 + j),
        datasource: { type: p.datasource, uid: ds },
        expr: t.expr,
        ...(t.legend !== "" ? { legendFormat: t.legend } : {}),
      })),
    };
  });
  return {
    title: `DuckLake lineage queue (${stack})`,
    uid: `ducklake-queue-${stack}`,
    tags: ["ducklake", "pgmq", "postgresql"],
    timezone: "utc",
    schemaVersion: 39,
    refresh: "30s",
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [
        { name: "prometheus", type: "datasource", query: "prometheus", label: "Prometheus" },
        { name: "loki", type: "datasource", query: "loki", label: "Loki" },
      ],
    },
    panels,
  };
}
