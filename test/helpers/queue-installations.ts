/**
 * The PostgreSQL installations the queue integration suites run on, each with pg_partman (and its
 * background worker), pgmq and pg_stat_statements, or the reason it cannot be used:
 * - Debian's PostgreSQL 15 with pg_partman from apt (postgresql-15-partman, 4.7.2 on Debian 12) and pgmq
 *   built from source (see docs/queue.md);
 * - every server bin directory listed in DUCKLAKE_EXTRA_PG_BIN_DIRS (test/helpers/extra-postgres.ts), on
 *   that installation's own major (e.g. PostgreSQL 17 with pg_partman 5.x, what the stacks deploy).
 * A suite makes one describe per installation; one that cannot run is a skipped describe whose title
 * (`installationTitle`) names what is missing.
 */
import * as fs from "fs";
import { Client as PgClient, type Client } from "pg";
import { bootstrapSqlInputOf, generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import type { StackConfig } from "../../config/schema";
import * as os from "os";
import * as path from "path";
import {
  extensionAvailable,
  findPostgresBinaries,
  freeLoopbackPort,
  libraryAvailable,
  startLocalPostgres,
  type LocalPostgres,
  type PostgresBinaries,
} from "../../scripts/lib/local-postgres";
import { binariesInDir, extensionDefaultVersion, extraPgBinDirs } from "./extra-postgres";

/** One PostgreSQL installation a suite runs on, or why it cannot. */
export interface Installation {
  /** How the describe's title names it. */
  name: string;
  binaries?: PostgresBinaries;
  /** The versions of pg_partman and pgmq it would create, for the title (listed directories only). */
  versions?: { partman?: string; pgmq?: string };
  /** What is missing ("; "-separated); undefined when the suite can run. */
  why?: string;
}

/**
 * What the suite needs and these binaries lack, each with where it was looked for.
 * @param debian Debian's PostgreSQL 15 (its messages name the apt package).
 */
function missingFor(bin: PostgresBinaries, debian: boolean): string | undefined {
  const pg = `PostgreSQL ${debian ? bin.major : bin.version}`;
  const out: string[] = [];
  if (bin.major < 15 || bin.major > 18) out.push(`${pg}: the bootstrap supports PostgreSQL 15–18`);
  if (!extensionAvailable(bin, "pg_partman"))
    out.push(
      `pg_partman not installed for ${pg} (${bin.sharedir}/extension${debian ? "; apt-get install postgresql-15-partman" : ""})`,
    );
  if (!libraryAvailable(bin, "pg_partman_bgw")) out.push(`pg_partman_bgw not installed for ${pg} (${bin.pkglibdir})`);
  if (!extensionAvailable(bin, "pgmq"))
    out.push(
      `pgmq extension not installed for ${pg} (${bin.sharedir}/extension, pg_config --sharedir; see docs/queue.md)`,
    );
  if (!extensionAvailable(bin, "pg_stat_statements") || !libraryAvailable(bin, "pg_stat_statements")) {
    out.push(`pg_stat_statements not installed for ${pg} (${bin.sharedir}/extension, ${bin.pkglibdir})`);
  }
  return out.length > 0 ? out.join("; ") : undefined;
}

/** Debian's PostgreSQL 15 (findPostgresBinaries' usual search for 15). */
function debian15(): Installation {
  const name = "PostgreSQL 15";
  try {
    const binaries = findPostgresBinaries(15);
    return { name, binaries, why: missingFor(binaries, true) };
  } catch (e) {
    return { name, why: (e as Error).message };
  }
}

/** A bin directory from DUCKLAKE_EXTRA_PG_BIN_DIRS, on whatever major it holds. */
function listed(binDir: string): Installation {
  try {
    const binaries = binariesInDir(binDir);
    const versions = {
      partman: extensionDefaultVersion(binaries, "pg_partman"),
      pgmq: extensionDefaultVersion(binaries, "pgmq"),
    };
    return {
      name: `PostgreSQL ${binaries.version} (${binaries.binDir})`,
      binaries,
      versions,
      why: missingFor(binaries, false),
    };
  } catch (e) {
    return { name: `PostgreSQL in ${binDir}`, why: (e as Error).message };
  }
}

/** Every installation: Debian's 15, then each listed directory. */
export function queueInstallations(): Installation[] {
  return [debian15(), ...extraPgBinDirs().map(listed)];
}

/**
 * A describe title naming the installation and the versions it runs, and, when it cannot run, what is missing.
 * @param what what the suite checks (its subject), e.g. "bootstrap".
 */
export function installationTitle(inst: Installation, what = "bootstrap"): string {
  const v = (x: string | undefined) => (x === undefined ? "" : ` ${x}`);
  return `${what} on ${inst.name} with pg_partman${v(inst.versions?.partman)} and pgmq${v(inst.versions?.pgmq)}${inst.why === undefined ? "" : ` — SKIPPED: ${inst.why}`}`;
}

/**
 * Starts a PostgreSQL server for a queue suite on a free loopback port, in a fresh temporary data
 * directory: pg_partman's background worker (every `bgwIntervalSeconds`, as `owner`, in `database`) and
 * pg_stat_statements preloaded, as the stacks configure them.
 * @returns the server and its data directory (remove it after `pg.stop()`).
 */
export async function startQueueServer(
  binaries: PostgresBinaries,
  opts: { prefix: string; database: string; owner: string; bgwIntervalSeconds: number },
): Promise<{ pg: LocalPostgres; dataDir: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `${opts.prefix}-${binaries.major}-`));
  const pg = await startLocalPostgres({
    binaries,
    dataDir,
    port: await freeLoopbackPort(),
    database: opts.database,
    postgresqlConf: queueServerConf(opts),
  });
  return { pg, dataDir };
}

/** The postgresql.conf lines of `startQueueServer`: pg_partman's worker and pg_stat_statements preloaded. */
export function queueServerConf(opts: { database: string; owner: string; bgwIntervalSeconds: number }): string {
  return [
    "shared_preload_libraries = 'pg_partman_bgw, pg_stat_statements'",
    `pg_partman_bgw.interval = ${opts.bgwIntervalSeconds}`,
    `pg_partman_bgw.role = '${opts.owner}'`,
    `pg_partman_bgw.dbname = '${opts.database}'`,
  ].join("\n");
}

/** Runs SQL (several statements) in one transaction, rolled back on error: how the bootstrap Job applies it (`psql --single-transaction`). */
export async function runInTransaction(client: Client, sql: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query(sql);
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK");
    throw e;
  }
}

/**
 * A queue server (`startQueueServer`, pg_partman's worker every 60 s) with `config`'s bootstrap applied as the
 * bootstrap Job applies it, and a superuser connection to its database.
 * @returns the server, its data directory (remove it after `pg.stop()`) and the connected superuser client (end it first).
 */
export async function startBootstrappedQueueServer(
  binaries: PostgresBinaries,
  prefix: string,
  config: StackConfig,
): Promise<{ pg: LocalPostgres; dataDir: string; admin: Client }> {
  const database = config.postgres.database;
  const { pg, dataDir } = await startQueueServer(binaries, {
    prefix,
    database,
    owner: config.postgres.ownerRole,
    bgwIntervalSeconds: 60,
  });
  const admin = new PgClient({ connectionString: pg.url(database) });
  await admin.connect();
  await runInTransaction(admin, generateBootstrapSql(bootstrapSqlInputOf(config, { majorVersion: binaries.major })));
  return { pg, dataDir, admin };
}
