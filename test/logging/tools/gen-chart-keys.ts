/**
 * Writes a logging chart's key inventory (components/logging/chart-keys/<chart>-<version>.json) from the chart's
 * values.yaml, by the derivation the inventories state: every mapping key path under the listed top-level sections
 * (dotted; a key that is not [A-Za-z0-9_-]+ is written [key]); arrays and scalars are leaves; paths whose default is
 * {} or whose comment says `@schema additionalProperties:true` / `skipProperties:true` are open (children not
 * listed); `--depth section=N` lists a section only to N segments; `--open path` marks a free-form map the chart's
 * comments describe (e.g. prometheus `scrapeConfigs`: "Further scrapeConfigs can be added as new keys");
 * `--documented path=source` adds a key the templates read that values.yaml shows only in a comment.
 *
 *   npx ts-node --transpile-only test/logging/tools/gen-chart-keys.ts <chart dir> --source "<where it came from>" \
 *     --section server --section scrapeConfigs ... [--open scrapeConfigs] [--documented a.b=templates/x.yaml] \
 *     > components/logging/chart-keys/<chart>-<version>.json
 *
 * The chart directory is an unpacked chart (Chart.yaml + values.yaml) fetched outside the repository.
 */
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "util";
import { isMap, isScalar, parse, parseDocument, type Pair, type YAMLMap } from "yaml";
import { keySegment } from "../../../components/logging/value-keys";

const DERIVATION =
  "Every mapping key path of the values.yaml (dotted; a key that is not [A-Za-z0-9_-]+ is written [key]) under the listed top-level sections; arrays and scalars are leaves. open: paths whose default is {} or whose comment says @schema additionalProperties:true / skipProperties:true (free-form maps: any key below is accepted); keys below an open path are not listed. depthLimit: sections listed only to that many segments. documented: keys the chart reads that values.yaml only shows in comments.";

function schemaOpen(comment: string | null | undefined): boolean {
  return (
    comment !== undefined &&
    comment !== null &&
    /@schema[\s\S]*(additionalProperties|skipProperties):\s*true/.test(comment)
  );
}

function walk(
  map: YAMLMap,
  prefix: string,
  depth: number,
  limit: number | undefined,
  keys: string[],
  open: string[],
  extraOpen: ReadonlySet<string>,
): void {
  for (const pair of map.items as Pair[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const p = `${prefix}.${keySegment(key)}`;
    keys.push(p);
    const value = pair.value;
    const comment = (isScalar(pair.key) ? pair.key.commentBefore : undefined) ?? undefined;
    const emptyMap = isMap(value) && value.items.length === 0;
    if (emptyMap || schemaOpen(comment) || extraOpen.has(p)) {
      open.push(p);
      continue;
    }
    if (isMap(value) && (limit === undefined || depth + 1 < limit))
      walk(value, p, depth + 1, limit, keys, open, extraOpen);
  }
}

function main(): void {
  const { values: flags, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      source: { type: "string" },
      section: { type: "string", multiple: true, default: [] },
      depth: { type: "string", multiple: true, default: [] },
      open: { type: "string", multiple: true, default: [] },
      documented: { type: "string", multiple: true, default: [] },
    },
  });
  if (positionals.length !== 1 || flags.source === undefined || flags.section.length === 0) {
    throw new Error(
      "usage: gen-chart-keys.ts <chart dir> --source TEXT --section NAME [...] [--open PATH] [--depth S=N] [--documented PATH=SOURCE]",
    );
  }
  const dir = positionals[0];
  const meta = parse(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8")) as { name: string; version: string };
  const doc = parseDocument(fs.readFileSync(path.join(dir, "values.yaml"), "utf8"));
  const root = doc.contents;
  if (!isMap(root)) throw new Error("values.yaml is not a map");
  const depthLimit: Record<string, number> = {};
  for (const d of flags.depth) {
    const [s, n] = d.split("=");
    depthLimit[s] = Number(n);
  }
  const extraOpen = new Set(flags.open);
  const sections = [...flags.section].sort();
  const keys: string[] = [];
  const open: string[] = [];
  for (const pair of root.items as Pair[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    if (!sections.includes(key)) continue;
    const p = keySegment(key);
    keys.push(p);
    const value = pair.value;
    const comment = isScalar(pair.key) ? pair.key.commentBefore : undefined;
    if ((isMap(value) && value.items.length === 0) || schemaOpen(comment) || extraOpen.has(p)) {
      open.push(p);
      continue;
    }
    if (isMap(value)) walk(value, p, 1, depthLimit[key], keys, open, extraOpen);
  }
  const missing = sections.filter((s) => !keys.includes(keySegment(s)));
  // a section values.yaml does not have stays listed (so its keys are reported as unknown, not as a new section)
  if (missing.length > 0) process.stderr.write(`note: sections not in values.yaml: ${missing.join(", ")}\n`);
  const documented = flags.documented.map((d) => {
    const i = d.indexOf("=");
    return { path: d.slice(0, i), source: d.slice(i + 1) };
  });
  const out = {
    chart: meta.name,
    version: meta.version,
    source: flags.source,
    derivation: DERIVATION,
    sections,
    depthLimit,
    documented,
    open: [...open].sort(),
    keys: [...keys].sort(),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

main();
