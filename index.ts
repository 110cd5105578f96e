/**
 * Composition root: load and validate the stack's config (nothing is created when it is invalid),
 * make the providers, then the components, then the stack outputs apps consume.
 *
 * dev  (`cluster.provider: kind`): the existing local cluster through a kubeconfig context.
 * prod (`cluster.provider: eks`): the existing EKS cluster by name, plus its SSD node group and gp3 class.
 */
import * as pulumi from "@pulumi/pulumi";
import { deriveStack, loadConfig } from "./components/stack";
import { createProviders } from "./components/providers";
import { AwsInfrastructure, createAwsInfrastructure } from "./components/aws/infrastructure";
import { Logging } from "./components/logging/logging";
import { PostgresCluster } from "./components/postgres/cluster";
import { resolveImage } from "./components/postgres/image";
import { QueueBootstrap } from "./components/queue/bootstrap-job";
import { PartitionMaintenance } from "./components/queue/partition-maintenance-job";
import { QueueAlerts } from "./components/queue/queue-alerts";
import { readKindNodeCapacity, readRequiredCrds } from "./components/prerequisites";
import { BackupStorage } from "./components/aws/backup-storage";

const { config, secrets } = loadConfig();
const project = pulumi.getProject();
const stack = pulumi.getStack();
// Every decision (tuning, budget, runway, bootstrap SQL, cluster inputs), derived once; components wire it.
const decisions = deriveStack(config, stack);

// ---- providers: kube context on kind; on EKS the AWS provider, the cluster's kubeconfig, IRSA's OIDC provider
const providers = createProviders(config, project, stack);
const k8sProvider = providers.kubernetes;
const awsProvider = providers.aws;
const eksOidc = providers.eksOidc;

// ---- hardware (prod): SSD node group, EBS CSI driver and the gp3 StorageClass; nothing on kind --
const infra: AwsInfrastructure = createAwsInfrastructure("ducklake", config, {
  aws: awsProvider ? { providers: { aws: awsProvider } } : undefined,
  kubernetes: awsProvider ? { providers: { aws: awsProvider, kubernetes: k8sProvider } } : undefined,
  oidcProviderArn: eksOidc?.oidcProviderArn,
});

// ---- PostgreSQL: CloudNativePG operator + cluster, tuned by the tuning engine ---------------------
const pgInputs = decisions.postgres;
// Prerequisites: the CRDs the releases render objects for (Prometheus Operator's with podMonitor), read
// in preview so a missing one fails before anything is created.
// On kind, the node's allocatable CPU and memory are checked against the stack's requests the same way.
const kindNode = readKindNodeCapacity(config, k8sProvider);
const prerequisites = [...readRequiredCrds(config, k8sProvider), ...(kindNode ? [kindNode.read] : [])];
// Backups and restores (EKS; the loader refuses them on kind): the S3 bucket and the IRSA role of the cluster's
// ServiceAccount, used by the Barman Cloud plugin.
const backupStorage =
  (config.postgres.backups.enabled || config.postgres.recovery !== undefined) &&
  config.cluster.provider === "eks" &&
  eksOidc !== undefined
    ? new BackupStorage(
        "postgres-backups",
        {
          backups: config.postgres.backups,
          recovery: config.postgres.recovery,
          region: config.cluster.region,
          namespace: config.postgres.namespace,
          clusterName: config.postgres.clusterName,
          oidcProviderArn: eksOidc.oidcProviderArn,
          oidcIssuerUrl: eksOidc.oidcIssuerUrl,
          project,
          stack,
          tags: config.tags,
        },
        { providers: awsProvider ? { aws: awsProvider } : undefined },
      )
    : undefined;
const postgres = new PostgresCluster(
  "postgres",
  {
    ...pgInputs,
    storageClassName: infra.storageClassName,
    provider: k8sProvider,
    prerequisites,
    backupDestination: backupStorage?.destination,
  },
  // Volumes wait for their class and pods for their nodes.
  {
    provider: k8sProvider,
    dependsOn: [infra.storage, infra.nodeGroup].filter((r): r is NonNullable<typeof r> => r !== undefined),
  },
);

// ---- queue bootstrap: idempotent SQL applied by a Job named after its hash ----------------------
const postgresImage = resolveImage(config.postgres);
const bootstrap = new QueueBootstrap(
  "queue-bootstrap",
  {
    namespace: postgres.namespace,
    host: postgres.rwHost,
    port: postgres.port,
    database: postgres.database,
    superuserSecretName: postgres.superuserSecretName,
    sql: decisions.bootstrapSql,
    // The cluster's own image: the same major's psql and pg_isready, already pulled on the nodes; run as
    // that image's postgres user (999 on the default image, built on the Docker official one).
    image: postgresImage.image,
    runAsUser: postgresImage.postgresUid,
    labels: { "ducklake.io/role": "queue-bootstrap" },
  },
  { provider: k8sProvider, dependsOn: [postgres.clusterRelease] },
);

// Partitions follow each queue's sequence, not its rows (pg_partman's worker makes none for an empty
// queue): a CronJob runs ops.run_partition_maintenance() as the owner every maintenance period.
const partitionMaintenance = new PartitionMaintenance(
  "partition-maintenance",
  {
    namespace: postgres.namespace,
    host: postgres.rwHost,
    port: postgres.port,
    database: postgres.database,
    ownerSecretName: postgres.ownerSecretName,
    schedule: decisions.partitionMaintenance,
    image: postgresImage.image,
    runAsUser: postgresImage.postgresUid,
  },
  { provider: k8sProvider, dependsOn: [bootstrap] },
);

// The queue's alert rules as a PrometheusRule where the Prometheus Operator is (podMonitor; its CRD is a
// prerequisite read above); every stack's plan also writes them as a plain rules file.
if (config.postgres.podMonitor) {
  new QueueAlerts(
    "queue-alerts",
    { namespace: postgres.namespace, rules: decisions.alertRules },
    { provider: k8sProvider, dependsOn: prerequisites },
  );
}

// ---- logs and dev's metrics: Loki (single binary), the log agent, optional Prometheus and Grafana ---
const logging = new Logging(
  "logging",
  {
    config: config.logging,
    storageClassName: infra.storageClassName,
    stack,
    project,
    tags: config.tags,
    aws: config.logging.loki.storage.type === "s3" ? eksOidc : undefined,
    postgresNamespace: config.postgres.namespace,
    postgresClusterName: config.postgres.clusterName,
    grafanaAdminPassword: secrets.grafanaAdminPassword,
    // with logging.prometheus (dev): its /alerts page shows the queue's alerts, Grafana provisions the dashboard
    metrics: { alertRules: decisions.alertRules, dashboards: { "ducklake-queue.json": decisions.dashboardJson } },
  },
  { providers: awsProvider ? { kubernetes: k8sProvider, aws: awsProvider } : { kubernetes: k8sProvider } },
);

// ---- stack outputs -----------------------------------------------------------------------------
/** Read-write host apps connect to: the PgBouncer pooler when enabled, else the `-rw` service. */
export const postgresHost = postgres.poolerHost ?? postgres.rwHost;
/** Read-write service of the primary (bypassing the pooler). */
export const postgresPrimaryHost = postgres.rwHost;
/** Read-only service (replicas). */
export const postgresReadOnlyHost = postgres.roHost;
/** TCP port. */
export const postgresPort = postgres.port;
/** Application database. */
export const postgresDatabase = postgres.database;
/** Application role: send, read, archive and delete on its queues, nothing more. */
export const postgresUser = postgres.appUser;
/** Kubernetes Secret (type kubernetes.io/basic-auth) with the application role's credentials. */
export const postgresSecretName = postgres.appSecretName;
/** Namespace of that Secret. */
export const postgresSecretNamespace = postgres.namespace;
/** Every namespace holding that Secret: the cluster's, and a copy in each other application namespace (postgres.appNamespaces). */
export const postgresSecretNamespaces = postgres.appSecretNamespaces;
/** Connection URI of the application role to the primary, bypassing the pooler (a Pulumi secret). */
export const postgresConnectionUri = postgres.connectionUri;
/** Connection URI of the application role through the PgBouncer pooler, when enabled (a Pulumi secret). */
export const postgresPooledConnectionUri = postgres.pooledConnectionUri;
/** Monitoring role: a member of pg_monitor, reads the ops monitoring views; no message API, no writes. */
export const postgresMonitoringUser = postgres.monitoringUser;
/** Kubernetes Secret (kubernetes.io/basic-auth) with the monitoring role's credentials, in postgresSecretNamespace. */
export const postgresMonitoringSecretName = postgres.monitoringSecretName;
/** Connection URI of the monitoring role to the primary (a Pulumi secret). */
export const postgresMonitoringConnectionUri = postgres.monitoringConnectionUri;
/** Name of the Job that applied the current bootstrap SQL (its logs hold the output). */
export const bootstrapJobName = bootstrap.jobName;
/** The partition-maintenance CronJob (its Jobs' logs hold each run's NOTICEs) and its schedule (UTC). */
export const partitionMaintenanceCronJob = partitionMaintenance.cronJobName;
export const partitionMaintenanceSchedule = partitionMaintenance.schedule;
/** Data-loss window of the stack's synchronous_commit setting. */
export const durability = pgInputs.tuning.durability.summary;
/** Names of the PGMQ queues the bootstrap creates (dead-letter queues included). */
export const queueNames = decisions.queueNames;
/** S3 bucket of the WAL archive and base backups (backups on), and the IRSA role barman-cloud uses. */
export const backupBucketName = backupStorage?.bucketName;
export const backupRoleArn = backupStorage?.roleArn;
/** StorageClass of the Postgres volumes. */
export const storageClassName = infra.storageClassName;
/** Postgres node group (prod). */
export const nodeGroupName = infra.nodeGroup?.nodeGroupName;
/** IAM role of the Postgres nodes (prod). */
export const nodeRoleArn = infra.nodeGroup?.roleArn;
/** Loki push endpoint (in-cluster). */
export const lokiPushUrl = logging.pushUrl;
/** Loki query endpoint (in-cluster; API under /loki/api/v1/). */
export const lokiQueryUrl = logging.queryUrl;
/** Kubernetes provider name, for programs that extend this stack. */
export const kubernetesProviderUrn = k8sProvider.urn;
