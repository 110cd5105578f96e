/**
 * `Logging`: Loki (single binary) from its Helm chart, the log agent the stack names (Promtail or
 * Grafana Alloy) as a DaemonSet, optionally a small Prometheus scraping the Postgres instances (for a cluster
 * without one: dev), and optionally Grafana with Loki (and that Prometheus, with the queue dashboard) as its data
 * sources. On EKS Loki can
 * store in an S3 bucket the component creates (encrypted, public access blocked, expiring after the
 * retention), reached through an IAM role for Loki's service account; no static keys anywhere.
 *
 * The decisions are in the pure builders beside this file (loki-values.ts, promtail-values.ts,
 * alloy-config.ts, grafana-values.ts, prometheus-values.ts, cnpg-pipeline.ts, loki-s3.ts, validate.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import type { LoggingConfig } from "../../config/logging";
import {
  ALLOY_CHART,
  GRAFANA_CHART,
  LOKI_CHART,
  PROMETHEUS_CHART,
  PROMTAIL_CHART,
  PinnedChart,
  RELEASE_NAMES,
} from "./charts";
import { cnpgParseRules } from "./cnpg-pipeline";
import { LOKI_SERVICE_ACCOUNT, buildLokiValues, lokiCacheSizes, lokiUrls, s3ExpirationDays } from "./loki-values";
import { lokiBucketAccessPolicy, lokiBucketPrefix, lokiIrsaTrustPolicy } from "./loki-s3";
import { buildPromtailValues } from "./promtail-values";
import { alloyConfigFor, buildAlloyValues } from "./alloy-config";
import { GRAFANA_ADMIN_KEYS, buildGrafanaValues } from "./grafana-values";
import { PROMETHEUS_SCRAPE_INTERVAL, buildPrometheusValues, prometheusUrl } from "./prometheus-values";
import { validateLoggingArgs } from "./validate";

/** Arguments of `Logging`. */
export interface LoggingArgs {
  /** `ducklake:logging` (config/logging.ts): namespace, agent, Loki retention and storage, Grafana. */
  readonly config: LoggingConfig;
  /** StorageClass of Loki's PVC (the stack's data class: kind's `standard`, prod's `gp3`). */
  readonly storageClassName: pulumi.Input<string>;
  /** Pulumi stack name; part of the generated bucket name. */
  readonly stack: string;
  /** Pulumi project name; part of the generated bucket name. */
  readonly project: string;
  /** AWS tags added to the bucket and the IAM role. */
  readonly tags: Record<string, string>;
  /**
   * AWS settings, given only on EKS; required when `config.loki.storage.type` is `s3`.
   * `oidcProviderArn` and `oidcIssuerUrl` are the cluster's IAM OIDC provider (IRSA).
   */
  readonly aws?: {
    readonly region: string;
    readonly oidcProviderArn: pulumi.Input<string>;
    readonly oidcIssuerUrl: pulumi.Input<string>;
  };
  /** Namespace of the CloudNativePG cluster; its pods' JSON lines are parsed into labels. */
  readonly postgresNamespace: string;
  /** Name of the CloudNativePG cluster (the `cnpg_cluster` label value of its streams). */
  readonly postgresClusterName: string;
  /** Grafana admin password (a secret). Defaults to a generated 32-character password. Ignored when Grafana is disabled. */
  readonly grafanaAdminPassword?: pulumi.Output<string>;
  /**
   * What the stack's Prometheus (`config.prometheus.enabled`) loads and Grafana shows: a Prometheus rules file
   * (`{groups}`) for its /alerts page, and dashboard JSON files by file name (e.g. `ducklake-queue.json`), which
   * Grafana provisions from a ConfigMap when it is enabled too. Ignored without the Prometheus.
   */
  readonly metrics?: {
    readonly alertRules?: unknown;
    readonly dashboards?: Readonly<Record<string, string>>;
  };
}

/** Loki, the log agent and optional Grafana. Type token `ducklake:logging:Logging`. */
export class Logging extends pulumi.ComponentResource {
  /** Loki push URL for apps and agents: `http://loki.<ns>.svc.cluster.local:3100/loki/api/v1/push`. */
  public readonly pushUrl: pulumi.Output<string>;
  /** Loki base URL for queries: `http://loki.<ns>.svc.cluster.local:3100` (API under `/loki/api/v1/`). */
  public readonly queryUrl: pulumi.Output<string>;
  /** LogQL selector of the Postgres cluster's error lines, for dashboards and runbooks. */
  public readonly postgresErrorsQuery: pulumi.Output<string>;
  /** The Loki Helm release. */
  public readonly lokiRelease: k8s.helm.v3.Release;
  /** The agent's Helm release (Promtail or Alloy, per `config.agent`). */
  public readonly agentRelease: k8s.helm.v3.Release;
  /** The Grafana Helm release, when `config.grafana.enabled`. */
  public readonly grafanaRelease?: k8s.helm.v3.Release;
  /** The Prometheus Helm release, when `config.prometheus.enabled`. */
  public readonly prometheusRelease?: k8s.helm.v3.Release;
  /** The Prometheus server's in-cluster URL (Grafana's Prometheus data source), when it is enabled. */
  public readonly prometheusUrl?: pulumi.Output<string>;
  /** Name of the ConfigMap of the dashboards Grafana provisions, when Grafana and Prometheus are enabled. */
  public readonly dashboardsConfigMapName?: pulumi.Output<string>;
  /** Name of the Secret holding Grafana's admin user and password, when Grafana is enabled. */
  public readonly grafanaAdminSecretName?: pulumi.Output<string>;
  /** Name of Loki's S3 bucket, when storage is `s3`. */
  public readonly bucketName?: pulumi.Output<string>;

  /**
   * @param name logical name; children are `${name}-<role>`.
   * @param args see `LoggingArgs`.
   * @param opts component options (pass the kubernetes and aws providers with `providers`).
   * @throws pulumi.ResourceError listing every invalid argument (e.g. s3 storage without `aws`), before any resource exists.
   */
  constructor(name: string, args: LoggingArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ducklake:logging:Logging", name, {}, opts);
    const problems = validateLoggingArgs(args);
    if (problems.length > 0) {
      throw new pulumi.ResourceError(`Logging ${name}: invalid arguments:\n  - ${problems.join("\n  - ")}`, this);
    }
    const cfg = args.config;
    const ns = cfg.namespace;
    const urls = lokiUrls(ns);
    const rules = cnpgParseRules(args.postgresNamespace);
    if (args.grafanaAdminPassword !== undefined && !cfg.grafana.enabled) {
      void pulumi.log.warn(
        "grafanaAdminPassword is set but logging.grafana.enabled is false: the password is not used",
        this,
      );
    }

    const namespace = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: ns, labels: { "app.kubernetes.io/part-of": "ducklake-logging" } } },
      { parent: this },
    );
    const release = (
      role: string,
      chart: PinnedChart,
      releaseName: string,
      values: pulumi.Input<Record<string, unknown>>,
      dependsOn: pulumi.Resource[],
    ): k8s.helm.v3.Release =>
      new k8s.helm.v3.Release(
        `${name}-${role}`,
        {
          name: releaseName,
          chart: chart.chart,
          version: chart.version,
          repositoryOpts: { repo: chart.repo },
          namespace: namespace.metadata.name,
          values,
          timeout: 600,
        },
        { parent: this, dependsOn },
      );

    // Loki's storage: the PVC alone, or an S3 bucket + IRSA role.
    const storage = cfg.loki.storage;
    const caches = lokiCacheSizes(storage.type, cfg.loki.caches);
    const lokiDeps: pulumi.Resource[] = [namespace];
    let lokiValues: pulumi.Output<Record<string, unknown>>;
    if (storage.type === "s3") {
      // validateLoggingArgs guarantees aws here.
      const awsArgs = args.aws as NonNullable<LoggingArgs["aws"]>;
      const bucket = new aws.s3.Bucket(
        `${name}-loki-bucket`,
        {
          bucket: storage.bucketName,
          bucketPrefix: storage.bucketName === undefined ? lokiBucketPrefix(args.project, args.stack) : undefined,
          forceDestroy: false, // logs are data: `pulumi destroy` stops on a non-empty bucket instead of deleting them
          tags: args.tags,
        },
        { parent: this },
      );
      const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-loki-bucket-encryption`,
        { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
        { parent: this },
      );
      const publicAccess = new aws.s3.BucketPublicAccessBlock(
        `${name}-loki-bucket-public-access`,
        {
          bucket: bucket.id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        { parent: this },
      );
      const lifecycle = new aws.s3.BucketLifecycleConfiguration(
        `${name}-loki-bucket-lifecycle`,
        {
          bucket: bucket.id,
          rules: [
            {
              id: "expire-after-retention",
              status: "Enabled",
              filter: {},
              expiration: { days: s3ExpirationDays(cfg.loki.retentionHours) },
              abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
            },
          ],
        },
        { parent: this },
      );
      const role = new aws.iam.Role(
        `${name}-loki-role`,
        {
          description: pulumi.interpolate`Loki of ${args.project}/${args.stack}: read/write its S3 bucket (IRSA, ${ns}/${LOKI_SERVICE_ACCOUNT})`,
          assumeRolePolicy: pulumi
            .all([awsArgs.oidcProviderArn, awsArgs.oidcIssuerUrl])
            .apply(([arn, issuer]) => lokiIrsaTrustPolicy(arn, issuer, ns, LOKI_SERVICE_ACCOUNT)),
          tags: args.tags,
        },
        { parent: this },
      );
      const access = new aws.iam.RolePolicy(
        `${name}-loki-s3-access`,
        { role: role.id, policy: bucket.arn.apply(lokiBucketAccessPolicy) },
        { parent: this },
      );
      lokiDeps.push(encryption, publicAccess, lifecycle, access);
      this.bucketName = bucket.bucket;
      lokiValues = pulumi
        .all([args.storageClassName, bucket.bucket, role.arn])
        .apply(([storageClassName, bucketName, roleArn]) =>
          buildLokiValues({
            storage: { type: "s3", bucketName, region: awsArgs.region, roleArn },
            pvcSizeGiB: storage.sizeGiB,
            storageClassName,
            retentionHours: cfg.loki.retentionHours,
            caches,
            resources: cfg.loki.resources,
          }),
        );
    } else {
      lokiValues = pulumi.output(args.storageClassName).apply((storageClassName) =>
        buildLokiValues({
          storage: { type: "pvc" },
          pvcSizeGiB: storage.sizeGiB,
          storageClassName,
          retentionHours: cfg.loki.retentionHours,
          caches,
          resources: cfg.loki.resources,
        }),
      );
    }
    this.lokiRelease = release("loki", LOKI_CHART, RELEASE_NAMES.loki, lokiValues, lokiDeps);

    // The agent: a DaemonSet on every node, pushing to Loki's Service.
    if (cfg.agent === "alloy") {
      // The same program the offline plan shows on its own (deriveStack's logging/alloy-config.alloy).
      const values = buildAlloyValues(alloyConfigFor(ns, args.postgresNamespace));
      this.agentRelease = release("agent", ALLOY_CHART, RELEASE_NAMES.alloy, values, [namespace, this.lokiRelease]);
    } else {
      const values = buildPromtailValues({ pushUrl: urls.pushUrl, rules });
      this.agentRelease = release("agent", PROMTAIL_CHART, RELEASE_NAMES.promtail, values, [
        namespace,
        this.lokiRelease,
      ]);
    }

    // Optional Prometheus (server only), scraping the Postgres instances' metrics port for Grafana.
    const prom = cfg.prometheus;
    if (prom.enabled) {
      const values = pulumi.output(args.storageClassName).apply((storageClassName) =>
        buildPrometheusValues({
          postgresNamespace: args.postgresNamespace,
          postgresClusterName: args.postgresClusterName,
          retentionHours: prom.retentionHours,
          sizeGiB: prom.sizeGiB,
          storageClassName,
          alertRules: args.metrics?.alertRules,
        }),
      );
      this.prometheusRelease = release("prometheus", PROMETHEUS_CHART, RELEASE_NAMES.prometheus, values, [namespace]);
      this.prometheusUrl = pulumi.output(prometheusUrl(ns));
    }

    // Optional Grafana: admin credentials in a Secret, referenced by name from the values.
    if (cfg.grafana.enabled) {
      const password =
        args.grafanaAdminPassword ??
        new random.RandomPassword(`${name}-grafana-admin-password`, { length: 32, special: false }, { parent: this })
          .result;
      const adminSecret = new k8s.core.v1.Secret(
        `${name}-grafana-admin`,
        {
          metadata: { name: "grafana-admin", namespace: namespace.metadata.name },
          type: "Opaque",
          stringData: { [GRAFANA_ADMIN_KEYS.user]: "admin", [GRAFANA_ADMIN_KEYS.password]: pulumi.secret(password) },
        },
        { parent: this },
      );
      this.grafanaAdminSecretName = adminSecret.metadata.name;
      const grafanaDeps: pulumi.Resource[] = [namespace, adminSecret, this.lokiRelease];
      // The stack's dashboards, with the Prometheus they query: a ConfigMap the chart mounts (dashboardsConfigMaps).
      const dashboards = args.metrics?.dashboards ?? {};
      let dashboardsConfigMap: pulumi.Output<string | undefined> = pulumi.output(undefined);
      if (prom.enabled && Object.keys(dashboards).length > 0) {
        const cm = new k8s.core.v1.ConfigMap(
          `${name}-grafana-dashboards`,
          {
            metadata: { name: "grafana-dashboards-ducklake", namespace: namespace.metadata.name },
            data: { ...dashboards },
          },
          { parent: this },
        );
        grafanaDeps.push(cm);
        this.dashboardsConfigMapName = cm.metadata.name;
        dashboardsConfigMap = cm.metadata.name;
      }
      const values = pulumi
        .all([adminSecret.metadata.name, dashboardsConfigMap])
        .apply(([adminSecretName, dashboardsConfigMap]) =>
          buildGrafanaValues({
            lokiQueryUrl: urls.queryUrl,
            adminSecretName,
            ...(prom.enabled
              ? { prometheus: { url: prometheusUrl(ns), scrapeInterval: PROMETHEUS_SCRAPE_INTERVAL } }
              : {}),
            ...(dashboardsConfigMap !== undefined ? { dashboardsConfigMap } : {}),
          }),
        );
      this.grafanaRelease = release("grafana", GRAFANA_CHART, RELEASE_NAMES.grafana, values, grafanaDeps);
    }

    this.pushUrl = pulumi.output(urls.pushUrl);
    this.queryUrl = pulumi.output(urls.queryUrl);
    this.postgresErrorsQuery = pulumi.output(
      `{namespace="${args.postgresNamespace}", cnpg_cluster="${args.postgresClusterName}", error_severity=~"ERROR|FATAL|PANIC"}`,
    );
    this.registerOutputs({
      pushUrl: this.pushUrl,
      queryUrl: this.queryUrl,
      postgresErrorsQuery: this.postgresErrorsQuery,
      lokiRelease: this.lokiRelease,
      agentRelease: this.agentRelease,
      grafanaRelease: this.grafanaRelease,
      prometheusRelease: this.prometheusRelease,
      prometheusUrl: this.prometheusUrl,
      dashboardsConfigMapName: this.dashboardsConfigMapName,
      grafanaAdminSecretName: this.grafanaAdminSecretName,
      bucketName: this.bucketName,
    });
  }
}
