/**
 * More PostgreSQL installations for the integration tests: `DUCKLAKE_EXTRA_PG_BIN_DIRS`, a
 * colon-separated list of server bin directories (each holding `postgres`, `initdb` and `pg_ctl`), e.g.
 *
 *   DUCKLAKE_EXTRA_PG_BIN_DIRS=/opt/pg17/bin npx jest test/queue/queue.integration.test.ts
 *
 * A suite that honours it runs once more per listed directory, on that installation's own major; a
 * directory that cannot be used becomes a skipped describe whose title says why. Unset or empty: nothing
 * extra runs.
 */
import * as fs from "fs";
import * as path from "path";
import { binariesInDir, type PostgresBinaries } from "../../scripts/lib/local-postgres";

export { binariesInDir };

/** Name of the environment variable. */
export const EXTRA_PG_BIN_DIRS_ENV = "DUCKLAKE_EXTRA_PG_BIN_DIRS";

/** The listed bin directories, in order, without empty entries or repeats. */
export function extraPgBinDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = (env[EXTRA_PG_BIN_DIRS_ENV] ?? "")
    .split(":")
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
  return [...new Set(dirs)];
}

/**
 * `default_version` of an extension's control file, e.g. `5.2.4` for pg_partman.
 * @returns undefined when the control file or the line is missing.
 */
export function extensionDefaultVersion(binaries: PostgresBinaries, name: string): string | undefined {
  const file = path.join(binaries.sharedir, "extension", `${name}.control`);
  if (!fs.existsSync(file)) return undefined;
  return /^\s*default_version\s*=\s*'([^']*)'/m.exec(fs.readFileSync(file, "utf8"))?.[1];
}
