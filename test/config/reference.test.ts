/**
 * docs/configuration.md is generated from the schemas; it must match the code (run `npm run docs:config`).
 */
import * as fs from "fs";
import * as path from "path";
import { referenceRows, renderReference } from "../../scripts/config-reference";
import { ROOT } from "../helpers/stack-files";

test("docs/configuration.md is current (regenerate with `npm run docs:config`)", () => {
  const committed = fs.readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");
  expect(committed).toEqual(renderReference());
});

test("the reference lists every leaf key the stack files set", () => {
  const keys = new Set(referenceRows().map((r) => r.key.replace(/ \(.*\)$/, "")));
  for (const r of [
    "postgres.resources.memory",
    "storage.gp3.iops",
    "queues.definitions[].peakRateMsgsPerSecond",
    "logging.loki.storage.sizeGiB",
    "cluster.kubeContext",
  ]) {
    expect(keys).toContain(r);
  }
});

test("leaf keys carry a description", () => {
  const undocumented = referenceRows()
    .filter((r) => r.description === "" && !/object|one of/.test(r.type))
    .map((r) => r.key);
  // Fields whose meaning is their name within a documented parent (scaling.minSize, taint.effect, ...).
  expect(undocumented.filter((k) => !/scaling\.|taint\.effect|\.type \(|storage\.type$/.test(k))).toEqual([]);
});
