/**
 * Unit tests of the tuning engine: value parsing per major, every validation rule, the memory budget,
 * durability, rendering, and the config validator.
 */
import { parseStackConfig } from "../../components/stack";
import { ConfigError } from "../../config/issues";
import {
  CNPG_FIXED_PARAMETERS,
  computeTuning,
  connectionSharedMemoryBytes,
  renderPostgresqlConf,
  scaleMemorySettings,
  TuningError,
  TuningInput,
  TuningProblem,
  tuningInputOf,
  validateTuning,
} from "../../components/postgres/tuning";
import { factsFor, parseSettingValue, SettingValueError, suggestSetting } from "../../components/postgres/tuning-facts";
import { readDucklakeConfig } from "../helpers/stack-files";

const dev = parseStackConfig(readDucklakeConfig("dev"), "dev").config;
const prod = parseStackConfig(readDucklakeConfig("prod"), "prod").config;

/** Overrides given as plain values, each wrapped with a reason as the schema requires. */
function withReasons(
  values: Record<string, string | number | boolean>,
): Record<string, { value: string | number | boolean; reason: string }> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, { value: v, reason: "a test's deliberate departure" }]),
  );
}

function input(
  over: Partial<TuningInput> & {
    seed?: Record<string, string | number | boolean>;
    overrides?: Record<string, string | number | boolean>;
  } = {},
): TuningInput {
  const base = tuningInputOf(dev);
  return {
    ...base,
    ...over,
    tuning: {
      ...base.tuning,
      seed: { ...base.tuning.seed, ...(over.seed ?? {}) },
      overrides: { ...base.tuning.overrides, ...withReasons(over.overrides ?? {}) },
      hugePages: over.tuning?.hugePages ?? base.tuning.hugePages,
      profile: base.tuning.profile,
    },
  };
}

function problemsOf(i: TuningInput): TuningProblem[] {
  try {
    computeTuning(i);
  } catch (err) {
    if (err instanceof TuningError) return [...err.problems];
    throw err;
  }
  throw new Error("expected a TuningError");
}

describe("parseSettingValue", () => {
  const f17 = factsFor(17);
  const fact = (n: string) => f17.settings[n]!;
  test.each([
    ["shared_buffers", "1GB", "1GB", 131072],
    ["shared_buffers", "1024MB", "1GB", 131072],
    ["shared_buffers", 16384, "128MB", 16384], // bare number: units of 8kB
    ["work_mem", "16MB", "16MB", 16384],
    ["autovacuum_naptime", "10s", "10s", 10],
    ["checkpoint_timeout", "900s", "15min", 900],
    ["autovacuum_vacuum_cost_delay", "2ms", "2ms", 2],
    ["random_page_cost", 1.1, "1.1", 1.1],
    ["max_connections", 200, "200", 200],
  ])("%s = %p renders %p (%p units)", (name, value, text, units) => {
    const p = parseSettingValue(name, fact(name), value);
    expect(p.text).toBe(text);
    expect(p.units).toBe(units);
  });

  test("a share of the memory limit is computed, rounded down to the unit", () => {
    const p = parseSettingValue("shared_buffers", fact("shared_buffers"), "25%", { memoryLimitBytes: 4 * 2 ** 30 });
    expect(p.text).toBe("1GB");
    expect(p.percent).toBe(25);
    const odd = parseSettingValue("shared_buffers", fact("shared_buffers"), "33%", { memoryLimitBytes: 4 * 2 ** 30 });
    expect(odd.bytes).toBeLessThanOrEqual(0.33 * 4 * 2 ** 30);
    expect(odd.bytes! % 8192).toBe(0);
  });

  test.each([
    ["shared_buffers", "1gb", /wrong unit "gb".*case matters/],
    ["shared_buffers", "10s", /wrong unit "s".*memory size/],
    ["autovacuum_naptime", "1GB", /wrong unit "GB".*time/],
    ["max_connections", "100MB", /wrong unit "MB".*plain number/],
    ["max_connections", 1.5, /not an integer/],
    ["max_connections", 0, /out of range.*1 \.\. 262143/],
    ["effective_io_concurrency", 5000, /out of range.*0 \.\. 1000/],
    ["shared_buffers", "64kB", /out of range.*allowed: 128kB \.\. 8589934584kB \(16 \.\. 1073741823 in units of 8kB\)/],
    ["autovacuum_naptime", "25%", /only allowed for memory sizes/],
    ["synchronous_commit", "sometimes", /allowed: local, remote_write, remote_apply, on, off/],
    ["track_io_timing", "maybe", /not a boolean/],
    ["random_page_cost", true, /a number is required/],
  ])("%s = %p is rejected (%p)", (name, value, message) => {
    expect(() => parseSettingValue(name, fact(name), value, { memoryLimitBytes: 2 ** 32 })).toThrow(SettingValueError);
    expect(() => parseSettingValue(name, fact(name), value, { memoryLimitBytes: 2 ** 32 })).toThrow(message);
  });

  test("enum aliases: wal_compression on prints as pglz; booleans map to on/off", () => {
    expect(parseSettingValue("wal_compression", fact("wal_compression"), "on").text).toBe("pglz");
    expect(parseSettingValue("synchronous_commit", fact("synchronous_commit"), false).text).toBe("off");
    expect(parseSettingValue("track_io_timing", fact("track_io_timing"), true).text).toBe("on");
  });
});

describe("facts per major", () => {
  test("settings that exist only in some majors", () => {
    expect(factsFor(18).settings["io_method"]).toBeDefined();
    expect(factsFor(17).settings["io_method"]).toBeUndefined();
    expect(factsFor(15).settings["pg_partman_bgw.interval"]).toBeDefined();
    // 16-18 were read from servers without pg_partman: the hand-written table fills in.
    expect(factsFor(17).handWritten).toContain("pg_partman_bgw.interval");
    expect(factsFor(15).handWritten).toEqual([]);
  });

  test("misspellings get the closest name", () => {
    expect(suggestSetting(factsFor(17), "shared_buffer")).toBe("shared_buffers");
    expect(suggestSetting(factsFor(17), "Work_Mem")).toBe("work_mem");
    expect(suggestSetting(factsFor(17), "completely_unknown_thing")).toBeUndefined();
  });
});

describe("computeTuning on the stacks", () => {
  test.each([
    ["dev", dev],
    ["prod", prod],
  ])("%s: every seed value is set, with origin seed unless overridden", (_stack, cfg) => {
    const r = computeTuning(tuningInputOf(cfg));
    const byName = new Map(r.settings.map((s) => [s.name, s]));
    for (const name of Object.keys(cfg.postgres.tuning.seed)) {
      const s = byName.get(name);
      expect(s).toBeDefined();
      expect(s!.origin).toBe(name in cfg.postgres.tuning.overrides ? "override" : "seed");
    }
    expect(r.settings.map((s) => s.name)).toEqual([...r.settings.map((s) => s.name)].sort());
    expect(byName.get("pg_partman_bgw.dbname")?.value).toBe(cfg.postgres.database);
    expect(byName.get("pg_partman_bgw.role")?.value).toBe(cfg.postgres.ownerRole);
    expect(byName.get("huge_pages")?.value).toBe("off");
    expect(r.sharedPreloadLibraries).toEqual(["pg_partman_bgw", "pg_stat_statements"]);
    expect(r.parameters["shared_preload_libraries"]).toBeUndefined();
    for (const k of Object.keys(r.parameters)) expect(CNPG_FIXED_PARAMETERS).not.toContain(k);
    expect(Object.keys(r.parameters)).toHaveLength(r.settings.length - 1);
  });

  test("prod: synchronous_commit override wins and loses nothing on a crash", () => {
    const r = computeTuning(tuningInputOf(prod));
    expect(r.settings.find((s) => s.name === "synchronous_commit")).toMatchObject({ value: "on", origin: "override" });
    expect(r.durability.lossWindowMs).toBe(0);
  });

  test("durability names the standbys: none, asynchronous, synchronous required or preferred, or bypassed by local", () => {
    const base = tuningInputOf(prod);
    const sync = { method: "any" as const, number: 1, dataDurability: "required" as const };
    const of = (
      replication: NonNullable<typeof base.replication>,
      overrides?: Record<string, { value: string; reason: string }>,
    ) =>
      computeTuning({
        ...base,
        replication,
        ...(overrides ? { tuning: { ...base.tuning, overrides: { ...base.tuning.overrides, ...overrides } } } : {}),
      }).durability;
    expect(of({ instances: 1 })).toMatchObject({ failoverCanLose: false });
    expect(of({ instances: 1 }).summary).toContain("there is no standby");
    expect(of({ instances: 3 })).toMatchObject({ failoverCanLose: true });
    expect(of({ instances: 3 }).summary).toContain("the 2 standbys replicate asynchronously");
    expect(of({ instances: 3, synchronous: sync })).toMatchObject({ failoverCanLose: false, lossWindowMs: 0 });
    expect(of({ instances: 3, synchronous: sync }).summary).toContain("only once any 1 of 2 standbys have its WAL");
    expect(of({ instances: 3, synchronous: { ...sync, dataDurability: "preferred" } })).toMatchObject({
      failoverCanLose: true,
    });
    const local = of(
      { instances: 3, synchronous: sync },
      { synchronous_commit: { value: "local", reason: "testing local commits" } },
    );
    expect(local).toMatchObject({ failoverCanLose: true });
    expect(local.summary).toContain("synchronous_commit = local does not wait for the synchronous standbys");
  });

  test("dev: synchronous_commit off has a 3 x wal_writer_delay loss window, warned with its numbers", () => {
    const r = computeTuning(tuningInputOf(dev));
    expect(r.durability).toMatchObject({ synchronous_commit: "off", lossWindowMs: 600 });
    expect(r.warnings.join("\n")).toMatch(/~600 ms \(3 x wal_writer_delay 200 ms\)/);
    const slower = computeTuning(input({ overrides: { wal_writer_delay: "1s" } }));
    expect(slower.durability.lossWindowMs).toBe(3000);
  });

  test("memory budget: the formula's terms (dev, the guide's values, the rest derived)", () => {
    const r = computeTuning(tuningInputOf(dev));
    const b = r.budget;
    const MiB = 2 ** 20;
    // shared_buffers 2GB + wal_buffers -1 = min(2GB/32, 16MB) + 18 connections x 48.6 KiB of shared memory
    expect(b.fixedBytes).toBe(2048 * MiB + 16 * MiB + 18 * connectionSharedMemoryBytes(64));
    // needed = 3 reserved + 5 operational + 10 app = 18; autovacuum share = (4096 - 2064.85 - 512 - 18 x 64) / 3 = 122.4 -> 122MB
    expect(b.autovacuumWorkMemBytes).toBe(122 * MiB);
    expect(b.maxConnections).toBe(18); // (4096 - 2064 - 512 - 366) / 64 = 18.03
    expect(b.worstCaseBytes).toBe(b.fixedBytes + 18 * 64 * MiB + 3 * 122 * MiB + 512 * MiB);
    expect(b.limitBytes).toBe(4 * 1024 * MiB);
    expect(r.budgetVerdict).toMatchObject({ holds: true, overBytes: 0 });
    for (const name of ["autovacuum_work_mem", "max_connections"])
      expect(r.settings.find((s) => s.name === name)?.origin).toBe("derived");
  });

  test("derived max_connections follows the memory and never drops below what the stack needs", () => {
    const MiB = 2 ** 20;
    // 8Gi: (8192 - 2064 - 512 - 3 x 512 (autovacuum share capped at maintenance_work_mem)) / 64 = 63
    const big = computeTuning(input({ resources: { memory: "8Gi", cpu: "2" } })).budget;
    expect(big.autovacuumWorkMemBytes).toBe(512 * MiB);
    expect(big.maxConnections).toBe(63);
    // A pooler of 2 x 50 server connections needs 3 + 5 + 100 = 108, whatever the budget says.
    const pooled = computeTuning(input({ poolerServerConnections: 100 }));
    expect(pooled.budget.maxConnections).toBe(108);
    expect(pooled.budget.autovacuumWorkMemBytes).toBe(16 * MiB); // the floor: nothing is left for autovacuum
    expect(pooled.budgetVerdict.holds).toBe(false);
    // Given by the stack: kept, and the derivation of autovacuum_work_mem uses it.
    const given = computeTuning(input({ overrides: { max_connections: 20 } })).budget;
    expect(given.maxConnections).toBe(20);
    expect(given.autovacuumWorkMemBytes).toBe(79 * MiB); // min(512, (4096 - 2064.95 - 512 - 20 x 64) / 3 = 79.7)
  });

  test("memory budget: -1 sentinels resolve as PostgreSQL documents", () => {
    const b = computeTuning(input({ seed: { wal_buffers: -1, autovacuum_work_mem: -1 } })).budget;
    expect(b.walBuffersBytes).toBe(16 * 2 ** 20); // 2GB / 32 = 64MB, capped at 16MB
    expect(b.autovacuumWorkMemBytes).toBe(512 * 2 ** 20); // = maintenance_work_mem
  });

  test("a budget that does not hold names its terms, the overrun and the fixes", () => {
    const r = computeTuning(tuningInputOf(prod));
    const v = r.budgetVerdict;
    expect(v.holds).toBe(false);
    // 12GB + 256MB + 108 connections' shared memory + 108 x 128MB + 12 x 1GB + 2GB = 40709.1 MiB against 16384 MiB
    const shared = 108 * connectionSharedMemoryBytes(64);
    expect(r.budget.worstCaseBytes).toBe(40704 * 2 ** 20 + shared);
    expect(v.overBytes).toBe((40704 - 16384) * 2 ** 20 + shared);
    expect(v.terms.map((t) => t.term)[0]).toMatch(/^max_connections 108 x work_mem/);
    expect(v.summary).toMatch(/exceeds the pod limit 16Gi \(16384\.0 MiB\) by 24325\.1 MiB/);
    expect(v.summary).toMatch(
      /autovacuum_max_workers 12 x autovacuum_work_mem 1024\.0 MiB = 12288\.0 MiB \(autovacuum_max_workers seed, autovacuum_work_mem seed\)/,
    );
    expect(v.fixes[0]).toBe("postgres.resources.memory >= 40Gi (and nodes to hold it)");
    expect(v.summary).toMatch(
      /No single setting \(work_mem, max_connections, autovacuum_work_mem\) brings it within the limit/,
    );
    expect(r.warnings).toContain(v.summary);
    // One setting that alone fixes it is named with its bound.
    const dev8 = computeTuning(input({ overrides: { max_connections: 40 } })).budgetVerdict;
    expect(dev8.holds).toBe(false);
    expect(dev8.fixes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^work_mem <= \d+MB \(override\)$/),
        expect.stringMatching(/^max_connections <= \d+ \(override; the stack needs 18\)$/),
      ]),
    );
  });

  test("shared_buffers not below the memory request is an error", () => {
    const p = problemsOf(input({ seed: { shared_buffers: "4GB" } }));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ path: ["tuning", "seed", "shared_buffers"], setting: "shared_buffers" });
    expect(p[0]!.message).toMatch(/4096\.0 MiB\) must be below the pod memory request 4Gi/);
    expect(() => computeTuning(input({ seed: { shared_buffers: "100%" } }))).toThrow(TuningError);
    expect(() => computeTuning(input({ seed: { shared_buffers: "3GB" } }))).not.toThrow();
  });

  test("fixed memory above the limit is an error", () => {
    const p = problemsOf(
      input({ resources: { memory: "1Gi", cpu: "2" }, seed: { shared_buffers: "1000MB", wal_buffers: "64MB" } }),
    );
    expect(p.map((x) => x.setting)).toEqual(["wal_buffers"]);
    expect(p[0]!.message).toMatch(
      /= 1064\.9 MiB, exceeds the pod memory limit 1Gi \(1024\.0 MiB\): the server would not start/,
    );
  });

  test("sizes as a share of the limit are derived and noted", () => {
    const r = computeTuning(input({ seed: { shared_buffers: "25%", effective_cache_size: "75%" } }));
    const sb = r.settings.find((s) => s.name === "shared_buffers")!;
    expect(sb.value).toBe("1GB");
    expect(sb.note).toMatch(/25% of the 4Gi memory limit/);
    expect(r.settings.find((s) => s.name === "effective_cache_size")!.value).toBe("3GB");
  });

  test("every problem is reported at once, with paths, values and ranges", () => {
    const p = problemsOf(
      input({
        seed: { shared_buffer: "1GB", effective_io_concurrency: 5000, autovacuum_naptime: "10GB" },
        overrides: { port: 5433, "pg_partman_bgw.role": "x", huge_pages: "on", "auto_explain.log_min_duration": "1s" },
      }),
    );
    const byPath = new Map(p.map((x) => [x.path.join("."), x]));
    expect(byPath.get("tuning.seed.shared_buffer")?.message).toMatch(
      /unknown setting "shared_buffer" for PostgreSQL 17 \(did you mean shared_buffers\?\)/,
    );
    expect(byPath.get("tuning.seed.effective_io_concurrency")?.message).toMatch(/5000.*allowed: 0 \.\. 1000/);
    expect(byPath.get("tuning.seed.autovacuum_naptime")?.message).toMatch(/wrong unit "GB"/);
    expect(byPath.get("tuning.overrides.port.value")?.message).toMatch(/fixed by CloudNativePG/);
    expect(byPath.get("tuning.overrides.pg_partman_bgw.role.value")?.message).toMatch(
      /must equal ducklake:postgres\.ownerRole "lineage_owner"/,
    );
    expect(byPath.get("tuning.overrides.huge_pages.value")?.message).toMatch(/tuning\.hugePages/);
    expect(byPath.get("tuning.overrides.auto_explain.log_min_duration.value")?.message).toMatch(
      /custom settings need their library preloaded/,
    );
    expect(p).toHaveLength(7);
  });

  test("settings the guide gives that must agree with other keys: the guide's value needs an override when it differs", () => {
    const noOverride = { ...input(), tuning: { ...input().tuning, overrides: {} } };
    const p = problemsOf(noOverride);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ path: ["tuning", "seed", "pg_partman_bgw.role"], value: "postgres" });
    expect(p[0]!.message).toMatch(
      /"postgres" \(seed\) but must equal ducklake:postgres\.ownerRole "lineage_owner".*add tuning\.overrides\["pg_partman_bgw\.role"\]/,
    );
    // The guide's database name is the default, so its dbname line is the guide's.
    expect(computeTuning(input()).settings.find((s) => s.name === "pg_partman_bgw.dbname")).toMatchObject({
      value: "ducklakedb",
      origin: "seed",
    });
    expect(problemsOf({ ...input(), database: "lineage" })[0]!.message).toMatch(
      /pg_partman_bgw\.dbname is "ducklakedb" \(seed\) but must equal ducklake:postgres\.database "lineage"/,
    );
  });

  test("shared_preload_libraries must carry pg_partman_bgw and pg_stat_statements; it goes to CloudNativePG's own field", () => {
    const p = problemsOf(input({ seed: { shared_preload_libraries: "pg_partman_bgw" } }));
    expect(p[0]).toMatchObject({ path: ["tuning", "seed", "shared_preload_libraries"] });
    expect(p[0]!.message).toMatch(/missing pg_stat_statements/);
    const extra = computeTuning(
      input({ overrides: { shared_preload_libraries: "pg_partman_bgw, pg_stat_statements, auto_explain" } }),
    );
    expect(extra.sharedPreloadLibraries).toEqual(["pg_partman_bgw", "pg_stat_statements", "auto_explain"]);
    expect(extra.parameters["shared_preload_libraries"]).toBeUndefined();
  });

  test("an override's reason is rendered beside its value", () => {
    const r = computeTuning(tuningInputOf(prod));
    expect(r.settings.find((s) => s.name === "synchronous_commit")?.note).toMatch(
      /^prod promises no acknowledged message lost.*\(replaces seed value off\)$/,
    );
  });

  test("a max_connections the stack gives must hold what the stack needs", () => {
    const p = problemsOf(input({ overrides: { max_connections: 17 } }));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ path: ["tuning", "overrides", "max_connections", "value"], value: 17 });
    expect(p[0]!.message).toMatch(
      /^max_connections 17 is below the 18 connections the stack needs \(3 reserved .* \+ 10 application/,
    );
    expect(() => computeTuning(input({ overrides: { max_connections: 18 } }))).not.toThrow();
    // With the pooler's 100 server connections the need is 108.
    expect(
      problemsOf(input({ poolerServerConnections: 100, overrides: { max_connections: 104 } }))[0]!.message,
    ).toMatch(/below the 108/);
  });

  test("fsync or full_page_writes off is refused on any stack, naming the risk", () => {
    const p = problemsOf(input({ overrides: { fsync: "off", full_page_writes: false } }));
    expect(p.map((x) => x.path.join("."))).toEqual([
      "tuning.overrides.fsync.value",
      "tuning.overrides.full_page_writes.value",
    ]);
    expect(p[0]!.message).toMatch(
      /^fsync = off is refused: an operating-system crash can leave the database unrecoverably corrupt/,
    );
    expect(() => computeTuning(input({ overrides: { fsync: "on" } }))).not.toThrow();
  });

  test("a memory size without a unit is read in the setting's unit, and warned about", () => {
    const r = computeTuning(input({ overrides: { work_mem: 64 } }));
    expect(r.settings.find((s) => s.name === "work_mem")?.value).toBe("64kB");
    expect(r.warnings).toContain(
      "ducklake:postgres.tuning.overrides.work_mem.value = 64 has no unit: PostgreSQL reads it in kB, as 64kB; write the unit (kB, MB, GB) to say what you mean",
    );
    expect(computeTuning(input({ overrides: { work_mem: "64MB" } })).warnings.join("\n")).not.toMatch(/has no unit/);
  });

  test("a setting named like an Object.prototype member is an unknown setting where it was written", () => {
    const p = problemsOf(input({ seed: { constructor: 1, toString: "x" } }));
    expect(p.map((x) => x.path.join("."))).toEqual(["tuning.seed.constructor", "tuning.seed.toString"]);
    for (const x of p) expect(x.message).toMatch(/^unknown setting "(constructor|toString)" for PostgreSQL 17/);
  });

  test("a setting unknown to the target major is an error for it only", () => {
    expect(problemsOf(input({ majorVersion: 17, overrides: { io_method: "sync" } }))[0]!.message).toMatch(
      /unknown setting "io_method" for PostgreSQL 17/,
    );
    expect(computeTuning(input({ majorVersion: 18, overrides: { io_method: "sync" } })).parameters["io_method"]).toBe(
      "sync",
    );
  });

  test("huge pages requested: huge_pages on", () => {
    const r = computeTuning({ ...input(), tuning: { ...input().tuning, hugePages: true } });
    expect(r.parameters["huge_pages"]).toBe("on");
  });
});

describe("renderPostgresqlConf", () => {
  const r = computeTuning(tuningInputOf(prod));
  const text = renderPostgresqlConf(r, "stack prod");
  const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));

  test("one sorted line per setting, each with its origin", () => {
    expect(lines).toHaveLength(r.settings.length);
    expect(lines.map((l) => l.split(" ")[0])).toEqual(r.settings.map((s) => s.name));
    for (const l of lines) expect(l).toMatch(/ {2}# (seed|derived|override)/);
    expect(text).toMatch(/^shared_buffers = '12GB' +# seed$/m);
    expect(text).toMatch(/^synchronous_commit = 'on' +# override: prod promises .*\(replaces seed value off\)$/m);
    expect(text).toMatch(/^max_connections = 108 +# derived: /m);
  });

  test("durability and budget at the top", () => {
    expect(text.startsWith("# stack prod\n")).toBe(true);
    expect(text).toMatch(/^# Durability: synchronous_commit = on/m);
    expect(text).toMatch(/^# {3}worst case = .* = 40709\.1 MiB$/m);
    expect(text).toMatch(/^# WARNING: memory budget does not hold/m);
  });

  test("deterministic", () => {
    expect(renderPostgresqlConf(computeTuning(tuningInputOf(prod)), "stack prod")).toBe(text);
  });

  test("snapshot (reviewed text)", () => {
    expect(text).toMatchSnapshot();
  });
});

describe("scaleMemorySettings", () => {
  test("divides memory sizes only", () => {
    const r = computeTuning(tuningInputOf(prod));
    const s = scaleMemorySettings(r, 17, 16);
    const v = (n: string) => s.settings.find((x) => x.name === n)!.value;
    expect([v("shared_buffers"), v("work_mem"), v("effective_cache_size"), v("max_wal_size")]).toEqual([
      "768MB",
      "8MB",
      "768MB",
      "512MB",
    ]);
    expect([v("max_connections"), v("autovacuum_naptime"), v("random_page_cost")]).toEqual(["108", "10s", "1"]);
    expect(() => scaleMemorySettings(r, 17, 0)).toThrow(/positive integer/);
  });
});

describe("validateTuning (config validator)", () => {
  test("the stacks pass; dev warns about synchronous_commit, prod about its memory budget", () => {
    const p = validateTuning(prod);
    expect(p.errors).toEqual([]);
    expect(p.warnings).toEqual([expect.stringMatching(/^memory budget does not hold/)]);
    const d = validateTuning(dev);
    expect(d.errors).toEqual([]);
    expect(d.warnings).toEqual([expect.stringMatching(/^synchronous_commit = off/)]);
  });

  test("errors carry the full config path and the loader reports them", () => {
    const raw = readDucklakeConfig("dev") as { postgres: { tuning: { seed: Record<string, unknown> } } };
    raw.postgres.tuning.seed["shared_bufers"] = "1GB";
    raw.postgres.tuning.seed["work_mem"] = "16 MiB";
    try {
      parseStackConfig(raw, "dev");
      throw new Error("expected a ConfigError");
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const paths = (err as ConfigError).issues.map((i) => i.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          "ducklake:postgres.tuning.seed.shared_bufers",
          "ducklake:postgres.tuning.seed.work_mem",
        ]),
      );
    }
  });
});
