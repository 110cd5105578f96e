/** Pure Loki decisions: deployment mode, schema, retention, caches, storage, URLs, S3/IRSA policies. */
import {
  buildLokiValues,
  lokiCacheSizes,
  lokiRetentionPeriod,
  lokiUrls,
  s3ExpirationDays,
  LokiValuesInput,
} from "../../components/logging/loki-values";
import {
  MAX_BUCKET_PREFIX_LENGTH,
  lokiBucketAccessPolicy,
  lokiBucketPrefix,
  lokiIrsaTrustPolicy,
} from "../../components/logging/loki-s3";

type Values = Record<string, Record<string, unknown>>;
const input = (over: Partial<LokiValuesInput> = {}): LokiValuesInput => ({
  storage: { type: "pvc" },
  pvcSizeGiB: 10,
  storageClassName: "standard",
  retentionHours: 72,
  caches: { chunksCacheMiB: 0, resultsCacheMiB: 0 },
  resources: { memory: "1Gi", cpu: "500m" },
  ...over,
});

describe("buildLokiValues", () => {
  test("single binary: one replica, scalable targets at 0, replication factor 1, no gateway", () => {
    const v = buildLokiValues(input()) as Values;
    expect(v["deploymentMode"]).toBe("Monolithic");
    expect(v["singleBinary"]["replicas"]).toBe(1);
    for (const target of ["read", "write", "backend"]) expect(v[target]).toEqual({ replicas: 0 });
    expect((v["loki"]["commonConfig"] as Record<string, unknown>)["replication_factor"]).toBe(1);
    expect(v["gateway"]).toEqual({ enabled: false });
    expect(v["loki"]["auth_enabled"]).toBe(false);
  });

  test("schema: tsdb + v13 with a 24h index period, on the storage in use", () => {
    for (const [storage, store] of [
      [{ type: "pvc" }, "filesystem"],
      [{ type: "s3", bucketName: "logs", region: "eu-west-1", roleArn: "arn:aws:iam::1:role/loki" }, "s3"],
    ] as const) {
      const v = buildLokiValues(input({ storage })) as Values;
      expect(v["loki"]["schemaConfig"]).toEqual({
        configs: [
          {
            from: "2024-04-01",
            store: "tsdb",
            object_store: store,
            schema: "v13",
            index: { prefix: "loki_index_", period: "24h" },
          },
        ],
      });
      expect((v["loki"]["compactor"] as Record<string, unknown>)["delete_request_store"]).toBe(store);
    }
  });

  test("retention: compactor retention on, retention_period from retentionHours", () => {
    const v = buildLokiValues(input({ retentionHours: 336 })) as Values;
    expect(v["loki"]["compactor"]).toMatchObject({ retention_enabled: true });
    expect(v["loki"]["limits_config"]).toMatchObject({ retention_period: "336h" });
    expect(() => buildLokiValues(input({ retentionHours: 0 }))).toThrow(/positive integer/);
    expect(() => lokiRetentionPeriod(1.5)).toThrow(/positive integer/);
  });

  test("PVC storage: filesystem, the pod's PVC of the given class and size", () => {
    const v = buildLokiValues(input({ pvcSizeGiB: 100, storageClassName: "gp3" })) as Values;
    expect(v["loki"]["storage"]).toEqual({ type: "filesystem" });
    expect(v["singleBinary"]["persistence"]).toEqual({ enabled: true, size: "100Gi", storageClass: "gp3" });
    expect(v["serviceAccount"]).toEqual({ create: true, name: "loki" });
    expect(() => buildLokiValues(input({ pvcSizeGiB: 0 }))).toThrow(/positive integer/);
  });

  test("S3 storage: bucket and region in values, IRSA role on the service account, no keys anywhere", () => {
    const v = buildLokiValues(
      input({
        storage: { type: "s3", bucketName: "logs-1", region: "eu-west-1", roleArn: "arn:aws:iam::1:role/loki" },
      }),
    ) as Values;
    expect(v["loki"]["storage"]).toEqual({
      type: "s3",
      bucketNames: { chunks: "logs-1", ruler: "logs-1" },
      s3: { region: "eu-west-1" },
    });
    expect(v["serviceAccount"]["annotations"]).toEqual({ "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/loki" });
    expect(JSON.stringify(v)).not.toMatch(/accessKeyId|secretAccessKey|access_key|secret_access/i);
  });

  test("caches: off on a PVC, small on S3, configured sizes win; 0 disables", () => {
    expect(lokiCacheSizes("pvc")).toEqual({ chunksCacheMiB: 0, resultsCacheMiB: 0 });
    expect(lokiCacheSizes("s3")).toEqual({ chunksCacheMiB: 512, resultsCacheMiB: 128 });
    expect(lokiCacheSizes("pvc", { chunksCacheMiB: 256, resultsCacheMiB: 0 })).toEqual({
      chunksCacheMiB: 256,
      resultsCacheMiB: 0,
    });
    const v = buildLokiValues(input({ caches: { chunksCacheMiB: 256, resultsCacheMiB: 0 } })) as Values;
    expect(v["chunksCache"]).toEqual({ enabled: true, allocatedMemory: 256 });
    expect(v["resultsCache"]).toEqual({ enabled: false });
  });

  test("resources: requests = memory limit, no CPU limit", () => {
    const v = buildLokiValues(input({ resources: { memory: "2Gi", cpu: "1" } })) as Values;
    expect(v["singleBinary"]["resources"]).toEqual({
      requests: { cpu: "1", memory: "2Gi" },
      limits: { memory: "2Gi" },
    });
  });
});

test("URLs point at the single-binary Service on 3100", () => {
  expect(lokiUrls("ducklake-logging")).toEqual({
    pushUrl: "http://loki.ducklake-logging.svc.cluster.local:3100/loki/api/v1/push",
    queryUrl: "http://loki.ducklake-logging.svc.cluster.local:3100",
  });
});

describe("S3 lifecycle and IRSA", () => {
  test.each([
    [24, 2],
    [72, 4],
    [336, 15],
    [100, 6],
  ])("retention %ih expires objects after %i days (never before Loki's retention)", (hours, days) => {
    expect(s3ExpirationDays(hours)).toBe(days);
    expect(days * 24).toBeGreaterThan(hours);
  });

  test("trust policy pins the OIDC provider, the service account and the audience", () => {
    const doc = JSON.parse(
      lokiIrsaTrustPolicy(
        "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC",
        "ducklake-logging",
        "loki",
      ),
    ) as { Statement: Array<Record<string, unknown>> };
    expect(doc.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Federated: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC" },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            "oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub": "system:serviceaccount:ducklake-logging:loki",
            "oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud": "sts.amazonaws.com",
          },
        },
      },
    ]);
  });

  test("bucket access is limited to the bucket and its objects", () => {
    const doc = JSON.parse(lokiBucketAccessPolicy("arn:aws:s3:::logs")) as {
      Statement: Array<{ Action: string[]; Resource: string[] }>;
    };
    expect(doc.Statement.flatMap((s) => s.Resource).sort()).toEqual(["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"]);
    expect(doc.Statement.flatMap((s) => s.Action).sort()).toEqual([
      "s3:DeleteObject",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
    ]);
  });

  test("bucket prefix: lowercase, S3-safe, at most 37 characters", () => {
    expect(lokiBucketPrefix("ducklake-pgmq", "prod")).toBe("ducklake-pgmq-prod-loki-");
    const long = lokiBucketPrefix("A_Very_Long_Project_Name_For_Logging", "Production.EU");
    expect(long.length).toBeLessThanOrEqual(MAX_BUCKET_PREFIX_LENGTH);
    expect(long).toMatch(/^[a-z0-9][a-z0-9-]*-$/);
  });
});

/**
 * The `fail` rules of the chart's templates/validate.yaml (loki 18.11.0), evaluated on our values
 * merged over the chart defaults they read (distributed targets: 0 replicas by default).
 */
function chartValidationFailures(v: Values): string[] {
  const replicas = (section: string): number => Number((v[section] ?? {})["replicas"] ?? 0);
  const objectStorage = ["s3", "gcs", "azure", "swift", "alibabacloud", "cos", "bos"].includes(
    String((v["loki"]["storage"] as Record<string, unknown>)["type"]),
  );
  const mono = replicas("singleBinary");
  const scalable = ["backend", "read", "write"].some((s) => replicas(s) > 0);
  const distributed = [
    "ingester",
    "distributor",
    "querier",
    "queryFrontend",
    "queryScheduler",
    "indexGateway",
    "compactor",
    "ruler",
  ].some((s) => replicas(s) > 0);
  const out: string[] = [];
  if (v["lokiCanary"]?.["enabled"] === false && v["test"]?.["enabled"] !== false)
    out.push("Helm test requires the Loki Canary");
  if (v["minio"]?.["enabled"] === true) out.push("MinIO deprecated");
  if (!objectStorage && mono > 1) out.push("more than 1 Monolithic replica without object storage");
  if (!objectStorage && mono === 0 && (scalable || distributed)) out.push("scalable targets without object storage");
  if (mono > 0 && distributed) out.push("monolithic + distributed");
  if (mono > 0 && scalable && !String(v["deploymentMode"]).includes("<->")) out.push("monolithic + simple scalable");
  if (Object.keys(v["loki"]["schemaConfig"] ?? {}).length === 0) out.push("no schema_config");
  return out;
}

test.each([
  ["pvc", { type: "pvc" }],
  ["s3", { type: "s3", bucketName: "b", region: "eu-west-1", roleArn: "arn:aws:iam::1:role/r" }],
] as const)("%s values pass the chart's validate.yaml rules", (_label, storage) => {
  expect(chartValidationFailures(buildLokiValues(input({ storage })) as Values)).toEqual([]);
  // The rules bite: the chart's default of 3 read/write/backend replicas next to a single binary fails.
  const withDefaults = { ...(buildLokiValues(input({ storage })) as Values), read: { replicas: 3 } };
  expect(chartValidationFailures(withDefaults)).toEqual(["monolithic + simple scalable"]);
});
