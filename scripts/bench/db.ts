/**
 * What the benchmark does in the database besides the load itself: its own schema (payload pool and
 * latency samples), topping the queue up before a read workload, pg_partman maintenance between
 * workloads, and the health snapshot (default-partition rows, dead tuples, WAL, checkpoints,
 * autovacuum runs, queue depth and size).
 *
 * Catalog sources: pg_stat_user_tables, pg_current_wal_lsn(), pg_stat_bgwriter.checkpoints_req
 * (PostgreSQL <= 16) and pg_stat_checkpointer.num_requested (17+), https://www.postgresql.org/docs/current/monitoring-stats.html;
 * the default partition is the child whose bound is `DEFAULT` (pg_get_expr(relpartbound)).
 */
import * as fs from "fs";
import { Client } from "pg";
import { checkpointsSelect } from "../../components/queue/monitoring";
import { generatePayloadPool } from "./openlineage";

/** Schema holding the benchmark's own tables; never touched by the stack's bootstrap. */
export const BENCH_SCHEMA = "ducklake_bench";

/** Payloads in the pool. pgbench picks one (or a run of `batch`) at random per call. */
export const PAYLOAD_POOL_SIZE = 1000;

/** SQL identifier quoting. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Creates the benchmark schema and loads the payload pool (idempotent: reloads only when the pool differs in size).
 * Tables: `payloads (id, body jsonb)` and the unlogged `latency (latencies_ms double precision[])`.
 */
export async function prepareBenchSchema(client: Client, poolSize = PAYLOAD_POOL_SIZE): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${BENCH_SCHEMA}`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${BENCH_SCHEMA}.payloads (id integer PRIMARY KEY, body jsonb NOT NULL)`,
  );
  await client.query(
    `CREATE UNLOGGED TABLE IF NOT EXISTS ${BENCH_SCHEMA}.latency (latencies_ms double precision[] NOT NULL)`,
  );
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${BENCH_SCHEMA}.payloads`);
  if (Number(rows[0]?.n) === poolSize) return;
  await client.query(`TRUNCATE ${BENCH_SCHEMA}.payloads`);
  await client.query(
    `INSERT INTO ${BENCH_SCHEMA}.payloads (id, body) SELECT ord, body::jsonb FROM unnest($1::text[]) WITH ORDINALITY AS t(body, ord)`,
    [generatePayloadPool(poolSize)],
  );
  await client.query(`ANALYZE ${BENCH_SCHEMA}.payloads`);
}

/** Whether an extension is installed in the connected database. */
export async function extensionInstalled(client: Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query("SELECT 1 FROM pg_extension WHERE extname = $1", [name]);
  return (rowCount ?? 0) > 0;
}

/**
 * Checks that the queue exists as PGMQ created it.
 * @throws Error naming what is missing (pgmq, the queue) and how to get it (`npm run db:local -- <stack>`).
 */
export async function assertQueueReady(client: Client, queue: string): Promise<void> {
  if (!(await extensionInstalled(client, "pgmq"))) {
    throw new Error(
      "the pgmq extension is not installed in this database; apply the stack's bootstrap (npm run db:local -- <stack>) or CREATE EXTENSION pgmq",
    );
  }
  const { rowCount } = await client.query("SELECT 1 FROM pgmq.meta WHERE queue_name = $1", [queue]);
  if ((rowCount ?? 0) === 0)
    throw new Error(
      `queue "${queue}" does not exist (pgmq.meta); apply the stack's bootstrap (npm run db:local -- <stack>)`,
    );
}

/**
 * The tables a capacity run moves messages through: the queue's (`pgmq.q_<queue>`, archive `pgmq.a_<queue>`), or the
 * physical-limit reference ({@link LIMIT_TABLE}, no archive).
 */
export interface MeasuredTables {
  /** The table messages are inserted into and deleted from (partitioned parent). */
  readonly main: string;
  /** The archive, when there is one. */
  readonly archive?: string;
}

/** The queue's tables. */
export function queueTables(queue: string): MeasuredTables {
  return { main: `pgmq.${quoteIdent(`q_${queue}`)}`, archive: `pgmq.${quoteIdent(`a_${queue}`)}` };
}

/**
 * The physical-limit reference (issue 18): a table shaped like the queue table (same columns, defaults, identity,
 * indexes via `LIKE ... INCLUDING ALL`, the same range partitioning on msg_id with the queue's partition interval and
 * as many partitions, a default partition, the leaves' storage parameters), written and read with plain SQL
 * (workloads/limit_*.sql) instead of pgmq's functions.
 */
export const LIMIT_TABLE = `${BENCH_SCHEMA}.limit_q`;

/** The limit table as measured tables. */
export const LIMIT_TABLES: MeasuredTables = { main: LIMIT_TABLE };

/** Parses a range partition bound, `FOR VALUES FROM ('0') TO ('2000000')`; undefined for DEFAULT or another shape. */
export function rangeBound(expr: string): { from: number; to: number } | undefined {
  const m = /^FOR VALUES FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)$/.exec(expr.trim());
  return m ? { from: Number(m[1]), to: Number(m[2]) } : undefined;
}

/**
 * (Re)creates {@link LIMIT_TABLE} shaped like the queue's table: dropped and made anew, so a change of the queue's
 * shape is followed. Partitions `[k x interval, (k+1) x interval)` for k below the queue's count of range partitions
 * (its identity restarts at 1 before every run, {@link resetLimitTable}), plus a default partition.
 * @returns the partition count and interval.
 * @throws Error when the queue's table is not range-partitioned on msg_id.
 */
export async function prepareLimitTable(
  client: Client,
  queue: string,
): Promise<{ partitions: number; interval: number }> {
  const parent = queueTables(queue).main;
  const { rows } = await client.query<{ bound: string; reloptions: string[] | null }>(
    `SELECT pg_get_expr(c.relpartbound, c.oid) AS bound, c.reloptions
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY c.oid`,
    [parent],
  );
  const bounds = rows.map((r) => ({ ...r, range: rangeBound(r.bound) })).filter((r) => r.range !== undefined);
  const first = bounds[0]?.range;
  if (first === undefined) throw new Error(`${parent} has no range partitions: cannot shape the limit table like it`);
  const interval = first.to - first.from;
  const options = bounds[bounds.length - 1]?.reloptions ?? null;
  const withOptions = options !== null && options.length > 0 ? ` WITH (${options.join(", ")})` : "";
  await client.query(`DROP TABLE IF EXISTS ${LIMIT_TABLE}`);
  await client.query(`CREATE TABLE ${LIMIT_TABLE} (LIKE ${parent} INCLUDING ALL) PARTITION BY RANGE (msg_id)`);
  for (let k = 0; k < bounds.length; k++)
    await client.query(
      `CREATE TABLE ${LIMIT_TABLE}_p${k} PARTITION OF ${LIMIT_TABLE} FOR VALUES FROM (${k * interval}) TO (${(k + 1) * interval})${withOptions}`,
    );
  await client.query(`CREATE TABLE ${LIMIT_TABLE}_default PARTITION OF ${LIMIT_TABLE} DEFAULT${withOptions}`);
  return { partitions: bounds.length, interval };
}

/** Empties the limit table and restarts its identity at 1 (every run starts in its first partition). */
export async function resetLimitTable(client: Client): Promise<void> {
  await client.query(`TRUNCATE ${LIMIT_TABLE} RESTART IDENTITY`);
}

/**
 * Fills the limit table with `target` rows (rounded up to 1,000) of pool payloads, visible now, then ANALYZEs it, as
 * {@link topUpQueue} does for the queue.
 */
export async function fillLimitTable(client: Client, target: number): Promise<void> {
  const thousands = Math.ceil(target / 1000);
  for (let done = 0; done < thousands; done += 50) {
    await client.query(
      `INSERT INTO ${LIMIT_TABLE} (vt, message) SELECT clock_timestamp(), p.body FROM generate_series(1, $1::integer) g, ${BENCH_SCHEMA}.payloads p WHERE p.id <= 1000 ORDER BY g, p.id`,
      [Math.min(50, thousands - done)],
    );
  }
  await client.query(`ANALYZE ${LIMIT_TABLE}`);
}

/** Number of rows in a table (exact `count(*)`). */
export async function rowCount(client: Client, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]?.n ?? 0);
}

/** Number of messages in the queue table (exact `count(*)`). */
export async function queueDepth(client: Client, queue: string): Promise<number> {
  return rowCount(client, queueTables(queue).main);
}

/** Number of rows in the archive table (exact `count(*)`). */
export async function archiveCount(client: Client, queue: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM pgmq.${quoteIdent(`a_${queue}`)}`);
  return Number(rows[0]?.n ?? 0);
}

/** The last msg_id handed out (the table's identity sequence, the queue's by default); 0 before the first send. */
export async function lastMsgId(client: Client, queue: string, table = queueTables(queue).main): Promise<number> {
  const seq = await client.query<{ seq: string | null }>("SELECT pg_get_serial_sequence($1, 'msg_id') AS seq", [table]);
  const name = seq.rows[0]?.seq;
  if (name === null || name === undefined) return 0;
  const v = await client.query<{ v: string | null }>(
    "SELECT last_value AS v FROM pg_sequences WHERE format('%I.%I', schemaname, sequencename)::regclass = $1::regclass",
    [name],
  );
  return Number(v.rows[0]?.v ?? 0);
}

/**
 * Empties the queue the bench used and its dead-letter queue (from `ops.dead_letter_routes`, when the bootstrap made
 * it): the bench's messages (prefills, producers' sends, whatever a run left unread, and messages it dead-lettered)
 * would otherwise be returned to the first app that reads the queue. TRUNCATE, as the bench does before each paced
 * run; the archive is left to the queue's retention (apps do not read it).
 * @returns the messages removed, per queue table.
 */
export async function purgeBenchMessages(client: Client, queue: string): Promise<Record<string, number>> {
  const queues = [queue];
  const routes = await client.query<{ dlq: string | null }>(
    "SELECT CASE WHEN to_regclass('ops.dead_letter_routes') IS NULL THEN NULL ELSE (SELECT dead_letter_queue FROM ops.dead_letter_routes WHERE queue_name = $1) END AS dlq",
    [queue],
  );
  const dlq = routes.rows[0]?.dlq;
  if (dlq !== null && dlq !== undefined) queues.push(dlq);
  const removed: Record<string, number> = {};
  for (const q of queues) {
    removed[q] = await queueDepth(client, q);
    await client.query(`TRUNCATE pgmq.${quoteIdent(`q_${q}`)}`);
  }
  return removed;
}

/**
 * Adds messages until the queue holds at least `target` (one `pgmq.send_batch` of up to 1,000 pool payloads per statement), then ANALYZEs the queue table.
 * The ANALYZE matters: without statistics the read's `UPDATE ... FROM cte` planned a hash join over every
 * partition (58 ms instead of 1.9 ms per read of 100 on PostgreSQL 15; docs/bench.md "Findings"), and
 * autovacuum never analyzes a partitioned parent.
 * @returns messages added.
 */
export async function topUpQueue(client: Client, queue: string, target: number): Promise<number> {
  const depth = await queueDepth(client, queue);
  let missing = Math.max(0, target - depth);
  const added = missing;
  while (missing > 0) {
    const batches = Math.min(50, Math.ceil(missing / 1000));
    await client.query(
      // The subquery must reference g: an uncorrelated LATERAL function runs once and its rows are replayed.
      `SELECT count(*) FROM generate_series(1, $2::integer) g, LATERAL pgmq.send_batch($1::text, ARRAY(SELECT p.body FROM ${BENCH_SCHEMA}.payloads p WHERE g.g > 0 ORDER BY p.id LIMIT 1000)) s`,
      [queue, batches],
    );
    missing -= batches * 1000;
  }
  await client.query(`ANALYZE pgmq.${quoteIdent(`q_${queue}`)}`);
  return added;
}

/**
 * Runs partition maintenance (premake and retention) for the queue and archive tables, as the
 * partition-maintenance CronJob does (`ops.run_partition_maintenance()`, as the tables' owner), or
 * pg_partman's own `run_maintenance()` on a database bootstrapped before it existed: the benchmark calls it
 * between workloads so each starts with the full runway. Does nothing when pg_partman is not installed.
 */
export async function runPartitionMaintenance(client: Client): Promise<void> {
  const { rows } = await client.query<{ schema: string }>(
    "SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman'",
  );
  const schema = rows[0]?.schema;
  if (schema === undefined) return;
  // As the owner of the partitioned tables, like the background worker: pg_partman gives new
  // partitions to the role that runs maintenance, and a superuser's partitions would block the worker.
  const owner = await client.query<{ owner: string }>(
    `SELECT pg_catalog.pg_get_userbyid(c.relowner) AS owner FROM ${quoteIdent(schema)}.part_config p
       JOIN pg_catalog.pg_class c ON c.oid = p.parent_table::regclass ORDER BY p.parent_table LIMIT 1`,
  );
  const role = owner.rows[0]?.owner;
  // The project's maintenance (components/queue/sql/partition-maintenance.sql) where the bootstrap made it:
  // it keeps partitions ahead of the sequence even when the queue is empty, which pg_partman's does not.
  const ours = await client.query<{ found: boolean }>(
    "SELECT pg_catalog.to_regproc('ops.maintain_partition_set') IS NOT NULL AS found",
  );
  if (ours.rows[0]?.found === true) {
    // a procedure that commits per partition set: called outside a transaction block
    if (role !== undefined) await client.query(`SET ROLE ${quoteIdent(role)}`);
    try {
      await client.query("CALL ops.run_partition_maintenance()");
    } finally {
      if (role !== undefined) await client.query("RESET ROLE");
    }
    return;
  }
  await client.query("BEGIN");
  try {
    if (role !== undefined) await client.query(`SET LOCAL ROLE ${quoteIdent(role)}`);
    await client.query(`SELECT ${quoteIdent(schema)}.run_maintenance()`);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK");
    throw err;
  }
}

/** A health snapshot of the queue and the server. */
export interface HealthSnapshot {
  /** Rows in the default partitions of the queue and archive tables (must stay 0). */
  readonly defaultPartitionRows: number;
  /** Dead tuples over the queue and archive tables and their partitions (pg_stat_user_tables.n_dead_tup). */
  readonly deadTuples: number;
  /** Autovacuum runs over those tables (pg_stat_user_tables.autovacuum_count). */
  readonly autovacuumRuns: number;
  /** The same per table (name to count): partitions come and go, so deltas are taken per table. */
  readonly autovacuumByTable: Readonly<Record<string, number>>;
  /** Total size in bytes (pg_total_relation_size, 0 for a partitioned parent) of those tables. */
  readonly sizeBytes: number;
  /** Messages in the queue (count(*)). */
  readonly depth: number;
  /** Rows in the archive table (count(*)). */
  readonly archived: number;
  /** Last msg_id handed out. */
  readonly lastMsgId: number;
  /** WAL position in bytes (pg_current_wal_lsn as a number). */
  readonly walBytes: number;
  /** Checkpoints requested since the statistics reset. */
  readonly checkpointsRequested: number;
  /** Timed checkpoints since the statistics reset. */
  readonly checkpointsTimed: number;
}

/**
 * Autovacuum runs between two snapshots, per table: a table dropped in between (retention drops old
 * partitions) is left out instead of subtracting its whole history, and a new partition counts all its
 * runs. A plain difference of the sums went negative in the soak when retention dropped a partition.
 */
export function autovacuumRunsBetween(
  before: Pick<HealthSnapshot, "autovacuumByTable">,
  after: Pick<HealthSnapshot, "autovacuumByTable">,
): number {
  let runs = 0;
  for (const [table, count] of Object.entries(after.autovacuumByTable))
    runs += Math.max(0, count - (before.autovacuumByTable[table] ?? 0));
  return runs;
}

/** Parses an LSN (`16/B374D848`) into a byte position. */
export function lsnToBytes(lsn: string): number {
  const [hi, lo] = lsn.split("/");
  return parseInt(hi ?? "0", 16) * 2 ** 32 + parseInt(lo ?? "0", 16);
}

/** The measured tables (parents) and every partition, with which ones are default partitions. */
async function partitionsOf(
  client: Client,
  tables: MeasuredTables,
): Promise<Array<{ rel: string; isDefault: boolean }>> {
  const parents = [tables.main, ...(tables.archive !== undefined ? [tables.archive] : [])];
  const out: Array<{ rel: string; isDefault: boolean }> = [];
  for (const parent of parents) {
    out.push({ rel: parent, isDefault: false });
    const { rows } = await client.query<{ rel: string; is_default: boolean }>(
      `SELECT c.oid::regclass::text AS rel, coalesce(pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', false) AS is_default
         FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`,
      [parent],
    );
    for (const r of rows) out.push({ rel: r.rel, isDefault: r.is_default });
  }
  return out;
}

/**
 * Takes a health snapshot (statistics are read after `pg_stat_clear_snapshot()`, so they are current up to the stats
 * flush delay) of the queue's tables, or of `measured` (the limit table).
 */
export async function healthSnapshot(
  client: Client,
  queue: string,
  serverMajor: number,
  measured: MeasuredTables = queueTables(queue),
): Promise<HealthSnapshot> {
  await client.query("SELECT pg_stat_clear_snapshot()");
  const tables = await partitionsOf(client, measured);
  let defaultPartitionRows = 0;
  for (const t of tables.filter((x) => x.isDefault)) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${t.rel}`);
    defaultPartitionRows += Number(rows[0]?.n ?? 0);
  }
  const rels = tables.map((t) => t.rel);
  const perTable = await client.query<{ rel: string; av: string }>(
    "SELECT s.relid::regclass::text AS rel, s.autovacuum_count AS av FROM pg_stat_user_tables s WHERE s.relid = ANY (SELECT r::regclass FROM unnest($1::text[]) r)",
    [tables.map((t) => t.rel)],
  );
  const autovacuumByTable = Object.fromEntries(perTable.rows.map((r) => [r.rel, Number(r.av)]));
  const stats = await client.query<{ dead: string | null; av: string | null; size: string | null }>(
    `SELECT sum(s.n_dead_tup) AS dead, sum(s.autovacuum_count) AS av,
            (SELECT sum(pg_total_relation_size(r::regclass)) FROM unnest($1::text[]) r) AS size
       FROM pg_stat_user_tables s WHERE s.relid = ANY (SELECT r::regclass FROM unnest($1::text[]) r)`,
    [rels],
  );
  const wal = await client.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn");
  const ckpt = await client.query<{ requested: string; timed: string }>(checkpointsSelect(serverMajor));
  return {
    defaultPartitionRows,
    deadTuples: Number(stats.rows[0]?.dead ?? 0),
    autovacuumRuns: Number(stats.rows[0]?.av ?? 0),
    autovacuumByTable,
    sizeBytes: Number(stats.rows[0]?.size ?? 0),
    depth: await rowCount(client, measured.main),
    archived: measured.archive !== undefined ? await rowCount(client, measured.archive) : 0,
    lastMsgId: await lastMsgId(client, queue, measured.main),
    walBytes: lsnToBytes(wal.rows[0]?.lsn ?? "0/0"),
    checkpointsRequested: Number(ckpt.rows[0]?.requested ?? 0),
    checkpointsTimed: Number(ckpt.rows[0]?.timed ?? 0),
  };
}

/** The server's major version (`server_version_num` / 10000). */
export async function serverMajor(client: Client): Promise<number> {
  const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  const major = Math.floor(Number(rows[0]?.v) / 10000);
  if (!Number.isInteger(major) || major < 10)
    throw new Error(`server_version_num is ${String(rows[0]?.v)}: not a PostgreSQL 10+ version number`);
  return major;
}

/** The postmaster's pid when the server runs on this machine (the parent of this session's backend), else undefined. */
export async function postmasterPid(client: Client): Promise<number | undefined> {
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const pid = rows[0]?.pid;
  if (pid === undefined) return undefined;
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const ppid = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[1]);
    // The backend must really be a postgres process (the server could be remote with a colliding pid).
    const comm = fs.readFileSync(`/proc/${ppid}/comm`, "utf8").trim();
    return comm.startsWith("postgres") ? ppid : undefined;
  } catch {
    return undefined;
  }
}
