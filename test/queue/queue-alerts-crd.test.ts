/**
 * The queue's PrometheusRule (components/queue/queue-alerts.ts) against the Prometheus Operator's own
 * PrometheusRule CRD, with the validator `npm run plan -- <stack> --render` uses (scripts/lib/crd-validate.ts).
 * The CRD comes from DUCKLAKE_CRDS_DIR (e.g. the prometheus-operator release's
 * example/prometheus-operator-crd-full/monitoring.coreos.com_prometheusrules.yaml; docs/delivery.md); without
 * it the test is skipped, naming what is missing.
 */
import * as fs from "fs";
import * as path from "path";
import { queueAlertRules } from "../../components/queue/alert-rules";
import { prometheusRuleObject } from "../../components/queue/queue-alerts";
import { parseStackConfig } from "../../components/stack";
import {
  indexCrds,
  lookupCrd,
  splitManifests,
  validateCustomResource,
  formatFinding,
} from "../../scripts/lib/crd-validate";
import { readDucklakeConfig } from "../helpers/stack-files";

const dir = process.env["DUCKLAKE_CRDS_DIR"];
const index = new Map();
if (dir !== undefined && fs.existsSync(dir)) {
  for (const f of fs.readdirSync(dir).filter((n) => /\.ya?ml$/.test(n))) {
    indexCrds(splitManifests(fs.readFileSync(path.join(dir, f), "utf8")), f, index);
  }
}
const crd = lookupCrd(index, "monitoring.coreos.com/v1", "PrometheusRule");
const why =
  dir === undefined
    ? "DUCKLAKE_CRDS_DIR is not set (a directory with the Prometheus Operator's PrometheusRule CRD)"
    : crd === undefined
      ? `no PrometheusRule CRD (monitoring.coreos.com/v1) in ${dir}`
      : undefined;
if (why !== undefined) console.warn(`SKIPPED test/queue/queue-alerts-crd: ${why}`);

(why === undefined ? describe : describe.skip)(
  `the queue's PrometheusRule against the Prometheus Operator's CRD${why === undefined ? "" : ` — SKIPPED: ${why}`}`,
  () => {
    test.each(["dev", "prod"])("%s's rules validate", (stack) => {
      const config = parseStackConfig(readDucklakeConfig(stack), stack).config;
      const object = prometheusRuleObject(config.postgres.namespace, queueAlertRules(config));
      const findings = validateCustomResource("queue-alerts", object, crd!);
      expect(findings.map(formatFinding)).toEqual([]);
    });

    test("a rule the CRD does not allow is caught (the check can fail)", () => {
      const config = parseStackConfig(readDucklakeConfig("dev"), "dev").config;
      const object = prometheusRuleObject(config.postgres.namespace, queueAlertRules(config));
      const groups = (object.spec["groups"] as Array<{ rules: Array<Record<string, unknown>> }>)!;
      groups[0]!.rules[0]!["for"] = "five minutes";
      groups[0]!.rules[0]!["severity"] = "critical";
      expect(validateCustomResource("queue-alerts", object, crd!).length).toBeGreaterThan(0);
    });
  },
);
