/**
 * pgbench as the load generator: argument building, output parsing and a runner that forwards its
 * `-P` progress and samples the CPU split while it runs.
 *
 * pgbench reference: https://www.postgresql.org/docs/current/pgbench.html (`-c` clients, `-j` threads,
 * `-T` seconds, `-P` progress interval, `-r` per-statement latencies, `-M prepared`, `--rate` paced
 * transactions per second, `-l` per-transaction log whose 3rd field is the latency in microseconds,
 * `-D name=value` script variables). Output format as printed by pgbench 15–18.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CpuSample, CpuSplit, cpuSplit, cpuSplitOfRun, procAvailable, sampleCpu } from "./cpu";

/** One pgbench run. */
export interface PgbenchRun {
  /** pgbench executable. */
  readonly pgbench: string;
  /** libpq connection URL (the database name is part of it). */
  readonly url: string;
  /** Custom script file (`-f`). */
  readonly script: string;
  /** Clients (`-c`), >= 1. */
  readonly clients: number;
  /** Threads (`-j`). Defaults to min(clients, CPU cores). */
  readonly threads?: number;
  /** Duration in seconds (`-T`), >= 1. */
  readonly durationSeconds: number;
  /** Script variables (`-D name=value`). */
  readonly variables?: Readonly<Record<string, string | number>>;
  /** Paced rate in transactions per second for all clients together (`--rate`); unpaced when absent. */
  readonly rateTps?: number;
  /** Fraction of transactions written to the per-transaction log (`--sampling-rate`), 0–1. Defaults to 1. */
  readonly samplingRate?: number;
  /** Progress interval in seconds (`-P`). Defaults to 1. */
  readonly progressSeconds?: number;
}

/** Per-statement average latency from `-r`. */
export interface StatementLatency {
  /** Average latency in milliseconds. */
  readonly latencyMs: number;
  /** Failures (pgbench 15+; 0 for older versions). */
  readonly failures: number;
  /** The statement or meta-command as pgbench prints it. */
  readonly text: string;
}

/** The summary pgbench prints at the end. */
export interface PgbenchSummary {
  /** Transactions processed. */
  readonly transactions: number;
  /** Failed transactions. */
  readonly failed: number;
  /** Average transaction latency in milliseconds. */
  readonly latencyAvgMs: number;
  /** Transactions per second (without initial connection time). */
  readonly tps: number;
  /** Per-statement latencies (SQL statements only, meta-commands dropped). */
  readonly statements: readonly StatementLatency[];
}

/** One `-P` progress line. */
export interface PgbenchProgress {
  /** Seconds since the start. */
  readonly seconds: number;
  /** Transactions per second over the last interval. */
  readonly tps: number;
  /** Average latency over the last interval, ms. */
  readonly latencyMs: number;
  /** Schedule lag (paced runs), ms. */
  readonly lagMs?: number;
}

/** Result of a run. */
export interface PgbenchResult extends PgbenchSummary {
  /** Transaction latency percentiles from the per-transaction log, ms. */
  readonly latencyPercentilesMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** CPU split over the run's sampled interval, or undefined without /proc. */
  readonly cpu?: CpuSplit;
  /** Progress lines seen. */
  readonly progress: readonly PgbenchProgress[];
  /** The command line (for the report). */
  readonly command: string;
}

/**
 * pgbench's arguments for a run (`-n`: no vacuum of pgbench's own tables, which do not exist here).
 * @throws Error when clients or duration are below 1.
 */
export function pgbenchArgs(run: PgbenchRun, logPrefix?: string): string[] {
  if (!Number.isInteger(run.clients) || run.clients < 1)
    throw new Error(`pgbench clients must be an integer >= 1, got ${run.clients}`);
  if (!Number.isInteger(run.durationSeconds) || run.durationSeconds < 1)
    throw new Error(`pgbench duration must be an integer >= 1 s, got ${run.durationSeconds}`);
  const threads = run.threads ?? Math.min(run.clients, os.cpus().length);
  const args = [
    "-n",
    "-M",
    "prepared",
    "-r",
    "-c",
    String(run.clients),
    "-j",
    String(threads),
    "-T",
    String(run.durationSeconds),
  ];
  args.push("-P", String(run.progressSeconds ?? 1));
  if (run.rateTps !== undefined) args.push("--rate", String(run.rateTps));
  for (const [k, v] of Object.entries(run.variables ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    args.push("-D", `${k}=${v}`);
  if (logPrefix !== undefined) {
    args.push("-l", `--log-prefix=${logPrefix}`);
    if (run.samplingRate !== undefined && run.samplingRate < 1) args.push(`--sampling-rate=${run.samplingRate}`);
  }
  args.push("-f", run.script, run.url);
  return args;
}

function num(text: string, re: RegExp, what: string): number {
  const m = re.exec(text);
  if (!m) throw new Error(`pgbench output has no ${what}:\n${text.slice(-2000)}`);
  return Number(m[1]);
}

/**
 * Parses pgbench's final summary (stdout).
 * @throws Error naming the missing figure when the text is not a pgbench summary.
 */
export function parsePgbenchSummary(text: string): PgbenchSummary {
  const transactions = num(text, /number of transactions actually processed:\s*(\d+)/, "transaction count");
  const failedMatch = /number of failed transactions:\s*(\d+)/.exec(text);
  const latencyAvgMs = num(text, /latency average = ([\d.]+) ms/, "latency average");
  const tps = num(text, /tps = ([\d.]+) \(without initial connection time\)/, "tps");
  const statements: StatementLatency[] = [];
  const idx = text.search(/statement latencies in milliseconds/);
  if (idx >= 0) {
    for (const line of text.slice(idx).split("\n").slice(1)) {
      const m = /^\s+([\d.]+)\s+(?:(\d+)\s+)?(\S.*)$/.exec(line);
      if (!m) break;
      const stmt = (m[3] ?? "").trim();
      if (stmt.startsWith("\\")) continue; // meta-command (\set, \if, \sleep)
      statements.push({ latencyMs: Number(m[1]), failures: Number(m[2] ?? 0), text: stmt });
    }
  }
  return { transactions, failed: failedMatch ? Number(failedMatch[1]) : 0, latencyAvgMs, tps, statements };
}

/**
 * Parses one `-P` progress line (stderr), e.g.
 * `progress: 2.0 s, 6912.3 tps, lat 0.287 ms stddev 0.102, 0 failed, lag 0.051 ms`.
 * @returns undefined for other lines.
 */
export function parseProgressLine(line: string): PgbenchProgress | undefined {
  const m = /^progress: ([\d.]+) s, ([\d.]+) tps, lat ([\d.]+|NaN) ms/.exec(line.trim());
  if (!m) return undefined;
  const lag = /lag ([\d.]+) ms/.exec(line);
  const base = { seconds: Number(m[1]), tps: Number(m[2]), latencyMs: m[3] === "NaN" ? 0 : Number(m[3]) };
  return lag ? { ...base, lagMs: Number(lag[1]) } : base;
}

/**
 * Every transaction latency (ms) in pgbench's per-transaction logs (`-l`) under `logDir`, sorted.
 * A loop, not `push(...spread)`: a 20 s run at 12,000 tps logs 240,000 latencies, past the engine's
 * argument limit ("Maximum call stack size exceeded").
 */
export function collectLatencies(logDir: string): number[] {
  const latencies: number[] = [];
  for (const f of fs.readdirSync(logDir)) {
    for (const latency of parseTransactionLog(fs.readFileSync(path.join(logDir, f), "utf8"))) latencies.push(latency);
  }
  return latencies.sort((a, b) => a - b);
}

/**
 * Nearest-rank percentile of sorted values.
 * @param sorted ascending values.
 * @param p percentile, 0–100.
 * @returns 0 for an empty list.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

/**
 * Transaction latencies (ms) from pgbench per-transaction log text: lines of
 * `client_id transaction_no time script_no time_epoch time_us [schedule_lag]`, `time` in microseconds.
 * Skipped transactions (`time` = `skipped`, paced runs with a latency limit) are left out.
 */
export function parseTransactionLog(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f.length < 6) continue;
    const us = Number(f[2]);
    if (Number.isFinite(us)) out.push(us / 1000);
  }
  return out;
}

/** Callback for live progress: the line, and the CPU split since the previous line (when /proc exists). */
export type ProgressListener = (p: PgbenchProgress, cpu: CpuSplit | undefined) => void;

/**
 * Runs pgbench, forwards each progress line to `onProgress`, samples the CPU split (pgbench vs the
 * server) every progress interval, and parses the summary and the per-transaction log.
 * @param postmasterPid the server's postmaster when it runs on this machine (for the CPU split).
 * @throws Error with pgbench's stderr when it exits non-zero or prints no summary.
 */
export async function runPgbench(
  run: PgbenchRun,
  postmasterPid: number | undefined,
  onProgress?: ProgressListener,
): Promise<PgbenchResult> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-bench-"));
  const args = pgbenchArgs(run, path.join(logDir, "tx"));
  const command = [run.pgbench, ...args.map((a) => (/[\s'"]/.test(a) ? JSON.stringify(a) : a))].join(" ");
  const child = spawn(run.pgbench, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const progress: PgbenchProgress[] = [];
  const samples: CpuSample[] = [];
  const useProc = procAvailable() && child.pid !== undefined;
  const take = () => {
    if (!useProc || child.pid === undefined) return undefined;
    try {
      const s = sampleCpu([child.pid], postmasterPid);
      samples.push(s);
      return s;
    } catch {
      return undefined;
    }
  };
  take();
  let partial = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => {
    const text = partial + d.toString();
    const lines = text.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) {
      const p = parseProgressLine(line);
      if (p === undefined) {
        stderr += `${line}\n`;
        continue;
      }
      progress.push(p);
      const prev = samples[samples.length - 1];
      const now = take();
      onProgress?.(p, prev !== undefined && now !== undefined ? cpuSplit(prev, now) : undefined);
    }
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (c) => resolve(c ?? 1));
  });
  try {
    if (code !== 0)
      throw new Error(`pgbench exited with ${code}: ${command}\n${stderr.trim()}\n${stdout.slice(-1000)}`);
    const summary = parsePgbenchSummary(stdout);
    const latencies = collectLatencies(logDir);
    // The CPU split covers the samples taken while pgbench ran (its counters vanish when it exits).
    const cpu = cpuSplitOfRun(samples);
    const round = (x: number) => Math.round(x * 1000) / 1000;
    return {
      ...summary,
      latencyPercentilesMs: {
        p50: round(percentile(latencies, 50)),
        p95: round(percentile(latencies, 95)),
        p99: round(percentile(latencies, 99)),
      },
      cpu,
      progress,
      command,
    };
  } finally {
    fs.rmSync(logDir, { recursive: true, force: true });
  }
}
