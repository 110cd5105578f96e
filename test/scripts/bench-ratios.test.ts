/**
 * Pure parts of issue 18's benchmark: runs interleaved with their physical limits, pgmq / limit ratios with their
 * spread, the end-to-end summary, Tembo's MessageQueue formulas, the SVG writer and charts, the progress line and
 * the flags (--repeat / --trials, --compare-tembo, --no-limits, db:local --tembo).
 */
import { chartFiles, parseBenchArgs, progressLine, workloadSpec } from "../../scripts/bench/bench";
import { benchCharts } from "../../scripts/bench/charts";
import { interleavedSchedule, limitRatios, ratioText, sideOf, spreadOf } from "../../scripts/bench/compare";
import { rangeBound } from "../../scripts/bench/db";
import {
  BenchReport,
  CapacityResult,
  CAPACITY_WORKLOADS,
  endToEnd,
  renderReport,
  targetsFor,
} from "../../scripts/bench/report";
import { barChartSvg, compact, escapeXml, lineChartSvg, niceMax, tickCount } from "../../scripts/bench/svg";
import { temboConf, temboMemoryMiB, temboMqSettings } from "../../scripts/bench/tembo";
import { defaultPort, parseDbLocalArgs } from "../../scripts/db-local";
import { UsageError } from "../../scripts/lib/cli";

const health = { defaultPartitionRows: 0, deadTuples: 0, walBytes: 0, checkpointsRequested: 0, autovacuumRuns: 0 };

function run(
  over: Pick<CapacityResult, "server" | "workload" | "clients" | "msgsPerSecond"> & Partial<CapacityResult>,
): CapacityResult {
  return {
    batch: 100,
    durationSeconds: 10,
    tps: 1,
    latencyAvgMs: 1,
    latencyP99Ms: 2,
    statements: [],
    health,
    notes: [],
    ...over,
  };
}

describe("runs beside their physical limits", () => {
  it("interleaves every (server, kind) at each point, rotated per trial", () => {
    const s = interleavedSchedule(3, ["w"], [2], ["a", "b"], ["pgmq", "limit"]);
    const order = (t: number) =>
      s.filter((r) => r.trial === t).map((r) => `${r.label}${r.kind === "limit" ? "'" : ""}`);
    expect(order(1)).toEqual(["a", "b", "a'", "b'"]);
    expect(order(2)).toEqual(["b", "a'", "b'", "a"]);
    expect(order(3)).toEqual(["a'", "b'", "a", "b"]);
    // without kinds, pgmq only (the schedule before issue 18)
    expect(interleavedSchedule(1, ["w"], [1], ["a"]).map((r) => r.kind)).toEqual(["pgmq"]);
  });

  it("gives each pgmq workload its limit's ratio per trial, median and range, per server", () => {
    const results = [
      run({ server: "tuned", workload: "send_batch", clients: 2, trial: 1, msgsPerSecond: 80 }),
      run({ server: "tuned", workload: "send_batch", clients: 2, trial: 1, msgsPerSecond: 100, kind: "limit" }),
      run({ server: "tuned", workload: "send_batch", clients: 2, trial: 2, msgsPerSecond: 45 }),
      run({ server: "tuned", workload: "send_batch", clients: 2, trial: 2, msgsPerSecond: 50, kind: "limit" }),
      run({ server: "tuned", workload: "send_batch", clients: 2, trial: 3, msgsPerSecond: 210 }),
      run({ server: "tuned", workload: "send_batch", clients: 2, trial: 3, msgsPerSecond: 300, kind: "limit" }),
      // a point without its limit gives no ratio
      run({ server: "default", workload: "send_batch", clients: 2, trial: 1, msgsPerSecond: 10 }),
    ];
    const rows = limitRatios(results);
    expect(rows).toHaveLength(1);
    // 0.80, 0.90, 0.70: steadier than either figure (45–210 msgs/s)
    expect(rows[0]).toMatchObject({
      server: "tuned",
      paired: { n: 3, median: 0.8, min: 0.7, max: 0.9 },
      pgmq: { median: 80 },
      limit: { median: 100 },
    });
    expect(ratioText(rows[0]!.paired)).toBe("0.80 (0.70–0.90)");
    expect(ratioText(spreadOf([]))).toBe("-");
  });

  it("calls a side only when every ratio is on it", () => {
    expect(sideOf([1.1, 1.2, 1.05], 1)).toBe("higher");
    expect(sideOf([0.9, 0.95], 1)).toBe("lower");
    expect(sideOf([0.9, 1.1, 1.2], 1)).toBe("undecided");
    expect(sideOf([0.5], 1)).toBe("undecided");
    expect(sideOf([0.85, 0.9], 0.8)).toBe("higher");
  });

  it("maps every workload to a pgmq script and a limit script, producers for the end-to-end ones", () => {
    for (const w of CAPACITY_WORKLOADS) {
      const s = workloadSpec(w, 100);
      expect(s.script.limit).toMatch(/^limit_/);
    }
    expect(workloadSpec("read_delete_single", 100)).toMatchObject({
      batch: 1,
      reads: true,
      script: { limit: "limit_delete_batch" },
    });
    expect(workloadSpec("produce_consume_batch", 50).producer).toEqual({
      script: { pgmq: "send_batch", limit: "limit_send_batch" },
      batch: 50,
    });
  });

  it("parses range partition bounds and nothing else", () => {
    expect(rangeBound("FOR VALUES FROM ('0') TO ('2000000')")).toEqual({ from: 0, to: 2000000 });
    expect(rangeBound("FOR VALUES FROM (4000000) TO (6000000)")).toEqual({ from: 4000000, to: 6000000 });
    expect(rangeBound("DEFAULT")).toBeUndefined();
  });

  it("summarises end to end per server: best client count, msgs/s per core, bounded depth", () => {
    const e2e = (server: string, clients: number, trial: number, msgsPerSecond: number, endDepth: number) =>
      run({ server, workload: "produce_consume_batch", clients, trial, msgsPerSecond, endDepth });
    const rows = endToEnd(
      [
        e2e("tuned", 1, 1, 10000, 50),
        e2e("tuned", 1, 2, 12000, 80),
        e2e("tuned", 2, 1, 20000, 100),
        e2e("tuned", 2, 2, 22000, 30000),
        run({ server: "tuned", workload: "produce_consume_batch", clients: 2, msgsPerSecond: 99999, kind: "limit" }),
      ],
      2,
    );
    expect(rows).toEqual([
      {
        server: "tuned",
        clients: 2,
        msgsPerSecond: { n: 2, median: 21000, min: 20000, max: 22000, rangePct: 9.5 },
        msgsPerSecondPerCore: 10500,
        depthBounded: false,
      },
    ]);
  });
});

describe("Tembo's MessageQueue tuning (tembo-io/tembo tembo-stacks/src/stacks/config_engines.rs)", () => {
  const of = (memoryMiB: number, storageGiB: number) =>
    Object.fromEntries(temboMqSettings(memoryMiB, storageGiB).map((s) => [s.name, s.value]));

  it("reproduces Tembo's own test figures for a 16Gi, 10Gi stack (test_standard_config_engine), with mq's 30% shared_buffers", () => {
    expect(of(16384, 10)).toMatchObject({
      shared_buffers: "4915MB",
      max_connections: "1724",
      work_mem: "5MB",
      bgwriter_delay: "10ms",
      effective_cache_size: "11468MB",
      maintenance_work_mem: "819MB",
      max_wal_size: "2GB",
      effective_io_concurrency: "100",
    });
  });

  it("follows the formulas at other sizes (test_standard_max_connections, test_standard_shared_buffers, dynamic_max_wal_size)", () => {
    expect(of(1024, 100)).toMatchObject({
      shared_buffers: "307MB",
      max_connections: "107",
      work_mem: "5MB",
      maintenance_work_mem: "64MB",
      effective_cache_size: "716MB",
      bgwriter_delay: "200ms",
      max_wal_size: "20GB",
    });
    expect(of(10240, 1000)).toMatchObject({
      shared_buffers: "3072MB",
      maintenance_work_mem: "512MB",
      max_wal_size: "100GB",
    });
    expect(of(8192, 3000)).toMatchObject({ max_connections: "862", max_wal_size: "150GB", bgwriter_delay: "10ms" });
  });

  it("carries the spec's fixed settings and refuses sizes the formulas are not for", () => {
    expect(of(4096, 20)).toMatchObject({
      autovacuum_naptime: "20s",
      autovacuum_vacuum_cost_limit: "10000",
      autovacuum_vacuum_scale_factor: "0.05",
      autovacuum_analyze_scale_factor: "0.05",
      autovacuum_vacuum_insert_scale_factor: "0.05",
      random_page_cost: "1.1",
      checkpoint_timeout: "10min",
    });
    expect(() => temboMqSettings(4096, 9)).toThrow(/storage 9 GiB .* 10 GiB/);
    expect(() => temboMqSettings(256, 20)).toThrow(/memory 256 MiB/);
  });

  it("takes the pod's memory, or half of a smaller machine's, saying so", () => {
    expect(temboMemoryMiB(4 * 2 ** 30, 24 * 2 ** 30)).toEqual({ memoryMiB: 4096 });
    const fitted = temboMemoryMiB(16 * 2 ** 30, 8 * 2 ** 30);
    expect(fitted.memoryMiB).toBe(4096);
    expect(fitted.note).toMatch(/4096 MiB .* 16384 MiB/);
  });

  it("writes a postgresql.conf with each line's source, keeping the stack's extension settings but not twice", () => {
    const conf = temboConf(temboMqSettings(4096, 20), [
      { name: "shared_preload_libraries", value: "pg_partman_bgw,pg_stat_statements" },
      { name: "pg_partman_bgw.interval", value: "3600" },
      { name: "pg_partman_bgw.role", value: "o'wner" },
    ]);
    expect(conf).toContain("shared_buffers = '1228MB'  # config_engines.rs mq_shared_buffers");
    expect(conf).toContain("shared_preload_libraries = 'pg_partman_bgw,pg_stat_statements'");
    expect(conf).toContain("pg_partman_bgw.role = 'o''wner'");
    expect(conf.match(/^pg_partman_bgw\.interval/gm)).toEqual(["pg_partman_bgw.interval"]);
    expect(conf).toContain("pg_partman_bgw.interval = '60'");
  });
});

describe("SVG charts", () => {
  it("rounds axes to 1, 2 or 5 x 10^k with round ticks, and prints compact numbers", () => {
    expect([niceMax(0), niceMax(7), niceMax(120), niceMax(150000), niceMax(200)]).toEqual([1, 10, 200, 200000, 200]);
    expect([tickCount(5000), tickCount(200000), tickCount(100)]).toEqual([5, 4, 5]);
    expect([compact(950), compact(1250), compact(150000), compact(2500000)]).toEqual(["950", "1.3k", "150k", "2.5M"]);
    expect(escapeXml(`a<b & "c" 'd'>`)).toBe("a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  });

  it("draws one bar per series and group, a spread bar where there is one, scaled to the panel", () => {
    const svg = barChartSvg(
      "T <1>",
      "sub",
      [
        { name: "tuned", color: "#000000" },
        { name: "tuned limit", color: "#000000", light: true },
      ],
      [
        {
          title: "send_batch",
          groups: [
            {
              label: "c=1",
              bars: [
                { series: "tuned", value: 80, min: 70, max: 100 },
                { series: "tuned limit", value: 100 },
              ],
            },
            { label: "c=2", bars: [{ series: "tuned", value: 50 }] },
          ],
        },
        { title: "read", groups: [{ label: "c=1", bars: [{ series: "tuned", value: 5 }] }] },
      ],
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg.match(/class="bar"/g)).toHaveLength(4);
    expect(svg.match(/class="spread"/g)).toHaveLength(1);
    expect(svg.match(/class="panel"/g)).toHaveLength(2);
    expect(svg).toContain("T &lt;1&gt;");
    expect(svg).toContain("<title>send_batch, c=1, tuned: 80 (min 70, max 100)</title>");
    expect(svg).toContain('fill-opacity="0.35"');
    // panel 1 is scaled to 100: the limit's bar is the full 200 px plot height; panel 2 to 5: its only bar too
    const heights = [...svg.matchAll(/class="bar" [^>]*height="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(heights).toEqual([160, 200, 100, 200]);
  });

  it("draws one polyline per series and a point per minute", () => {
    const svg = lineChartSvg("soak", "s", [
      {
        title: "msgs/s",
        xLabel: "minute",
        series: [
          {
            name: "tuned",
            color: "#111111",
            points: [
              { x: 1, y: 10 },
              { x: 2, y: 20 },
            ],
          },
        ],
      },
      { title: "dead", xLabel: "minute", series: [{ name: "tuned", color: "#111111", points: [{ x: 1, y: 3 }] }] },
    ]);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg.match(/class="point"/g)).toHaveLength(3);
  });

  const report = (soak: boolean): BenchReport => ({
    stack: "dev",
    profile: "development",
    startedAt: "2026-12-04T06:00:00.000Z",
    machine: {
      cpus: 2,
      cpuModel: "AMD EPYC",
      kernel: "6.1",
      memoryGiB: 24,
      loadAverage1m: 3,
      loadAverages: { start: [3, 2, 1], end: [4, 3, 2] },
    },
    servers: { tuned: { version: "15", description: "d" }, default: { version: "15", description: "d" } },
    targets: targetsFor("development"),
    trials: 2,
    capacity: [
      run({ server: "tuned", workload: "send_batch", clients: 1, trial: 1, msgsPerSecond: 80 }),
      run({ server: "tuned", workload: "send_batch", clients: 1, trial: 2, msgsPerSecond: 90 }),
      run({ server: "tuned", workload: "send_batch", clients: 1, trial: 1, msgsPerSecond: 100, kind: "limit" }),
      run({ server: "default", workload: "send_batch", clients: 1, trial: 1, msgsPerSecond: 40 }),
    ],
    dlqRead: [],
    latency: [],
    soak: soak
      ? [
          {
            server: "tuned",
            rateMsgsPerSecond: 5000,
            retainedPct: 99,
            minutes: [1, 2].map((minute) => ({
              minute,
              msgsPerSecond: 5000,
              deadTuples: 100 * minute,
              sizeBytes: 1,
              autovacuumRuns: 1,
              defaultPartitionRows: 0,
              depth: 0,
            })),
          },
        ]
      : [],
    checks: [],
  });

  it("charts a report: a bar per server and limit that ran, spread where repeated; the soak when one ran", () => {
    const { capacity, soak } = benchCharts(report(false));
    expect(soak).toBeUndefined();
    expect(capacity.match(/class="bar"/g)).toHaveLength(3);
    expect(capacity.match(/class="spread"/g)).toHaveLength(1);
    expect(capacity).toContain("<title>send_batch (msgs/s), c=1, tuned limit: 100</title>");
    expect(benchCharts(report(true)).soak?.match(/<polyline/g)).toHaveLength(2);
    expect(chartFiles("out/bench.json", true)).toEqual([
      { kind: "capacity", file: "out/bench.svg" },
      { kind: "soak", file: "out/bench-soak.svg" },
    ]);
  });

  it("prints the machine's CPU model, cores, kernel and load at start and end", () => {
    expect(renderReport(report(false))).toContain(
      "machine: 2 cores (AMD EPYC), 24 GiB, kernel 6.1, load 1/5/15 min 3.00 / 2.00 / 1.00 at start, 4.00 / 3.00 / 2.00 at end",
    );
  });
});

describe("progress line", () => {
  const progress = { seconds: 5, tps: 40, latencyMs: 12.5 };

  it("shows msgs/s as tps x messages per call when every call moves that many", () => {
    expect(progressLine({ label: "[tuned] send_batch c=2", progress, durationSeconds: 10, msgsPerCall: 100 })).toBe(
      "  [tuned] send_batch c=2  5/10 s  4,000 msgs/s  lat 12.50 ms",
    );
  });

  it("shows consumers beside producers as calls/s with the producers' msgs/s, never tps x batch", () => {
    const line = progressLine({
      label: "[tuned] produce_consume c=2",
      progress,
      durationSeconds: 10,
      sentMsgsPerSecond: 1710,
    });
    expect(line).toBe("  [tuned] produce_consume c=2  5/10 s  sent 1,710 msgs/s, consumers 40 calls/s  lat 12.50 ms");
    expect(line).not.toContain("4,000");
  });
});

describe("flags", () => {
  it("takes --repeat, with --trials as its alias, and refuses a disagreement", () => {
    expect(parseBenchArgs(["dev", "--repeat", "5"]).trials).toBe(5);
    expect(parseBenchArgs(["dev", "--trials", "4"]).trials).toBe(4);
    expect(parseBenchArgs(["dev", "--repeat", "3", "--trials", "3"]).trials).toBe(3);
    expect(() => parseBenchArgs(["dev", "--repeat", "3", "--trials", "4"])).toThrow(UsageError);
    expect(() => parseBenchArgs(["dev", "--repeat", "0"])).toThrow(/--repeat must be an integer >= 1, got "0"/);
  });

  it("refuses a comparison with one trial (it would judge nothing, and tuned >= defaults would pass by default)", () => {
    for (const flag of [["--compare-default"], ["--compare-tembo"], ["--compare", "bench-previous"]])
      expect(() => parseBenchArgs(["dev", ...flag, "--repeat", "1"])).toThrow(/one trial cannot tell/);
    expect(parseBenchArgs(["dev", "--repeat", "1"]).trials).toBe(1); // alone, one trial is fine
    expect(parseBenchArgs(["dev", "--compare-default", "--repeat", "2"]).trials).toBe(2);
  });

  it("adds the Tembo twin with --compare-tembo and runs the limits unless --no-limits", () => {
    expect(parseBenchArgs(["dev"])).toMatchObject({ compareTembo: false, limits: true });
    expect(parseBenchArgs(["dev", "--compare-tembo", "--no-limits"])).toMatchObject({
      compareTembo: true,
      limits: false,
    });
    expect(parseBenchArgs(["dev"]).workloads).toContain("produce_consume_batch");
    expect(parseBenchArgs(["dev"]).endToEndRateMsgsPerSecond).toBeUndefined();
    expect(parseBenchArgs(["dev", "--e2e-rate", "30000"]).endToEndRateMsgsPerSecond).toBe(30000);
    expect(() => parseBenchArgs(["dev", "--e2e-rate=0"])).toThrow(/--e2e-rate must be a positive number/);
  });

  it("starts db:local's Tembo twin on its own port, never with --untuned", () => {
    expect(parseDbLocalArgs(["dev", "--tembo"])).toMatchObject({ tembo: true, untuned: false });
    expect(() => parseDbLocalArgs(["dev", "--tembo", "--untuned"])).toThrow(/exclude/);
    const ports = new Set([
      defaultPort("dev"),
      defaultPort("dev", true),
      defaultPort("dev", false, true),
      defaultPort("prod", false, true),
    ]);
    expect(ports.size).toBe(4);
  });
});
