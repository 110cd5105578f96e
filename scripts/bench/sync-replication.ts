/**
 * `npm run bench:sync-replication -- [--seconds N] [--trials N] [--clients N] [--major N] [--bin-dir DIR]`
 *
 * What synchronous replication costs the queue (issue 21 item 3): a primary and a streaming standby on loopback
 * (real replication: `pg_basebackup -R`, the standby's `cluster_name` as its application name), prod's tuning
 * fitted to this machine and its bootstrap, and producers calling `pgmq.send` for `--seconds` with
 * `synchronous_standby_names` empty (asynchronous) and `ANY 1 (standby1)` (what prod's `synchronousReplication:
 * { method: any, number: 1 }` makes CloudNativePG write), switched with ALTER SYSTEM + pg_reload_conf between trials
 * (A B A B ...). Prints msgs/s and the p50/p99 of one send per trial, the medians and their ratios.
 *
 * On loopback the round trip to the standby is ~0, so this measures the standby's flush and the wake-ups: a lower
 * bound. Across availability zones each commit also waits one network round trip (docs/postgres-cluster.md,
 * "Replication"). Needs a PostgreSQL with pgmq and pg_partman and its pg_basebackup (Debian's 15 has it; the npm
 * builds do not).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { Client } from "pg";
import { parseStackConfig } from "../../components/stack";
import { bootstrapSqlInputOf, generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import { localTuning } from "../db-local";
import { ducklakeConfigOf, readStackFileConfig } from "../lib/stack-file";
import {
  freeLoopbackPort,
  runServerCommand,
  serverOwnedTempDir,
  startLocalPostgres,
  type LocalPostgres,
} from "../lib/local-postgres";
import { runCli } from "../lib/cli";
import { median, parseSideBySideArgs, sideBySideUsage } from "./side-by-side";

const STANDBY_NAME = "standby1";
const MODES = { async: "", sync: `ANY 1 (${STANDBY_NAME})` } as const;
type Mode = keyof typeof MODES;

interface Trial {
  mode: Mode;
  msgsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** `clients` producers sending single messages for `seconds`; every send's latency recorded. */
async function run(
  url: string,
  queue: string,
  clients: number,
  seconds: number,
): Promise<{ n: number; latencies: number[] }> {
  const latencies: number[] = [];
  const stopAt = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        while (performance.now() < stopAt) {
          const t0 = performance.now();
          await c.query('SELECT pgmq.send($1, \'{"eventType":"COMPLETE"}\'::jsonb)', [queue]);
          latencies.push(performance.now() - t0);
        }
      } finally {
        await c.end();
      }
    }),
  );
  return { n: latencies.length, latencies };
}

async function setMode(admin: Client, mode: Mode): Promise<void> {
  await admin.query(`ALTER SYSTEM SET synchronous_standby_names = '${MODES[mode]}'`);
  await admin.query("SELECT pg_reload_conf()");
  for (let i = 0; i < 100; i++) {
    const r = await admin.query(
      "SELECT current_setting('synchronous_standby_names') AS s, (SELECT sync_state FROM pg_stat_replication WHERE application_name = $1) AS st",
      [STANDBY_NAME],
    );
    const row = r.rows[0] as { s: string; st: string | null };
    if (row.s === MODES[mode] && row.st === (mode === "sync" ? "quorum" : "async")) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(
    `the standby did not become ${mode === "sync" ? "a quorum (synchronous)" : "an asynchronous"} standby`,
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const { seconds, trials, clients, binaries } = parseSideBySideArgs(argv, 10);
  if (!fs.existsSync(path.join(binaries.binDir, "pg_basebackup"))) {
    console.error(
      `PostgreSQL ${binaries.version} (${binaries.binDir}) has no pg_basebackup (Debian's PostgreSQL has it; the npm builds do not)`,
    );
    return 1;
  }
  const { config } = parseStackConfig(
    ducklakeConfigOf(readStackFileConfig(path.join(__dirname, "..", "..", "Pulumi.prod.yaml"))).raw,
    "prod",
  );
  // two servers share the machine
  const fitted = localTuning(
    config,
    binaries.major,
    `stack prod, PostgreSQL ${binaries.version}, bench:sync-replication`,
    os.totalmem() / 2,
  );
  const conf = [fitted.conf, "wal_level = replica", "max_wal_senders = 4", "hot_standby = on"].join("\n");
  const primaryDir = serverOwnedTempDir("ducklake-sync-primary-");
  const standbyDir = serverOwnedTempDir("ducklake-sync-standby-");
  let primary: LocalPostgres | undefined;
  let standby: LocalPostgres | undefined;
  try {
    primary = await startLocalPostgres({
      binaries,
      dataDir: primaryDir,
      port: await freeLoopbackPort(),
      database: config.postgres.database,
      postgresqlConf: conf,
    });
    const admin = new Client({ connectionString: primary.url() });
    await admin.connect();
    await admin.query("BEGIN");
    await admin.query(generateBootstrapSql(bootstrapSqlInputOf(config, { majorVersion: binaries.major })));
    await admin.query("COMMIT");
    await runServerCommand(
      binaries,
      "pg_basebackup",
      ["-h", "127.0.0.1", "-p", String(primary.port), "-U", "postgres", "-D", standbyDir, "-R", "--checkpoint=fast"],
      standbyDir,
    );
    standby = await startLocalPostgres({
      binaries,
      dataDir: standbyDir,
      port: await freeLoopbackPort(),
      postgresqlConf: `${conf}\ncluster_name = '${STANDBY_NAME}'`,
    });
    const queue = config.queues.definitions[0]!.name;
    console.log(
      `PostgreSQL ${binaries.version} primary + streaming standby on loopback, prod tuning${fitted.scaleFactor > 1 ? ` (memory settings / ${fitted.scaleFactor})` : ""}; ` +
        `${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, ${os.release()}, load ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")}; ${clients} producers, pgmq.send, ${seconds} s per trial`,
    );
    // warm-up, then A B A B ...
    await setMode(admin, "async");
    await run(primary.url(), queue, clients, 2);
    const results: Trial[] = [];
    for (let t = 0; t < trials; t++) {
      for (const mode of ["async", "sync"] as const) {
        await setMode(admin, mode);
        const { n, latencies } = await run(primary.url(), queue, clients, seconds);
        latencies.sort((a, b) => a - b);
        const trial = {
          mode,
          msgsPerSecond: n / seconds,
          p50Ms: quantile(latencies, 0.5),
          p99Ms: quantile(latencies, 0.99),
        };
        results.push(trial);
        console.log(
          `  trial ${t + 1} ${mode.padEnd(5)} ${Math.round(trial.msgsPerSecond).toLocaleString("en-US").padStart(7)} msgs/s  p50 ${trial.p50Ms.toFixed(2)} ms  p99 ${trial.p99Ms.toFixed(2)} ms`,
        );
      }
    }
    await admin.end();
    const of = (mode: Mode, k: keyof Omit<Trial, "mode">) => results.filter((r) => r.mode === mode).map((r) => r[k]);
    const spread = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
    for (const mode of ["async", "sync"] as const) {
      console.log(
        `${mode.padEnd(5)} median ${Math.round(median(of(mode, "msgsPerSecond"))).toLocaleString("en-US")} msgs/s (${spread(of(mode, "msgsPerSecond"))}), ` +
          `p50 ${median(of(mode, "p50Ms")).toFixed(2)} ms, p99 ${median(of(mode, "p99Ms")).toFixed(2)} ms (${spread(of(mode, "p99Ms"))})`,
      );
    }
    console.log(
      `sync / async: throughput ${(median(of("sync", "msgsPerSecond")) / median(of("async", "msgsPerSecond"))).toFixed(2)}, ` +
        `p99 ${(median(of("sync", "p99Ms")) / median(of("async", "p99Ms"))).toFixed(2)}`,
    );
    return 0;
  } finally {
    await standby?.stop().catch(() => undefined);
    await primary?.stop().catch(() => undefined);
    fs.rmSync(primaryDir, { recursive: true, force: true });
    fs.rmSync(standbyDir, { recursive: true, force: true });
  }
}

runCli(
  "bench:sync-replication",
  `${sideBySideUsage("bench:sync-replication")}\n\nA primary and a streaming standby on loopback, asynchronous against synchronous (ANY 1), interleaved trials.\n  e.g. npm run bench:sync-replication -- --seconds 10 --trials 3 --clients 4`,
  main,
);
