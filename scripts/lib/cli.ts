/**
 * Command-line conventions every script follows (issue 23): `--help` prints the usage with examples and exits 0; a
 * usage error (unknown or misspelled flag, bad value, missing argument) prints one line, with "did you mean" for a
 * flag close to a known one, and exits 2, without a stack trace; any other failure exits 1.
 * Flags are parsed by node:util's parseArgs; the nearest known flag is config/spelling.ts's didYouMean.
 */
import { didYouMean } from "../../config/spelling";

export { didYouMean };

/** A mistake in the command line (exit 2), not a failure of the work (exit 1). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Turns node:util parseArgs' errors into a UsageError naming the flag and the nearest known one.
 * @param err what parseArgs threw.
 * @param known the flags the script accepts, without dashes.
 */
export function usageErrorOf(err: unknown, known: readonly string[]): UsageError {
  const e = err as { code?: string; message?: string };
  const m = /Unknown option '(--?[^']+)'/.exec(e.message ?? "");
  if (m !== null) {
    const flag = (m[1] as string).replace(/^-+/, "").split("=")[0] as string;
    const near = didYouMean(flag, [...known, "help"]); // --help is every script's (runCli)
    return new UsageError(`unknown option --${flag}${near !== undefined ? `; did you mean --${near}?` : ""}`);
  }
  return new UsageError((e.message ?? String(err)).split(". To specify")[0] as string);
}

/**
 * Runs a script's main: `--help`/`-h` prints `help` and exits 0; a UsageError prints `<name>: <message>` and the
 * usage line and exits 2; any other error prints `<name>: <message>` and exits 1; otherwise the exit code main returns.
 * @param name the script's npm name, for messages (`bench`, `db:local`).
 * @param help usage and examples.
 * @param main the work; returns the exit code (0 when it returns nothing).
 */
export function runCli(name: string, help: string, main: (argv: readonly string[]) => Promise<number | void>): void {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(help);
    process.exit(0);
  }
  main(argv).then(
    (code) => process.exit(typeof code === "number" ? code : 0),
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(`${name}: ${err.message}\n${help.split("\n")[0]}`);
        process.exit(2);
      }
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
