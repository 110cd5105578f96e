/**
 * One escaping function per target, tried against the target itself (issue 20): a string setting rendered by the
 * tuning engine's postgresql.conf writer (`confLine`) must come back from PostgreSQL's own parser unchanged, whatever
 * it holds (quotes, backslashes, comment characters, `include`, `=`), and must never set anything else. Checked with
 * `postgres -C` on a fresh data directory whose configuration includes the rendered line, then a second setting the
 * value tries to inject. The same strings go through the generators' SQL literal (`sqlLiteral`) into a real server and
 * must come back unchanged. Debian's 15 and the npm package's 17.
 */
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { confLine } from "../../components/postgres/tuning";
import { sqlLiteral } from "../../components/queue/sql";
import {
  findPostgresBinaries,
  freeLoopbackPort,
  runServerCommand,
  serverOwnedTempDir,
  startLocalPostgres,
  type PostgresBinaries,
} from "../../scripts/lib/local-postgres";

jest.setTimeout(120_000);

const HOSTILE = [
  "plain",
  "it's",
  "back\\slash",
  "trailing backslash \\",
  "\\' , fsync = off",
  "'; fsync = off; --",
  "# not a comment",
  "include '/etc/passwd'",
  "a = b",
  "\\n is not a newline",
  "''",
  "%m [%p] %q%u@%d ",
];

for (const major of [15, 17]) {
  let bin: PostgresBinaries | undefined;
  let why = "";
  try {
    bin = findPostgresBinaries(major);
  } catch (e) {
    why = (e as Error).message;
  }
  (bin === undefined ? describe.skip : describe)(
    `postgresql.conf string escaping on PostgreSQL ${major}${bin === undefined ? ` — SKIPPED: ${why}` : ""}`,
    () => {
      let dir = "";
      beforeAll(async () => {
        dir = serverOwnedTempDir(`ducklake-conf-escape-${major}-`);
        await runServerCommand(bin!, "initdb", ["-D", path.join(dir, "d"), "-U", "postgres", "--auth=trust"], dir);
      });
      afterAll(() => {
        if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
      });

      test.each(HOSTILE)("%j comes back unchanged and sets nothing else", async (value) => {
        const conf = path.join(dir, "d", "postgresql.auto.conf");
        fs.writeFileSync(conf, `${confLine({ name: "log_line_prefix", value })}\n`);
        if (process.getuid?.() === 0) {
          const st = fs.statSync(path.join(dir, "d"));
          fs.chownSync(conf, st.uid, st.gid);
        }
        const show = async (name: string) =>
          (await runServerCommand(bin!, "postgres", ["-D", path.join(dir, "d"), "-C", name], dir)).replace(/\n$/, "");
        expect(await show("log_line_prefix")).toBe(value);
        expect(await show("fsync")).toBe("on");
      });

      test("every string comes back unchanged through sqlLiteral on a running server", async () => {
        const dataDir = path.join(dir, "sql");
        const pg = await startLocalPostgres({ binaries: bin!, dataDir, port: await freeLoopbackPort() });
        const c = new Client({ connectionString: pg.url() });
        await c.connect();
        try {
          for (const value of HOSTILE) {
            const r = await c.query(`SELECT ${sqlLiteral(value)} AS v`);
            expect(r.rows[0].v).toBe(value);
          }
        } finally {
          await c.end();
          await pg.stop();
        }
      });
    },
  );
}
