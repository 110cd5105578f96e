/**
 * The machine's CPU split between the load generator (pgbench) and the PostgreSQL server, from Linux's
 * `/proc` (https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html and proc_stat.5):
 * - machine: the first `cpu` line of `/proc/stat` (user nice system idle iowait irq softirq steal, in
 *   clock ticks, summed over all cores);
 * - a process: `utime` + `stime` (fields 14 and 15 of `/proc/<pid>/stat`, clock ticks, all its threads).
 * Server processes are the postmaster and its children (`ppid` = postmaster); a backend that exits
 * between two samples loses its last interval (backends of a pgbench run live for the whole run).
 * Shares are of the machine's capacity over the interval: 100% = every core busy.
 */
import * as fs from "fs";

/** One reading of the counters, in clock ticks. */
export interface CpuSample {
  /** All ticks of all cores (busy + idle). */
  readonly machineTotal: number;
  /** Non-idle ticks of all cores (everything but idle and iowait). */
  readonly machineBusy: number;
  /** Ticks of each client process (pid to ticks). */
  readonly client: ReadonlyMap<number, number>;
  /** Ticks of each server process (pid to ticks). */
  readonly server: ReadonlyMap<number, number>;
}

/** CPU use over an interval as percentages of the machine's capacity (all cores = 100). */
export interface CpuSplit {
  /** Load generator (pgbench) share, %. */
  readonly clientPct: number;
  /** PostgreSQL server share (postmaster + backends + background workers), %. */
  readonly serverPct: number;
  /** Everything else busy on the machine (other users, this Node process), %. */
  readonly otherPct: number;
  /** Idle (including iowait), %. */
  readonly idlePct: number;
}

/**
 * Parses the first line of `/proc/stat`.
 * @returns total and busy ticks summed over all cores.
 * @throws Error when the text has no `cpu ` line.
 */
export function parseProcStat(text: string): { total: number; busy: number } {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) throw new Error("/proc/stat has no aggregate cpu line");
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const ticks = f.slice(0, 8);
  const total = ticks.reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { total, busy: total - idle };
}

/**
 * Parses `/proc/<pid>/stat`.
 * @returns the parent pid and utime + stime in clock ticks.
 * @throws Error when the text is not a stat line.
 */
export function parseProcPidStat(text: string): { ppid: number; ticks: number } {
  // comm may contain spaces and parentheses: the fields start after the last ')'.
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${text.slice(0, 80)}`);
  const f = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
}

function readPid(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    return parseProcPidStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return undefined; // exited
  }
}

/** Pids of every process whose parent is `ppid`. */
export function childPids(ppid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = readPid(Number(name));
    if (st !== undefined && st.ppid === ppid) out.push(Number(name));
  }
  return out;
}

/** Whether this machine exposes `/proc` (Linux); the split is reported as unavailable otherwise. */
export function procAvailable(): boolean {
  return fs.existsSync("/proc/stat");
}

/**
 * Reads the counters now.
 * @param clientPids the load generator's processes.
 * @param postmasterPid the server's postmaster (its children are the server's other processes); undefined when the server is not on this machine.
 */
export function sampleCpu(clientPids: readonly number[], postmasterPid: number | undefined): CpuSample {
  const machine = parseProcStat(fs.readFileSync("/proc/stat", "utf8"));
  const client = new Map<number, number>();
  for (const pid of clientPids) {
    const st = readPid(pid);
    if (st !== undefined) client.set(pid, st.ticks);
  }
  const server = new Map<number, number>();
  if (postmasterPid !== undefined) {
    for (const pid of [postmasterPid, ...childPids(postmasterPid)]) {
      const st = readPid(pid);
      if (st !== undefined) server.set(pid, st.ticks);
    }
  }
  return { machineTotal: machine.total, machineBusy: machine.busy, client, server };
}

function deltaOf(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let sum = 0;
  // A process new since `before` counts from 0; one gone by `after` is lost (see the module comment).
  for (const [pid, ticks] of after) sum += Math.max(0, ticks - (before.get(pid) ?? 0));
  return sum;
}

/** Raw tick deltas over one or more intervals. */
interface TickDeltas {
  total: number;
  busy: number;
  client: number;
  server: number;
}

function tickDeltas(before: CpuSample, after: CpuSample): TickDeltas {
  return {
    total: after.machineTotal - before.machineTotal,
    busy: after.machineBusy - before.machineBusy,
    client: deltaOf(before.client, after.client),
    server: deltaOf(before.server, after.server),
  };
}

function splitOf(d: TickDeltas): CpuSplit {
  if (d.total <= 0) return { clientPct: 0, serverPct: 0, otherPct: 0, idlePct: 0 };
  const pct = (x: number) => Math.round((1000 * x) / d.total) / 10;
  return {
    clientPct: pct(d.client),
    serverPct: pct(d.server),
    otherPct: pct(Math.max(0, d.busy - d.client - d.server)),
    idlePct: pct(d.total - d.busy),
  };
}

/**
 * The split between two samples.
 * @returns percentages of machine capacity; all zero when no time passed.
 */
export function cpuSplit(before: CpuSample, after: CpuSample): CpuSplit {
  return splitOf(tickDeltas(before, after));
}

/**
 * The split over a whole run: the sum of the intervals between consecutive samples. A process that
 * exits loses only its last interval; comparing the first sample with the last instead would drop all
 * of a backend's time when it is gone by the last sample (pgbench's backends close as its last
 * progress line is read, which showed as "server 2.5%, other 95%" for a run the progress lines put at 80%
 * server).
 * @param samples at least two, in time order.
 * @returns undefined with fewer than two samples.
 */
export function cpuSplitOfRun(samples: readonly CpuSample[]): CpuSplit | undefined {
  if (samples.length < 2) return undefined;
  const sum: TickDeltas = { total: 0, busy: 0, client: 0, server: 0 };
  for (let i = 1; i < samples.length; i++) {
    const d = tickDeltas(samples[i - 1] as CpuSample, samples[i] as CpuSample);
    sum.total += d.total;
    sum.busy += d.busy;
    sum.client += d.client;
    sum.server += d.server;
  }
  return splitOf(sum);
}

/**
 * The mean of per-second splits (e.g. a soak minute's progress lines), each share rounded to 0.1%.
 * @returns undefined for none.
 */
export function meanCpuSplit(splits: readonly CpuSplit[]): CpuSplit | undefined {
  if (splits.length === 0) return undefined;
  const mean = (f: (s: CpuSplit) => number) =>
    Math.round((splits.reduce((a, s) => a + f(s), 0) / splits.length) * 10) / 10;
  return {
    clientPct: mean((s) => s.clientPct),
    serverPct: mean((s) => s.serverPct),
    otherPct: mean((s) => s.otherPct),
    idlePct: mean((s) => s.idlePct),
  };
}
