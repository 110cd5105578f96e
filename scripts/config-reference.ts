/**
 * Generates docs/configuration.md, the reference of every `ducklake:*` key (type and limits, unit,
 * default, meaning, and the dev and prod values), from the zod schemas and the TSDoc comments on
 * their fields, so the reference cannot drift from the code. `npm run docs:config` (scripts/docs-config.ts)
 * rewrites it with the stack files' JSON Schema (scripts/stack-schema.ts), which carries the same rows'
 * descriptions; tests fail when either committed file is stale or the two disagree on a key or a default.
 */
import * as fs from "fs";
import * as path from "path";
import ts from "typescript";
import { z } from "zod";
import { SECRET_KEYS, StackConfigSchema } from "../config/schema";

/** What each secret key is for (the keys are read outside the zod schema, as Pulumi secrets). */
export const SECRET_KEY_DESCRIPTIONS: Record<(typeof SECRET_KEYS)[number], string> = {
  grafanaAdminPassword: "Grafana's admin password (used when `logging.grafana.enabled`).",
};
import * as cluster from "../config/cluster";
import * as nodes from "../config/nodes";
import * as storage from "../config/storage";
import * as postgres from "../config/postgres";
import * as queues from "../config/queues";
import * as logging from "../config/logging";
import * as backups from "../config/backups";
import { readStackFileConfig } from "./lib/stack-file";

const ROOT = path.resolve(__dirname, "..");
const CONFIG_DIR = path.join(ROOT, "config");

/** One row of the reference. */
export interface ReferenceRow {
  key: string;
  type: string;
  defaultValue: string;
  description: string;
  dev: string;
  prod: string;
}

type AnySchema = z.core.$ZodType;
interface Def {
  type: string;
  innerType?: AnySchema;
  defaultValue?: unknown;
  shape?: Record<string, AnySchema>;
  options?: AnySchema[];
  element?: AnySchema;
  valueType?: AnySchema;
  keyType?: AnySchema;
  entries?: Record<string, string>;
  values?: unknown[];
  in?: AnySchema;
  checks?: Array<{ _zod: { def: Record<string, unknown> } }>;
  discriminator?: string;
}
const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** `Variable name -> schema` for every exported schema of the config modules. */
function namedSchemas(): Map<AnySchema, string> {
  const out = new Map<AnySchema, string>();
  for (const mod of [cluster, nodes, storage, postgres, backups, queues, logging]) {
    for (const [name, value] of Object.entries(mod)) {
      if (name.endsWith("Schema") && value instanceof z.ZodType) out.set(value as unknown as AnySchema, name);
    }
  }
  return out;
}

/** TSDoc comments of schema fields, keyed `Variable:relative.path` (union options as `#i`). */
function fieldComments(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of fs.readdirSync(CONFIG_DIR).filter((f) => f.endsWith(".ts"))) {
    const text = fs.readFileSync(path.join(CONFIG_DIR, file), "utf8");
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node: ts.Node, variable: string, rel: string): void => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression.getText(sf);
        if (callee.endsWith("strictObject") && node.arguments[0] && ts.isObjectLiteralExpression(node.arguments[0])) {
          for (const prop of node.arguments[0].properties) {
            if (!ts.isPropertyAssignment(prop)) continue;
            const name = prop.name.getText(sf).replace(/^["']|["']$/g, "");
            const ranges = ts.getLeadingCommentRanges(text, prop.getFullStart()) ?? [];
            const doc = ranges
              .map((r) => text.slice(r.pos, r.end))
              .filter((c) => c.startsWith("/**"))
              .map((c) =>
                c
                  .replace(/^\/\*\*|\*\/$/g, "")
                  .split("\n")
                  .map((l) => l.replace(/^\s*\*\s?/, "").trim())
                  .join(" ")
                  .trim(),
              )
              .join(" ");
            if (doc) out.set(`${variable}:${rel}${name}`, doc);
            visit(prop.initializer, variable, `${rel}${name}.`);
          }
          node.expression.forEachChild((c) => visit(c, variable, rel));
          return;
        }
        if (
          callee.endsWith("discriminatedUnion") &&
          node.arguments[1] &&
          ts.isArrayLiteralExpression(node.arguments[1])
        ) {
          node.arguments[1].elements.forEach((el, i) => visit(el, variable, `${rel}#${i}.`));
          return;
        }
      }
      node.forEachChild((c) => visit(c, variable, rel));
    };
    sf.forEachChild((stmt) => {
      if (ts.isVariableStatement(stmt)) {
        for (const decl of stmt.declarationList.declarations) {
          if (decl.initializer) visit(decl.initializer, decl.name.getText(sf), "");
        }
      }
    });
  }
  return out;
}

/** Type text with limits, from the zod definition (after unwrapping optional/default). */
function typeText(schema: AnySchema): string {
  const def = defOf(schema);
  const limits: string[] = [];
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c["check"] === "greater_than") limits.push(`${c["inclusive"] ? ">=" : ">"} ${String(c["value"])}`);
    if (c["check"] === "less_than") limits.push(`${c["inclusive"] ? "<=" : "<"} ${String(c["value"])}`);
    if (c["check"] === "max_length") limits.push(`length <= ${String(c["maximum"])}`);
    if (c["check"] === "min_length") limits.push(`length >= ${String(c["minimum"])}`);
    if (c["check"] === "string_format" && c["format"] === "regex") limits.push(`pattern \`${String(c["pattern"])}\``);
  }
  let base: string = def.type;
  if (
    def.type === "number" &&
    (def.checks ?? []).some((c) => c._zod.def["format"] === "safeint" || c._zod.def["check"] === "number_format")
  )
    base = "integer";
  if (def.type === "enum")
    base = Object.values(def.entries ?? {})
      .map((v) => `\`${v}\``)
      .join(" \\| ");
  if (def.type === "literal") base = (def.values ?? []).map((v) => `\`${String(v)}\``).join(" \\| ");
  if (def.type === "record")
    base = `map of ${typeText(def.keyType as AnySchema)} to ${typeText(def.valueType as AnySchema)}`;
  if (def.type === "union") base = (def.options ?? []).map((o) => defOf(o).type).join(" \\| ");
  if (def.type === "array") base = `list of ${typeText(def.element as AnySchema)}`;
  // A map's object values read best as their fields: `{ value, reason }`.
  if (def.type === "record" && defOf(def.valueType as AnySchema).type === "object") {
    base = `map of ${typeText(def.keyType as AnySchema)} to { ${Object.keys(defOf(def.valueType as AnySchema).shape ?? {}).join(", ")} }`;
  }
  const filtered = limits.filter((l) => !l.includes("9007199254740991"));
  return filtered.length ? `${base} (${filtered.join(", ")})` : base;
}

function show(value: unknown): string {
  if (value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return `\`${text.replace(/\|/g, "\\|")}\``;
}

function valueAt(values: Record<string, unknown>, dotted: string): unknown {
  const [top, ...rest] = dotted.split(".");
  let cur: unknown = values[`ducklake:${top}`];
  for (const seg of rest) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[seg.replace(/\[\]$/, "")];
    if (Array.isArray(cur) && seg.endsWith("[]")) cur = cur[0];
  }
  return cur;
}

/** Builds every row of the reference. */
export function referenceRows(): ReferenceRow[] {
  const names = namedSchemas();
  const comments = fieldComments();
  const dev = readStackFileConfig(path.join(ROOT, "Pulumi.dev.yaml")).values;
  const prod = readStackFileConfig(path.join(ROOT, "Pulumi.prod.yaml")).values;
  const rows: ReferenceRow[] = [];
  const walk = (
    schema: AnySchema,
    key: string,
    variable: string,
    rel: string,
    note: string,
    defaultValue: unknown,
    optional: boolean,
  ): void => {
    const def0 = defOf(schema);
    if (def0.type === "optional")
      return walk(def0.innerType as AnySchema, key, variable, rel, note, defaultValue, true);
    if (def0.type === "default")
      return walk(def0.innerType as AnySchema, key, variable, rel, note, def0.defaultValue, optional);
    if (def0.type === "pipe") return walk(def0.in as AnySchema, key, variable, rel, note, defaultValue, optional);
    // The field's comment sits where the field is declared (the parent's literal), before a named schema takes over.
    const description = comments.get(`${variable}:${rel.replace(/\.$/, "")}`) ?? "";
    const named = names.get(schema);
    if (named) {
      variable = named;
      rel = "";
    }
    const def = def0;
    const isObject = def.type === "object";
    const isUnionOfObjects = def.type === "union" && (def.options ?? []).every((o) => defOf(o).type === "object");
    if (key !== "") {
      const dflt = defaultValue === undefined ? (optional ? "(unset)" : "required") : show(defaultValue);
      rows.push({
        key: key + note,
        type: isObject ? "object" : isUnionOfObjects ? `one of (by \`${def.discriminator ?? "?"}\`)` : typeText(schema),
        defaultValue: dflt,
        description,
        dev: isObject || isUnionOfObjects ? "" : show(valueAt(dev, key)),
        prod: isObject || isUnionOfObjects ? "" : show(valueAt(prod, key)),
      });
    }
    if (isObject) {
      for (const [field, sub] of Object.entries(def.shape ?? {})) {
        walk(sub, key ? `${key}.${field}` : field, variable, `${rel}${field}.`, "", undefined, false);
      }
    } else if (isUnionOfObjects) {
      (def.options ?? []).forEach((option, i) => {
        const optDef = defOf(option);
        const disc = def.discriminator ?? "";
        const literal = defOf((optDef.shape ?? {})[disc] as AnySchema).values?.[0];
        for (const [field, sub] of Object.entries(optDef.shape ?? {})) {
          if (field === disc) continue;
          const optionName = names.get(option);
          walk(
            sub,
            `${key}.${field}`,
            optionName ?? variable,
            optionName ? `${field}.` : `${rel}#${i}.${field}.`,
            ` (${disc}: ${String(literal)})`,
            undefined,
            false,
          );
        }
      });
    } else if (def.type === "array" && defOf(def.element as AnySchema).type === "object") {
      walk(def.element as AnySchema, `${key}[]`, variable, rel, "", undefined, false);
      rows.splice(
        rows.findIndex((r) => r.key === `${key}[]`),
        1,
      );
    }
  };
  walk(StackConfigSchema as unknown as AnySchema, "", "StackConfigSchema", "", "", undefined, false);
  return rows;
}

/** The whole docs/configuration.md text. */
export function renderReference(): string {
  const lines = [
    "# Configuration reference",
    "",
    "<!-- generated by `npm run docs:config` from config/*.ts and the stack files; do not edit by hand -->",
    "",
    "Every key lives under the `ducklake` namespace (`pulumi config set --path 'ducklake:postgres.instances' 3`).",
    "Objects are strict: a key not listed here is an error. Units are in the key names (`sizeGiB`,",
    "`throughputMiBps`, `retentionHours`) or follow their system's spelling (Kubernetes quantities `4Gi`;",
    "PostgreSQL units `1GB`, `10s`). The dev and prod columns show what `Pulumi.dev.yaml` and",
    "`Pulumi.prod.yaml` set (blank: the default applies). The seed guide's tuning values are listed in",
    "[seed-guide.md](seed-guide.md).",
    "",
    "## Editor validation",
    "",
    "`schema/stack-config.schema.json` is the JSON Schema of a whole stack file (JSON Schema draft 7), generated",
    "from the same zod schemas as this page with zod's `z.toJSONSchema`; it carries each key's meaning below.",
    "Editors that run yaml-language-server (the VS Code YAML extension, Neovim, Helix, ...) validate and complete",
    "a stack file as you type. The committed stack files name it in their first line:",
    "",
    "```yaml",
    "# yaml-language-server: $schema=./schema/stack-config.schema.json",
    "```",
    "",
    "or, for every stack file of the workspace, in VS Code's `.vscode/settings.json`:",
    "",
    "```json",
    '{ "yaml.schemas": { "./schema/stack-config.schema.json": "Pulumi.*.yaml" } }',
    "```",
    "",
    "The schema checks types, limits, enums and misspelled `ducklake:` keys. The rules across keys (minSize <=",
    "desiredSize, instances against nodes, gp3 IOPS per GiB, the memory budget, the partition runway) are code:",
    "`npm run plan -- <stack>` checks them all and reports every problem in one run.",
    "",
    "## Keys",
    "",
    "| key | type and limits | default | meaning | dev | prod |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of referenceRows()) {
    lines.push(
      `| \`${r.key}\` | ${r.type.replace(/\|(?!\|)/g, "\\|").replace(/\\\\\|/g, "\\|")} | ${r.defaultValue} | ${r.description.replace(/\|/g, "\\|")} | ${r.dev} | ${r.prod} |`,
    );
  }
  lines.push(
    "",
    "## Secret keys",
    "",
    "Set with `pulumi config set --secret <key> <value>`; a secret key set in plaintext is refused. They are",
    "read as Pulumi secrets and never appear in Helm values, logs or state in plaintext.",
    "",
    "| key | meaning | default |",
    "|---|---|---|",
    ...SECRET_KEYS.map((k) => `| \`${k}\` | ${SECRET_KEY_DESCRIPTIONS[k]} | generated with @pulumi/random |`),
  );
  return lines.join("\n") + "\n";
}
