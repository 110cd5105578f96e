/**
 * The queue's Grafana dashboard (components/queue/dashboard.ts): every PromQL expression parses with promtool (as
 * recording rules: `promtool check rules`) and names only metrics the exporter defines; the Loki panel uses the log
 * pipeline's labels; the committed dashboards/ducklake-queue.json is current (`npm run dashboard`).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { dashboardPanels, queueDashboard } from "../../components/queue/dashboard";
import { exportedMetricNames, metricNamesIn } from "../../components/queue/alert-rules";
import { cnpgParseRules } from "../../components/logging/cnpg-pipeline";
import { parseStackConfig } from "../../components/stack";
import { committedDashboardText } from "../../scripts/dashboard";
import { readDucklakeConfig, ROOT } from "../helpers/stack-files";
import { PROMTOOL_MISSING, promtoolPath } from "../helpers/promtool";

const stacks = ["dev", "prod"] as const;
const configOf = (stack: string) => parseStackConfig(readDucklakeConfig(stack), stack).config;
const promql = (stack: string) =>
  dashboardPanels(configOf(stack))
    .filter((p) => p.datasource === "prometheus")
    .flatMap((p) => p.targets.map((t) => t.expr));

describe("the queue dashboard", () => {
  test.each(stacks)("%s: every PromQL expression names only metrics the exporter defines", (stack) => {
    const defined = exportedMetricNames(configOf(stack));
    const used = promql(stack).flatMap(metricNamesIn);
    expect(used.length).toBeGreaterThan(15);
    expect([...new Set(used.filter((m) => !defined.has(m)))]).toEqual([]);
  });

  test("throughput in and out, depth, latency, dead letters, runway, autovacuum, checkpoints, cache, replication, backups and logs are there (prod)", () => {
    const titles = dashboardPanels(configOf("prod")).map((p) => p.title);
    for (const t of [
      "sent",
      "consumed",
      "Depth",
      "Oldest",
      "Latency",
      "Dead letters",
      "runway",
      "autovacuum",
      "Checkpoints",
      "cache hit",
      "Replication",
      "WAL archiving",
      "Loki",
    ])
      expect(titles.some((x) => x.toLowerCase().includes(t.toLowerCase()))).toBe(true);
    expect(dashboardPanels(configOf("dev")).map((p) => p.title)).not.toContain("Replication lag");
  });

  test("the Loki panel selects with the labels the log pipeline sets", () => {
    const config = configOf("prod");
    const loki = dashboardPanels(config).find((p) => p.datasource === "loki")!;
    const rules = cnpgParseRules(config.postgres.namespace);
    expect(rules.labels).toContain("error_severity");
    expect(loki.targets[0]!.expr.startsWith(rules.selector.slice(0, -1))).toBe(true);
  });

  test("dashboards/ducklake-queue.json is prod's dashboard, current (npm run dashboard)", () => {
    expect(fs.readFileSync(path.join(ROOT, "dashboards", "ducklake-queue.json"), "utf8")).toBe(
      committedDashboardText(),
    );
    const d = queueDashboard(configOf("prod"), "prod") as { panels: Array<{ gridPos: { x: number; w: number } }> };
    for (const p of d.panels) expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
  });
});

const promtool = promtoolPath();
const why = PROMTOOL_MISSING;

(why === undefined ? describe : describe.skip)(
  `the dashboard's PromQL through promtool${why === undefined ? "" : ` — SKIPPED: ${why}`}`,
  () => {
    const check = (exprs: string[]) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-dashboard-"));
      try {
        const rules = {
          groups: [{ name: "dashboard", rules: exprs.map((expr, i) => ({ record: `ducklake:panel_${i}`, expr })) }],
        };
        fs.writeFileSync(path.join(dir, "rules.yaml"), stringify(rules));
        return spawnSync(promtool!, ["check", "rules", "rules.yaml"], { cwd: dir, encoding: "utf8" });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };
    test.each(stacks)("%s: promtool check rules accepts every panel's expression", (stack) => {
      const r = check(promql(stack));
      expect({ code: r.status, out: r.stdout + r.stderr }).toMatchObject({ code: 0 });
    });
    test("a broken expression fails promtool (the check can fail)", () => {
      expect(check(["sum by (queue_name (cnpg_ducklake_queue_queue_length)"]).status).not.toBe(0);
    });
  },
);
