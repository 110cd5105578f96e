/** `ducklake:logging` schema additions: Loki resources and caches. */
import { LoggingSchema } from "../../config/logging";

const minimal = { agent: "alloy", loki: { retentionHours: 72, storage: { type: "pvc", sizeGiB: 10 } } };

test("defaults: namespace, Loki resources, no cache sizes (decided by storage type), Grafana off", () => {
  const cfg = LoggingSchema.parse(minimal);
  expect(cfg.namespace).toBe("ducklake-logging");
  expect(cfg.loki.resources).toEqual({ memory: "1Gi", cpu: "500m" });
  expect(cfg.loki.caches).toBeUndefined();
  expect(cfg.grafana.enabled).toBe(false);
});

test("cache sizes and resources are validated; misspelled keys are errors", () => {
  expect(
    LoggingSchema.parse({ ...minimal, loki: { ...minimal.loki, caches: { chunksCacheMiB: 256, resultsCacheMiB: 0 } } })
      .loki.caches,
  ).toEqual({
    chunksCacheMiB: 256,
    resultsCacheMiB: 0,
  });
  expect(
    LoggingSchema.safeParse({
      ...minimal,
      loki: { ...minimal.loki, caches: { chunksCacheMiB: -1, resultsCacheMiB: 0 } },
    }).success,
  ).toBe(false);
  expect(
    LoggingSchema.safeParse({ ...minimal, loki: { ...minimal.loki, resources: { memory: "lots" } } }).success,
  ).toBe(false);
  expect(LoggingSchema.safeParse({ ...minimal, loki: { ...minimal.loki, chunkCacheMiB: 1 } }).success).toBe(false);
});
