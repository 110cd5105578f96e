/**
 * Policy rules as pure functions: each with a passing and a failing resource, boundary values taken from
 * config/gp3.ts, and "unknown during preview" inputs (which must be undetermined, never a violation).
 * Passing fixtures come from the shipped components' pure functions fed with Pulumi.prod.yaml, so a
 * change that makes the real stack non-compliant fails here too.
 */
import { unknownCheckingProxy } from "@pulumi/policy";
import { runtime } from "@pulumi/pulumi";
import { GP3_LIMITS } from "../../config/gp3";
import { parseStackConfig } from "../../components/stack";
import { NODE_METADATA_OPTIONS, rootBlockDeviceMappings } from "../../components/aws/ssd-node-group";
import { storageClassSpec } from "../../components/aws/gp3-storage";
import {
  checkEbsEncrypted,
  checkEbsSsdIops,
  EBS_VOLUME_TYPE,
  LAUNCH_TEMPLATE_TYPE,
  STORAGE_CLASS_TYPE,
} from "../../policy/ebs";
import { checkImdsV2 } from "../../policy/imds";
import { checkPostgresNotExposed, SERVICE_TYPE } from "../../policy/services";
import {
  checkPostgresPodResources,
  CNPG_CLUSTER_TYPE,
  HELM_RELEASE_TYPE,
  isCnpgClusterRelease,
} from "../../policy/postgresPods";
import { checkHelmNoPlaintextSecrets, checkHelmValues, isSecretLookingKey, keyWords } from "../../policy/helmSecrets";
import { readDucklakeConfig } from "../helpers/stack-files";

const U = runtime.unknownValue;
/** Inputs as a policy sees them during preview: unknown fields throw when read. */
const preview = (raw: Record<string, unknown>): Record<string, unknown> =>
  unknownCheckingProxy(raw) as Record<string, unknown>;

const prod = parseStackConfig(readDucklakeConfig("prod"), "prod").config;
if (prod.nodes === undefined || prod.storage.gp3 === undefined)
  throw new Error("Pulumi.prod.yaml must define nodes and storage.gp3");
const prodNodes = prod.nodes;
const prodGp3 = prod.storage.gp3;

/** A launch template as SsdNodeGroup builds it from Pulumi.prod.yaml, with optional ebs overrides. */
function launchTemplate(
  ebs: Record<string, unknown> = {},
  metadataOptions: Record<string, unknown> = { ...NODE_METADATA_OPTIONS },
): Record<string, unknown> {
  const [mapping] = rootBlockDeviceMappings(prodNodes.rootVolume, prodNodes.amiType);
  return { blockDeviceMappings: [{ ...mapping, ebs: { ...mapping.ebs, ...ebs } }], metadataOptions };
}

/** A StorageClass as Gp3StorageClass builds it from Pulumi.prod.yaml, with optional parameter overrides. */
function storageClass(parameters: Record<string, unknown> = {}): Record<string, unknown> {
  const spec = storageClassSpec(prod.storage.className, prodGp3);
  return { ...spec, parameters: { ...spec.parameters, ...parameters } };
}

function volume(props: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    availabilityZone: "eu-west-1a",
    type: "gp3",
    size: 200,
    iops: 6000,
    throughput: 250,
    encrypted: true,
    ...props,
  };
}

describe("ebs-ssd-iops", () => {
  it("passes the prod launch template, StorageClass and a gp3 volume", () => {
    expect(checkEbsSsdIops(LAUNCH_TEMPLATE_TYPE, launchTemplate()).violations).toEqual([]);
    expect(checkEbsSsdIops(STORAGE_CLASS_TYPE, storageClass()).violations).toEqual([]);
    expect(checkEbsSsdIops(EBS_VOLUME_TYPE, volume()).violations).toEqual([]);
  });

  it("accepts the gp3 floor and ceilings exactly", () => {
    const atLimits = {
      iops: GP3_LIMITS.minIops,
      throughput: GP3_LIMITS.minIops * GP3_LIMITS.maxThroughputMiBpsPerIops,
      size: GP3_LIMITS.minIops / GP3_LIMITS.maxIopsPerGiB,
    };
    expect(checkEbsSsdIops(EBS_VOLUME_TYPE, volume(atLimits)).violations).toEqual([]);
    // Unset iops/throughput on gp3 means AWS's baseline (3,000 IOPS, 125 MiB/s): compliant.
    expect(checkEbsSsdIops(EBS_VOLUME_TYPE, volume({ iops: undefined, throughput: undefined })).violations).toEqual([]);
  });

  it.each([
    [
      "iops below the floor",
      { iops: GP3_LIMITS.minIops - 1, throughput: 125 },
      /volume\.iops is 2999: gp3 needs 3000–80000 IOPS/,
    ],
    [
      "iops above the ceiling",
      { iops: GP3_LIMITS.maxIops + 1000, throughput: 250, size: 1000 },
      /volume\.iops is 81000/,
    ],
    [
      "throughput above 0.25 MiB/s per IOPS",
      { iops: 3000, throughput: 751 },
      /volume\.throughput: throughput 751 MiB\/s exceeds 0\.25 MiB\/s per provisioned IOPS \(3000 IOPS allow at most 750 MiB\/s\)/,
    ],
    [
      "throughput below the floor",
      { throughput: GP3_LIMITS.minThroughputMiBps - 1 },
      /volume\.throughput is 124 MiB\/s/,
    ],
    [
      "iops above 500 per GiB",
      { iops: 6000, size: 11 },
      /volume\.iops: 6000 IOPS exceeds 500 IOPS per GiB \(a 11 GiB volume allows at most 5500 IOPS\)/,
    ],
    ["a gp2 volume", { type: "gp2" }, /volume\.type is "gp2": use gp3/],
    ["no type (AWS defaults to gp2)", { type: undefined }, /volume\.type is \(not set\): use gp3/],
  ])("fails an aws.ebs.Volume with %s", (_case, props, message) => {
    const result = checkEbsSsdIops(EBS_VOLUME_TYPE, volume(props));
    expect(result.violations).toEqual([expect.stringMatching(message)]);
  });

  it("accepts io1/io2 with 3,000+ provisioned IOPS and refuses fewer", () => {
    expect(
      checkEbsSsdIops(EBS_VOLUME_TYPE, volume({ type: "io2", iops: 3000, throughput: undefined })).violations,
    ).toEqual([]);
    expect(
      checkEbsSsdIops(EBS_VOLUME_TYPE, volume({ type: "io1", iops: 1000, throughput: undefined })).violations,
    ).toEqual([expect.stringContaining("volume.iops is 1000: a io1 volume needs at least 3000 provisioned IOPS")]);
  });

  it("fails a launch template whose root volume is under 3,000 IOPS or gp2", () => {
    expect(checkEbsSsdIops(LAUNCH_TEMPLATE_TYPE, launchTemplate({ iops: 2000 })).violations).toEqual([
      expect.stringContaining("blockDeviceMappings[0].ebs.iops is 2000"),
    ]);
    expect(
      checkEbsSsdIops(
        LAUNCH_TEMPLATE_TYPE,
        launchTemplate({ volumeType: "gp2", iops: undefined, throughput: undefined }),
      ).violations,
    ).toEqual([expect.stringContaining('blockDeviceMappings[0].ebs.volumeType is "gp2"')]);
  });

  it("fails an EBS StorageClass with string parameters out of the gp3 ratios, any key case", () => {
    expect(checkEbsSsdIops(STORAGE_CLASS_TYPE, storageClass({ iops: "3000", throughput: "1000" })).violations).toEqual([
      expect.stringContaining("parameters.throughput: throughput 1000 MiB/s exceeds 0.25 MiB/s per provisioned IOPS"),
    ]);
    const rest: Record<string, unknown> = { ...(storageClass().parameters as Record<string, string>) };
    delete rest["type"];
    expect(
      checkEbsSsdIops(STORAGE_CLASS_TYPE, { ...storageClass(), parameters: { ...rest, Type: "sc1" } }).violations,
    ).toEqual([expect.stringContaining('parameters.type is "sc1"')]);
  });

  it("refuses iopsPerGB without iops on an EBS StorageClass", () => {
    const params = { type: "gp3", iopsPerGB: "50", throughput: "125", encrypted: "true" };
    expect(
      checkEbsSsdIops(STORAGE_CLASS_TYPE, { provisioner: "ebs.csi.aws.com", parameters: params }).violations,
    ).toEqual([expect.stringContaining('parameters.iopsPerGB is "50" without parameters.iops')]);
  });

  it("ignores StorageClasses of other provisioners (kind's local-path)", () => {
    const localPath = { provisioner: "rancher.io/local-path", parameters: { type: "whatever" } };
    expect(checkEbsSsdIops(STORAGE_CLASS_TYPE, localPath)).toEqual({ violations: [], undetermined: [] });
  });

  it("treats unknown inputs as undetermined, not as violations", () => {
    const result = checkEbsSsdIops(EBS_VOLUME_TYPE, preview(volume({ iops: U, size: U })));
    expect(result.violations).toEqual([]);
    expect(result.undetermined).toEqual(["volume.iops", "volume.size"]);
    const lt = checkEbsSsdIops(LAUNCH_TEMPLATE_TYPE, preview({ blockDeviceMappings: U }));
    expect(lt).toEqual({ violations: [], undetermined: ["blockDeviceMappings"] });
    // A known violation is still reported next to an unknown field.
    const mixed = checkEbsSsdIops(EBS_VOLUME_TYPE, preview(volume({ iops: 1000, size: U })));
    expect(mixed.violations).toEqual([expect.stringContaining("volume.iops is 1000")]);
    expect(mixed.undetermined).toEqual(["volume.size"]);
  });
});

describe("ebs-encrypted", () => {
  it("passes the prod launch template, StorageClass and an encrypted volume", () => {
    expect(checkEbsEncrypted(LAUNCH_TEMPLATE_TYPE, launchTemplate()).violations).toEqual([]);
    expect(checkEbsEncrypted(STORAGE_CLASS_TYPE, storageClass()).violations).toEqual([]);
    expect(checkEbsEncrypted(EBS_VOLUME_TYPE, volume()).violations).toEqual([]);
  });

  it.each([
    [LAUNCH_TEMPLATE_TYPE, launchTemplate({ encrypted: "false" }), 'blockDeviceMappings[0].ebs.encrypted is "false"'],
    [
      LAUNCH_TEMPLATE_TYPE,
      launchTemplate({ encrypted: undefined }),
      "blockDeviceMappings[0].ebs.encrypted is (not set)",
    ],
    [EBS_VOLUME_TYPE, volume({ encrypted: false }), "encrypted is false"],
    [STORAGE_CLASS_TYPE, storageClass({ encrypted: "false" }), 'parameters.encrypted is "false"'],
  ])("fails an unencrypted %s", (type, props, message) => {
    expect(checkEbsEncrypted(type, props).violations).toEqual([expect.stringContaining(message)]);
  });

  it("is undetermined when the flag is unknown", () => {
    expect(checkEbsEncrypted(EBS_VOLUME_TYPE, preview(volume({ encrypted: U })))).toEqual({
      violations: [],
      undetermined: ["encrypted"],
    });
  });
});

describe("imdsv2-required", () => {
  it("passes the node group's metadata options and a disabled endpoint", () => {
    expect(checkImdsV2(LAUNCH_TEMPLATE_TYPE, launchTemplate()).violations).toEqual([]);
    expect(checkImdsV2(LAUNCH_TEMPLATE_TYPE, launchTemplate({}, { httpEndpoint: "disabled" })).violations).toEqual([]);
  });

  it("fails optional tokens and missing metadata options", () => {
    expect(
      checkImdsV2(LAUNCH_TEMPLATE_TYPE, launchTemplate({}, { httpTokens: "optional", httpEndpoint: "enabled" }))
        .violations,
    ).toEqual([expect.stringContaining('metadataOptions.httpTokens is "optional": set "required"')]);
    const noOptions = launchTemplate();
    delete noOptions["metadataOptions"];
    expect(checkImdsV2(LAUNCH_TEMPLATE_TYPE, noOptions).violations).toHaveLength(1);
  });

  it("is undetermined when httpTokens is unknown", () => {
    expect(checkImdsV2(LAUNCH_TEMPLATE_TYPE, preview(launchTemplate({}, { httpTokens: U })))).toEqual({
      violations: [],
      undetermined: ["metadataOptions.httpTokens"],
    });
  });
});

describe("postgres-not-exposed", () => {
  const cnpgService = (type: string): Record<string, unknown> => ({
    metadata: { name: "lineage-pg-external", namespace: "ducklake-db" },
    spec: {
      type,
      selector: { "cnpg.io/cluster": "lineage-pg", "cnpg.io/instanceRole": "primary" },
      ports: [{ port: 5432, targetPort: 5432 }],
    },
  });

  it("passes a ClusterIP Postgres service and a LoadBalancer for something else", () => {
    expect(checkPostgresNotExposed(SERVICE_TYPE, cnpgService("ClusterIP")).violations).toEqual([]);
    const grafana = {
      metadata: { name: "grafana" },
      spec: {
        type: "LoadBalancer",
        selector: { "app.kubernetes.io/name": "grafana" },
        ports: [{ port: 80, targetPort: 3000 }],
      },
    };
    expect(checkPostgresNotExposed(SERVICE_TYPE, grafana).violations).toEqual([]);
  });

  it.each([
    ["LoadBalancer selecting CNPG pods", cnpgService("LoadBalancer"), "spec.cnpg"],
    ["NodePort selecting CNPG pods", cnpgService("NodePort"), "spec.cnpg"],
    [
      "NodePort on port 5432 only",
      {
        metadata: { name: "db" },
        spec: { type: "NodePort", selector: { app: "db" }, ports: [{ port: 15432, targetPort: 5432 }] },
      },
      "targetPort 5432",
    ],
    [
      "LoadBalancer named after pgbouncer",
      {
        metadata: { name: "lineage-pgbouncer" },
        spec: { type: "LoadBalancer", selector: { app: "x" }, ports: [{ port: 6432 }] },
      },
      'metadata.name "lineage-pgbouncer"',
    ],
  ])("fails a %s", (_case, props, reason) => {
    const result = checkPostgresNotExposed(SERVICE_TYPE, props);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toContain("Postgres must not be exposed");
    if (reason !== "spec.cnpg") expect(result.violations[0]).toContain(reason);
    else expect(result.violations[0]).toContain("spec.selector cnpg.io/cluster");
  });

  it("fails a LoadBalancer managed service in the CNPG cluster chart values and a Pooler", () => {
    const release = {
      chart: "cluster",
      repositoryOpts: { repo: "https://cloudnative-pg.github.io/charts" },
      values: {
        cluster: {
          services: {
            additional: [
              { selectorType: "rw", serviceTemplate: { metadata: { name: "pg-lb" }, spec: { type: "LoadBalancer" } } },
            ],
          },
        },
      },
    };
    expect(checkPostgresNotExposed(HELM_RELEASE_TYPE, release).violations).toEqual([
      expect.stringContaining('values.cluster.services.additional[0].serviceTemplate.spec.type is "LoadBalancer"'),
    ]);
    const clusterIp = {
      ...release,
      values: {
        cluster: {
          services: {
            additional: [
              { selectorType: "rw", serviceTemplate: { metadata: { name: "pg-extra" }, spec: { type: "ClusterIP" } } },
            ],
          },
        },
      },
    };
    expect(checkPostgresNotExposed(HELM_RELEASE_TYPE, clusterIp).violations).toEqual([]);
    expect(
      checkPostgresNotExposed("kubernetes:postgresql.cnpg.io/v1:Pooler", {
        spec: { serviceTemplate: { spec: { type: "NodePort" } } },
      }).violations,
    ).toHaveLength(1);
  });

  it("is undetermined when the type or the Postgres markers are unknown", () => {
    expect(
      checkPostgresNotExposed(SERVICE_TYPE, preview({ metadata: { name: "x" }, spec: { type: U } })).undetermined,
    ).toEqual(["spec.type"]);
    const unknownSelector = checkPostgresNotExposed(
      SERVICE_TYPE,
      preview({ metadata: { name: "x" }, spec: { type: "LoadBalancer", selector: U, ports: [{ port: 80 }] } }),
    );
    expect(unknownSelector.violations).toEqual([]);
    expect(unknownSelector.undetermined).toHaveLength(1);
  });
});

describe("postgres-pod-resources", () => {
  const release = (resources: unknown): Record<string, unknown> => ({
    chart: "cluster",
    version: "0.8.1",
    repositoryOpts: { repo: "https://cloudnative-pg.github.io/charts" },
    values: { type: "postgresql", cluster: { instances: prod.postgres.instances, resources } },
  });
  const full = {
    requests: { memory: prod.postgres.resources.memory, cpu: prod.postgres.resources.cpu },
    limits: { memory: prod.postgres.resources.memory, cpu: prod.postgres.resources.cpu },
  };

  it("recognises the CloudNativePG cluster chart, and not the operator chart", () => {
    expect(isCnpgClusterRelease(release(full))).toBe(true);
    expect(isCnpgClusterRelease({ chart: "oci://ghcr.io/cloudnative-pg/charts/cluster" })).toBe(true);
    expect(
      isCnpgClusterRelease({
        chart: "cloudnative-pg",
        repositoryOpts: { repo: "https://cloudnative-pg.github.io/charts" },
      }),
    ).toBe(false);
    expect(
      isCnpgClusterRelease({
        chart: "loki",
        repositoryOpts: { repo: "https://grafana.github.io/helm-charts" },
        values: {},
      }),
    ).toBe(false);
  });

  it("passes requests and limits for memory and CPU (prod's numbers)", () => {
    expect(checkPostgresPodResources(HELM_RELEASE_TYPE, release(full))).toEqual({ violations: [], undetermined: [] });
    expect(
      checkPostgresPodResources(CNPG_CLUSTER_TYPE, { spec: { instances: 3, resources: full } }).violations,
    ).toEqual([]);
  });

  it("fails each missing quantity, naming it", () => {
    const noCpuLimit = { requests: full.requests, limits: { memory: full.limits.memory } };
    expect(checkPostgresPodResources(HELM_RELEASE_TYPE, release(noCpuLimit)).violations).toEqual([
      expect.stringContaining("values.cluster.resources.limits.cpu is (not set)"),
    ]);
    expect(checkPostgresPodResources(HELM_RELEASE_TYPE, release(undefined)).violations).toHaveLength(4);
    expect(
      checkPostgresPodResources(CNPG_CLUSTER_TYPE, {
        spec: { resources: { requests: { memory: "", cpu: "2" }, limits: full.limits } },
      }).violations,
    ).toEqual([expect.stringContaining('spec.resources.requests.memory is ""')]);
  });

  it("ignores other charts and is undetermined on unknown resources", () => {
    expect(checkPostgresPodResources(HELM_RELEASE_TYPE, { chart: "loki", values: {} }).violations).toEqual([]);
    expect(checkPostgresPodResources(HELM_RELEASE_TYPE, preview(release(U)))).toEqual({
      violations: [],
      undetermined: ["values.cluster.resources"],
    });
  });
});

describe("helm-no-plaintext-secrets", () => {
  it("splits keys into words and spots secret-looking ones", () => {
    expect(keyWords("existingSecretPassword")).toEqual(["existing", "secret", "password"]);
    expect(keyWords("bearer_token_file")).toEqual(["bearer", "token", "file"]);
    expect(
      [
        "password",
        "adminPassword",
        "secretKey",
        "accessKey",
        "api_key",
        "bearerToken",
        "clientSecret",
        "rootPassword",
      ].filter((k) => !isSecretLookingKey(k)),
    ).toEqual([]);
    expect(
      ["key", "keyFile", "name", "monkey", "tokenizer", "topologyKey", "labelKey", "matchLabelKeys"].filter((k) =>
        isSecretLookingKey(k),
      ),
    ).toEqual([]);
  });

  it("passes values that reference Secrets by name (CNPG, Grafana, Loki shapes)", () => {
    const values = {
      cluster: {
        superuserSecret: "lineage-pg-superuser",
        initdb: { secret: { name: "lineage-pg-app" } },
        tolerations: [{ key: "dedicated", value: "postgres", effect: "NoSchedule" }],
        // The CNPG cluster chart's anti-affinity (found by running PostgresCluster's values through the rule).
        affinity: {
          enablePodAntiAffinity: true,
          podAntiAffinityType: "required",
          topologyKey: "kubernetes.io/hostname",
        },
      },
      admin: { existingSecret: "grafana-admin", userKey: "admin-user", passwordKey: "admin-password" },
      backups: { secret: { create: false, name: "backup-creds" }, s3: { accessKey: "", secretKey: "" } },
      pgBaseBackup: { source: { passwordSecret: { create: false, name: "src", key: "password" } } },
      monitoring: { customQueriesSecret: [{ name: "queries", key: "queries.yaml" }] },
      env: [{ name: "DB_PASSWORD", valueFrom: { secretKeyRef: { name: "lineage-pg-app", key: "password" } } }],
      loki: { storage: { s3: { secretAccessKey: "${AWS_SECRET_ACCESS_KEY}" } }, auth_enabled: false },
      scrape: { bearer_token_file: "/var/run/secrets/kubernetes.io/serviceaccount/token" },
      serviceAccount: { automountServiceAccountToken: true },
    };
    expect(checkHelmValues(values)).toEqual({ violations: [], undetermined: [] });
  });

  it.each([
    ["a plaintext admin password", { adminPassword: "hunter2" }, "values.adminPassword"],
    [
      "an S3 secret key",
      { backups: { s3: { accessKey: "AKIAEXAMPLE", secretKey: "wJalrXUtnFEMI" } } },
      "values.backups.s3.accessKey",
    ],
    ["a token in a nested list", { agents: [{ config: { apiToken: "tok_123" } }] }, "values.agents[0].config.apiToken"],
    [
      "a CNPG passwordSecret created from a value",
      { pgBaseBackup: { source: { passwordSecret: { create: true, name: "src", value: "s3cr3t" } } } },
      "values.pgBaseBackup.source.passwordSecret.value",
    ],
    [
      "an env var with a literal password",
      { env: [{ name: "POSTGRES_PASSWORD", value: "s3cr3t" }] },
      "values.env[0].value",
    ],
  ])("fails %s, without printing the value", (_case, values, path) => {
    const result = checkHelmValues(values);
    expect(result.violations.length).toBeGreaterThanOrEqual(1);
    expect(result.violations[0]).toMatch(new RegExp(`^${path.replace(/[.[\]]/g, "\\$&")} holds a plaintext string`));
    for (const v of result.violations) expect(v).not.toMatch(/hunter2|AKIAEXAMPLE|wJalrXUtnFEMI|tok_123|s3cr3t/);
  });

  it("accepts extra reference keys from the policy config", () => {
    expect(checkHelmValues({ auth: { clientSecret: "oauth-client" } }).violations).toHaveLength(1);
    expect(checkHelmValues({ auth: { clientSecret: "oauth-client" } }, ["clientSecret"]).violations).toEqual([]);
  });

  it("checks only Helm types, and is undetermined for an unknown secret-looking value", () => {
    expect(
      checkHelmNoPlaintextSecrets("kubernetes:core/v1:ConfigMap", { values: { password: "x" } }).violations,
    ).toEqual([]);
    expect(
      checkHelmNoPlaintextSecrets(
        HELM_RELEASE_TYPE,
        preview({ chart: "grafana", values: { adminPassword: U, replicas: U } }),
      ),
    ).toEqual({
      violations: [],
      undetermined: ["values.adminPassword"],
    });
  });
});
