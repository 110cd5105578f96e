/**
 * `PostgresCluster`: the CloudNativePG operator and a PostgreSQL cluster, both from the official Helm
 * charts (https://cloudnative-pg.io/charts/), with generated credentials in Kubernetes Secrets, an
 * ingress NetworkPolicy, and the connection details apps need.
 *
 * Decisions (values, validation, policies) live in ./helm-values.ts; this class only wires resources.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import {
  buildClusterValues,
  buildOperatorValues,
  secretNames,
  serviceHosts,
  validateClusterInput,
} from "./helm-values";
import {
  CNPG_BARMAN_PLUGIN_CHART,
  CNPG_CLUSTER_CHART,
  CNPG_HELM_REPO,
  CNPG_OPERATOR_CHART,
  POSTGRES_PORT,
} from "./charts";
import type { BackupDestination } from "./backups";
import { CUSTOM_QUERIES_KEY, customQueriesSecretName } from "./custom-queries";
import { instanceNetworkPolicySpec, poolerNetworkPolicySpec, type NetworkPolicyPeer } from "./network-policy";
import type { ClusterValuesInput } from "./helm-values";
import { readAppNamespaces } from "../prerequisites";

/**
 * Arguments of `PostgresCluster`: the values inputs (config, tuning parameters, placement, huge pages,
 * custom queries; see `ClusterValuesInput` in ./helm-values.ts, one definition for both) plus where the
 * volumes come from and the provider.
 */
export interface PostgresClusterArgs extends ClusterValuesInput {
  /** StorageClass of the data and WAL volumes (prod: the gp3 class; dev: the cluster's default, e.g. `standard`). */
  readonly storageClassName: pulumi.Input<string>;
  /** Kubernetes provider; may also come through `opts.provider`/`opts.providers`. */
  readonly provider?: k8s.Provider;
  /**
   * Reads of what the releases need from the cluster (`readRequiredCrds` in ../prerequisites.ts: the
   * Prometheus Operator CRDs when `podMonitor` is on); both Helm releases depend on them, so a missing CRD
   * fails the preview before either release is created. Defaults to none.
   */
  readonly prerequisites?: readonly pulumi.Resource[];
  /**
   * The backup bucket, its region and the IRSA role (`BackupStorage.destination`, ../aws/backup-storage.ts):
   * required when `postgres.backups` is on or `postgres.recovery` is set, ignored otherwise.
   */
  readonly backupDestination?: pulumi.Input<BackupDestination>;
  /**
   * Pods, besides those of `metricsNamespaces`, that may reach the instances' metrics port 9187 (NetworkPolicy
   * peers): the stack's own Prometheus (`PostgresClusterInputs.metricsScrapers`). Defaults to none.
   */
  readonly metricsScrapers?: readonly NetworkPolicyPeer[];
}

/**
 * The Postgres database of the queue: operator release, namespace, credential Secrets, the
 * custom-queries Secret, cluster release (Cluster, image catalog, pooler, PodMonitor) and NetworkPolicies.
 *
 * Order: namespace and Secrets, then the operator release (CRDs and webhooks), then the cluster
 * release. A consumer that needs a running database (the bootstrap Job) depends on `clusterRelease`
 * and retries until the primary accepts connections (Helm does not wait for a Cluster to be ready).
 */
export class PostgresCluster extends pulumi.ComponentResource {
  /** Namespace of the cluster, its Secrets and Services. */
  public readonly namespace: pulumi.Output<string>;
  /** Read-write service host (`<cluster>-rw.<namespace>.svc.cluster.local`), the primary. */
  public readonly rwHost: pulumi.Output<string>;
  /** Read-only service host (`<cluster>-ro.<namespace>.svc.cluster.local`), the replicas. */
  public readonly roHost: pulumi.Output<string>;
  /** PgBouncer service host (`<cluster>-pooler-rw.<namespace>.svc.cluster.local`) when the pooler is enabled. */
  public readonly poolerHost?: pulumi.Output<string>;
  /** PostgreSQL port (5432, fixed by CloudNativePG). */
  public readonly port: pulumi.Output<number>;
  /** Application database. */
  public readonly database: pulumi.Output<string>;
  /** Application role. */
  public readonly appUser: pulumi.Output<string>;
  /** Database owner role (owns the queue tables; pg_partman's background worker runs as it). */
  public readonly ownerRole: pulumi.Output<string>;
  /** Secret (`kubernetes.io/basic-auth`: `username`, `password`) of the application role, in `namespace`. */
  public readonly appSecretName: pulumi.Output<string>;
  /** Secret of the owner role, in `namespace`. */
  public readonly ownerSecretName: pulumi.Output<string>;
  /** Secret of the `postgres` superuser, in `namespace` (the bootstrap Job needs it for CREATE EXTENSION). */
  public readonly superuserSecretName: pulumi.Output<string>;
  /** Monitoring role (member of pg_monitor: reads the `ops` monitoring views; no message API, no writes). */
  public readonly monitoringUser: pulumi.Output<string>;
  /** Secret (`kubernetes.io/basic-auth`) of the monitoring role, in `namespace`. */
  public readonly monitoringSecretName: pulumi.Output<string>;
  /** `postgresql://<monitoring>:<password>@<rwHost>:5432/<database>`, a Pulumi secret: the primary, bypassing the pooler. */
  public readonly monitoringConnectionUri: pulumi.Output<string>;
  /**
   * Namespaces holding the app role's credentials Secret `appSecretName`: `namespace` (the original, which
   * CloudNativePG reads) and a copy in every other application namespace (`config.appNamespaces`).
   */
  public readonly appSecretNamespaces: pulumi.Output<string[]>;
  /** `postgresql://<app>:<password>@<rwHost>:5432/<database>`, a Pulumi secret: the primary, bypassing the pooler. */
  public readonly connectionUri: pulumi.Output<string>;
  /** The same through the PgBouncer pooler (`<poolerHost>`), a Pulumi secret; only with the pooler. */
  public readonly pooledConnectionUri?: pulumi.Output<string>;
  /** Helm release of the CloudNativePG operator chart. */
  public readonly operatorRelease: k8s.helm.v3.Release;
  /** Helm release of the cluster chart. */
  public readonly clusterRelease: k8s.helm.v3.Release;
  /** Helm release of the Barman Cloud plugin (backups or a restore), in the operator's namespace. */
  public readonly barmanPluginRelease?: k8s.helm.v3.Release;

  /**
   * @param name logical name; children are `${name}-<role>`.
   * @param args see `PostgresClusterArgs`.
   * @param opts component options (provider, dependsOn, ...).
   * @throws pulumi.ResourceError listing every invalid combination, before any child is created.
   */
  constructor(name: string, args: PostgresClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ducklake:postgres:PostgresCluster", name, {}, opts);
    const { config } = args;

    const input = {
      config,
      parameters: args.parameters,
      sharedPreloadLibraries: args.sharedPreloadLibraries,
      nodeSelector: args.nodeSelector,
      tolerations: args.tolerations,
      hugePages2Mi: args.hugePages2Mi,
      monitoringQueriesYaml: args.monitoringQueriesYaml,
    };
    const usesArchive = config.backups.enabled || config.recovery !== undefined;
    const checked = validateClusterInput(input);
    const validation = {
      warnings: checked.warnings,
      errors: [
        ...checked.errors,
        ...(usesArchive && args.backupDestination === undefined
          ? [
              "postgres.backups or postgres.recovery is set but no backupDestination (bucket, region, IRSA role) was given: create a BackupStorage and pass its destination",
            ]
          : []),
      ],
    };
    if (validation.errors.length > 0) {
      throw new pulumi.ResourceError(
        `PostgresCluster ${name}: ${validation.errors.length} invalid setting${validation.errors.length === 1 ? "" : "s"}; nothing was created:\n` +
          validation.errors.map((e) => `  - ${e}`).join("\n"),
        this,
      );
    }
    let clusterValues: pulumi.Input<Record<string, unknown>>;
    try {
      // Built once now so a bad argument fails here, before any child; with an archive, again with the real destination.
      const placeholder: BackupDestination = {
        bucketName: "placeholder",
        region: "placeholder",
        roleArn: "placeholder",
      };
      clusterValues = buildClusterValues(input, args.storageClassName, usesArchive ? placeholder : undefined);
    } catch (err) {
      throw new pulumi.ResourceError(`PostgresCluster ${name}: ${(err as Error).message}`, this);
    }
    if (usesArchive) {
      clusterValues = pulumi
        .all([args.storageClassName, args.backupDestination as pulumi.Input<BackupDestination>])
        .apply(([storageClassName, destination]) => buildClusterValues(input, storageClassName, destination));
    }
    for (const w of validation.warnings) void pulumi.log.warn(w, this);

    const childOpts: pulumi.CustomResourceOptions = {
      parent: this,
      ...(args.provider ? { provider: args.provider } : {}),
    };
    const names = secretNames(config.clusterName);

    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      { metadata: { name: config.namespace, labels: { "app.kubernetes.io/part-of": "ducklake" } } },
      childOpts,
    );

    const credential = (
      role: string,
      username: string,
      secretName: string,
    ): { secret: k8s.core.v1.Secret; password: pulumi.Output<string> } => {
      const password = new random.RandomPassword(
        `${name}-${role}-password`,
        { length: 32, special: false },
        { parent: this },
      );
      const secret = new k8s.core.v1.Secret(
        `${name}-${role}-secret`,
        {
          metadata: {
            name: secretName,
            namespace: ns.metadata.name,
            // CloudNativePG reloads managed-role passwords from Secrets with this label.
            labels: { "cnpg.io/reload": "true", "app.kubernetes.io/part-of": "ducklake" },
          },
          type: "kubernetes.io/basic-auth",
          stringData: { username, password: pulumi.secret(password.result) },
        },
        childOpts,
      );
      return { secret, password: pulumi.secret(password.result) };
    };
    const superuser = credential("superuser", "postgres", names.superuser);
    const owner = credential("owner", config.ownerRole, names.owner);
    const app = credential("app", config.appUser, names.app);
    const monitoring = credential("monitoring", config.monitoringUser, names.monitoring);

    // Custom queries verbatim in a Secret (the chart can reference a Secret, not an existing ConfigMap,
    // and its own customQueries list drops primary/cache_seconds). Not sensitive; labelled for reload.
    const queriesSecret =
      args.monitoringQueriesYaml === undefined
        ? undefined
        : new k8s.core.v1.Secret(
            `${name}-custom-queries`,
            {
              metadata: {
                name: customQueriesSecretName(config.clusterName),
                namespace: ns.metadata.name,
                labels: { "cnpg.io/reload": "true", "app.kubernetes.io/part-of": "ducklake" },
              },
              type: "Opaque",
              stringData: { [CUSTOM_QUERIES_KEY]: args.monitoringQueriesYaml },
            },
            childOpts,
          );

    const operatorValues = buildOperatorValues(config);
    this.operatorRelease = new k8s.helm.v3.Release(
      `${name}-operator`,
      {
        name: "cnpg",
        chart: CNPG_OPERATOR_CHART.chart,
        version: CNPG_OPERATOR_CHART.version,
        repositoryOpts: { repo: CNPG_HELM_REPO },
        namespace: config.operatorNamespace,
        createNamespace: true,
        values: operatorValues,
        timeout: 600,
      },
      { ...childOpts, dependsOn: [...(args.prerequisites ?? [])] },
    );

    // The Barman Cloud plugin (backups, restores): beside the operator, before the cluster release, whose
    // pre-install hook creates the plugin's ObjectStore (the plugin release installs that CRD).
    this.barmanPluginRelease = usesArchive
      ? new k8s.helm.v3.Release(
          `${name}-barman-cloud`,
          {
            name: CNPG_BARMAN_PLUGIN_CHART.chart,
            chart: CNPG_BARMAN_PLUGIN_CHART.chart,
            version: CNPG_BARMAN_PLUGIN_CHART.version,
            repositoryOpts: { repo: CNPG_HELM_REPO },
            namespace: config.operatorNamespace,
            values: {},
            timeout: 600,
          },
          { ...childOpts, dependsOn: [this.operatorRelease, ...(args.prerequisites ?? [])] },
        )
      : undefined;

    this.clusterRelease = new k8s.helm.v3.Release(
      `${name}-cluster`,
      {
        name: config.clusterName,
        chart: CNPG_CLUSTER_CHART.chart,
        version: CNPG_CLUSTER_CHART.version,
        repositoryOpts: { repo: CNPG_HELM_REPO },
        namespace: ns.metadata.name,
        values: clusterValues,
        timeout: 900,
      },
      {
        ...childOpts,
        dependsOn: [
          this.operatorRelease,
          ...(this.barmanPluginRelease ? [this.barmanPluginRelease] : []),
          superuser.secret,
          owner.secret,
          app.secret,
          monitoring.secret,
          ...(queriesSecret ? [queriesSecret] : []),
          ...(args.prerequisites ?? []),
        ],
      },
    );

    new k8s.networking.v1.NetworkPolicy(
      `${name}-instances-netpol`,
      {
        metadata: { name: `${config.clusterName}-instances`, namespace: ns.metadata.name },
        spec: instanceNetworkPolicySpec(config, args.metricsScrapers),
      },
      childOpts,
    );
    if (config.pooler.enabled) {
      new k8s.networking.v1.NetworkPolicy(
        `${name}-pooler-netpol`,
        {
          metadata: { name: `${config.clusterName}-pooler`, namespace: ns.metadata.name },
          spec: poolerNetworkPolicySpec(config),
        },
        childOpts,
      );
    }

    // Hosts depend on the cluster release, so consumers wait for it.
    const hosts = pulumi
      .all([this.clusterRelease.id, ns.metadata.name])
      .apply(([, n]) => serviceHosts(config.clusterName, n));
    this.namespace = ns.metadata.name;
    this.rwHost = hosts.rw;
    this.roHost = hosts.ro;
    this.poolerHost = config.pooler.enabled ? hosts.pooler : undefined;
    this.port = pulumi.output(POSTGRES_PORT);
    this.database = pulumi.output(config.database);
    this.appUser = pulumi.output(config.appUser);
    this.ownerRole = pulumi.output(config.ownerRole);
    this.appSecretName = app.secret.metadata.name;
    this.ownerSecretName = owner.secret.metadata.name;
    this.superuserSecretName = superuser.secret.metadata.name;
    const uriFor = (
      user: string,
      password: pulumi.Output<string>,
      host: pulumi.Output<string>,
    ): pulumi.Output<string> =>
      pulumi.secret(
        pulumi
          .all([password, host])
          .apply(
            ([p, h]) =>
              `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(p)}@${h}:${POSTGRES_PORT}/${encodeURIComponent(config.database)}`,
          ),
      );
    this.connectionUri = uriFor(config.appUser, app.password, this.rwHost);
    this.pooledConnectionUri =
      this.poolerHost === undefined ? undefined : uriFor(config.appUser, app.password, this.poolerHost);
    this.monitoringUser = pulumi.output(config.monitoringUser);
    this.monitoringSecretName = monitoring.secret.metadata.name;
    this.monitoringConnectionUri = uriFor(config.monitoringUser, monitoring.password, this.rwHost);

    // The app role's credentials in each application namespace: a Secret per namespace, written by this stack from
    // the same generated password (a Pulumi secret), so a new password reaches every copy in the same `pulumi up`.
    // CloudNativePG keeps reading the original (a pod can only mount Secrets of its own namespace). The namespaces
    // are read, not created: a missing one fails the preview with what to do (../prerequisites.ts).
    const copies = [...readAppNamespaces(config, childOpts)].map(
      ([appNamespace, read]) =>
        new k8s.core.v1.Secret(
          `${name}-app-secret-in-${appNamespace}`,
          {
            metadata: {
              name: names.app,
              namespace: appNamespace,
              labels: { "app.kubernetes.io/part-of": "ducklake" },
              annotations: { "ducklake.io/copy-of": `${config.namespace}/${names.app}` },
            },
            type: "kubernetes.io/basic-auth",
            stringData: appSecretCopyData({
              username: config.appUser,
              password: app.password,
              database: config.database,
              host: this.rwHost,
              uri: this.connectionUri,
              pooledUri: this.pooledConnectionUri,
            }),
          },
          { ...childOpts, dependsOn: [read] },
        ),
    );
    this.appSecretNamespaces = pulumi
      .all([ns.metadata.name, ...copies.map((c) => c.metadata.namespace)])
      .apply((namespaces) => namespaces.map((n) => n ?? ""));

    this.registerOutputs({
      namespace: this.namespace,
      rwHost: this.rwHost,
      roHost: this.roHost,
      poolerHost: this.poolerHost,
      port: this.port,
      database: this.database,
      appUser: this.appUser,
      ownerRole: this.ownerRole,
      appSecretName: this.appSecretName,
      ownerSecretName: this.ownerSecretName,
      superuserSecretName: this.superuserSecretName,
      monitoringUser: this.monitoringUser,
      monitoringSecretName: this.monitoringSecretName,
      monitoringConnectionUri: this.monitoringConnectionUri,
      appSecretNamespaces: this.appSecretNamespaces,
      connectionUri: this.connectionUri,
      pooledConnectionUri: this.pooledConnectionUri,
      operatorRelease: this.operatorRelease,
      clusterRelease: this.clusterRelease,
    });
  }
}

/**
 * The keys of a copy of the app role's credentials Secret: `username` and `password` (the `kubernetes.io/basic-auth`
 * keys of the original) and, named as in the Secrets CloudNativePG generates (pkg/specs/secrets.go `CreateSecret`:
 * `dbname`, `host`, `port`, `uri`), the database, the primary's read-write host, the port and the connection URI
 * (the primary directly); with the pooler, `pooled-uri` as well. Password and URIs stay Pulumi secrets.
 */
export function appSecretCopyData(input: {
  readonly username: string;
  readonly password: pulumi.Output<string>;
  readonly database: string;
  readonly host: pulumi.Input<string>;
  readonly uri: pulumi.Output<string>;
  readonly pooledUri?: pulumi.Output<string>;
}): Record<string, pulumi.Input<string>> {
  return {
    username: input.username,
    password: pulumi.secret(input.password),
    dbname: input.database,
    host: input.host,
    port: String(POSTGRES_PORT),
    uri: pulumi.secret(input.uri),
    ...(input.pooledUri !== undefined ? { "pooled-uri": pulumi.secret(input.pooledUri) } : {}),
  };
}
