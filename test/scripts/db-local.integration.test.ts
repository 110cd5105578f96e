/**
 * db:local's code path on a real server: Debian's PostgreSQL 15 with the dev stack's rendered
 * postgresql.conf and bootstrap (start, idempotent second start, stop), then a 2-second bench smoke run
 * against it that checks the report's structure (not its speed).
 * Skips, saying what is missing, when PostgreSQL 15, pg_partman or pgmq are not installed.
 * The same again for every server bin directory in DUCKLAKE_EXTRA_PG_BIN_DIRS (colon-separated, e.g.
 * `DUCKLAKE_EXTRA_PG_BIN_DIRS=/opt/pg17/bin`), started with db:local's `--bin-dir` (its own major); the
 * bench then prefers the pgbench beside it (else PATH or /usr/lib/postgresql/<major>/bin).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import {
  ensureLocalDatabase,
  LocalDatabase,
  missingPieces,
  stopLocalDatabase,
  stopOrResetLocal,
} from "../../scripts/db-local";
import { findPostgresBinaries, freeLoopbackPort, PostgresBinaries } from "../../scripts/lib/local-postgres";
import type { BenchReport } from "../../scripts/bench/report";
import { findPgbench } from "../../scripts/bench/bench";
import { binariesInDir, extraPgBinDirs } from "../helpers/extra-postgres";

const localDir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-db-local-test-"));
// When root, the server runs as the postgres user (scripts/lib/local-postgres.ts): it must reach the data directory.
fs.chmodSync(localDir, 0o755);

function whatIsMissing(): string | undefined {
  let binaries: PostgresBinaries;
  try {
    binaries = findPostgresBinaries(15);
  } catch (err) {
    return (err as Error).message;
  }
  const missing = missingPieces(binaries);
  if (missing.length > 0) return missing.join("; ");
  if (!fs.existsSync(path.join(binaries.binDir, "pgbench")))
    return `pgbench not installed beside ${binaries.binDir} (Debian package postgresql-15)`;
  return undefined;
}

/** One server to run db:local on: Debian's 15 (`major: 15`) or a listed bin directory (`binDir`). */
interface Target {
  name: string;
  binDir?: string;
  why?: string;
}

/** A bin directory from DUCKLAKE_EXTRA_PG_BIN_DIRS: what db:local or the bench would lack there. */
function listed(binDir: string): Target {
  let binaries: PostgresBinaries;
  try {
    binaries = binariesInDir(binDir);
  } catch (err) {
    return { name: `PostgreSQL in ${binDir}`, binDir, why: (err as Error).message };
  }
  const out = missingPieces(binaries);
  try {
    findPgbench(binaries.binDir);
  } catch (err) {
    out.push((err as Error).message);
  }
  return {
    name: `PostgreSQL ${binaries.version} (${binaries.binDir})`,
    binDir: binaries.binDir,
    why: out.length > 0 ? out.join("; ") : undefined,
  };
}

const targets: Target[] = [{ name: "PostgreSQL 15", why: whatIsMissing() }, ...extraPgBinDirs().map(listed)];

async function query<T extends Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql)).rows;
  } finally {
    await c.end();
  }
}

// The skip reason is in the title, so it shows in every jest report, not only when this file runs alone.
for (const [i, target] of targets.entries()) {
  const { why } = target;
  if (why !== undefined)
    console.warn(`SKIPPED test/scripts/db-local.integration.test.ts${i === 0 ? "" : ` (${target.name})`}: ${why}`);
  (why === undefined ? describe : describe.skip)(
    `db:local on ${target.name} with the dev stack${why === undefined ? "" : ` — SKIPPED: ${why}`}`,
    () => dbLocalSuite(target, i),
  );
}

function dbLocalSuite(target: Target, index: number): void {
  // Debian's 15 as db:local's `--major 15`; a listed directory as its `--bin-dir` (the stack's settings for that major).
  const where = target.binDir === undefined ? { major: 15 } : { binDir: target.binDir };
  const opts = { stack: "dev", ...where, port: 0, localDir, quiet: true };
  let first: LocalDatabase;

  beforeAll(async () => {
    if (index > 0) {
      opts.localDir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-db-local-test-"));
      fs.chmodSync(opts.localDir, 0o755);
    }
    opts.port = await freeLoopbackPort();
  });

  afterAll(async () => {
    await stopLocalDatabase(opts).catch(() => undefined);
    fs.rmSync(opts.localDir, { recursive: true, force: true });
  });

  it("starts a loopback-only server with the dev stack's settings and its partitioned queue", async () => {
    first = await ensureLocalDatabase(opts);
    expect(first.url).toBe(`postgresql://postgres@127.0.0.1:${opts.port}/ducklakedb`);
    const [s] = await query<{
      sb: string;
      sc: string;
      la: string;
      nap: string;
      spl: string;
      mc: string;
      role: string;
      db: string;
    }>(
      first.url,
      "SELECT current_setting('shared_buffers') AS sb, current_setting('synchronous_commit') AS sc, current_setting('listen_addresses') AS la, current_setting('autovacuum_naptime') AS nap, current_setting('shared_preload_libraries') AS spl, " +
        "current_setting('max_connections') AS mc, current_setting('pg_partman_bgw.role') AS role, current_setting('pg_partman_bgw.dbname') AS db",
    );
    // Pulumi.dev.yaml: the guide's shared_buffers 2GB, synchronous_commit off, autovacuum_naptime 15s; max_connections 18
    // derived; pg_partman's worker as the owner role (override) in the guide's database (this machine has room: not scaled).
    expect(s).toEqual({
      sb: "2GB",
      sc: "off",
      la: "127.0.0.1",
      nap: "15s",
      spl: "pg_partman_bgw,pg_stat_statements",
      mc: "18",
      role: "lineage_owner",
      db: "ducklakedb",
    });
    const queues = await query<{ queue_name: string; is_partitioned: boolean }>(
      first.url,
      "SELECT queue_name, is_partitioned FROM pgmq.meta ORDER BY queue_name",
    );
    expect(queues).toEqual([
      { queue_name: "lineage_events", is_partitioned: true },
      { queue_name: "lineage_events_dlq", is_partitioned: false },
    ]);
    expect(first.dlqReadRoutine).toBe("ops.read_with_dlq");
    expect(first.applied.some((a) => a.startsWith("bootstrap.sql applied"))).toBe(true);
    expect(fs.readFileSync(path.join(first.stackDir, "postgresql.conf"), "utf8")).toMatch(/^shared_buffers = '2GB'/m);
  });

  it("reuses the running server on a second start and does not re-apply an unchanged bootstrap", async () => {
    const [before] = await query<{ t: string }>(first.url, "SELECT pg_postmaster_start_time()::text AS t");
    const second = await ensureLocalDatabase(opts);
    const [after] = await query<{ t: string }>(second.url, "SELECT pg_postmaster_start_time()::text AS t");
    expect(after?.t).toBe(before?.t);
    expect(second.applied.some((a) => a.startsWith("bootstrap.sql unchanged"))).toBe(true);
  });

  it("runs a 2-second bench whose report has every section, each workload beside its limit, a check per target and a chart", async () => {
    const { main } = await import("../../scripts/bench/bench");
    const json = path.join(opts.localDir, "bench.json");
    const report: BenchReport = await main([
      "dev",
      "--url",
      first.url,
      "--duration",
      "2",
      "--clients",
      "1",
      "--workloads",
      "send_single,send_batch,read_delete_batch",
      "--latency-seconds",
      "2",
      "--prefill-per-second",
      "5000",
      "--repeat",
      "1",
      "--json",
      json,
      ...(target.binDir === undefined ? [] : ["--bin-dir", target.binDir]),
    ]);
    const written = JSON.parse(fs.readFileSync(json, "utf8")) as BenchReport;
    expect(written.checks).toEqual(report.checks);
    // each point: the pgmq run, then its physical limit (trial 1 is not rotated)
    expect(report.capacity.map((c) => [c.workload, c.kind ?? "pgmq", c.clients, c.batch])).toEqual([
      ["send_single", "pgmq", 1, 1],
      ["send_single", "limit", 1, 1],
      ["send_batch", "pgmq", 1, 100],
      ["send_batch", "limit", 1, 100],
      ["read_delete_batch", "pgmq", 1, 100],
      ["read_delete_batch", "limit", 1, 100],
    ]);
    expect(report.limitRatios?.map((r) => [r.workload, r.paired.n])).toEqual([
      ["send_single", 1],
      ["send_batch", 1],
      ["read_delete_batch", 1],
    ]);
    const svg = fs.readFileSync(json.replace(/\.json$/, ".svg"), "utf8");
    expect(svg.match(/class="bar"/g)).toHaveLength(6);
    expect(report.machine.kernel).toBe(os.release());
    expect(report.trials).toBe(1);
    for (const c of report.capacity) {
      expect(c.trial).toBe(1);
      expect(c.msgsPerSecond).toBeGreaterThan(0);
      expect(c.latencyP99Ms).toBeGreaterThanOrEqual(c.latencyAvgMs * 0.5);
      expect(c.statements.length).toBeGreaterThan(0);
      expect(c.cpu?.serverPct).toBeGreaterThan(0);
      expect(c.health.walBytes).toBeGreaterThan(0);
    }
    // A batch send moves 100 messages per call: msgs/s is about 100 x tps.
    const batch = report.capacity[2] as BenchReport["capacity"][number];
    expect(batch.msgsPerSecond / batch.tps).toBeGreaterThan(90);
    expect(report.dlqRead[0]?.routine).toBe("ops.read_with_dlq");
    expect(report.latency[0]?.messages).toBeGreaterThan(0);
    expect(report.latency[0]?.depthSamples.length).toBeGreaterThan(0);
    expect(report.checks.map((c) => c.name.split(" ")[0])).toEqual([
      "send_batch",
      "read_delete_batch",
      "rows",
      "send→read",
      "queue",
      "DLQ-aware",
    ]);
    expect(report.checks.find((c) => c.name.startsWith("rows in the default"))?.pass).toBe(true);
  });

  it("a bench that only sends leaves none of its messages for the first app read", async () => {
    const { main } = await import("../../scripts/bench/bench");
    const lastId = async (): Promise<number> =>
      Number(
        (await query<{ n: string }>(first.url, "SELECT last_value::text AS n FROM pgmq.q_lineage_events_msg_id_seq"))[0]
          ?.n,
      );
    const before = await lastId();
    await main([
      "dev",
      "--url",
      first.url,
      "--duration",
      "1",
      "--clients",
      "1",
      "--workloads",
      "send_single",
      "--no-latency",
      "--no-dlq",
      "--trials",
      "1",
      ...(target.binDir === undefined ? [] : ["--bin-dir", target.binDir]),
    ]);
    expect((await lastId()) - before).toBeGreaterThan(100); // it did send
    const left = await query<{ q: string; d: string }>(
      first.url,
      "SELECT (SELECT count(*) FROM pgmq.q_lineage_events)::text AS q, (SELECT count(*) FROM pgmq.q_lineage_events_dlq)::text AS d",
    );
    expect(left).toEqual([{ q: "0", d: "0" }]);
  });

  it("prints a monitoring connection that reads the ops views as a member of pg_monitor", async () => {
    expect(first.monitoringUrl).toBe(`postgresql://lineage_monitor@127.0.0.1:${opts.port}/ducklakedb`);
    const [who] = await query<{ u: string; m: boolean }>(
      first.monitoringUrl,
      "SELECT current_user AS u, pg_has_role(current_user, 'pg_monitor', 'MEMBER') AS m",
    );
    expect(who).toEqual({ u: "lineage_monitor", m: true });
    expect(await query(first.monitoringUrl, "SELECT * FROM ops.queue_depth()")).toHaveLength(2);
  });

  it("--stop stops the untuned twin too, and says which ran", async () => {
    const twinPort = await freeLoopbackPort();
    const twin = await ensureLocalDatabase({ ...opts, untuned: true, port: twinPort });
    const lines = await stopOrResetLocal({ ...opts, action: "stop" });
    expect(lines).toEqual([
      `dev: stopped (data kept in ${first.stackDir})`,
      `dev (untuned twin): stopped (data kept in ${twin.stackDir})`,
    ]);
    await expect(query(first.url, "SELECT 1")).rejects.toThrow();
    await expect(query(twin.url, "SELECT 1")).rejects.toThrow();
    expect(await stopOrResetLocal({ ...opts, action: "stop" })).toEqual([
      `dev: was not running (data kept in ${first.stackDir})`,
      `dev (untuned twin): was not running (data kept in ${twin.stackDir})`,
    ]);
    await ensureLocalDatabase(opts); // running again for the next test
  });

  it("starts the Tembo twin with Tembo's MessageQueue settings and the same queue, no per-table autovacuum", async () => {
    const temboOpts = { ...opts, tembo: true, port: await freeLoopbackPort() };
    try {
      const tembo = await ensureLocalDatabase(temboOpts);
      expect(tembo.stackDir.endsWith("dev-tembo")).toBe(true);
      // the dev stack's pod has 4Gi: 30% shared_buffers, RAM / 9.5 MB connections (scripts/bench/tembo.ts)
      const settings = await query<{ name: string; setting: string; unit: string | null }>(
        tembo.url,
        "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'max_connections', 'autovacuum_naptime', 'autovacuum_vacuum_cost_limit', 'synchronous_commit') ORDER BY name",
      );
      expect(settings.map((r) => `${r.name}=${r.setting}${r.unit ?? ""}`)).toEqual([
        "autovacuum_naptime=20s",
        "autovacuum_vacuum_cost_limit=10000",
        "max_connections=431",
        "shared_buffers=157184" + "8kB",
        "synchronous_commit=on",
      ]);
      const reloptions = await query<{ n: string }>(
        tembo.url,
        "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgmq' AND c.relname LIKE 'q_lineage_events%' AND c.reloptions IS NOT NULL",
      );
      expect(reloptions[0]?.n).toBe("0");
    } finally {
      await stopLocalDatabase(temboOpts).catch(() => undefined);
    }
  });

  it("stops the server", async () => {
    await stopLocalDatabase(opts);
    await expect(query(first.url, "SELECT 1")).rejects.toThrow();
  });
}

describe("db:local without the extensions", () => {
  it("names each missing piece and how to install it", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-empty-"));
    const fake: PostgresBinaries = {
      binDir: "/usr/lib/postgresql/15/bin",
      version: "15.18",
      major: 15,
      source: "debian",
      sharedir: empty,
      pkglibdir: empty,
    };
    const out = missingPieces(fake);
    fs.rmSync(empty, { recursive: true });
    expect(out).toHaveLength(3);
    expect(out[0]).toMatch(/^pg_partman .*apt-get install postgresql-15-partman$/);
    expect(out[1]).toMatch(/^pgmq .*github\.com\/pgmq\/pgmq.*PG_CONFIG=/);
    expect(out[2]).toMatch(/^pg_stat_statements/);
  });
});
