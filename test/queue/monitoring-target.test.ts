/**
 * The bootstrap and every monitoring query on the target major (17 by default; the embedded
 * PostgreSQL from npm). Skips, naming what is missing, when PostgreSQL 17, pg_partman or pgmq is not
 * installed for it (see docs/queue.md). pg_partman's background worker is not needed here. A free loopback port.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { parse } from "yaml";
import { parseStackConfig } from "../../config/load";
import { generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import { monitoringMetricsYaml } from "../../components/queue/monitoring";
import { extensionAvailable, findPostgresBinaries, freeLoopbackPort, libraryAvailable, startLocalPostgres, type LocalPostgres, type PostgresBinaries } from "../../scripts/lib/local-postgres";
import { readDucklakeConfig } from "../helpers/stack-files";

jest.setTimeout(120_000);

const MAJOR = 17;

function missing(): string | undefined {
  let bin: PostgresBinaries;
  try {
    bin = findPostgresBinaries(MAJOR);
  } catch (e) {
    return (e as Error).message;
  }
  for (const ext of ["pg_partman", "pgmq", "pg_stat_statements"]) {
    if (!extensionAvailable(bin, ext)) return `${ext} extension not installed for PostgreSQL ${MAJOR} (${bin.sharedir}/extension; see docs/queue.md)`;
  }
  if (!libraryAvailable(bin, "pg_stat_statements")) return `pg_stat_statements library not installed for PostgreSQL ${MAJOR} (${bin.pkglibdir})`;
  return undefined;
}

const why = missing();
if (why !== undefined) console.warn(`SKIPPED test/queue/monitoring-target: ${why}`);
const maybe = why === undefined ? describe : describe.skip;

// The skip reason is in the title, so it shows in every jest report, not only when this file runs alone.
maybe(`bootstrap and monitoring on PostgreSQL ${MAJOR}${why === undefined ? "" : ` — SKIPPED: ${why}`}`, () => {
  let pg: LocalPostgres;
  let dataDir = "";

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-queue-pg17-"));
    pg = await startLocalPostgres({ binaries: findPostgresBinaries(MAJOR), dataDir, port: await freeLoopbackPort(), database: "lineage", postgresqlConf: "shared_preload_libraries = 'pg_stat_statements'" });
  });
  afterAll(async () => {
    await pg?.stop();
    if (dataDir !== "") fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("the dev stack's bootstrap runs twice, then every ops object and custom metrics query runs as pg_monitor", async () => {
    const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
    const sql = generateBootstrapSql({ queues: config.queues, bgwIntervalSeconds: 60, database: "lineage", ownerRole: "lineage_owner", appRole: "lineage_app", majorVersion: MAJOR });
    const admin = new Client({ connectionString: pg.url() });
    await admin.connect();
    try {
      for (let i = 0; i < 2; i++) {
        await admin.query("BEGIN");
        await admin.query(sql);
        await admin.query("COMMIT");
      }
      await admin.query("SELECT pgmq.send('lineage_events', '{\"x\":1}')");
      await admin.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metrics_reader') THEN CREATE ROLE metrics_reader LOGIN IN ROLE pg_monitor; END IF; END $$");
    } finally {
      await admin.end();
    }
    const m = new Client({ connectionString: pg.url().replace("postgres@", "metrics_reader@") });
    await m.connect();
    try {
      const cp = await m.query("SELECT * FROM ops.checkpoints");
      expect(cp.fields.map((f) => f.name)).toEqual(["timed", "requested", "write_time_ms", "sync_time_ms", "buffers_written", "stats_reset"]);
      const depth = await m.query("SELECT queue_length::int AS n FROM ops.queue_depth() WHERE queue_name = 'lineage_events'");
      expect(depth.rows[0].n).toBe(1);
      for (const q of ["ops.dead_letter_depth()", "ops.dead_letter_newest(5)", "ops.stuck_messages()", "ops.default_partition_rows()", "ops.partition_runway()", "ops.queue_table_activity", "ops.vacuum_progress", "ops.table_bloat", "ops.top_statements", "ops.cache_hit_ratio"]) {
        await m.query(`SELECT * FROM ${q}`);
      }
      const queries = parse(monitoringMetricsYaml(MAJOR, config.queues)) as Record<string, { query: string; predicate_query: string }>;
      for (const [name, q] of Object.entries(queries)) {
        await m.query("BEGIN READ ONLY");
        await m.query("SET LOCAL search_path = pg_catalog, public, pg_temp");
        await m.query(q.predicate_query);
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
});
