/**
 * Point-in-time recovery of the queue database, practised on real PostgreSQL (issue 16): what the Barman Cloud
 * plugin does on EKS (continuous WAL archiving, a base backup, a restore to a target time), done here with
 * PostgreSQL's own tools on loopback: `archive_command` copying each WAL segment to a local directory,
 * a base backup with the low-level API (`pg_backup_start`, a copy of the data directory without pg_wal,
 * `pg_backup_stop`'s backup_label; what barman-cloud-backup does, and it needs no pg_basebackup, which the npm
 * PostgreSQL builds lack), and a restore with `restore_command` and `recovery_target_time`
 * (https://www.postgresql.org/docs/current/continuous-archiving.html#BACKUP-LOWLEVEL-BASE-BACKUP).
 *
 * The server runs the prod stack's own tuning (fitted to this machine's memory, as `npm run db:local` fits it;
 * synchronous_commit = on) and its bootstrap. Producers send with `pgmq.send` and `pgmq.send_batch` and record each
 * acknowledged msg_id with the time its call returned; a consumer archives some of them meanwhile. The restore
 * targets a time in the middle of the run. Checks: every message acknowledged before the target is in the restored
 * queue or its archive (0 missing), and no message whose send began after the target is (recovery stopped there).
 * Runs on every installation of test/helpers/queue-installations.ts; prints the figures and the WAL written per
 * message (docs/backups.md, "WAL volume").
 */
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { parseStackConfig } from "../../components/stack";
import { bootstrapSqlInputOf, generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import { localTuning } from "../../scripts/db-local";
import {
  freeLoopbackPort,
  serverOwnedTempDir,
  startLocalPostgres,
  type LocalPostgres,
} from "../../scripts/lib/local-postgres";
import {
  installationTitle,
  queueInstallations,
  runInTransaction,
  type Installation,
} from "../helpers/queue-installations";
import { readDucklakeConfig } from "../helpers/stack-files";

jest.setTimeout(240_000);

/** Seconds of load on each side of the target time. */
const HALF_RUN_MS = 3_000;
const QUEUE = "lineage_events";

/** One acknowledged send: the ids it returned, when the call began and when it returned (ms since the epoch). */
interface Ack {
  ids: number[];
  startedMs: number;
  ackedMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What a base backup leaves out of the data directory (the docs' list: "Backing Up the Data Directory"): WAL, the
 * running server's pid and options, and directories whose contents are rebuilt at start; plus this harness's own
 * server log and Unix socket.
 */
const BACKUP_EXCLUDED_CONTENTS = [
  "pg_wal",
  "pg_replslot",
  "pg_dynshmem",
  "pg_notify",
  "pg_serial",
  "pg_snapshots",
  "pg_stat_tmp",
  "pg_subtrans",
];
const BACKUP_EXCLUDED_FILES = ["postmaster.pid", "postmaster.opts", "server.log"];

/** Copies a live data directory, skipping the exclusions, sockets, and files removed while it copies. */
function copyDataDir(from: string, to: string, top = true): void {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, entry.name);
    const dst = path.join(to, entry.name);
    if (top && BACKUP_EXCLUDED_FILES.includes(entry.name)) continue;
    if (entry.isDirectory()) {
      fs.mkdirSync(dst, { mode: 0o700 });
      if (!(top && BACKUP_EXCLUDED_CONTENTS.includes(entry.name))) copyDataDir(src, dst, false);
    } else if (entry.isFile()) {
      try {
        fs.copyFileSync(src, dst);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err; // a temporary file gone meanwhile
      }
    }
  }
}

/** Gives a tree to `uid`:`gid` (the server's user, when this process is root). */
function chownTree(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else fs.chownSync(p, uid, gid);
  }
}

/**
 * A base backup of a running server into `backupDir` with the low-level API: `pg_backup_start(label, fast)`, a copy
 * of the data directory, `pg_backup_stop()` whose label file becomes `backup_label` (PostgreSQL 15+ names).
 */
async function lowLevelBaseBackup(url: string, dataDir: string, backupDir: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query("SELECT pg_backup_start('ducklake pitr test', true)");
    copyDataDir(dataDir, backupDir);
    const stop = await c.query("SELECT labelfile, spcmapfile FROM pg_backup_stop(true)");
    fs.writeFileSync(path.join(backupDir, "backup_label"), stop.rows[0].labelfile as string);
    const spcmap = stop.rows[0].spcmapfile as string | null;
    if (spcmap) fs.writeFileSync(path.join(backupDir, "tablespace_map"), spcmap);
  } finally {
    await c.end();
  }
  const owner = fs.statSync(dataDir);
  if (process.getuid?.() === 0) chownTree(backupDir, owner.uid, owner.gid);
}

/** The prod stack's postgresql.conf for this major, fitted to this machine, plus WAL archiving to `archiveDir`. */
function confWithArchive(major: number, archiveDir: string): { conf: string; database: string } {
  const { config } = parseStackConfig(readDucklakeConfig("prod"), "prod");
  const conf = [
    localTuning(config, major, `stack prod, PostgreSQL ${major}, test/queue/pitr.integration.test.ts`).conf,
    "# WAL archiving (what the Barman Cloud plugin's archive_command does, to a local directory)",
    "wal_level = replica",
    "archive_mode = on",
    `archive_command = 'test ! -f ${archiveDir}/%f && cp %p ${archiveDir}/%f'`,
    "max_wal_senders = 4",
  ].join("\n");
  return { conf, database: config.postgres.database };
}

async function producer(url: string, batch: boolean, until: () => boolean, acks: Ack[]): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    let i = 0;
    while (!until()) {
      const startedMs = Date.now();
      const r = batch
        ? await c.query(
            `SELECT pgmq.send_batch($1, (SELECT array_agg(jsonb_build_object('i', g, 'p', $2::int)) FROM generate_series(1, 20) g)) AS id`,
            [QUEUE, i],
          )
        : await c.query("SELECT pgmq.send($1, jsonb_build_object('i', $2::int)) AS id", [QUEUE, i]);
      acks.push({ ids: r.rows.map((row: { id: string }) => Number(row.id)), startedMs, ackedMs: Date.now() });
      i++;
    }
  } finally {
    await c.end();
  }
}

/** Reads and archives messages while the producers run: archived rows must survive the restore too. */
async function archiver(url: string, until: () => boolean): Promise<number> {
  const c = new Client({ connectionString: url });
  await c.connect();
  let archived = 0;
  try {
    while (!until()) {
      const r = await c.query("SELECT msg_id FROM pgmq.read($1, 30, 10)", [QUEUE]);
      const ids = r.rows.map((row: { msg_id: string }) => Number(row.msg_id));
      if (ids.length > 0) {
        await c.query("SELECT pgmq.archive($1, $2::bigint[])", [QUEUE, ids]);
        archived += ids.length;
      } else await sleep(20);
    }
  } finally {
    await c.end();
  }
  return archived;
}

const installations = queueInstallations();
for (const inst of installations) {
  (inst.why === undefined ? describe : describe.skip)(installationTitle(inst, "point-in-time recovery"), () =>
    suite(inst),
  );
}

function suite(inst: Installation): void {
  let primary: LocalPostgres | undefined;
  let restored: LocalPostgres | undefined;
  const dirs: string[] = [];

  afterAll(async () => {
    await primary?.stop().catch(() => undefined);
    await restored?.stop().catch(() => undefined);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  test("every message acknowledged before the target time is there after the restore, and nothing sent after it", async () => {
    const binaries = inst.binaries!;
    const archiveDir = serverOwnedTempDir(`ducklake-pitr-archive-${binaries.major}-`);
    const backupDir = serverOwnedTempDir(`ducklake-pitr-backup-${binaries.major}-`);
    const dataDir = serverOwnedTempDir(`ducklake-pitr-data-${binaries.major}-`);
    dirs.push(archiveDir, backupDir, dataDir);
    const { conf, database } = confWithArchive(binaries.major, archiveDir);
    const { config } = parseStackConfig(readDucklakeConfig("prod"), "prod");

    primary = await startLocalPostgres({
      binaries,
      dataDir,
      port: await freeLoopbackPort(),
      postgresqlConf: conf,
      database,
    });
    const admin = new Client({ connectionString: primary.url() });
    await admin.connect();
    await runInTransaction(
      admin,
      generateBootstrapSql({ ...bootstrapSqlInputOf(config), majorVersion: binaries.major }),
    );
    await admin.query('SELECT pgmq.send_batch($1, ARRAY[\'{"before": "base backup"}\'::jsonb])', [QUEUE]);

    // The base backup, taken while the queue exists, with PostgreSQL's low-level API, as barman-cloud-backup
    // takes it: no WAL in it (the restore reads the archive).
    await lowLevelBaseBackup(primary.url(), dataDir, backupDir);

    // Load on both sides of the target: two single-message producers, two batch producers, an archiving consumer.
    const walBefore = await admin.query("SELECT pg_current_wal_lsn() AS lsn");
    const acks: Ack[] = [];
    const t0 = Date.now();
    const stopAt = t0 + 2 * HALF_RUN_MS;
    const until = (): boolean => Date.now() >= stopAt;
    const url = primary.url();
    const work = Promise.all([
      producer(url, false, until, acks),
      producer(url, false, until, acks),
      producer(url, true, until, acks),
      producer(url, true, until, acks),
      archiver(url, until),
    ]);
    await sleep(HALF_RUN_MS);
    const target = new Date();
    const [, , , , archivedCount] = await work;
    const walAfter = await admin.query(
      "SELECT pg_current_wal_lsn() AS lsn, pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS bytes",
      [walBefore.rows[0].lsn],
    );
    // Close the current segment and wait until the archiver has it: the restore reads only archived WAL.
    const switched = await admin.query("SELECT pg_walfile_name(pg_switch_wal()) AS file");
    const lastFile = switched.rows[0].file as string;
    for (let i = 0; i < 300 && !fs.existsSync(path.join(archiveDir, lastFile)); i++) await sleep(100);
    expect(fs.existsSync(path.join(archiveDir, lastFile))).toBe(true);
    await admin.end();
    await primary.stop();

    const targetMs = target.getTime();
    const before = acks.filter((a) => a.ackedMs < targetMs).flatMap((a) => a.ids);
    const after = acks.filter((a) => a.startedMs > targetMs).flatMap((a) => a.ids);
    const sent = acks.reduce((n, a) => n + a.ids.length, 0);
    expect(before.length).toBeGreaterThan(100);
    expect(after.length).toBeGreaterThan(100);

    // The restore: the base backup, recovery.signal, restore_command from the archive, the target time.
    fs.writeFileSync(path.join(backupDir, "recovery.signal"), "");
    if (process.getuid?.() === 0) {
      const st = fs.statSync(backupDir);
      fs.chownSync(path.join(backupDir, "recovery.signal"), st.uid, st.gid);
    }
    const restoreConf = [
      conf.replace(/^archive_mode = on$/m, "archive_mode = off"),
      "# Restore (what the Barman Cloud plugin's recovery does)",
      `restore_command = 'cp ${archiveDir}/%f %p'`,
      // PostgreSQL's timestamp spelling: this GUC refuses the ISO "T...Z" form (CloudNativePG converts an RFC 3339 targetTime).
      `recovery_target_time = '${target.toISOString().replace("T", " ").replace("Z", "+00")}'`,
      "recovery_target_action = 'promote'",
    ].join("\n");
    restored = await startLocalPostgres({
      binaries,
      dataDir: backupDir,
      port: await freeLoopbackPort(),
      postgresqlConf: restoreConf,
    });
    const c = new Client({ connectionString: restored.url(database) });
    await c.connect();
    try {
      for (let i = 0; i < 600; i++) {
        const r = await c.query("SELECT pg_is_in_recovery() AS r");
        if (r.rows[0].r === false) break;
        await sleep(100);
      }
      expect((await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r).toBe(false);
      const present = new Set(
        (await c.query(`SELECT msg_id FROM pgmq.q_${QUEUE} UNION ALL SELECT msg_id FROM pgmq.a_${QUEUE}`)).rows.map(
          (r: { msg_id: string }) => Number(r.msg_id),
        ),
      );
      const missing = before.filter((id) => !present.has(id));
      const resurrected = after.filter((id) => present.has(id));
      const walBytes = Number(walAfter.rows[0].bytes);
      console.log(
        `point-in-time recovery on PostgreSQL ${binaries.version} (prod tuning): ${sent} messages sent in ${(2 * HALF_RUN_MS) / 1000} s, ` +
          `${archivedCount} archived by a consumer; target ${target.toISOString()}: ${before.length} acknowledged before it, ${missing.length} missing after the restore; ` +
          `${after.length} sent after it, ${resurrected.length} present; WAL written ${(walBytes / 2 ** 20).toFixed(1)} MiB, ${Math.round(walBytes / sent)} bytes per message`,
      );
      expect(missing).toEqual([]);
      expect(resurrected).toEqual([]);
      // The restored queue works: it sends and reads.
      const sentAfter = await c.query('SELECT pgmq.send($1, \'{"after": "restore"}\'::jsonb) AS id', [QUEUE]);
      expect(Number(sentAfter.rows[0].id)).toBeGreaterThan(0);
    } finally {
      await c.end();
    }
  });
}
