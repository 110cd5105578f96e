/**
 * The stack files carry the seed guide's numbers (docs/seed-guide.md), each in exactly one place.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT, readDucklakeConfig } from "../helpers/stack-files";

type Env = "development" | "production";
const STACK: Record<Env, "dev" | "prod"> = { development: "dev", production: "prod" };

/** Rows of the markdown table under a `## heading` of docs/seed-guide.md: first cell, then one cell per column. */
function seedTable(heading: string): Array<[string, string, string]> {
  const text = fs.readFileSync(path.join(ROOT, "docs", "seed-guide.md"), "utf8");
  const section = text.split(/^## /m).find((s) => s.startsWith(heading));
  if (!section) throw new Error(`docs/seed-guide.md has no section "${heading}"`);
  return section
    .split("\n")
    .filter((l) => l.startsWith("|") && !l.startsWith("|---"))
    .slice(1)
    .map((l) => l.split("|").slice(1, -1).map((c) => c.trim()) as [string, string, string]);
}

/** Values as the seed table writes them: numbers as numbers, `—` as absent. */
function seedValue(cell: string): string | number | undefined {
  if (cell === "—") return undefined;
  return /^-?\d+(\.\d+)?$/.test(cell) ? Number(cell) : cell;
}

function get(obj: unknown, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
}

/** Counts occurrences of `key: value` style leaves equal to `value` under the stack's ducklake keys, by path. */
function leavesEqual(obj: unknown, value: unknown, prefix = ""): string[] {
  if (obj !== null && typeof obj === "object") {
    return Object.entries(obj as Record<string, unknown>).flatMap(([k, v]) => leavesEqual(v, value, prefix ? `${prefix}.${k}` : k));
  }
  return obj === value ? [prefix] : [];
}

describe.each(["development", "production"] as const)("seed guide, %s", (env) => {
  const col = env === "development" ? 1 : 2;
  const cfg = readDucklakeConfig(STACK[env]) as Record<string, any>;

  test.each(seedTable("postgresql.conf").map((r) => [r[0], r[col]]))("postgres.tuning.seed.%s = %s", (name, cell) => {
    expect(cfg["postgres"].tuning.seed[name]).toEqual(seedValue(cell));
  });

  test("the seed map holds nothing the guide does not", () => {
    const names = seedTable("postgresql.conf").map((r) => r[0]);
    expect(Object.keys(cfg["postgres"].tuning.seed).sort()).toEqual([...names].sort());
  });

  test.each(seedTable("Per-queue-table autovacuum").map((r) => [r[0], r[col]]))("queues.tableAutovacuum.%s = %s", (name, cell) => {
    expect(cfg["queues"].tableAutovacuum[name]).toEqual(seedValue(cell));
  });

  test.each(seedTable("Hardware").map((r) => [r[0], r[col]]))("%s = %s", (key, cell) => {
    const expected = seedValue(cell);
    const actual = get(cfg, key);
    if (expected === undefined) {
      expect(actual).toBeUndefined();
    } else {
      expect(Array.isArray(actual) ? actual[0] : String(actual)).toEqual(String(expected));
    }
  });

  test("a seed value is not repeated as an override of the same value", () => {
    const seed = cfg["postgres"].tuning.seed as Record<string, unknown>;
    const overrides = (cfg["postgres"].tuning.overrides ?? {}) as Record<string, unknown>;
    for (const [name, value] of Object.entries(overrides)) {
      expect(`${name}=${String(seed[name])}`).not.toEqual(`${name}=${String(value)}`);
    }
  });

  test("the guide's memory sizes appear only in the seed map", () => {
    for (const [name, cell] of seedTable("postgresql.conf").map((r) => [r[0], r[col]])) {
      const v = seedValue(cell);
      if (typeof v !== "string" || !/^\d+(kB|MB|GB)$/.test(v)) continue;
      const places = leavesEqual(cfg, v).filter((p) => !p.startsWith("postgres.tuning.overrides"));
      expect({ name, places }).toEqual({ name, places: places.filter((p) => p.startsWith("postgres.tuning.seed.")) });
    }
  });
});

test("the seed's hardware minimums hold: dev 3-4 GB / 2-4 cores, prod 16 GB+ / 8+ node cores, 3000+ IOPS", () => {
  const dev = readDucklakeConfig("dev") as Record<string, any>;
  const prod = readDucklakeConfig("prod") as Record<string, any>;
  const gib = (q: string): number => Number(q.replace(/Gi$/, ""));
  expect(gib(dev["postgres"].resources.memory)).toBeGreaterThanOrEqual(3);
  expect(gib(dev["postgres"].resources.memory)).toBeLessThanOrEqual(4);
  expect(Number(dev["postgres"].resources.cpu)).toBeGreaterThanOrEqual(2);
  expect(Number(dev["postgres"].resources.cpu)).toBeLessThanOrEqual(4);
  expect(gib(prod["postgres"].resources.memory)).toBeGreaterThanOrEqual(16);
  // m6i.2xlarge: 8 vCPUs (https://aws.amazon.com/ec2/instance-types/m6i/)
  expect(prod["nodes"].instanceTypes).toEqual(["m6i.2xlarge"]);
  expect(prod["nodes"].rootVolume.iops).toBeGreaterThanOrEqual(3000);
  expect(prod["storage"].gp3.iops).toBeGreaterThanOrEqual(3000);
});
