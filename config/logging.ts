/**
 * `ducklake:logging`: Loki (single binary) and the log agent that ships pod logs to it.
 */
import { z } from "zod";
import { dnsLabel, kubeCpu, kubeMemory, nonNegativeInt, positiveInt, s3BucketName } from "./common";

/** Loki's storage: a PVC (chunks on the filesystem), or an S3 bucket the stack creates (EKS only). */
export const LokiStorageSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("pvc"),
    /** PVC size in GiB. */
    sizeGiB: positiveInt,
  }),
  z.strictObject({
    type: z.literal("s3"),
    /** Size in GiB of the PVC that holds Loki's WAL and index cache. Defaults to 10. */
    sizeGiB: positiveInt.default(10),
    /** Name of the bucket the stack creates; `<project>-<stack>-loki-<random>` when absent. */
    bucketName: s3BucketName.optional(),
  }),
]);

/**
 * The longest retention Loki and Prometheus can hold, in whole hours: both parse it into a Go `time.Duration`
 * (prometheus/common model.Duration, which Loki's `retention_period` and Prometheus's `--storage.tsdb.retention.time`
 * use), an int64 of nanoseconds, "approximately 290 years" (https://pkg.go.dev/time#Duration): (2^63 - 1) ns is
 * 2,562,047.8 h. A longer value does not parse, and the pod does not start.
 */
export const MAX_GO_DURATION_HOURS = 2_562_047;
const retentionHours = positiveInt.max(MAX_GO_DURATION_HOURS, {
  message: `must be <= ${MAX_GO_DURATION_HOURS.toLocaleString("en-US")} (the longest Go time.Duration in hours, about 292 years)`,
});

/** `ducklake:logging`. */
export const LoggingSchema = z.strictObject({
  /** Namespace of Loki, the agent and Grafana. Defaults to `ducklake-logging`. */
  namespace: dnsLabel.default("ducklake-logging"),
  /** Log agent: `promtail` (end of life since 2026-03-02; a warning is printed) or `alloy` (Grafana Alloy). */
  agent: z.enum(["promtail", "alloy"]),
  /** Loki settings. */
  loki: z.strictObject({
    /** Log retention in hours (Loki compactor retention). */
    retentionHours: retentionHours,
    /** Where Loki stores chunks. */
    storage: LokiStorageSchema,
    /**
     * Requests (= limits) of the single Loki pod. Defaults to memory `1Gi`, cpu `500m`: a small
     * single-binary Loki for a few GB of logs a day (Loki's monolithic mode targets "up to a few tens
     * of GB/day": https://grafana.com/docs/loki/latest/get-started/deployment-modes/).
     */
    resources: z
      .strictObject({
        /** Memory request and limit, a Kubernetes quantity. Defaults to `1Gi`. */
        memory: kubeMemory.default("1Gi"),
        /** CPU request, a Kubernetes quantity (no CPU limit is set). Defaults to `500m`. */
        cpu: kubeCpu.default("500m"),
      })
      .default({ memory: "1Gi", cpu: "500m" }),
    /**
     * Memcached caches of the Loki chart (`chunksCache`, `resultsCache`), memory in MiB, 0 = disabled.
     * Absent: disabled for `pvc` storage (chunks are already on a local disk) and small for `s3`
     * (chunks 512 MiB, results 128 MiB) instead of the chart's 8192 MiB / 1024 MiB defaults.
     */
    caches: z
      .strictObject({
        /** Memory of the chunks cache in MiB (`chunksCache.allocatedMemory`); 0 disables it. */
        chunksCacheMiB: nonNegativeInt,
        /** Memory of the query results cache in MiB (`resultsCache.allocatedMemory`); 0 disables it. */
        resultsCacheMiB: nonNegativeInt,
      })
      .optional(),
  }),
  /**
   * A small Prometheus (the prometheus-community `prometheus` chart, server only) in the logging namespace that
   * scrapes the CloudNativePG instances' metrics port and holds the series for Grafana: for a cluster without a
   * Prometheus of its own (dev on kind). prod expects an existing Prometheus Operator (`postgres.podMonitor`).
   * Defaults to disabled.
   */
  prometheus: z
    .strictObject({
      /** Install the Prometheus server. Defaults to false. */
      enabled: z.boolean().default(false),
      /** How long it keeps samples, in hours (`--storage.tsdb.retention.time`). Defaults to 72. */
      retentionHours: retentionHours.default(72),
      /** Size of its PVC in GiB (the stack's storage class). Defaults to 2. */
      sizeGiB: positiveInt.default(2),
    })
    .default({ enabled: false, retentionHours: 72, sizeGiB: 2 }),
  /** Optional Grafana with Loki as a data source. Defaults to disabled. */
  grafana: z
    .strictObject({
      /** Install Grafana with Loki as its data source. Defaults to false. */
      enabled: z.boolean().default(false),
    })
    .default({ enabled: false }),
});

export type LoggingConfig = z.output<typeof LoggingSchema>;
