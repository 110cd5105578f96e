/**
 * NetworkPolicy specs of the Postgres instances and the PgBouncer pooler: who may reach PostgreSQL, the
 * instance manager's status port and the metrics ports.
 */
import type * as k8sInput from "@pulumi/kubernetes/types/input";
import type { PostgresConfig } from "../../config/postgres";
import {
  BOOTSTRAP_ROLE_LABEL,
  PARTITION_MAINTENANCE_ROLE_LABEL,
  CNPG_OPERATOR_CHART,
  INSTANCE_METRICS_PORT,
  INSTANCE_STATUS_PORT,
  POOLER_METRICS_PORT,
  POSTGRES_PORT,
} from "./charts";

/** networking.k8s.io/v1 `NetworkPolicySpec` (type only; the values are plain data). */
export type NetworkPolicySpec = k8sInput.networking.v1.NetworkPolicySpec;
/** A NetworkPolicy ingress peer (networking.k8s.io/v1 `NetworkPolicyPeer`). */
export type NetworkPolicyPeer = k8sInput.networking.v1.NetworkPolicyPeer;
type Peer = NetworkPolicyPeer;

function namespacesIn(names: readonly string[]): Peer {
  return {
    namespaceSelector: {
      matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [...names] }],
    },
  };
}

function tcp(...ports: number[]): Array<{ protocol: string; port: number }> {
  return ports.map((port) => ({ protocol: "TCP", port }));
}

/**
 * NetworkPolicy spec of the Postgres instance pods: ingress only from the application namespaces and
 * the bootstrap Job and the partition-maintenance CronJob (5432), the operator (8000 and 5432, per
 * https://cloudnative-pg.io/documentation/current/networking/), the cluster's own pods (replication,
 * join jobs, pooler; 5432 and 8000), the metrics namespaces and the given scrapers (9187). Egress is not restricted.
 * @param scrapers pods outside `metricsNamespaces` that scrape the metrics port (the stack's own Prometheus).
 */
export function instanceNetworkPolicySpec(
  config: PostgresConfig,
  scrapers: readonly NetworkPolicyPeer[] = [],
): NetworkPolicySpec {
  return {
    podSelector: { matchLabels: { "cnpg.io/cluster": config.clusterName, "cnpg.io/podRole": "instance" } },
    policyTypes: ["Ingress"],
    ingress: [
      { from: [namespacesIn(config.appNamespaces)], ports: tcp(POSTGRES_PORT) },
      {
        from: [
          { podSelector: { matchLabels: { [BOOTSTRAP_ROLE_LABEL.key]: BOOTSTRAP_ROLE_LABEL.value } } },
          {
            podSelector: {
              matchLabels: { [PARTITION_MAINTENANCE_ROLE_LABEL.key]: PARTITION_MAINTENANCE_ROLE_LABEL.value },
            },
          },
        ],
        ports: tcp(POSTGRES_PORT),
      },
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": config.operatorNamespace } },
            podSelector: { matchLabels: { "app.kubernetes.io/name": CNPG_OPERATOR_CHART.chart } },
          },
        ],
        ports: tcp(INSTANCE_STATUS_PORT, POSTGRES_PORT),
      },
      {
        from: [{ podSelector: { matchLabels: { "cnpg.io/cluster": config.clusterName } } }],
        ports: tcp(POSTGRES_PORT, INSTANCE_STATUS_PORT),
      },
      { from: [namespacesIn(config.metricsNamespaces), ...scrapers], ports: tcp(INSTANCE_METRICS_PORT) },
    ],
  };
}

/** NetworkPolicy spec of the PgBouncer pods (when the pooler is enabled): the application namespaces and the bootstrap Job on 5432, metrics on 9127. */
export function poolerNetworkPolicySpec(config: PostgresConfig): NetworkPolicySpec {
  return {
    podSelector: { matchLabels: { "cnpg.io/cluster": config.clusterName, "cnpg.io/podRole": "pooler" } },
    policyTypes: ["Ingress"],
    ingress: [
      { from: [namespacesIn(config.appNamespaces)], ports: tcp(POSTGRES_PORT) },
      {
        from: [{ podSelector: { matchLabels: { [BOOTSTRAP_ROLE_LABEL.key]: BOOTSTRAP_ROLE_LABEL.value } } }],
        ports: tcp(POSTGRES_PORT),
      },
      { from: [namespacesIn(config.metricsNamespaces)], ports: tcp(POOLER_METRICS_PORT) },
    ],
  };
}
