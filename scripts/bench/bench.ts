/**
 * `npm run bench -- <stack> [--url URL] [--duration S] [--clients 1,2,4] [--json FILE] [--compare-default]
 *  [--compare-tembo] [--compare STACK[,STACK]] [--repeat N] [--no-limits] [--soak MINUTES] [--soak-side-by-side]
 *  [--latency-seconds S] [--rate MSGS] [--bin-dir DIR] [--major N] [--workloads a,b]`
 *
 * The seed's throughput test against the stack's queue (partitioned `lineage_events`) with realistic
 * OpenLineage run events: capacity workloads (pgbench custom scripts, several client counts), each beside its
 * physical limit on the same server (plain SQL on a table shaped like the queue, `./db.ts` prepareLimitTable), the
 * dead-letter-aware read beside plain `pgmq.read`, a paced latency test, optional soak, health figures,
 * a results table with PASS/FAIL on ratios measured side by side (`./report.ts`), JSON and SVG charts (`./charts.ts`).
 * Without `--url` it benchmarks the stack's local database (`npm run db:local`), started if needed.
 * `--compare`, `--compare-default` and `--compare-tembo` add local servers of other stacks' tuning, of PostgreSQL's
 * defaults and of Tembo's MessageQueue tuning (`./tembo.ts`); the capacity runs of all servers and their limits are
 * interleaved and repeated `--repeat` times (`./compare.ts`), the report gives median, spread and ratios.
 * See docs/bench.md.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseArgs } from "util";
import { runCli, UsageError, usageErrorOf } from "../lib/cli";
import { Client } from "pg";
import { CpuSplit, meanCpuSplit } from "./cpu";
import {
  BENCH_SCHEMA,
  HealthSnapshot,
  autovacuumRunsBetween,
  fillLimitTable,
  LIMIT_TABLE,
  LIMIT_TABLES,
  PAYLOAD_POOL_SIZE,
  prepareLimitTable,
  queueTables,
  resetLimitTable,
  rowCount,
  assertQueueReady,
  healthSnapshot,
  postmasterPid,
  prepareBenchSchema,
  purgeBenchMessages,
  queueDepth,
  quoteIdent,
  runPartitionMaintenance,
  serverMajor,
  topUpQueue,
} from "./db";
import {
  assignPorts,
  compareCapacity,
  interleavedSchedule,
  limitRatios,
  median,
  parseCompareList,
  RunKind,
} from "./compare";
import { PgbenchProgress, PgbenchResult, ProgressListener, runPgbench } from "./pgbench";
import { benchCharts } from "./charts";
import {
  BenchReport,
  CAPACITY_WORKLOADS,
  CapacityResult,
  CapacityWorkload,
  DlqReadComparison,
  LatencyResult,
  RunHealth,
  SoakMinute,
  SoakResult,
  depthBounded,
  evaluate,
  renderReport,
  targetsFor,
} from "./report";

/** Directory of the pgbench scripts. */
export const WORKLOAD_DIR = path.join(__dirname, "workloads");

/** Parsed command line. */
export interface BenchOptions {
  readonly stack: string;
  readonly url?: string;
  readonly durationSeconds: number;
  readonly clients: readonly number[];
  readonly batch: number;
  readonly json?: string;
  readonly compareDefault: boolean;
  /** Other stacks (`Pulumi.<name>.yaml`, repository root or scripts/bench/stacks/) run side by side on local servers. */
  readonly compare: readonly string[];
  /** Repetitions of every capacity point (workload, clients), per server (`--repeat`, alias `--trials`). */
  readonly trials: number;
  /** Add the stack's Tembo twin (`db:local --tembo`, label `tembo`). */
  readonly compareTembo: boolean;
  /** Run each capacity workload's physical-limit reference too. Defaults to true (`--no-limits`: false). */
  readonly limits: boolean;
  /**
   * `--e2e-rate`: the producers of `produce_consume_batch` (and of its limit) paced at this many msgs/s for all
   * clients together (e.g. the guide's 30,000), so the depth says whether the consumers keep up; unpaced when absent.
   */
  readonly endToEndRateMsgsPerSecond?: number;
  readonly soakMinutes?: number;
  /** Soak every server at once instead of one after the other. */
  readonly soakSideBySide: boolean;
  readonly latencySeconds: number;
  readonly rateMsgsPerSecond?: number;
  readonly binDir?: string;
  readonly major?: number;
  readonly workloads: readonly string[];
  readonly skipLatency: boolean;
  readonly skipDlq: boolean;
  /** Messages to have queued per second of a read run (prefill). */
  readonly prefillPerSecond: number;
  /** Exit 0 even when a check fails (`--report-only`); otherwise a failed check exits 1. */
  readonly reportOnly: boolean;
}

const USAGE =
  "usage: npm run bench -- <stack> [--url URL] [--duration S] [--clients 1,2,4] [--batch 100] [--json FILE] [--compare-default] [--compare-tembo] [--compare STACK[,STACK]] [--repeat N] [--no-limits] [--e2e-rate MSGS_PER_S] " +
  "[--soak MINUTES] [--soak-side-by-side] [--latency-seconds S] [--rate MSGS_PER_S] [--workloads send_single,...] [--no-latency] [--no-dlq] " +
  "[--prefill-per-second N] [--bin-dir DIR] [--major N] [--report-only]";

/** `--help`: the usage, what it does, and examples. */
export const BENCH_HELP = `${USAGE}

Benchmarks the stack's queue on a local PostgreSQL (the one npm run db:local started, or --url): capacity
workloads, each beside its physical limit (plain INSERT / DELETE on a table shaped like the queue), paced latency,
the dead-letter-aware read, an optional soak; every capacity point repeated (--repeat, alias --trials; default 3)
and interleaved with the other servers (--compare-default: PostgreSQL's defaults; --compare-tembo: Tembo's
MessageQueue tuning). Prints PASS/FAIL on ratios measured side by side, writes JSON and SVG charts
(--json FILE, default .local/bench/<stack>-<time>.json, charts beside it) and exits 1 when a check fails
(--report-only: exit 0 anyway). --e2e-rate paces the end-to-end producers (produce_consume_batch), e.g. at the
guide's 30,000 msgs/s. docs/bench.md has every flag.

examples:
  npm run db:local -- dev && npm run bench -- dev --duration 10 --clients 1,2,4
  npm run bench -- dev --compare-default --repeat 3
  npm run bench -- dev --compare-default --compare-tembo --repeat 3 --json bench.json
  npm run bench -- dev --bin-dir /opt/pg17/bin --no-latency --report-only`;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} must be a positive number, got "${text}"`);
  return n;
}

/**
 * Parses the command line (node:util parseArgs).
 * Defaults: duration 10 s per run, clients 1,2,4, batch 100, 3 trials, latency test 60 s at the stack's
 * paced rate, every capacity workload, prefill 60,000 messages per second of a read run.
 * @throws Error with the usage when the stack is missing or a value is invalid.
 */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: BENCH_OPTIONS });
  } catch (err) {
    throw usageErrorOf(err, Object.keys(BENCH_OPTIONS));
  }
  const { values, positionals } = parsed;
  return benchOptionsOf(values, positionals);
}

const BENCH_OPTIONS = {
  url: { type: "string" },
  duration: { type: "string" },
  clients: { type: "string" },
  batch: { type: "string" },
  json: { type: "string" },
  "compare-default": { type: "boolean" },
  "compare-tembo": { type: "boolean" },
  compare: { type: "string" },
  repeat: { type: "string" },
  trials: { type: "string" },
  "no-limits": { type: "boolean" },
  "e2e-rate": { type: "string" },
  soak: { type: "string" },
  "soak-side-by-side": { type: "boolean" },
  "latency-seconds": { type: "string" },
  rate: { type: "string" },
  workloads: { type: "string" },
  "no-latency": { type: "boolean" },
  "no-dlq": { type: "boolean" },
  "prefill-per-second": { type: "string" },
  "bin-dir": { type: "string" },
  major: { type: "string" },
  "report-only": { type: "boolean" },
} as const;

function benchOptionsOf(
  values: {
    [K in keyof typeof BENCH_OPTIONS]?: (typeof BENCH_OPTIONS)[K]["type"] extends "boolean" ? boolean : string;
  },
  positionals: string[],
): BenchOptions {
  const stack = positionals[0];
  if (stack === undefined) throw new UsageError("missing <stack>");
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  // --repeat is the name; --trials its alias (the flag's name before issue 18).
  if (values.repeat !== undefined && values.trials !== undefined && values.repeat !== values.trials)
    throw new UsageError(
      `--repeat ${values.repeat} and --trials ${values.trials} disagree (--trials is an alias of --repeat)`,
    );
  const repeatText = values.repeat ?? values.trials;
  const trials = repeatText === undefined ? 3 : Number(repeatText);
  if (!Number.isInteger(trials) || trials < 1)
    throw new UsageError(
      `--${values.repeat !== undefined ? "repeat" : "trials"} must be an integer >= 1, got "${repeatText}"`,
    );
  // A comparison is judged only when every trial's ratio is on one side (compare.ts sideOf): one trial judges nothing,
  // and the "no worse than the defaults" check would pass vacuously.
  const comparing =
    values["compare-default"] === true || values["compare-tembo"] === true || values.compare !== undefined;
  if (comparing && trials < 2)
    throw new UsageError(
      `--${values.repeat !== undefined ? "repeat" : "trials"} ${trials} with a comparison: one trial cannot tell a difference from noise; use 2 or more (default 3)`,
    );
  const clients = (values.clients ?? "1,2,4").split(",").map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`--clients must be a comma-separated list of integers >= 1, got "${values.clients}"`);
    return n;
  });
  const workloads =
    values.workloads === undefined ? [...CAPACITY_WORKLOADS] : values.workloads.split(",").filter((w) => w.length > 0);
  for (const w of workloads) {
    if (!(CAPACITY_WORKLOADS as readonly string[]).includes(w))
      throw new UsageError(`--workloads: unknown workload "${w}"; known: ${CAPACITY_WORKLOADS.join(", ")}`);
  }
  return {
    stack,
    url: values.url,
    durationSeconds: Math.round(positive("duration", values.duration, 10)),
    clients,
    batch: Math.round(positive("batch", values.batch, 100)),
    json: values.json,
    compareDefault: values["compare-default"] ?? false,
    compare: parseCompareList(values.compare, stack),
    trials,
    compareTembo: values["compare-tembo"] ?? false,
    limits: !(values["no-limits"] ?? false),
    ...(values["e2e-rate"] !== undefined
      ? { endToEndRateMsgsPerSecond: Math.round(positive("e2e-rate", values["e2e-rate"], 30000)) }
      : {}),
    soakMinutes: values.soak === undefined ? undefined : positive("soak", values.soak, 10),
    soakSideBySide: values["soak-side-by-side"] ?? false,
    latencySeconds: Math.round(positive("latency-seconds", values["latency-seconds"], 60)),
    rateMsgsPerSecond: values.rate === undefined ? undefined : positive("rate", values.rate, 1),
    binDir: values["bin-dir"],
    major: values.major === undefined ? undefined : Math.round(positive("major", values.major, 17)),
    workloads,
    skipLatency: values["no-latency"] ?? false,
    skipDlq: values["no-dlq"] ?? false,
    prefillPerSecond: Math.round(positive("prefill-per-second", values["prefill-per-second"], 60000)),
    reportOnly: values["report-only"] ?? false,
  };
}

/** A server under test. */
export interface BenchTarget {
  /** `tuned` (the benchmarked stack), `default` (PostgreSQL's defaults) or a `--compare` stack's name. */
  readonly label: string;
  /** Superuser (or queue owner) connection URL. */
  readonly url: string;
  /** How it is configured, for the report. */
  readonly description: string;
  /** The DLQ-aware read routine (`ops.read_with_dlq`, workloads/read_dlq_delete_batch.sql) when the bootstrap installed it. */
  readonly dlqReadRoutine?: string;
}

/** Everything a run needs. */
interface RunContext {
  readonly opts: BenchOptions;
  readonly target: BenchTarget;
  readonly pgbench: string;
  readonly client: Client;
  readonly queue: string;
  readonly major: number;
  readonly postmasterPid: number | undefined;
}

/** Finds a pgbench executable: beside the server binaries, on PATH, or the newest `/usr/lib/postgresql/<major>/bin/pgbench`. */
export function findPgbench(binDir?: string): string {
  const candidates: string[] = [];
  if (binDir !== undefined) candidates.push(path.join(binDir, "pgbench"));
  for (const d of (process.env["PATH"] ?? "").split(path.delimiter)) if (d) candidates.push(path.join(d, "pgbench"));
  if (fs.existsSync("/usr/lib/postgresql")) {
    const majors = fs
      .readdirSync("/usr/lib/postgresql")
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
    for (const m of majors) candidates.push(`/usr/lib/postgresql/${m}/bin/pgbench`);
  }
  const found = candidates.find((c) => fs.existsSync(c));
  if (found === undefined) {
    throw new Error(
      "pgbench not found (beside the server binaries, on PATH or in /usr/lib/postgresql/*/bin); install it with `apt-get install postgresql-15` (Debian ships pgbench in the server package, /usr/lib/postgresql/15/bin/pgbench)",
    );
  }
  return found;
}

const isTty = process.stdout.isTTY === true;
let lastProgressLen = 0;

/** What one progress line shows. */
export interface ProgressFigures {
  readonly label: string;
  readonly progress: PgbenchProgress;
  readonly durationSeconds: number;
  readonly cpu?: CpuSplit;
  /**
   * Messages per pgbench transaction when every transaction moves exactly that many (sends; reads of a full queue):
   * msgs/s = tps x this. Absent for consumers beside producers, whose reads may find fewer or none: their line shows
   * calls/s, not msgs/s (multiplying their tps by the batch size overstated them up to 100-fold).
   */
  readonly msgsPerCall?: number;
  /** The producers' latest msgs/s (their tps x their messages per call), for producer + consumer workloads. */
  readonly sentMsgsPerSecond?: number;
}

/** One progress line's text (pure). */
export function progressLine(f: ProgressFigures): string {
  const p = f.progress;
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  const cpu = f.cpu ? `  cpu pgbench ${f.cpu.clientPct}% server ${f.cpu.serverPct}% other ${f.cpu.otherPct}%` : "";
  const lag = p.lagMs !== undefined ? `  lag ${p.lagMs.toFixed(2)} ms` : "";
  const rate = f.msgsPerCall !== undefined ? `${n(p.tps * f.msgsPerCall)} msgs/s` : `consumers ${n(p.tps)} calls/s`;
  const sent = f.sentMsgsPerSecond !== undefined ? `sent ${n(f.sentMsgsPerSecond)} msgs/s, ` : "";
  return `  ${f.label}  ${p.seconds.toFixed(0)}/${f.durationSeconds} s  ${sent}${rate}  lat ${p.latencyMs.toFixed(2)} ms${lag}${cpu}`;
}

/** Prints one progress line (rewritten in place on a terminal, every 5 s otherwise). */
function showProgress(f: ProgressFigures): void {
  const line = progressLine(f);
  if (isTty) {
    process.stdout.write(`\r${line.padEnd(lastProgressLen)}`);
    lastProgressLen = line.length;
  } else if (Math.round(f.progress.seconds) % 5 === 0) {
    process.stdout.write(`${line}\n`);
  }
}

function endProgress(summary: string): void {
  if (isTty) process.stdout.write(`\r${summary.padEnd(lastProgressLen)}\n`);
  else process.stdout.write(`${summary}\n`);
  lastProgressLen = 0;
}

function runHealth(before: HealthSnapshot, after: HealthSnapshot): RunHealth {
  return {
    defaultPartitionRows: after.defaultPartitionRows,
    deadTuples: after.deadTuples,
    walBytes: Math.max(0, after.walBytes - before.walBytes),
    checkpointsRequested: after.checkpointsRequested - before.checkpointsRequested,
    autovacuumRuns: autovacuumRunsBetween(before, after),
  };
}

function script(name: string): string {
  return path.join(WORKLOAD_DIR, `${name}.sql`);
}

function baseVariables(ctx: RunContext, batch: number): Record<string, string | number> {
  return { queue: ctx.queue, pool: PAYLOAD_POOL_SIZE, batch, vt: 30, idle_ms: 10 };
}

/** A pgbench script of a workload: the pgmq one and its physical-limit reference (workloads/limit_*.sql). */
interface ScriptPair {
  readonly pgmq: string;
  readonly limit: string;
}

/** How a capacity workload runs. */
export interface WorkloadSpec {
  /** The measured clients' script (consumers, for producer + consumer workloads). */
  readonly script: ScriptPair;
  /** Messages per call. */
  readonly batch: number;
  /** Whether the table needs messages first (a prefill). */
  readonly reads: boolean;
  /** Producers running beside the consumers (as many clients), and their messages per call. */
  readonly producer?: { readonly script: ScriptPair; readonly batch: number };
}

/**
 * The scripts, messages per call, prefill and producers of each capacity workload. The limit of every read is the
 * plain DELETE (read_archive_batch's too: the archive's INSERT is part of what pgmq adds over the limit).
 */
export function workloadSpec(workload: CapacityWorkload, batch: number): WorkloadSpec {
  const single = { pgmq: "send_single", limit: "limit_send_single" };
  const multi = { pgmq: "send_batch", limit: "limit_send_batch" };
  const consume = { pgmq: "consume_batch", limit: "limit_consume_batch" };
  const del = (pgmq: string) => ({ pgmq, limit: "limit_delete_batch" });
  switch (workload) {
    case "send_single":
      return { script: single, batch: 1, reads: false };
    case "send_batch":
      return { script: multi, batch, reads: false };
    case "read_delete_single":
      return { script: del("read_delete_single"), batch: 1, reads: true };
    case "read_delete_batch":
      return { script: del("read_delete_batch"), batch, reads: true };
    case "read_archive_batch":
      return { script: del("read_archive_batch"), batch, reads: true };
    case "produce_consume":
      return { script: consume, batch, reads: false, producer: { script: single, batch: 1 } };
    case "produce_consume_batch":
      return { script: consume, batch, reads: false, producer: { script: multi, batch } };
  }
}

/** Times a read run is repeated with twice the prefill when it drained the queue. */
const MAX_PREFILL_DOUBLINGS = 2;

/**
 * Runs one capacity workload at one client count, on pgmq or on its physical limit. A read run that drains the
 * table measured the prefill, not the server: it is repeated with twice the prefill, up to
 * {@link MAX_PREFILL_DOUBLINGS} times.
 */
async function capacityRun(
  ctx: RunContext,
  workload: CapacityWorkload,
  clients: number,
  kind: RunKind = "pgmq",
  scriptOverride?: string,
): Promise<CapacityResult> {
  const spec = workloadSpec(workload, ctx.opts.batch);
  // Enough visible messages that the consumers never run dry (single reads need far fewer).
  const perSecond = spec.batch === 1 ? Math.ceil(ctx.opts.prefillPerSecond / 4) : ctx.opts.prefillPerSecond;
  let prefill = perSecond * ctx.opts.durationSeconds;
  for (let attempt = 0; ; attempt++) {
    const r = await capacityRunOnce(ctx, workload, clients, prefill, kind, scriptOverride);
    const drained = r.notes.some((n) => n.startsWith("queue drained"));
    if (!spec.reads || !drained || attempt >= MAX_PREFILL_DOUBLINGS) return r;
    prefill *= 2;
    console.log(`  queue drained: running again with ${prefill.toLocaleString("en-US")} messages queued`);
  }
}

async function capacityRunOnce(
  ctx: RunContext,
  workload: CapacityWorkload,
  clients: number,
  prefill: number,
  kind: RunKind,
  scriptOverride?: string,
): Promise<CapacityResult> {
  const { opts } = ctx;
  const spec = workloadSpec(workload, opts.batch);
  const measured = kind === "limit" ? LIMIT_TABLES : queueTables(ctx.queue);
  // Sends and producers with consumers start from an empty table (consumed = what the producers sent); reads from
  // the prefill, topped up.
  if (kind === "pgmq") {
    if (!spec.reads) await emptyQueue(ctx);
    else await runPartitionMaintenance(ctx.client);
    if (spec.reads) await topUpQueue(ctx.client, ctx.queue, prefill);
  } else if (!spec.reads) {
    await resetLimitTable(ctx.client);
  } else {
    const have = await rowCount(ctx.client, LIMIT_TABLE);
    if (have < prefill) await fillLimitTable(ctx.client, prefill - have);
  }
  const before = await healthSnapshot(ctx.client, ctx.queue, ctx.major, measured);
  const name = scriptOverride ?? spec.script[kind];
  const label = `[${ctx.target.label}${kind === "limit" ? " limit" : ""}] ${scriptOverride ?? workload} c=${clients}`;
  const vars = baseVariables(ctx, spec.batch);
  const notes: string[] = [];
  const pgbench = (scriptName: string, onProgress?: ProgressListener, pid?: number, rateTps?: number) =>
    runPgbench(
      {
        pgbench: ctx.pgbench,
        url: ctx.target.url,
        script: script(scriptName),
        clients,
        durationSeconds: opts.durationSeconds,
        variables: vars,
        ...(rateTps !== undefined ? { rateTps } : {}),
      },
      pid,
      onProgress,
    );
  let result: PgbenchResult;
  if (spec.producer !== undefined) {
    // Producers and batch consumers together, each with `clients` connections.
    const producerBatch = spec.producer.batch;
    let sent: number | undefined;
    const paced = workload === "produce_consume_batch" ? opts.endToEndRateMsgsPerSecond : undefined;
    const producers = pgbench(
      spec.producer.script[kind],
      (p) => (sent = p.tps * producerBatch),
      undefined,
      paced !== undefined ? paced / producerBatch : undefined,
    );
    if (paced !== undefined) notes.push(`producers paced at ${paced.toLocaleString("en-US")} msgs/s`);
    result = await pgbench(
      name,
      (p, cpu) =>
        showProgress({
          label,
          progress: p,
          durationSeconds: opts.durationSeconds,
          cpu,
          ...(sent !== undefined ? { sentMsgsPerSecond: sent } : {}),
        }),
      ctx.postmasterPid,
    );
    const prod = await producers;
    notes.push(
      `producers sent ${Math.round(prod.tps * producerBatch).toLocaleString("en-US")} msgs/s; cpu client share counts the consumers' pgbench only`,
    );
  } else {
    result = await pgbench(
      name,
      (p, cpu) =>
        showProgress({ label, progress: p, durationSeconds: opts.durationSeconds, cpu, msgsPerCall: spec.batch }),
      ctx.postmasterPid,
    );
  }
  const after = await healthSnapshot(ctx.client, ctx.queue, ctx.major, measured);
  const sent = after.lastMsgId - before.lastMsgId;
  const consumed = before.depth + sent - after.depth;
  const moved = spec.reads || spec.producer !== undefined ? consumed : sent;
  const msgsPerSecond = moved / opts.durationSeconds;
  // Fewer messages left than one batch per client: the consumers ran short, the figure is a floor.
  if (spec.reads && after.depth < spec.batch * clients) notes.push("queue drained: raise --prefill-per-second");
  if (result.failed > 0) notes.push(`${result.failed} failed transactions`);
  const r: CapacityResult = {
    server: ctx.target.label,
    ...(kind === "limit" ? { kind } : {}),
    workload,
    clients,
    batch: spec.batch,
    durationSeconds: opts.durationSeconds,
    msgsPerSecond: Math.round(msgsPerSecond),
    tps: Math.round(result.tps * 10) / 10,
    latencyAvgMs: result.latencyAvgMs,
    latencyP99Ms: result.latencyPercentilesMs.p99,
    statements: result.statements,
    cpu: result.cpu,
    health: runHealth(before, after),
    ...(spec.producer !== undefined ? { endDepth: after.depth } : {}),
    notes,
  };
  endProgress(
    `  ${label}: ${r.msgsPerSecond.toLocaleString("en-US")} msgs/s, avg ${r.latencyAvgMs} ms, p99 ${r.latencyP99Ms} ms${r.cpu ? `, cpu pgbench ${r.cpu.clientPct}% server ${r.cpu.serverPct}%` : ""}${r.endDepth !== undefined ? `, end depth ${r.endDepth.toLocaleString("en-US")}` : ""}`,
  );
  return r;
}

/**
 * Plain `pgmq.read` + delete beside the DLQ-aware read + delete, same batch and clients (the largest
 * `--clients`). Each round runs in ABBA order (plain, DLQ, DLQ, plain) and averages each pair, so a drift of the
 * machine or of the queue's size over the four runs cancels out instead of favouring one side; `--repeat` rounds,
 * the overhead is their median, with each round's kept.
 */
async function dlqComparison(ctx: RunContext): Promise<DlqReadComparison | undefined> {
  const routine = ctx.target.dlqReadRoutine;
  if (routine === undefined) {
    console.log(
      `  [${ctx.target.label}] no dead-letter-aware read routine installed by the bootstrap: DLQ comparison skipped`,
    );
    return undefined;
  }
  const clients = Math.max(...ctx.opts.clients);
  const plains: number[] = [];
  const dlqs: number[] = [];
  const rounds: number[] = [];
  for (let round = 0; round < ctx.opts.trials; round++) {
    const plainA = await capacityRun(ctx, "read_delete_batch", clients);
    const dlqA = await capacityRun(ctx, "read_delete_batch", clients, "pgmq", "read_dlq_delete_batch");
    const dlqB = await capacityRun(ctx, "read_delete_batch", clients, "pgmq", "read_dlq_delete_batch");
    const plainB = await capacityRun(ctx, "read_delete_batch", clients);
    const plain = (plainA.msgsPerSecond + plainB.msgsPerSecond) / 2;
    const dlq = (dlqA.msgsPerSecond + dlqB.msgsPerSecond) / 2;
    plains.push(plain);
    dlqs.push(dlq);
    rounds.push(plain > 0 ? Math.round(((plain - dlq) / plain) * 1000) / 10 : 0);
  }
  return {
    server: ctx.target.label,
    clients,
    batch: ctx.opts.batch,
    plainMsgsPerSecond: Math.round(median(plains)),
    dlqMsgsPerSecond: Math.round(median(dlqs)),
    overheadPct: Math.round(median(rounds) * 10) / 10,
    roundsPct: rounds,
    routine,
  };
}

/** Empties the queue (TRUNCATE of the queue table and its partitions) so a paced run starts from depth 0. */
async function emptyQueue(ctx: RunContext): Promise<void> {
  await ctx.client.query(`TRUNCATE pgmq.${quoteIdent(`q_${ctx.queue}`)}`);
  await ctx.client.query(`TRUNCATE ${BENCH_SCHEMA}.latency`);
  await runPartitionMaintenance(ctx.client);
}

/** Paced producers (single sends at `rate`) and polling batch consumers for `seconds`; depth sampled each second (and each minute for the soak). */
async function pacedRun(
  ctx: RunContext,
  rate: number,
  seconds: number,
  label: string,
  onSecond?: (elapsedSeconds: number, depth: number, before: HealthSnapshot) => Promise<void>,
  onCpu?: (cpu: CpuSplit) => void,
): Promise<{ depthSamples: number[]; before: HealthSnapshot; after: HealthSnapshot }> {
  await emptyQueue(ctx);
  const before = await healthSnapshot(ctx.client, ctx.queue, ctx.major);
  const producers = 2;
  const consumers = 2;
  const vars = baseVariables(ctx, ctx.opts.batch);
  const prod = runPgbench(
    {
      pgbench: ctx.pgbench,
      url: ctx.target.url,
      script: script("send_single"),
      clients: producers,
      durationSeconds: seconds,
      variables: vars,
      rateTps: rate,
      samplingRate: 0.01,
    },
    ctx.postmasterPid,
    (p, cpu) => {
      showProgress({ label, progress: p, durationSeconds: seconds, cpu, msgsPerCall: 1 });
      if (cpu !== undefined) onCpu?.(cpu);
    },
  );
  const cons = runPgbench(
    {
      pgbench: ctx.pgbench,
      url: ctx.target.url,
      script: script("consume_latency"),
      clients: consumers,
      durationSeconds: seconds,
      variables: vars,
      samplingRate: 0.01,
    },
    undefined,
  );
  const depthSamples: number[] = [];
  const sampler = new Client({ connectionString: ctx.target.url });
  await sampler.connect();
  let done = false;
  const all = Promise.all([prod, cons]).finally(() => (done = true));
  const started = Date.now();
  try {
    while (!done) {
      await new Promise((r) => setTimeout(r, 1000));
      if (done) break;
      const depth = await queueDepth(sampler, ctx.queue);
      depthSamples.push(depth);
      await onSecond?.((Date.now() - started) / 1000, depth, before);
    }
    await all;
  } finally {
    await sampler.end();
  }
  const after = await healthSnapshot(ctx.client, ctx.queue, ctx.major);
  return { depthSamples, before, after };
}

/** The latency test: paced producer at `rate`, consumers recording send→read latency. */
async function latencyTest(ctx: RunContext, rate: number): Promise<LatencyResult> {
  const seconds = ctx.opts.latencySeconds;
  const label = `[${ctx.target.label}] latency @${rate.toLocaleString("en-US")}/s`;
  const { depthSamples, before, after } = await pacedRun(ctx, rate, seconds, label);
  const { rows } = await ctx.client.query<{ n: string; p: number[] | null }>(
    `SELECT count(*) AS n, percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY l) AS p FROM ${BENCH_SCHEMA}.latency, unnest(latencies_ms) l`,
  );
  const p = rows[0]?.p ?? [0, 0, 0];
  const r: LatencyResult = {
    server: ctx.target.label,
    rateMsgsPerSecond: rate,
    achievedRateMsgsPerSecond: Math.round((after.lastMsgId - before.lastMsgId) / seconds),
    durationSeconds: seconds,
    producers: 2,
    consumers: 2,
    messages: Number(rows[0]?.n ?? 0),
    p50Ms: Math.round((p[0] ?? 0) * 10) / 10,
    p95Ms: Math.round((p[1] ?? 0) * 10) / 10,
    p99Ms: Math.round((p[2] ?? 0) * 10) / 10,
    depthSamples,
    depthBounded: depthBounded(depthSamples, rate),
    health: runHealth(before, after),
  };
  endProgress(
    `  ${label}: p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, p99 ${r.p99Ms} ms, depth max ${Math.max(0, ...depthSamples)}, bounded ${r.depthBounded ? "yes" : "no"}`,
  );
  return r;
}

/** The soak: producers at `rate`, batch consumers, one row per minute. */
async function soak(ctx: RunContext, rate: number, minutes: number): Promise<SoakResult> {
  const label = `[${ctx.target.label}] soak @${rate.toLocaleString("en-US")}/s`;
  const rowsOut: SoakMinute[] = [];
  const seconds = Math.round(minutes * 60);
  let prev: HealthSnapshot | undefined;
  let cpuOfMinute: CpuSplit[] = [];
  const addMinute = (snap: HealthSnapshot, base: HealthSnapshot, secondsCovered: number) => {
    const consumed = base.depth + (snap.lastMsgId - base.lastMsgId) - snap.depth;
    const cpu = meanCpuSplit(cpuOfMinute);
    cpuOfMinute = [];
    rowsOut.push({
      minute: rowsOut.length + 1,
      msgsPerSecond: Math.round(consumed / secondsCovered),
      deadTuples: snap.deadTuples,
      sizeBytes: snap.sizeBytes,
      autovacuumRuns: autovacuumRunsBetween(base, snap),
      defaultPartitionRows: snap.defaultPartitionRows,
      depth: snap.depth,
      ...(cpu !== undefined ? { cpu } : {}),
    });
    prev = snap;
  };
  let lastAt = 0;
  const { before, after } = await pacedRun(
    ctx,
    rate,
    seconds,
    label,
    async (elapsed, _depth, snapBefore) => {
      if (elapsed < (rowsOut.length + 1) * 60) return;
      addMinute(await healthSnapshot(ctx.client, ctx.queue, ctx.major), prev ?? snapBefore, elapsed - lastAt);
      lastAt = elapsed;
    },
    (cpu) => cpuOfMinute.push(cpu),
  );
  // The run ends at `seconds`; the sampler may stop just before the last full minute was recorded.
  if (rowsOut.length < Math.floor(seconds / 60)) addMinute(after, prev ?? before, Math.max(1, seconds - lastAt));
  const first = rowsOut[0]?.msgsPerSecond ?? 0;
  const last = rowsOut[rowsOut.length - 1]?.msgsPerSecond ?? 0;
  const r: SoakResult = {
    server: ctx.target.label,
    rateMsgsPerSecond: rate,
    minutes: rowsOut,
    retainedPct: first > 0 ? Math.round((last / first) * 1000) / 10 : 0,
  };
  endProgress(`  ${label}: ${rowsOut.length} minutes, last minute ${r.retainedPct}% of the first`);
  return r;
}

/** An open connection to one server under test, with what its runs need. */
async function openRun(
  opts: BenchOptions,
  target: BenchTarget,
  queue: string,
): Promise<{ ctx: RunContext; version: string }> {
  const client = new Client({ connectionString: target.url });
  await client.connect();
  try {
    await assertQueueReady(client, queue);
    await prepareBenchSchema(client);
    if (opts.limits) await prepareLimitTable(client, queue);
    const { rows } = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    const ctx: RunContext = {
      opts,
      target,
      pgbench: findPgbench(opts.binDir),
      client,
      queue,
      major: await serverMajor(client),
      postmasterPid: await postmasterPid(client),
    };
    const version = rows[0]?.v ?? "?";
    console.log(`${target.label}: PostgreSQL ${version} (${target.description})`);
    return { ctx, version };
  } catch (err) {
    await client.end();
    throw err;
  }
}

/**
 * The capacity runs of every server: {@link interleavedSchedule} (trial by trial, point by point, the
 * servers in an order rotated per trial), so a noisy minute of the machine hits every server alike.
 */
async function capacityInterleaved(opts: BenchOptions, ctxs: readonly RunContext[]): Promise<CapacityResult[]> {
  const byLabel = new Map(ctxs.map((c) => [c.target.label, c]));
  const schedule = interleavedSchedule(
    opts.trials,
    opts.workloads,
    opts.clients,
    ctxs.map((c) => c.target.label),
    opts.limits ? ["pgmq", "limit"] : ["pgmq"],
  );
  const out: CapacityResult[] = [];
  let trial = 0;
  for (const run of schedule) {
    if (run.trial !== trial) {
      trial = run.trial;
      console.log(`\ntrial ${trial} of ${opts.trials}`);
    }
    const ctx = byLabel.get(run.label) as RunContext;
    const r = await capacityRun(ctx, run.workload as CapacityWorkload, run.clients, run.kind);
    out.push({ ...r, trial: run.trial });
  }
  return out;
}

/** The DLQ comparison and latency test of one server (not interleaved: each is one long run). */
async function pacedAndDlq(
  ctx: RunContext,
  rate: number,
): Promise<{ dlq: DlqReadComparison[]; latency: LatencyResult[] }> {
  const { opts } = ctx;
  const dlq: DlqReadComparison[] = [];
  // Only the stack's own server: the check is about its routine; the other servers run the same SQL.
  if (!opts.skipDlq && ctx.target.label === "tuned") {
    const d = await dlqComparison(ctx);
    if (d !== undefined) dlq.push(d);
  }
  const latency: LatencyResult[] = opts.skipLatency ? [] : [await latencyTest(ctx, rate)];
  return { dlq, latency };
}

/**
 * The soak of every server: one after the other, or with `--soak-side-by-side` all at once, so the
 * machine's noise over the minutes hits them alike (they then share the cores: each server's figures
 * are under the others' load, "other" in the CPU split includes them).
 */
async function soaks(opts: BenchOptions, ctxs: readonly RunContext[], rate: number): Promise<SoakResult[]> {
  const minutes = opts.soakMinutes;
  if (minutes === undefined) return [];
  if (opts.soakSideBySide) return Promise.all(ctxs.map((ctx) => soak(ctx, rate, minutes)));
  const out: SoakResult[] = [];
  for (const ctx of ctxs) out.push(await soak(ctx, rate, minutes));
  return out;
}

/**
 * Resolves the servers to benchmark: `--url`, or the stack's local database; then one local server per
 * `--compare` stack and, with `--compare-default`, the stack's untuned twin. Every local server is
 * started by db:local's `ensureLocalDatabase` (the same code as `npm run db:local`), on its stack's
 * default port unless an earlier server of this run has it ({@link assignPorts}).
 */
async function resolveTargets(
  opts: BenchOptions,
): Promise<{ targets: BenchTarget[]; queue: string; profile: "development" | "production"; defaultRate: number }> {
  const local = await import("../db-local");
  const stackInfo = local.loadStack(opts.stack);
  const queue = stackInfo.config.queues.definitions[0]?.name ?? "lineage_events";
  const profile = stackInfo.config.postgres.tuning.profile;
  const localOpts = { binDir: opts.binDir, major: opts.major, quiet: true };
  // Local servers of this run, in report order: the stack (unless --url), the --compare stacks, the default twin.
  const wanted: { label: string; stack: string; untuned: boolean; tembo?: boolean; description: string }[] = [];
  if (opts.url === undefined)
    wanted.push({
      label: "tuned",
      stack: opts.stack,
      untuned: false,
      description: `the ${opts.stack} stack's rendered postgresql.conf (npm run db:local)`,
    });
  for (const other of opts.compare) {
    const loaded = local.loadStack(other);
    if (loaded.config.queues.definitions[0]?.name !== queue)
      throw new Error(
        `--compare ${other}: its first queue is not "${queue}" (the benchmarked stack's); the runs would not be comparable`,
      );
    wanted.push({
      label: other,
      stack: other,
      untuned: false,
      description: `the ${other} stack's rendered postgresql.conf (npm run db:local -- ${other})`,
    });
  }
  if (opts.compareDefault)
    wanted.push({
      label: "default",
      stack: opts.stack,
      untuned: true,
      description: "initdb defaults plus the preload libraries the extensions need",
    });
  if (opts.compareTembo)
    wanted.push({
      label: "tembo",
      stack: opts.stack,
      untuned: false,
      tembo: true,
      description:
        "Tembo's MessageQueue tuning for the stack's pod memory (tembo-io/tembo mq_config_engine + message_queue.yaml; npm run db:local -- <stack> --tembo)",
    });
  // a server already running for a stack (db:local, perhaps with --port) is reused on its port
  const ports = assignPorts(
    wanted.map(
      (w) =>
        local.runningLocalPort({ ...localOpts, stack: w.stack, untuned: w.untuned, tembo: w.tembo === true }) ??
        local.defaultPort(w.stack, w.untuned, w.tembo === true),
    ),
  );
  const targets: BenchTarget[] = [];
  if (opts.url !== undefined)
    targets.push({
      label: "tuned",
      url: opts.url,
      description: "given by --url",
      dlqReadRoutine: await local.findDlqReadRoutine(opts.url),
    });
  for (const [i, w] of wanted.entries()) {
    const db = await local.ensureLocalDatabase({
      ...localOpts,
      stack: w.stack,
      untuned: w.untuned,
      tembo: w.tembo === true,
      port: ports[i],
    });
    targets.push({
      label: w.label,
      url: db.url,
      description: `${w.description}, port ${db.port}`,
      dlqReadRoutine: db.dlqReadRoutine,
    });
  }
  return { targets, queue, profile, defaultRate: targetsFor(profile).pacedRateMsgsPerSecond };
}

/** Repository root (reports default to `.local/bench/` under it). */
const REPO_ROOT_DIR = path.resolve(__dirname, "..", "..");

/**
 * The chart files beside a JSON report: `<base>.svg` (capacity: msgs/s per workload, per server and limit, with
 * spread bars) and, when a soak ran, `<base>-soak.svg` (per-minute msgs/s and dead tuples).
 */
export function chartFiles(jsonFile: string, soak: boolean): { kind: "capacity" | "soak"; file: string }[] {
  const base = jsonFile.replace(/\.json$/i, "");
  return [
    { kind: "capacity", file: `${base}.svg` },
    ...(soak ? [{ kind: "soak" as const, file: `${base}-soak.svg` }] : []),
  ];
}

/** Entry point. */
export async function main(argv: readonly string[]): Promise<BenchReport> {
  const opts = parseBenchArgs(argv);
  const startedAt = new Date().toISOString();
  const { targets, queue, profile, defaultRate } = await resolveTargets(opts);
  const rate = opts.rateMsgsPerSecond ?? defaultRate;
  const benchTargets = targetsFor(profile);
  const dlqRead: DlqReadComparison[] = [];
  const latency: LatencyResult[] = [];
  const soakResults: SoakResult[] = [];
  const servers: Record<string, { version: string; description: string }> = {};
  const loadStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const load = loadStart[0] ?? 0;
  const ctxs: RunContext[] = [];
  let capacity: CapacityResult[] = [];
  try {
    for (const t of targets) {
      const { ctx, version } = await openRun(opts, t, queue);
      ctxs.push(ctx);
      servers[t.label] = { version, description: t.description };
    }
    capacity = await capacityInterleaved(opts, ctxs);
    for (const ctx of ctxs) {
      const r = await pacedAndDlq(ctx, rate);
      dlqRead.push(...r.dlq);
      latency.push(...r.latency);
    }
    soakResults.push(...(await soaks(opts, ctxs, rate)));
  } finally {
    // The bench's messages must not reach the first app read (docs/bench.md): empty the queue and its DLQ.
    for (const ctx of ctxs) {
      const removed = await purgeBenchMessages(ctx.client, ctx.queue).catch(() => undefined);
      if (removed !== undefined)
        console.log(
          `${ctx.target.label}: emptied ${Object.entries(removed)
            .map(([q, n]) => `${q} (${n} messages)`)
            .join(", ")} so no bench message reaches an app`,
        );
      await ctx.client.end().catch(() => undefined);
    }
  }
  const comparison =
    targets.length > 1 || opts.trials > 1
      ? compareCapacity(
          capacity,
          targets.map((t) => t.label),
        )
      : undefined;
  const loadEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const jsonFile =
    opts.json ?? path.join(REPO_ROOT_DIR, ".local", "bench", `${opts.stack}-${startedAt.replace(/[:.]/g, "-")}.json`);
  const charts = chartFiles(jsonFile, soakResults.length > 0);
  const ratios = limitRatios(capacity);
  const report: BenchReport = {
    stack: opts.stack,
    profile,
    startedAt,
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      kernel: os.release(),
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      loadAverage1m: load,
      loadAverages: { start: loadStart, end: loadEnd },
      ...(Math.max(load, loadEnd[0] ?? 0) > os.cpus().length * 0.25
        ? { note: "the machine was busy: absolute figures are low; the ratios side by side are what count" }
        : {}),
    },
    servers,
    targets: benchTargets,
    trials: opts.trials,
    capacity,
    ...(comparison !== undefined ? { comparison } : {}),
    ...(ratios.length > 0 ? { limitRatios: ratios } : {}),
    charts: charts.map((c) => c.file),
    dlqRead,
    latency,
    soak: soakResults,
    checks: evaluate(benchTargets, capacity, latency, dlqRead, soakResults),
  };
  process.stdout.write(`\n${renderReport(report)}`);
  fs.mkdirSync(path.dirname(path.resolve(jsonFile)), { recursive: true });
  fs.writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`JSON written to ${jsonFile}`);
  const svgs = benchCharts(report);
  for (const c of charts) {
    const svg = c.kind === "capacity" ? svgs.capacity : svgs.soak;
    if (svg === undefined) continue;
    fs.writeFileSync(c.file, svg);
    console.log(`chart written to ${c.file}`);
  }
  return report;
}

if (require.main === module) {
  runCli("bench", BENCH_HELP, async (argv) => {
    const report = await main(argv);
    const failed = report.checks.filter((c) => !c.pass);
    if (failed.length === 0) return 0;
    const reportOnly = argv.includes("--report-only");
    console.error(
      `bench: ${failed.length} check(s) failed (${failed.map((c) => c.name).join("; ")})${reportOnly ? "; --report-only: exit 0" : ""}`,
    );
    return reportOnly ? 0 : 1;
  });
}
