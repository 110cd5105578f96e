/**
 * Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to a program: every key keeps its
 * namespace (`ducklake:postgres`), objects and scalars become the JSON text Pulumi passes in
 * `PULUMI_CONFIG`, and `secure:` values are secrets (the plan cannot decrypt them; it passes a
 * placeholder marked secret, so nothing secret is ever printed).
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { StackKeys } from "../../config/load";
import { CONFIG_NAMESPACE, SECRET_KEYS } from "../../config/schema";

/**
 * Environment variable naming the opened Pulumi ESC environments of a stack file that imports some: files of
 * `pulumi env open <environment>` (its JSON), several joined with the path delimiter (`:`) in the stack file's
 * order. Their `pulumiConfig` maps are merged into the file's config (see `mergeEscValues`).
 */
export const ESC_VALUES_ENV = "DUCKLAKE_ESC_VALUES";

/**
 * Pulumi's rule for a stack name: "Stack names may only contain alphanumeric characters, hyphens,
 * underscores, or periods" (https://www.pulumi.com/docs/iac/concepts/stacks/). The local scripts also
 * refuse names that are only periods, because the name becomes a path (`.local/<stack>/`, `plan/<stack>/`).
 */
const STACK_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Checks a stack name before it is used in a path.
 * @param stack the name given on the command line.
 * @returns the name.
 * @throws Error naming the value and the rule when it is not a plain Pulumi stack name (e.g. `../x`).
 */
export function assertStackName(stack: string): string {
  if (!STACK_NAME.test(stack) || /^\.+$/.test(stack)) {
    throw new Error(
      `stack name "${stack}" is not a Pulumi stack name: only letters, digits, "-", "_" and "." (and not only periods) are allowed`,
    );
  }
  return stack;
}

/** A stack file's `config:` map, values as written, plus which keys are `secure:`. */
export interface StackFileConfig {
  readonly values: Record<string, unknown>;
  readonly secureKeys: readonly string[];
}

/**
 * Parses a stack file.
 * @param file path of `Pulumi.<stack>.yaml`.
 * @throws Error when the file is not YAML or its `config` is not a map.
 */
/** A stack file that cannot be read as one: not YAML, or no `config` map. The message names the file. */
export class StackFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StackFileError";
  }
}

/**
 * Reads a stack file's `config:` map; when the file imports Pulumi ESC environments, merges the opened
 * environments' values named by `escValues` or refuses the file (`escImportRefusal`).
 * @param escValues files of `pulumi env open <environment>`, joined with the path delimiter; defaults to
 *   `$DUCKLAKE_ESC_VALUES`. Ignored for a file that imports no environment.
 * @throws StackFileError naming the file when it is not valid YAML or has no `config` map, or imports
 *   environments whose values were not given (or were given and clash with the file's own keys).
 */
export function readStackFileConfig(
  file: string,
  escValues: string | undefined = process.env[ESC_VALUES_ENV],
): StackFileConfig {
  let doc: { config?: unknown };
  const text = fs.readFileSync(file, "utf8");
  try {
    // yaml refuses duplicate keys, undefined aliases and tabs with a message naming line and column.
    doc = (parse(text) ?? {}) as { config?: unknown };
  } catch (err) {
    const alias = /Unresolved alias[^:]*: (\S+)/.exec((err as Error).message);
    const line = alias === null ? -1 : text.split("\n").findIndex((l) => l.includes(`*${alias[1]}`));
    throw new StackFileError(
      `${file} is not valid YAML: ${(err as Error).message}${line >= 0 ? ` (line ${line + 1}: ${text.split("\n")[line]!.trim()})` : ""}`,
    );
  }
  // YAML 1.1's merge key: YAML 1.2 readers (this one) take it as a plain key named "<<", others merge; refuse it.
  const merge = text.split("\n").findIndex((l) => /^\s*<<\s*:/.test(l));
  if (merge >= 0) {
    throw new StackFileError(
      `${file} line ${merge + 1}: YAML merge keys (<<) are not supported in stack files (readers disagree on them); write the keys out: ${text.split("\n")[merge]!.trim()}`,
    );
  }
  const esc = escImportRefusal(file, (doc as { environment?: unknown }).environment);
  const escFiles = (escValues ?? "").split(path.delimiter).filter((f) => f !== "");
  const environment = (doc as { environment?: unknown }).environment;
  // An inline environment (imports: plus values:) has no name to open: only the Pulumi CLI can resolve it.
  const inline =
    environment !== null && typeof environment === "object" && !Array.isArray(environment)
      ? Object.keys(environment).some((k) => k !== "imports")
      : false;
  if (esc !== undefined && (escFiles.length === 0 || inline)) throw new StackFileError(esc);
  const config = doc.config ?? {};
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new StackFileError(`${file}: "config" must be a map of key to value`);
  }
  const values: Record<string, unknown> = {};
  const secureKeys: string[] = [];
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    const isSecure =
      v !== null &&
      typeof v === "object" &&
      !Array.isArray(v) &&
      Object.keys(v).length === 1 &&
      "secure" in (v as object);
    if (isSecure) {
      secureKeys.push(k);
      values[k] = "[secret]";
    } else {
      // Pulumi's `value:` wrapper for structured project-level config.
      values[k] = v;
    }
  }
  if (esc !== undefined) mergeEscValues(file, escFiles, values, secureKeys);
  return { values, secureKeys };
}

/** RFC 7386 JSON merge patch: objects merge key by key, `null` removes a key, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const out: Record<string, unknown> =
    target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * Merges the `pulumiConfig` of opened ESC environments into a stack file's config, as the Pulumi CLI does for
 * `pulumi preview`: environments "are merged in order per JSON merge patch"
 * (https://www.pulumi.com/docs/esc/reference/) and their `pulumiConfig` map becomes stack config
 * (https://www.pulumi.com/docs/esc/environments/syntax/reserved-properties/pulumi-config/). A key the stack file
 * also sets is refused rather than guessed at; a secret key (`SECRET_KEYS`) is kept as a secret placeholder,
 * never its opened plaintext.
 */
function mergeEscValues(
  file: string,
  escFiles: readonly string[],
  values: Record<string, unknown>,
  secureKeys: string[],
): void {
  let merged: unknown = {};
  for (const escFile of escFiles) {
    let opened: unknown;
    try {
      opened = parse(fs.readFileSync(escFile, "utf8"));
    } catch (err) {
      throw new StackFileError(
        `${ESC_VALUES_ENV}: ${escFile} cannot be read as JSON or YAML: ${(err as Error).message}`,
      );
    }
    const config = (opened as { pulumiConfig?: unknown } | null)?.pulumiConfig;
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
      throw new StackFileError(
        `${ESC_VALUES_ENV}: ${escFile} has no pulumiConfig map: write it with \`pulumi env open <environment> > ${escFile}\` (an environment whose values: has a pulumiConfig block)`,
      );
    }
    merged = mergePatch(merged, config);
  }
  const clashes = Object.keys(merged as object).filter((k) => k in values);
  if (clashes.length > 0) {
    throw new StackFileError(
      `${file} and the ESC values (${escFiles.join(", ")}) both set ${clashes.join(", ")}: keep each key in one place`,
    );
  }
  const secret = new Set(SECRET_KEYS.map((k) => `${CONFIG_NAMESPACE}:${k}`));
  for (const [k, v] of Object.entries(merged as object)) {
    if (secret.has(k)) {
      values[k] = "[secret]";
      secureKeys.push(k);
    } else values[k] = v;
  }
}

/**
 * A stack file's `environment:` key imports Pulumi ESC environments: "The `environment` block in your stack
 * configuration file (`Pulumi.<stack>.yaml`) lists the environments the stack imports. Environments are merged
 * in order" and each one's `pulumiConfig` values "flow into your program as stack configuration"
 * (https://www.pulumi.com/docs/esc/guides/pulumi-iac/; the reserved property:
 * https://www.pulumi.com/docs/esc/environments/syntax/reserved-properties/pulumi-config/). Only the Pulumi CLI
 * opens them (with Pulumi Cloud's credentials), so a script reading the file alone would see a config without
 * those values: the offline plan, db:local and the benches refuse it instead, naming what to do, unless the opened
 * environments are given (`ESC_VALUES_ENV`). `pulumi up` and
 * `pulumi preview` (index.ts) are not affected: the CLI hands the program the merged config.
 * @param file the stack file, for the message.
 * @param environment the file's `environment:` value: a list of environment names, or an inline environment
 *   with `imports:` (and perhaps `values:`).
 * @returns the refusal, or undefined when the file imports nothing.
 */
export function escImportRefusal(file: string, environment: unknown): string | undefined {
  if (environment === undefined || environment === null) return undefined;
  const names: string[] = [];
  let inline = false;
  if (Array.isArray(environment)) names.push(...environment.map(String));
  else if (typeof environment === "object") {
    const imports = (environment as { imports?: unknown }).imports;
    if (Array.isArray(imports)) names.push(...imports.map((i) => (typeof i === "string" ? i : JSON.stringify(i))));
    inline = Object.keys(environment).some((k) => k !== "imports");
  } else names.push(String(environment));
  if (names.length === 0 && !inline) return undefined;
  const what = [...(names.length > 0 ? [names.join(", ")] : []), ...(inline ? ["an inline environment"] : [])];
  const stack = /Pulumi\.(.+)\.yaml$/.exec(file)?.[1] ?? "<stack>";
  return (
    `${file}: its "environment:" key imports Pulumi ESC environments (${what.join(" and ")}), whose pulumiConfig ` +
    `values become stack config only when the Pulumi CLI opens them; this script reads the file alone and cannot. ` +
    `Run \`pulumi preview --stack ${stack}\` (it resolves them), or list the resolved values with ` +
    `\`pulumi config --open --stack ${stack}\`. To plan offline, open each environment (\`pulumi env open <environment> > <file>\`) ` +
    `and name the files in ${ESC_VALUES_ENV} (several joined with "${path.delimiter}", in the file's order): their pulumiConfig is merged in.`
  );
}

/** The config map as the Pulumi runtime receives it: key to text (JSON for non-strings), and the secret keys. */
export function stackConfigForRuntime(file: StackFileConfig): { config: Record<string, string>; secretKeys: string[] } {
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(file.values)) {
    config[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return { config, secretKeys: [...file.secureKeys] };
}

/**
 * What `parseStackConfig` takes from a stack file: the `ducklake:*` keys with the namespace stripped,
 * and every key of the file with which are `secure:` (to catch a misspelled namespace or a plaintext
 * secret). One reader for the plan, db:local and the tests.
 */
export function ducklakeConfigOf(file: StackFileConfig): { raw: Record<string, unknown>; keys: StackKeys } {
  const raw: Record<string, unknown> = {};
  const prefix = `${CONFIG_NAMESPACE}:`;
  for (const [k, v] of Object.entries(file.values)) {
    if (k.startsWith(prefix)) raw[k.slice(prefix.length)] = v;
  }
  const secure = new Set(file.secureKeys);
  return { raw, keys: { all: Object.keys(file.values), isSecret: (k) => secure.has(k) } };
}
