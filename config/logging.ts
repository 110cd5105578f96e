/**
 * `ducklake:logging`: Loki (single binary) and the log agent that ships pod logs to it.
 */
import { z } from "zod";
import { dnsLabel, positiveInt } from "./common";

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
    bucketName: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "must be an S3 bucket name (3-63 lowercase characters)" }).optional(),
  }),
]);

/** `ducklake:logging`. */
export const LoggingSchema = z.strictObject({
  /** Namespace of Loki, the agent and Grafana. Defaults to `ducklake-logging`. */
  namespace: dnsLabel.default("ducklake-logging"),
  /** Log agent: `promtail` (end of life since 2026-03-02; a warning is printed) or `alloy` (Grafana Alloy). */
  agent: z.enum(["promtail", "alloy"]),
  /** Loki settings. */
  loki: z.strictObject({
    /** Log retention in hours (Loki compactor retention). */
    retentionHours: positiveInt,
    /** Where Loki stores chunks. */
    storage: LokiStorageSchema,
  }),
  /** Optional Grafana with Loki as a data source. Defaults to disabled. */
  grafana: z.strictObject({ enabled: z.boolean().default(false) }).default({ enabled: false }),
});

export type LoggingConfig = z.output<typeof LoggingSchema>;
