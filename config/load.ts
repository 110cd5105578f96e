/**
 * The loader: reads every `ducklake:*` key of the running stack, parses it with the schema, runs the
 * semantic validators it is given (`components/stack.ts` gives all of them), and reports every problem at once (each with its full key path, the bad value
 * and the rule). It throws before the program creates anything, so an invalid config is never
 * half-applied.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { distance } from "fastest-levenshtein";
import { ConfigError, ConfigIssue, configPath } from "./issues";
import { CONFIG_NAMESPACE, SECRET_KEYS, StackConfig, StackConfigSchema } from "./schema";
import { didYouMean } from "./spelling";
import type { RegisteredValidator } from "./validators";

/** Parsed config plus what the program must print as warnings. */
export interface ParsedConfig {
  /** The parsed, defaulted configuration. */
  readonly config: StackConfig;
  /** Warnings (e.g. an end-of-life log agent, a memory worst case above the pod limit), each with its numbers. */
  readonly warnings: readonly string[];
}

/** What `loadConfig` returns: the parsed config, its warnings and the secret keys as Pulumi secrets. */
export interface LoadedConfig extends ParsedConfig {
  /** Secret keys that are set, as secret Outputs (never plaintext). */
  readonly secrets: Partial<Record<(typeof SECRET_KEYS)[number], pulumi.Output<string>>>;
}

/** The value at a key path of the raw config, when it is a primitive (for the `(got ...)` part of a message). */
function primitiveAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur !== null && typeof cur === "object" ? undefined : cur;
}

/** A zod schema's definition, as far as keysAt reads it (zod 4's `_zod.def`). */
interface SchemaDef {
  readonly type: string;
  readonly innerType?: SchemaLike;
  readonly in?: SchemaLike;
  readonly shape?: Readonly<Record<string, SchemaLike>>;
  readonly element?: SchemaLike;
  readonly valueType?: SchemaLike;
}
type SchemaLike = { readonly _zod?: { readonly def: SchemaDef } } | undefined;

/**
 * The keys an object of the schema accepts at `path` (through optional, default, nullable and pipe wrappers, array
 * elements and record values), for "did you mean" on an unknown key.
 * @returns undefined when no object schema is at that path.
 */
export function keysAt(schema: SchemaLike, path: readonly PropertyKey[]): string[] | undefined {
  const unwrap = (s: SchemaLike): SchemaLike => {
    for (let cur = s; ;) {
      const d = cur?._zod?.def;
      if (d === undefined) return cur;
      if (["optional", "default", "prefault", "nullable", "nonoptional", "catch", "readonly"].includes(d.type))
        cur = d.innerType;
      else if (d.type === "pipe") cur = d.in;
      else return cur;
    }
  };
  let cur = schema;
  for (const seg of path) {
    const d = unwrap(cur)?._zod?.def;
    if (d?.type === "object") cur = d.shape?.[String(seg)];
    else if (d?.type === "array") cur = d.element;
    else if (d?.type === "record") cur = d.valueType;
    else return undefined;
  }
  const d = unwrap(cur)?._zod?.def;
  return d?.type === "object" ? Object.keys(d.shape ?? {}) : undefined;
}

/**
 * Turns zod's issues into config issues with full key paths; an unknown key becomes one issue per key.
 * @param issues zod's issues (parsed with `reportInput: true`).
 * @param raw the config that was parsed, to report the offending value where zod does not carry it.
 */
export function zodIssuesToConfigIssues(issues: readonly z.core.$ZodIssue[], raw?: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const known = keysAt(StackConfigSchema, issue.path) ?? [];
      for (const key of issue.keys) {
        const near = didYouMean(
          key,
          known.filter((k) => !issue.keys.includes(k)),
        );
        out.push({
          path: configPath(CONFIG_NAMESPACE, [...issue.path, key]),
          message: `unknown key${near === undefined ? " (check its spelling)" : `; did you mean ${near}?`}`,
        });
      }
      continue;
    }
    let message = issue.message;
    const path: readonly PropertyKey[] = issue.path;
    if (issue.code === "invalid_type" && issue.input === undefined) {
      message = `is required (${issue.expected})`;
    } else if (issue.code === "invalid_key") {
      // A record key that breaks its rule: report the key's own rule, not zod's generic text.
      message = issue.issues.map((i) => i.message).join("; ");
    }
    const value =
      issue.input === undefined || (typeof issue.input === "object" && issue.input !== null)
        ? primitiveAt(raw, path)
        : issue.input;
    out.push({ path: configPath(CONFIG_NAMESPACE, path), message, value });
  }
  return out;
}

/** Every config key of a stack (with namespace) and whether it is a secret. */
export interface StackKeys {
  readonly all: readonly string[];
  readonly isSecret: (key: string) => boolean;
}

/**
 * Problems with the keys themselves: a namespace within two edits of `ducklake` (`duklake:tags`,
 * which Pulumi would pass and this program would never read), and a secret key (`SECRET_KEYS`) set in
 * plaintext rather than with `pulumi config set --secret`. The value of a secret key is never printed.
 */
export function configKeyIssues(keys: StackKeys): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const key of keys.all) {
    const colon = key.indexOf(":");
    if (colon < 0) continue;
    const namespace = key.slice(0, colon);
    if (namespace !== CONFIG_NAMESPACE && distance(namespace, CONFIG_NAMESPACE) <= 2) {
      issues.push({
        path: key,
        message: `unknown config namespace "${namespace}": did you mean ${CONFIG_NAMESPACE}:${key.slice(colon + 1)}?`,
      });
    }
  }
  for (const secretKey of SECRET_KEYS) {
    const key = `${CONFIG_NAMESPACE}:${secretKey}`;
    if (keys.all.includes(key) && !keys.isSecret(key)) {
      issues.push({ path: key, message: "is a secret: set it with `pulumi config set --secret`" });
    }
  }
  return issues;
}

/**
 * Keys named `__proto__` anywhere in the config: a YAML parser keeps them as plain keys, but zod's records and
 * JavaScript objects drop or misread them, so the key would be ignored without a word. Refused by name.
 */
export function prototypeKeyIssues(raw: unknown, path: readonly PropertyKey[] = []): ConfigIssue[] {
  if (raw === null || typeof raw !== "object") return [];
  const out: ConfigIssue[] = [];
  for (const key of Object.keys(raw)) {
    const at = [...path, Array.isArray(raw) ? Number(key) : key];
    if (key === "__proto__")
      out.push({ path: configPath(CONFIG_NAMESPACE, at), message: "a key named __proto__ is not allowed" });
    else out.push(...prototypeKeyIssues((raw as Record<string, unknown>)[key], at));
  }
  return out;
}

/**
 * Parses a stack's `ducklake:*` keys (namespace stripped) and runs the given semantic validators.
 * Pure. Callers use `parseStackConfig` of `components/stack.ts`, which passes every validator.
 * @param raw key (e.g. `postgres`) to value, as in `Pulumi.<stack>.yaml`.
 * @param stack stack name, used in the error message.
 * @param keys every config key of the stack (all namespaces) and which are secret, to catch a
 *   misspelled namespace (`duklake:tags`) and a secret key set in plaintext; omitted, neither is checked.
 * @returns the parsed config and its warnings.
 * @throws ConfigError listing every problem when any rule is broken.
 */
export function parseStackConfigWith(
  validators: readonly RegisteredValidator[],
  raw: Readonly<Record<string, unknown>>,
  stack?: string,
  keys?: StackKeys,
): ParsedConfig {
  const plain: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(SECRET_KEYS as readonly string[]).includes(k)) plain[k] = v;
  }
  const issues: ConfigIssue[] = [...(keys ? configKeyIssues(keys) : []), ...prototypeKeyIssues(raw)];
  const parsed = StackConfigSchema.safeParse(plain, { reportInput: true });
  const warnings: string[] = [];
  if (!parsed.success) issues.push(...zodIssuesToConfigIssues(parsed.error.issues, plain));
  // The validators run on every section whose structure is whole, although some of its values break a rule
  // (a misspelled key, a number out of range: zod keeps going past those and runs the section's own
  // cross-field rules too), so one run reports every problem; a rule that reads a section zod could not
  // read (a wrong type, a missing required key) does not run.
  const config = parsed.success ? parsed.data : readableSections(plain);
  const complete = parsed.success;
  // A key the schema already refused is reported once, by the schema, and not again by a validator that read it.
  const refused = new Set(issues.map((i) => i.path));
  for (const { needs, validate } of validators) {
    if (!complete && !needs.every((section) => section in config)) continue;
    let result;
    try {
      result = validate(config as StackConfig);
    } catch (err) {
      // A validator that meets values another rule already refused (an out-of-range number, an EKS stack without
      // nodes) and was not written for them: the problems already found stand.
      if (complete && issues.length === 0) throw err;
      continue;
    }
    for (const e of result.errors) {
      const path = configPath(CONFIG_NAMESPACE, e.path);
      if (!complete && refused.has(path)) continue;
      issues.push({ path, message: e.message, value: e.value });
    }
    warnings.push(...result.warnings);
  }
  if (issues.length > 0) throw new ConfigError(issues, stack);
  return { config: config as StackConfig, warnings };
}

/**
 * Parses each top-level section on its own and returns the ones whose structure zod could read: every key of
 * the right type and every required key present (an absent optional section, such as `nodes` on kind, counts).
 * Their values are zod's output (defaults applied, unknown keys left out), although some may break a check:
 * zod only stops at a fault it cannot read past (`aborted` in zod's core), and its public parse returns no
 * value once any issue was raised, so this reads the value from the parse zod's `safeParse` itself runs.
 */
function readableSections(plain: Readonly<Record<string, unknown>>): Partial<StackConfig> {
  const out: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(StackConfigSchema.shape)) {
    const payload = (schema as z.core.$ZodType)._zod.run({ value: plain[key], issues: [] }, { async: false });
    if (payload instanceof Promise) continue;
    // zod marks an issue it could go on past with continue: true (checks, refinements, unknown keys).
    if (payload.issues.every((i) => i.continue === true)) out[key] = payload.value;
  }
  return out as Partial<StackConfig>;
}

/**
 * Reads the `ducklake:*` keys of the running Pulumi stack. Values Pulumi stores as JSON text (objects,
 * arrays, numbers, booleans) are decoded; secret keys are left out (see `loadConfig`).
 */
export function readStackConfig(): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [key, text] of Object.entries(pulumi.runtime.allConfig())) {
    if (!key.startsWith(prefix)) continue;
    const name = key.slice(prefix.length);
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // a plain string value
    }
    raw[name] = value;
  }
  return raw;
}

/**
 * Loads, parses and validates the running stack's config with the given validators; prints its warnings
 * with `pulumi.log.warn`. The program calls `loadConfig` of `components/stack.ts`.
 * @throws ConfigError listing every problem, before any resource is created. A secret key set in
 *   plaintext (not with `--secret`) is one of those problems.
 */
export function loadConfigWith(validators: readonly RegisteredValidator[]): LoadedConfig {
  const raw = readStackConfig();
  const stack = pulumi.getStack();
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  const keys: StackKeys = { all: Object.keys(pulumi.runtime.allConfig()), isSecret: isConfigSecret };
  const parsed = parseStackConfigWith(validators, raw, stack, keys);
  const secrets: LoadedConfig["secrets"] = {};
  for (const key of SECRET_KEYS) {
    if (raw[key] !== undefined) secrets[key] = cfg.requireSecret(key);
  }
  for (const w of parsed.warnings) void pulumi.log.warn(w);
  return { ...parsed, secrets };
}

function isConfigSecret(key: string): boolean {
  // Not re-exported by @pulumi/pulumi's public runtime index in every version; read it from the module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  return runtimeConfig.isConfigSecret?.(key) ?? false;
}
