/**
 * Generates the key inventory of a Helm chart from local files (it fetches nothing), so the tests can
 * check the values PostgresCluster renders against the chart without network access.
 *
 * Usage (from a checkout of https://github.com/cloudnative-pg/charts at the pinned versions):
 *   npx ts-node --transpile-only test/postgres/tools/gen-chart-keys.ts \
 *     <charts>/charts/cluster/values.yaml > test/postgres/chart-keys/cluster.json
 *   npx ts-node --transpile-only test/postgres/tools/gen-chart-keys.ts \
 *     <charts>/charts/cloudnative-pg/values.yaml --crds <charts>/charts/cloudnative-pg/templates/crds/crds.yaml \
 *     > test/postgres/chart-keys/cloudnative-pg.json
 *
 * Reads values.yaml, the sibling Chart.yaml (name, version, appVersion) and the sibling templates/
 * directory (keys the templates read from items of `range .Values.<list>`); with --crds, the field
 * paths of the CRD subtrees that the cluster chart passes through verbatim (CRD_SUBTREES).
 * The output is data derived from the chart (dotted key paths), not chart code.
 */
import * as fs from "fs";
import * as path from "path";
import { parse, parseAllDocuments } from "yaml";

/**
 * CRD subtrees the cluster chart copies from values with `toYaml` (templates/cluster.yaml, _bootstrap.tpl,
 * _external_clusters.tpl: `recovery.pluginConfiguration` becomes an external cluster's `plugin`;
 * scheduled-backups.yaml: `pluginConfiguration`).
 */
const CRD_SUBTREES: ReadonlyArray<{ kind: string; path: string }> = [
  { kind: "Cluster", path: "spec.affinity" },
  { kind: "Cluster", path: "spec.bootstrap.initdb" },
  { kind: "Cluster", path: "spec.managed.roles" },
  { kind: "Cluster", path: "spec.resources" },
  { kind: "Cluster", path: "spec.monitoring.customQueriesSecret" },
  { kind: "Cluster", path: "spec.serviceAccountTemplate" },
  { kind: "Cluster", path: "spec.postgresql.synchronous" },
  { kind: "Cluster", path: "spec.externalClusters[].plugin" },
  { kind: "ScheduledBackup", path: "spec.pluginConfiguration" },
];

/** Deepest path collected below a CRD subtree root (deeper fields are core Kubernetes types). */
const CRD_MAX_DEPTH = 4;

function valuePaths(value: unknown, prefix: string, keys: Set<string>, open: Set<string>): void {
  if (Array.isArray(value)) {
    if (value.length === 0) open.add(prefix);
    for (const item of value) valuePaths(item, `${prefix}[]`, keys, open);
    return;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix !== "") open.add(prefix);
    for (const [k, v] of entries) {
      const p = prefix === "" ? k : `${prefix}.${k}`;
      keys.add(p);
      valuePaths(v, p, keys, open);
    }
  }
}

/** Keys read from the items of `range .Values.<list>` (and `range $x := .Values.<list>`) blocks. */
function templateItemKeys(templatesDir: string): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  if (!fs.existsSync(templatesDir)) return {};
  for (const file of fs.readdirSync(templatesDir).sort()) {
    if (!/\.(ya?ml|tpl)$/.test(file)) continue;
    const text = fs.readFileSync(path.join(templatesDir, file), "utf8");
    const rangeRe = /\{\{-?\s*range\s+(?:(\$\w+)\s*:=\s*)?\.Values\.([\w.]+)\s*-?\}\}/g;
    let m: RegExpExecArray | null;
    while ((m = rangeRe.exec(text)) !== null) {
      const listPath = `${m[2]}[]`;
      const variable = m[1];
      // The block runs to the matching {{ end }}: count nested block openers.
      const rest = text.slice(m.index + m[0].length);
      const tokenRe = /\{\{-?\s*(range|if|with|define|end)\b[^}]*\}\}/g;
      let depth = 1;
      let endAt = rest.length;
      let t: RegExpExecArray | null;
      while ((t = tokenRe.exec(rest)) !== null) {
        depth += t[1] === "end" ? -1 : 1;
        if (depth === 0) {
          endAt = t.index;
          break;
        }
      }
      const body = rest.slice(0, endAt);
      const set = (out[listPath] ??= new Set<string>());
      const actions = body.match(/\{\{[^}]*\}\}/g) ?? [];
      for (const action of actions) {
        // `.name`, `.monitoring.podMonitor.enabled` (not `$.Values`, `.Values`, `.Release`, `.Chart`), or `$var.key`.
        const fieldRe = variable
          ? new RegExp(`\\${variable}((?:\\.[A-Za-z_]\\w*)+)`, "g")
          : /(?<![\w$)\]])((?:\.[A-Za-z_]\w*)+)/g;
        let f: RegExpExecArray | null;
        while ((f = fieldRe.exec(action)) !== null) {
          const dotted = f[1].slice(1);
          if (/^(Values|Release|Chart|Capabilities|Template|Files)\b/.test(dotted)) continue;
          const parts = dotted.split(".");
          for (let i = 1; i <= parts.length; i++) set.add(parts.slice(0, i).join("."));
        }
      }
    }
  }
  return Object.fromEntries(
    Object.keys(out)
      .sort()
      .map((k) => [k, [...out[k]].sort()]),
  );
}

interface CrdInventory {
  readonly paths: string[];
  readonly open: string[];
}

function schemaPaths(
  schema: Record<string, unknown>,
  prefix: string,
  depth: number,
  inv: { paths: Set<string>; open: Set<string> },
): void {
  if (
    schema["additionalProperties"] !== undefined ||
    schema["x-kubernetes-preserve-unknown-fields"] === true ||
    schema["x-kubernetes-int-or-string"] === true
  ) {
    if (schema["type"] !== "string") inv.open.add(prefix);
  }
  if (depth >= CRD_MAX_DEPTH) {
    if (schema["properties"] !== undefined || schema["items"] !== undefined) inv.open.add(prefix);
    return;
  }
  const items = schema["items"] as Record<string, unknown> | undefined;
  if (schema["type"] === "array" && items) {
    schemaPaths(items, `${prefix}[]`, depth + 1, inv);
    return;
  }
  const props = schema["properties"] as Record<string, Record<string, unknown>> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) {
    const p = `${prefix}.${k}`;
    inv.paths.add(p);
    schemaPaths(v, p, depth + 1, inv);
  }
}

function crdInventory(crdsPath: string): Record<string, CrdInventory> {
  // The chart wraps its CRDs in `{{- if .Values.crds.create }}`: drop template lines before parsing.
  const text = fs
    .readFileSync(crdsPath, "utf8")
    .split("\n")
    .filter((l) => !/^\s*\{\{.*\}\}\s*$/.test(l))
    .join("\n");
  const out: Record<string, CrdInventory> = {};
  for (const doc of parseAllDocuments(text)) {
    const crd = doc.toJS() as {
      spec?: {
        names?: { kind?: string };
        versions?: Array<{ name: string; schema?: { openAPIV3Schema?: Record<string, unknown> } }>;
      };
    } | null;
    const kind = crd?.spec?.names?.kind;
    const version = crd?.spec?.versions?.find((v) => v.name === "v1");
    if (!kind || !version?.schema?.openAPIV3Schema) continue;
    for (const subtree of CRD_SUBTREES.filter((s) => s.kind === kind)) {
      let node: Record<string, unknown> | undefined = version.schema.openAPIV3Schema;
      for (const seg of subtree.path.split(".")) {
        // `name[]`: the items of the array property `name`.
        const list = seg.endsWith("[]");
        node = (node?.["properties"] as Record<string, Record<string, unknown>> | undefined)?.[
          list ? seg.slice(0, -2) : seg
        ];
        if (list) node = node?.["items"] as Record<string, unknown> | undefined;
      }
      if (!node) throw new Error(`${kind} CRD has no ${subtree.path}`);
      const inv = { paths: new Set<string>(), open: new Set<string>() };
      schemaPaths(node, subtree.path, 0, inv);
      out[`${kind}:${subtree.path}`] = { paths: [...inv.paths].sort(), open: [...inv.open].sort() };
    }
  }
  return out;
}

function main(argv: string[]): void {
  const valuesPath = argv[0];
  if (!valuesPath || valuesPath.startsWith("--")) {
    throw new Error("usage: gen-chart-keys.ts <chart>/values.yaml [--crds <crds.yaml>]");
  }
  const crdsIdx = argv.indexOf("--crds");
  const chartDir = path.dirname(valuesPath);
  const chartYaml = parse(fs.readFileSync(path.join(chartDir, "Chart.yaml"), "utf8")) as {
    name: string;
    version: string;
    appVersion?: string;
  };
  const keys = new Set<string>();
  const open = new Set<string>();
  valuePaths(parse(fs.readFileSync(valuesPath, "utf8")), "", keys, open);
  const inventory: Record<string, unknown> = {
    chart: chartYaml.name,
    version: String(chartYaml.version),
    appVersion: chartYaml.appVersion === undefined ? null : String(chartYaml.appVersion),
    generatedBy: "test/postgres/tools/gen-chart-keys.ts",
    keys: [...keys].sort(),
    open: [...open].sort(),
    itemKeys: templateItemKeys(path.join(chartDir, "templates")),
  };
  if (crdsIdx >= 0) inventory["crds"] = crdInventory(argv[crdsIdx + 1]);
  process.stdout.write(`${JSON.stringify(inventory, null, 1)}\n`);
}

main(process.argv.slice(2));
