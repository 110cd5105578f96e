/**
 * The stack's own Prometheus (components/logging/prometheus-values.ts): its scrape job keeps exactly the
 * CloudNativePG instances' metrics port of the stack's cluster and labels the series as a PodMonitor does; the
 * configuration the chart makes of the values passes promtool, with the queue's alert rules.
 */
import { stringify } from "yaml";
import {
  CNPG_SCRAPE_JOB,
  buildPrometheusValues,
  cnpgScrapeConfig,
  prometheusRetentionSize,
} from "../../components/logging/prometheus-values";
import { deriveStack, parseStackConfig } from "../../components/stack";
import { readDucklakeConfig } from "../helpers/stack-files";
import { PROMTOOL_MISSING, promtoolPath } from "../helpers/promtool";
import { promtoolCheckConfig, relabel, withStaticTargets, type RelabelConfig } from "../helpers/prometheus-config";

/** What Kubernetes pod discovery reports for one container port of a pod. */
function target(pod: string, labels: Record<string, string>, port: number): Record<string, string> {
  return {
    __address__: `10.244.0.7:${port}`,
    __meta_kubernetes_namespace: "ducklake-db",
    __meta_kubernetes_pod_name: pod,
    __meta_kubernetes_pod_container_port_number: String(port),
    ...Object.fromEntries(
      Object.entries(labels).map(([k, v]) => [`__meta_kubernetes_pod_label_${k.replace(/[^A-Za-z0-9_]/g, "_")}`, v]),
    ),
  };
}

const rules = cnpgScrapeConfig("ducklake-db", "lineage-pg")["relabel_configs"] as RelabelConfig[];
const instance = { "cnpg.io/cluster": "lineage-pg", "cnpg.io/podRole": "instance" };

describe("the CloudNativePG scrape job", () => {
  test("keeps an instance's metrics port (9187) and labels it with namespace and pod, as a PodMonitor does", () => {
    expect(relabel(rules, target("lineage-pg-1", instance, 9187))).toMatchObject({
      namespace: "ducklake-db",
      pod: "lineage-pg-1",
    });
  });

  test.each([
    ["the same pod's PostgreSQL port", target("lineage-pg-1", instance, 5432)],
    ["the same pod's status port", target("lineage-pg-1", instance, 8000)],
    [
      "a PgBouncer pod of the cluster",
      target("lineage-pg-pooler-rw-1", { "cnpg.io/cluster": "lineage-pg", "cnpg.io/podRole": "pooler" }, 9127),
    ],
    [
      "an instance of another cluster",
      target("lineage-pg2-1", { ...instance, "cnpg.io/cluster": "lineage-pg2" }, 9187),
    ],
    ["a pod without the labels", target("app-1", {}, 9187)],
  ])("drops %s", (_what, t) => {
    expect(relabel(rules, t)).toBeUndefined();
  });

  test("discovers pods in the Postgres namespace only", () => {
    expect(cnpgScrapeConfig("ducklake-db", "lineage-pg")["kubernetes_sd_configs"]).toEqual([
      { role: "pod", namespaces: { names: ["ducklake-db"] } },
    ]);
  });

  test("retention size is four fifths of the volume, in Prometheus's power-of-two MB", () => {
    expect(prometheusRetentionSize(2)).toBe("1638MB");
    expect(prometheusRetentionSize(10)).toBe("8192MB");
  });
});

const promtool = promtoolPath();
const why = PROMTOOL_MISSING;

(why === undefined ? describe : describe.skip)(
  `the configuration through promtool${why === undefined ? "" : ` — SKIPPED: ${why}`}`,
  () => {
    const decisions = deriveStack(parseStackConfig(readDucklakeConfig("dev"), "dev").config, "dev");
    const values = buildPrometheusValues({
      postgresNamespace: "ducklake-db",
      postgresClusterName: "lineage-pg",
      retentionHours: 72,
      sizeGiB: 2,
      storageClassName: "standard",
      alertRules: decisions.alertRules,
    }) as { server: { global: unknown }; scrapeConfigs: Record<string, Record<string, unknown>> };
    /** The prometheus.yml the chart renders from these values (templates/cm.yaml): global and the enabled jobs. */
    const config = {
      global: values.server.global,
      scrape_configs: [{ job_name: CNPG_SCRAPE_JOB, ...values.scrapeConfigs[CNPG_SCRAPE_JOB] }],
    };

    test("promtool check config accepts it, with the alert rules as a rule file (discovery swapped for a static target: Debian's promtool has no Kubernetes discovery)", () => {
      const r = promtoolCheckConfig(promtool!, withStaticTargets(config, "10.244.0.7:9187"), {
        "alerting_rules.yml": stringify(decisions.alertRules),
      });
      expect({ code: r.status, out: r.stdout + r.stderr }).toMatchObject({ code: 0 });
      expect(r.stdout).toMatch(/SUCCESS: [1-9]\d* rules found/);
    });

    test("a broken relabel regex fails it (the check can fail)", () => {
      const broken = {
        ...config,
        scrape_configs: [{ job_name: "x", relabel_configs: [{ source_labels: ["a"], regex: "(", action: "keep" }] }],
      };
      expect(promtoolCheckConfig(promtool!, withStaticTargets(broken, "h:1"), {}).status).not.toBe(0);
    });
  },
);
