/**
 * Unit tests of the tuning engine: value parsing per major, every validation rule, the memory budget,
 * durability, rendering, and the config validator.
 */
import { parseStackConfig } from "../../config/load";
import { ConfigError } from "../../config/issues";
import {
  CNPG_FIXED_PARAMETERS,
  computeTuning,
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

function input(over: Partial<TuningInput> & { seed?: Record<string, string | number | boolean>; overrides?: Record<string, string | number | boolean> } = {}): TuningInput {
  const base = tuningInputOf(dev);
  return {
    ...base,
    ...over,
    tuning: { ...base.tuning, seed: { ...base.tuning.seed, ...(over.seed ?? {}) }, overrides: over.overrides ?? base.tuning.overrides, hugePages: over.tuning?.hugePages ?? base.tuning.hugePages, profile: base.tuning.profile },
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

  test("dev: synchronous_commit off has a 3 x wal_writer_delay loss window, warned with its numbers", () => {
    const r = computeTuning(tuningInputOf(dev));
    expect(r.durability).toMatchObject({ synchronous_commit: "off", lossWindowMs: 600 });
    expect(r.warnings.join("\n")).toMatch(/~600 ms \(3 x wal_writer_delay 200 ms\)/);
    const slower = computeTuning(input({ overrides: { wal_writer_delay: "1s" } }));
    expect(slower.durability.lossWindowMs).toBe(3000);
  });

  test("memory budget: the formula's terms (dev)", () => {
    const b = computeTuning(tuningInputOf(dev)).budget;
    const MiB = 2 ** 20;
    expect(b.fixedBytes).toBe(1024 * MiB + 16 * MiB);
    expect(b.connectionsBytes).toBe(100 * 16 * MiB);
    expect(b.autovacuumBytes).toBe(3 * 128 * MiB);
    expect(b.worstCaseBytes).toBe(b.fixedBytes + 100 * 16 * MiB + 3 * 128 * MiB + 256 * MiB);
    expect(b.limitBytes).toBe(4 * 1024 * MiB);
  });

  test("memory budget: -1 sentinels resolve as PostgreSQL documents", () => {
    const b = computeTuning(input({ seed: { wal_buffers: -1, autovacuum_work_mem: -1 } })).budget;
    expect(b.walBuffersBytes).toBe(16 * 2 ** 20); // 1GB / 32 = 32MB, capped at 16MB
    expect(b.autovacuumWorkMemBytes).toBe(256 * 2 ** 20); // = maintenance_work_mem
  });

  test("worst case above the limit is a warning with the numbers", () => {
    const r = computeTuning(input({ overrides: { work_mem: "64MB" } }));
    const w = r.warnings.find((x) => x.includes("worst-case"));
    expect(w).toMatch(/worst-case memory 8080\.0 MiB exceeds the pod memory limit 4Gi \(4096\.0 MiB\)/);
    expect(w).toMatch(/max_connections 100 x work_mem 64\.0 MiB/);
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
    const p = problemsOf(input({ resources: { memory: "1Gi", cpu: "2" }, seed: { shared_buffers: "1000MB", wal_buffers: "64MB" } }));
    expect(p.map((x) => x.setting)).toEqual(["wal_buffers"]);
    expect(p[0]!.message).toMatch(/1064\.0 MiB exceeds the pod memory limit 1Gi/);
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
    expect(byPath.get("tuning.seed.shared_buffer")?.message).toMatch(/unknown setting "shared_buffer" for PostgreSQL 17 \(did you mean shared_buffers\?\)/);
    expect(byPath.get("tuning.seed.effective_io_concurrency")?.message).toMatch(/5000.*allowed: 0 \.\. 1000/);
    expect(byPath.get("tuning.seed.autovacuum_naptime")?.message).toMatch(/wrong unit "GB"/);
    expect(byPath.get("tuning.overrides.port")?.message).toMatch(/fixed by CloudNativePG/);
    expect(byPath.get("tuning.overrides.pg_partman_bgw.role")?.message).toMatch(/ownerRole/);
    expect(byPath.get("tuning.overrides.huge_pages")?.message).toMatch(/tuning\.hugePages/);
    expect(byPath.get("tuning.overrides.auto_explain.log_min_duration")?.message).toMatch(/custom settings need their library preloaded/);
    expect(p).toHaveLength(7);
  });

  test("a setting unknown to the target major is an error for it only", () => {
    expect(problemsOf(input({ majorVersion: 17, overrides: { io_method: "sync" } }))[0]!.message).toMatch(/unknown setting "io_method" for PostgreSQL 17/);
    expect(computeTuning(input({ majorVersion: 18, overrides: { io_method: "sync" } })).parameters["io_method"]).toBe("sync");
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
    expect(text).toMatch(/^shared_buffers = '4GB' +# seed$/m);
    expect(text).toMatch(/^synchronous_commit = 'on' +# override: replaces seed value off$/m);
    expect(text).toMatch(/^max_connections = 200 +# seed$/m);
  });

  test("durability and budget at the top", () => {
    expect(text.startsWith("# stack prod\n")).toBe(true);
    expect(text).toMatch(/^# Durability: synchronous_commit = on/m);
    expect(text).toMatch(/^# {3}worst case = .* = 14656\.0 MiB$/m);
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
    expect([v("shared_buffers"), v("work_mem"), v("effective_cache_size"), v("max_wal_size")]).toEqual(["256MB", "2MB", "768MB", "512MB"]);
    expect([v("max_connections"), v("checkpoint_timeout"), v("random_page_cost")]).toEqual(["200", "15min", "1.1"]);
    expect(() => scaleMemorySettings(r, 17, 0)).toThrow(/positive integer/);
  });
});

describe("validateTuning (config validator)", () => {
  test("the stacks pass; dev warns about synchronous_commit", () => {
    expect(validateTuning(prod)).toEqual({ errors: [], warnings: [] });
    const d = validateTuning(dev);
    expect(d.errors).toEqual([]);
    expect(d.warnings).toHaveLength(1);
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
      expect(paths).toEqual(expect.arrayContaining(["ducklake:postgres.tuning.seed.shared_bufers", "ducklake:postgres.tuning.seed.work_mem"]));
    }
  });
});
