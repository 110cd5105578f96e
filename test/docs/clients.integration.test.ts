/**
 * docs/clients.md's code, run verbatim with real clients (node-postgres and pgmq-js 1.3.1) as the app role against a
 * real PostgreSQL with pg_partman, pgmq and the dev stack's bootstrap, once per installation
 * (test/helpers/queue-installations.ts). Every TypeScript block the page marks `<!-- tested -->` is extracted,
 * compiled with TypeScript (the page's exact text, imports and top-level await included) and run with the
 * connection of db:local's app role (loopback, no password, no TLS) in its environment; what it prints is checked.
 * Also the page's TLS advice, on the same server once it serves TLS with a self-signed CA as CloudNativePG's does
 * (made here with openssl; CloudNativePG's own certificates need a cluster, which the build machines lack): with the
 * CA, node-postgres and pgmq-js verify and connect; pg's `sslmode=require` is verify-full (fails without the CA);
 * `no-verify` encrypts without checking; no sslmode means no TLS; pgmq-js's default `ssl: true` fails on the
 * self-signed CA, and against a server without TLS.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as ts from "typescript";
import { Client } from "pg";
import { Pgmq } from "pgmq-js";
import { parseStackConfig } from "../../components/stack";
import type { LocalPostgres } from "../../scripts/lib/local-postgres";
import {
  installationTitle,
  queueInstallations,
  startBootstrappedQueueServer,
  type Installation,
} from "../helpers/queue-installations";
import { readDucklakeConfig, ROOT } from "../helpers/stack-files";

jest.setTimeout(120_000);

const DOC = path.join(ROOT, "docs", "clients.md");
const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
const { database, appUser } = config.postgres;

/** The page's TypeScript blocks preceded by `<!-- tested -->`, in order. */
function testedBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const re = /<!-- tested -->\n```ts\n([\s\S]*?)\n```/g;
  for (let m = re.exec(markdown); m !== null; m = re.exec(markdown)) blocks.push(m[1] as string);
  return blocks;
}

/**
 * Runs one block: TypeScript compiled to CommonJS as is, then run as the body of an async function (its top-level
 * awaits work there) with this test's `require`, an environment of its own and a console that records.
 * @returns what it printed with console.log.
 */
async function runBlock(code: string, env: Record<string, string>): Promise<unknown[]> {
  const js = ts.transpileModule(code, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    reportDiagnostics: true,
  });
  expect(js.diagnostics ?? []).toEqual([]);
  const printed: unknown[] = [];
  const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
    ...args: string[]
  ) => (...a: unknown[]) => Promise<void>;
  const body = new AsyncFunction("require", "exports", "process", "console", js.outputText);
  await body(require, {}, { env }, { log: (...a: unknown[]) => printed.push(...a) });
  return printed;
}

test("docs/clients.md marks its node-postgres and pgmq-js blocks as tested", () => {
  const blocks = testedBlocks(fs.readFileSync(DOC, "utf8"));
  expect(blocks).toHaveLength(2);
  expect(blocks[0]).toContain('from "pg"');
  expect(blocks[1]).toContain('from "pgmq-js"');
});

const installations: Installation[] = queueInstallations();
for (const inst of installations) {
  if (inst.why !== undefined) console.warn(`SKIPPED test/docs/clients.integration.test.ts (${inst.name}): ${inst.why}`);
  (inst.why === undefined ? describe : describe.skip)(installationTitle(inst, "docs/clients.md"), () => suite(inst));
}

function suite(inst: Installation): void {
  let pg: LocalPostgres;
  let dataDir = "";
  let admin: Client;
  let env: Record<string, string>;
  const blocks = testedBlocks(fs.readFileSync(DOC, "utf8"));

  beforeAll(async () => {
    if (inst.binaries === undefined) throw new Error(`no binaries: ${inst.why ?? ""}`);
    ({ pg, dataDir, admin } = await startBootstrappedQueueServer(inst.binaries, "ducklake-clients-it", config));
    const url = new URL(pg.url(database));
    // db:local's app role URL: postgresql://lineage_app@127.0.0.1:<port>/ducklakedb
    env = {
      DATABASE_URL: `postgresql://${appUser}@127.0.0.1:${url.port}/${database}`,
      PGHOST: "127.0.0.1",
      PGPORT: url.port,
      PGDATABASE: database,
      PGUSER: appUser,
    };
  });

  afterAll(async () => {
    await admin?.end();
    await pg?.stop();
    if (dataDir !== "") fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** The queue's messages, the archive's and the DLQ's, as the owner sees them. */
  async function state(): Promise<Record<string, unknown>> {
    const r = await admin.query(
      `SELECT (SELECT json_agg(json_build_object('id', msg_id, 'read_ct', read_ct, 'message', message, 'key', headers->>'idempotency_key') ORDER BY msg_id) FROM pgmq.q_lineage_events) AS queue,
              (SELECT json_agg(msg_id ORDER BY msg_id) FROM pgmq.a_lineage_events) AS archive,
              (SELECT count(*)::int FROM pgmq.q_lineage_events_dlq) AS dlq`,
    );
    return r.rows[0] as Record<string, unknown>;
  }

  test("node-postgres: send, keyed send and its retry, DLQ-aware read, archive and delete, as the app role", async () => {
    const printed = await runBlock(blocks[0] as string, env);
    expect(printed).toHaveLength(1);
    const out = printed[0] as {
      sent: string;
      first: { msg_id: string; duplicate: boolean };
      retry: { msg_id: string; duplicate: boolean };
      read: string[];
    };
    expect(out.first.duplicate).toBe(false);
    expect(out.retry).toEqual({ msg_id: out.first.msg_id, duplicate: true });
    // The keyed retry enqueued nothing: two messages were read, the plain one and the keyed one.
    expect(out.read).toEqual([out.sent, out.first.msg_id]);
    expect(await state()).toEqual({ queue: null, archive: [Number(out.sent)], dlq: 0 });
    // It ran as the app role, not as a superuser: the role that connected is in pg_stat_statements' user list.
    const who = await admin.query(
      "SELECT DISTINCT r.rolname FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE s.query LIKE 'SELECT msg_id, duplicate FROM ops.send_idempotent(%'",
    );
    expect(who.rows).toEqual([{ rolname: appUser }]);
  });

  test("pgmq-js 1.3.1: send, read and delete as the app role, TLS off as db:local needs", async () => {
    const printed = await runBlock(blocks[1] as string, env);
    expect(printed).toHaveLength(1);
    const out = printed[0] as { id: number; read: number; message: unknown; deleted: boolean };
    expect(out.read).toBe(out.id);
    expect(out.message).toEqual({ eventType: "START", run: "r-2" });
    expect(out.deleted).toBe(true);
    expect((await state())["queue"]).toBeNull();
  });

  test("pgmq-js with its default ssl (true) fails against db:local, which has no TLS", async () => {
    await expect(pgmqDefaultSslSend()).rejects.toThrow(/does not support SSL/);
  });

  /** pgmq-js as the app role with its default `ssl` (true): one send. */
  async function pgmqDefaultSslSend(ssl?: unknown): Promise<number> {
    const q = await Pgmq.new(
      {
        host: "127.0.0.1",
        port: Number(env["PGPORT"]),
        database,
        user: appUser,
        password: "",
        idleTimeoutMillis: 1000,
        max: 1,
        ...(ssl === undefined ? {} : { ssl: ssl as boolean }),
      },
      { skipExtensionCreation: true },
    );
    try {
      return await q.msg.send("lineage_events", { n: 1 });
    } finally {
      await q.close();
    }
  }

  describe("TLS with a self-signed CA, as CloudNativePG serves it", () => {
    let certDir = "";
    let ca = "";
    /** Whether the app role's session runs over TLS (pg_stat_ssl), connecting with `config`. */
    async function sslOf(config: ConstructorParameters<typeof Client>[0]): Promise<boolean> {
      const c = new Client(config);
      await c.connect();
      try {
        const r = await c.query("SELECT ssl, current_user AS u FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
        expect(r.rows[0].u).toBe(appUser);
        return r.rows[0].ssl as boolean;
      } finally {
        await c.end();
      }
    }

    beforeAll(async () => {
      // A CA and a server certificate it signs, naming 127.0.0.1 (CloudNativePG's names its services).
      certDir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-clients-tls-"));
      const f = (n: string) => path.join(certDir, n);
      const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
      openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        f("ca.key"),
        "-out",
        f("ca.crt"),
      );
      openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        f("server.key"),
        "-out",
        f("server.csr"),
      );
      fs.writeFileSync(f("san.ext"), "subjectAltName = IP:127.0.0.1, DNS:localhost\n");
      openssl(
        "x509",
        "-req",
        "-in",
        f("server.csr"),
        "-CA",
        f("ca.crt"),
        "-CAkey",
        f("ca.key"),
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        f("san.ext"),
        "-out",
        f("server.crt"),
      );
      ca = fs.readFileSync(f("ca.crt"), "utf8");
      // Into the data directory, owned like it (the server refuses a key others can read).
      const { uid, gid } = fs.statSync(dataDir);
      for (const n of ["server.crt", "server.key"]) {
        fs.copyFileSync(f(n), path.join(dataDir, n));
        fs.chownSync(path.join(dataDir, n), uid, gid);
        fs.chmodSync(path.join(dataDir, n), 0o600);
      }
      await admin.query("ALTER SYSTEM SET ssl = on");
      await admin.query("SELECT pg_reload_conf()");
      for (let i = 0; i < 50 && (await admin.query("SHOW ssl")).rows[0].ssl !== "on"; i++)
        await new Promise((r) => setTimeout(r, 100));
    });

    afterAll(() => {
      if (certDir !== "") fs.rmSync(certDir, { recursive: true, force: true });
    });

    test("node-postgres: no sslmode, no TLS; with the CA, TLS verified; sslmode=require without it fails; no-verify encrypts", async () => {
      const url = env["DATABASE_URL"] as string;
      expect(await sslOf({ connectionString: url })).toBe(false);
      expect(await sslOf({ connectionString: url, ssl: { ca } })).toBe(true);
      const rootcert = path.join(certDir, "ca.crt");
      expect(await sslOf({ connectionString: `${url}?sslmode=verify-full&sslrootcert=${rootcert}` })).toBe(true);
      await expect(sslOf({ connectionString: `${url}?sslmode=require` })).rejects.toThrow(
        /unable to verify the first certificate|self[- ]signed certificate/,
      );
      expect(await sslOf({ connectionString: `${url}?sslmode=no-verify` })).toBe(true);
    });

    test("pgmq-js: its default ssl (true) fails on the self-signed CA; ssl: { ca } verifies and sends", async () => {
      await expect(pgmqDefaultSslSend()).rejects.toThrow(
        /unable to verify the first certificate|self[- ]signed certificate/,
      );
      expect(await pgmqDefaultSslSend({ ca })).toBeGreaterThan(0);
    });
  });
}
