/**
 * PGMQ upgraded in place with messages in flight (issue 22): what a CloudNativePG image update does. A database
 * bootstrapped on one installation (its pgmq, say 1.5.1) holds visible, invisible (read, not deleted), archived and
 * dead-lettered messages; the server stops and starts on a second installation of the same PostgreSQL major and
 * pg_partman whose image carries a newer pgmq (the same data directory: a new image on the same volume); producers
 * and consumers run while the bootstrap of this commit runs `ALTER EXTENSION pgmq UPDATE` (components/queue/
 * bootstrap-sql.ts, section 3). Then:
 * - the extension is at the new version, and a second bootstrap changes nothing;
 * - every message from before is where it was with its read count, or was read once more and deleted by a consumer;
 * - every message a producer had acknowledged is in the queue or was consumed, exactly once;
 * - producers and consumers made progress during the upgrade (their errors are counted and printed);
 * - the new version's FIFO read with dead letters (`ops.read_grouped_with_dlq`, pgmq >= 1.11.1) works for the app role, on
 *   the group index the bootstrap built (`fifoGroups`).
 *
 * Pairs come from test/helpers/queue-installations.ts: Debian's 15 and every DUCKLAKE_EXTRA_PG_BIN_DIRS entry; two
 * installations pair when they share the major and pg_partman's version and differ in pgmq's. docs/queue.md
 * ("PGMQ versions and upgrades") says how to make the second installation.
 */
import * as fs from "fs";
import { Client } from "pg";
import { parseStackConfig } from "../../components/stack";
import { bootstrapSqlInputOf, generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import { freeLoopbackPort, startLocalPostgres, type PostgresBinaries } from "../../scripts/lib/local-postgres";
import { extensionDefaultVersion } from "../helpers/extra-postgres";
import {
  queueInstallations,
  queueServerConf,
  startQueueServer,
  runInTransaction,
} from "../helpers/queue-installations";
import { readDucklakeConfig } from "../helpers/stack-files";

jest.setTimeout(180_000);

const QUEUE = "lineage_events";
const DLQ = "lineage_events_dlq";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `1.11.1` < `1.5.1` as version numbers, not strings. */
function versionBelow(a: string, b: string): boolean {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) < (pb[i] ?? 0);
  }
  return false;
}

interface Side {
  binaries: PostgresBinaries;
  pgmq: string;
  partman: string;
}

/** Installations that can run the queue, with their pgmq and pg_partman versions. */
function sides(): Side[] {
  return queueInstallations()
    .filter((i) => i.why === undefined && i.binaries !== undefined)
    .map((i) => ({
      binaries: i.binaries!,
      pgmq: extensionDefaultVersion(i.binaries!, "pgmq") ?? "?",
      partman: extensionDefaultVersion(i.binaries!, "pg_partman") ?? "?",
    }));
}

const all = sides();
const pairs: Array<[Side, Side]> = [];
for (const from of all)
  for (const to of all)
    if (
      from.binaries.major === to.binaries.major &&
      from.partman === to.partman &&
      versionBelow(from.pgmq, to.pgmq) &&
      fs.existsSync(`${to.binaries.sharedir}/extension/pgmq--${from.pgmq}--${nextStepAfter(from, to)}.sql`)
    )
      pairs.push([from, to]);

/** The first upgrade script's target from `from.pgmq` in `to`'s extension directory (PostgreSQL walks the chain). */
function nextStepAfter(from: Side, to: Side): string {
  const prefix = `pgmq--${from.pgmq}--`;
  const step = fs
    .readdirSync(`${to.binaries.sharedir}/extension`)
    .find((f) => f.startsWith(prefix) && f.endsWith(".sql"));
  return step === undefined ? "none" : step.slice(prefix.length, -".sql".length);
}

const found =
  all.map((s) => `PostgreSQL ${s.binaries.version} pgmq ${s.pgmq} partman ${s.partman}`).join("; ") || "none";
(pairs.length > 0 ? describe : describe.skip)(
  pairs.length > 0
    ? `pgmq upgrade in place (${pairs.length} pair${pairs.length === 1 ? "" : "s"} of installations)`
    : "pgmq upgrade in place — SKIPPED: needs two installations of one PostgreSQL major with the same pg_partman and " +
        `different pgmq versions, the newer one carrying the upgrade scripts (found: ${found}; ` +
        "DUCKLAKE_EXTRA_PG_BIN_DIRS, docs/queue.md 'PGMQ versions and upgrades')",
  () => {
    if (pairs.length === 0) test("upgrade", () => undefined);
    for (const [from, to] of pairs) upgradeSuite(from, to);
  },
);

/** The upgrade from one installation's pgmq to another's, on the same data directory. */
function upgradeSuite(from: Side, to: Side): void {
  describe(`pgmq ${from.pgmq} -> ${to.pgmq} in place on PostgreSQL ${to.binaries.version} (${from.binaries.binDir} -> ${to.binaries.binDir})`, () => {
    const { config: dev } = parseStackConfig(readDucklakeConfig("dev"), "dev");
    // FIFO per job on the lineage queue (fifoGroups: its group index), as a stack that uses it configures it
    const config = {
      ...dev,
      queues: {
        ...dev.queues,
        definitions: dev.queues.definitions.map((q) => (q.name === QUEUE ? { ...q, fifoGroups: true } : q)),
      },
    };
    const database = config.postgres.database;
    const owner = config.postgres.ownerRole;
    const app = config.postgres.appUser;
    const bootstrap = generateBootstrapSql({ ...bootstrapSqlInputOf(config), majorVersion: to.binaries.major });
    let dataDir = "";

    afterAll(() => {
      if (dataDir !== "") fs.rmSync(dataDir, { recursive: true, force: true });
    });

    test("every message survives with its read count; producers and consumers keep working through the upgrade", async () => {
      // 1. The old installation: bootstrap, then messages in every state.
      const old = await startQueueServer(from.binaries, {
        prefix: "ducklake-upgrade",
        database,
        owner,
        bgwIntervalSeconds: 60,
      });
      dataDir = old.dataDir;
      const admin = new Client({ connectionString: old.pg.url() });
      await admin.connect();
      await runInTransaction(admin, bootstrap);
      expect((await admin.query("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'")).rows[0].extversion).toBe(
        from.pgmq,
      );
      await admin.query(
        `SELECT pgmq.send_batch($1, (SELECT array_agg(jsonb_build_object('i', g)) FROM generate_series(1, 2000) g))`,
        [QUEUE],
      );
      await admin.query(`SELECT * FROM pgmq.read($1, 0, 50)`, [QUEUE]); // 1..50: read once, visible again
      await admin.query(`SELECT * FROM ops.read_with_dlq($1, 3600, 50, 1)`, [QUEUE]); // 1..50 -> dead letters
      await admin.query(`SELECT * FROM pgmq.read($1, 3600, 300)`, [QUEUE]); // 51..350: invisible for an hour
      await admin.query(`SELECT pgmq.archive($1, (SELECT array_agg(g::bigint) FROM generate_series(351, 550) g))`, [
        QUEUE,
      ]);
      const snapshot = async (c: Client) => ({
        queue: new Map(
          (
            await c.query(`SELECT msg_id, read_ct, message FROM pgmq.q_${QUEUE} WHERE (message->>'i') IS NOT NULL`)
          ).rows.map((r) => [String(r.msg_id), `${r.read_ct} ${JSON.stringify(r.message)}`]),
        ),
        archive: (await c.query(`SELECT msg_id, read_ct, message FROM pgmq.a_${QUEUE} ORDER BY msg_id`)).rows.map(
          (r) => `${r.msg_id} ${r.read_ct} ${JSON.stringify(r.message)}`,
        ),
        dead: (
          await c.query(
            `SELECT message, headers->'dead_letter'->>'source_msg_id' AS src FROM pgmq.q_${DLQ} ORDER BY msg_id`,
          )
        ).rows.map((r) => `${r.src} ${JSON.stringify(r.message)}`),
      });
      const before = await snapshot(admin);
      expect([before.queue.size, before.archive.length, before.dead.length]).toEqual([1750, 200, 50]);
      await admin.end();
      await old.pg.stop();

      // 2. The new installation on the same data directory (a new image on the same volume).
      const pg = await startLocalPostgres({
        binaries: to.binaries,
        dataDir,
        port: await freeLoopbackPort(),
        database,
        postgresqlConf: queueServerConf({ database, owner, bgwIntervalSeconds: 60 }),
      });
      try {
        const url = pg.url();
        const appUrl = url.replace("postgres@", `${app}@`);
        const stop = { now: false };
        const sent: string[] = [];
        const consumed = new Map<string, number>(); // msg_id -> read_ct seen
        const errors: string[] = [];
        const progress = { sends: 0, reads: 0 };
        const producer = async () => {
          const c = new Client({ connectionString: appUrl });
          await c.connect();
          try {
            for (let n = 0; !stop.now; n++) {
              try {
                const r = await c.query(`SELECT pgmq.send($1, jsonb_build_object('p', $2::int)) AS id`, [QUEUE, n]);
                sent.push(String(r.rows[0].id));
                progress.sends++;
              } catch (e) {
                errors.push(`send: ${(e as Error).message}`);
                await sleep(20);
              }
            }
          } finally {
            await c.end();
          }
        };
        const consumer = async () => {
          const c = new Client({ connectionString: appUrl });
          await c.connect();
          try {
            while (!stop.now) {
              try {
                await c.query("BEGIN");
                const got = await c.query(`SELECT msg_id, read_ct FROM ops.read_with_dlq($1, 30, 20)`, [QUEUE]);
                for (const m of got.rows) {
                  expect(consumed.has(String(m.msg_id))).toBe(false);
                  consumed.set(String(m.msg_id), Number(m.read_ct));
                }
                if (got.rows.length > 0)
                  await c.query(`SELECT pgmq.delete($1, $2::bigint[])`, [QUEUE, got.rows.map((m) => m.msg_id)]);
                await c.query("COMMIT");
                progress.reads += got.rows.length;
              } catch (e) {
                await c.query("ROLLBACK").catch(() => undefined);
                errors.push(`read: ${(e as Error).message}`);
                await sleep(20);
              }
            }
          } finally {
            await c.end();
          }
        };
        const load = Promise.all([producer(), producer(), consumer(), consumer()]);
        await sleep(500);
        const atUpgrade = { ...progress };
        const su = new Client({ connectionString: url });
        su.on("error", () => undefined); // pg.stop() below ends it if an expectation failed first
        await su.connect();
        const notices: string[] = [];
        su.on("notice", (n) => notices.push(n.message ?? ""));
        const t0 = Date.now();
        await runInTransaction(su, bootstrap).catch(async (e: unknown) => {
          stop.now = true; // a failed upgrade must not leave the clients running
          await load;
          throw e;
        });
        const upgradeMs = Date.now() - t0;
        await sleep(1000);
        const afterUpgrade = { ...progress };
        stop.now = true;
        await load;

        // 3. The extension is at the new version; the bootstrap said so once, and a second run changes nothing.
        expect((await su.query("SELECT extversion FROM pg_extension WHERE extname = 'pgmq'")).rows[0].extversion).toBe(
          to.pgmq,
        );
        expect(notices).toContain(`pgmq updated in place from ${from.pgmq} to ${to.pgmq}`);
        notices.length = 0;
        await runInTransaction(su, bootstrap);
        expect(notices.filter((n) => n.includes("updated in place"))).toEqual([]);

        // 4. Every message from before: where it was with its read count, or consumed (read once more, deleted).
        const after = await snapshot(su);
        expect(after.archive).toEqual(before.archive);
        expect(after.dead).toEqual(before.dead);
        let kept = 0;
        let readOnce = 0;
        for (const [id, state] of before.queue) {
          const now = after.queue.get(id);
          if (now !== undefined) {
            expect(`${id} ${now}`).toBe(`${id} ${state}`);
            kept++;
          } else {
            expect(`${id} ${consumed.get(id)}`).toBe(`${id} ${Number(state.split(" ")[0]) + 1}`);
            readOnce++;
          }
        }
        // the invisible ones (51..350) were never handed out again
        for (let id = 51; id <= 350; id++) expect(after.queue.get(String(id))?.startsWith("1 ")).toBe(true);

        // 5. Every acknowledged send is queued or was consumed, once.
        const queuedSent = new Set(
          (await su.query(`SELECT msg_id FROM pgmq.q_${QUEUE} WHERE msg_id = ANY($1::bigint[])`, [sent])).rows.map(
            (r) => String(r.msg_id),
          ),
        );
        const lost = sent.filter((id) => !queuedSent.has(id) && !consumed.has(id));
        expect(lost).toEqual([]);
        expect(new Set(sent).size).toBe(sent.length);

        // 6. Work went on during and after the upgrade.
        expect(afterUpgrade.sends).toBeGreaterThan(atUpgrade.sends);
        expect(afterUpgrade.reads).toBeGreaterThan(atUpgrade.reads);
        const distinctErrors = [...new Set(errors)];
        console.log(
          `pgmq ${from.pgmq} -> ${to.pgmq} on PostgreSQL ${to.binaries.version}: bootstrap with the upgrade ${upgradeMs} ms; ` +
            `${before.queue.size} queued (${kept} untouched, ${readOnce} consumed after the restart), ${before.archive.length} archived, ${before.dead.length} dead letters kept; ` +
            `${sent.length} sent and ${consumed.size} consumed during the run; ${errors.length} client errors${distinctErrors.length > 0 ? `: ${distinctErrors.join(" | ")}` : ""}`,
        );
        // In-flight consumer transactions may fail while the upgrade holds the queue tables: a deadlock (the consumer is
        // the victim: the bootstrap sets a longer deadlock_timeout), or a read that started on the old
        // pgmq.message_record and returns after its type was replaced. Both roll back (nothing lost, as checked
        // above) and the consumer's retry works. Anything else is a failure.
        expect(errors.length).toBeLessThan(20);
        expect(
          errors.filter(
            (e) => !/^read: (deadlock detected|invalid input syntax for type timestamp with time zone)/.test(e),
          ),
        ).toEqual([]);

        // 7. What the new version brings: FIFO per message group with dead letters, for the app role, on the group index.
        expect(
          (
            await su.query(
              `SELECT indexdef FROM pg_indexes WHERE schemaname = 'pgmq' AND indexname = 'q_${QUEUE}_group_idx'`,
            )
          ).rows[0]?.indexdef,
        ).toContain("COALESCE((headers ->> 'x-pgmq-group'::text), '_default_fifo_group'::text), msg_id");
        const fifo = new Client({ connectionString: appUrl });
        await fifo.connect();
        try {
          const head = await su.query(
            "SELECT to_regprocedure('pgmq.read_grouped_head(text, integer, integer)') IS NOT NULL AS has",
          );
          if (head.rows[0].has) {
            await su.query(`SELECT pgmq.purge_queue($1)`, [QUEUE]);
            const ids: Record<string, string> = {};
            for (const [job, step] of [
              ["a", 1],
              ["b", 1],
              ["a", 2],
              ["b", 2],
              ["a", 3],
            ] as const)
              ids[`${job}${step}`] = (
                await fifo.query(`SELECT pgmq.send($1, $2::jsonb, $3::jsonb) AS id`, [
                  QUEUE,
                  JSON.stringify({ job, step }),
                  JSON.stringify({ "x-pgmq-group": `ns/${job}` }),
                ])
              ).rows[0].id;
            const read = async (maxDeliveries?: number) =>
              (
                await fifo.query(`SELECT message FROM ops.read_grouped_with_dlq($1, 30, 10, $2)`, [
                  QUEUE,
                  maxDeliveries ?? null,
                ])
              ).rows.map((r) => `${r.message.job}${r.message.step}`);
            expect(await read()).toEqual(["a1", "b1"]); // each group's oldest
            expect(await read()).toEqual([]); // both heads are being processed: nothing later is handed out
            await fifo.query(`SELECT pgmq.delete($1, $2::bigint)`, [QUEUE, ids["a1"]]);
            expect(await read()).toEqual(["a2"]);
            // b1 comes back (visibility timeout over) after one delivery: with a limit of 1 it moves to the DLQ
            await fifo.query(`SELECT * FROM pgmq.set_vt($1, $2::bigint, 0)`, [QUEUE, ids["b1"]]);
            expect(await read(1)).toEqual([]);
            expect(
              (
                await su.query(
                  `SELECT count(*)::int AS n FROM pgmq.q_${DLQ} WHERE headers->'dead_letter'->>'source_msg_id' = $1`,
                  [ids["b1"]],
                )
              ).rows[0].n,
            ).toBe(1);
            expect(await read()).toEqual(["b2"]); // the group goes on behind its dead letter
          }
        } finally {
          await fifo.end();
        }
        await su.end();
      } finally {
        await pg.stop();
      }
    });
  });
}
