/**
 * Helm values of the Grafana chart (GRAFANA_CHART): one Grafana with Loki as its default data source.
 * The admin password never appears in the values: the chart reads it from an existing Secret
 * (`admin.existingSecret`), which the Logging component creates.
 */
/** Keys of the admin Secret, as the chart expects them (values.yaml `admin.userKey` / `admin.passwordKey`). */
/** Grafana's pod resources (components/kind-capacity.ts sums the requests). */
export const GRAFANA_RESOURCES = {
  requests: { cpu: "50m", memory: "128Mi" },
  limits: { memory: "512Mi" },
} as const;

export const GRAFANA_ADMIN_KEYS = { user: "admin-user", password: "admin-password" } as const;

/** Inputs of `buildGrafanaValues`. */
export interface GrafanaValuesInput {
  /** Loki base URL for queries, `http://<svc>.<ns>.svc.cluster.local:3100`. */
  readonly lokiQueryUrl: string;
  /** Name of the Secret holding `admin-user` and `admin-password`, in Grafana's namespace. */
  readonly adminSecretName: string;
}

/**
 * Grafana chart values (no `fullnameOverride`: this chart's values.yaml has no such key, and the
 * release name `grafana` already names the objects `grafana`, templates/_helpers.tpl `grafana.fullname`):
 * admin credentials from an existing Secret, a provisioned Loki data source
 * (uid `loki`, default), no persistence (dashboards and data sources are provisioned, nothing to
 * keep), no Helm test pod.
 * @returns plain values, stable key order. Keys are those of the chart's values.yaml
 *   (`datasources` is a free-form map of provisioning files).
 */
export function buildGrafanaValues(input: GrafanaValuesInput): Record<string, unknown> {
  return {
    admin: {
      existingSecret: input.adminSecretName,
      userKey: GRAFANA_ADMIN_KEYS.user,
      passwordKey: GRAFANA_ADMIN_KEYS.password,
    },
    datasources: {
      "datasources.yaml": {
        apiVersion: 1,
        datasources: [
          {
            name: "Loki",
            type: "loki",
            uid: "loki",
            access: "proxy",
            url: input.lokiQueryUrl,
            isDefault: true,
            editable: false,
          },
        ],
      },
    },
    persistence: { enabled: false },
    testFramework: { enabled: false },
    resources: GRAFANA_RESOURCES,
  };
}
