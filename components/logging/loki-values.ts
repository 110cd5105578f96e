/**
 * Helm values of the Loki chart (LOKI_CHART) for a single-binary Loki, and the decisions behind them
 * (retention, caches, storage). Pure: the Logging component resolves its Outputs and calls these.
 *
 * Sources: the chart's values.yaml and monolithic-values.yaml at the pinned tag; Loki's docs on
 * deployment modes (https://grafana.com/docs/loki/latest/get-started/deployment-modes/), retention
 * (https://grafana.com/docs/loki/latest/operations/storage/retention/) and schema config
 * (https://grafana.com/docs/loki/latest/operations/storage/schema/).
 */
import { LOKI_HTTP_PORT, RELEASE_NAMES } from "./charts";

/**
 * The chart's name for single-binary mode. Chart 18.x renamed `SingleBinary` to `Monolithic` and keeps
 * `SingleBinary` as a deprecated alias (values.yaml `deploymentMode` comment; _helpers.tpl
 * `loki.deployment.isMonolithic` accepts both).
 */
export const LOKI_DEPLOYMENT_MODE = "Monolithic";

/**
 * First day of the one schema period: tsdb index, schema v13 (what Loki 3 requires for structured
 * metadata). A fixed past date, so the schema never changes under existing data; a later schema
 * change adds a period, it never edits this one.
 */
export const LOKI_SCHEMA_FROM = "2024-04-01";

/** Service account of Loki (fixed: the IRSA trust policy names it). */
export const LOKI_SERVICE_ACCOUNT = "loki";

/** Memcached cache sizes in MiB; 0 disables a cache. */
export interface LokiCacheSizes {
  /** `chunksCache.allocatedMemory` in MiB (chart default 8192). */
  readonly chunksCacheMiB: number;
  /** `resultsCache.allocatedMemory` in MiB (chart default 1024). */
  readonly resultsCacheMiB: number;
}

/**
 * Cache sizes when the config sets none. With `pvc` storage chunks are read from the local disk, so a
 * memcached copy only costs memory: both off. With `s3` every chunk read is an object GET: a small
 * chunks cache (512 MiB) and results cache (128 MiB), instead of the chart's 8192/1024 MiB defaults,
 * which do not fit a small cluster (a kind node of the dev stack has ~4 GiB).
 * @param storageType `pvc` or `s3`.
 * @param configured sizes from `ducklake:logging.loki.caches`, when set (they win).
 */
export function lokiCacheSizes(storageType: "pvc" | "s3", configured?: LokiCacheSizes): LokiCacheSizes {
  if (configured !== undefined) return configured;
  return storageType === "s3"
    ? { chunksCacheMiB: 512, resultsCacheMiB: 128 }
    : { chunksCacheMiB: 0, resultsCacheMiB: 0 };
}

/**
 * Loki's retention period in its duration syntax (`limits_config.retention_period`), whole hours.
 * Retention needs the 24h index period set in `schemaConfig` (Loki docs, operations/storage/retention:
 * "Retention is only available if the index period is 24h"); the period itself has no minimum.
 * @param retentionHours hours, a positive integer.
 * @throws Error when retentionHours is not a positive integer (0 would mean "keep forever" to Loki).
 */
export function lokiRetentionPeriod(retentionHours: number): string {
  if (!Number.isInteger(retentionHours) || retentionHours <= 0) {
    throw new Error(
      `logging.loki.retentionHours is ${retentionHours}: use a positive integer (0 would keep logs forever)`,
    );
  }
  return `${retentionHours}h`;
}

/**
 * Days after which the S3 lifecycle rule expires objects: the retention in whole days, plus one day
 * so the bucket never deletes a chunk Loki still serves (the compactor deletes expired chunks itself,
 * after `retention_delete_delay`; the lifecycle rule is the backstop).
 * @param retentionHours Loki retention in hours.
 * @returns days, an integer >= 2.
 */
export function s3ExpirationDays(retentionHours: number): number {
  return Math.ceil(retentionHours / 24) + 1;
}

/** Where Loki stores chunks and its index. */
export type LokiStorageInput =
  | {
      readonly type: "pvc";
    }
  | {
      readonly type: "s3";
      /** Bucket name (the stack creates the bucket). */
      readonly bucketName: string;
      /** AWS region of the bucket. */
      readonly region: string;
      /** IAM role Loki's service account assumes (IRSA); no static keys. */
      readonly roleArn: string;
    };

/** Inputs of `buildLokiValues`. */
export interface LokiValuesInput {
  /** Chunks/index storage. */
  readonly storage: LokiStorageInput;
  /** Size in GiB of the PVC of the Loki pod (chunks with `pvc`; WAL, index cache with `s3`). */
  readonly pvcSizeGiB: number;
  /** StorageClass of that PVC. */
  readonly storageClassName: string;
  /** Log retention in hours (a positive integer). */
  readonly retentionHours: number;
  /** Cache sizes (`lokiCacheSizes`). */
  readonly caches: LokiCacheSizes;
  /** Loki pod resources: memory and cpu as Kubernetes quantities. */
  readonly resources: { readonly memory: string; readonly cpu: string };
}

/**
 * Loki chart values for a single-binary Loki.
 * - `deploymentMode: Monolithic`, `singleBinary.replicas: 1`, the simple-scalable targets
 *   (read/write/backend) at 0 replicas, `loki.commonConfig.replication_factor: 1`;
 * - one schema period: tsdb + v13, 24h index period;
 * - retention by the compactor (`retention_enabled`, `delete_request_store` = the object store) and
 *   `limits_config.retention_period`;
 * - no gateway (nginx): one tenant (`auth_enabled: false`), agents and Grafana call the Loki
 *   Service on port 3100 directly; no canary, no Helm test pod, no ruler, no rules sidecar;
 * - storage `filesystem` on the pod's PVC, or `s3` through IRSA (the service account annotated
 *   with the role ARN, no keys in values).
 * @returns plain values, stable key order. Keys are those of the chart's values.yaml.
 * @throws Error when retentionHours or the PVC size is not a positive integer.
 */
export function buildLokiValues(input: LokiValuesInput): Record<string, unknown> {
  if (!Number.isInteger(input.pvcSizeGiB) || input.pvcSizeGiB <= 0) {
    throw new Error(`Loki PVC size ${input.pvcSizeGiB} GiB must be a positive integer`);
  }
  const objectStore = input.storage.type === "s3" ? "s3" : "filesystem";
  const storage: Record<string, unknown> =
    input.storage.type === "s3"
      ? {
          type: "s3",
          bucketNames: { chunks: input.storage.bucketName, ruler: input.storage.bucketName },
          s3: { region: input.storage.region },
        }
      : { type: "filesystem" };
  const cache = (sizeMiB: number): Record<string, unknown> =>
    sizeMiB > 0 ? { enabled: true, allocatedMemory: sizeMiB } : { enabled: false };
  const serviceAccount: Record<string, unknown> = { create: true, name: LOKI_SERVICE_ACCOUNT };
  if (input.storage.type === "s3") {
    serviceAccount["annotations"] = { "eks.amazonaws.com/role-arn": input.storage.roleArn };
  }
  return {
    deploymentMode: LOKI_DEPLOYMENT_MODE,
    fullnameOverride: RELEASE_NAMES.loki,
    loki: {
      auth_enabled: false,
      commonConfig: { replication_factor: 1 },
      storage,
      schemaConfig: {
        configs: [
          {
            from: LOKI_SCHEMA_FROM,
            store: "tsdb",
            object_store: objectStore,
            schema: "v13",
            index: { prefix: "loki_index_", period: "24h" },
          },
        ],
      },
      compactor: {
        working_directory: "/var/loki/compactor",
        compaction_interval: "10m",
        retention_enabled: true,
        retention_delete_delay: "2h",
        delete_request_store: objectStore,
      },
      limits_config: {
        retention_period: lokiRetentionPeriod(input.retentionHours),
        allow_structured_metadata: true,
      },
      analytics: { reporting_enabled: false },
    },
    singleBinary: {
      replicas: 1,
      resources: {
        requests: { cpu: input.resources.cpu, memory: input.resources.memory },
        limits: { memory: input.resources.memory },
      },
      persistence: {
        enabled: true,
        size: `${input.pvcSizeGiB}Gi`,
        storageClass: input.storageClassName,
      },
    },
    read: { replicas: 0 },
    write: { replicas: 0 },
    backend: { replicas: 0 },
    gateway: { enabled: false },
    chunksCache: cache(input.caches.chunksCacheMiB),
    resultsCache: cache(input.caches.resultsCacheMiB),
    serviceAccount,
    ruler: { enabled: false },
    sidecar: { rules: { enabled: false } },
    lokiCanary: { enabled: false },
    test: { enabled: false },
    minio: { enabled: false },
  };
}

/** Loki's in-cluster URLs. */
export interface LokiUrls {
  /** Push API, for agents and apps: `http://loki.<ns>.svc.cluster.local:3100/loki/api/v1/push`. */
  readonly pushUrl: string;
  /** Base URL for queries (Grafana data source; the query API is under `/loki/api/v1/`). */
  readonly queryUrl: string;
}

/**
 * Loki's URLs: the single-binary Service is named after `fullnameOverride` (chart
 * templates/monolithic/service.yaml uses `loki.fullname`) and listens on 3100 (no gateway).
 * @param namespace Loki's namespace.
 */
export function lokiUrls(namespace: string): LokiUrls {
  const base = `http://${RELEASE_NAMES.loki}.${namespace}.svc.cluster.local:${LOKI_HTTP_PORT}`;
  return { pushUrl: `${base}/loki/api/v1/push`, queryUrl: base };
}
