/**
 * Helm values of the Grafana chart (GRAFANA_CHART): one Grafana with Loki as its default data source, and with
 * dev's Prometheus (`logging.prometheus`) a Prometheus data source and the queue dashboard.
 * The admin password never appears in the values: the chart reads it from an existing Secret
 * (`admin.existingSecret`), which the Logging component creates.
 */
/** Grafana's pod resources (components/kind-capacity.ts sums the requests). */
export const GRAFANA_RESOURCES = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { memory: "512Mi" },
} as const;

/** Keys of the admin Secret, as the chart expects them (values.yaml `admin.userKey` / `admin.passwordKey`). */
export const GRAFANA_ADMIN_KEYS = { user: "admin-user", password: "admin-password" } as const;

/** Grafana's dashboard provider for the stack's dashboards: its name and the directory the chart mounts them in. */
export const DASHBOARD_PROVIDER = {
  name: "ducklake",
  folder: "DuckLake",
  path: "/var/lib/grafana/dashboards/ducklake",
} as const;

/** Inputs of `buildGrafanaValues`. */
export interface GrafanaValuesInput {
  /** Loki base URL for queries, `http://<svc>.<ns>.svc.cluster.local:3100`. */
  readonly lokiQueryUrl: string;
  /** Name of the Secret holding `admin-user` and `admin-password`, in Grafana's namespace. */
  readonly adminSecretName: string;
  /**
   * The Prometheus data source (uid `prometheus`), when the stack runs one: its URL and scrape interval (Grafana's
   * `timeInterval`, the shortest step it asks for). Absent: Loki only.
   */
  readonly prometheus?: { readonly url: string; readonly scrapeInterval: string };
  /** A ConfigMap in Grafana's namespace holding dashboard JSON files, provisioned read-only into folder DuckLake. */
  readonly dashboardsConfigMap?: string;
}

/**
 * Grafana chart values (no `fullnameOverride`: this chart's values.yaml has no such key, and the
 * release name `grafana` already names the objects `grafana`, templates/_helpers.tpl `grafana.fullname`):
 * admin credentials from an existing Secret, a provisioned Loki data source
 * (uid `loki`, default) and, with a stack's Prometheus, a Prometheus one (uid `prometheus`) and the stack's
 * dashboards from a ConfigMap, no persistence (dashboards and data sources are provisioned, nothing to
 * keep), no Helm test pod.
 * @returns plain values, stable key order. Keys are those of the chart's values.yaml
 *   (`datasources` is a free-form map of provisioning files).
 */
export function buildGrafanaValues(input: GrafanaValuesInput): Record<string, unknown> {
  const datasources: Array<Record<string, unknown>> = [
    {
      name: "Loki",
      type: "loki",
      uid: "loki",
      access: "proxy",
      url: input.lokiQueryUrl,
      isDefault: true,
      editable: false,
    },
  ];
  if (input.prometheus !== undefined) {
    datasources.push({
      name: "Prometheus",
      type: "prometheus",
      uid: "prometheus",
      access: "proxy",
      url: input.prometheus.url,
      isDefault: false,
      editable: false,
      // https://grafana.com/docs/grafana/latest/datasources/prometheus/configure/ "Scrape interval"
      jsonData: { timeInterval: input.prometheus.scrapeInterval },
    });
  }
  return {
    admin: {
      existingSecret: input.adminSecretName,
      userKey: GRAFANA_ADMIN_KEYS.user,
      passwordKey: GRAFANA_ADMIN_KEYS.password,
    },
    datasources: { "datasources.yaml": { apiVersion: 1, datasources } },
    // A file provider reading the directory the chart mounts `dashboardsConfigMaps.<provider>` in
    // (templates/_pod.tpl: /var/lib/grafana/dashboards/<provider>); provisioned dashboards cannot be saved from the UI.
    ...(input.dashboardsConfigMap !== undefined
      ? {
          dashboardProviders: {
            "dashboardproviders.yaml": {
              apiVersion: 1,
              providers: [
                {
                  name: DASHBOARD_PROVIDER.name,
                  orgId: 1,
                  folder: DASHBOARD_PROVIDER.folder,
                  type: "file",
                  disableDeletion: true,
                  allowUiUpdates: false,
                  options: { path: DASHBOARD_PROVIDER.path },
                },
              ],
            },
          },
          dashboardsConfigMaps: { [DASHBOARD_PROVIDER.name]: input.dashboardsConfigMap },
        }
      : {}),
    persistence: { enabled: false },
    testFramework: { enabled: false },
    resources: GRAFANA_RESOURCES,
  };
}
