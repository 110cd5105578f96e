/**
 * The monitoring role (`postgres.monitoringUser`, a member of pg_monitor) and the app role against every `ops`
 * monitoring object, on real PostgreSQL with pg_partman and pgmq, once per installation
 * (test/helpers/queue-installations.ts): the monitoring role reads every one and can change no queue (no send, read,
 * pop, archive, delete, set_vt, keyed send or DLQ-aware read; no INSERT, UPDATE, DELETE or TRUNCATE on a queue table;
 * no queue created or dropped); the app role cannot read the objects listed in `APP_CANNOT_READ` (why the monitoring
 * role exists; docs/queue.md "Monitoring").
 */
import * as fs from "fs";
import { Client } from "pg";
import { parseStackConfig } from "../../components/stack";
import { MONITORING_OBJECTS } from "../../components/queue/monitoring";
import type { LocalPostgres } from "../../scripts/lib/local-postgres";
import {
  installationTitle,
  queueInstallations,
  startBootstrappedQueueServer,
  type Installation,
} from "../helpers/queue-installations";
import { readDucklakeConfig } from "../helpers/stack-files";

jest.setTimeout(120_000);

const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
const { database, appUser, monitoringUser } = config.postgres;

/**
 * The `ops` objects the app role cannot read (measured here on PostgreSQL 15 and 17): the views over PostgreSQL's
 * statistics need pg_monitor's privileges, and two functions read tables only pg_monitor was granted (a default
 * partition, pg_partman's part_config).
 */
const APP_CANNOT_READ = [
  "ops.default_partition_rows",
  "ops.partition_runway",
  "ops.queue_table_activity",
  "ops.vacuum_progress",
  "ops.table_bloat",
  "ops.top_statements",
  "ops.checkpoints",
  "ops.cache_hit_ratio",
  "ops.connections",
  "ops.queue_worker_backends",
  "ops.queue_workers",
  "ops.lock_waits",
];

/** Statements that would change a queue; the monitoring role must be refused each one. */
const WRITES: ReadonlyArray<readonly [string, string]> = [
  ["send", "SELECT pgmq.send('lineage_events', '{}'::jsonb)"],
  ["send_batch", "SELECT pgmq.send_batch('lineage_events', ARRAY['{}'::jsonb])"],
  ["keyed send", "SELECT * FROM ops.send_idempotent('lineage_events', 'k-monitor', '{}'::jsonb)"],
  ["read", "SELECT * FROM pgmq.read('lineage_events', 30, 1)"],
  ["read_with_poll", "SELECT * FROM pgmq.read_with_poll('lineage_events', 30, 1, 1)"],
  ["DLQ-aware read", "SELECT * FROM ops.read_with_dlq('lineage_events', 30, 1)"],
  ["pop", "SELECT * FROM pgmq.pop('lineage_events')"],
  ["delete", "SELECT pgmq.delete('lineage_events', 1::bigint)"],
  ["archive", "SELECT pgmq.archive('lineage_events', 1::bigint)"],
  ["set_vt", "SELECT * FROM pgmq.set_vt('lineage_events', 1, 0)"],
  ["purge_queue", "SELECT pgmq.purge_queue('lineage_events')"],
  ["create", "SELECT pgmq.create('monitor_made')"],
  ["drop_queue", "SELECT pgmq.drop_queue('lineage_events')"],
  ["redrive", "SELECT ops.redrive('lineage_events_dlq')"],
  ["INSERT", "INSERT INTO pgmq.q_lineage_events (vt, message) VALUES (now(), '{}')"],
  ["UPDATE", "UPDATE pgmq.q_lineage_events SET read_ct = 0"],
  ["DELETE", "DELETE FROM pgmq.q_lineage_events"],
  ["TRUNCATE", "TRUNCATE pgmq.q_lineage_events"],
  ["DELETE on the DLQ", "DELETE FROM pgmq.q_lineage_events_dlq"],
  ["DELETE on the archive", "DELETE FROM pgmq.a_lineage_events"],
  ["DROP TABLE", "DROP TABLE pgmq.q_lineage_events_dlq"],
  ["ALTER TABLE", "ALTER TABLE pgmq.q_lineage_events SET (autovacuum_enabled = off)"],
  ["nextval", "SELECT nextval('pgmq.q_lineage_events_msg_id_seq')"],
];

const installations: Installation[] = queueInstallations();
for (const inst of installations) {
  if (inst.why !== undefined)
    console.warn(`SKIPPED test/queue/monitoring-role.integration.test.ts (${inst.name}): ${inst.why}`);
  (inst.why === undefined ? describe : describe.skip)(installationTitle(inst, "the monitoring role"), () =>
    suite(inst),
  );
}

function suite(inst: Installation): void {
  let pg: LocalPostgres;
  let dataDir = "";
  let admin: Client;
  const as = async <T>(role: string, f: (c: Client) => Promise<T>): Promise<T> => {
    const c = new Client({ connectionString: pg.url(database).replace("postgres@", `${role}@`) });
    await c.connect();
    try {
      return await f(c);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    if (inst.binaries === undefined) throw new Error(`no binaries: ${inst.why ?? ""}`);
    ({ pg, dataDir, admin } = await startBootstrappedQueueServer(inst.binaries, "ducklake-monitoring-role-it", config));
    // A message in the queue and one dead letter, so the reads have rows and a refused delete would have one to delete.
    await admin.query("SELECT pgmq.send('lineage_events', '{\"n\": 1}'::jsonb)");
    await admin.query("SELECT pgmq.send('lineage_events_dlq', '{\"n\": 2}'::jsonb)");
  });

  afterAll(async () => {
    await admin?.end();
    await pg?.stop();
    if (dataDir !== "") fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("the bootstrap made it a login role in pg_monitor, neither superuser nor owner of anything", async () => {
    const r = await admin.query(
      `SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, pg_has_role($1, 'pg_monitor', 'MEMBER') AS monitor,
              (SELECT count(*) FROM pg_class WHERE relowner = $1::regrole)::int AS owns
         FROM pg_roles WHERE rolname = $1`,
      [monitoringUser],
    );
    expect(r.rows).toEqual([
      { rolcanlogin: true, rolsuper: false, rolcreaterole: false, rolcreatedb: false, monitor: true, owns: 0 },
    ]);
  });

  test(`reads every ops monitoring object (${MONITORING_OBJECTS.length}), in a read-only transaction`, async () => {
    const failed = await as(monitoringUser, async (c) => {
      const out: string[] = [];
      await c.query("BEGIN READ ONLY");
      for (const o of MONITORING_OBJECTS) {
        await c.query("SAVEPOINT s");
        try {
          await c.query(o.select);
        } catch (e) {
          out.push(`${o.name}: ${(e as Error).message}`);
          await c.query("ROLLBACK TO SAVEPOINT s");
        }
      }
      await c.query("ROLLBACK");
      return out;
    });
    expect(failed).toEqual([]);
    const depth = await as(monitoringUser, (c) =>
      c.query("SELECT queue_name, queue_length FROM ops.queue_depth() ORDER BY 1"),
    );
    expect(depth.rows).toEqual([
      { queue_name: "lineage_events", queue_length: "1" },
      { queue_name: "lineage_events_dlq", queue_length: "1" },
    ]);
  });

  test("cannot send, read, delete or archive messages, nor write to or drop queue tables", async () => {
    const allowed = await as(monitoringUser, async (c) => {
      const out: string[] = [];
      for (const [what, sql] of WRITES) {
        try {
          await c.query(sql);
          out.push(`${what}: allowed`);
        } catch (e) {
          const msg = (e as Error).message;
          if (!/permission denied|must be owner/.test(msg)) out.push(`${what}: refused for another reason: ${msg}`);
        }
      }
      return out;
    });
    expect(allowed).toEqual([]);
    const counts = await admin.query(
      "SELECT (SELECT count(*) FROM pgmq.q_lineage_events)::int AS q, (SELECT count(*) FROM pgmq.q_lineage_events_dlq)::int AS d, (SELECT read_ct FROM pgmq.q_lineage_events) AS read_ct",
    );
    expect(counts.rows).toEqual([{ q: 1, d: 1, read_ct: 0 }]);
  });

  test("the app role, by contrast, cannot read the statistics views and two queue functions", async () => {
    const refused = await as(appUser, async (c) => {
      const out: string[] = [];
      for (const o of MONITORING_OBJECTS) {
        try {
          await c.query(o.select);
        } catch (e) {
          expect((e as Error).message).toMatch(/permission denied/);
          out.push(o.name);
        }
      }
      return out;
    });
    expect(refused).toEqual(APP_CANNOT_READ);
  });
}
