/**
 * Checking a Prometheus configuration the stack renders: its relabelling applied to discovered targets (a small
 * evaluator of the actions the stack uses), and `promtool check config` on it.
 *
 * Debian's promtool (2.42, the one `.ci/run` installs) is built without Kubernetes service discovery: it refuses
 * `kubernetes_sd_configs` ("field kubernetes_sd_configs not found in type config.ScrapeConfig"). So the check swaps
 * each job's discovery for a static target and checks everything else: globals, relabelling, rule files.
 */
import { spawnSync, type SpawnSyncReturns } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";

/** One `relabel_config` (https://prometheus.io/docs/prometheus/latest/configuration/configuration/#relabel_config). */
export interface RelabelConfig {
  readonly source_labels?: readonly string[];
  readonly separator?: string;
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  readonly action?: "replace" | "keep" | "drop";
}

/**
 * Applies relabel configs to a target's labels as Prometheus does for the actions `replace` (the default), `keep`
 * and `drop`: source label values joined by `separator` (default `;`), the regex anchored at both ends (default
 * `(.*)`), `replacement` default `$1`.
 * @returns the target's labels after relabelling, or undefined when it is dropped.
 */
export function relabel(
  configs: readonly RelabelConfig[],
  labels: Readonly<Record<string, string>>,
): Record<string, string> | undefined {
  const out: Record<string, string> = { ...labels };
  for (const c of configs) {
    const value = (c.source_labels ?? []).map((l) => out[l] ?? "").join(c.separator ?? ";");
    const re = new RegExp(`^(?:${c.regex ?? "(.*)"})$`);
    const m = re.exec(value);
    const action = c.action ?? "replace";
    if (action === "keep" && m === null) return undefined;
    if (action === "drop" && m !== null) return undefined;
    if (action === "replace" && m !== null && c.target_label !== undefined) {
      out[c.target_label] = (c.replacement ?? "$1").replace(/\$(\d+)/g, (_, i: string) => m[Number(i)] ?? "");
    }
  }
  return out;
}

/** A Prometheus configuration with every `kubernetes_sd_configs` replaced by one static target (see above). */
export function withStaticTargets(config: Record<string, unknown>, target: string): Record<string, unknown> {
  const jobs = (config["scrape_configs"] as Array<Record<string, unknown>> | undefined) ?? [];
  return {
    ...config,
    scrape_configs: jobs.map((j) => {
      const rest = { ...j };
      delete rest["kubernetes_sd_configs"];
      return { ...rest, static_configs: [{ targets: [target] }] };
    }),
  };
}

/**
 * `promtool check config` on a configuration whose `rule_files` are given by file name.
 * @param config the configuration (its `rule_files` are replaced by the names of `ruleFiles`).
 * @param ruleFiles rule file name to its YAML text.
 */
export function promtoolCheckConfig(
  promtool: string,
  config: Record<string, unknown>,
  ruleFiles: Readonly<Record<string, string>>,
): SpawnSyncReturns<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-prometheus-"));
  try {
    for (const [name, text] of Object.entries(ruleFiles)) fs.writeFileSync(path.join(dir, name), text);
    fs.writeFileSync(
      path.join(dir, "prometheus.yml"),
      stringify({ ...config, rule_files: Object.keys(ruleFiles) }, { lineWidth: 0 }),
    );
    return spawnSync(promtool, ["check", "config", "prometheus.yml"], { cwd: dir, encoding: "utf8" });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
