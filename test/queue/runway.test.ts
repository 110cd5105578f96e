import { ConfigError } from "../../config/issues";
import { parseStackConfig } from "../../components/stack";
import type { QueueConfig } from "../../config/queues";
import {
  bgwIntervalSeconds,
  maintenanceSchedule,
  planRunway,
  roundUpNice,
  validateQueues,
} from "../../components/queue/runway";
import { readDucklakeConfig } from "../helpers/stack-files";

const queue = (over: Partial<QueueConfig>): QueueConfig => ({
  name: "lineage_events",
  peakRateMsgsPerSecond: 10_000,
  retentionMessages: 5_000_000,
  visibilityTimeoutSeconds: 30,
  deduplicationWindowSeconds: 300,
  fifoGroups: false,
  ...over,
});

/** The parts of a raw stack config these tests change. */
interface RawConfig {
  queues: { definitions: Array<Record<string, unknown>> };
  postgres: { tuning: { seed: Record<string, unknown>; overrides?: Record<string, unknown> } };
}

/**
 * The dev stack file with `lineage_events` reset to a 10,000 msgs/s peak and a derived runway (the
 * numbers these cases are written for), then `change` applied.
 */
function devWith(change: (raw: RawConfig) => void): Record<string, unknown> {
  const raw = structuredClone(readDucklakeConfig("dev")) as unknown as RawConfig;
  const q = raw.queues.definitions[0]!;
  q.peakRateMsgsPerSecond = 10_000;
  q.retentionMessages = 5_000_000;
  delete q.partitionInterval;
  delete q.premake;
  change(raw);
  return raw as unknown as Record<string, unknown>;
}

describe("roundUpNice", () => {
  test.each([
    [1, 1],
    [3, 5],
    [450_000, 500_000],
    [1_000_000, 1_000_000],
    [1_000_001, 2_000_000],
    [2_000_001, 5_000_000],
    [6_000_000, 10_000_000],
  ])("%d -> %d", (n, expected) => expect(roundUpNice(n)).toBe(expected));
});

describe("planRunway", () => {
  test.each([
    // [partitionInterval, premake, bgw s, safety] -> [interval, premake, derived]
    [{ partitionInterval: 1_000_000, premake: 8 }, 30, 3, 1_000_000, 8, false],
    [{}, 60, 3, 500_000, 4, true], // 10,000 x 60 x 3 = 1.8M; / 4 = 450,000 -> 500,000
    [{ partitionInterval: 100_000 }, 60, 3, 100_000, 18, true], // ceil(1.8M / 100k) = 18
    [{ partitionInterval: 10_000_000 }, 60, 3, 10_000_000, 4, true], // never below pg_partman's default 4
    [{ premake: 10 }, 60, 3, 200_000, 10, true], // 180,000 -> 200,000
  ])("%j, bgw %d s, safety %d", (over, bgw, safety, interval, premake, derived) => {
    const plan = planRunway(queue(over), bgw, safety);
    expect(plan).toEqual({
      partitionInterval: interval,
      premake,
      runwayMessages: interval * premake,
      requiredMessages: 10_000 * bgw * safety,
      derived,
    });
    if (derived) expect(plan.runwayMessages).toBeGreaterThanOrEqual(plan.requiredMessages);
  });

  test("refuses a non-positive interval or a safety factor below 1", () => {
    expect(() => planRunway(queue({}), 0, 3)).toThrow(
      /maintenance period must be a positive number of seconds \(got 0\)/,
    );
    expect(() => planRunway(queue({}), 60, 0.5)).toThrow(/runwaySafetyFactor/);
  });
});

describe("maintenanceSchedule", () => {
  test.each([
    // pg_partman_bgw.interval s -> [cron, longest gap s]
    [1, "* * * * *", 60],
    [60, "* * * * *", 60],
    [61, "*/2 * * * *", 120],
    [300, "*/5 * * * *", 300],
    [420, "*/7 * * * *", 420], // 7 does not divide 60: runs at :56 then :00, a shorter gap, never a longer one
    [3540, "*/59 * * * *", 3540],
    [3600, "0 * * * *", 3600],
    [3601, "0 */2 * * *", 7200],
    [86_400, "0 0 * * *", 86_400],
    [1_000_000, "0 0 * * *", 86_400],
  ])("pg_partman_bgw.interval %d s: %s, at most %d s apart", (bgw, cron, period) => {
    expect(maintenanceSchedule(bgw)).toEqual({ cron, periodSeconds: period });
  });

  test("refuses a non-integer or non-positive interval", () => {
    expect(() => maintenanceSchedule(0)).toThrow(/whole number of seconds >= 1 \(got 0\)/);
    expect(() => maintenanceSchedule(1.5)).toThrow(/got 1.5/);
  });
});

describe("validateQueues", () => {
  test("both stack files pass; a derived runway is reported with its numbers", () => {
    expect(validateQueues(parseStackConfig(readDucklakeConfig("dev"), "dev").config).errors).toEqual([]);
    const dev = parseStackConfig(
      devWith(() => undefined),
      "dev",
    );
    expect(dev.warnings.join("\n")).toMatch(
      /derived partitionInterval 500,000 x premake 4 = 2,000,000 messages .*10,000 x maintenance period 60 s \(pg_partman_bgw\.interval, postgres\.tuning\.seed\.pg_partman_bgw\.interval\) x runwaySafetyFactor 3 = 1,800,000/,
    );
    const prod = parseStackConfig(readDucklakeConfig("prod"), "prod");
    expect(validateQueues(prod.config).errors).toEqual([]);
  });

  test("refuses the incident's config: runway below peak x interval x safety, naming every number", () => {
    const raw = devWith((r) => {
      r.queues.definitions[0]!.partitionInterval = 100_000;
      r.queues.definitions[0]!.premake = 4;
    });
    let error: unknown;
    try {
      parseStackConfig(raw, "dev");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe("ducklake:queues.definitions[0].premake");
    expect(issues[0]?.message).toContain("partitionInterval 100,000 x premake 4 = 400,000 messages");
    expect(issues[0]?.message).toContain(
      "peakRateMsgsPerSecond 10,000 x maintenance period 60 s (pg_partman_bgw.interval, postgres.tuning.seed.pg_partman_bgw.interval) x runwaySafetyFactor 3 = 1,800,000 messages",
    );
    expect(issues[0]?.message).toContain("Raise premake to >= 18, or partitionInterval to >= 450,000");
  });

  test("an override of pg_partman_bgw.interval wins over the seed, and sets the maintenance period", () => {
    const base = (r: RawConfig) => {
      r.queues.definitions[0]!.partitionInterval = 500_000;
      r.queues.definitions[0]!.premake = 4;
    };
    // 2,000,000 >= 10,000 x 60 s x 3 = 1,800,000 under the seed's 60 s
    expect(validateQueues(parseStackConfig(devWith(base), "dev").config).errors).toEqual([]);
    const slower = devWith((r) => {
      base(r);
      // the stack's other overrides (pg_partman_bgw.role) stay
      r.postgres.tuning.overrides = {
        ...r.postgres.tuning.overrides,
        "pg_partman_bgw.interval": { value: 120, reason: "maintenance every 2 minutes" },
      };
    });
    expect(() => parseStackConfig(slower, "dev")).toThrow(
      /maintenance period 120 s \(pg_partman_bgw\.interval, postgres\.tuning\.overrides\.pg_partman_bgw\.interval\) x runwaySafetyFactor 3 = 3,600,000 messages/,
    );
    const faster = devWith((r) => {
      base(r);
      r.postgres.tuning.overrides = {
        ...r.postgres.tuning.overrides,
        "pg_partman_bgw.interval": { value: 10, reason: "maintenance every 10 s keeps the runway short" },
      };
    });
    const parsed = parseStackConfig(faster, "dev");
    expect(parsed.config.postgres.tuning.seed["pg_partman_bgw.interval"]).toBe(60);
    expect(bgwIntervalSeconds(parsed.config)).toEqual({
      seconds: 10,
      path: ["postgres", "tuning", "overrides", "pg_partman_bgw.interval", "value"],
    });
    expect(validateQueues(parsed.config).errors).toEqual([]);
    // below a minute the CronJob's resolution sets the period, and the message says so
    const tight = devWith((r) => {
      r.queues.definitions[0]!.partitionInterval = 100_000;
      r.queues.definitions[0]!.premake = 4;
      r.postgres.tuning.overrides = {
        ...r.postgres.tuning.overrides,
        "pg_partman_bgw.interval": { value: 10, reason: "maintenance every 10 s" },
      };
    });
    expect(() => parseStackConfig(tight, "dev")).toThrow(
      'maintenance period 60 s (pg_partman_bgw.interval 10 s, postgres.tuning.overrides.pg_partman_bgw.interval, rounded up to the CronJob\'s "* * * * *") x runwaySafetyFactor 3 = 1,800,000 messages',
    );
  });

  test("without seed or override, pg_partman's default interval is used and named", () => {
    const raw = devWith((r) => {
      delete r.postgres.tuning.seed["pg_partman_bgw.interval"];
      r.queues.definitions[0]!.retentionMessages = 500_000_000;
    });
    const parsed = parseStackConfig(raw, "dev");
    expect(bgwIntervalSeconds(parsed.config)).toEqual({ seconds: 3600 });
    // 10,000 x 3600 x 3 = 108,000,000 messages: / premake 4 = 27,000,000, rounded up to 50,000,000
    expect(parsed.warnings.join("\n")).toMatch(
      /derived partitionInterval 50,000,000 x premake 4 = 200,000,000 messages .*maintenance period 3,600 s \(pg_partman_bgw\.interval, pg_partman's default\) x runwaySafetyFactor 3 = 108,000,000/,
    );
  });

  test("pg_partman_bgw.interval with a unit is refused (the GUC is unitless seconds)", () => {
    const raw = devWith((r) => {
      r.postgres.tuning.seed["pg_partman_bgw.interval"] = "60s";
    });
    expect(() => parseStackConfig(raw, "dev")).toThrow(
      /postgres.tuning.seed.pg_partman_bgw.interval: pg_partman_bgw.interval is a whole number of seconds/,
    );
    // Given as an override, the error names the override's value.
    const over = devWith((r) => {
      r.postgres.tuning.overrides = {
        ...r.postgres.tuning.overrides,
        "pg_partman_bgw.interval": { value: "30s", reason: "maintenance twice as often as the guide" },
      };
    });
    expect(() => parseStackConfig(over, "dev")).toThrow(
      /postgres\.tuning\.overrides\.pg_partman_bgw\.interval\.value: pg_partman_bgw\.interval is a whole number of seconds/,
    );
  });

  test("retention below one partition is refused", () => {
    const raw = devWith((r) => {
      r.queues.definitions[0]!.retentionMessages = 100_000; // derived interval is 500,000
    });
    expect(() => parseStackConfig(raw, "dev")).toThrow(
      /queues.definitions\[0\].retentionMessages: .*retentionMessages 100,000 is below one partition \(partitionInterval 500,000\)/,
    );
  });
});

describe("premake's limit in the runway rule", () => {
  test("a peak the configured interval cannot cover within premake 100 suggests only a larger interval", () => {
    const raw = devWith((r) => {
      r.queues.definitions[0]!.peakRateMsgsPerSecond = 1e9;
      r.queues.definitions[0]!.partitionInterval = 2_000_000;
      r.queues.definitions[0]!.premake = 14;
      r.queues.definitions[0]!.retentionMessages = 100_000_000;
    });
    expect(() => parseStackConfig(raw, "dev")).toThrow(
      /Raise partitionInterval to >= [\d,]+ \(premake would have to be [\d,]+, above its limit 100\)/,
    );
  });

  test("a derived premake above 100 (only partitionInterval given) is refused, naming the interval to use", () => {
    const raw = devWith((r) => {
      r.queues.definitions[0]!.partitionInterval = 1000;
      delete r.queues.definitions[0]!.premake;
    });
    expect(() => parseStackConfig(raw, "dev")).toThrow(
      /needs premake 1,800, above the limit 100 .*raise partitionInterval to >= 20,000/,
    );
  });
});
