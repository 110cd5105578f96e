/**
 * The JSON Schema of a stack file (`Pulumi.<stack>.yaml`), generated from the zod schemas with zod 4's
 * `z.toJSONSchema` (https://zod.dev/json-schema) and committed as schema/stack-config.schema.json, so editors
 * validate a stack file as it is typed (docs/configuration.md "Editor validation"). It has the real file's shape:
 * the project's keys sit under `config:` with the `ducklake:` prefix beside other namespaces' keys (`aws:region`);
 * a misspelled `ducklake:` key is refused; the secret keys take Pulumi's `secure:` form. Each field's
 * description is the same TSDoc text the config reference shows (scripts/config-reference.ts `referenceRows`).
 *
 * Draft 7 (`target: "draft-7"`): the draft the project's validator, ajv 6, implements ("Ajv supports JSON Schema
 * draft-04/06/07", https://github.com/ajv-validator/ajv/tree/v6), and one yaml-language-server reads.
 * `io: "input"`: a stack file is what zod parses, so a key with a default is optional here.
 *
 * What the schema cannot say: the rules zod checks in code (refinements: minSize <= desiredSize, the rules across
 * sections, the tuning engine's limits). `npm run plan` checks every rule; the editor catches the rest early.
 * `npm run docs:config` writes the file; a test fails when it is stale.
 */
import { z } from "zod";
import { CONFIG_NAMESPACE, SECRET_KEYS, StackConfigSchema } from "../config/schema";
import { referenceRows, SECRET_KEY_DESCRIPTIONS } from "./config-reference";

/** Repository path of the committed schema. */
export const STACK_SCHEMA_PATH = "schema/stack-config.schema.json";

/** A JSON Schema node, as far as this module reads or writes one. */
export interface JsonSchemaNode {
  [key: string]: unknown;
  type?: string | string[];
  description?: string;
  default?: unknown;
  const?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  oneOf?: JsonSchemaNode[];
  additionalProperties?: boolean | JsonSchemaNode;
}

/** The zod schema of the `ducklake:*` keys as JSON Schema (draft 7, input side), without its `$schema`. */
export function ducklakeKeysSchema(): JsonSchemaNode {
  const js = z.toJSONSchema(StackConfigSchema, { target: "draft-7", io: "input" }) as JsonSchemaNode;
  delete js["$schema"];
  return js;
}

/**
 * The node a config-reference key names (`postgres.storage.sizeGiB`, `queues.definitions[].name`,
 * `cluster.name (provider: eks)`), or undefined when the schema has no such key.
 */
export function nodeAt(root: JsonSchemaNode, referenceKey: string): JsonSchemaNode | undefined {
  const variant = /^(.*) \((\w+): ([^)]+)\)$/.exec(referenceKey);
  const key = variant ? variant[1]! : referenceKey;
  let node: JsonSchemaNode | undefined = root;
  for (const raw of key.split(".")) {
    if (node === undefined) return undefined;
    // A discriminated union: the branch whose discriminator is the reference's `(provider: eks)`, else the only one.
    if (node.oneOf !== undefined) {
      const branches: JsonSchemaNode[] = node.oneOf.filter((b) => b.properties?.[raw] !== undefined);
      node = variant
        ? branches.find((b) => b.properties?.[variant[2]!]?.const === variant[3])
        : branches.length === 1
          ? branches[0]
          : undefined;
      if (node === undefined) return undefined;
    }
    const field = raw.replace(/\[\]$/, "");
    node = node.properties?.[field];
    if (node !== undefined && raw.endsWith("[]")) node = node.items;
  }
  return node;
}

/** Every key path the schema defines, in the config reference's spelling (union branches as `(disc: value)`). */
export function schemaKeys(node: JsonSchemaNode, prefix = "", note = ""): string[] {
  const out: string[] = [];
  const visit = (n: JsonSchemaNode, key: string, suffix: string): void => {
    if (n.oneOf !== undefined) {
      for (const branch of n.oneOf) {
        const disc = Object.entries(branch.properties ?? {}).find(([, p]) => p.const !== undefined);
        const tag = disc ? ` (${disc[0]}: ${String(disc[1].const)})` : suffix;
        for (const [field, sub] of Object.entries(branch.properties ?? {})) {
          if (disc && field === disc[0]) continue;
          out.push(`${key}.${field}${tag}`);
          visit(sub, `${key}.${field}`, tag);
        }
      }
      return;
    }
    for (const [field, sub] of Object.entries(n.properties ?? {})) {
      const child = key === "" ? field : `${key}.${field}`;
      out.push(`${child}${suffix}`);
      visit(sub, child, suffix);
    }
    if (n.items !== undefined && n.items.properties !== undefined) visit(n.items, `${key}[]`, suffix);
  };
  visit(node, prefix, note);
  return out;
}

/** The whole stack-file schema: `config:` with every `ducklake:` key, other namespaces free, Pulumi's own keys. */
export function stackFileSchema(): JsonSchemaNode {
  const keys = ducklakeKeysSchema();
  for (const row of referenceRows()) {
    const node = nodeAt(keys, row.key);
    if (node !== undefined && row.description !== "") node.description = row.description;
  }
  const config: Record<string, JsonSchemaNode> = {};
  for (const [key, node] of Object.entries(keys.properties ?? {})) config[`${CONFIG_NAMESPACE}:${key}`] = node;
  for (const key of SECRET_KEYS) {
    config[`${CONFIG_NAMESPACE}:${key}`] = {
      description: `${SECRET_KEY_DESCRIPTIONS[key]} A secret: set it with \`pulumi config set --secret ${CONFIG_NAMESPACE}:${key}\`.`,
      type: "object",
      properties: { secure: { type: "string", description: "The value, encrypted by the stack's secrets provider." } },
      required: ["secure"],
      additionalProperties: false,
    };
  }
  const ducklakeKeys = Object.keys(config);
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    $comment: "generated by `npm run docs:config` from config/*.ts (scripts/stack-schema.ts); do not edit by hand",
    title: "Pulumi.<stack>.yaml of ducklake-pgmq",
    description:
      "A stack settings file: the ducklake:* keys (docs/configuration.md) beside other namespaces' keys. Rules the schema cannot express (across sections, tuning limits) are checked by `npm run plan -- <stack>`.",
    type: "object",
    properties: {
      config: {
        description: "Stack configuration: `<namespace>:<key>` to value.",
        type: "object",
        properties: config,
        required: (keys.required ?? []).map((k) => `${CONFIG_NAMESPACE}:${k}`),
        // A ducklake: key the program does not read is a misspelling; other namespaces belong to other programs.
        propertyNames: { anyOf: [{ not: { pattern: `^${CONFIG_NAMESPACE}:` } }, { enum: ducklakeKeys }] },
      },
      environment: {
        description:
          "Pulumi ESC environments the stack imports (https://www.pulumi.com/docs/esc/guides/pulumi-iac/). `pulumi preview` and `pulumi up` resolve them; the offline plan refuses the file unless the opened environments are given in DUCKLAKE_ESC_VALUES (README).",
      },
      secretsprovider: { type: "string" },
      encryptedkey: { type: "string" },
      encryptionsalt: { type: "string" },
    },
  };
}

/** The committed file's text. */
export function renderStackSchema(): string {
  return `${JSON.stringify(stackFileSchema(), null, 2)}\n`;
}
