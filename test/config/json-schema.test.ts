/**
 * schema/stack-config.schema.json: generated from the zod schemas (scripts/stack-schema.ts), current, valid for
 * the committed stack files as an editor would check them (ajv 6, JSON Schema draft 7), refusing what the
 * loader refuses where a schema can say it, and consistent with the config reference key for key.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv from "ajv";
import { parse } from "yaml";
import { referenceRows } from "../../scripts/config-reference";
import {
  ducklakeKeysSchema,
  nodeAt,
  renderStackSchema,
  schemaKeys,
  STACK_SCHEMA_PATH,
  stackFileSchema,
} from "../../scripts/stack-schema";
import { ROOT } from "../helpers/stack-files";

const committed = fs.readFileSync(path.join(ROOT, STACK_SCHEMA_PATH), "utf8");

test(`${STACK_SCHEMA_PATH} is current (regenerate with \`npm run docs:config\`)`, () => {
  expect(committed).toEqual(renderStackSchema());
});

/** Errors of ajv 6 (draft 7, every error) on a stack file's document, as `dataPath message`. */
function validate(doc: unknown): string[] {
  const ajv = new Ajv({ allErrors: true });
  const check = ajv.compile(JSON.parse(committed) as object);
  return check(doc) ? [] : (check.errors ?? []).map((e) => `${e.dataPath} ${e.message ?? ""}`);
}

const stackDoc = (stack: string): Record<string, any> =>
  parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as Record<string, any>;

describe("the committed stack files", () => {
  test.each(["dev", "prod"])("Pulumi.%s.yaml is valid against the schema", (stack) => {
    expect(validate(stackDoc(stack))).toEqual([]);
  });

  test.each(["dev", "prod"])("Pulumi.%s.yaml names the schema for yaml-language-server on its first line", (stack) => {
    const first = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8").split("\n")[0];
    expect(first).toBe(`# yaml-language-server: $schema=./${STACK_SCHEMA_PATH}`);
  });
});

describe("what the schema refuses, as the loader does", () => {
  type Case = [what: string, mutate: (doc: Record<string, any>) => void, error: RegExp];
  const cases: Case[] = [
    [
      "a misspelled ducklake key",
      (d) => (d.config["ducklake:postgress"] = {}),
      /property name '.*' is invalid|should match/,
    ],
    ["a misspelled nested key", (d) => (d.config["ducklake:postgres"].tunning = {}), /\.tunning|additional properties/],
    ["a number above its limit", (d) => (d.config["ducklake:storage"].gp3.iops = 80001), /should be <= 80000/],
    ["a value outside its enum", (d) => (d.config["ducklake:logging"].agent = "fluentd"), /should be equal to one of/],
    ["a wrong type", (d) => (d.config["ducklake:postgres"].instances = "three"), /should be integer/],
    ["a missing required section", (d) => delete d.config["ducklake:queues"], /ducklake:queues/],
    [
      "a secret key in plaintext",
      (d) => (d.config["ducklake:grafanaAdminPassword"] = "hunter22"),
      /grafanaAdminPassword.*should be object/,
    ],
  ];
  test.each(cases)("%s", (_what, mutate, error) => {
    const doc = stackDoc("prod");
    mutate(doc);
    expect(validate(doc).join("\n")).toMatch(error);
  });

  test("other namespaces' keys and a secure: secret are accepted", () => {
    const doc = stackDoc("prod");
    doc.config["aws:profile"] = "prod";
    doc.config["ducklake:grafanaAdminPassword"] = { secure: "AAABAC==" };
    expect(validate(doc)).toEqual([]);
  });
});

describe("the schema and docs/configuration.md describe the same keys", () => {
  const keys = ducklakeKeysSchema();
  const rows = referenceRows();

  test("every key of the reference is in the schema, and every key of the schema in the reference", () => {
    const referenceKeys = rows.map((r) => r.key).sort();
    expect(schemaKeys(keys).sort()).toEqual(referenceKeys);
  });

  test("each key's default is the same in both", () => {
    const differing = rows.filter((r) => {
      const node = nodeAt(keys, r.key);
      const fromSchema = node?.default === undefined ? undefined : JSON.stringify(node.default);
      const fromReference = r.defaultValue.startsWith("`")
        ? r.defaultValue.slice(1, -1).replace(/\\\|/g, "|")
        : undefined;
      const asJson =
        fromSchema !== undefined && typeof node?.default === "string" ? (node.default as string) : fromSchema;
      return asJson !== fromReference;
    });
    expect(differing.map((r) => r.key)).toEqual([]);
  });

  test("each key's meaning in the schema is the reference's (what an editor shows on hover)", () => {
    const schema = stackFileSchema();
    const config = schema.properties!["config"]!;
    const missing = rows.filter(
      (r) => r.description !== "" && nodeAt(config, `ducklake:${r.key}`)?.description !== r.description,
    );
    expect(missing.map((r) => r.key)).toEqual([]);
  });
});
