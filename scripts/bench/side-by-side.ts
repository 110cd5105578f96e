/**
 * What the small side-by-side benches share (`bench:keyed-send`, `bench:fifo-read`, `bench:sync-replication`): their
 * flags (seconds per trial, trials, producers, the PostgreSQL to run), the check that it carries pgmq and pg_partman,
 * the dev stack's server with its tuning and bootstrap, the machine line, and the median.
 * Usage errors exit 2 through scripts/lib/cli.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { Client } from "pg";
import { UsageError, usageErrorOf } from "../lib/cli";
import {
  extensionAvailable,
  findPostgresBinaries,
  freeLoopbackPort,
  serverOwnedTempDir,
  startLocalPostgres,
  type PostgresBinaries,
} from "../lib/local-postgres";
import { parseStackConfig } from "../../components/stack";
import { bootstrapSqlInputOf, generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import type { StackConfig } from "../../config/schema";
import { localTuning } from "../db-local";
import { ducklakeConfigOf, readStackFileConfig } from "../lib/stack-file";

/** The flags every side-by-side bench takes. */
export interface SideBySideOptions {
  readonly seconds: number;
  readonly trials: number;
  readonly clients: number;
  readonly binaries: PostgresBinaries;
}

const OPTIONS = {
  seconds: { type: "string" },
  trials: { type: "string", default: "3" },
  clients: { type: "string", default: "4" },
  major: { type: "string", default: "15" },
  "bin-dir": { type: "string" },
} as const;

/** The usage line of a side-by-side bench named `npm run <name>`. */
export function sideBySideUsage(name: string): string {
  return `usage: npm run ${name} -- [--seconds N] [--trials N] [--clients N] [--major N] [--bin-dir DIR]`;
}

/**
 * Parses a side-by-side bench's flags and finds its PostgreSQL, which must carry pgmq and pg_partman (docs/queue.md).
 * @param defaultSeconds seconds per trial when `--seconds` is not given.
 * @throws UsageError for a bad flag or value; Error when the PostgreSQL lacks an extension.
 */
export function parseSideBySideArgs(argv: readonly string[], defaultSeconds: number): SideBySideOptions {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS }));
  } catch (err) {
    throw usageErrorOf(err, Object.keys(OPTIONS));
  }
  const seconds = values.seconds === undefined ? defaultSeconds : Number(values.seconds);
  const trials = Number(values.trials);
  const clients = Number(values.clients);
  if (![seconds, trials, clients].every((x) => Number.isInteger(x) && x > 0)) {
    throw new UsageError(
      `--seconds, --trials and --clients must be positive integers (got ${values.seconds ?? defaultSeconds}, ${values.trials}, ${values.clients})`,
    );
  }
  const binaries = findPostgresBinaries(Number(values.major), values["bin-dir"]);
  const missing = ["pgmq", "pg_partman"].filter((e) => !extensionAvailable(binaries, e));
  if (missing.length > 0)
    throw new Error(
      `PostgreSQL ${binaries.version} (${binaries.binDir}) lacks ${missing.join(", ")} (see docs/queue.md)`,
    );
  return { seconds, trials, clients, binaries };
}

/** The median of a list of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The dev stack's parsed config (Pulumi.dev.yaml), which the side-by-side benches run. */
export function devStackConfig(): StackConfig {
  return parseStackConfig(
    ducklakeConfigOf(readStackFileConfig(path.join(__dirname, "..", "..", "Pulumi.dev.yaml"))).raw,
    "dev",
  ).config;
}

/** A local server of a side-by-side bench, bootstrapped; `stop` stops it and removes its data directory. */
export interface BenchServer {
  readonly url: string;
  /** pgmq's installed version. */
  readonly pgmqVersion: string;
  stop(): Promise<void>;
}

/**
 * Starts a local PostgreSQL with `config`'s tuning fitted to this machine (db:local's `localTuning`) and runs its
 * queue bootstrap, as the bootstrap Job does (one transaction).
 * @param name the bench's name, for the data directory and the tuning header.
 */
export async function startBenchServer(
  name: string,
  config: StackConfig,
  binaries: PostgresBinaries,
): Promise<BenchServer> {
  const dataDir = serverOwnedTempDir(`ducklake-${name}-`);
  const pg = await startLocalPostgres({
    binaries,
    dataDir,
    port: await freeLoopbackPort(),
    database: config.postgres.database,
    postgresqlConf: localTuning(config, binaries.major, `stack dev, PostgreSQL ${binaries.version}, bench:${name}`)
      .conf,
  });
  const stop = async () => {
    await pg.stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const admin = new Client({ connectionString: pg.url() });
    await admin.connect();
    try {
      await admin.query("BEGIN");
      await admin.query(generateBootstrapSql(bootstrapSqlInputOf(config, { majorVersion: binaries.major })));
      await admin.query("COMMIT");
      const version = (await admin.query("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'")).rows[0];
      return { url: pg.url(), pgmqVersion: String(version.extversion), stop };
    } finally {
      await admin.end();
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The machine a bench ran on: cores, CPU model, kernel and load averages, for its first line. */
export function machineLine(): string {
  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  return `${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, ${os.release()}, load ${load}`;
}
