/**
 * Example: an application's own Pulumi program that puts the DuckLake PGMQ queue database into its stack,
 * importing only the package's entry point (`ducklake-pgmq`, package.json `exports`), never deep paths.
 *
 * Its stack file carries the same `ducklake:*` keys as the ducklake-pgmq stacks, so `loadConfig` applies every
 * rule before anything is created; `deriveStack` computes the tuning, runway and bootstrap SQL once; the program
 * wires the components with its own Kubernetes provider, beside its own resources (here the app's namespace).
 *
 * Run it: `npm run build` at the repository root, then here `npm install`, `pulumi stack init dev`, `pulumi up`.
 * test/examples/queue-database.test.ts runs it under Pulumi's mocks.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  deriveStack,
  loadConfig,
  PartitionMaintenance,
  PostgresCluster,
  QueueBootstrap,
  readRequiredCrds,
  resolveImage,
} from "ducklake-pgmq";

const app = new pulumi.Config();
const stack = pulumi.getStack();
// Every ducklake:* key, checked by every rule (all problems at once); nothing is created when one is broken.
const { config } = loadConfig();
const decisions = deriveStack(config, stack);

// This program's own provider and resources.
const provider = new k8s.Provider("app-cluster", { context: app.get("kubeContext") ?? "kind-ducklake" });
const appNamespace = new k8s.core.v1.Namespace(
  "app",
  { metadata: { name: app.get("appNamespace") ?? "lineage" } },
  { provider },
);

// The queue database: CloudNativePG operator + cluster, tuned; the queue bootstrap Job; partition maintenance.
const prerequisites = readRequiredCrds(config, provider);
const postgres = new PostgresCluster(
  "queue-db",
  { ...decisions.postgres, storageClassName: config.storage.className, provider, prerequisites },
  { provider },
);
const image = resolveImage(config.postgres);
const bootstrap = new QueueBootstrap(
  "queue-db-bootstrap",
  {
    namespace: postgres.namespace,
    host: postgres.rwHost,
    port: postgres.port,
    database: postgres.database,
    superuserSecretName: postgres.superuserSecretName,
    sql: decisions.bootstrapSql,
    image: image.image,
    runAsUser: image.postgresUid,
  },
  { provider, dependsOn: [postgres.clusterRelease] },
);
new PartitionMaintenance(
  "queue-db-partitions",
  {
    namespace: postgres.namespace,
    host: postgres.rwHost,
    port: postgres.port,
    database: postgres.database,
    ownerSecretName: postgres.ownerSecretName,
    schedule: decisions.partitionMaintenance,
    image: image.image,
    runAsUser: image.postgresUid,
  },
  { provider, dependsOn: [bootstrap] },
);

/** The app's namespace. */
export const namespace = appNamespace.metadata.name;
/** Where the app connects: the pooler when enabled, else the primary's service. */
export const queueHost = postgres.poolerHost ?? postgres.rwHost;
/** The app role's connection URI to the primary (a Pulumi secret). */
export const queueConnectionUri = postgres.connectionUri;
/** The PGMQ queues the bootstrap creates. */
export const queueNames = decisions.queueNames;
