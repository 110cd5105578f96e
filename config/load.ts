/**
 * The loader: reads every `ducklake:*` key of the running stack, parses it with the schema, runs the
 * semantic validators, and reports every problem at once (each with its full key path, the bad value
 * and the rule). It throws before the program creates anything, so an invalid config is never
 * half-applied.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { ConfigError, ConfigIssue, configPath } from "./issues";
import { CONFIG_NAMESPACE, SECRET_KEYS, StackConfig, StackConfigSchema } from "./schema";
import { SEMANTIC_VALIDATORS } from "./validators";

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

/**
 * Turns zod's issues into config issues with full key paths; an unknown key becomes one issue per key.
 * @param issues zod's issues (parsed with `reportInput: true`).
 * @param raw the config that was parsed, to report the offending value where zod does not carry it.
 */
export function zodIssuesToConfigIssues(issues: readonly z.core.$ZodIssue[], raw?: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        out.push({ path: configPath(CONFIG_NAMESPACE, [...issue.path, key]), message: "unknown key (check its spelling)" });
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
    const value = issue.input === undefined || (typeof issue.input === "object" && issue.input !== null) ? primitiveAt(raw, path) : issue.input;
    out.push({ path: configPath(CONFIG_NAMESPACE, path), message, value });
  }
  return out;
}

/**
 * Parses a stack's `ducklake:*` keys (namespace stripped) and runs every semantic validator.
 * Pure: used by the loader, the tests and the offline plan.
 * @param raw key (e.g. `postgres`) to value, as in `Pulumi.<stack>.yaml`.
 * @param stack stack name, used in the error message.
 * @returns the parsed config and its warnings.
 * @throws ConfigError listing every problem when any rule is broken.
 */
export function parseStackConfig(raw: Readonly<Record<string, unknown>>, stack?: string): ParsedConfig {
  const plain: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (!(SECRET_KEYS as readonly string[]).includes(k)) plain[k] = v;
  }
  const parsed = StackConfigSchema.safeParse(plain, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigError(zodIssuesToConfigIssues(parsed.error.issues, plain), stack);
  }
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  for (const validate of SEMANTIC_VALIDATORS) {
    const result = validate(parsed.data);
    for (const e of result.errors) issues.push({ path: configPath(CONFIG_NAMESPACE, e.path), message: e.message, value: e.value });
    warnings.push(...result.warnings);
  }
  if (issues.length > 0) throw new ConfigError(issues, stack);
  return { config: parsed.data, warnings };
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
 * Loads, parses and validates the running stack's config; prints its warnings with `pulumi.log.warn`.
 * @throws ConfigError listing every problem, before any resource is created. A secret key set in
 *   plaintext (not with `--secret`) is one of those problems.
 */
export function loadConfig(): LoadedConfig {
  const raw = readStackConfig();
  const stack = pulumi.getStack();
  const secretIssues: ConfigIssue[] = [];
  const cfg = new pulumi.Config(CONFIG_NAMESPACE);
  const secrets: LoadedConfig["secrets"] = {};
  for (const key of SECRET_KEYS) {
    if (raw[key] === undefined) continue;
    if (!isConfigSecret(`${CONFIG_NAMESPACE}:${key}`)) {
      secretIssues.push({ path: `${CONFIG_NAMESPACE}:${key}`, message: "is a secret: set it with `pulumi config set --secret`" });
      continue;
    }
    secrets[key] = cfg.requireSecret(key);
  }
  let parsed: ParsedConfig;
  try {
    parsed = parseStackConfig(raw, stack);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError([...err.issues, ...secretIssues], stack);
    throw err;
  }
  if (secretIssues.length > 0) throw new ConfigError(secretIssues, stack);
  for (const w of parsed.warnings) void pulumi.log.warn(w);
  return { ...parsed, secrets };
}

function isConfigSecret(key: string): boolean {
  // Not re-exported by @pulumi/pulumi's public runtime index in every version; read it from the module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
  return runtimeConfig.isConfigSecret?.(key) ?? false;
}
