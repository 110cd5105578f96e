/**
 * Several configurations side by side (`npm run bench -- <stack> --compare other[,other] --compare-default
 * --trials N`): the order the capacity runs are made in, and the summary of repeated runs (median,
 * spread, ratios of the first configuration to each other one). Pure: no database, no processes.
 *
 * Why interleaved and repeated: on a shared 2-core machine the throughput of identical runs varies by
 * 10–40% (docs/bench.md, "spread between identical runs"). Running every configuration at one point
 * (workload, clients) one after the other, in an order rotated per trial, exposes them to the same noise;
 * the per-trial ratio of two configurations measured minutes apart is then steadier than either figure.
 */
import { assertStackName } from "../lib/stack-file";

/** What the comparison reads of one capacity run (a `CapacityResult` of ./report.ts has these and more). */
export interface CapacitySample {
  /** The configuration's label (`tuned`, `default`, a `--compare` stack). */
  readonly server: string;
  readonly workload: string;
  readonly clients: number;
  /** 1-based trial number; absent = 1. */
  readonly trial?: number;
  /** `pgmq` (the queue's own functions) or `limit` (plain SQL on a table shaped like the queue); absent = pgmq. */
  readonly kind?: RunKind;
  readonly msgsPerSecond: number;
  /** What makes the figure suspect. */
  readonly notes: readonly string[];
}

/**
 * Median of a list: the middle value, or the mean of the two middle values for an even count.
 * @returns 0 for an empty list.
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Median and spread of repeated measurements of one quantity. */
export interface Spread {
  /** Number of measurements. */
  readonly n: number;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) / median, in % (one decimal); 0 for one measurement or a median of 0. */
  readonly rangePct: number;
}

/** Median, min, max and relative range of a list (all 0 for an empty list). */
export function spreadOf(xs: readonly number[]): Spread {
  if (xs.length === 0) return { n: 0, median: 0, min: 0, max: 0, rangePct: 0 };
  const m = median(xs);
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  return { n: xs.length, median: m, min, max, rangePct: m > 0 ? Math.round(((max - min) / m) * 1000) / 10 : 0 };
}

/**
 * The list rotated left by `k` (k may exceed the length): trial t runs the configurations starting at
 * the t-th, so none always runs first (right after maintenance) or last.
 */
export function rotate<T>(xs: readonly T[], k: number): T[] {
  if (xs.length === 0) return [];
  const r = ((k % xs.length) + xs.length) % xs.length;
  return [...xs.slice(r), ...xs.slice(0, r)];
}

/**
 * What a capacity run measures: `pgmq`, the queue's own functions, or `limit`, the physical-limit reference of
 * the same workload (plain INSERT / DELETE ... FOR UPDATE SKIP LOCKED on a table shaped like the queue, issue 18).
 */
export type RunKind = "pgmq" | "limit";

/** One capacity run to make. */
export interface ScheduledRun {
  /** 1-based trial number. */
  readonly trial: number;
  readonly workload: string;
  readonly clients: number;
  /** Configuration (server label). */
  readonly label: string;
  /** pgmq or its physical-limit reference. */
  readonly kind: RunKind;
}

/**
 * The order of the capacity runs: trial by trial, workload by workload, client count by client count,
 * and at each point every (configuration, kind) in turn, rotated by the trial number
 * (trial 1: a b c, trial 2: b c a, trial 3: c a b; with kinds pgmq and limit: a b a' b', then b a' b' a, ...).
 * @param kinds what to run of each configuration at each point. Defaults to pgmq only.
 */
export function interleavedSchedule(
  trials: number,
  workloads: readonly string[],
  clients: readonly number[],
  labels: readonly string[],
  kinds: readonly RunKind[] = ["pgmq"],
): ScheduledRun[] {
  const units = kinds.flatMap((kind) => labels.map((label) => ({ label, kind })));
  const out: ScheduledRun[] = [];
  for (let t = 1; t <= trials; t++) {
    for (const workload of workloads) {
      for (const c of clients) {
        for (const u of rotate(units, t - 1)) out.push({ trial: t, workload, clients: c, ...u });
      }
    }
  }
  return out;
}

/**
 * Ports for servers started side by side: each keeps its wanted port unless an earlier one took it,
 * then it gets the next port up that no server of the list wants or has.
 * E.g. two variant stacks that both default to 55434 and a twin on 55436: 55434, 55435, 55436.
 */
export function assignPorts(wanted: readonly number[]): number[] {
  const taken = new Set<number>();
  const out: number[] = [];
  wanted.forEach((w, i) => {
    let p = w;
    // Later servers' own wanted ports are reserved too, so a bumped port never steals one.
    const reserved = new Set(wanted.slice(i + 1));
    while (taken.has(p) || (p !== w && reserved.has(p))) p++;
    taken.add(p);
    out.push(p);
  });
  return out;
}

/**
 * Parses `--compare`: comma-separated stack names (`Pulumi.<name>.yaml` at the repository root or in
 * scripts/bench/stacks/), each at most once and not the benchmarked stack itself.
 * @throws Error naming the offending entry.
 */
export function parseCompareList(text: string | undefined, primary: string): string[] {
  if (text === undefined) return [];
  const names = text.split(",").map((s) => s.trim());
  const out: string[] = [];
  for (const n of names) {
    if (n.length === 0) throw new Error(`--compare: empty stack name in "${text}"`);
    assertStackName(n);
    if (n === primary) throw new Error(`--compare: "${n}" is the benchmarked stack itself`);
    if (out.includes(n)) throw new Error(`--compare: "${n}" named twice`);
    out.push(n);
  }
  return out;
}

/** The first configuration against another one at one point. */
export interface RatioSummary {
  /** Label of the configuration compared with the first one. */
  readonly against: string;
  /** median(first) / median(against), 2 decimals; undefined when the latter is 0. */
  readonly ofMedians?: number;
  /** first / against within each trial (runs made minutes apart), 2 decimals each. */
  readonly paired: Spread;
  /**
   * `higher` when every trial's ratio is above 1, `lower` when every one is below 1, else `undecided`
   * (the trials disagree on the sign: noise is as large as the difference). Needs at least 2 trials;
   * one trial is always `undecided`.
   */
  readonly verdict: "higher" | "lower" | "undecided";
}

/** One point (workload, clients) of a comparison. */
export interface ComparisonRow {
  readonly workload: string;
  readonly clients: number;
  /** msgs/s over the trials, per configuration, in the order given. */
  readonly servers: readonly { readonly label: string; readonly msgsPerSecond: Spread }[];
  /** The first configuration against each other one. */
  readonly ratios: readonly RatioSummary[];
  /** Notes that make a run's figure suspect ({@link isSuspectNote}), as `label trial: note`. */
  readonly notes: readonly string[];
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/** Whether a run's note makes its figure suspect (a drained queue, failed transactions), as opposed to information such as the producers' rate. */
export function isSuspectNote(note: string): boolean {
  return note.startsWith("queue drained") || /failed transactions/.test(note);
}

/**
 * Summarises repeated capacity runs of several configurations: per point (workload, clients, in the
 * order first seen) the median and spread of msgs/s of each configuration, and the first label's
 * ratio to each other label, of the medians and per trial.
 * @param labels configurations, the first being the one compared with the others.
 */
export function compareCapacity(allResults: readonly CapacitySample[], labels: readonly string[]): ComparisonRow[] {
  const [first, ...others] = labels;
  if (first === undefined) return [];
  const results = allResults.filter((r) => (r.kind ?? "pgmq") === "pgmq");
  const points: { workload: string; clients: number }[] = [];
  for (const r of results)
    if (!points.some((p) => p.workload === r.workload && p.clients === r.clients))
      points.push({ workload: r.workload, clients: r.clients });
  return points.map(({ workload, clients }) => {
    const at = results.filter((r) => r.workload === workload && r.clients === clients);
    const of = (label: string) => at.filter((r) => r.server === label);
    const servers = labels.map((label) => ({ label, msgsPerSecond: spreadOf(of(label).map((r) => r.msgsPerSecond)) }));
    const firstRuns = of(first);
    const firstMedian = median(firstRuns.map((r) => r.msgsPerSecond));
    const ratios = others.map((against): RatioSummary => {
      const theirs = of(against);
      const theirMedian = median(theirs.map((r) => r.msgsPerSecond));
      const paired: number[] = [];
      for (const mine of firstRuns) {
        const other = theirs.find((o) => (o.trial ?? 1) === (mine.trial ?? 1));
        if (other !== undefined && other.msgsPerSecond > 0) paired.push(r2(mine.msgsPerSecond / other.msgsPerSecond));
      }
      const verdict = sideOf(paired, 1);
      return {
        against,
        ...(theirMedian > 0 ? { ofMedians: r2(firstMedian / theirMedian) } : {}),
        paired: spreadOf(paired),
        verdict,
      };
    });
    const notes = at.flatMap((r) => r.notes.filter(isSuspectNote).map((n) => `${r.server} t${r.trial ?? 1}: ${n}`));
    return { workload, clients, servers, ratios, notes };
  });
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/**
 * The comparison as table rows (header first): per configuration "median (min–max)" msgs/s, per other
 * configuration the ratio of medians, the per-trial ratios' range and the verdict.
 */
export function comparisonRows(rows: readonly ComparisonRow[]): string[][] {
  const first = rows[0];
  if (first === undefined) return [];
  const head = [
    "workload",
    "clients",
    ...first.servers.map((s) => `${s.label} msgs/s median (min–max)`),
    ...first.ratios.map((r) => `${first.servers[0]?.label ?? "first"}/${r.against} (per trial)`),
    "notes",
  ];
  const body = rows.map((row) => [
    row.workload,
    String(row.clients),
    ...row.servers.map(
      (s) => `${fmt(s.msgsPerSecond.median)} (${fmt(s.msgsPerSecond.min)}–${fmt(s.msgsPerSecond.max)})`,
    ),
    ...row.ratios.map(
      (r) => `${r.ofMedians?.toFixed(2) ?? "-"} (${r.paired.min.toFixed(2)}–${r.paired.max.toFixed(2)}) ${r.verdict}`,
    ),
    row.notes.join("; "),
  ]);
  return [head, ...body];
}

/**
 * Where repeated ratios lie against a reference value: `higher` when every one is above it, `lower` when every one is
 * below it, else `undecided` (the reference is inside their spread: no difference is shown). Needs at least 2
 * ratios; one is always `undecided`.
 */
export function sideOf(ratios: readonly number[], reference: number): "higher" | "lower" | "undecided" {
  if (ratios.length < 2) return "undecided";
  if (ratios.every((p) => p > reference)) return "higher";
  if (ratios.every((p) => p < reference)) return "lower";
  return "undecided";
}

/** One pgmq workload against its physical-limit reference on the same server, at one client count. */
export interface LimitRatio {
  readonly server: string;
  readonly workload: string;
  readonly clients: number;
  /** msgs/s of the pgmq runs and of the limit runs, over the trials. */
  readonly pgmq: Spread;
  readonly limit: Spread;
  /** pgmq / limit within each trial (the two runs are at most minutes apart), 2 decimals each. */
  readonly paired: Spread;
}

/**
 * Each pgmq workload as a ratio of its limit, per server and point (in the order first seen): the pgmq and limit
 * runs' medians and spreads and the per-trial ratios. Points without both kinds are left out.
 */
export function limitRatios(results: readonly CapacitySample[]): LimitRatio[] {
  const keys: { server: string; workload: string; clients: number }[] = [];
  for (const r of results)
    if (!keys.some((k) => k.server === r.server && k.workload === r.workload && k.clients === r.clients))
      keys.push({ server: r.server, workload: r.workload, clients: r.clients });
  const out: LimitRatio[] = [];
  for (const k of keys) {
    const at = results.filter((r) => r.server === k.server && r.workload === k.workload && r.clients === k.clients);
    const pgmq = at.filter((r) => (r.kind ?? "pgmq") === "pgmq");
    const limit = at.filter((r) => r.kind === "limit");
    if (pgmq.length === 0 || limit.length === 0) continue;
    const paired: number[] = [];
    for (const p of pgmq) {
      const l = limit.find((x) => (x.trial ?? 1) === (p.trial ?? 1));
      if (l !== undefined && l.msgsPerSecond > 0) paired.push(r2(p.msgsPerSecond / l.msgsPerSecond));
    }
    out.push({
      ...k,
      pgmq: spreadOf(pgmq.map((r) => r.msgsPerSecond)),
      limit: spreadOf(limit.map((r) => r.msgsPerSecond)),
      paired: spreadOf(paired),
    });
  }
  return out;
}

/** A ratio's median and per-trial range as text: `0.85 (0.80–0.91)`. */
export function ratioText(s: Spread): string {
  return s.n === 0 ? "-" : `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
}

/** The limit ratios as table rows (header first). */
export function limitRatioRows(rows: readonly LimitRatio[]): string[][] {
  if (rows.length === 0) return [];
  return [
    ["server", "workload", "clients", "pgmq msgs/s median (min–max)", "limit msgs/s median (min–max)", "pgmq/limit"],
    ...rows.map((r) => [
      r.server,
      r.workload,
      String(r.clients),
      `${fmt(r.pgmq.median)} (${fmt(r.pgmq.min)}–${fmt(r.pgmq.max)})`,
      `${fmt(r.limit.median)} (${fmt(r.limit.min)}–${fmt(r.limit.max)})`,
      ratioText(r.paired),
    ]),
  ];
}
