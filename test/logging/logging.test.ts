/**
 * The Logging component under Pulumi mocks, with each stack's own config (Pulumi.<stack>.yaml),
 * plus an S3 variant of prod and invalid combinations.
 */
import type * as pulumiType from "@pulumi/pulumi";
import type { LoggingArgs, Logging as LoggingType } from "../../components/logging/logging";
import { MockRecorder, installMocks, promiseOf, settle, unwrapSecrets } from "../helpers/mocks";
import { readDucklakeConfig } from "../helpers/stack-files";
import { deriveStack, parseStackConfig } from "../../components/stack";
import type { StackConfig } from "../../config/schema";

let recorder: MockRecorder;
let pulumi: typeof pulumiType;
let Logging: typeof LoggingType;

const RELEASE = "kubernetes:helm.sh/v3:Release";
type Values = Record<string, Record<string, unknown>>;

function stackConfig(stack: string): StackConfig {
  return parseStackConfig(readDucklakeConfig(stack), stack).config;
}

function argsFor(cfg: StackConfig, stack: string, over: Partial<LoggingArgs> = {}): LoggingArgs {
  return {
    config: cfg.logging,
    storageClassName: cfg.storage.className,
    stack,
    project: "ducklake-pgmq",
    tags: cfg.tags,
    postgresNamespace: cfg.postgres.namespace,
    postgresClusterName: cfg.postgres.clusterName,
    ...over,
  };
}

const awsArgs = {
  region: "eu-west-1",
  oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF",
  oidcIssuerUrl: "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF",
};

/** Resources whose name starts with the component's name (children), by type. */
function children(name: string): MockRecorder["resources"] {
  return recorder.resources.filter((r) => r.name.startsWith(`${name}-`));
}

function values(name: string, role: string): Values {
  return unwrapSecrets(recorder.get(RELEASE, `${name}-${role}`).inputs["values"]) as Values;
}

beforeAll(async () => {
  recorder = installMocks({ stack: "dev" });
  pulumi = await import("@pulumi/pulumi");
  ({ Logging } = await import("../../components/logging/logging"));
});

/** What index.ts hands Logging: the stack's alert rules and its dashboard. */
function metricsFor(stack: string): NonNullable<LoggingArgs["metrics"]> {
  const d = deriveStack(stackConfig(stack), stack);
  return { alertRules: d.alertRules, dashboards: { "ducklake-queue.json": d.dashboardJson } };
}

describe("dev stack (kind): Loki on a PVC, Promtail, Prometheus, Grafana", () => {
  let logging: LoggingType;
  beforeAll(async () => {
    logging = new Logging("dev", argsFor(stackConfig("dev"), "dev", { metrics: metricsFor("dev") }));
    await settle();
  });

  test("Prometheus: pinned chart, the server alone on a PVC of the stack's class, scraping only the cluster's instances, the alert rules loaded", async () => {
    const release = recorder.get(RELEASE, "dev-prometheus").inputs;
    expect(release).toMatchObject({
      name: "prometheus",
      chart: "prometheus",
      version: "29.27.0",
      namespace: "ducklake-logging",
    });
    expect(release["repositoryOpts"]).toEqual({ repo: "https://prometheus-community.github.io/helm-charts" });
    const v = values("dev", "prometheus") as Record<string, Record<string, unknown>>;
    for (const sub of ["alertmanager", "kube-state-metrics", "prometheus-node-exporter", "prometheus-pushgateway"])
      expect(v[sub]).toEqual({ enabled: false });
    expect(v["server"]).toMatchObject({
      persistentVolume: { enabled: true, size: "2Gi", storageClass: "standard" },
      retention: "72h",
      retentionSize: "1638MB",
      global: { scrape_interval: "30s" },
    });
    const jobs = Object.entries(v["scrapeConfigs"]).filter(([, j]) => (j as { enabled?: boolean }).enabled !== false);
    expect(jobs.map(([name]) => name)).toEqual(["cloudnative-pg"]);
    expect(JSON.stringify(jobs[0][1])).toContain('"names":["ducklake-db"]');
    expect(JSON.stringify(jobs[0][1])).toContain('"regex":"lineage-pg"');
    const rules = v["serverFiles"]["alerting_rules.yml"] as { groups: Array<{ rules: Array<{ alert: string }> }> };
    expect(rules.groups[0].rules.map((r) => r.alert)).toContain("DucklakeOldestMessageTooOld");
    expect(await promiseOf(logging.prometheusUrl!)).toBe("http://prometheus-server.ducklake-logging.svc.cluster.local");
  });

  test("Grafana: a Prometheus data source beside Loki, and the stack's dashboard provisioned from a ConfigMap", () => {
    const v = values("dev", "grafana") as Record<string, Record<string, unknown>>;
    const ds = (v["datasources"]["datasources.yaml"] as { datasources: Array<Record<string, unknown>> }).datasources;
    expect(ds.map((d) => [d["uid"], d["type"], d["url"], d["isDefault"]])).toEqual([
      ["loki", "loki", "http://loki.ducklake-logging.svc.cluster.local:3100", true],
      ["prometheus", "prometheus", "http://prometheus-server.ducklake-logging.svc.cluster.local", false],
    ]);
    const cm = recorder.get("kubernetes:core/v1:ConfigMap", "dev-grafana-dashboards").inputs as {
      metadata: { name: string; namespace: string };
      data: Record<string, string>;
    };
    expect(cm.metadata).toEqual({ name: "grafana-dashboards-ducklake", namespace: "ducklake-logging" });
    expect(JSON.parse(cm.data["ducklake-queue.json"]).title).toBe("DuckLake lineage queue (dev)");
    expect(v["dashboardsConfigMaps"]).toEqual({ ducklake: "grafana-dashboards-ducklake" });
    const providers = (
      v["dashboardProviders"]["dashboardproviders.yaml"] as { providers: Array<Record<string, unknown>> }
    ).providers;
    expect(providers).toEqual([
      expect.objectContaining({
        name: "ducklake",
        type: "file",
        options: { path: "/var/lib/grafana/dashboards/ducklake" },
      }),
    ]);
  });

  test("Loki: pinned chart, single binary, tsdb v13 schema, filesystem on a PVC of the stack's class, 72h retention, caches off", () => {
    const release = recorder.get(RELEASE, "dev-loki").inputs;
    expect(release).toMatchObject({ name: "loki", chart: "loki", version: "18.11.0", namespace: "ducklake-logging" });
    expect(release["repositoryOpts"]).toEqual({ repo: "https://grafana-community.github.io/helm-charts" });
    const v = values("dev", "loki");
    expect(v["deploymentMode"]).toBe("Monolithic");
    expect(v["singleBinary"]).toMatchObject({
      replicas: 1,
      persistence: { enabled: true, size: "10Gi", storageClass: "standard" },
    });
    expect((v["loki"]["schemaConfig"] as { configs: unknown[] }).configs).toEqual([
      expect.objectContaining({ store: "tsdb", schema: "v13", object_store: "filesystem" }),
    ]);
    expect(v["loki"]["storage"]).toEqual({ type: "filesystem" });
    expect(v["loki"]["limits_config"]).toMatchObject({ retention_period: "72h" });
    expect(v["chunksCache"]).toEqual({ enabled: false });
    expect(v["resultsCache"]).toEqual({ enabled: false });
  });

  test("agent: Promtail with the CNPG pipeline, pushing to Loki's Service", () => {
    const release = recorder.get(RELEASE, "dev-agent").inputs;
    expect(release).toMatchObject({ name: "promtail", chart: "promtail", version: "6.17.1" });
    const config = values("dev", "agent")["config"] as {
      clients: unknown;
      snippets: { pipelineStages: Array<Record<string, unknown>> };
    };
    expect(config.clients).toEqual([{ url: "http://loki.ducklake-logging.svc.cluster.local:3100/loki/api/v1/push" }]);
    const stages = config.snippets.pipelineStages;
    expect(stages[0]).toEqual({ cri: {} });
    expect(stages[1]).toMatchObject({ match: { selector: '{namespace="ducklake-db", cnpg_cluster=~".+"}' } });
    expect(recorder.resources.filter((r) => r.name.startsWith("dev-") && r.inputs["chart"] === "alloy")).toEqual([]);
  });

  test("Grafana: enabled, admin password generated into a Secret, referenced by name only", () => {
    const password = recorder.get("random:index/randomPassword:RandomPassword", "dev-grafana-admin-password");
    expect(password.inputs).toMatchObject({ length: 32 });
    const secret = unwrapSecrets(recorder.get("kubernetes:core/v1:Secret", "dev-grafana-admin").inputs) as {
      stringData: Record<string, string>;
    };
    expect(secret.stringData).toEqual({
      "admin-user": "admin",
      "admin-password": "mock-password-dev-grafana-admin-password",
    });
    const v = values("dev", "grafana");
    expect(v["admin"]).toEqual({
      existingSecret: "grafana-admin",
      userKey: "admin-user",
      passwordKey: "admin-password",
    });
    expect(JSON.stringify(v)).not.toContain("mock-password");
    expect(JSON.stringify(v)).toContain('"url":"http://loki.ducklake-logging.svc.cluster.local:3100"');
  });

  test("no AWS resources and URL outputs", async () => {
    expect(children("dev").filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    expect(await promiseOf(logging.pushUrl)).toBe(
      "http://loki.ducklake-logging.svc.cluster.local:3100/loki/api/v1/push",
    );
    expect(await promiseOf(logging.queryUrl)).toBe("http://loki.ducklake-logging.svc.cluster.local:3100");
    expect(logging.grafanaRelease).toBeDefined();
  });
});

describe("prod stack (EKS): Loki on a gp3 PVC, Alloy, no Grafana", () => {
  let logging: LoggingType;
  let artifacts: ReadonlyMap<string, string>;
  beforeAll(async () => {
    logging = new Logging("prod", argsFor(stackConfig("prod"), "prod", { aws: awsArgs }));
    artifacts = deriveStack(stackConfig("prod"), "prod").artifacts;
    await settle();
  });

  test("Loki: 14-day retention, 100 GiB gp3 PVC", () => {
    const v = values("prod", "loki");
    expect(v["loki"]["limits_config"]).toMatchObject({ retention_period: "336h" });
    expect(v["singleBinary"]["persistence"]).toEqual({ enabled: true, size: "100Gi", storageClass: "gp3" });
    expect(v["loki"]["storage"]).toEqual({ type: "filesystem" });
  });

  test("agent: Alloy DaemonSet whose config parses CNPG lines", () => {
    const release = recorder.get(RELEASE, "prod-agent").inputs;
    expect(release).toMatchObject({ name: "alloy", chart: "alloy", version: "1.11.1" });
    const v = values("prod", "agent") as {
      controller: Record<string, unknown>;
      alloy: { configMap: { content: string }; mounts: Record<string, unknown> };
    };
    expect(v.controller["type"]).toBe("daemonset");
    expect(v.controller["tolerations"]).toEqual([{ operator: "Exists" }]);
    expect(v.alloy.mounts["varlog"]).toBe(true);
    expect(v.alloy.configMap.content).toContain('error_severity = "record.error_severity"');
    expect(v.alloy.configMap.content).toContain(
      'url = "http://loki.ducklake-logging.svc.cluster.local:3100/loki/api/v1/push"',
    );
  });

  test("no Grafana, no Prometheus (the cluster's Prometheus Operator scrapes), no bucket (PVC storage), the Alloy program as a plan artifact: the one the agent runs", () => {
    expect(logging.grafanaRelease).toBeUndefined();
    expect(logging.prometheusRelease).toBeUndefined();
    expect(
      children("prod")
        .filter((r) => r.type === RELEASE)
        .map((r) => r.name)
        .sort(),
    ).toEqual(["prod-agent", "prod-loki"]);
    expect(children("prod").filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    const v = values("prod", "agent") as { alloy: { configMap: { content: string } } };
    expect(artifacts.get("logging/alloy-config.alloy")).toBe(v.alloy.configMap.content);
  });
});

describe("prod with S3 storage: bucket, lifecycle, IRSA", () => {
  beforeAll(async () => {
    const cfg = stackConfig("prod");
    const logging = { ...cfg.logging, loki: { ...cfg.logging.loki, storage: { type: "s3" as const, sizeGiB: 10 } } };
    new Logging("s3", argsFor(cfg, "prod", { config: logging, aws: awsArgs }));
    await settle();
  });

  test("bucket: generated name prefix, tags, AES256, public access blocked, expiring after retention + 1 day", () => {
    const bucket = recorder.get("aws:s3/bucket:Bucket", "s3-loki-bucket").inputs;
    expect(bucket).toMatchObject({
      bucketPrefix: "ducklake-pgmq-prod-loki-",
      forceDestroy: false,
      tags: { team: "data-platform", service: "ducklake-pgmq" },
    });
    const sse = recorder.get(
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
      "s3-loki-bucket-encryption",
    ).inputs;
    expect(sse["rules"]).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
    const pab = recorder.get(
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
      "s3-loki-bucket-public-access",
    ).inputs;
    expect(pab).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const lc = recorder.get(
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "s3-loki-bucket-lifecycle",
    ).inputs;
    expect(lc["rules"]).toEqual([expect.objectContaining({ status: "Enabled", expiration: { days: 15 } })]);
  });

  test("IRSA: the role trusts only Loki's service account; Loki's values carry the role, not keys", () => {
    const role = recorder.get("aws:iam/role:Role", "s3-loki-role").inputs;
    const trust = JSON.parse(role["assumeRolePolicy"] as string) as {
      Statement: Array<{ Condition: { StringEquals: Record<string, string> } }>;
    };
    expect(trust.Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF:sub"]).toBe(
      "system:serviceaccount:ducklake-logging:loki",
    );
    const policy = JSON.parse(
      recorder.get("aws:iam/rolePolicy:RolePolicy", "s3-loki-s3-access").inputs["policy"] as string,
    ) as { Statement: Array<{ Resource: string[] }> };
    expect(policy.Statement.flatMap((s) => s.Resource)).toContain("arn:aws:s3:::s3-loki-bucket/*");
    const v = values("s3", "loki");
    expect(v["loki"]["storage"]).toEqual({
      type: "s3",
      bucketNames: { chunks: "s3-loki-bucket-bucket", ruler: "s3-loki-bucket-bucket" },
      s3: { region: "eu-west-1" },
    });
    expect(v["serviceAccount"]["annotations"]).toEqual({
      "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/s3-loki-role",
    });
    expect((v["loki"]["schemaConfig"] as { configs: Array<Record<string, unknown>> }).configs[0]["object_store"]).toBe(
      "s3",
    );
    expect(v["chunksCache"]).toEqual({ enabled: true, allocatedMemory: 512 });
  });
});

describe("Grafana without the stack's Prometheus", () => {
  test("Loki is its only data source and no dashboard is provisioned, even when dashboards are given", async () => {
    const dev = stackConfig("dev");
    const cfg = { ...dev, logging: { ...dev.logging, prometheus: { ...dev.logging.prometheus, enabled: false } } };
    const logging = new Logging("noprom", argsFor(cfg, "dev", { metrics: metricsFor("dev") }));
    await settle();
    expect(logging.prometheusRelease).toBeUndefined();
    expect(logging.dashboardsConfigMapName).toBeUndefined();
    expect(children("noprom").filter((r) => r.type === "kubernetes:core/v1:ConfigMap")).toEqual([]);
    const v = values("noprom", "grafana") as Record<string, Record<string, unknown>>;
    const ds = (v["datasources"]["datasources.yaml"] as { datasources: Array<Record<string, unknown>> }).datasources;
    expect(ds.map((d) => d["uid"])).toEqual(["loki"]);
    expect(v["dashboardsConfigMaps"]).toBeUndefined();
  });
});

describe("invalid combinations fail before anything is created", () => {
  test("S3 storage without AWS settings", async () => {
    const cfg = stackConfig("prod");
    const logging = { ...cfg.logging, loki: { ...cfg.logging.loki, storage: { type: "s3" as const, sizeGiB: 10 } } };
    expect(() => new Logging("bad", argsFor(cfg, "prod", { config: logging }))).toThrow(pulumi.ResourceError);
    expect(() => new Logging("bad2", argsFor(cfg, "prod", { config: logging }))).toThrow(
      /storage.type is s3 but the Logging component got no aws settings/,
    );
    await settle();
    const created = recorder.resources.filter(
      (r) => (r.name.startsWith("bad-") || r.name.startsWith("bad2-")) && r.type !== "ducklake:logging:Logging",
    );
    expect(created).toEqual([]);
  });

  test("a Postgres namespace that is not a DNS label", () => {
    expect(() => new Logging("bad3", argsFor(stackConfig("dev"), "dev", { postgresNamespace: "Ducklake_DB" }))).toThrow(
      /postgresNamespace "Ducklake_DB" is not a DNS-1123 label/,
    );
  });

  test("a given Grafana password is used instead of a generated one", async () => {
    new Logging("given", argsFor(stackConfig("dev"), "dev", { grafanaAdminPassword: pulumi.secret("from-config") }));
    await settle();
    expect(children("given").filter((r) => r.type === "random:index/randomPassword:RandomPassword")).toEqual([]);
    const secret = unwrapSecrets(recorder.get("kubernetes:core/v1:Secret", "given-grafana-admin").inputs) as {
      stringData: Record<string, string>;
    };
    expect(secret.stringData["admin-password"]).toBe("from-config");
  });
});
