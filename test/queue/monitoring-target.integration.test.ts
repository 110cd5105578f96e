/**
 * The bootstrap and every monitoring object and query on the target major (17), read as a role that is
 * only a member of pg_monitor. Runs on the first PostgreSQL 17 that has pg_partman, pgmq and
 * pg_stat_statements: a bin directory of major 17 listed in DUCKLAKE_EXTRA_PG_BIN_DIRS (e.g. /opt/pg17,
 * docs/queue.md), else the one findPostgresBinaries(17) finds (Debian's, else the embedded server from
 * npm, which has no pgmq or pg_partman: then this skips, naming what is missing in each place it looked;
 * the views that need neither run on it in monitoring-server.integration.test.ts). pg_partman's background worker is
 * not needed here. A free loopback port.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { parse } from "yaml";
import { parseStackConfig } from "../../components/stack";
import { bootstrapSqlInputOf, generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import { MONITORING_OBJECTS, monitoringMetricsYaml } from "../../components/queue/monitoring";
import {
  extensionAvailable,
  findPostgresBinaries,
  freeLoopbackPort,
  libraryAvailable,
  startLocalPostgres,
  type LocalPostgres,
  type PostgresBinaries,
} from "../../scripts/lib/local-postgres";
import { binariesInDir, extraPgBinDirs } from "../helpers/extra-postgres";
import { readDucklakeConfig } from "../helpers/stack-files";

jest.setTimeout(120_000);

const MAJOR = 17;

/** What these binaries lack for the suite, with where it was looked for; empty when nothing. */
function lacks(bin: PostgresBinaries): string[] {
  const out: string[] = [];
  for (const ext of ["pg_partman", "pgmq", "pg_stat_statements"]) {
    if (!extensionAvailable(bin, ext))
      out.push(
        `${ext} extension not installed for PostgreSQL ${bin.version} (${bin.sharedir}/extension; see docs/queue.md)`,
      );
  }
  if (!libraryAvailable(bin, "pg_stat_statements"))
    out.push(`pg_stat_statements library not installed for PostgreSQL ${bin.version} (${bin.pkglibdir})`);
  return out;
}

/** The binaries to run on, or why there are none (every place looked at). */
function choose(): { binaries?: PostgresBinaries; why?: string } {
  const reasons: string[] = [];
  const candidates: PostgresBinaries[] = [];
  for (const dir of extraPgBinDirs()) {
    try {
      const b = binariesInDir(dir);
      if (b.major === MAJOR) candidates.push(b);
    } catch (e) {
      reasons.push((e as Error).message);
    }
  }
  try {
    candidates.push(findPostgresBinaries(MAJOR));
  } catch (e) {
    reasons.push((e as Error).message);
  }
  for (const b of candidates) {
    const missing = lacks(b);
    if (missing.length === 0) return { binaries: b };
    reasons.push(...missing);
  }
  return { why: reasons.join("; ") };
}

const chosen = choose();
const why = chosen.why;
if (why !== undefined) console.warn(`SKIPPED test/queue/monitoring-target: ${why}`);
const maybe = why === undefined ? describe : describe.skip;

// The skip reason is in the title, so it shows in every jest report, not only when this file runs alone.
maybe(
  `bootstrap and every ops monitoring object, the pgmq queue functions included, on PostgreSQL ${chosen.binaries === undefined ? MAJOR : `${chosen.binaries.version} (${chosen.binaries.binDir})`}${why === undefined ? "" : ` — SKIPPED: ${why}`}`,
  () => {
    let pg: LocalPostgres;
    let dataDir = "";

    beforeAll(async () => {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-queue-pg17-"));
      // The dev stack's database (ducklakedb, postgres.database's default): the bootstrap refuses any other.
      const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
      pg = await startLocalPostgres({
        binaries: chosen.binaries!,
        dataDir,
        port: await freeLoopbackPort(),
        database: config.postgres.database,
        postgresqlConf: "shared_preload_libraries = 'pg_stat_statements'",
      });
    });
    afterAll(async () => {
      await pg?.stop();
      if (dataDir !== "") fs.rmSync(dataDir, { recursive: true, force: true });
    });

    test("the dev stack's bootstrap runs twice, then every ops object and custom metrics query runs as a member of pg_monitor", async () => {
      const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
      // The stack's own input (queues with the guide's storage parameters, maintenance period 60 s from pg_partman_bgw.interval 60, roles), on MAJOR.
      const input = bootstrapSqlInputOf(config, { majorVersion: MAJOR });
      expect(input).toMatchObject({
        maintenancePeriodSeconds: 60,
        database: "ducklakedb",
        ownerRole: "lineage_owner",
        appRole: "lineage_app",
      });
      const sql = generateBootstrapSql(input);
      const admin = new Client({ connectionString: pg.url() });
      await admin.connect();
      try {
        for (let i = 0; i < 2; i++) {
          await admin.query("BEGIN");
          await admin.query(sql);
          await admin.query("COMMIT");
        }
        await admin.query("SELECT pgmq.send('lineage_events', '{\"x\":1}')");
        await admin.query(
          "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metrics_reader') THEN CREATE ROLE metrics_reader LOGIN IN ROLE pg_monitor; END IF; END $$",
        );
      } finally {
        await admin.end();
      }
      const m = new Client({ connectionString: pg.url().replace("postgres@", "metrics_reader@") });
      await m.connect();
      try {
        const cp = await m.query("SELECT * FROM ops.checkpoints");
        expect(cp.fields.map((f) => f.name)).toEqual([
          "timed",
          "requested",
          "write_time_ms",
          "sync_time_ms",
          "buffers_written",
          "stats_reset",
        ]);
        const depth = await m.query(
          "SELECT queue_length::int AS n FROM ops.queue_depth() WHERE queue_name = 'lineage_events'",
        );
        expect(depth.rows[0].n).toBe(1);
        for (const o of MONITORING_OBJECTS) {
          await m.query(o.select).catch((e: Error) => {
            throw new Error(`${o.name}: ${e.message}`);
          });
        }
        const queries = parse(monitoringMetricsYaml(MAJOR, config.queues)) as Record<
          string,
          { query: string; predicate_query: string }
        >;
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
  },
);
