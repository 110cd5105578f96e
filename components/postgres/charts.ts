/**
 * The CloudNativePG charts this project pins, and the names and ports CloudNativePG fixes: one home for
 * the constants the values, the NetworkPolicies and the outputs share.
 */
/** Helm repository of both CloudNativePG charts. Source: https://cloudnative-pg.io/charts/ */
export const CNPG_HELM_REPO = "https://cloudnative-pg.github.io/charts";

/** Operator chart `cloudnative-pg`, pinned. Chart 0.29.0 ships appVersion 1.30.0 (operator 1.30.0 and its CRDs). */
export const CNPG_OPERATOR_CHART = { chart: "cloudnative-pg", version: "0.29.0", appVersion: "1.30.0" } as const;

/** Cluster chart `cluster`, pinned. Chart 0.8.1 has no appVersion; it renders `postgresql.cnpg.io/v1` objects for the operator above. */
export const CNPG_CLUSTER_CHART = { chart: "cluster", version: "0.8.1" } as const;

/**
 * The Barman Cloud plugin's chart `plugin-barman-cloud`, pinned (backups and restores, ./backups.ts). Chart 0.7.0
 * ships plugin v0.13.0 (needs CloudNativePG 1.26 or later; the operator above is 1.30.0) and requires cert-manager.
 * It is installed in the operator's namespace, as its README's `helm upgrade --install plugin-barman-cloud
 * --namespace cnpg-system` does.
 */
export const CNPG_BARMAN_PLUGIN_CHART = {
  chart: "plugin-barman-cloud",
  version: "0.7.0",
  appVersion: "v0.13.0",
} as const;

/** PostgreSQL's port in CloudNativePG instances (fixed by the operator: `port` is a fixed parameter). */
export const POSTGRES_PORT = 5432;
/** Port of the instance manager's status endpoint the operator polls. Source: https://cloudnative-pg.io/documentation/current/networking/ */
export const INSTANCE_STATUS_PORT = 8000;
/** Port of the instance's Prometheus exporter. Source: https://cloudnative-pg.io/documentation/current/monitoring/ */
export const INSTANCE_METRICS_PORT = 9187;
/** Port of PgBouncer's Prometheus exporter in a CloudNativePG Pooler. Source: https://cloudnative-pg.io/documentation/current/connection_pooling/#monitoring */
export const POOLER_METRICS_PORT = 9127;

/** Label of the queue bootstrap Job's pods; the NetworkPolicy lets pods with it reach Postgres. */
export const BOOTSTRAP_ROLE_LABEL = { key: "ducklake.io/role", value: "queue-bootstrap" } as const;
/** Label of the partition-maintenance CronJob's pods; the instance NetworkPolicy admits them to 5432. */
export const PARTITION_MAINTENANCE_ROLE_LABEL = { key: "ducklake.io/role", value: "partition-maintenance" } as const;

/** Name of the PgBouncer pooler in the cluster chart's `poolers` list (the Pooler is `<cluster>-pooler-rw`). */
export const POOLER_NAME = "rw";
