/**
 * Pure parts of the benchmark and db:local: pgbench output parsing, percentiles, /proc parsing and the
 * CPU split, the OpenLineage payload pool, the checks against the targets, argument parsing, memory fit,
 * several configurations side by side (order, median, spread, ratios) and the benchmark's variant stacks.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { cpuSplit, cpuSplitOfRun, meanCpuSplit, parseProcPidStat, parseProcStat } from "../../scripts/bench/cpu";
import { autovacuumRunsBetween, lsnToBytes } from "../../scripts/bench/db";
import { generatePayloadPool, PAYLOAD_BYTES, RUN_EVENT_SCHEMA_URL } from "../../scripts/bench/openlineage";
import {
  collectLatencies,
  parsePgbenchSummary,
  parseProgressLine,
  parseTransactionLog,
  percentile,
  pgbenchArgs,
} from "../../scripts/bench/pgbench";
import {
  CapacityResult,
  depthBounded,
  evaluate,
  LatencyResult,
  renderTable,
  targetsFor,
} from "../../scripts/bench/report";
import { parseBenchArgs } from "../../scripts/bench/bench";
import { didYouMean, UsageError, usageErrorOf } from "../../scripts/lib/cli";
import {
  assignPorts,
  compareCapacity,
  comparisonRows,
  interleavedSchedule,
  median,
  parseCompareList,
  rotate,
  spreadOf,
} from "../../scripts/bench/compare";
import {
  BENCH_STACK_DIR,
  defaultPort,
  findStackFile,
  fitTuningToMachine,
  loadStack,
  runningLocalPort,
  missingPieces,
  parseDbLocalArgs,
  REPO_ROOT,
  resolveBinaries,
  untunedConf,
} from "../../scripts/db-local";
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
    const old = PGBENCH_15_OUTPUT.replace(
      "statement latencies in milliseconds and failures:",
      "statement latencies in milliseconds:",
    ).replace(/( {9,})0 {2}/g, "  ");
    expect(parsePgbenchSummary(old).statements.map((x) => x.latencyMs)).toEqual([58.836, 1.159]);
  });

  it("names the missing figure when the text is not a summary", () => {
    expect(() => parsePgbenchSummary("pgbench: error: connection refused")).toThrow(/transaction count/);
  });

  it("parses progress lines, with and without schedule lag", () => {
    expect(parseProgressLine("progress: 2.0 s, 6912.3 tps, lat 0.287 ms stddev 0.102, 0 failed")).toEqual({
      seconds: 2,
      tps: 6912.3,
      latencyMs: 0.287,
    });
    expect(
      parseProgressLine("progress: 3.0 s, 5000.0 tps, lat 0.310 ms stddev 0.2, 0 failed, lag 0.051 ms")?.lagMs,
    ).toBe(0.051);
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
    const args = pgbenchArgs(
      {
        pgbench: "pgbench",
        url: "postgresql://x@127.0.0.1/db",
        script: "s.sql",
        clients: 4,
        threads: 2,
        durationSeconds: 5,
        variables: { queue: "q", batch: 100 },
        rateTps: 5000,
        samplingRate: 0.01,
      },
      "/tmp/tx",
    );
    expect(args.join(" ")).toBe(
      "-n -M prepared -r -c 4 -j 2 -T 5 -P 1 --rate 5000 -D batch=100 -D queue=q -l --log-prefix=/tmp/tx --sampling-rate=0.01 -f s.sql postgresql://x@127.0.0.1/db",
    );
    expect(() => pgbenchArgs({ pgbench: "p", url: "u", script: "s", clients: 0, durationSeconds: 1 })).toThrow(
      /clients/,
    );
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
    const after = {
      machineTotal: 1200,
      machineBusy: 250,
      client: new Map([[1, 30]]),
      server: new Map([
        [2, 120],
        [3, 30],
      ]),
    };
    expect(cpuSplit(before, after)).toEqual({ clientPct: 10, serverPct: 50, otherPct: 15, idlePct: 25 });
  });

  it("keeps a backend's time over a run when it has exited by the last sample", () => {
    const s0 = {
      machineTotal: 0,
      machineBusy: 0,
      client: new Map([[1, 0]]),
      server: new Map([
        [2, 0],
        [3, 0],
      ]),
    };
    // 100 ticks: backend 3 uses 80, pgbench 10.
    const s1 = {
      machineTotal: 100,
      machineBusy: 95,
      client: new Map([[1, 10]]),
      server: new Map([
        [2, 0],
        [3, 80],
      ]),
    };
    // 100 more: backend 3 used 80 again, then exited before this sample was read (its last interval is lost).
    const s2 = { machineTotal: 200, machineBusy: 190, client: new Map([[1, 20]]), server: new Map([[2, 0]]) };
    expect(cpuSplitOfRun([s0, s1, s2])).toEqual({ clientPct: 10, serverPct: 40, otherPct: 45, idlePct: 5 });
    expect(cpuSplit(s0, s2).serverPct).toBe(0); // first-to-last drops all of it
    expect(cpuSplitOfRun([s0])).toBeUndefined();
  });

  it("averages a soak minute's per-second splits", () => {
    const a = { clientPct: 5, serverPct: 80, otherPct: 10, idlePct: 5 };
    const b = { clientPct: 4, serverPct: 40, otherPct: 50, idlePct: 6 };
    expect(meanCpuSplit([a, b])).toEqual({ clientPct: 4.5, serverPct: 60, otherPct: 30, idlePct: 5.5 });
    expect(meanCpuSplit([])).toBeUndefined();
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
      expect((e.run as { runId: string }).runId).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
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

/** A run's health with nothing wrong. */
const health = { defaultPartitionRows: 0, deadTuples: 0, walBytes: 0, checkpointsRequested: 0, autovacuumRuns: 0 };

/** One capacity run as the bench records it, with only what a test varies given. */
function capacityResult(
  over: Pick<CapacityResult, "server" | "workload" | "clients" | "msgsPerSecond"> & Partial<CapacityResult>,
): CapacityResult {
  return {
    batch: 1,
    durationSeconds: 10,
    tps: over.msgsPerSecond,
    latencyAvgMs: 1,
    latencyP99Ms: 2,
    statements: [],
    health,
    notes: [],
    ...over,
  };
}

describe("checks against the targets", () => {
  const limitRun = (
    workload: string,
    clients: number,
    trial: number,
    pgmq: number,
    limit: number,
    server = "tuned",
  ): CapacityResult[] => [
    capacityResult({ server, workload, clients, trial, msgsPerSecond: pgmq }),
    capacityResult({ server, workload, clients, trial, msgsPerSecond: limit, kind: "limit" }),
  ];

  it("judges send_batch against its INSERT limit at every client count, by the median of the per-trial ratios", () => {
    const passing = [
      ...limitRun("send_batch", 1, 1, 90, 100),
      ...limitRun("send_batch", 1, 2, 70, 100),
      ...limitRun("send_batch", 1, 3, 85, 100),
      ...limitRun("send_batch", 4, 1, 200, 220),
      // the untuned server's ratio is no concern of the check
      ...limitRun("send_batch", 1, 1, 10, 100, "default"),
    ];
    const check = evaluate(targetsFor("development"), passing, [], [], []).find((c) => c.name.startsWith("send_batch"));
    // c=1: 0.90, 0.70, 0.85 -> median 0.85, the range reaches below 0.8; c=4: 0.91
    expect(check).toMatchObject({
      pass: true,
      target: ">= 0.80",
      measured: "0.85 (0.70–0.90) at c=1; c=1 range spans 0.8",
    });
    // one client count under the threshold fails the check, whatever the others do
    const failing = [...passing, ...limitRun("send_batch", 2, 1, 70, 100), ...limitRun("send_batch", 2, 2, 75, 100)];
    const f = evaluate(targetsFor("development"), failing, [], [], []).find((c) => c.name.startsWith("send_batch"));
    expect(f).toMatchObject({ pass: false });
    expect(f?.measured).toMatch(/^0\.72 \(0\.70–0\.75\) at c=2/);
  });

  it("judges read+delete against 0.7 of its DELETE limit, and gives no check without limit runs", () => {
    const runs = [...limitRun("read_delete_batch", 2, 1, 69, 100), ...limitRun("read_delete_batch", 2, 2, 68, 100)];
    expect(
      evaluate(targetsFor("development"), runs, [], [], []).find((c) => c.name.startsWith("read_delete_batch"))?.pass,
    ).toBe(false);
    const noLimits = [capacityResult({ server: "tuned", workload: "read_delete_batch", clients: 2, msgsPerSecond: 5 })];
    expect(evaluate(targetsFor("development"), noLimits, [], [], []).map((c) => c.name)).toEqual([
      "rows in the default partition (any run)",
    ]);
  });

  it("fails tuned vs defaults only when a point is lower in every trial (a difference inside the spread is none)", () => {
    const at = (workload: string, trial: number, tuned: number, dflt: number) => [
      capacityResult({ server: "tuned", workload, clients: 1, trial, msgsPerSecond: tuned }),
      capacityResult({ server: "default", workload, clients: 1, trial, msgsPerSecond: dflt }),
    ];
    const inside = [
      ...at("send_single", 1, 90, 100),
      ...at("send_single", 2, 110, 100),
      ...at("send_batch", 1, 300, 100),
      ...at("send_batch", 2, 200, 100),
    ];
    const ok = evaluate(targetsFor("development"), inside, [], [], []).find((c) => c.name.startsWith("tuned vs"));
    expect(ok).toMatchObject({ pass: true, measured: "1 higher, 1 inside the spread, 0 lower" });
    const worse = [...inside, ...at("read_delete_batch", 1, 90, 100), ...at("read_delete_batch", 2, 95, 100)];
    const bad = evaluate(targetsFor("development"), worse, [], [], []).find((c) => c.name.startsWith("tuned vs"));
    expect(bad).toMatchObject({ pass: false, measured: "lower: read_delete_batch c=1 0.93 (0.90–0.95)" });
    // without a default server there is nothing to compare
    expect(
      evaluate(
        targetsFor("development"),
        inside.filter((r) => r.server === "tuned"),
        [],
        [],
        [],
      ).some((c) => c.name.startsWith("tuned vs")),
    ).toBe(false);
  });

  it("fails on any row in the default partition, a slow p99 or an unbounded depth", () => {
    const lat: LatencyResult = {
      server: "tuned",
      rateMsgsPerSecond: 5000,
      achievedRateMsgsPerSecond: 5000,
      durationSeconds: 60,
      producers: 2,
      consumers: 2,
      messages: 300000,
      p50Ms: 2,
      p95Ms: 20,
      p99Ms: 150,
      depthSamples: [10, 20, 30],
      depthBounded: true,
      health: { ...health, defaultPartitionRows: 3 },
    };
    const checks = evaluate(targetsFor("development"), [], [lat], [], []);
    expect(checks.find((c) => c.name.startsWith("rows in the default"))?.pass).toBe(false);
    expect(checks.find((c) => c.name.startsWith("send→read p99"))?.pass).toBe(false);
    expect(checks.find((c) => c.name.startsWith("queue depth"))?.pass).toBe(true);
  });

  it("fails a fast p99 when the producers could not keep the rate", () => {
    const lat: LatencyResult = {
      server: "tuned",
      rateMsgsPerSecond: 5000,
      achievedRateMsgsPerSecond: 4000,
      durationSeconds: 60,
      producers: 2,
      consumers: 2,
      messages: 240000,
      p50Ms: 1,
      p95Ms: 2,
      p99Ms: 3,
      depthSamples: [1, 2],
      depthBounded: true,
      health,
    };
    const p99 = evaluate(targetsFor("development"), [], [lat], [], []).find((c) => c.name.startsWith("send→read p99"));
    expect(p99).toMatchObject({ pass: false, measured: "3.0 ms at 4,000 msgs/s" });
    expect(
      evaluate(targetsFor("development"), [], [{ ...lat, achievedRateMsgsPerSecond: 4800 }], [], []).find((c) =>
        c.name.startsWith("send→read p99"),
      )?.pass,
    ).toBe(true);
  });

  it("checks the DLQ overhead and the soak retention", () => {
    const checks = evaluate(
      targetsFor("production"),
      [],
      [],
      [
        {
          server: "tuned",
          clients: 4,
          batch: 100,
          plainMsgsPerSecond: 100,
          dlqMsgsPerSecond: 89,
          overheadPct: 11,
          routine: "ops.read_with_dlq",
        },
      ],
      [{ server: "tuned", rateMsgsPerSecond: 30000, minutes: [], retainedPct: 96 }],
    );
    expect(checks.map((c) => c.pass)).toEqual([false, true]);
    expect(targetsFor("production").pacedRateMsgsPerSecond).toBeGreaterThan(
      targetsFor("development").pacedRateMsgsPerSecond,
    );
  });

  it("calls depth bounded only when the end is under one second of production and not growing", () => {
    expect(depthBounded([5, 10, 8, 12], 5000)).toBe(true);
    expect(depthBounded([1000, 3000, 6000], 5000)).toBe(false);
    expect(depthBounded([0, 100, 4900], 5000)).toBe(true);
    expect(depthBounded([], 5000)).toBe(false);
  });

  it("renders aligned tables", () => {
    expect(
      renderTable([
        ["a", "bb"],
        ["ccc", "d"],
      ]),
    ).toBe("a    bb\n---  --\nccc  d");
  });
});

describe("command lines", () => {
  it("parses bench arguments with defaults and refuses bad values", () => {
    const o = parseBenchArgs(["dev", "--duration", "5", "--clients", "1,8", "--compare-default", "--soak", "10"]);
    expect(o).toMatchObject({
      stack: "dev",
      durationSeconds: 5,
      clients: [1, 8],
      compareDefault: true,
      soakMinutes: 10,
      batch: 100,
      latencySeconds: 60,
    });
    expect(o.workloads).toContain("read_archive_batch");
    expect(() => parseBenchArgs([])).toThrow(/missing <stack>/);
    expect(() => parseBenchArgs(["dev", "--duraton", "5"])).toThrow(
      "unknown option --duraton; did you mean --duration?",
    );
    expect(() => parseBenchArgs(["dev", "--duraton", "5"])).toThrow(UsageError);
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

describe("side by side (--compare, --trials)", () => {
  const run = (
    server: string,
    trial: number,
    msgsPerSecond: number,
    workload = "send_single",
    clients = 1,
    notes: string[] = [],
  ): CapacityResult => capacityResult({ server, trial, workload, clients, msgsPerSecond, notes });

  it("takes medians of odd and even counts, and spreads as min, max and range % of the median", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
    expect(spreadOf([90, 100, 120])).toEqual({ n: 3, median: 100, min: 90, max: 120, rangePct: 30 });
    expect(spreadOf([7])).toEqual({ n: 1, median: 7, min: 7, max: 7, rangePct: 0 });
    expect(spreadOf([])).toMatchObject({ n: 0, rangePct: 0 });
  });

  it("interleaves the servers at each point, rotated per trial", () => {
    expect(rotate(["a", "b", "c"], 4)).toEqual(["b", "c", "a"]);
    expect(rotate([], 2)).toEqual([]);
    const s = interleavedSchedule(2, ["w1", "w2"], [1, 2], ["g", "p", "d"]);
    expect(s).toHaveLength(2 * 2 * 2 * 3);
    expect(s.slice(0, 6).map((r) => `${r.trial}${r.workload}c${r.clients}${r.label}`)).toEqual([
      "1w1c1g",
      "1w1c1p",
      "1w1c1d",
      "1w1c2g",
      "1w1c2p",
      "1w1c2d",
    ]);
    expect(s.filter((r) => r.trial === 2 && r.workload === "w1" && r.clients === 1).map((r) => r.label)).toEqual([
      "p",
      "d",
      "g",
    ]);
  });

  it("gives servers side by side distinct ports, keeping each wanted port when free", () => {
    expect(assignPorts([55434, 55434, 55436])).toEqual([55434, 55435, 55436]);
    expect(assignPorts([55434, 55434, 55435])).toEqual([55434, 55436, 55435]);
    expect(assignPorts([55430, 55434, 55432])).toEqual([55430, 55434, 55432]);
  });

  it("parses --compare and refuses empty, repeated, self and path names", () => {
    expect(parseCompareList(undefined, "bench-guide")).toEqual([]);
    expect(parseCompareList("bench-previous,dev", "bench-guide")).toEqual(["bench-previous", "dev"]);
    expect(() => parseCompareList("dev,", "x")).toThrow(/empty stack name/);
    expect(() => parseCompareList("dev,dev", "x")).toThrow(/named twice/);
    expect(() => parseCompareList("dev", "dev")).toThrow(/benchmarked stack itself/);
    expect(() => parseCompareList("../x", "dev")).toThrow(/not a Pulumi stack name/);
    const o = parseBenchArgs(["bench-guide", "--compare", "bench-previous", "--compare-default", "--trials", "5"]);
    expect(o).toMatchObject({ compare: ["bench-previous"], compareDefault: true, trials: 5 });
    expect(parseBenchArgs(["dev"])).toMatchObject({ compare: [], trials: 3, soakSideBySide: false });
    expect(parseBenchArgs(["dev", "--soak", "10", "--soak-side-by-side"])).toMatchObject({
      soakMinutes: 10,
      soakSideBySide: true,
    });
    expect(() => parseBenchArgs(["dev", "--trials", "0"])).toThrow(/--trials/);
    expect(() => parseBenchArgs(["dev", "--trials", "1.5"])).toThrow(/--trials/);
  });

  it("reports each server's median and spread and the first server's ratios, per trial and of the medians", () => {
    const results = [
      run("tuned", 1, 200),
      run("prev", 1, 100),
      run("default", 1, 50),
      run("tuned", 2, 180),
      run("prev", 2, 200),
      run("default", 2, 45, "send_single", 1, ["queue drained: raise --prefill-per-second"]),
      run("tuned", 3, 220, "send_single", 1, ["producers sent 220 msgs/s", "2 failed transactions"]),
      run("prev", 3, 110),
      run("default", 3, 55),
      run("tuned", 1, 10, "send_batch", 2),
      run("prev", 1, 0, "send_batch", 2),
    ];
    const rows = compareCapacity(results, ["tuned", "prev", "default"]);
    expect(rows.map((r) => `${r.workload}/${r.clients}`)).toEqual(["send_single/1", "send_batch/2"]);
    const [single, batch] = rows;
    expect(single?.servers.map((s) => s.msgsPerSecond.median)).toEqual([200, 110, 50]);
    expect(single?.servers[0]?.msgsPerSecond).toMatchObject({ min: 180, max: 220, rangePct: 20 });
    // tuned/prev per trial: 2.00, 0.90, 2.00: the trials disagree, so no verdict.
    expect(single?.ratios[0]).toMatchObject({
      against: "prev",
      ofMedians: 1.82,
      paired: { n: 3, median: 2, min: 0.9, max: 2 },
      verdict: "undecided",
    });
    // tuned/default per trial: 4.00, 4.00, 4.00.
    expect(single?.ratios[1]).toMatchObject({
      against: "default",
      ofMedians: 4,
      paired: { min: 4, max: 4 },
      verdict: "higher",
    });
    expect(single?.notes).toEqual([
      "default t2: queue drained: raise --prefill-per-second",
      "tuned t3: 2 failed transactions",
    ]);
    // A server that moved nothing gives no ratio; a single trial gives no verdict.
    expect(batch?.ratios[0]).toMatchObject({ paired: { n: 0 }, verdict: "undecided" });
    expect(batch?.ratios[0]?.ofMedians).toBeUndefined();
    expect(
      compareCapacity([run("a", 1, 1), run("b", 1, 2), run("a", 2, 1), run("b", 2, 3)], ["a", "b"])[0]?.ratios[0]
        ?.verdict,
    ).toBe("lower");
    const table = comparisonRows(rows);
    expect(table[0]).toEqual([
      "workload",
      "clients",
      "tuned msgs/s median (min–max)",
      "prev msgs/s median (min–max)",
      "default msgs/s median (min–max)",
      "tuned/prev (per trial)",
      "tuned/default (per trial)",
      "notes",
    ]);
    expect(table[1]?.slice(2, 7)).toEqual([
      "200 (180–220)",
      "110 (100–200)",
      "50 (45–55)",
      "1.82 (0.90–2.00) undecided",
      "4.00 (4.00–4.00) higher",
    ]);
  });
});

describe("the benchmark's variant stacks (scripts/bench/stacks/)", () => {
  it("are found after the repository root, and a root stack wins", () => {
    expect(findStackFile("bench-guide", [REPO_ROOT, BENCH_STACK_DIR])).toBe(
      path.join(BENCH_STACK_DIR, "Pulumi.bench-guide.yaml"),
    );
    expect(findStackFile("dev", [REPO_ROOT, BENCH_STACK_DIR])).toBe(path.join(REPO_ROOT, "Pulumi.dev.yaml"));
    expect(findStackFile("nope", [REPO_ROOT, BENCH_STACK_DIR])).toBeUndefined();
    expect(() => findStackFile("../dev", [REPO_ROOT])).toThrow(/not a Pulumi stack name/);
    expect(() => loadStack("bench-guide", REPO_ROOT)).toThrow(/no stack file Pulumi.bench-guide.yaml/);
  });

  it("bench-guide carries the seed guide's Development values exactly, and only two labelled overrides", () => {
    const { config } = loadStack("bench-guide");
    expect(config.postgres.tuning.seed).toEqual({
      shared_buffers: "2GB",
      work_mem: "64MB",
      maintenance_work_mem: "512MB",
      effective_cache_size: "2GB",
      autovacuum_vacuum_scale_factor: 0.01,
      autovacuum_analyze_scale_factor: 0.005,
      autovacuum_vacuum_threshold: 25,
      autovacuum_naptime: "15s",
      random_page_cost: 1.0,
      seq_page_cost: 1.0,
      effective_io_concurrency: 1000,
      maintenance_io_concurrency: 100,
      checkpoint_completion_target: 0.9,
      synchronous_commit: "off",
      wal_compression: "on",
      "pg_partman_bgw.interval": 60,
    });
    expect(Object.fromEntries(Object.entries(config.postgres.tuning.overrides).map(([k, o]) => [k, o.value]))).toEqual({
      max_connections: 30,
      autovacuum_work_mem: "64MB",
    });
    for (const o of Object.values(config.postgres.tuning.overrides)) expect(o.reason).toMatch(/^not the guide's/);
    expect(config.queues.tableAutovacuum).toEqual({
      seed: {
        autovacuum_vacuum_scale_factor: 0.001,
        autovacuum_analyze_scale_factor: 0.0005,
        autovacuum_vacuum_threshold: 5,
        autovacuum_vacuum_cost_limit: 10000,
      },
      overrides: {},
    });
  });

  it("bench-previous differs from bench-guide only in the tuning", () => {
    const guide = loadStack("bench-guide").config;
    const previous = loadStack("bench-previous").config;
    // c8cdc6b's values, labelled as what they are: overrides with that reason, none claimed as the guide's.
    expect(previous.postgres.tuning.seed).toEqual({});
    expect(previous.postgres.tuning.overrides).toMatchObject({
      shared_buffers: { value: "1GB" },
      work_mem: { value: "16MB" },
      max_connections: { value: 100 },
    });
    for (const o of Object.values(previous.postgres.tuning.overrides)) expect(o.reason).toMatch(/c8cdc6b/);
    // ... and its database is c8cdc6b's default.
    expect(previous.postgres.database).toBe("lineage");
    const strip = (c: typeof guide) => ({
      ...c,
      postgres: { ...c.postgres, tuning: undefined, database: undefined },
      queues: { ...c.queues, tableAutovacuum: undefined },
    });
    expect(strip(previous)).toEqual(strip(guide));
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
        {
          name: "pg_partman_bgw.role",
          value: "lineage_owner",
          origin: "override",
          note: "the owner of the queue partitions (replaces seed value postgres)",
        },
      ],
      parameters: {},
      sharedPreloadLibraries: [],
      budget: budget(worst),
      budgetVerdict: { holds: true, overBytes: 0, terms: [], fixes: [], summary: "" },
      durability: { synchronous_commit: "on", lossWindowMs: 0, failoverCanLose: false, summary: "" },
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

describe("command-line conventions (scripts/lib/cli.ts)", () => {
  test("a misspelled flag gets the nearest known one; a far one gets none", () => {
    expect(didYouMean("duraton", ["duration", "clients"])).toBe("duration");
    expect(didYouMean("compare-defualt", ["compare-default", "compare"])).toBe("compare-default");
    expect(didYouMean("xyzzy-frobnicate", ["duration", "clients"])).toBeUndefined();
  });

  test("--help is every script's flag: a script without options still suggests it", () => {
    expect(usageErrorOf(new TypeError("Unknown option '--hlep'"), []).message).toBe(
      "unknown option --hlep; did you mean --help?",
    );
  });

  test("a missing stack is a usage error naming the nearest stack file", () => {
    expect(() => loadStack("dve")).toThrow(UsageError);
    expect(() => loadStack("dve")).toThrow("did you mean dev?");
  });

  test("db:local's usage mistakes are UsageErrors (exit 2), naming the flag", () => {
    expect(() => parseDbLocalArgs(["dev", "--stp"])).toThrow("unknown option --stp; did you mean --stop?");
    expect(() => parseDbLocalArgs([])).toThrow(UsageError);
    expect(() => parseDbLocalArgs(["dev", "--stop", "--reset"])).toThrow(UsageError);
    expect(() => parseDbLocalArgs(["dev", "--port", "x"])).toThrow('--port must be a positive integer, got "x"');
  });
});

describe("db:local picks a PostgreSQL that can run the queue", () => {
  test("the stack's major when it has pg_partman and pgmq, else an installed one that has both, saying so", () => {
    const { config } = loadStack("dev");
    const { binaries, notes } = resolveBinaries({}, config);
    if (binaries.major === config.postgres.majorVersion) {
      // either it has everything, or no installed major does (the caller then names what is missing)
      expect(notes).toEqual([]);
    } else {
      expect(missingPieces(binaries)).toEqual([]);
      expect(notes.join("\n")).toContain(
        `instead of the stack's ${config.postgres.majorVersion}: no PostgreSQL ${config.postgres.majorVersion} where db:local looks`,
      );
    }
    // an explicit --major is taken as asked
    expect(resolveBinaries({ major: config.postgres.majorVersion }, config).binaries.major).toBe(
      config.postgres.majorVersion,
    );
  });
});

describe("runningLocalPort: a running server is reused on its own port", () => {
  const localDir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-running-port-"));
  afterAll(() => fs.rmSync(localDir, { recursive: true, force: true }));
  const pidFile = (pid: number, port: number) => {
    fs.mkdirSync(path.join(localDir, "dev", "data"), { recursive: true });
    // postmaster.pid: pid, data directory, start time, port, socket directory, ... (pidfile.h)
    fs.writeFileSync(
      path.join(localDir, "dev", "data", "postmaster.pid"),
      `${pid}\n/data\n1700000000\n${port}\n/tmp\n`,
    );
  };

  test("the port in postmaster.pid when its process lives", () => {
    pidFile(process.pid, 55450);
    expect(runningLocalPort({ stack: "dev", localDir })).toBe(55450);
  });

  test("none for a stale file, a missing one, or another twin", () => {
    pidFile(2 ** 22 + 12345, 55450); // above Linux's pid_max: no such process
    expect(runningLocalPort({ stack: "dev", localDir })).toBeUndefined();
    expect(runningLocalPort({ stack: "prod", localDir })).toBeUndefined();
    pidFile(process.pid, 55450);
    expect(runningLocalPort({ stack: "dev", untuned: true, localDir })).toBeUndefined();
  });
});
