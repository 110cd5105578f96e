/**
 * Monitoring SQL: the seed guide's queries, corrected and version-aware, as functions and views in the
 * `ops` schema, and the same queries as CloudNativePG custom metrics (Prometheus). docs/queue.md
 * ("Monitoring") maps each of the guide's queries to the object that replaces it.
 *
 * Corrections to the seed guide's queries (each checked on PostgreSQL 15.18 and 17.10):
 * - `pg_stat_user_tables` has `relname` (not `tablename`);
 * - pg_stat_statements has `total_exec_time`/`mean_exec_time` since 1.8 (PostgreSQL 13), not
 *   `total_time` (https://www.postgresql.org/docs/current/pgstatstatements.html);
 * - the checkpoint counters are `pg_stat_bgwriter.checkpoints_timed`/`checkpoints_req` up to 16 (the
 *   guide spells them `checkpoint_timed`/`checkpoint_req`) and moved to `pg_stat_checkpointer` in 17
 *   (`num_timed`, `num_requested`, `write_time`, `sync_time`, `buffers_written`;
 *   https://www.postgresql.org/docs/17/monitoring-stats.html#MONITORING-PG-STAT-CHECKPOINTER-VIEW);
 * - connections count client backends only (`pg_stat_activity` also lists the server's own processes);
 * - worker processing excludes the querying backend and idle sessions, and counts consumers of
 *   `ops.read_with_dlq` (the guide's `LIKE '%pgmq.read%'` counts itself and misses them);
 * - queue depth distinguishes visible messages (`vt <= now()`) from all messages, per queue table
 *   (the PGMQ tables are created at run time, so these are functions, not views), and names pgmq's
 *   `total_messages` (the msg_id sequence: ids ever handed out) `total_messages_sent`, apart from the
 *   current depth `queue_length`.
 *
 * Every object is readable by `pg_monitor` (CloudNativePG runs custom queries as a role that is a member
 * of pg_monitor, in a read-only transaction with `search_path = pg_catalog, public, pg_temp`; source:
 * cloudnative-pg `pkg/management/postgres/metrics/collector.go` `createMonitoringTx`), so every name in
 * the metrics is schema-qualified. pg_monitor includes pg_read_all_stats, so its members see every
 * session's `state` and query text in `pg_stat_activity` (pg_auth_members on 15.18 and 17.10).
 */
import { stringify } from "yaml";
import type { QueuesConfig } from "../../config/queues";
import { isSupportedMajor, SUPPORTED_MAJORS } from "../../config/postgres";
import { sqlLiteral, staticSql } from "./sql";

/** Statement timeout of each custom metrics query in milliseconds (bounded scrape cost). */
export const METRICS_STATEMENT_TIMEOUT_MS = 5000;

/**
 * Rows a queue-table metric reads at most per queue and scrape. CloudNativePG's exporter does not implement
 * the Prometheus exporter's `cache_seconds` (cloudnative-pg docs/src/monitoring.md, "Differences with the
 * Prometheus Postgres exporter"), so every scrape runs every query: a count over a whole queue table (10
 * million rows when consumers are down) would cost seconds each time. Counts stop at this limit; above it
 * `queue_length` is the planner's estimate (`pg_class.reltuples` of the partitions, kept fresh by the
 * queue tables' aggressive autovacuum) and `counts_exact` is 0. The oldest and newest ages read one row
 * each through the `msg_id` index.
 */
export const METRICS_EXACT_COUNT_LIMIT = 100_000;

/**
 * The statement of `ops.queue_depth()`'s `oldest_unread_wait_seconds`, as a `format()` string (`%I` the queue table in
 * schema pgmq, `%s` the bound): the `vt` of the first readable, never-read message among the bound's oldest messages
 * in msg_id order, read through the msg_id index and stopping at the first match. pgmq.read takes readable messages
 * in msg_id order (`ORDER BY msg_id ... FOR UPDATE SKIP LOCKED`, pgmq 1.5.1 pgmq.read), so this is the message the next
 * read returns, unless a redelivered one is ahead of it.
 */
export const OLDEST_UNREAD_VT_FORMAT =
  "SELECT h.vt FROM (SELECT msg_id, vt, read_ct FROM pgmq.%I ORDER BY msg_id LIMIT %s) h WHERE h.read_ct = 0 AND h.vt <= now() ORDER BY h.msg_id LIMIT 1";

/** Rows kept by `ops.top_statements` and its metric (bounded label cardinality). */
export const TOP_STATEMENTS = 20;

function assertMajor(majorVersion: number): void {
  if (!isSupportedMajor(majorVersion)) {
    throw new Error(`PostgreSQL major ${majorVersion} is not supported (${SUPPORTED_MAJORS.join(", ")})`);
  }
}

/**
 * Checkpoint statistics as one row with stable column names, from the view the major provides.
 * @param majorVersion 15–18: `pg_stat_bgwriter` before 17, `pg_stat_checkpointer` from 17.
 * @returns a SELECT with columns timed, requested, write_time_ms, sync_time_ms, buffers_written.
 */
export function checkpointsSelect(majorVersion: number): string {
  assertMajor(majorVersion);
  if (majorVersion >= 17) {
    return `SELECT num_timed AS timed,
       num_requested AS requested,
       write_time AS write_time_ms,
       sync_time AS sync_time_ms,
       buffers_written,
       stats_reset
  FROM pg_catalog.pg_stat_checkpointer`;
  }
  return `SELECT checkpoints_timed AS timed,
       checkpoints_req AS requested,
       checkpoint_write_time AS write_time_ms,
       checkpoint_sync_time AS sync_time_ms,
       buffers_checkpoint AS buffers_written,
       stats_reset
  FROM pg_catalog.pg_stat_bgwriter`;
}

/** Result columns of `ops.queue_depth()`, in order, with their SQL types. */
export const QUEUE_DEPTH_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ["queue_name", "text"],
  ["queue_length", "bigint"],
  ["visible_messages", "bigint"],
  ["oldest_message_age_seconds", "double precision"],
  ["newest_message_age_seconds", "double precision"],
  ["oldest_unread_wait_seconds", "double precision"],
  ["total_messages_sent", "bigint"],
  ["counts_exact", "integer"],
];

/** The queue-reading functions `ops.queue_workers` looks for in `pg_stat_activity.query`. */
export const QUEUE_FUNCTIONS = ["pgmq.read", "pgmq.read_with_poll", "pgmq.pop", "ops.read_with_dlq"] as const;

/** One monitoring object in schema `ops`, and a statement that reads all of it. */
export interface MonitoringObject {
  /** Schema-qualified name, e.g. `ops.lock_waits`. */
  name: string;
  /** A SELECT over the whole object (functions with their default arguments, or a small limit). */
  select: string;
  /** Whether it needs pgmq (and pg_partman, ops.dead_letter_routes): the queue functions. */
  needsPgmq: boolean;
}

/** Every object `monitoringSql` creates, queue functions first (the order of the SQL). */
export const MONITORING_OBJECTS: readonly MonitoringObject[] = [
  { name: "ops.queue_depth", select: "SELECT * FROM ops.queue_depth()", needsPgmq: true },
  { name: "ops.metrics_count_limit", select: "SELECT ops.metrics_count_limit()", needsPgmq: true },
  { name: "ops.dead_letter_depth", select: "SELECT * FROM ops.dead_letter_depth()", needsPgmq: true },
  { name: "ops.dead_letter_newest", select: "SELECT * FROM ops.dead_letter_newest(5)", needsPgmq: true },
  { name: "ops.stuck_messages", select: "SELECT * FROM ops.stuck_messages()", needsPgmq: true },
  { name: "ops.stuck_message_counts", select: "SELECT * FROM ops.stuck_message_counts()", needsPgmq: true },
  { name: "ops.default_partition_rows", select: "SELECT * FROM ops.default_partition_rows()", needsPgmq: true },
  { name: "ops.partition_runway", select: "SELECT * FROM ops.partition_runway()", needsPgmq: true },
  { name: "ops.archive_size", select: "SELECT * FROM ops.archive_size()", needsPgmq: true },
  { name: "ops.queue_table_activity", select: "SELECT * FROM ops.queue_table_activity", needsPgmq: false },
  { name: "ops.vacuum_progress", select: "SELECT * FROM ops.vacuum_progress", needsPgmq: false },
  { name: "ops.table_bloat", select: "SELECT * FROM ops.table_bloat", needsPgmq: false },
  { name: "ops.top_statements", select: "SELECT * FROM ops.top_statements", needsPgmq: false },
  { name: "ops.checkpoints", select: "SELECT * FROM ops.checkpoints", needsPgmq: false },
  { name: "ops.cache_hit_ratio", select: "SELECT * FROM ops.cache_hit_ratio", needsPgmq: false },
  { name: "ops.connections", select: "SELECT * FROM ops.connections", needsPgmq: false },
  { name: "ops.queue_worker_backends", select: "SELECT * FROM ops.queue_worker_backends", needsPgmq: false },
  { name: "ops.queue_workers", select: "SELECT * FROM ops.queue_workers", needsPgmq: false },
  { name: "ops.lock_waits", select: "SELECT * FROM ops.lock_waits", needsPgmq: false },
];

/**
 * A DO block dropping a function whose result columns are not `columns` (CREATE OR REPLACE FUNCTION
 * cannot change them), so the CREATE OR REPLACE after it also upgrades a database bootstrapped by an
 * older release; it does nothing when the columns already match.
 * @param signature e.g. `ops.queue_depth()` (a function without input arguments).
 * @param columns the result column names in order (`pg_proc.proargnames` of a RETURNS TABLE function).
 */
export function replaceFunctionWithOtherColumns(signature: string, columns: readonly string[]): string {
  const wanted = `ARRAY[${columns.map(sqlLiteral).join(", ")}]::text[]`;
  return `DO $replace$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.oid = pg_catalog.to_regprocedure(${sqlLiteral(signature)})
                  AND p.proargnames IS DISTINCT FROM ${wanted}) THEN
        DROP FUNCTION ${signature};
        RAISE NOTICE '${signature} had other result columns: dropped, created again below';
    END IF;
END
$replace$;`;
}

/**
 * The connections reserved for privileged roles, as a SQL expression.
 * @param majorVersion 15–18: `superuser_reserved_connections`, plus `reserved_connections` (roles with
 *   pg_use_reserved_connections) from 16, where that setting was added.
 */
export function reservedConnectionsExpr(majorVersion: number): string {
  assertMajor(majorVersion);
  const superuser = "pg_catalog.current_setting('superuser_reserved_connections')::integer";
  return majorVersion >= 16 ? `${superuser} + pg_catalog.current_setting('reserved_connections')::integer` : superuser;
}

/**
 * SQL creating the `ops` functions that read the queue tables (run as the queue owner after pgmq,
 * pg_partman in schema `partman` and `ops.dead_letter_routes` exist; `CREATE OR REPLACE`, so running it
 * again changes nothing): ops.queue_depth(), ops.dead_letter_depth(), ops.dead_letter_newest(limit),
 * ops.stuck_messages(min_read_ct), ops.stuck_message_counts(), ops.default_partition_rows(),
 * ops.partition_runway(), ops.archive_size(). `ops.queue_depth()` is dropped first when an older release created it with
 * other result columns (it returned the depth as `total_messages` before).
 */
export function queueMonitoringSql(): string {
  return `-- ops.queue_depth(): per queue, its current depth (queue_length: rows in the queue table), the visible
-- ones (vt <= now()), oldest/newest age, and total_messages_sent: the queue's msg_id sequence, i.e.
-- what pgmq.metrics() calls total_messages (ids handed out, rolled-back sends included), not a depth.
-- oldest_unread_wait_seconds: how long the first never-read readable message (read_ct = 0, vt <= now(), lowest msg_id)
-- has been readable (now() - vt; vt is when a send, delayed or not, makes it readable): the wait of the message the
-- next pgmq.read returns (reads take readable messages in msg_id order), 0 when none waits, -1 when unknown (the
-- queue is deeper than the bound and every message within it is being processed or delayed).
-- Bounded per scrape: counts stop at ${METRICS_EXACT_COUNT_LIMIT.toLocaleString("en-US")} rows (counts_exact 0 above; queue_length is then the
-- planner's estimate), ages read one row each through the msg_id index, the unread wait at most as many rows
-- (messages being processed or delayed at the head of the queue are skipped, one index row each).
${replaceFunctionWithOtherColumns(
  "ops.queue_depth()",
  QUEUE_DEPTH_COLUMNS.map(([name]) => name),
)}
CREATE OR REPLACE FUNCTION ops.queue_depth()
RETURNS TABLE (${QUEUE_DEPTH_COLUMNS.map(([name, type]) => `${name} ${type}`).join(", ")})
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_queue text;
    v_limit constant bigint := ${METRICS_EXACT_COUNT_LIMIT};
    v_len bigint;
    v_visible bigint;
    v_oldest timestamptz;
    v_newest timestamptz;
    v_unread_vt timestamptz;
    v_sent bigint;
BEGIN
    FOR v_queue IN SELECT m.queue_name::text FROM pgmq.meta m ORDER BY m.queue_name LOOP
        -- bounded: at most v_limit + 1 rows counted, one row read for each age
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM pgmq.%I LIMIT %s) x', 'q_' || v_queue, v_limit + 1) INTO v_len;
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM pgmq.%I WHERE vt <= now() LIMIT %s) x', 'q_' || v_queue, v_limit + 1) INTO v_visible;
        EXECUTE format('SELECT enqueued_at FROM pgmq.%I ORDER BY msg_id LIMIT 1', 'q_' || v_queue) INTO v_oldest;
        EXECUTE format('SELECT enqueued_at FROM pgmq.%I ORDER BY msg_id DESC LIMIT 1', 'q_' || v_queue) INTO v_newest;
        -- bounded: the first readable, never-read message among the v_limit + 1 oldest, in msg_id order
        EXECUTE format(${sqlLiteral(OLDEST_UNREAD_VT_FORMAT)}, 'q_' || v_queue, v_limit + 1) INTO v_unread_vt;
        EXECUTE format('SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END FROM pgmq.%I s', 'q_' || v_queue || '_msg_id_seq') INTO v_sent;
        queue_name := v_queue;
        counts_exact := CASE WHEN v_len > v_limit THEN 0 ELSE 1 END;
        IF v_len > v_limit THEN
            -- the planner's estimate over the queue table's partitions (or the table itself), never below what was counted
            SELECT greatest(v_len, coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint) INTO v_len
              FROM pg_catalog.pg_class c
             WHERE c.relkind = 'r'
               AND (c.oid = format('pgmq.%I', 'q_' || v_queue)::regclass
                    OR c.oid IN (SELECT i.relid FROM pg_catalog.pg_partition_tree(format('pgmq.%I', 'q_' || v_queue)::regclass) i));
        END IF;
        queue_length := v_len;
        visible_messages := least(v_visible, v_len);
        oldest_message_age_seconds := coalesce(extract(epoch FROM now() - v_oldest)::double precision, 0);
        newest_message_age_seconds := coalesce(extract(epoch FROM now() - v_newest)::double precision, 0);
        oldest_unread_wait_seconds := CASE
            WHEN v_unread_vt IS NOT NULL THEN greatest(extract(epoch FROM now() - v_unread_vt)::double precision, 0)
            WHEN v_len > v_limit THEN -1  -- nothing unread among the oldest v_limit + 1, and more rows beyond them
            ELSE 0
        END;
        total_messages_sent := v_sent;
        RETURN NEXT;
    END LOOP;
END
$fn$;

${staticSql("queue-monitoring").replace("@@METRICS_EXACT_COUNT_LIMIT@@", String(METRICS_EXACT_COUNT_LIMIT))}`;
}

/**
 * SQL creating the `ops` views over PostgreSQL's own statistics, which need neither pgmq nor pg_partman
 * (only schema `ops` and, for `ops.top_statements`, the pg_stat_statements extension): they run on any
 * server of the major, with or without queues. `CREATE OR REPLACE`, so running it again changes nothing.
 * - `ops.queue_table_activity`, `ops.table_bloat`: pgmq tables in `pg_stat_user_tables` (`relname`);
 * - `ops.vacuum_progress`: running vacuums of pgmq tables in this database (`pg_stat_progress_vacuum`);
 * - `ops.top_statements`: pg_stat_statements >= 1.8 (`total_exec_time`), this database;
 * - `ops.checkpoints`: `pg_stat_bgwriter` before 17, `pg_stat_checkpointer` from 17 (`checkpointsSelect`);
 * - `ops.cache_hit_ratio`: `pg_stat_database`, this database;
 * - `ops.connections`: one row: client backends (`backend_type = 'client backend'`) by `state`, with
 *   `max_connections`, the reserved connections (`reservedConnectionsExpr`) and the share of
 *   max_connections in use (pg_stat_activity: https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ACTIVITY-VIEW);
 * - `ops.queue_worker_backends`, `ops.queue_workers`: client backends of this database, other than the
 *   querying one (`pg_backend_pid()`), not idle, whose current (or, idle in a transaction, last)
 *   statement calls one of `QUEUE_FUNCTIONS`; `ops.queue_workers` has one row per function, `workers`
 *   counting those running it now;
 * - `ops.lock_waits`: one row per ungranted lock in `pg_locks` (`granted` false, `waitstart` since 14:
 *   https://www.postgresql.org/docs/current/view-pg-locks.html) with the waiting pid, lock type, mode,
 *   relation (for a row-lock wait, a `transactionid` lock without a relation, the relation of the tuple
 *   lock the waiter holds), wait time, and the pids blocking it from `pg_blocking_pids(pid)`
 *   (https://www.postgresql.org/docs/current/functions-info.html).
 * @param majorVersion 15–18 (checkpoint view from 17, reserved_connections from 16).
 * @throws Error for another major.
 */
export function serverMonitoringSql(majorVersion: number): string {
  assertMajor(majorVersion);
  return `-- Per queue table: live/dead tuples and (auto)vacuum activity. pg_stat_user_tables has relname; the
-- queue tables are in schema pgmq.
CREATE OR REPLACE VIEW ops.queue_table_activity AS
SELECT s.relname,
       s.n_live_tup,
       s.n_dead_tup,
       round(s.n_dead_tup::numeric / nullif(s.n_live_tup + s.n_dead_tup, 0), 4) AS dead_tuple_ratio,
       s.last_autovacuum,
       s.last_autoanalyze,
       s.autovacuum_count,
       s.autoanalyze_count,
       s.n_tup_ins,
       s.n_tup_upd,
       s.n_tup_del,
       s.n_tup_hot_upd,
       s.last_vacuum,
       s.last_analyze,
       s.vacuum_count
  FROM pg_catalog.pg_stat_user_tables s
 WHERE s.schemaname = 'pgmq';

-- Vacuums running now on queue tables (pg_stat_progress_vacuum lists every database's: relid is only
-- meaningful in this one).
CREATE OR REPLACE VIEW ops.vacuum_progress AS
SELECT v.pid,
       c.relname,
       v.phase,
       v.heap_blks_total,
       v.heap_blks_scanned,
       v.heap_blks_vacuumed,
       a.query_start
  FROM pg_catalog.pg_stat_progress_vacuum v
  JOIN pg_catalog.pg_class c ON c.oid = v.relid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = v.pid
 WHERE v.datname = pg_catalog.current_database()
   AND n.nspname = 'pgmq';

-- Estimated bloat of queue tables: heap size x dead-tuple share (an estimate from statistics;
-- pgstattuple gives exact numbers at the price of a full scan).
CREATE OR REPLACE VIEW ops.table_bloat AS
SELECT s.relname,
       pg_catalog.pg_relation_size(s.relid) AS heap_bytes,
       pg_catalog.pg_total_relation_size(s.relid) AS total_bytes,
       (pg_catalog.pg_relation_size(s.relid) * (s.n_dead_tup::numeric / nullif(s.n_live_tup + s.n_dead_tup, 0)))::bigint AS estimated_bloat_bytes
  FROM pg_catalog.pg_stat_user_tables s
 WHERE s.schemaname = 'pgmq';

-- The most expensive statements (pg_stat_statements >= 1.8: total_exec_time, mean_exec_time).
CREATE OR REPLACE VIEW ops.top_statements AS
SELECT st.queryid,
       st.calls,
       st.total_exec_time AS total_exec_time_ms,
       st.mean_exec_time AS mean_exec_time_ms,
       st.rows,
       left(st.query, 200) AS query
  FROM pg_stat_statements st
 WHERE st.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())
 ORDER BY st.total_exec_time DESC
 LIMIT ${TOP_STATEMENTS};

-- Checkpoints (PostgreSQL ${majorVersion}: ${majorVersion >= 17 ? "pg_stat_checkpointer" : "pg_stat_bgwriter"}).
CREATE OR REPLACE VIEW ops.checkpoints AS
${checkpointsSelect(majorVersion)};

-- Buffer cache hit ratio of this database.
CREATE OR REPLACE VIEW ops.cache_hit_ratio AS
SELECT d.datname,
       d.blks_hit,
       d.blks_read,
       round(d.blks_hit::numeric / nullif(d.blks_hit + d.blks_read, 0), 4) AS hit_ratio
  FROM pg_catalog.pg_stat_database d
 WHERE d.datname = current_database();

-- Client connections by state (pg_stat_activity also lists the server's own processes), against
-- max_connections and the connections reserved for privileged roles.
CREATE OR REPLACE VIEW ops.connections AS
SELECT n.client_connections,
       n.active,
       n.idle,
       n.idle_in_transaction,
       n.idle_in_transaction_aborted,
       n.other_state,
       s.max_connections,
       s.reserved_connections,
       round(n.client_connections::numeric / s.max_connections, 4) AS used_ratio
  FROM (SELECT count(*) AS client_connections,
               count(*) FILTER (WHERE a.state = 'active') AS active,
               count(*) FILTER (WHERE a.state = 'idle') AS idle,
               count(*) FILTER (WHERE a.state = 'idle in transaction') AS idle_in_transaction,
               count(*) FILTER (WHERE a.state = 'idle in transaction (aborted)') AS idle_in_transaction_aborted,
               count(*) FILTER (WHERE a.state IS NULL OR a.state NOT IN ('active', 'idle', 'idle in transaction', 'idle in transaction (aborted)')) AS other_state
          FROM pg_catalog.pg_stat_activity a
         WHERE a.backend_type = 'client backend') n,
       (SELECT pg_catalog.current_setting('max_connections')::integer AS max_connections,
               ${reservedConnectionsExpr(majorVersion)} AS reserved_connections) s;

-- Sessions of this database, other than the one asking, that are not idle and whose statement calls a
-- queue-reading function (${QUEUE_FUNCTIONS.join(", ")}).
CREATE OR REPLACE VIEW ops.queue_worker_backends AS
SELECT b.pid,
       b.usename,
       b.application_name,
       b.queue_function,
       b.state,
       b.wait_event_type,
       b.wait_event,
       extract(epoch FROM pg_catalog.clock_timestamp() - b.query_start)::double precision AS running_seconds,
       left(b.query, 200) AS query
  FROM (SELECT a.*,
               lower(m[1] || '.' || m[2]) AS queue_function
          FROM pg_catalog.pg_stat_activity a,
               LATERAL pg_catalog.regexp_match(a.query, '\\m"?(pgmq|ops)"?[[:space:]]*\\.[[:space:]]*"?(read_with_poll|read_with_dlq|read|pop)"?[[:space:]]*\\(', 'i') AS m
         WHERE a.backend_type = 'client backend'
           AND a.datname = pg_catalog.current_database()
           AND a.pid <> pg_catalog.pg_backend_pid()
           AND a.state <> 'idle') b
 WHERE b.queue_function IN (${QUEUE_FUNCTIONS.map(sqlLiteral).join(", ")});

-- Per queue-reading function: sessions running it now, sessions idle in the transaction it ran in, and
-- the longest running call.
CREATE OR REPLACE VIEW ops.queue_workers AS
SELECT f.queue_function,
       count(b.pid) FILTER (WHERE b.state = 'active') AS workers,
       count(b.pid) FILTER (WHERE b.state LIKE 'idle in transaction%') AS idle_in_transaction,
       coalesce(max(b.running_seconds) FILTER (WHERE b.state = 'active'), 0) AS longest_running_seconds
  FROM (VALUES ${QUEUE_FUNCTIONS.map((f) => `(${sqlLiteral(f)})`).join(", ")}) AS f (queue_function)
  LEFT JOIN ops.queue_worker_backends b ON b.queue_function = f.queue_function
 GROUP BY f.queue_function
 ORDER BY f.queue_function;

-- Lock waits: every ungranted lock, who waits, on what, since when, and who blocks it. A row-lock wait
-- is a wait for the holder's transactionid (no relation): its relation is the tuple lock's the waiter holds.
-- Durations use clock_timestamp(): now() is the start of the asking transaction, which can be earlier.
CREATE OR REPLACE VIEW ops.lock_waits AS
WITH l AS MATERIALIZED (
    SELECT * FROM pg_catalog.pg_locks
)
SELECT w.pid AS waiting_pid,
       a.usename,
       a.application_name,
       w.locktype,
       w.mode,
       CASE WHEN r.relation IS NULL THEN NULL
            WHEN r.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
            THEN r.relation::regclass::text
            ELSE r.relation::text
       END AS relation,
       w.waitstart,
       extract(epoch FROM pg_catalog.clock_timestamp() - w.waitstart)::double precision AS wait_seconds,
       pg_catalog.pg_blocking_pids(w.pid) AS blocking_pids,
       a.wait_event_type,
       a.wait_event,
       left(a.query, 200) AS query
  FROM l w
  LEFT JOIN LATERAL (
        SELECT w.relation, w.database WHERE w.relation IS NOT NULL
        UNION ALL
        (SELECT t.relation, t.database FROM l t
          WHERE w.relation IS NULL AND t.pid = w.pid AND t.locktype = 'tuple' AND t.granted
          LIMIT 1)
       ) r ON true
  LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = w.pid
 WHERE NOT w.granted;`;
}

/**
 * SQL creating every `ops` monitoring function and view (`MONITORING_OBJECTS`): `queueMonitoringSql()`
 * then `serverMonitoringSql(majorVersion)`. Run as the queue owner; `CREATE OR REPLACE`, so running it
 * again changes nothing. Needs pgmq, pg_partman in schema `partman`, pg_stat_statements and
 * `ops.dead_letter_routes`.
 * @param majorVersion 15–18 (the checkpoint view differs from 17, reserved connections from 16).
 * @throws Error for another major.
 */
export function monitoringSql(majorVersion: number): string {
  assertMajor(majorVersion);
  return `${queueMonitoringSql()}

${serverMonitoringSql(majorVersion)}`;
}

/** One CloudNativePG custom query (`monitoring.customQueriesConfigMap` format). */
interface CustomQuery {
  query: string;
  predicate_query: string;
  primary?: boolean;
  metrics: Array<Record<string, { usage: "LABEL" | "GAUGE" | "COUNTER"; description: string }>>;
}

/**
 * The predicate query that bounds each metrics query: CloudNativePG runs `predicate_query` in the same
 * transaction just before `query` (cloudnative-pg `pkg/management/postgres/metrics/parser.go`
 * `isCollectable`), so a transaction-local `statement_timeout` set there applies to the query.
 */
export function statementTimeoutPredicate(timeoutMs: number = METRICS_STATEMENT_TIMEOUT_MS): string {
  return `SELECT pg_catalog.set_config('statement_timeout', '${Math.floor(timeoutMs)}', true) IS NOT NULL`;
}

/**
 * CloudNativePG custom queries (the YAML of a ConfigMap key referenced from the Cluster's
 * `spec.monitoring.customQueriesConfigMap`) exporting the `ops` monitoring functions as Prometheus
 * metrics. Each query is bounded by a 5 s statement timeout (`predicate_query`) and, for queue tables, by
 * `METRICS_EXACT_COUNT_LIMIT` rows per queue (no `cache_seconds`: CloudNativePG does not implement it);
 * queue-table queries run on the primary only. Queue metrics are limited to the configured queues (and
 * their dead-letter queues), so label cardinality stays bounded.
 * @param majorVersion 15–18 (checkpoint columns differ from 17).
 * @param queues `ducklake:queues`.
 * @returns YAML text, keys in a stable order.
 * @throws Error for an unsupported major.
 */
export function monitoringMetricsYaml(majorVersion: number, queues: QueuesConfig): string {
  assertMajor(majorVersion);
  const names: string[] = [];
  for (const q of queues.definitions) {
    names.push(q.name);
    if (q.deadLetter) names.push(q.deadLetter.queue);
  }
  const inList = names.map(sqlLiteral).join(", ");
  const predicate = statementTimeoutPredicate();
  const label = (description: string) => ({ usage: "LABEL" as const, description });
  const gauge = (description: string) => ({ usage: "GAUGE" as const, description });
  const counter = (description: string) => ({ usage: "COUNTER" as const, description });
  const queries: Record<string, CustomQuery> = {
    ducklake_queue: {
      query: `SELECT queue_name, queue_length, visible_messages, oldest_message_age_seconds, newest_message_age_seconds, oldest_unread_wait_seconds, total_messages_sent, counts_exact FROM ops.queue_depth() WHERE queue_name IN (${inList})`,
      predicate_query: predicate,
      primary: true,
      metrics: [
        { queue_name: label("PGMQ queue") },
        {
          queue_length: gauge(
            `Messages in the queue table now, visible or not (pgmq.metrics queue_length); counted up to ${METRICS_EXACT_COUNT_LIMIT}, the planner's estimate above`,
          ),
        },
        { visible_messages: gauge(`Messages readable now (vt <= now()), counted up to ${METRICS_EXACT_COUNT_LIMIT}`) },
        { oldest_message_age_seconds: gauge("Age of the oldest message in seconds") },
        { newest_message_age_seconds: gauge("Age of the newest message in seconds") },
        {
          oldest_unread_wait_seconds: gauge(
            `Seconds the first readable, never-read message (lowest msg_id with read_ct 0 and vt <= now()) has been readable: the wait of the message the next read returns; 0 when none waits; -1 when unknown (it looks at the ${METRICS_EXACT_COUNT_LIMIT} oldest messages, all being processed or delayed, and the queue is deeper)`,
          ),
        },
        {
          total_messages_sent: counter(
            "msg_ids handed out by the queue's sequence, rolled-back sends included (pgmq.metrics total_messages)",
          ),
        },
        {
          counts_exact: gauge(
            `1 when queue_length and visible_messages are exact (at most ${METRICS_EXACT_COUNT_LIMIT} rows), 0 above`,
          ),
        },
      ],
    },
    ducklake_dead_letter: {
      query:
        "SELECT queue_name, dead_letter_queue, dead_letters, newest_dead_letter_age_seconds FROM ops.dead_letter_depth()",
      predicate_query: predicate,
      primary: true,
      metrics: [
        { queue_name: label("Source queue") },
        { dead_letter_queue: label("Dead-letter queue") },
        { dead_letters: gauge("Messages in the dead-letter queue") },
        { newest_dead_letter_age_seconds: gauge("Age of the newest dead letter in seconds") },
      ],
    },
    ducklake_stuck_messages: {
      query: `SELECT queue_name, redelivered_messages, max_read_ct FROM ops.stuck_message_counts() WHERE queue_name IN (${inList})`,
      predicate_query: predicate,
      primary: true,
      metrics: [
        { queue_name: label("PGMQ queue") },
        { redelivered_messages: gauge("Messages read at least twice") },
        { max_read_ct: gauge("Highest read count of a message in the queue") },
      ],
    },
    ducklake_default_partition: {
      query: "SELECT parent_table, row_count FROM ops.default_partition_rows()",
      predicate_query: predicate,
      primary: true,
      metrics: [
        { parent_table: label("Partitioned PGMQ table") },
        { row_count: gauge("Rows in the default partition (must be 0: the partition runway was overrun)") },
      ],
    },
    ducklake_partition_runway: {
      query: "SELECT parent_table, runway_messages, last_msg_id, partition_upper_bound FROM ops.partition_runway()",
      predicate_query: predicate,
      primary: true,
      metrics: [
        { parent_table: label("Partitioned PGMQ table") },
        { runway_messages: gauge("msg_ids left before rows land in the default partition") },
        { last_msg_id: gauge("Newest msg_id handed out") },
        { partition_upper_bound: gauge("Exclusive upper bound of the highest partition") },
      ],
    },
    ducklake_partition_maintenance: {
      query:
        "SELECT parent_table, coalesce(extract(epoch FROM now() - last_success_at), -1) AS seconds_since_success, (last_error_at IS NOT NULL AND (last_success_at IS NULL OR last_error_at > last_success_at))::int AS failing, partitions_created_total, partitions_dropped_total, rows_repaired_total FROM ops.partition_maintenance",
      predicate_query: predicate,
      primary: true,
      metrics: [
        { parent_table: label("Partitioned PGMQ table") },
        {
          seconds_since_success: gauge(
            "Seconds since ops.maintain_partition_set last succeeded for the table (-1: never); above two maintenance periods the runway is shrinking",
          ),
        },
        {
          failing: gauge(
            "1 when the table's last partition-maintenance run failed (ops.partition_maintenance.last_error)",
          ),
        },
        { partitions_created_total: counter("Partitions made by the partition maintenance") },
        { partitions_dropped_total: counter("Partitions dropped by its retention") },
        {
          rows_repaired_total: counter(
            "Rows moved out of the default partition (each one means the runway was overrun)",
          ),
        },
      ],
    },
    ducklake_queue_table: {
      query:
        "SELECT a.relname, a.n_live_tup, a.n_dead_tup, a.autovacuum_count, a.autoanalyze_count, coalesce(extract(epoch FROM now() - a.last_autovacuum), -1) AS seconds_since_autovacuum, coalesce(b.estimated_bloat_bytes, 0) AS estimated_bloat_bytes, b.total_bytes FROM ops.queue_table_activity a JOIN ops.table_bloat b USING (relname)",
      predicate_query: predicate,
      metrics: [
        { relname: label("Queue table or partition") },
        { n_live_tup: gauge("Live tuples") },
        { n_dead_tup: gauge("Dead tuples") },
        { autovacuum_count: counter("Autovacuum runs") },
        { autoanalyze_count: counter("Autoanalyze runs") },
        { seconds_since_autovacuum: gauge("Seconds since the last autovacuum (-1: never)") },
        { estimated_bloat_bytes: gauge("Estimated bloat: heap bytes x dead-tuple share") },
        { total_bytes: gauge("Table size with indexes and TOAST") },
      ],
    },
    ducklake_top_statements: {
      query:
        "SELECT queryid::text AS queryid, calls, total_exec_time_ms / 1000.0 AS total_exec_time_seconds, mean_exec_time_ms / 1000.0 AS mean_exec_time_seconds, rows FROM ops.top_statements",
      predicate_query: predicate,
      metrics: [
        { queryid: label("pg_stat_statements queryid") },
        { calls: counter("Calls") },
        { total_exec_time_seconds: counter("Total execution time in seconds (pg_stat_statements total_exec_time)") },
        { mean_exec_time_seconds: gauge("Mean execution time in seconds") },
        { rows: counter("Rows returned or affected") },
      ],
    },
    ducklake_checkpoints: {
      query:
        "SELECT timed, requested, write_time_ms / 1000.0 AS write_time_seconds, sync_time_ms / 1000.0 AS sync_time_seconds, buffers_written FROM ops.checkpoints",
      predicate_query: predicate,
      metrics: [
        {
          timed: counter(
            `Scheduled checkpoints (${majorVersion >= 17 ? "pg_stat_checkpointer.num_timed" : "pg_stat_bgwriter.checkpoints_timed"})`,
          ),
        },
        {
          requested: counter(
            `Requested checkpoints (${majorVersion >= 17 ? "pg_stat_checkpointer.num_requested" : "pg_stat_bgwriter.checkpoints_req"})`,
          ),
        },
        { write_time_seconds: counter("Time writing checkpoint files in seconds") },
        { sync_time_seconds: counter("Time syncing checkpoint files in seconds") },
        { buffers_written: counter("Buffers written by checkpoints") },
      ],
    },
    ducklake_cache: {
      query: "SELECT hit_ratio FROM ops.cache_hit_ratio",
      predicate_query: predicate,
      metrics: [{ hit_ratio: gauge("Buffer cache hit ratio of the database") }],
    },
    ducklake_connections: {
      query:
        "SELECT client_connections, active, idle, idle_in_transaction, idle_in_transaction_aborted, other_state, max_connections, reserved_connections, used_ratio FROM ops.connections",
      predicate_query: predicate,
      metrics: [
        { client_connections: gauge("Client backends (pg_stat_activity.backend_type 'client backend')") },
        { active: gauge("Client backends running a statement") },
        { idle: gauge("Client backends waiting for a command") },
        { idle_in_transaction: gauge("Client backends idle in an open transaction") },
        { idle_in_transaction_aborted: gauge("Client backends idle in a failed transaction") },
        { other_state: gauge("Client backends in another state (fastpath function call, disabled)") },
        { max_connections: gauge("max_connections") },
        {
          reserved_connections: gauge(
            `Connections reserved for privileged roles (${majorVersion >= 16 ? "superuser_reserved_connections + reserved_connections" : "superuser_reserved_connections"})`,
          ),
        },
        { used_ratio: gauge("client_connections / max_connections") },
      ],
    },
    ducklake_queue_workers: {
      query: "SELECT queue_function, workers, idle_in_transaction, longest_running_seconds FROM ops.queue_workers",
      predicate_query: predicate,
      metrics: [
        { queue_function: label(`Queue-reading function (${QUEUE_FUNCTIONS.join(", ")})`) },
        { workers: gauge("Sessions running it now (the scraping session excluded)") },
        { idle_in_transaction: gauge("Sessions idle in the transaction that called it") },
        { longest_running_seconds: gauge("Longest running call in seconds (0: none)") },
      ],
    },
    ducklake_lock_waits: {
      query: "SELECT count(*) AS waiting, coalesce(max(wait_seconds), 0) AS longest_wait_seconds FROM ops.lock_waits",
      predicate_query: predicate,
      metrics: [
        { waiting: gauge("Sessions waiting for a lock") },
        { longest_wait_seconds: gauge("Longest lock wait in seconds (0: none)") },
      ],
    },
  };
  return stringify(queries, { lineWidth: 0 });
}
