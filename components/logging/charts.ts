/**
 * The Helm charts of the logging stack, versions pinned. Each chart's values keys were read from the
 * chart's own values.yaml at the pinned tag; `chart-keys/*.json` is the key inventory derived from those
 * files, and test/logging/value-keys.test.ts checks every rendered key against it (Helm silently
 * ignores a misspelled key).
 */

/** A pinned Helm chart. */
export interface PinnedChart {
  /** Chart name in its repository. */
  readonly chart: string;
  /** Chart version (not the app version). */
  readonly version: string;
  /** Version of the application the chart deploys by default (its `appVersion`). */
  readonly appVersion: string;
  /** Helm repository URL. */
  readonly repo: string;
  /** Where the chart's source (and its values.yaml) lives, as `<github repo>@<tag>:<path>`. */
  readonly source: string;
}

/**
 * Loki. The OSS chart moved from grafana/loki (whose 7.x line is now Grafana Enterprise Logs only) to
 * grafana-community/helm-charts on 2026-03-16 (grafana/loki production/helm/loki/CHANGELOG.md, 7.0.0).
 */
export const LOKI_CHART: PinnedChart = {
  chart: "loki",
  version: "18.11.0",
  appVersion: "3.7.6",
  repo: "https://grafana-community.github.io/helm-charts",
  source: "grafana-community/helm-charts@loki-18.11.0:charts/loki",
};

/**
 * Promtail: the last release of the chart, marked `deprecated: true`; Promtail reached end of life on
 * 2026-03-02 (https://grafana.com/docs/loki/latest/send-data/promtail/).
 */
export const PROMTAIL_CHART: PinnedChart = {
  chart: "promtail",
  version: "6.17.1",
  appVersion: "3.5.1",
  repo: "https://grafana.github.io/helm-charts",
  source: "grafana/helm-charts@promtail-6.17.1:charts/promtail",
};

/** Grafana Alloy, the successor of Promtail; its chart lives in the grafana/alloy repository. */
export const ALLOY_CHART: PinnedChart = {
  chart: "alloy",
  version: "1.11.1",
  appVersion: "v1.18.1",
  repo: "https://grafana.github.io/helm-charts",
  source: "grafana/alloy@helm-chart/1.11.1:operations/helm/charts/alloy",
};

/**
 * Grafana. The chart moved from grafana/helm-charts (last release there 10.5.15) to
 * grafana-community/helm-charts (grafana/helm-charts charts/grafana/README.md).
 */
export const GRAFANA_CHART: PinnedChart = {
  chart: "grafana",
  version: "12.11.1",
  appVersion: "13.2.0",
  repo: "https://grafana-community.github.io/helm-charts",
  source: "grafana-community/helm-charts@grafana-12.11.1:charts/grafana",
};

/**
 * Prometheus (server only: the chart's alertmanager, kube-state-metrics, node-exporter and pushgateway subcharts are
 * turned off), the metrics store of a stack without a Prometheus of its own (`logging.prometheus`).
 */
export const PROMETHEUS_CHART: PinnedChart = {
  chart: "prometheus",
  version: "29.27.0",
  appVersion: "v3.14.0",
  repo: "https://prometheus-community.github.io/helm-charts",
  source: "prometheus-community/helm-charts@prometheus-29.27.0:charts/prometheus",
};

/** Helm release names (fixed, so Service names and URLs are predictable). */
export const RELEASE_NAMES = {
  loki: "loki",
  promtail: "promtail",
  alloy: "alloy",
  grafana: "grafana",
  prometheus: "prometheus",
} as const;

/** Loki's HTTP port (chart `loki.server.http_listen_port`, default 3100). */
export const LOKI_HTTP_PORT = 3100;
