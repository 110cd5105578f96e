/**
 * Properties of the runway arithmetic and the tuning engine's memory rules, over generated inputs
 * (fast-check), beside the literal cases in runway.test.ts and tuning.test.ts.
 */
import fc from "fast-check";
import { planRunway, roundUpNice } from "../../components/queue/runway";
import { computeTuning, tuningInputOf } from "../../components/postgres/tuning";
import { parseStackConfig } from "../../components/stack";
import { readDucklakeConfig } from "../helpers/stack-files";
import type { QueueConfig } from "../../config/queues";

const queue = (over: Partial<QueueConfig>): QueueConfig => ({
  name: "q",
  peakRateMsgsPerSecond: 1000,
  retentionMessages: 10_000_000,
  visibilityTimeoutSeconds: 30,
  deduplicationWindowSeconds: 300,
  fifoGroups: false,
  ...over,
});

describe("roundUpNice", () => {
  test("the smallest 1-2-5 number at or above n", () => {
    fc.assert(
      fc.property(fc.double({ min: 1.000001, max: 1e12, noNaN: true }), (n) => {
        const r = roundUpNice(n);
        expect(r).toBeGreaterThanOrEqual(n);
        const mantissa = Math.round(r / 10 ** Math.floor(Math.log10(r) + 1e-9));
        expect([1, 2, 5]).toContain(mantissa);
        // The 1-2-5 number before r (1 -> 0.5, 2 -> 1, 5 -> 2, times the power of ten) is below n.
        const previous = mantissa === 5 ? (r * 2) / 5 : r / 2;
        expect(previous).toBeLessThan(n);
      }),
    );
  });
});

describe("planRunway", () => {
  test("a derived runway always covers peak x interval x safety", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 500_000 }),
        fc.integer({ min: 1, max: 3600 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
        fc.option(fc.integer({ min: 2, max: 50_000_000 }), { nil: undefined }),
        (peak, bgw, safety, premake, partitionInterval) => {
          const plan = planRunway(queue({ peakRateMsgsPerSecond: peak, premake, partitionInterval }), bgw, safety);
          expect(plan.requiredMessages).toBe(Math.ceil(peak * bgw * safety));
          expect(plan.runwayMessages).toBe(plan.partitionInterval * plan.premake);
          if (partitionInterval === undefined || premake === undefined) {
            // derived: covered, and nothing given is changed
            expect(plan.runwayMessages).toBeGreaterThanOrEqual(plan.requiredMessages);
            expect(plan.derived).toBe(true);
          } else {
            expect(plan).toMatchObject({ partitionInterval, premake, derived: false });
          }
          if (partitionInterval !== undefined) expect(plan.partitionInterval).toBe(partitionInterval);
          if (premake !== undefined) expect(plan.premake).toBeGreaterThanOrEqual(premake);
        },
      ),
    );
  });
});

describe("derived memory settings", () => {
  const dev = parseStackConfig(readDucklakeConfig("dev"), "dev").config;
  test("for any pod from 4 to 64 GiB the derived max_connections and autovacuum_work_mem keep the budget, or the verdict says it breaks", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: 64 }),
        fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
        (gib, pooler) => {
          const input = {
            ...tuningInputOf(dev),
            resources: { memory: `${gib}Gi`, cpu: "2" },
            ...(pooler !== undefined ? { poolerServerConnections: pooler } : {}),
          };
          const r = computeTuning(input);
          const needed = 3 + 5 + (pooler ?? 10);
          expect(r.budget.maxConnections).toBeGreaterThanOrEqual(needed);
          expect(r.budget.autovacuumWorkMemBytes).toBeGreaterThanOrEqual(16 * 2 ** 20);
          expect(r.budget.autovacuumWorkMemBytes).toBeLessThanOrEqual(r.budget.maintenanceBytes);
          expect(r.budgetVerdict.holds).toBe(r.budget.worstCaseBytes <= r.budget.limitBytes);
          if (!r.budgetVerdict.holds) expect(r.warnings).toContain(r.budgetVerdict.summary);
          // Where the memory covers what the stack needs, the derivation makes the budget hold.
          const spare =
            r.budget.limitBytes -
            r.budget.fixedBytes -
            r.budget.maintenanceBytes -
            needed * r.budget.workMemBytes -
            r.budget.autovacuumWorkers * 16 * 2 ** 20;
          if (spare >= 0) expect(r.budgetVerdict.holds).toBe(true);
        },
      ),
    );
  });
});
