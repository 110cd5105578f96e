/**
 * What the small side-by-side benches share (`bench:keyed-send`, `bench:sync-replication`): their flags (seconds per
 * trial, trials, producers, the PostgreSQL to run), the check that it carries pgmq and pg_partman, and the median.
 * Usage errors exit 2 through scripts/lib/cli.ts.
 */
import { parseArgs } from "util";
import { UsageError, usageErrorOf } from "../lib/cli";
import { extensionAvailable, findPostgresBinaries, type PostgresBinaries } from "../lib/local-postgres";

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
