/**
 * The bootstrap SQL on real PostgreSQL servers with pg_partman (its background worker running), pgmq and
 * pg_stat_statements, the whole suite once per installation:
 * - Debian's PostgreSQL 15 with pg_partman from apt (postgresql-15-partman, 4.7.2 on Debian 12) and pgmq
 *   built from source (see docs/queue.md);
 * - every server bin directory listed in DUCKLAKE_EXTRA_PG_BIN_DIRS (colon-separated, e.g.
 *   `DUCKLAKE_EXTRA_PG_BIN_DIRS=/opt/pg17/bin npx jest test/queue/queue.integration.test.ts`), on that
 *   installation's own major (e.g. PostgreSQL 17 with pg_partman 5.x, what the stacks deploy).
 * An installation without PostgreSQL 15–18, pg_partman, its background worker, pgmq or
 * pg_stat_statements is a skipped describe whose title names what is missing. Each server runs on a
 * free loopback port, one after the other.
 */
import * as fs from "fs";
import { Client } from "pg";
import { parseStackConfig } from "../../components/stack";
import type { QueuesConfig } from "../../config/queues";
import { generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import {
  METRICS_EXACT_COUNT_LIMIT,
  MONITORING_OBJECTS,
  monitoringMetricsYaml,
  QUEUE_DEPTH_COLUMNS,
} from "../../components/queue/monitoring";
import { planRunway, validateQueues } from "../../components/queue/runway";
import type { LocalPostgres, PostgresBinaries } from "../../scripts/lib/local-postgres";
import {
  installationTitle as title,
  queueInstallations,
  runInTransaction,
  startQueueServer,
  type Installation,
} from "../helpers/queue-installations";
import { readDucklakeConfig } from "../helpers/stack-files";
import { parse } from "yaml";

jest.setTimeout(180_000);

const BGW_INTERVAL_SECONDS = 1;
const OWNER = "lineage_owner";
const APP = "lineage_app";
/** The stacks' database (postgres.database's default, the seed guide's pg_partman_bgw.dbname). */
const DATABASE = "ducklakedb";

const installations: Installation[] = queueInstallations();

/** Test queues: small partitions so a few thousand messages cross several of them. */
function testQueues(): QueuesConfig {
  const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
  return {
    ...config.queues,
    definitions: [
      // 2,000 msgs/s x 1 s x 3 = 6,000 -> derived interval 2,000, premake 4 (runway 8,000)
      {
        name: "lineage_events",
        peakRateMsgsPerSecond: 2000,
        retentionMessages: 1_000_000,
        visibilityTimeoutSeconds: 30,
        deduplicationWindowSeconds: 300,
        fifoGroups: false,
        deadLetter: { queue: "lineage_events_dlq", maxDeliveries: 3, retentionHours: 336 },
      },
    ],
  };
}

function bootstrapSql(queues: QueuesConfig, database: string, majorVersion: number): string {
  return generateBootstrapSql({
    queues,
    maintenancePeriodSeconds: BGW_INTERVAL_SECONDS,
    database,
    ownerRole: OWNER,
    appRole: APP,
    majorVersion,
  });
}

/** Runs SQL in one transaction (the bootstrap Job's way). */
const run = runInTransaction;

/**
 * What the bootstrap controls, as comparable text.
 * @param rowVersions also the row versions (xmin) of partman.part_config: unchanged when nothing
 *   rewrote the rows. Only meaningful where pg_partman's own maintenance leaves them alone (see
 *   `stampsMaintenanceRuns`).
 */
async function catalogState(client: Client, rowVersions: boolean): Promise<string> {
  const r = await client.query(`
    SELECT json_build_object(
      'tables', (SELECT json_agg(json_build_object('t', c.oid::regclass::text, 'o', c.reloptions, 'acl', c.relacl::text[], 'owner', c.relowner::regrole::text) ORDER BY c.oid::regclass::text)
                   FROM pg_class c WHERE c.relnamespace IN ('pgmq'::regnamespace, 'partman'::regnamespace, 'ops'::regnamespace) AND c.relkind IN ('r', 'p', 'v')),
      'part_config', (SELECT json_agg(p ORDER BY p.parent_table) FROM (SELECT parent_table, partition_interval, premake, retention, retention_keep_table FROM partman.part_config) p),
      'routes', (SELECT json_agg(r ORDER BY r.queue_name) FROM ops.dead_letter_routes r)${
        rowVersions
          ? `,
      -- the converging UPDATEs write only when something differs
      'part_config_xmin', (SELECT json_agg(xmin::text ORDER BY parent_table) FROM partman.part_config)`
          : ""
      }
    )::text AS s`);
  return r.rows[0].s as string;
}

/**
 * Whether pg_partman stamps `part_config.maintenance_last_run` (5.1.0 and later): its
 * run_maintenance() then updates every partition set's row on each run, the worker's (every
 * pg_partman_bgw.interval) as the bootstrap's own (pg_partman sql/functions/run_maintenance.sql;
 * CHANGELOG 5.1.0), so the rows' versions change whatever the bootstrap does.
 */
async function stampsMaintenanceRuns(client: Client): Promise<boolean> {
  const r =
    await client.query(`SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'partman.part_config'::regclass
                                  AND attname = 'maintenance_last_run' AND NOT attisdropped) AS e`);
  return r.rows[0].e as boolean;
}

/**
 * Runs the bootstrap's converging statements (pg_partman config, storage parameters) alone in a
 * transaction that is rolled back.
 * @returns the transaction id they took, or null when they wrote nothing.
 */
async function convergingStatementsXid(client: Client, sql: string): Promise<string | null> {
  const statements = sql
    .split("\n")
    .filter((l) => /^SELECT ops\.(converge_partition_config|apply_queue_storage_parameters)\(/.test(l));
  expect(statements.length).toBeGreaterThan(0);
  await client.query("BEGIN");
  try {
    for (const s of statements) await client.query(s);
    return (await client.query("SELECT pg_current_xact_id_if_assigned()::text AS xid")).rows[0].xid as string | null;
  } finally {
    await client.query("ROLLBACK");
  }
}

// The skip reason is in the title, so it shows in every jest report, not only when this file runs alone.
for (const inst of installations) {
  if (inst.why !== undefined)
    console.warn(`SKIPPED test/queue/integration${inst === installations[0] ? "" : ` (${inst.name})`}: ${inst.why}`);
  (inst.why === undefined ? describe : describe.skip)(title(inst), () => suite(inst));
}

/** The whole suite on one installation (only called with binaries when it can run). */
function suite(inst: Installation): void {
  let pg: LocalPostgres;
  let admin: Client;
  let dataDir = "";
  const queues = testQueues();
  const binaries = (): PostgresBinaries => {
    if (inst.binaries === undefined) throw new Error(`no binaries: ${inst.why ?? ""}`);
    return inst.binaries;
  };
  // Everything version-dependent (the bootstrap's major check, checkpoint views, metrics) follows the server.
  const major = (): number => binaries().major;

  beforeAll(async () => {
    ({ pg, dataDir } = await startQueueServer(binaries(), {
      prefix: "ducklake-queue-it",
      database: DATABASE,
      owner: OWNER,
      bgwIntervalSeconds: BGW_INTERVAL_SECONDS,
    }));
    admin = new Client({ connectionString: pg.url() });
    await admin.connect();
  });

  /**
   * Empties a queue between tests with DELETE, not pgmq.purge_queue: purge_queue TRUNCATEs, whose
   * exclusive locks on every partition can deadlock with pg_partman's worker (seen: "deadlock detected").
   */
  async function emptyQueue(name: string): Promise<void> {
    await admin.query(`DELETE FROM pgmq.${"q_" + name}`);
  }

  afterAll(async () => {
    await admin?.end();
    await pg?.stop();
    if (dataDir !== "") fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("bootstraps; a second run changes nothing and raises nothing", async () => {
    const sql = bootstrapSql(queues, DATABASE, major());
    await run(admin, sql);
    // pg_partman 5.1+ rewrites part_config rows on every maintenance run (maintenance_last_run), so
    // there the row versions say nothing about the bootstrap; the converging statements are checked
    // directly below, on every version.
    const rowVersions = !(await stampsMaintenanceRuns(admin));
    const first = await catalogState(admin, rowVersions);
    const warnings: string[] = [];
    const onNotice = (n: { severity?: string; message?: string }) => {
      if (n.severity !== "NOTICE") warnings.push(`${n.severity}: ${n.message}`);
    };
    admin.on("notice", onNotice);
    await run(admin, sql);
    admin.off("notice", onNotice);
    expect(warnings).toEqual([]);
    expect(await catalogState(admin, rowVersions)).toBe(first);
    // The converging UPDATE and ALTER TABLEs write only when something differs: alone, they take no transaction id.
    expect(await convergingStatementsXid(admin, sql)).toBeNull();
    const cfg = await admin.query(
      "SELECT parent_table, partition_interval, premake FROM partman.part_config ORDER BY 1",
    );
    expect(cfg.rows).toEqual([
      { parent_table: "pgmq.a_lineage_events", partition_interval: "2000", premake: 4 },
      { parent_table: "pgmq.q_lineage_events", partition_interval: "2000", premake: 4 },
    ]);
  });

  test("a partition a superuser made by hand-run maintenance goes back to the owner on the next bootstrap, and the worker's maintenance works again", async () => {
    // As a superuser (an operator creating a partition by hand, as maintenance would): pg_partman
    // (inherit_privileges off) leaves the new partition owned by the superuser.
    await admin.query("SELECT partman.create_partition_id('pgmq.q_lineage_events', ARRAY[900000]::bigint[])");
    const foreign = async (): Promise<string[]> =>
      (
        await admin.query(`SELECT c.oid::regclass::text AS t FROM pg_class c WHERE c.relnamespace = 'pgmq'::regnamespace
                            AND c.relkind IN ('r', 'p', 'S') AND c.relowner <> '${OWNER}'::regrole ORDER BY 1`)
      ).rows.map((r) => r.t as string);
    expect((await foreign()).length).toBeGreaterThan(0);
    await run(admin, bootstrapSql(queues, DATABASE, major()));
    expect(await foreign()).toEqual([]);
    // The worker's role can now maintain (read and drop) every partition.
    await admin.query(`SET ROLE ${OWNER}`);
    try {
      await admin.query("SELECT partman.run_maintenance(p_parent_table := 'pgmq.q_lineage_events', p_jobmon := false)");
      // Leave the queue as the later cases expect it (no partition far ahead).
      await admin.query("DROP TABLE pgmq.q_lineage_events_p900000");
    } finally {
      await admin.query("RESET ROLE");
    }
  });

  test("a changed config converges (premake, retention, storage parameters)", async () => {
    const changed: QueuesConfig = {
      ...queues,
      definitions: [{ ...queues.definitions[0]!, premake: 6, retentionMessages: 2_000_000 }],
      tableAutovacuum: {
        ...queues.tableAutovacuum,
        overrides: { autovacuum_vacuum_threshold: { value: 250, reason: "fewer vacuums of a queue with few updates" } },
      },
    };
    expect(queues.tableAutovacuum.seed.autovacuum_vacuum_threshold).toBe(5); // the guide's, overridden above
    // The no-write check of the first case is not vacuous: a changed config's converging statements do write.
    expect(await convergingStatementsXid(admin, bootstrapSql(changed, DATABASE, major()))).not.toBeNull();
    await run(admin, bootstrapSql(changed, DATABASE, major()));
    const cfg = await admin.query(
      "SELECT premake, retention FROM partman.part_config WHERE parent_table = 'pgmq.q_lineage_events'",
    );
    expect(cfg.rows[0]).toEqual({ premake: 6, retention: "2000000" });
    const opts = await admin.query("SELECT reloptions FROM pg_class WHERE oid = 'pgmq.q_lineage_events_p0'::regclass");
    expect(opts.rows[0].reloptions).toContain("autovacuum_vacuum_threshold=250");
    await run(admin, bootstrapSql(queues, DATABASE, major())); // back
    const back = await admin.query("SELECT reloptions FROM pg_class WHERE oid = 'pgmq.q_lineage_events_p0'::regclass");
    expect(back.rows[0].reloptions).toContain("autovacuum_vacuum_threshold=5");
    expect(back.rows[0].reloptions).not.toContain("autovacuum_vacuum_threshold=250");
  });

  test("messages cross several partitions with the partition maintenance running every second (what the CronJob runs) beside pg_partman's worker: nothing in a default partition; new partitions carry the storage parameters", async () => {
    const plan = planRunway(queues.definitions[0]!, BGW_INTERVAL_SECONDS, queues.runwaySafetyFactor);
    const total = plan.partitionInterval * 8; // 16,000 messages: 8 partitions, twice the premade runway
    const batch = 250;
    const maint = new Client({ connectionString: pg.url().replace("postgres@", `${OWNER}@`) });
    await maint.connect();
    let sending = true;
    // the CronJob's call, every BGW_INTERVAL_SECONDS (the runway rule's period here)
    const maintaining = (async () => {
      while (sending) {
        await maint.query("CALL ops.run_partition_maintenance()");
        await new Promise((r) => setTimeout(r, BGW_INTERVAL_SECONDS * 1000));
      }
    })();
    try {
      // at most the configured peak: 250 messages every 125 ms = 2,000 msgs/s
      for (let sent = 0; sent < total; sent += batch) {
        const started = Date.now();
        await admin.query(
          "SELECT pgmq.send_batch('lineage_events', (SELECT array_agg(jsonb_build_object('i', g)) FROM generate_series(1, $1) g))",
          [batch],
        );
        await new Promise((r) => setTimeout(r, Math.max(0, 125 - (Date.now() - started))));
      }
    } finally {
      sending = false;
      await maintaining;
      await maint.end();
    }
    const defaults = await admin.query("SELECT parent_table, row_count FROM ops.default_partition_rows()");
    expect(defaults.rows.map((r) => Number(r.row_count))).toEqual([0, 0]);
    const leaves = await admin.query(
      `SELECT c.relname, c.reloptions FROM pg_partition_tree('pgmq.q_lineage_events') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf`,
    );
    // created by the maintenance after the bootstrap: beyond the initial premake
    const later = leaves.rows.filter(
      (r) =>
        /_p(\d+)$/.test(r.relname) && Number(/_p(\d+)$/.exec(r.relname)![1]) > plan.partitionInterval * plan.premake,
    );
    expect(later.length).toBeGreaterThanOrEqual(3);
    // The seed guide's "Queue-Specific Table Tuning", on every leaf (the bootstrap's and the maintenance's).
    const guide = [
      "autovacuum_vacuum_threshold=5",
      "autovacuum_vacuum_scale_factor=0.001",
      "autovacuum_analyze_scale_factor=0.0005",
      "autovacuum_vacuum_cost_limit=10000",
    ];
    for (const r of leaves.rows)
      expect({ leaf: r.relname, o: (r.reloptions as string[] | null) ?? [] }).toEqual({
        leaf: r.relname,
        o: expect.arrayContaining(guide),
      });
    const depth = await admin.query(
      "SELECT queue_length, total_messages_sent FROM ops.queue_depth() WHERE queue_name = 'lineage_events'",
    );
    expect(Number(depth.rows[0].queue_length)).toBe(total);
    // pgmq.metrics' total_messages (the msg_id sequence) is what ops.queue_depth calls total_messages_sent
    const metrics = await admin.query("SELECT queue_length, total_messages FROM pgmq.metrics('lineage_events')");
    expect(Number(metrics.rows[0].queue_length)).toBe(total);
    expect(depth.rows[0].total_messages_sent).toBe(metrics.rows[0].total_messages);
    await emptyQueue("lineage_events");
  });

  test("a poison message reaches the DLQ after maxDeliveries reads; every message is accounted for", async () => {
    const app = new Client({ connectionString: pg.url().replace("postgres@", `${APP}@`) });
    await app.connect();
    try {
      const n = 200;
      const sent = await app.query(
        "SELECT pgmq.send_batch('lineage_events', (SELECT array_agg(jsonb_build_object('i', g, 'poison', g % 20 = 0)) FROM generate_series(1, $1) g)) AS id",
        [n],
      );
      const ids = new Set(sent.rows.map((r) => String(r.id)));
      const consumed = new Set<string>();
      for (let round = 0; round < 20; round++) {
        const got = await app.query("SELECT * FROM ops.read_with_dlq('lineage_events', 0, 50)");
        for (const m of got.rows) {
          if (m.message.poison) continue; // a failing consumer: never deletes it
          expect(consumed.has(String(m.msg_id))).toBe(false);
          consumed.add(String(m.msg_id));
          await app.query("SELECT pgmq.delete('lineage_events', $1::bigint)", [m.msg_id]);
        }
        if (got.rowCount === 0) break;
      }
      const dlq = await app.query("SELECT message, headers FROM pgmq.q_lineage_events_dlq ORDER BY msg_id");
      expect(dlq.rowCount).toBe(n / 20);
      for (const d of dlq.rows) {
        expect(d.message.poison).toBe(true);
        expect(d.headers.dead_letter).toMatchObject({ source_queue: "lineage_events", read_ct: 3, max_deliveries: 3 });
      }
      const dead = new Set(dlq.rows.map((d) => String(d.headers.dead_letter.source_msg_id)));
      expect(consumed.size + dead.size).toBe(n);
      expect([...consumed, ...dead].every((id) => ids.has(id))).toBe(true);
      const left = await app.query("SELECT count(*)::int AS c FROM pgmq.q_lineage_events");
      expect(left.rows[0].c).toBe(0);
    } finally {
      await app.end();
    }
  });

  test("two consumers in open transactions never share a message, and a dead letter is moved once, by the consumer that picked it", async () => {
    const url = pg.url().replace("postgres@", `${APP}@`);
    const a = new Client({ connectionString: url });
    const b = new Client({ connectionString: url });
    await a.connect();
    await b.connect();
    try {
      await emptyQueue("lineage_events");
      await emptyQueue("lineage_events_dlq");
      const sent = await a.query(
        "SELECT pgmq.send_batch('lineage_events', (SELECT array_agg(jsonb_build_object('i', g)) FROM generate_series(1, 20) g)) AS id",
      );
      const ids = sent.rows.map((r) => String(r.id));
      // Messages 1-10 have used up their deliveries (the route's maxDeliveries is 3): the next pick moves them.
      await admin.query("UPDATE pgmq.q_lineage_events SET read_ct = 3 WHERE msg_id = ANY ($1::bigint[])", [
        ids.slice(0, 10),
      ]);
      await a.query("BEGIN");
      await b.query("BEGIN");
      const gotA = await a.query("SELECT msg_id FROM ops.read_with_dlq('lineage_events', 30, 15)");
      // A picked 1-15 and holds their row locks: B gets only what A did not pick, dead or not.
      const gotB = await b.query("SELECT msg_id FROM ops.read_with_dlq('lineage_events', 30, 15)");
      const aIds = gotA.rows.map((r) => String(r.msg_id));
      const bIds = gotB.rows.map((r) => String(r.msg_id));
      expect(aIds).toEqual(ids.slice(10, 15));
      expect(bIds).toEqual(ids.slice(15, 20));
      await b.query("COMMIT");
      // Before A commits, its dead letters are neither visible in the DLQ nor gone from the queue for others.
      const midway = await admin.query(
        "SELECT (SELECT count(*) FROM pgmq.q_lineage_events_dlq)::int AS dlq, (SELECT count(*) FROM pgmq.q_lineage_events)::int AS q",
      );
      expect(midway.rows[0]).toEqual({ dlq: 0, q: 20 });
      await a.query("COMMIT");
      const dlq = await admin.query(
        "SELECT headers->'dead_letter'->>'source_msg_id' AS src, (headers->'dead_letter'->>'read_ct')::int AS rc FROM pgmq.q_lineage_events_dlq ORDER BY msg_id",
      );
      expect(dlq.rows.map((r) => r.src)).toEqual(ids.slice(0, 10));
      expect(dlq.rows.every((r) => r.rc === 3)).toBe(true);
      const left = await admin.query("SELECT msg_id::text AS id, read_ct FROM pgmq.q_lineage_events ORDER BY msg_id");
      expect(left.rows).toEqual(ids.slice(10).map((id) => ({ id, read_ct: 1 })));
      // A limit below 1 would dead-letter messages never delivered: refused.
      await expect(
        a.query("SELECT * FROM ops.read_with_dlq('lineage_events', 30, 10, max_deliveries => 0)"),
      ).rejects.toThrow(/max_deliveries is 0: it must be at least 1/);
      // A rolled-back read neither moves nor loses anything.
      await admin.query("UPDATE pgmq.q_lineage_events SET read_ct = 3, vt = now() - interval '1 second'");
      await a.query("BEGIN");
      const rolled = await a.query("SELECT msg_id FROM ops.read_with_dlq('lineage_events', 30, 100)");
      expect(rolled.rowCount).toBe(0);
      await a.query("ROLLBACK");
      const after = await admin.query(
        "SELECT (SELECT count(*) FROM pgmq.q_lineage_events_dlq)::int AS dlq, (SELECT count(*) FROM pgmq.q_lineage_events)::int AS q",
      );
      expect(after.rows[0]).toEqual({ dlq: 10, q: 10 });
    } finally {
      await a.query("ROLLBACK").catch(() => undefined);
      await b.query("ROLLBACK").catch(() => undefined);
      await a.end();
      await b.end();
      await emptyQueue("lineage_events");
      await emptyQueue("lineage_events_dlq");
    }
  });

  test("dead letters can be redriven by id, by age or all, back to their source queue with their history; a forged source is refused; the app role cannot redrive", async () => {
    const app = new Client({ connectionString: pg.url().replace("postgres@", `${APP}@`) });
    await app.connect();
    const owner = new Client({ connectionString: pg.url().replace("postgres@", `${OWNER}@`) });
    await owner.connect();
    try {
      await emptyQueue("lineage_events");
      await emptyQueue("lineage_events_dlq");
      const sent = await app.query(
        "SELECT pgmq.send_batch('lineage_events', (SELECT array_agg(jsonb_build_object('i', g)) FROM generate_series(1, 6) g)) AS id",
      );
      const ids = sent.rows.map((r) => Number(r.id));
      // Four reads with max_deliveries 3 dead-letter all six.
      for (let i = 0; i < 4; i++) await app.query("SELECT * FROM ops.read_with_dlq('lineage_events', 0, 10)");
      const dlq = await app.query("SELECT msg_id, headers FROM pgmq.q_lineage_events_dlq ORDER BY msg_id");
      expect(dlq.rows.map((r) => Number(r.headers.dead_letter.source_msg_id))).toEqual(ids);
      const depth = await app.query("SELECT * FROM ops.dead_letter_depth()");
      expect(depth.rows[0]).toMatchObject({ queue_name: "lineage_events", dead_letters: "6" });
      expect(depth.rows[0].oldest_dead_letter_age_seconds).toBeGreaterThanOrEqual(
        depth.rows[0].newest_dead_letter_age_seconds,
      );

      // The app role may read the dead letters but not move them.
      await expect(app.query("SELECT * FROM ops.redrive('lineage_events_dlq')")).rejects.toThrow(/permission denied/);

      // By id: two of them, as new visible messages with read_ct 0 and the dead-letter history.
      const dlqIds = dlq.rows.map((r) => Number(r.msg_id));
      const byId = await owner.query("SELECT * FROM ops.redrive('lineage_events_dlq', $1::bigint[])", [
        dlqIds.slice(0, 2),
      ]);
      expect(byId.rows.map((r) => [Number(r.dead_letter_msg_id), r.source_queue])).toEqual([
        [dlqIds[0], "lineage_events"],
        [dlqIds[1], "lineage_events"],
      ]);
      const back = await app.query(
        "SELECT msg_id, read_ct, message, headers FROM pgmq.q_lineage_events ORDER BY msg_id",
      );
      expect(back.rows).toHaveLength(2);
      for (const m of back.rows) {
        expect(m.read_ct).toBe(0);
        expect(m.headers.dead_letter).toBeUndefined();
        expect(m.headers.redrives).toHaveLength(1);
        expect(m.headers.redrives[0]).toMatchObject({ source_queue: "lineage_events", max_deliveries: 3 });
      }
      expect(back.rows.map((m) => Number(m.headers.redrives[0].source_msg_id))).toEqual(ids.slice(0, 2));

      // Fails again: dead-lettered a second time, then redriven all: two entries of history.
      for (let i = 0; i < 4; i++) await app.query("SELECT * FROM ops.read_with_dlq('lineage_events', 0, 10)");
      // By age: nothing is older than an hour yet.
      expect(
        (await owner.query("SELECT * FROM ops.redrive('lineage_events_dlq', NULL, interval '1 hour')")).rowCount,
      ).toBe(0);
      // At most 3 now, then the rest.
      expect(
        (await owner.query("SELECT * FROM ops.redrive('lineage_events_dlq', NULL, interval '0 seconds', 3)")).rowCount,
      ).toBe(3);
      expect((await owner.query("SELECT * FROM ops.redrive('lineage_events_dlq')")).rowCount).toBe(3);
      const all = await app.query("SELECT headers FROM pgmq.q_lineage_events ORDER BY msg_id");
      expect(all.rows.map((r) => r.headers.redrives.length).sort()).toEqual([1, 1, 1, 1, 2, 2]);
      expect((await app.query("SELECT count(*)::int AS n FROM pgmq.q_lineage_events_dlq")).rows[0].n).toBe(0);

      // A dead letter whose header names a queue this DLQ does not serve: the whole call is refused.
      await admin.query(
        `INSERT INTO pgmq.q_lineage_events_dlq (vt, message, headers) VALUES (now(), '{}', '{"dead_letter": {"source_queue": "meta"}}')`,
      );
      await expect(owner.query("SELECT * FROM ops.redrive('lineage_events_dlq')")).rejects.toThrow(
        /names source queue meta, which ops.dead_letter_routes does not route to it; nothing was redriven/,
      );
      await expect(owner.query("SELECT * FROM ops.redrive('lineage_events')")).rejects.toThrow(
        /is not a dead-letter queue/,
      );
    } finally {
      await emptyQueue("lineage_events");
      await emptyQueue("lineage_events_dlq");
      await app.end();
      await owner.end();
    }
  });

  test("dead letters past their retention are deleted by the partition maintenance; younger ones stay", async () => {
    try {
      await emptyQueue("lineage_events_dlq");
      await admin.query(
        `INSERT INTO pgmq.q_lineage_events_dlq (vt, enqueued_at, message, headers)
         SELECT now(), now() - make_interval(hours => h), jsonb_build_object('h', h), '{}'::jsonb FROM unnest(ARRAY[1, 300, 400, 500]) h`,
      );
      await admin.query(`SET ROLE ${OWNER}`);
      await admin.query("CALL ops.run_partition_maintenance()");
      await admin.query("RESET ROLE");
      const left = await admin.query("SELECT (message->>'h')::int AS h FROM pgmq.q_lineage_events_dlq ORDER BY 1");
      expect(left.rows.map((r) => r.h)).toEqual([1, 300]); // retentionHours 336
    } finally {
      await admin.query("RESET ROLE");
      await emptyQueue("lineage_events_dlq");
    }
  });

  test("keyed sends: a key sent again within the window enqueues nothing and returns the first msg_id, also when two sends race; after the window it sends again; keys expire", async () => {
    const url = pg.url().replace("postgres@", `${APP}@`);
    const a = new Client({ connectionString: url });
    const b = new Client({ connectionString: url });
    await a.connect();
    await b.connect();
    try {
      await emptyQueue("lineage_events");
      const first = await a.query(
        "SELECT * FROM ops.send_idempotent('lineage_events', 'run-1/START', '{\"eventType\":\"START\"}', '{\"source\": \"x\"}')",
      );
      expect(first.rows[0].duplicate).toBe(false);
      const seq = "SELECT last_value FROM pgmq.q_lineage_events_msg_id_seq";
      const before = (await admin.query(seq)).rows[0].last_value;
      const again = await a.query(
        "SELECT * FROM ops.send_idempotent('lineage_events', 'run-1/START', '{\"other\":1}')",
      );
      expect(again.rows[0]).toEqual({ msg_id: first.rows[0].msg_id, duplicate: true });
      // a duplicate is not a send: the sequence (pgmq's total_messages) does not move
      expect((await admin.query(seq)).rows[0].last_value).toBe(before);
      const stored = await a.query("SELECT msg_id, message, headers FROM pgmq.q_lineage_events");
      expect(stored.rows).toEqual([
        {
          msg_id: first.rows[0].msg_id,
          message: { eventType: "START" },
          headers: { source: "x", idempotency_key: "run-1/START" },
        },
      ]);

      // Two producers send the same key in open transactions: the second waits for the first, then sees its msg_id.
      await a.query("BEGIN");
      await b.query("BEGIN");
      const ra = await a.query("SELECT * FROM ops.send_idempotent('lineage_events', 'run-2/START', '{}')");
      const rbPromise = b.query("SELECT * FROM ops.send_idempotent('lineage_events', 'run-2/START', '{}')");
      await new Promise((r) => setTimeout(r, 200));
      await a.query("COMMIT");
      const rb = await rbPromise;
      await b.query("COMMIT");
      expect(rb.rows[0]).toEqual({ msg_id: ra.rows[0].msg_id, duplicate: true });
      // A send that rolls back leaves no key: the retry enqueues.
      await a.query("BEGIN");
      await a.query("SELECT * FROM ops.send_idempotent('lineage_events', 'run-3/START', '{}')");
      await a.query("ROLLBACK");
      expect(
        (await a.query("SELECT * FROM ops.send_idempotent('lineage_events', 'run-3/START', '{}')")).rows[0].duplicate,
      ).toBe(false);
      expect((await a.query("SELECT count(*)::int AS n FROM pgmq.q_lineage_events")).rows[0].n).toBe(3);

      // The app role cannot write the keys directly, nor send keyed to a queue without a window.
      await expect(a.query("DELETE FROM ops.idempotency_keys")).rejects.toThrow(/permission denied/);
      await expect(a.query("SELECT * FROM ops.send_idempotent('lineage_events_dlq', 'k', '{}')")).rejects.toThrow(
        /takes no keyed sends/,
      );

      // After the window the key sends again; the maintenance purges expired keys.
      await admin.query("UPDATE ops.deduplication_windows SET window_seconds = 1 WHERE queue_name = 'lineage_events'");
      await new Promise((r) => setTimeout(r, 1_100));
      expect(
        (await a.query("SELECT * FROM ops.send_idempotent('lineage_events', 'run-1/START', '{}')")).rows[0].duplicate,
      ).toBe(false);
      await new Promise((r) => setTimeout(r, 1_100));
      await admin.query(`SET ROLE ${OWNER}`);
      await admin.query("CALL ops.run_partition_maintenance()");
      await admin.query("RESET ROLE");
      expect((await admin.query("SELECT count(*)::int AS n FROM ops.idempotency_keys")).rows[0].n).toBe(0);
    } finally {
      await admin.query("RESET ROLE");
      await admin.query(
        "UPDATE ops.deduplication_windows SET window_seconds = 300 WHERE queue_name = 'lineage_events'",
      );
      await emptyQueue("lineage_events");
      await a.end();
      await b.end();
    }
  });

  test("the app role can use its queues but cannot drop, alter or truncate them or create queues", async () => {
    const app = new Client({ connectionString: pg.url().replace("postgres@", `${APP}@`) });
    await app.connect();
    try {
      const id = await app.query("SELECT * FROM pgmq.send('lineage_events', '{\"ok\":true}')");
      await app.query("SELECT pgmq.archive('lineage_events', $1::bigint)", [id.rows[0].send]);
      for (const stmt of [
        "DROP TABLE pgmq.q_lineage_events",
        "ALTER TABLE pgmq.q_lineage_events ADD COLUMN x int",
        "TRUNCATE pgmq.q_lineage_events",
        "SELECT pgmq.create('rogue')",
        "SELECT pgmq.drop_queue('lineage_events')",
        "SELECT partman.run_maintenance()",
      ]) {
        await expect(app.query(stmt)).rejects.toThrow(/must be owner|permission denied/);
      }
    } finally {
      await app.end();
    }
  });

  test("the app role changes rows only through the PGMQ API: the five direct-DML bypasses are refused, every API call it needs works", async () => {
    const app = new Client({ connectionString: pg.url().replace("postgres@", `${APP}@`) });
    await app.connect();
    try {
      // the API, as a producer and a consumer use it
      const one = Number((await app.query("SELECT * FROM pgmq.send('lineage_events', '{\"n\":1}')")).rows[0].send);
      const batch = (
        await app.query(
          "SELECT * FROM pgmq.send_batch('lineage_events', ARRAY['{\"n\":2}','{\"n\":3}','{\"n\":4}']::jsonb[])",
        )
      ).rows.map((r: { send_batch: string }) => Number(r.send_batch));
      expect(batch).toHaveLength(3);
      const read = await app.query("SELECT msg_id FROM pgmq.read('lineage_events', 30, 2)");
      expect(read.rows).toHaveLength(2);
      // pgmq >= 1.8 also has set_vt(text, bigint[], integer) (pgmq--1.7.1--1.8.0.sql): an untyped id is ambiguous
      await app.query("SELECT * FROM pgmq.set_vt('lineage_events', $1::bigint, 0)", [one]);
      await app.query("SELECT * FROM pgmq.read_with_poll('lineage_events', 30, 1, 1, 100)");
      await app.query("SELECT pgmq.archive('lineage_events', $1::bigint)", [batch[0]]);
      await app.query("SELECT pgmq.delete('lineage_events', $1::bigint[])", [[batch[1]]]);
      await app.query("SELECT * FROM pgmq.pop('lineage_events')");
      await app.query("SELECT * FROM pgmq.metrics('lineage_events')");
      await app.query("SELECT * FROM pgmq.metrics_all()");
      await app.query("SELECT * FROM pgmq.list_queues()");
      await app.query("SELECT * FROM ops.read_with_dlq('lineage_events', 30, 1)");
      // the five bypasses the issue measured, each refused
      for (const stmt of [
        "DELETE FROM pgmq.q_lineage_events",
        "UPDATE pgmq.q_lineage_events SET read_ct = 0",
        "UPDATE pgmq.q_lineage_events SET message = '{}'",
        "INSERT INTO pgmq.q_lineage_events (msg_id, vt, message) OVERRIDING SYSTEM VALUE VALUES (999999999, now(), '{}')",
        "INSERT INTO pgmq.a_lineage_events (msg_id, vt, message) VALUES (999999999, now(), '{}')",
        "UPDATE pgmq.a_lineage_events SET message = '{}'",
        "DELETE FROM pgmq.a_lineage_events",
        "SELECT msg_id FROM pgmq.q_lineage_events FOR UPDATE",
        "SELECT pgmq.purge_queue('lineage_events')",
        "SELECT pgmq.detach_archive('lineage_events')",
        "SELECT pgmq.create_partitioned('rogue', '10000', '100000')",
      ]) {
        await expect(app.query(stmt)).rejects.toThrow(/permission denied|must be owner/);
      }
      // queue names cannot break out of the table name (pgmq.format_table_name and format('%I'))
      for (const name of [
        "lineage_events; DROP TABLE pgmq.meta; --",
        "x' OR '1'='1",
        'lineage_events" ; --',
        "../meta",
        "meta",
      ]) {
        await expect(app.query("SELECT * FROM pgmq.send($1, '{}')", [name])).rejects.toThrow();
      }
      expect((await admin.query("SELECT to_regclass('pgmq.meta') IS NOT NULL AS ok")).rows[0].ok).toBe(true);
      // other roles (PUBLIC) lost EXECUTE on the definer functions
      await admin.query(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stranger') THEN CREATE ROLE stranger LOGIN; END IF; END $$",
      );
      await admin.query(`GRANT CONNECT ON DATABASE ${DATABASE} TO stranger`);
      await admin.query("GRANT USAGE ON SCHEMA pgmq TO stranger");
      const stranger = new Client({ connectionString: pg.url().replace("postgres@", "stranger@") });
      await stranger.connect();
      try {
        await expect(stranger.query("SELECT * FROM pgmq.send('lineage_events', '{}')")).rejects.toThrow(
          /permission denied for function send/,
        );
        await expect(stranger.query("SELECT pgmq.delete('lineage_events', 1::bigint)")).rejects.toThrow(
          /permission denied for function delete/,
        );
      } finally {
        await stranger.end();
      }
    } finally {
      await app.end();
      await emptyQueue("lineage_events");
    }
  });

  test("a real client, pgmq-js, works unchanged as the app role", async () => {
    const { Pgmq } = await import("pgmq-js");
    const url = new URL(pg.url());
    const pgmq = await Pgmq.new(
      { host: url.hostname, port: Number(url.port), database: DATABASE, user: APP, password: "", ssl: false },
      { skipExtensionCreation: false },
    );
    try {
      const id = await pgmq.msg.send("lineage_events", { eventType: "START" });
      const ids = await pgmq.msg.sendBatch("lineage_events", [{ eventType: "RUNNING" }, { eventType: "COMPLETE" }]);
      const got = await pgmq.msg.readBatch<{ eventType: string }>("lineage_events", 30, 10);
      expect(got.map((m) => m.msgId).sort((a, b) => a - b)).toEqual([id, ...ids].sort((a, b) => a - b));
      expect(await pgmq.msg.archive("lineage_events", id)).toBe(true);
      expect(await pgmq.msg.deleteBatch("lineage_events", ids)).toEqual(ids);
      expect((await pgmq.queue.getMetrics("lineage_events")).queueLength).toBe(0);
      expect((await pgmq.queue.list()).map((q) => q.name)).toContain("lineage_events");
      await expect(pgmq.queue.drop("lineage_events")).rejects.toThrow();
    } finally {
      await pgmq.close();
    }
  });

  test(`monitoring: every ops object (${MONITORING_OBJECTS.map((o) => o.name).join(", ")}) and every custom metrics query runs as a member of pg_monitor only, in a read-only transaction`, async () => {
    await admin.query(
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metrics_reader') THEN CREATE ROLE metrics_reader LOGIN IN ROLE pg_monitor; END IF; END $$",
    );
    const m = new Client({ connectionString: pg.url().replace("postgres@", "metrics_reader@") });
    await m.connect();
    try {
      const who =
        await m.query(`SELECT rolsuper, (SELECT array_agg(b.rolname::text) FROM pg_auth_members am JOIN pg_roles b ON b.oid = am.roleid WHERE am.member = r.oid) AS member_of,
                                        pg_has_role('${OWNER}', 'USAGE') AS owner FROM pg_roles r WHERE rolname = current_user`);
      expect(who.rows[0]).toEqual({ rolsuper: false, member_of: ["pg_monitor"], owner: false });
      await admin.query("SELECT pgmq.send('lineage_events', '{\"probe\":true}')");
      for (const o of MONITORING_OBJECTS) {
        const res = await m.query(o.select).catch((e: Error) => {
          throw new Error(`${o.name}: ${e.message}`);
        });
        expect(res.fields.length).toBeGreaterThan(0);
      }
      // ops.queue_depth: queue_length is pgmq.metrics' queue_length (the depth), total_messages_sent its total_messages (the msg_id sequence)
      const depth = await m.query("SELECT * FROM ops.queue_depth() ORDER BY queue_name");
      expect(depth.fields.map((f) => f.name)).toEqual(QUEUE_DEPTH_COLUMNS.map(([n]) => n));
      const metrics = await m.query(
        "SELECT queue_name, queue_length, total_messages FROM pgmq.metrics_all() ORDER BY queue_name",
      );
      expect(depth.rows.map((r) => [r.queue_name, r.queue_length, r.total_messages_sent])).toEqual(
        metrics.rows.map((r) => [r.queue_name, r.queue_length, r.total_messages]),
      );
      await admin.query("DELETE FROM pgmq.q_lineage_events");
      const queries = parse(monitoringMetricsYaml(major(), queues)) as Record<
        string,
        { query: string; predicate_query: string }
      >;
      for (const [name, q] of Object.entries(queries)) {
        await m.query("BEGIN READ ONLY");
        await m.query("SET LOCAL search_path = pg_catalog, public, pg_temp");
        const pred = await m.query(q.predicate_query);
        expect(Object.values(pred.rows[0])[0]).toBe(true);
        expect((await m.query("SHOW statement_timeout")).rows[0].statement_timeout).toBe("5s");
        const res = await m.query(q.query).catch((e: Error) => {
          throw new Error(`${name}: ${e.message}`);
        });
        expect(res.fields.length).toBeGreaterThan(0);
        await m.query("COMMIT");
      }
    } finally {
      await m.end();
    }
  });

  test("oldest_unread_wait_seconds is how long the next message to be read has been readable: read (in-flight) and delayed messages are skipped, 0 when none waits, -1 when the bound holds only in-flight messages of a deeper queue", async () => {
    const wait = async (queue: string): Promise<number> =>
      Number(
        (
          await admin.query("SELECT oldest_unread_wait_seconds AS w FROM ops.queue_depth() WHERE queue_name = $1", [
            queue,
          ])
        ).rows[0].w,
      );
    // one transaction, rolled back: now() stands still, so the waits are exact
    await admin.query("BEGIN");
    try {
      await admin.query("DELETE FROM pgmq.q_lineage_events");
      const send = async (delaySeconds: number): Promise<number> =>
        Number(
          (await admin.query("SELECT pgmq.send('lineage_events', '{}'::jsonb, $1::integer) AS id", [delaySeconds]))
            .rows[0].id,
        );
      const [a, b] = [await send(0), await send(0)];
      await send(60); // delayed: readable only in a minute
      expect(await wait("lineage_events")).toBe(0); // sent after now(): not readable yet at the scrape's instant
      await admin.query("UPDATE pgmq.q_lineage_events SET vt = now() - interval '5 seconds' WHERE msg_id = $1", [a]);
      await admin.query("UPDATE pgmq.q_lineage_events SET vt = now() - interval '2 seconds' WHERE msg_id = $1", [b]);
      expect(await wait("lineage_events")).toBe(5); // a, the first readable one
      const read = await admin.query("SELECT msg_id FROM pgmq.read('lineage_events', 30, 1)");
      expect(Number(read.rows[0].msg_id)).toBe(a); // the read takes the message the metric waited on
      expect(await wait("lineage_events")).toBe(2); // a is in flight: b is next
      await admin.query("SELECT * FROM pgmq.read('lineage_events', 30, 1)");
      expect(await wait("lineage_events")).toBe(0); // only the in-flight and the delayed messages are left
      // A queue deeper than the bound whose oldest METRICS_EXACT_COUNT_LIMIT + 1 messages are all in flight (the
      // dead-letter queue, a plain pgmq table): unknown, not 0.
      await admin.query(
        `INSERT INTO pgmq.q_lineage_events_dlq (vt, read_ct, message)
         SELECT now() + interval '1 hour', 1, '{}'::jsonb FROM generate_series(1, ${METRICS_EXACT_COUNT_LIMIT + 1})`,
      );
      await admin.query(
        "INSERT INTO pgmq.q_lineage_events_dlq (vt, message) VALUES (now() - interval '3 seconds', '{}'::jsonb)",
      );
      expect(await wait("lineage_events_dlq")).toBe(-1);
    } finally {
      await admin.query("ROLLBACK");
    }
  });

  test("monitoring a live queue as pg_monitor: a polling reader in ops.queue_workers, a consumer idle in its read's transaction, and the set_vt it blocks in ops.lock_waits", async () => {
    const url = pg.url().replace("postgres@", `${APP}@`);
    const [poller, consumer, operator] = [
      new Client({ connectionString: url }),
      new Client({ connectionString: url }),
      new Client({ connectionString: url }),
    ];
    const m = new Client({ connectionString: pg.url().replace("postgres@", "metrics_reader@") });
    for (const c of [poller, consumer, operator, m]) await c.connect();
    const pid = async (c: Client): Promise<number> =>
      (await c.query("SELECT pg_backend_pid() AS p")).rows[0].p as number;
    const until = async <T>(probe: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const v = await probe();
        if (done(v) || Date.now() > deadline) return v;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    let polling: Promise<unknown> | undefined;
    let blocked: Promise<unknown> | undefined;
    try {
      await emptyQueue("lineage_events");
      const [pollerPid, consumerPid, operatorPid] = [await pid(poller), await pid(consumer), await pid(operator)];
      const id = (await admin.query("SELECT pgmq.send('lineage_events', '{\"x\":1}') AS id")).rows[0].id as string;
      await consumer.query("BEGIN");
      const got = await consumer.query("SELECT msg_id FROM ops.read_with_dlq('lineage_events', 30, 1)");
      expect(got.rows.map((r) => String(r.msg_id))).toEqual([id]);
      // pgmq.read_with_poll on a queue with nothing visible: polls (pg_sleep) for 3 s
      polling = poller.query("SELECT * FROM pgmq.read_with_poll('lineage_events', 30, 1, 3, 100)");
      // the consumer's transaction holds the row: an operator's set_vt on it waits
      blocked = operator.query("SELECT * FROM pgmq.set_vt('lineage_events', $1::bigint, 0)", [id]);
      const waits = await until(
        async () => (await m.query("SELECT * FROM ops.lock_waits WHERE waiting_pid = $1", [operatorPid])).rows,
        (r) => r.length === 1 && r[0].waitstart !== null,
      );
      expect(waits).toHaveLength(1);
      expect(waits[0]).toMatchObject({ usename: APP, blocking_pids: [consumerPid] });
      expect(waits[0].relation).toMatch(/^pgmq\.q_lineage_events_p\d+$/);
      expect(waits[0].query).toContain("pgmq.set_vt");
      // The asking statement names a queue read (comment): not counted; the idle reader of an earlier test neither.
      const backends = await until(
        async () =>
          (
            await m.query(
              "SELECT pid, queue_function, state FROM ops.queue_worker_backends /* pgmq.read( */ ORDER BY queue_function",
            )
          ).rows,
        (r) => r.length === 2,
      );
      expect(backends).toEqual([
        { pid: consumerPid, queue_function: "ops.read_with_dlq", state: "idle in transaction" },
        { pid: pollerPid, queue_function: "pgmq.read_with_poll", state: "active" },
      ]);
      const workers = await m.query(
        "SELECT queue_function, workers::int AS w, idle_in_transaction::int AS t FROM ops.queue_workers",
      );
      expect(workers.rows.map((r) => [r.queue_function, r.w, r.t])).toEqual([
        ["ops.read_with_dlq", 0, 1],
        ["pgmq.pop", 0, 0],
        ["pgmq.read", 0, 0],
        ["pgmq.read_with_poll", 1, 0],
      ]);
    } finally {
      await consumer.query("ROLLBACK").catch(() => undefined);
      await Promise.allSettled([polling, blocked]);
      for (const c of [poller, consumer, operator, m]) await c.end();
      // DELETE, not pgmq.purge_queue: TRUNCATE's exclusive locks can deadlock with pg_partman's worker
      await admin.query("DELETE FROM pgmq.q_lineage_events");
    }
  });

  test("the seed guide's ALTER TABLE on the partitioned queue table is refused; the bootstrap's storage parameters are on its partitions", async () => {
    await expect(
      admin.query(
        "ALTER TABLE pgmq.q_lineage_events SET (autovacuum_vacuum_scale_factor = 0.001, autovacuum_vacuum_threshold = 5)",
      ),
    ).rejects.toThrow(
      // 15.18: the option is unknown for a partitioned table; 17.10: refused with that reason (16 not checked)
      major() === 15
        ? /unrecognized parameter "autovacuum_vacuum_scale_factor"/
        : /cannot specify storage parameters for a partitioned table/,
    );
    const leaf = await admin.query(
      "SELECT c.reloptions FROM pg_partition_tree('pgmq.q_lineage_events') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf LIMIT 1",
    );
    expect(leaf.rows[0].reloptions).toEqual(expect.arrayContaining(["autovacuum_vacuum_scale_factor=0.001"]));
  });

  test("an ops.queue_depth() of an older release (depth as total_messages) is replaced by the bootstrap", async () => {
    await admin.query(`DROP FUNCTION ops.queue_depth();
      CREATE FUNCTION ops.queue_depth() RETURNS TABLE (queue_name text, total_messages bigint, visible_messages bigint, oldest_message_age_seconds double precision, newest_message_age_seconds double precision)
        LANGUAGE sql AS 'SELECT NULL::text, 0::bigint, 0::bigint, 0::double precision, 0::double precision WHERE false';
      ALTER FUNCTION ops.queue_depth() OWNER TO ${OWNER};`);
    await run(admin, bootstrapSql(queues, DATABASE, major()));
    const cols = await admin.query("SELECT * FROM ops.queue_depth()");
    expect(cols.fields.map((f) => f.name)).toEqual(QUEUE_DEPTH_COLUMNS.map(([n]) => n));
  });

  test("the runway incident: overflow lands in the default partition and maintenance fails; the validator refuses that config", async () => {
    await admin.query("CREATE DATABASE incident");
    const inc = new Client({ connectionString: pg.url("incident") });
    await inc.connect();
    try {
      // partitionInterval 1,000 x premake 2 = 2,000 messages of runway for a 10,000 msgs/s burst
      const bad: QueuesConfig = {
        ...queues,
        definitions: [
          {
            name: "burst_events",
            peakRateMsgsPerSecond: 10_000,
            partitionInterval: 1000,
            premake: 2,
            retentionMessages: 1_000_000,
            visibilityTimeoutSeconds: 30,
            deduplicationWindowSeconds: 300,
            fifoGroups: false,
          },
        ],
      };
      await run(inc, bootstrapSql(bad, "incident", major()));
      await inc.query(
        "SELECT pgmq.send_batch('burst_events', (SELECT array_agg(jsonb_build_object('i', g)) FROM generate_series(1, 5000) g))",
      );
      const def = await inc.query(
        "SELECT row_count FROM ops.default_partition_rows() WHERE parent_table = 'pgmq.q_burst_events'",
      );
      expect(Number(def.rows[0].row_count)).toBeGreaterThan(0);
      await expect(inc.query("SELECT partman.run_maintenance('pgmq.q_burst_events')")).rejects.toThrow(
        /updated partition constraint for default partition .* would be violated by some row/,
      );
      const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
      const overrides = {
        ...config.postgres.tuning.overrides,
        "pg_partman_bgw.interval": { value: BGW_INTERVAL_SECONDS, reason: "this test's worker runs every second" },
      };
      const result = validateQueues({
        ...config,
        queues: bad,
        postgres: { ...config.postgres, tuning: { ...config.postgres.tuning, overrides } },
      });
      expect(result.errors[0]?.message).toContain(
        "partitionInterval 1,000 x premake 2 = 2,000 messages does not cover peakRateMsgsPerSecond 10,000 x maintenance period 60 s (pg_partman_bgw.interval 1 s",
      );
    } finally {
      await inc.end();
    }
  });
}
