/**
 * Pure parts of the benchmark and db:local: pgbench output parsing, percentiles, /proc parsing and the
 * CPU split, the OpenLineage payload pool, the checks against the targets, argument parsing, memory fit.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cpuSplit, cpuSplitOfRun, parseProcPidStat, parseProcStat } from "../../scripts/bench/cpu";
import { autovacuumRunsBetween, lsnToBytes } from "../../scripts/bench/db";
import { generatePayloadPool, PAYLOAD_BYTES, RUN_EVENT_SCHEMA_URL } from "../../scripts/bench/openlineage";
import { collectLatencies, parsePgbenchSummary, parseProgressLine, parseTransactionLog, percentile, pgbenchArgs } from "../../scripts/bench/pgbench";
import { CapacityResult, depthBounded, evaluate, LatencyResult, renderTable, targetsFor } from "../../scripts/bench/report";
import { parseBenchArgs } from "../../scripts/bench/bench";
import { defaultPort, fitTuningToMachine, parseDbLocalArgs, untunedConf } from "../../scripts/db-local";
import type { TuningResult } from "../../components/postgres/tuning";

const PGBENCH_15_OUTPUT = `pgbench (15.18 (Debian 15.18-0+deb12u1))
transaction type: read_delete_batch.sql
scaling factor: 1
query mode: prepared
number of clients: 2
number of threads: 1
maximum number of tries: 1
duration: 2 s
number of transactions actually processed: 67
number of failed transactions: 0 (0.000%)
latency average = 60.038 ms
initial connection time = 6.450 ms
tps = 33.312056 (without initial connection time)
statement latencies in milliseconds and failures:
        58.836           0  SELECT coalesce(array_agg(msg_id), '{}') AS ids, count(*) AS n FROM pgmq.read(:queue::text, :vt::integer, :batch::integer)
         0.004           0  \\if :n > 0
         1.159           0  SELECT count(*) FROM pgmq.delete(:queue::text, :ids::bigint[]);
         0.027           0  \\endif
`;

describe("pgbench output", () => {
  it("parses the summary and keeps SQL statements only", () => {
    const s = parsePgbenchSummary(PGBENCH_15_OUTPUT);
    expect(s).toMatchObject({ transactions: 67, failed: 0, latencyAvgMs: 60.038, tps: 33.312056 });
    expect(s.statements.map((x) => x.latencyMs)).toEqual([58.836, 1.159]);
    expect(s.statements[1]?.text).toContain("pgmq.delete");
  });

  it("parses pre-15 per-statement lines without a failures column", () => {
    const old = PGBENCH_15_OUTPUT.replace("statement latencies in milliseconds and failures:", "statement latencies in milliseconds:").replace(/( {9,})0 {2}/g, "  ");
    expect(parsePgbenchSummary(old).statements.map((x) => x.latencyMs)).toEqual([58.836, 1.159]);
  });

  it("names the missing figure when the text is not a summary", () => {
    expect(() => parsePgbenchSummary("pgbench: error: connection refused")).toThrow(/transaction count/);
  });

  it("parses progress lines, with and without schedule lag", () => {
    expect(parseProgressLine("progress: 2.0 s, 6912.3 tps, lat 0.287 ms stddev 0.102, 0 failed")).toEqual({ seconds: 2, tps: 6912.3, latencyMs: 0.287 });
    expect(parseProgressLine("progress: 3.0 s, 5000.0 tps, lat 0.310 ms stddev 0.2, 0 failed, lag 0.051 ms")?.lagMs).toBe(0.051);
    expect(parseProgressLine("starting vacuum...end.")).toBeUndefined();
  });

  it("reads latencies (µs → ms) from the per-transaction log and skips skipped transactions", () => {
    const log = "0 1 1500 0 1700000000 1\n1 1 250 0 1700000000 2\n0 2 skipped 0 1700000001 3\n";
    expect(parseTransactionLog(log)).toEqual([1.5, 0.25]);
  });

  it("computes nearest-rank percentiles", () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([], 99)).toBe(0);
  });

  it("builds prepared-mode arguments with sorted -D variables, pacing and log sampling", () => {
    const args = pgbenchArgs({ pgbench: "pgbench", url: "postgresql://x@127.0.0.1/db", script: "s.sql", clients: 4, threads: 2, durationSeconds: 5, variables: { queue: "q", batch: 100 }, rateTps: 5000, samplingRate: 0.01 }, "/tmp/tx");
    expect(args.join(" ")).toBe("-n -M prepared -r -c 4 -j 2 -T 5 -P 1 --rate 5000 -D batch=100 -D queue=q -l --log-prefix=/tmp/tx --sampling-rate=0.01 -f s.sql postgresql://x@127.0.0.1/db");
    expect(() => pgbenchArgs({ pgbench: "p", url: "u", script: "s", clients: 0, durationSeconds: 1 })).toThrow(/clients/);
  });
});

describe("CPU split from /proc", () => {
  it("parses /proc/stat's aggregate line (idle + iowait are idle)", () => {
    expect(parseProcStat("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n")).toEqual({ total: 1000, busy: 150 });
  });

  it("parses /proc/<pid>/stat with a comm holding spaces and parentheses", () => {
    const line = "4242 (postgres: (x) y) S 4000 4242 4242 0 -1 4194560 100 0 0 0 37 5 0 0 20 0 1 0 100 1000 10";
    expect(parseProcPidStat(line)).toEqual({ ppid: 4000, ticks: 42 });
  });

  it("splits machine time into client, server, other and idle", () => {
    const before = { machineTotal: 1000, machineBusy: 100, client: new Map([[1, 10]]), server: new Map([[2, 50]]) };
    // 200 ticks pass: 150 busy, of which pgbench 20, the server 100 (one new backend 30), 30 other.
    const after = { machineTotal: 1200, machineBusy: 250, client: new Map([[1, 30]]), server: new Map([[2, 120], [3, 30]]) };
    expect(cpuSplit(before, after)).toEqual({ clientPct: 10, serverPct: 50, otherPct: 15, idlePct: 25 });
  });

  it("keeps a backend's time over a run when it has exited by the last sample", () => {
    const s0 = { machineTotal: 0, machineBusy: 0, client: new Map([[1, 0]]), server: new Map([[2, 0], [3, 0]]) };
    // 100 ticks: backend 3 uses 80, pgbench 10.
    const s1 = { machineTotal: 100, machineBusy: 95, client: new Map([[1, 10]]), server: new Map([[2, 0], [3, 80]]) };
    // 100 more: backend 3 used 80 again, then exited before this sample was read (its last interval is lost).
    const s2 = { machineTotal: 200, machineBusy: 190, client: new Map([[1, 20]]), server: new Map([[2, 0]]) };
    expect(cpuSplitOfRun([s0, s1, s2])).toEqual({ clientPct: 10, serverPct: 40, otherPct: 45, idlePct: 5 });
    expect(cpuSplit(s0, s2).serverPct).toBe(0); // first-to-last drops all of it
    expect(cpuSplitOfRun([s0])).toBeUndefined();
  });
});

describe("OpenLineage payload pool", () => {
  const pool = generatePayloadPool(500);

  it("yields RunEvents of 0.3–1 KB with the spec's required fields", () => {
    for (const text of pool) {
      const bytes = Buffer.byteLength(text);
      expect(bytes).toBeGreaterThanOrEqual(PAYLOAD_BYTES.min);
      expect(bytes).toBeLessThanOrEqual(PAYLOAD_BYTES.max);
      const e = JSON.parse(text) as Record<string, unknown>;
      expect(e.schemaURL).toBe(RUN_EVENT_SCHEMA_URL);
      expect(["START", "RUNNING", "COMPLETE", "FAIL", "ABORT"]).toContain(e.eventType);
      expect((e.run as { runId: string }).runId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(Number.isNaN(Date.parse(e.eventTime as string))).toBe(false);
      expect((e.outputs as unknown[]).length).toBeGreaterThan(0);
    }
  });

  it("varies sizes and is deterministic per seed", () => {
    const sizes = new Set(pool.map((t) => Buffer.byteLength(t)));
    expect(sizes.size).toBeGreaterThan(50);
    expect(generatePayloadPool(20)).toEqual(pool.slice(0, 20));
    expect(generatePayloadPool(20, 9)).not.toEqual(pool.slice(0, 20));
    expect(() => generatePayloadPool(0)).toThrow(/>= 1/);
  });
});

describe("checks against the targets", () => {
  const health = { defaultPartitionRows: 0, deadTuples: 0, walBytes: 0, checkpointsRequested: 0, autovacuumRuns: 0 };
  const run = (workload: string, clients: number, msgsPerSecond: number, server = "tuned"): CapacityResult => ({
    server, workload, clients, batch: 1, durationSeconds: 10, msgsPerSecond, tps: msgsPerSecond, latencyAvgMs: 1, latencyP99Ms: 2, statements: [], health, notes: [],
  });

  it("takes the best client count per workload and ignores the untuned server", () => {
    const checks = evaluate(targetsFor("development"), [run("send_single", 1, 6000), run("send_single", 4, 12000), run("send_single", 4, 50000, "default")], [], [], []);
    expect(checks.find((c) => c.name.startsWith("send_single"))).toMatchObject({ pass: true, measured: "12,000 (c=4)" });
    const failing = evaluate(targetsFor("development"), [run("send_single", 1, 9999)], [], [], []);
    expect(failing.find((c) => c.name.startsWith("send_single"))?.pass).toBe(false);
  });

  it("fails on any row in the default partition, a slow p99 or an unbounded depth", () => {
    const lat: LatencyResult = {
      server: "tuned", rateMsgsPerSecond: 5000, achievedRateMsgsPerSecond: 5000, durationSeconds: 60, producers: 2, consumers: 2, messages: 300000,
      p50Ms: 2, p95Ms: 20, p99Ms: 150, depthSamples: [10, 20, 30], depthBounded: true, health: { ...health, defaultPartitionRows: 3 },
    };
    const checks = evaluate(targetsFor("development"), [], [lat], [], []);
    expect(checks.find((c) => c.name.startsWith("rows in the default"))?.pass).toBe(false);
    expect(checks.find((c) => c.name.startsWith("send→read p99"))?.pass).toBe(false);
    expect(checks.find((c) => c.name.startsWith("queue depth"))?.pass).toBe(true);
  });

  it("fails a fast p99 when the producers could not keep the rate", () => {
    const lat: LatencyResult = {
      server: "tuned", rateMsgsPerSecond: 5000, achievedRateMsgsPerSecond: 4000, durationSeconds: 60, producers: 2, consumers: 2, messages: 240000,
      p50Ms: 1, p95Ms: 2, p99Ms: 3, depthSamples: [1, 2], depthBounded: true, health,
    };
    const p99 = evaluate(targetsFor("development"), [], [lat], [], []).find((c) => c.name.startsWith("send→read p99"));
    expect(p99).toMatchObject({ pass: false, measured: "3.0 ms at 4,000 msgs/s" });
    expect(evaluate(targetsFor("development"), [], [{ ...lat, achievedRateMsgsPerSecond: 4800 }], [], []).find((c) => c.name.startsWith("send→read p99"))?.pass).toBe(true);
  });

  it("checks the DLQ overhead and the soak retention", () => {
    const checks = evaluate(
      targetsFor("production"),
      [],
      [],
      [{ server: "tuned", clients: 4, batch: 100, plainMsgsPerSecond: 100, dlqMsgsPerSecond: 89, overheadPct: 11, routine: "ops.read_with_dlq" }],
      [{ server: "tuned", rateMsgsPerSecond: 30000, minutes: [], retainedPct: 96 }],
    );
    expect(checks.map((c) => c.pass)).toEqual([false, true]);
    expect(targetsFor("production").pacedRateMsgsPerSecond).toBeGreaterThan(targetsFor("development").pacedRateMsgsPerSecond);
  });

  it("calls depth bounded only when the end is under one second of production and not growing", () => {
    expect(depthBounded([5, 10, 8, 12], 5000)).toBe(true);
    expect(depthBounded([1000, 3000, 6000], 5000)).toBe(false);
    expect(depthBounded([0, 100, 4900], 5000)).toBe(true);
    expect(depthBounded([], 5000)).toBe(false);
  });

  it("renders aligned tables", () => {
    expect(renderTable([["a", "bb"], ["ccc", "d"]])).toBe("a    bb\n---  --\nccc  d");
  });
});

describe("command lines", () => {
  it("parses bench arguments with defaults and refuses bad values", () => {
    const o = parseBenchArgs(["dev", "--duration", "5", "--clients", "1,8", "--compare-default", "--soak", "10"]);
    expect(o).toMatchObject({ stack: "dev", durationSeconds: 5, clients: [1, 8], compareDefault: true, soakMinutes: 10, batch: 100, latencySeconds: 60 });
    expect(o.workloads).toContain("read_archive_batch");
    expect(() => parseBenchArgs([])).toThrow(/usage/);
    expect(() => parseBenchArgs(["dev", "--clients", "0"])).toThrow(/--clients/);
    expect(() => parseBenchArgs(["dev", "--workloads", "nope"])).toThrow(/unknown workload "nope"/);
  });

  it("parses db:local arguments", () => {
    expect(parseDbLocalArgs(["prod", "--reset"])).toMatchObject({ stack: "prod", action: "reset" });
    expect(parseDbLocalArgs(["dev", "--major", "15"])).toMatchObject({ action: "start", major: 15 });
    expect(() => parseDbLocalArgs(["dev", "--stop", "--reset"])).toThrow(/exclude/);
    expect(defaultPort("dev")).not.toBe(defaultPort("prod"));
    expect(defaultPort("dev", true)).not.toBe(defaultPort("dev"));
  });
});

describe("db:local memory fit", () => {
  const GiB = 2 ** 30;
  const budget = (worst: number) => ({ worstCaseBytes: worst }) as TuningResult["budget"];
  const tuning = (worst: number): TuningResult =>
    ({
      settings: [
        { name: "shared_buffers", value: "4GB", origin: "seed" },
        { name: "shared_preload_libraries", value: "pg_partman_bgw,pg_stat_statements", origin: "seed" },
        { name: "pg_partman_bgw.dbname", value: "ducklakedb", origin: "seed" },
        { name: "pg_partman_bgw.role", value: "lineage_owner", origin: "override", note: "the owner of the queue partitions (replaces seed value postgres)" },
      ],
      parameters: {},
      sharedPreloadLibraries: [],
      budget: budget(worst),
      budgetVerdict: { holds: true, overBytes: 0, terms: [], fixes: [], summary: "" },
      durability: { synchronous_commit: "on", lossWindowMs: 0, summary: "" },
      warnings: [],
    }) as TuningResult;

  it("leaves the settings alone when the worst case fits in half the machine", () => {
    const t = tuning(10 * GiB);
    const fitted = fitTuningToMachine(t, 15, 24 * GiB);
    expect(fitted.scaleFactor).toBe(1);
    expect(fitted.tuning).toBe(t);
    expect(fitted.notes).toEqual([]);
  });

  it("scales down by the smallest factor that fits, and says so", () => {
    const fitted = fitTuningToMachine(tuning(10 * GiB), 15, 8 * GiB);
    expect(fitted.scaleFactor).toBe(3);
    expect(fitted.notes[0]).toMatch(/10\.0 GiB .* 8\.0 GiB: every memory setting divided by 3/);
    expect(fitted.tuning.settings.find((s) => s.name === "shared_buffers")?.value).not.toBe("4GB");
  });

  it("keeps only what the extensions need in the untuned twin", () => {
    const conf = untunedConf(tuning(GiB));
    expect(conf).toContain("shared_preload_libraries = 'pg_partman_bgw,pg_stat_statements'");
    expect(conf).toContain("pg_partman_bgw.dbname = 'ducklakedb'");
    expect(conf).toContain("pg_partman_bgw.role = 'lineage_owner'");
    expect(conf).not.toContain("shared_buffers");
  });
});

describe("WAL positions", () => {
  it("turns an LSN into bytes", () => {
    expect(lsnToBytes("0/10")).toBe(16);
    expect(lsnToBytes("1/0")).toBe(2 ** 32);
  });
});

test("collectLatencies reads 300,000 logged transactions across files, sorted (no argument-limit overflow)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pgbench-log-"));
  try {
    for (const file of ["pgbench_log.1", "pgbench_log.1.1"]) {
      const lines: string[] = [];
      for (let i = 0; i < 150_000; i++) lines.push(`0 ${i} ${(i % 1000) + 1} 0 1764400000 ${i}`);
      fs.writeFileSync(path.join(dir, file), lines.join("\n") + "\n");
    }
    const latencies = collectLatencies(dir);
    expect(latencies).toHaveLength(300_000);
    expect(latencies[0]).toBe(0.001);
    expect(latencies[latencies.length - 1]).toBe(1);
    expect(percentile(latencies, 50)).toBe(0.5);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("autovacuum runs between snapshots are counted per table: a dropped partition never makes them negative", () => {
  const before = { autovacuumByTable: { "pgmq.q_x_p0": 20, "pgmq.q_x_p100": 3 } };
  // p0 was dropped by retention, p100 vacuumed twice more, p200 is new with one run.
  const after = { autovacuumByTable: { "pgmq.q_x_p100": 5, "pgmq.q_x_p200": 1 } };
  expect(autovacuumRunsBetween(before, after)).toBe(3);
  // Statistics reset (a count going down) is not a negative number of runs.
  expect(autovacuumRunsBetween({ autovacuumByTable: { t: 9 } }, { autovacuumByTable: { t: 2 } })).toBe(0);
});
