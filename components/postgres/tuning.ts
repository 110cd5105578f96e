/**
 * The PostgreSQL tuning engine: from a stack's tuning profile (`ducklake:postgres.tuning`) and the pod's
 * resources, the full postgresql.conf of a queue workload, validated against the target major's real
 * setting facts (`./tuning-facts.ts`), with its memory budget and durability summary.
 *
 * Pure (no Pulumi): the PostgresCluster component, the offline plan, the config validator and the
 * integration tests all call `computeTuning`. Formulas and sources: docs/tuning.md.
 */
import type { StackConfig } from "../../config/schema";
import {
  effectiveSetting,
  type PostgresConfig,
  type SynchronousReplicationConfig,
  type TuningConfig,
  type GucValue,
} from "../../config/postgres";
import type { SemanticIssue, SemanticResult } from "../../config/issues";
import { formatKubeMemory, formatPgMemory, parseKubeMemoryBytes } from "../../config/units";
import {
  factsFor,
  isMemorySetting,
  MajorFacts,
  ParsedValue,
  parseSettingValue,
  PgSettingFact,
  SettingValueError,
  showNumeric,
  suggestSetting,
  unitInfo,
} from "./tuning-facts";

/** Where a setting's value comes from: the seed guide, computed by this engine, or the stack's override. */
export type SettingOrigin = "seed" | "derived" | "override";

/** What `computeTuning` needs. */
export interface TuningInput {
  /** PostgreSQL major, 15–18: settings are validated against that version's facts. */
  majorVersion: number;
  /** The stack's tuning profile (`ducklake:postgres.tuning`). */
  tuning: TuningConfig;
  /** Pod resources as Kubernetes quantities (`4Gi`, `2`); request = limit. */
  resources: { memory: string; cpu: string };
  /** Database pg_partman's background worker maintains (`pg_partman_bgw.dbname`). */
  database: string;
  /** Role pg_partman's background worker runs as (`pg_partman_bgw.role`): the owner of the partitioned tables. */
  ownerRole: string;
  /**
   * Server connections the PgBouncer pooler may open (`instances x default_pool_size`: PgBouncer opens up to
   * default_pool_size server connections per user/database pair, and the app uses one pair), or undefined
   * without a pooler. Used to derive `max_connections`.
   */
  poolerServerConnections?: number;
  /**
   * Instances of the cluster and their synchronous replication (`postgres.instances`,
   * `postgres.synchronousReplication`), for the durability summary. Defaults to one instance.
   */
  replication?: { instances: number; synchronous?: SynchronousReplicationConfig };
}

/** One postgresql.conf line. */
export interface Setting {
  /** Setting name as PostgreSQL spells it. */
  name: string;
  /** As written in postgresql.conf and as `current_setting(name)` prints it, e.g. `1GB`, `0.05`, `on`. */
  value: string;
  /** Where the value comes from. */
  origin: SettingOrigin;
  /** Why, when not obvious: the rule or source of a derived value, the seed value an override replaces. */
  note?: string;
}

/**
 * The memory budget, in bytes. Formula (docs/tuning.md "Memory budget"):
 * fixed = shared_buffers + wal_buffers + max_connections x the shared memory of one connection (what the server
 *   allocates at start; `connectionSharedMemoryBytes`);
 * worst case = fixed + max_connections x work_mem + autovacuum_max_workers x autovacuum_work_mem
 *   + maintenance_work_mem.
 */
export interface MemoryBudget {
  /** `shared_buffers` in bytes. */
  sharedBuffersBytes: number;
  /** `wal_buffers` in bytes (resolved: -1 is shared_buffers/32, at least 64kB, at most one WAL segment of 16MB). */
  walBuffersBytes: number;
  /** `max_locks_per_transaction`. */
  maxLocksPerTransaction: number;
  /** Shared memory the connections take whether used or not: max_connections x `connectionSharedMemoryBytes`. */
  connectionSharedBytes: number;
  /** shared_buffers + wal_buffers + connectionSharedBytes: the shared memory the server allocates at start. */
  fixedBytes: number;
  /** `max_connections`. */
  maxConnections: number;
  /** `work_mem` in bytes. */
  workMemBytes: number;
  /** max_connections x work_mem. */
  connectionsBytes: number;
  /** `autovacuum_max_workers`. */
  autovacuumWorkers: number;
  /** `autovacuum_work_mem` in bytes (resolved: -1 is maintenance_work_mem). */
  autovacuumWorkMemBytes: number;
  /** autovacuum_max_workers x autovacuum_work_mem. */
  autovacuumBytes: number;
  /** `maintenance_work_mem` in bytes (one manual maintenance operation at a time). */
  maintenanceBytes: number;
  /** fixed + connections + autovacuum + maintenance. */
  worstCaseBytes: number;
  /** Pod memory limit in bytes. */
  limitBytes: number;
  /** Pod memory request in bytes (= limit in this project). */
  requestBytes: number;
}

/** Whether the memory budget holds, and when not, which terms break it and what would fix it. */
export interface BudgetVerdict {
  /** worst case <= pod memory limit. */
  readonly holds: boolean;
  /** worst case − limit, in bytes (0 when it holds). */
  readonly overBytes: number;
  /** The terms of the worst case, largest first, each with its bytes and where its settings come from. */
  readonly terms: ReadonlyArray<{ readonly term: string; readonly bytes: number; readonly origins: string }>;
  /** What would make it hold: the pod memory it needs, and any single setting that alone would suffice. */
  readonly fixes: readonly string[];
  /** One readable paragraph (plan summary, postgresql.conf header, warnings, README). */
  readonly summary: string;
}

/** The engine's result. */
export interface TuningResult {
  /** Every setting this project sets, sorted by name (including shared_preload_libraries). */
  settings: readonly Setting[];
  /** `spec.postgresql.parameters` of the CloudNativePG Cluster: every setting minus the ones CNPG fixes itself (`CNPG_FIXED_PARAMETERS`). */
  parameters: Record<string, string>;
  /** `spec.postgresql.shared_preload_libraries`: `["pg_partman_bgw", "pg_stat_statements"]`. */
  sharedPreloadLibraries: string[];
  /** The memory budget. */
  budget: MemoryBudget;
  /** Whether the budget holds; when not, the term that breaks it, by how much, and what would fix it. */
  budgetVerdict: BudgetVerdict;
  /** synchronous_commit, the window of acknowledged commits a crash can lose, and a readable summary. */
  durability: {
    synchronous_commit: string;
    /** Milliseconds of acknowledged commits a crash of the primary can lose (0: none). */
    lossWindowMs: number;
    /** Whether a failover to a standby can lose acknowledged commits (asynchronous standbys, or `preferred`). */
    failoverCanLose: boolean;
    summary: string;
  };
  /** Warnings, each with its numbers. */
  warnings: string[];
}

/** One problem found by `computeTuning`. */
export interface TuningProblem {
  /** Key path relative to `ducklake:postgres`, e.g. `["tuning", "seed", "shared_buffers"]`. */
  readonly path: readonly string[];
  /** The setting concerned. */
  readonly setting: string;
  /** The offending value, when there is one. */
  readonly value?: GucValue;
  /** What is wrong, with the allowed range. */
  readonly message: string;
}

/**
 * Thrown by `computeTuning`; `problems` lists every problem found, not just the first. `durability` is the stack's
 * durability when the settings it depends on (synchronous_commit, wal_writer_delay) parsed, so the durability rules
 * (`validateTuning`) still report in the same run.
 */
export class TuningError extends Error {
  constructor(
    public readonly problems: readonly TuningProblem[],
    public readonly durability?: TuningResult["durability"],
  ) {
    super(
      `invalid PostgreSQL tuning (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${problems.map((p) => `  - ${p.path.join(".")}: ${p.message}`).join("\n")}`,
    );
    this.name = "TuningError";
  }
}

/**
 * Parameters CloudNativePG sets itself and refuses in `spec.postgresql.parameters` (its
 * `FixedConfigurationParameters`, fixed and blocked), so this engine never passes them there.
 * Source: https://cloudnative-pg.io/documentation/current/postgresql_conf/ ("Fixed parameters") and
 * cloudnative-pg `pkg/postgres/configuration.go` (`FixedConfigurationParameters`).
 * `shared_preload_libraries` is among them: it goes in `spec.postgresql.shared_preload_libraries`.
 */
export const CNPG_FIXED_PARAMETERS: readonly string[] = [
  "allow_system_table_mods",
  "archive_cleanup_command",
  "archive_command",
  "archive_mode",
  "bonjour",
  "bonjour_name",
  "cluster_name",
  "config_file",
  "data_directory",
  "data_sync_retry",
  "event_source",
  "external_pid_file",
  "hba_file",
  "hot_standby",
  "ident_file",
  "jit_provider",
  "listen_addresses",
  "log_destination",
  "log_directory",
  "log_file_mode",
  "log_filename",
  "log_rotation_age",
  "log_rotation_size",
  "log_truncate_on_rotation",
  "logging_collector",
  "pg_failover_slots.primary_dsn",
  "pg_failover_slots.standby_slot_names",
  "port",
  "primary_conninfo",
  "primary_slot_name",
  "promote_trigger_file",
  "recovery_end_command",
  "recovery_min_apply_delay",
  "recovery_target",
  "recovery_target_action",
  "recovery_target_inclusive",
  "recovery_target_lsn",
  "recovery_target_name",
  "recovery_target_time",
  "recovery_target_timeline",
  "recovery_target_xid",
  "restart_after_crash",
  "restore_command",
  "shared_preload_libraries",
  "ssl",
  "ssl_ca_file",
  "ssl_cert_file",
  "ssl_crl_file",
  "ssl_dh_params_file",
  "ssl_ecdh_curve",
  "ssl_key_file",
  "ssl_passphrase_command",
  "ssl_passphrase_command_supports_reload",
  "ssl_prefer_server_ciphers",
  "stats_temp_directory",
  "synchronized_standby_slots",
  "synchronous_standby_names",
  "syslog_facility",
  "syslog_ident",
  "syslog_sequence_numbers",
  "syslog_split_messages",
  "temp_tablespaces",
  "unix_socket_directories",
  "unix_socket_group",
  "unix_socket_permissions",
];

/**
 * Fixed parameters CloudNativePG still lets a stack set, through a field of its own instead of
 * `spec.postgresql.parameters`: the engine validates them and the component passes them there.
 * Source: CloudNativePG docs, postgresql_conf ("shared_preload_libraries" in `spec.postgresql`).
 */
export const CNPG_OWN_FIELDS: Readonly<Record<string, string>> = {
  shared_preload_libraries: "spec.postgresql.shared_preload_libraries",
};

/**
 * Libraries every stack must preload: pg_partman's background worker (partition maintenance) and
 * pg_stat_statements (`ops.top_statements`). Source: the seed guide's `shared_preload_libraries =
 * 'pg_partman_bgw,pg_stat_statements'`; the stack file carries that line in `tuning.seed`.
 */
export const SHARED_PRELOAD_LIBRARIES: readonly string[] = ["pg_partman_bgw", "pg_stat_statements"];

/**
 * Settings only the engine sets (from other keys); a seed or override naming one is an error that
 * says which key to change instead.
 */
export const ENGINE_OWNED: Readonly<Record<string, string>> = {
  huge_pages: "derived from ducklake:postgres.tuning.hugePages",
};

/**
 * Settings the guide gives whose value must agree with another key of the stack. The stack file carries
 * the guide's value in `tuning.seed`; when that differs from what the stack needs, the stack must say so
 * with an override (value and reason), or the engine refuses it, naming both keys.
 */
export const BOUND_SETTINGS: Readonly<
  Record<string, { key: string; of: (input: TuningInput) => string; why: string }>
> = {
  "pg_partman_bgw.dbname": {
    key: "ducklake:postgres.database",
    of: (i) => i.database,
    why: "pg_partman's background worker maintains the partitions of this one database (pg_partman docs, pg_partman_bgw.dbname)",
  },
  "pg_partman_bgw.role": {
    key: "ducklake:postgres.ownerRole",
    of: (i) => i.ownerRole,
    why: "the worker must run as the owner of the partitioned queue tables, or its maintenance fails on them and the runway stops growing (docs/queue.md)",
  },
};

/**
 * Connections the stack itself uses besides the application's: CloudNativePG's instance manager and its
 * metrics exporter, the queue bootstrap Job, and one operator's psql session. This project's estimate
 * (CloudNativePG opens short-lived local connections for status and metrics; docs/tuning.md "max_connections").
 */
export const OPERATIONAL_CONNECTIONS = 5;

/**
 * Application connections assumed without a pooler: the dev stack's producers and consumers (the bench
 * drives at most 4 clients plus a monitor). This project's choice; with a pooler its server connections count instead.
 */
export const DIRECT_APP_CONNECTIONS = 10;

/** The smallest autovacuum_work_mem the engine derives: 16MB holds ~2.8 million dead tuple ids (6 bytes each). */
export const MIN_DERIVED_AUTOVACUUM_WORK_MEM_BYTES = 16 * 2 ** 20;

/**
 * Settings whose `off` trades crash safety for speed in a way no queue that acknowledges messages may take:
 * with `fsync = off` an OS crash can corrupt the database, with `full_page_writes = off` a torn page after a
 * crash can (PostgreSQL docs, runtime-config-wal.html, `fsync` and `full_page_writes`). Refused on every stack.
 */
export const CRASH_SAFETY_SETTINGS: Readonly<Record<string, string>> = {
  fsync:
    "an operating-system crash can leave the database unrecoverably corrupt (PostgreSQL docs, runtime-config-wal: fsync)",
  full_page_writes:
    "a page torn by a crash cannot be repaired from WAL, so the database can be corrupt after recovery (PostgreSQL docs, runtime-config-wal: full_page_writes)",
};

/**
 * Settings a queue workload needs that the seed guide leaves out, with their reasons. Overridable.
 * - idle_in_transaction_session_timeout: an idle open transaction holds back the xmin horizon, so
 *   vacuum cannot remove the dead rows of deleted/archived messages and the queue tables bloat
 *   (https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-IDLE-IN-TRANSACTION-SESSION-TIMEOUT).
 * - track_io_timing: I/O time in pg_stat_statements and EXPLAIN (BUFFERS), to tell disk waits from CPU
 *   (https://www.postgresql.org/docs/current/runtime-config-statistics.html#GUC-TRACK-IO-TIMING).
 * - wal_writer_delay: PostgreSQL's default, written out because the synchronous_commit=off loss window
 *   is 3 x wal_writer_delay (https://www.postgresql.org/docs/current/wal-async-commit.html).
 */
export const QUEUE_DEFAULTS: Readonly<Record<string, { value: string; note: string }>> = {
  idle_in_transaction_session_timeout: {
    value: "1min",
    note: "an idle transaction holds back vacuum of consumed messages (PostgreSQL docs, runtime-config-client)",
  },
  track_io_timing: { value: "on", note: "I/O time in pg_stat_statements (PostgreSQL docs, runtime-config-statistics)" },
  wal_writer_delay: {
    value: "200ms",
    note: "PostgreSQL's default, explicit: the synchronous_commit=off loss window is 3 x this (PostgreSQL docs, wal-async-commit)",
  },
  // Autovacuum never analyzes a partitioned parent (PostgreSQL docs, routine-vacuuming "autovacuum
  // daemon": partitioned tables are not processed); the benchmark measured pgmq.read of 100 on a
  // parent without statistics at 58 ms, 1.9 ms after ANALYZE (docs/bench.md). pg_partman's worker
  // analyzes the parent whenever maintenance adds partitions (pg_partman docs, pg_partman_bgw.analyze).
  "pg_partman_bgw.analyze": {
    value: "on",
    note: "analyze queue parents when maintenance adds partitions: autovacuum never analyzes a partitioned table (docs/bench.md)",
  },
};

/** Bytes printed in MiB with one decimal, e.g. `4096.0 MiB`. */
function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

interface Candidate {
  name: string;
  raw: GucValue;
  origin: SettingOrigin;
  path: string[];
  note?: string;
}

/**
 * Computes the full tuning of one stack.
 * @throws TuningError listing every problem: unknown settings (with the closest known name), values
 *   outside a setting's range or enum for `majorVersion`, wrong units, settings CloudNativePG fixes,
 *   settings the engine owns, shared_buffers not below the memory request, fixed memory above the limit.
 */
export function computeTuning(input: TuningInput): TuningResult {
  const problems: TuningProblem[] = [];
  let facts: MajorFacts;
  try {
    facts = factsFor(input.majorVersion);
  } catch (err) {
    throw new TuningError([
      { path: ["majorVersion"], setting: "majorVersion", value: input.majorVersion, message: (err as Error).message },
    ]);
  }
  let limitBytes = 0;
  try {
    limitBytes = parseKubeMemoryBytes(input.resources.memory);
  } catch (err) {
    problems.push({
      path: ["resources", "memory"],
      setting: "memory",
      value: input.resources.memory,
      message: (err as Error).message,
    });
  }
  const requestBytes = limitBytes; // request = limit (config/postgres.ts `resources`)

  // Candidates in precedence order: derived < seed < override (`effectiveSetting`, config/postgres.ts).
  const candidates = new Map<string, Candidate>();
  candidates.set("huge_pages", {
    name: "huge_pages",
    raw: input.tuning.hugePages ? "on" : "off",
    origin: "derived",
    path: ["tuning", "hugePages"],
    note: input.tuning.hugePages
      ? "tuning.hugePages: the pod requests hugepages-2Mi"
      : "tuning.hugePages is false: no hugepages-2Mi on the pod, so never try them",
  });
  for (const [name, d] of Object.entries(QUEUE_DEFAULTS))
    candidates.set(name, { name, raw: d.value, origin: "derived", path: [], note: d.note });
  for (const [name, bound] of Object.entries(BOUND_SETTINGS)) {
    candidates.set(name, { name, raw: bound.of(input), origin: "derived", path: [], note: `= ${bound.key}` });
  }
  candidates.set("shared_preload_libraries", {
    name: "shared_preload_libraries",
    raw: SHARED_PRELOAD_LIBRARIES.join(","),
    origin: "derived",
    path: [],
    note: "the libraries the stack needs",
  });

  const names = [...new Set([...Object.keys(input.tuning.seed), ...Object.keys(input.tuning.overrides ?? {})])];
  for (const name of names) {
    const set = effectiveSetting({ seed: input.tuning.seed, overrides: input.tuning.overrides ?? {} }, name);
    if (set === undefined) continue;
    const path = set.path.slice(1); // relative to ducklake:postgres
    if (Object.hasOwn(ENGINE_OWNED, name)) {
      problems.push({
        path,
        setting: name,
        value: set.value,
        message: `${name} is not set here: ${ENGINE_OWNED[name]}`,
      });
      continue;
    }
    if (CNPG_FIXED_PARAMETERS.includes(name) && !Object.hasOwn(CNPG_OWN_FIELDS, name)) {
      problems.push({
        path,
        setting: name,
        value: set.value,
        message: `${name} is fixed by CloudNativePG and cannot be set (https://cloudnative-pg.io/documentation/current/postgresql_conf/)`,
      });
      continue;
    }
    const prior = candidates.get(name);
    let note: string | undefined;
    if (set.origin === "override") {
      const replaced =
        set.replaces !== undefined
          ? `replaces seed value ${String(set.replaces)}`
          : prior !== undefined
            ? `replaces derived value ${String(prior.raw)}`
            : "the guide does not set it";
      note = `${(set.reason ?? "").replace(/\s+/g, " ")} (${replaced})`;
    }
    candidates.set(name, { name, raw: set.value, origin: set.origin, path, ...(note !== undefined ? { note } : {}) });
  }

  // Settings the guide gives whose value must agree with another key (BOUND_SETTINGS).
  for (const [name, bound] of Object.entries(BOUND_SETTINGS)) {
    const c = candidates.get(name);
    const required = bound.of(input);
    if (c !== undefined && c.origin !== "derived" && String(c.raw) !== required) {
      const how =
        c.origin === "seed"
          ? `; add tuning.overrides["${name}"] = { value: "${required}", reason: ... } (tuning.seed keeps the guide's value)`
          : `; set the override's value to "${required}"`;
      problems.push({
        path: c.path,
        setting: name,
        value: c.raw,
        message: `${name} is ${JSON.stringify(c.raw)} (${c.origin}) but must equal ${bound.key} "${required}": ${bound.why}${how}`,
      });
    }
  }
  // shared_preload_libraries: CloudNativePG takes it in its own field; it must carry what the stack needs.
  let sharedPreloadLibraries = [...SHARED_PRELOAD_LIBRARIES];
  const spl = candidates.get("shared_preload_libraries");
  if (spl !== undefined && spl.origin !== "derived") {
    const libs = String(spl.raw)
      .split(",")
      .map((l) => l.trim())
      .filter((l) => l !== "");
    const missing = SHARED_PRELOAD_LIBRARIES.filter((l) => !libs.includes(l));
    if (missing.length > 0 || libs.some((l) => !/^[a-z_][a-z0-9_]*$/.test(l))) {
      problems.push({
        path: spl.path,
        setting: "shared_preload_libraries",
        value: spl.raw,
        message: `shared_preload_libraries must be a comma-separated list of library names including ${SHARED_PRELOAD_LIBRARIES.join(" and ")} (partition maintenance, ops.top_statements)${missing.length > 0 ? `; missing ${missing.join(", ")}` : ""}`,
      });
    } else {
      sharedPreloadLibraries = libs;
      candidates.set("shared_preload_libraries", { ...spl, raw: libs.join(",") });
    }
  }

  // What the guide leaves open and the budget decides: autovacuum_work_mem, then max_connections.
  const derivedNotes = deriveBudgetSettings(facts, input, candidates, limitBytes);
  for (const d of derivedNotes) candidates.set(d.name, d);

  const parsed = new Map<string, ParsedValue>();
  const settings: Setting[] = [];
  const unitless: string[] = [];
  for (const c of [...candidates.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const fact = Object.hasOwn(facts.settings, c.name) ? facts.settings[c.name] : undefined;
    if (fact === undefined) {
      const hint = suggestSetting(facts, c.name);
      const custom =
        c.name.includes(".") && hint === undefined
          ? ` (custom settings need their library preloaded: ${SHARED_PRELOAD_LIBRARIES.join(", ")})`
          : "";
      problems.push({
        path: c.path,
        setting: c.name,
        value: c.raw,
        message: `unknown setting "${c.name}" for PostgreSQL ${facts.major}${hint !== undefined ? ` (did you mean ${hint}?)` : custom}`,
      });
      continue;
    }
    try {
      const p = parseSettingValue(c.name, fact, c.raw, { memoryLimitBytes: limitBytes > 0 ? limitBytes : undefined });
      parsed.set(c.name, p);
      let note = c.note;
      if (p.percent !== undefined)
        note = `${p.percent}% of the ${input.resources.memory} memory limit${note !== undefined ? `; ${note}` : ""}`;
      else if (typeof c.raw === "string" && c.raw.trim() !== p.text)
        note = `written ${c.raw}${note !== undefined ? `; ${note}` : ""}`;
      settings.push({ name: c.name, value: p.text, origin: c.origin, ...(note !== undefined ? { note } : {}) });
      if (
        c.origin !== "derived" &&
        isMemorySetting(fact) &&
        /^\s*-?\d+(\.\d+)?\s*$/.test(String(c.raw)) &&
        Number(c.raw) > 0
      ) {
        unitless.push(
          `ducklake:postgres.${c.path.join(".")} = ${String(c.raw)} has no unit: PostgreSQL reads it in ${fact.unit ?? "its unit"}, as ${p.text}; write the unit (kB, MB, GB) to say what you mean`,
        );
      }
    } catch (err) {
      if (!(err instanceof SettingValueError)) throw err;
      problems.push({
        path: c.path,
        setting: c.name,
        value: c.raw,
        message: `${err.message} (PostgreSQL ${facts.major})`,
      });
    }
  }

  const pathOf = (name: string) => candidates.get(name)?.path ?? ["tuning", "seed", name];
  const budget = memoryBudget(facts, parsed, limitBytes, requestBytes);
  if (limitBytes > 0) {
    if (budget.sharedBuffersBytes >= budget.requestBytes) {
      problems.push({
        path: pathOf("shared_buffers"),
        setting: "shared_buffers",
        value: candidates.get("shared_buffers")?.raw,
        message: `shared_buffers (${mib(budget.sharedBuffersBytes)}) must be below the pod memory request ${input.resources.memory} (${mib(budget.requestBytes)}): CloudNativePG's webhook rejects a larger value and the server needs memory beyond it`,
      });
    } else if (budget.fixedBytes > budget.limitBytes) {
      // Name the term that is not shared_buffers and weighs most: connections' shared memory or wal_buffers.
      const byConnections = budget.connectionSharedBytes >= budget.walBuffersBytes;
      const name = byConnections ? "max_connections" : "wal_buffers";
      problems.push({
        path: pathOf(name),
        setting: name,
        value: candidates.get(name)?.raw ?? (byConnections ? budget.maxConnections : undefined),
        message:
          `shared memory at start, shared_buffers ${mib(budget.sharedBuffersBytes)} + wal_buffers ${mib(budget.walBuffersBytes)} + ` +
          `max_connections ${budget.maxConnections} x ${(connectionSharedMemoryBytes(budget.maxLocksPerTransaction) / 1024).toFixed(1)} KiB per connection ` +
          `(max_locks_per_transaction ${budget.maxLocksPerTransaction}) = ${mib(budget.fixedBytes)}, exceeds the pod memory limit ${input.resources.memory} (${mib(budget.limitBytes)}): the server would not start`,
      });
    }
  }
  for (const [name, why] of Object.entries(CRASH_SAFETY_SETTINGS)) {
    const c = candidates.get(name);
    if (c !== undefined && parsed.get(name)?.text === "off") {
      problems.push({
        path: c.path,
        setting: name,
        value: c.raw,
        message: `${name} = off is refused: ${why}; leave it on`,
      });
    }
  }
  // A max_connections the stack gives must still hold what the stack itself needs (derived ones always do):
  // PostgreSQL refuses to start when the reserved connections reach it, and the pooler and the operator
  // connect besides the app.
  const maxConnections = candidates.get("max_connections");
  if (maxConnections !== undefined && maxConnections.origin !== "derived" && parsed.has("max_connections")) {
    const need = connectionsNeeded(facts, parsed, input);
    if (budget.maxConnections < need.count) {
      problems.push({
        path: maxConnections.path,
        setting: "max_connections",
        value: maxConnections.raw,
        message: `max_connections ${budget.maxConnections} is below the ${need.count} connections the stack needs (${need.why}); use >= ${need.count}, or leave it to the engine to derive`,
      });
    }
  }
  if (problems.length > 0) {
    const broken = new Set(problems.map((p) => p.setting));
    const durabilityKnown = !broken.has("synchronous_commit") && !broken.has("wal_writer_delay");
    throw new TuningError(problems, durabilityKnown ? durabilityOf(facts, parsed, input.replication) : undefined);
  }

  const warnings: string[] = [...unitless];
  const originOf = (name: string): string => settings.find((x) => x.name === name)?.origin ?? "PostgreSQL default";
  const budgetVerdict = verdictOf(
    budget,
    originOf,
    input.resources.memory,
    connectionsNeeded(facts, parsed, input).count,
  );
  if (!budgetVerdict.holds) warnings.push(budgetVerdict.summary);
  const ecs = parsed.get("effective_cache_size")?.bytes;
  if (ecs !== undefined && limitBytes > 0 && ecs > limitBytes) {
    warnings.push(
      `effective_cache_size ${mib(ecs)} is above the pod memory limit ${input.resources.memory} (${mib(limitBytes)}): the page cache a pod can use is bounded by its cgroup limit, so the planner over-estimates cached data`,
    );
  }
  const durability = durabilityOf(facts, parsed, input.replication);
  if (durability.lossWindowMs > 0) warnings.push(durability.summary);

  const parameters: Record<string, string> = {};
  for (const s of settings) if (!CNPG_FIXED_PARAMETERS.includes(s.name)) parameters[s.name] = s.value;
  return { settings, parameters, sharedPreloadLibraries, budget, budgetVerdict, durability, warnings };
}

/** Connections the stack needs whatever the budget: reserved + operational + the app's (or the pooler's). */
function connectionsNeeded(
  facts: MajorFacts,
  parsed: ReadonlyMap<string, ParsedValue>,
  input: TuningInput,
): { count: number; why: string } {
  const reserved =
    countOf(facts, parsed, "superuser_reserved_connections") +
    (facts.settings["reserved_connections"] !== undefined ? countOf(facts, parsed, "reserved_connections") : 0);
  const app = input.poolerServerConnections ?? DIRECT_APP_CONNECTIONS;
  const appWhy =
    input.poolerServerConnections !== undefined
      ? "PgBouncer server connections (pooler.instances x pooler.defaultPoolSize)"
      : "application connections without a pooler";
  return {
    count: reserved + OPERATIONAL_CONNECTIONS + app,
    why: `${reserved} reserved for superusers + ${OPERATIONAL_CONNECTIONS} operational (CloudNativePG, bootstrap Job, psql) + ${app} ${appWhy}`,
  };
}

/** Parses the candidates the budget reads, ignoring invalid ones (they are reported where they were given). */
function peekBudgetInputs(
  facts: MajorFacts,
  candidates: ReadonlyMap<string, Candidate>,
  limitBytes: number,
): Map<string, ParsedValue> {
  const out = new Map<string, ParsedValue>();
  for (const name of [
    "shared_buffers",
    "wal_buffers",
    "maintenance_work_mem",
    "work_mem",
    "autovacuum_max_workers",
    "autovacuum_work_mem",
    "max_connections",
    "superuser_reserved_connections",
    "reserved_connections",
  ]) {
    const c = candidates.get(name);
    const fact = facts.settings[name];
    if (c === undefined || fact === undefined) continue;
    try {
      out.set(
        name,
        parseSettingValue(name, fact, c.raw, { memoryLimitBytes: limitBytes > 0 ? limitBytes : undefined }),
      );
    } catch {
      // reported by the main loop, at the key where it was given
    }
  }
  return out;
}

/**
 * Derives what the seed guide leaves open and the memory budget decides (docs/tuning.md "Derived"), unless
 * the stack sets it:
 * - `autovacuum_work_mem` = (limit − shared_buffers − wal_buffers − maintenance_work_mem − the connections
 *   the stack needs x work_mem) / autovacuum_max_workers, at most maintenance_work_mem (what PostgreSQL's -1
 *   uses: runtime-config-resource.html#GUC-AUTOVACUUM-WORK-MEM), at least 16MB, rounded down to MB;
 * - `max_connections` = (limit − shared_buffers − wal_buffers − maintenance_work_mem − autovacuum_max_workers x
 *   autovacuum_work_mem) / work_mem, at least the connections the stack needs (`connectionsNeeded`), at most
 *   PostgreSQL's default 100 or that need when larger.
 * Where the memory cannot cover the need, the need wins and `BudgetVerdict` says by how much the budget breaks.
 */
function deriveBudgetSettings(
  facts: MajorFacts,
  input: TuningInput,
  candidates: ReadonlyMap<string, Candidate>,
  limitBytes: number,
): Candidate[] {
  if (limitBytes <= 0) return [];
  const pre = peekBudgetInputs(facts, candidates, limitBytes);
  const b = memoryBudget(facts, pre, limitBytes, limitBytes);
  const need = connectionsNeeded(facts, pre, input);
  const out: Candidate[] = [];
  const MB = 2 ** 20;
  let autovacuumWorkMemBytes = b.autovacuumWorkMemBytes;
  // Each connection costs work_mem when it sorts and its share of shared memory always; the rest of fixed is not per connection.
  const perConnectionShared = connectionSharedMemoryBytes(b.maxLocksPerTransaction);
  const sharedWithoutConnections = b.sharedBuffersBytes + b.walBuffersBytes;
  if (!candidates.has("autovacuum_work_mem")) {
    const conns = candidates.has("max_connections") ? b.maxConnections : need.count;
    const fixedBytes = sharedWithoutConnections + conns * perConnectionShared;
    const share = Math.floor(
      (limitBytes - fixedBytes - b.maintenanceBytes - conns * b.workMemBytes) / b.autovacuumWorkers,
    );
    autovacuumWorkMemBytes = Math.max(
      MIN_DERIVED_AUTOVACUUM_WORK_MEM_BYTES,
      Math.floor(Math.min(share, b.maintenanceBytes) / MB) * MB,
    );
    out.push({
      name: "autovacuum_work_mem",
      raw: `${autovacuumWorkMemBytes / MB}MB`,
      origin: "derived",
      path: [],
      note:
        `min(maintenance_work_mem, (limit ${mib(limitBytes)} - fixed ${mib(sharedWithoutConnections + (candidates.has("max_connections") ? b.maxConnections : need.count) * perConnectionShared)} - maintenance_work_mem ${mib(b.maintenanceBytes)} - ${conns} connections x work_mem ${mib(b.workMemBytes)}) / ${b.autovacuumWorkers} workers), >= 16MB; ` +
        `holds ~${Math.floor(autovacuumWorkMemBytes / 6 / 1e6)} million dead tuple ids (6 bytes each)`,
    });
  }
  if (!candidates.has("max_connections")) {
    const free =
      limitBytes - sharedWithoutConnections - b.maintenanceBytes - b.autovacuumWorkers * autovacuumWorkMemBytes;
    const byBudget = Math.floor(free / (b.workMemBytes + perConnectionShared));
    const upper = Math.max(need.count, Number(facts.settings["max_connections"]?.boot_val ?? 100));
    const value = Math.min(Math.max(byBudget, need.count), upper);
    out.push({
      name: "max_connections",
      raw: value,
      origin: "derived",
      path: [],
      note:
        `(limit - shared_buffers - wal_buffers - maintenance_work_mem - autovacuum) / (work_mem + ${(perConnectionShared / 1024).toFixed(1)} KiB shared per connection) = ${byBudget > 0 ? byBudget : "none (the memory is spent before any connection)"}, ` +
        `at least the ${need.count} the stack needs (${need.why}), at most ${upper}${byBudget < need.count ? "; the memory cannot cover that need (see the budget)" : ""}`,
    });
  }
  return out;
}

/**
 * Whether the budget holds; when it does not, the terms largest first with their origins, by how much it
 * breaks, and what would fix it: the pod memory it needs, and any one setting that alone would suffice.
 * @param needed the connections the stack needs: a max_connections below it is no fix.
 */
export function verdictOf(
  b: MemoryBudget,
  originOf: (name: string) => string,
  memory: string,
  needed: number,
): BudgetVerdict {
  const terms = [
    {
      term: "shared memory (shared_buffers + wal_buffers + the connections' share)",
      bytes: b.fixedBytes,
      origins: `shared_buffers ${originOf("shared_buffers")}, wal_buffers ${originOf("wal_buffers")}`,
    },
    {
      term: `max_connections ${b.maxConnections} x work_mem ${mib(b.workMemBytes)}`,
      bytes: b.connectionsBytes,
      origins: `max_connections ${originOf("max_connections")}, work_mem ${originOf("work_mem")}`,
    },
    {
      term: `autovacuum_max_workers ${b.autovacuumWorkers} x autovacuum_work_mem ${mib(b.autovacuumWorkMemBytes)}`,
      bytes: b.autovacuumBytes,
      origins: `autovacuum_max_workers ${originOf("autovacuum_max_workers")}, autovacuum_work_mem ${originOf("autovacuum_work_mem")}`,
    },
    { term: "maintenance_work_mem", bytes: b.maintenanceBytes, origins: originOf("maintenance_work_mem") },
  ].sort((x, y) => y.bytes - x.bytes);
  const overBytes = Math.max(0, b.worstCaseBytes - b.limitBytes);
  if (overBytes === 0) {
    return {
      holds: true,
      overBytes,
      terms,
      fixes: [],
      summary: `memory budget holds: worst case ${mib(b.worstCaseBytes)} <= pod limit ${memory} (${mib(b.limitBytes)})`,
    };
  }
  const MB = 2 ** 20;
  const fixes: string[] = [
    `postgres.resources.memory >= ${formatKubeMemory(Math.ceil(b.worstCaseBytes / 2 ** 30) * 2 ** 30)} (and nodes to hold it)`,
  ];
  const rest = (without: number) => b.limitBytes - (b.worstCaseBytes - without);
  const workMem = Math.floor(rest(b.connectionsBytes) / Math.max(b.maxConnections, 1) / MB);
  if (workMem >= 1) fixes.push(`work_mem <= ${workMem}MB (override)`);
  const conns = Math.floor(rest(b.connectionsBytes) / b.workMemBytes);
  if (conns >= needed && conns < b.maxConnections)
    fixes.push(`max_connections <= ${conns} (override; the stack needs ${needed})`);
  const av = Math.floor(rest(b.autovacuumBytes) / b.autovacuumWorkers / MB);
  if (av >= 1) fixes.push(`autovacuum_work_mem <= ${av}MB (override)`);
  const single =
    fixes.length > 1
      ? ""
      : " No single setting (work_mem, max_connections, autovacuum_work_mem) brings it within the limit on its own.";
  const breaking = terms.filter((t) => t.bytes > 0);
  const summary =
    `memory budget does not hold: worst case ${mib(b.worstCaseBytes)} exceeds the pod limit ${memory} (${mib(b.limitBytes)}) by ${mib(overBytes)}; ` +
    `terms: ${breaking.map((t) => `${t.term} = ${mib(t.bytes)} (${t.origins})`).join("; ")}. ` +
    `The kernel OOM-kills the pod only if every connection sorts and every autovacuum worker fills its memory at once. Fix: ${fixes.join("; or ")}.${single}`;
  return { holds: false, overBytes, terms, fixes, summary };
}

/** A memory setting in bytes: the parsed value, else the server's default for that major. */
function bytesOf(facts: MajorFacts, parsed: ReadonlyMap<string, ParsedValue>, name: string): number {
  const p = parsed.get(name);
  const fact = facts.settings[name] as PgSettingFact;
  const units = p?.units ?? Number(fact.boot_val);
  const size = unitInfo(fact.unit)?.size ?? 1;
  return units * size;
}

function countOf(facts: MajorFacts, parsed: ReadonlyMap<string, ParsedValue>, name: string): number {
  return parsed.get(name)?.units ?? Number((facts.settings[name] as PgSettingFact).boot_val);
}

/** Shared memory per allowed connection with no lock slots: PGPROC, its semaphores, snapshot arrays and the like. */
export const CONNECTION_SHARED_BASE_BYTES = 24_000;
/** Shared memory per allowed connection per `max_locks_per_transaction` slot (lock and proclock hash entries). */
export const CONNECTION_SHARED_PER_LOCK_BYTES = 402;

/**
 * Shared memory one allowed connection costs, allocated at start whether it is used or not: 24,000 bytes plus 402
 * per `max_locks_per_transaction`. Fitted to PostgreSQL's own figure, `postgres -C shared_memory_size` (a runtime
 * GUC since 15: https://www.postgresql.org/docs/current/runtime-config-preset.html#GUC-SHARED-MEMORY-SIZE), between
 * 1,000 and 11,000 connections with max_locks_per_transaction 64 and 256, on 15.20 and 17.10 (identical): 48.6 KiB
 * per connection at 64 locks, 123.9 KiB at 256. `test/postgres/tuning.integration.test.ts` checks it against the running
 * server's `shared_memory_size`.
 * @param maxLocksPerTransaction `max_locks_per_transaction`.
 */
export function connectionSharedMemoryBytes(maxLocksPerTransaction: number): number {
  return CONNECTION_SHARED_BASE_BYTES + CONNECTION_SHARED_PER_LOCK_BYTES * maxLocksPerTransaction;
}

/**
 * The memory budget (see `MemoryBudget`); settings not set take the server's default for the major.
 * -1 sentinels resolve as PostgreSQL documents: autovacuum_work_mem -1 = maintenance_work_mem
 * (runtime-config-resource.html#GUC-AUTOVACUUM-WORK-MEM); wal_buffers -1 = shared_buffers/32, at
 * least 64kB, at most one WAL segment (16MB) (runtime-config-wal.html#GUC-WAL-BUFFERS).
 */
export function memoryBudget(
  facts: MajorFacts,
  parsed: ReadonlyMap<string, ParsedValue>,
  limitBytes: number,
  requestBytes: number,
): MemoryBudget {
  const sharedBuffersBytes = bytesOf(facts, parsed, "shared_buffers");
  let walBuffersBytes = bytesOf(facts, parsed, "wal_buffers");
  if (walBuffersBytes < 0) walBuffersBytes = Math.min(Math.max(sharedBuffersBytes / 32, 64 * 1024), 16 * 2 ** 20);
  const maintenanceBytes = bytesOf(facts, parsed, "maintenance_work_mem");
  let autovacuumWorkMemBytes = bytesOf(facts, parsed, "autovacuum_work_mem");
  if (autovacuumWorkMemBytes < 0) autovacuumWorkMemBytes = maintenanceBytes;
  const workMemBytes = bytesOf(facts, parsed, "work_mem");
  const maxConnections = countOf(facts, parsed, "max_connections");
  const autovacuumWorkers = countOf(facts, parsed, "autovacuum_max_workers");
  const maxLocksPerTransaction = countOf(facts, parsed, "max_locks_per_transaction");
  const connectionSharedBytes = maxConnections * connectionSharedMemoryBytes(maxLocksPerTransaction);
  const fixedBytes = sharedBuffersBytes + walBuffersBytes + connectionSharedBytes;
  const connectionsBytes = maxConnections * workMemBytes;
  const autovacuumBytes = autovacuumWorkers * autovacuumWorkMemBytes;
  return {
    sharedBuffersBytes,
    walBuffersBytes,
    maxLocksPerTransaction,
    connectionSharedBytes,
    fixedBytes,
    maxConnections,
    workMemBytes,
    connectionsBytes,
    autovacuumWorkers,
    autovacuumWorkMemBytes,
    autovacuumBytes,
    maintenanceBytes,
    worstCaseBytes: fixedBytes + connectionsBytes + autovacuumBytes + maintenanceBytes,
    limitBytes,
    requestBytes,
  };
}

/**
 * Durability of acknowledged commits, from every setting that decides it: `synchronous_commit` and the standbys.
 * - With `synchronous_commit = off` a commit is acknowledged before its WAL is flushed; the WAL writer flushes
 *   within 3 x wal_writer_delay, so a crash can lose the commits of that window
 *   (https://www.postgresql.org/docs/current/wal-async-commit.html: "the maximum delay is three times
 *   wal_writer_delay"). The database stays consistent; acknowledged messages are lost.
 * - Standbys: asynchronous ones may lack the last commits when a failover promotes one. With synchronous
 *   replication and `synchronous_commit` `on`, `remote_write` or `remote_apply`, a commit is acknowledged once
 *   `number` standbys have its WAL (https://www.postgresql.org/docs/current/warm-standby.html#SYNCHRONOUS-REPLICATION);
 *   `local` does not wait for them. With `dataDurability: preferred` CloudNativePG lowers the number to the healthy
 *   standbys, so with none the primary acknowledges alone (Cluster CRD, `synchronous.dataDurability`).
 * (`fsync` and `full_page_writes` off are refused by the tuning engine's rules, so they need no term here.)
 * @param replication instances and synchronous replication; absent: one instance.
 */
export function durabilityOf(
  facts: MajorFacts,
  parsed: ReadonlyMap<string, ParsedValue>,
  replication?: TuningInput["replication"],
): TuningResult["durability"] {
  const sc = parsed.get("synchronous_commit")?.text ?? (facts.settings["synchronous_commit"]?.boot_val as string);
  const delayMs = parsed.get("wal_writer_delay")?.ms ?? Number(facts.settings["wal_writer_delay"]?.boot_val);
  const instances = replication?.instances ?? 1;
  const sync = replication?.synchronous;
  const waitsForStandbys = sync !== undefined && ["on", "remote_write", "remote_apply"].includes(sc);
  let failover: string;
  let failoverCanLose: boolean;
  if (instances <= 1) {
    failover = "there is no standby to fail over to (a lost volume loses what no backup holds)";
    failoverCanLose = false;
  } else if (!waitsForStandbys) {
    failover =
      sync === undefined
        ? `the ${instances - 1} standbys replicate asynchronously, so a failover can lose commits not yet replicated (set postgres.synchronousReplication)`
        : `synchronous_commit = ${sc} does not wait for the synchronous standbys, so a failover can lose commits not yet replicated`;
    failoverCanLose = true;
  } else {
    const quorum = `${sync.method === "any" ? "any" : "the first"} ${sync.number} of ${instances - 1} standbys`;
    failover =
      sync.dataDurability === "required"
        ? `a commit is acknowledged only once ${quorum} have its WAL (dataDurability required: with fewer healthy standbys, commits wait), so a failover loses none`
        : `a commit waits for ${quorum} while they are healthy, but with dataDurability preferred the primary acknowledges alone when none is, and a failover then can lose commits`;
    failoverCanLose = sync.dataDurability !== "required";
  }
  if (sc === "off") {
    const lossWindowMs = 3 * delayMs;
    return {
      synchronous_commit: sc,
      lossWindowMs,
      failoverCanLose: instances > 1,
      summary:
        `synchronous_commit = off: a crash of the primary can lose messages acknowledged in the last ~${lossWindowMs} ms ` +
        `(3 x wal_writer_delay ${delayMs} ms); the database stays consistent. Override synchronous_commit with { value: "on", reason } in tuning.overrides to lose no acknowledged message` +
        (instances > 1 ? `; a failover can lose them too` : ""),
    };
  }
  return {
    synchronous_commit: sc,
    lossWindowMs: 0,
    failoverCanLose,
    summary: `synchronous_commit = ${sc}: a commit is acknowledged after its WAL is flushed on the primary, so a crash loses no acknowledged message; ${failover}`,
  };
}

/** Quotes a value for postgresql.conf: numbers bare, everything else in single quotes. */
function confValue(value: string): string {
  // postgresql.conf's quoted strings take '' for a quote and read backslash escapes (\n, \t, \\, octal: guc-file.l,
  // GUC_scanstr), so a backslash is doubled first; control characters never get here (config/postgres.ts refuses them).
  return /^-?\d+(\.\d+)?$/.test(value) ? value : `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * The durability line and the memory budget block, as postgresql.conf's header and the plan summary print them.
 */
export function summaryLines(result: TuningResult): string[] {
  const b = result.budget;
  return [
    `Durability: ${result.durability.summary}`,
    `Memory budget (pod limit ${mib(b.limitBytes)}, request ${mib(b.requestBytes)}):`,
    `  fixed      = shared_buffers ${mib(b.sharedBuffersBytes)} + wal_buffers ${mib(b.walBuffersBytes)} + max_connections ${b.maxConnections} x ${(connectionSharedMemoryBytes(b.maxLocksPerTransaction) / 1024).toFixed(1)} KiB per connection (${mib(b.connectionSharedBytes)}) = ${mib(b.fixedBytes)}`,
    `  worst case = fixed + max_connections ${b.maxConnections} x work_mem ${mib(b.workMemBytes)} + autovacuum_max_workers ${b.autovacuumWorkers} x autovacuum_work_mem ${mib(b.autovacuumWorkMemBytes)} + maintenance_work_mem ${mib(b.maintenanceBytes)} = ${mib(b.worstCaseBytes)}`,
  ];
}

/** A setting's line in postgresql.conf, without its comment: `shared_buffers = '2GB'`, `max_connections = 18`. */
export function confLine(setting: Pick<Setting, "name" | "value">): string {
  return `${setting.name} = ${confValue(setting.value)}`;
}

/** Column at which postgresql.conf's origin comments start (longer lines push their comment right). */
const CONF_COMMENT_COLUMN = 48;

/**
 * Renders postgresql.conf: the durability and budget summary as comments at the top, then one line per
 * setting, sorted by name, each commented with its origin (and note).
 * @param header optional first comment lines (e.g. `stack dev, PostgreSQL 17`), without `#`.
 */
export function renderPostgresqlConf(result: TuningResult, header?: string): string {
  const lines: string[] = [];
  if (header !== undefined) for (const h of header.split("\n")) lines.push(`# ${h}`.trimEnd());
  lines.push(
    "# Generated by components/postgres/tuning.ts; origin: seed = the seed guide, derived = computed here, override = this stack's deviation.",
    ...summaryLines(result).map((l) => `# ${l}`),
  );
  for (const w of result.warnings) if (w !== result.durability.summary) lines.push(`# WARNING: ${w}`);
  lines.push("");
  // A fixed comment column (not the longest line's width), so adding one long setting changes one
  // line of a plan diff, not every line.
  const width = CONF_COMMENT_COLUMN;
  for (const s of result.settings) {
    const text = confLine(s);
    lines.push(`${text.padEnd(width)}  # ${s.origin}${s.note !== undefined ? `: ${s.note}` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Inputs of `computeTuning` from a parsed stack config. */
export function tuningInputOf(config: StackConfig): TuningInput {
  return tuningInputOfPostgres(config.postgres);
}

/** Inputs of `computeTuning` from a parsed `ducklake:postgres` section. */
export function tuningInputOfPostgres(pg: PostgresConfig): TuningInput {
  return {
    majorVersion: pg.majorVersion,
    tuning: pg.tuning,
    resources: pg.resources,
    database: pg.database,
    ownerRole: pg.ownerRole,
    ...(pg.pooler.enabled ? { poolerServerConnections: pg.pooler.instances * pg.pooler.defaultPoolSize } : {}),
    replication: {
      instances: pg.instances,
      ...(pg.synchronousReplication !== undefined ? { synchronous: pg.synchronousReplication } : {}),
    },
  };
}

/**
 * Semantic validator (registered in components/stack.ts): runs `computeTuning` on the stack's config.
 * @returns errors with paths like `["postgres", "tuning", "seed", "shared_buffers"]`, and the engine's
 *   warnings (memory worst case, synchronous_commit = off), each with its numbers.
 */
export function validateTuning(config: StackConfig): SemanticResult {
  try {
    const result = computeTuning(tuningInputOf(config));
    return { errors: durabilityIssues(config, result.durability), warnings: result.warnings };
  } catch (err) {
    if (!(err instanceof TuningError)) throw err;
    const errors: SemanticIssue[] = err.problems.map((p) => ({
      path: ["postgres", ...p.path],
      message: p.message,
      ...(p.value !== undefined ? { value: p.value } : {}),
    }));
    // the durability rules need only synchronous_commit, wal_writer_delay and the replication: still report them
    if (err.durability !== undefined) errors.push(...durabilityIssues(config, err.durability));
    return { errors, warnings: [] };
  }
}

/**
 * The product promises no acknowledged message lost: a stack whose durability breaks it must say why
 * (`postgres.acceptDataLoss`), and one that loses nothing must not claim it may.
 * @returns at most one issue.
 */
function durabilityIssues(config: StackConfig, durability: TuningResult["durability"]): SemanticIssue[] {
  const accept = config.postgres.acceptDataLoss;
  if (durability.lossWindowMs > 0 && accept === undefined) {
    const set = effectiveSetting(config.postgres.tuning, "synchronous_commit");
    return [
      {
        path: set?.path ?? ["postgres", "tuning", "seed", "synchronous_commit"],
        value: durability.synchronous_commit,
        message:
          `${durability.summary}. The product promises no acknowledged message lost: ` +
          `set ducklake:postgres.acceptDataLoss to the reason this stack may lose them, or synchronous_commit to on`,
      },
    ];
  }
  if (durability.failoverCanLose && accept === undefined) {
    return [
      {
        path: ["postgres", "synchronousReplication"],
        value: config.postgres.synchronousReplication ?? "unset",
        message:
          `${durability.summary}. The product promises no acknowledged message lost: set postgres.synchronousReplication ` +
          `(dataDurability required), or ducklake:postgres.acceptDataLoss to the reason this stack may lose them`,
      },
    ];
  }
  if (durability.lossWindowMs === 0 && !durability.failoverCanLose && accept !== undefined) {
    return [
      {
        path: ["postgres", "acceptDataLoss"],
        value: accept,
        message: `${durability.summary}: nothing acknowledged can be lost, so remove acceptDataLoss (it would make a reader expect losses)`,
      },
    ];
  }
  return [];
}

/**
 * For integration tests on a small machine: divides every memory-size setting by `factor` (rounded
 * down to the setting's unit, never below its minimum); nothing else changes. The budget and
 * parameters are recomputed from the scaled values' text.
 * @param factor a positive integer, e.g. 16 (a 4GB shared_buffers becomes 256MB).
 */
export function scaleMemorySettings(result: TuningResult, majorVersion: number, factor: number): TuningResult {
  if (!Number.isInteger(factor) || factor < 1)
    throw new Error(`scale factor must be a positive integer, got ${factor}`);
  const facts = factsFor(majorVersion);
  const settings = result.settings.map((s) => {
    const fact = facts.settings[s.name];
    if (fact === undefined || !isMemorySetting(fact)) return s;
    const p = parseSettingValue(s.name, fact, s.value);
    if (p.units === undefined || p.units <= 0) return s;
    const units = Math.max(Math.floor(p.units / factor), Number(fact.min_val));
    return { ...s, value: showNumeric(fact, units), note: `${s.value} / ${factor} for the test machine` };
  });
  const parameters: Record<string, string> = {};
  for (const s of settings) if (!CNPG_FIXED_PARAMETERS.includes(s.name)) parameters[s.name] = s.value;
  const scaledBytes = (bytes: number) => Math.floor(bytes / factor);
  const b = result.budget;
  const budget: MemoryBudget = {
    ...b,
    sharedBuffersBytes: scaledBytes(b.sharedBuffersBytes),
    walBuffersBytes: scaledBytes(b.walBuffersBytes),
    connectionSharedBytes: scaledBytes(b.connectionSharedBytes),
    fixedBytes: scaledBytes(b.fixedBytes),
    workMemBytes: scaledBytes(b.workMemBytes),
    connectionsBytes: scaledBytes(b.connectionsBytes),
    autovacuumWorkMemBytes: scaledBytes(b.autovacuumWorkMemBytes),
    autovacuumBytes: scaledBytes(b.autovacuumBytes),
    maintenanceBytes: scaledBytes(b.maintenanceBytes),
    worstCaseBytes: scaledBytes(b.worstCaseBytes),
    limitBytes: scaledBytes(b.limitBytes),
    requestBytes: scaledBytes(b.requestBytes),
  };
  return { ...result, settings, parameters, budget };
}

/** Human-readable size of a byte count in PostgreSQL units (`4GB`), for plan output. */
export function pgSize(bytes: number): string {
  return formatPgMemory(bytes);
}
