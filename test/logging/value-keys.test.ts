/**
 * Every key the builders render exists in the pinned chart's values.yaml (via the committed key
 * inventories in components/logging/chart-keys/). Helm ignores unknown keys silently.
 */
import * as fs from "fs";
import * as path from "path";
import { ChartKeyInventory, unknownValueKeys, valueKeyPaths } from "../../components/logging/value-keys";
import {
  ALLOY_CHART,
  GRAFANA_CHART,
  LOKI_CHART,
  PROMETHEUS_CHART,
  PROMTAIL_CHART,
  PinnedChart,
} from "../../components/logging/charts";
import { buildPrometheusValues } from "../../components/logging/prometheus-values";
import { buildLokiValues, lokiCacheSizes } from "../../components/logging/loki-values";
import { buildPromtailValues } from "../../components/logging/promtail-values";
import { buildAlloyConfig, buildAlloyValues } from "../../components/logging/alloy-config";
import { buildGrafanaValues } from "../../components/logging/grafana-values";
import { cnpgParseRules } from "../../components/logging/cnpg-pipeline";

function inventory(chart: PinnedChart): ChartKeyInventory {
  const file = path.resolve(__dirname, "../../components/logging/chart-keys", `${chart.chart}-${chart.version}.json`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as ChartKeyInventory;
}

const rules = cnpgParseRules("ducklake-db");
const pushUrl = "http://loki.ducklake-logging.svc.cluster.local:3100/loki/api/v1/push";
const base = {
  pvcSizeGiB: 10,
  storageClassName: "gp3",
  retentionHours: 336,
  resources: { memory: "1Gi", cpu: "500m" },
};

const cases: Array<[string, PinnedChart, Record<string, unknown>]> = [
  ["loki on a PVC", LOKI_CHART, buildLokiValues({ ...base, storage: { type: "pvc" }, caches: lokiCacheSizes("pvc") })],
  [
    "loki on S3",
    LOKI_CHART,
    buildLokiValues({
      ...base,
      storage: { type: "s3", bucketName: "b", region: "eu-west-1", roleArn: "arn:aws:iam::1:role/r" },
      caches: lokiCacheSizes("s3"),
    }),
  ],
  ["promtail", PROMTAIL_CHART, buildPromtailValues({ pushUrl, rules })],
  ["alloy", ALLOY_CHART, buildAlloyValues(buildAlloyConfig({ pushUrl, rules }))],
  [
    "grafana",
    GRAFANA_CHART,
    buildGrafanaValues({ lokiQueryUrl: "http://loki.x.svc.cluster.local:3100", adminSecretName: "grafana-admin" }),
  ],
  [
    "grafana with Prometheus and the dashboards",
    GRAFANA_CHART,
    buildGrafanaValues({
      lokiQueryUrl: "http://loki.x.svc.cluster.local:3100",
      adminSecretName: "grafana-admin",
      prometheus: { url: "http://prometheus-server.x.svc.cluster.local", scrapeInterval: "30s" },
      dashboardsConfigMap: "grafana-dashboards-ducklake",
    }),
  ],
  [
    "prometheus",
    PROMETHEUS_CHART,
    buildPrometheusValues({
      postgresNamespace: "ducklake-db",
      postgresClusterName: "lineage-pg",
      retentionHours: 72,
      sizeGiB: 2,
      storageClassName: "standard",
      alertRules: { groups: [] },
    }),
  ],
];

describe("rendered values use only keys of the pinned charts", () => {
  test.each(cases)("%s", (_label, chart, values) => {
    const inv = inventory(chart);
    expect(inv.version).toBe(chart.version); // the inventory belongs to the pinned version
    expect(valueKeyPaths(values).length).toBeGreaterThan(3);
    expect(unknownValueKeys(values, inv)).toEqual([]);
  });

  test("a misspelled or invented key is reported", () => {
    const inv = inventory(LOKI_CHART);
    const values = {
      singleBinary: { replica: 1, persistence: { storageClassName: "gp3" } },
      lokiCanarry: { enabled: false },
    };
    expect(unknownValueKeys(values, inv)).toEqual([
      "singleBinary.replica: not a key of loki 18.11.0 values.yaml",
      "singleBinary.persistence.storageClassName: not a key of loki 18.11.0 values.yaml",
      'lokiCanarry: section "lokiCanarry" is not in the loki 18.11.0 inventory (add it from values.yaml)',
    ]);
  });

  test("keys under free-form maps (Loki's own config) are accepted; keys under chart keys are not", () => {
    const inv = inventory(LOKI_CHART);
    expect(unknownValueKeys({ loki: { limits_config: { anything_loki_reads: 1 } } }, inv)).toEqual([]);
    expect(
      unknownValueKeys({ gateway: { enabled: false, replicas: 1, nginxConfig: { logFormat: "x" } } }, inv),
    ).toHaveLength(1);
  });
});
