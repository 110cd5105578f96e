/**
 * The benchmark's pictures (issue 18), from its report: msgs/s per workload for each server and its physical limit,
 * median with a min–max spread bar over the trials; and the soak's per-minute msgs/s and dead tuples. Pure: report in,
 * SVG text out (`./svg.ts`); bench.ts writes them beside the JSON.
 */
import { spreadOf } from "./compare";
import type { BenchReport } from "./report";
import { barChartSvg, BarPanel, BarSeries, lineChartSvg } from "./svg";

/** Colours per server, in report order (colour-blind-safe Okabe–Ito palette, https://jfly.uni-koeln.de/color/). */
export const SERVER_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"];

/** The charts of a report: capacity always, soak when one ran. */
export function benchCharts(report: BenchReport): { capacity: string; soak?: string } {
  const labels = Object.keys(report.servers);
  const series: BarSeries[] = [];
  labels.forEach((label, i) => {
    const color = SERVER_COLORS[i % SERVER_COLORS.length] as string;
    series.push({ name: label, color });
    if (report.capacity.some((r) => r.server === label && r.kind === "limit"))
      series.push({ name: `${label} limit`, color, light: true });
  });
  const workloads = [...new Set(report.capacity.map((r) => r.workload))];
  const panels: BarPanel[] = workloads.map((workload) => {
    const runs = report.capacity.filter((r) => r.workload === workload);
    const clients = [...new Set(runs.map((r) => r.clients))].sort((a, b) => a - b);
    return {
      title: `${workload} (msgs/s)`,
      groups: clients.map((c) => ({
        label: `c=${c}`,
        bars: series.flatMap((s) => {
          const limit = s.light === true;
          const server = limit ? s.name.replace(/ limit$/, "") : s.name;
          const xs = runs
            .filter((r) => r.clients === c && r.server === server && (r.kind === "limit") === limit)
            .map((r) => r.msgsPerSecond);
          if (xs.length === 0) return [];
          const sp = spreadOf(xs);
          return [{ series: s.name, value: sp.median, ...(sp.n > 1 ? { min: sp.min, max: sp.max } : {}) }];
        }),
      })),
    };
  });
  const m = report.machine;
  const subtitle =
    `${report.stack}, ${report.startedAt}, ${report.trials ?? 1} trial(s) per point (median, bar = min–max); ` +
    `${m.cpus} cores${m.cpuModel ? ` ${m.cpuModel}` : ""}, load ${m.loadAverages?.start[0] ?? m.loadAverage1m} at start`;
  const capacity = barChartSvg("Queue capacity per server, and its physical limit", subtitle, series, panels);
  if (report.soak.length === 0) return { capacity };
  const colorOf = (server: string) =>
    SERVER_COLORS[Math.max(0, labels.indexOf(server)) % SERVER_COLORS.length] as string;
  const soak = lineChartSvg(
    `Soak, producers paced at ${(report.soak[0]?.rateMsgsPerSecond ?? 0).toLocaleString("en-US")} msgs/s`,
    subtitle,
    [
      {
        title: "msgs/s consumed per minute",
        xLabel: "minute",
        series: report.soak.map((s) => ({
          name: s.server,
          color: colorOf(s.server),
          points: s.minutes.map((mm) => ({ x: mm.minute, y: mm.msgsPerSecond })),
        })),
      },
      {
        title: "dead tuples of the queue tables at each minute's end",
        xLabel: "minute",
        series: report.soak.map((s) => ({
          name: s.server,
          color: colorOf(s.server),
          points: s.minutes.map((mm) => ({ x: mm.minute, y: mm.deadTuples })),
        })),
      },
    ],
  );
  return { capacity, soak };
}
