/**
 * The competitor tuning the benchmark runs beside the stack's own and PostgreSQL's defaults (issue 18): Tembo's
 * "MessageQueue" stack, i.e. its `mq` configuration engine plus the stack spec's fixed `postgres_config`.
 * Pure: no database, no processes.
 *
 * Source, tembo-io/tembo at 6959a11b882ae2e0678d6e058e481ca3749a51ca (the repository's last commit, 2025-05-06):
 * - `tembo-stacks/src/stacks/config_engines.rs` (last changed in 16335bf2): `mq_config_engine` is the
 *   `standard_config_engine` with shared_buffers replaced by `mq_shared_buffers`:
 *   shared_buffers = floor(0.3 x RAM MB) (`mq_shared_buffers`; 0.6 until fcee7830 "decrease shared_buffers in MQ
 *   stack (#893)", 2024-08-02), max_connections = floor(RAM MB / 9.5) (`standard_max_connections`),
 *   work_mem = floor((RAM − the standard engine's shared_buffers (RAM/4) − 0.2 x RAM) / max_connections) MB
 *   (`dynamic_work_mem`, called before the mq engine replaces shared_buffers), effective_cache_size =
 *   floor(0.7 x RAM) MB, maintenance_work_mem = max(64, floor(0.05 x RAM)) MB, bgwriter_delay = 10ms at
 *   >= 8192 MB of RAM else 200ms, max_wal_size = floor(20% of a <= 100 GiB disk, 10% up to 1000 GiB, else 5%) GB,
 *   effective_io_concurrency = 100;
 * - `tembo-stacks/src/stacks/specs/message_queue.yaml` (last changed in 81c1d815), `postgres_config`:
 *   random_page_cost 1.1, autovacuum_naptime 20s, autovacuum_vacuum_cost_limit 10000,
 *   autovacuum_vacuum_scale_factor / autovacuum_vacuum_insert_scale_factor / autovacuum_analyze_scale_factor 0.05,
 *   track_io_timing on, checkpoint_timeout 10min, pg_stat_statements.track all, pg_partman_bgw.interval 60
 *   (its shared_preload_libraries, pg_partman_bgw.dbname and .role name Tembo's database and role: the benchmark
 *   keeps the stack's, which its queue needs).
 *
 * Where issue 18's summary differs from the source, the source is followed: shared_buffers is 30% of RAM, not 60%
 * (60% was the formula before fcee7830), and work_mem is computed from the standard engine's 25%.
 */

/** One setting of the Tembo twin, with the function or spec line it comes from. */
export interface TemboSetting {
  readonly name: string;
  /** As written in postgresql.conf. */
  readonly value: string;
  /** `config_engines.rs <function>` or `message_queue.yaml postgres_config`. */
  readonly source: string;
}

const MIB = 2 ** 20;

/**
 * Tembo's MessageQueue settings for a machine of `memoryMiB` RAM and `storageGiB` disk (Tembo's `Gi`/`Mi` units are
 * binary, `parse_memory` turns Gi into x 1024 MB).
 * @param memoryMiB the RAM the formulas see, MiB (the stack's pod memory, or less when the machine is smaller).
 * @param storageGiB the data volume, GiB (>= 10: Tembo's `dynamic_max_wal_size` refuses smaller disks).
 * @throws Error naming the value and the limit when memory < 512 MiB or storage < 10 GiB.
 */
export function temboMqSettings(memoryMiB: number, storageGiB: number): TemboSetting[] {
  if (!Number.isFinite(memoryMiB) || memoryMiB < 512)
    throw new Error(`Tembo twin: memory ${memoryMiB} MiB is below the 512 MiB its formulas are used with`);
  if (!Number.isFinite(storageGiB) || storageGiB < 10)
    throw new Error(`Tembo twin: storage ${storageGiB} GiB is below Tembo's 10 GiB minimum (dynamic_max_wal_size)`);
  const engine = "config_engines.rs";
  const spec = "message_queue.yaml postgres_config";
  const sharedBuffersMb = Math.floor(memoryMiB * 0.3);
  const standardSharedBuffersMb = Math.floor(memoryMiB / 4);
  const maxConnections = Math.floor(memoryMiB / 9.5);
  const workMemMb = Math.floor((memoryMiB - standardSharedBuffersMb - memoryMiB * 0.2) / maxConnections);
  const maxWalSizeGb =
    storageGiB <= 100
      ? Math.floor(storageGiB * 0.2)
      : storageGiB <= 1000
        ? Math.floor(storageGiB * 0.1)
        : Math.floor(storageGiB * 0.05);
  return [
    { name: "shared_buffers", value: `${sharedBuffersMb}MB`, source: `${engine} mq_shared_buffers (0.3 x RAM)` },
    {
      name: "max_connections",
      value: String(maxConnections),
      source: `${engine} standard_max_connections (RAM / 9.5 MB)`,
    },
    {
      name: "work_mem",
      value: `${Math.max(1, workMemMb)}MB`,
      source: `${engine} dynamic_work_mem ((RAM − RAM/4 − 0.2 x RAM) / max_connections)`,
    },
    {
      name: "bgwriter_delay",
      value: memoryMiB >= 8192 ? "10ms" : "200ms",
      source: `${engine} standard_bgwriter_delay_ms`,
    },
    {
      name: "effective_cache_size",
      value: `${Math.floor(memoryMiB * 0.7)}MB`,
      source: `${engine} dynamic_effective_cache_size_mb (0.7 x RAM)`,
    },
    {
      name: "maintenance_work_mem",
      value: `${Math.max(64, Math.floor(memoryMiB * 0.05))}MB`,
      source: `${engine} dynamic_maintenance_work_mem_mb (max(64 MB, 0.05 x RAM))`,
    },
    { name: "max_wal_size", value: `${maxWalSizeGb}GB`, source: `${engine} dynamic_max_wal_size` },
    { name: "effective_io_concurrency", value: "100", source: `${engine} DEFAULT_EFFECTIVE_IO_CONCURRENCY` },
    { name: "random_page_cost", value: "1.1", source: spec },
    { name: "autovacuum_naptime", value: "20s", source: spec },
    { name: "autovacuum_vacuum_cost_limit", value: "10000", source: spec },
    { name: "autovacuum_vacuum_scale_factor", value: "0.05", source: spec },
    { name: "autovacuum_vacuum_insert_scale_factor", value: "0.05", source: spec },
    { name: "autovacuum_analyze_scale_factor", value: "0.05", source: spec },
    { name: "track_io_timing", value: "on", source: spec },
    { name: "checkpoint_timeout", value: "10min", source: spec },
    { name: "pg_stat_statements.track", value: "all", source: spec },
    { name: "pg_partman_bgw.interval", value: "60", source: spec },
  ];
}

/**
 * The memory Tembo's formulas are given on this machine: the stack's pod memory, or half of the machine's when that
 * is smaller (the same half db:local fits the stack's own tuning into).
 * @returns MiB, and a note when the machine's half was taken.
 */
export function temboMemoryMiB(podMemoryBytes: number, machineBytes: number): { memoryMiB: number; note?: string } {
  const pod = Math.floor(podMemoryBytes / MIB);
  const half = Math.floor(machineBytes / 2 / MIB);
  if (pod <= half) return { memoryMiB: pod };
  return {
    memoryMiB: half,
    note: `Tembo's formulas given ${half} MiB (half of this machine) instead of the pod's ${pod} MiB`,
  };
}

/**
 * postgresql.conf of the Tembo twin: Tembo's MessageQueue settings, plus the stack's shared_preload_libraries and
 * pg_partman_bgw.* other than the interval (Tembo's spec names its own database and role; the queue needs the
 * stack's). Each line carries its source.
 * @param keep the stack's settings the extensions need (name, value).
 */
export function temboConf(settings: readonly TemboSetting[], keep: readonly { name: string; value: string }[]): string {
  const names = new Set(settings.map((s) => s.name));
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  return [
    "# Tembo twin (npm run db:local -- <stack> --tembo): Tembo's MessageQueue stack, tembo-io/tembo at 6959a11",
    "# (tembo-stacks/src/stacks/config_engines.rs mq_config_engine, specs/message_queue.yaml postgres_config).",
    ...settings.map((s) => `${s.name} = ${quote(s.value)}  # ${s.source}`),
    "# what the stack's extensions need to load and maintain its queue:",
    ...keep.filter((k) => !names.has(k.name)).map((k) => `${k.name} = ${quote(k.value)}`),
    "",
  ].join("\n");
}
