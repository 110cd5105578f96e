/**
 * Helm values of the Prometheus chart (PROMETHEUS_CHART) for a stack without a Prometheus of its own
 * (`logging.prometheus`, dev on kind): the server alone, scraping the CloudNativePG instances' metrics port and
 * nothing else, its samples on a small PVC, the queue's alert rules loaded (shown on its /alerts page; there is no
 * Alertmanager to send them), and the Service Grafana reads as its Prometheus data source.
 *
 * CloudNativePG serves each instance's metrics over HTTP on port 9187, named `metrics`, path `/metrics`
 * (https://cloudnative-pg.io/documentation/current/monitoring/, "Monitoring Instances"); the scrape job selects
 * those pods by the labels the operator's own PodMonitor selects (`cnpg.io/cluster`, `cnpg.io/podRole: instance`)
 * and adds the `namespace` and `pod` labels a PodMonitor adds, so the dashboard's and the alerts' PromQL read the
 * same series on dev as on prod.
 */
import { INSTANCE_METRICS_PORT } from "../postgres/charts";
import type { NetworkPolicyPeer } from "../postgres/network-policy";
import { RELEASE_NAMES } from "./charts";

/** The Prometheus server's resources (components/kind-capacity.ts sums the requests; the project's choice for a few thousand series). */
export const PROMETHEUS_RESOURCES = {
  requests: { cpu: "50m", memory: "256Mi" },
  limits: { memory: "512Mi" },
} as const;

/** The chart's config reloader sidecar (prometheus-config-reloader), which makes a changed scrape config take effect. */
export const PROMETHEUS_RELOADER_RESOURCES = {
  requests: { cpu: "10m", memory: "32Mi" },
  limits: { memory: "64Mi" },
} as const;

/**
 * Scrape and rule-evaluation interval: 30 s, so the dashboard's 5-minute `rate()` windows hold 10 samples
 * (components/queue/dashboard.ts RATE_WINDOW). The chart's default is 1m (values.yaml `server.global`).
 */
export const PROMETHEUS_SCRAPE_INTERVAL = "30s";

/** Name of the scrape job (the `job` label of every CloudNativePG series). */
export const CNPG_SCRAPE_JOB = "cloudnative-pg";

/**
 * Labels of the Prometheus server pod (the chart's templates/_helpers.tpl `prometheus.server.matchLabels`, with
 * `server.name` `server` and the release name `prometheus`): the Postgres NetworkPolicy lets these pods reach 9187.
 */
export const PROMETHEUS_SERVER_LABELS = {
  "app.kubernetes.io/component": "server",
  "app.kubernetes.io/name": "prometheus",
  "app.kubernetes.io/instance": RELEASE_NAMES.prometheus,
} as const;

/**
 * The NetworkPolicy peer of the Prometheus server pod in the logging namespace (namespace and pod selected
 * together), which the Postgres instances' policy lets reach the metrics port.
 */
export function prometheusScraperPeer(loggingNamespace: string): NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": loggingNamespace } },
    podSelector: { matchLabels: { ...PROMETHEUS_SERVER_LABELS } },
  };
}

/**
 * The in-cluster URL of the Prometheus server: its Service is `<release>-server` (templates/_helpers.tpl
 * `prometheus.server.fullname`: the release name contains the chart name) on port 80 (`server.service.servicePort`).
 */
export function prometheusUrl(namespace: string): string {
  return `http://${RELEASE_NAMES.prometheus}-server.${namespace}.svc.cluster.local`;
}

/**
 * The scrape job of the CloudNativePG instances of one cluster: pod discovery in the Postgres namespace only, kept
 * when the pod belongs to the cluster, is an instance (not a pooler) and the port is the metrics port.
 * @returns one Prometheus `scrape_config` without `job_name` (the chart's `scrapeConfigs` map key names the job).
 */
export function cnpgScrapeConfig(postgresNamespace: string, clusterName: string): Record<string, unknown> {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return {
    kubernetes_sd_configs: [{ role: "pod", namespaces: { names: [postgresNamespace] } }],
    relabel_configs: [
      {
        source_labels: ["__meta_kubernetes_pod_label_cnpg_io_cluster"],
        regex: escape(clusterName),
        action: "keep",
      },
      { source_labels: ["__meta_kubernetes_pod_label_cnpg_io_podRole"], regex: "instance", action: "keep" },
      {
        source_labels: ["__meta_kubernetes_pod_container_port_number"],
        regex: String(INSTANCE_METRICS_PORT),
        action: "keep",
      },
      { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
      { source_labels: ["__meta_kubernetes_pod_name"], target_label: "pod" },
    ],
  };
}

/** The jobs the chart's `scrapeConfigs` enables by default (values.yaml), all turned off: only Postgres is scraped. */
export const CHART_DEFAULT_SCRAPE_JOBS = [
  "prometheus",
  "kubernetes-api-servers",
  "kubernetes-nodes",
  "kubernetes-nodes-cadvisor",
  "kubernetes-service-endpoints",
  "kubernetes-service-endpoints-slow",
  "prometheus-pushgateway",
  "kubernetes-services",
  "kubernetes-pods",
  "kubernetes-pods-slow",
] as const;

/** Inputs of `buildPrometheusValues`. */
export interface PrometheusValuesInput {
  /** Namespace of the CloudNativePG cluster. */
  readonly postgresNamespace: string;
  /** Name of the CloudNativePG cluster (the `cnpg.io/cluster` label of its pods). */
  readonly postgresClusterName: string;
  /** Retention in hours (`server.retention`). */
  readonly retentionHours: number;
  /** PVC size in GiB. */
  readonly sizeGiB: number;
  /** StorageClass of the PVC. */
  readonly storageClassName: string;
  /** A Prometheus rules file (`{groups: [...]}`) loaded as `alerting_rules.yml`; none when absent. */
  readonly alertRules?: unknown;
}

/**
 * Size-based retention: four fifths of the PVC, in MB (Prometheus reads `--storage.tsdb.retention.size` units as
 * powers of two: https://prometheus.io/docs/prometheus/latest/storage/#operational-aspects). The fifth left free is
 * the project's margin for compaction; whichever of time and size is reached first drops the oldest blocks.
 */
export function prometheusRetentionSize(sizeGiB: number): string {
  return `${Math.floor(sizeGiB * 1024 * 0.8)}MB`;
}

/**
 * Prometheus chart values: the server with a PVC of the stack's class, `retentionHours` and a size cap, a 30 s
 * scrape interval, the CloudNativePG job and none of the chart's default jobs, the alert rules as
 * `alerting_rules.yml`, and the chart's alertmanager, kube-state-metrics, node-exporter and pushgateway subcharts
 * off. Keys are those of the chart's values.yaml (chart-keys/prometheus-*.json; `scrapeConfigs` takes new job
 * names, values.yaml: "Further scrapeConfigs can be added as new keys").
 * @returns plain values, stable key order.
 */
export function buildPrometheusValues(input: PrometheusValuesInput): Record<string, unknown> {
  const scrapeConfigs: Record<string, unknown> = {};
  for (const job of CHART_DEFAULT_SCRAPE_JOBS) scrapeConfigs[job] = { enabled: false };
  scrapeConfigs[CNPG_SCRAPE_JOB] = cnpgScrapeConfig(input.postgresNamespace, input.postgresClusterName);
  return {
    server: {
      global: {
        scrape_interval: PROMETHEUS_SCRAPE_INTERVAL,
        scrape_timeout: "10s",
        evaluation_interval: PROMETHEUS_SCRAPE_INTERVAL,
      },
      persistentVolume: {
        enabled: true,
        size: `${input.sizeGiB}Gi`,
        storageClass: input.storageClassName,
      },
      retention: `${input.retentionHours}h`,
      retentionSize: prometheusRetentionSize(input.sizeGiB),
      resources: PROMETHEUS_RESOURCES,
    },
    configmapReload: { prometheus: { resources: PROMETHEUS_RELOADER_RESOURCES } },
    scrapeConfigs,
    serverFiles: { "alerting_rules.yml": input.alertRules ?? {} },
    alertmanager: { enabled: false },
    "kube-state-metrics": { enabled: false },
    "prometheus-node-exporter": { enabled: false },
    "prometheus-pushgateway": { enabled: false },
  };
}
