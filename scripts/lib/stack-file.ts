/**
 * Reads `Pulumi.<stack>.yaml` the way the Pulumi CLI hands it to a program: every key keeps its
 * namespace (`ducklake:postgres`), objects and scalars become the JSON text Pulumi passes in
 * `PULUMI_CONFIG`, and `secure:` values are secrets (the plan cannot decrypt them; it passes a
 * placeholder marked secret, so nothing secret is ever printed).
 */
import * as fs from "fs";
import { parse } from "yaml";
import type { StackKeys } from "../../config/load";
import { CONFIG_NAMESPACE } from "../../config/schema";

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
 * Reads a stack file's `config:` map.
 * @throws StackFileError naming the file when it is not valid YAML or has no `config` map.
 */
export function readStackFileConfig(file: string): StackFileConfig {
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
  if (esc !== undefined) throw new StackFileError(esc);
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
  return { values, secureKeys };
}

/**
 * A stack file's `environment:` key imports Pulumi ESC environments: "The `environment` block in your stack
 * configuration file (`Pulumi.<stack>.yaml`) lists the environments the stack imports. Environments are merged
 * in order" and each one's `pulumiConfig` values "flow into your program as stack configuration"
 * (https://www.pulumi.com/docs/esc/guides/pulumi-iac/; the reserved property:
 * https://www.pulumi.com/docs/esc/environments/syntax/reserved-properties/pulumi-config/). Only the Pulumi CLI
 * opens them (with Pulumi Cloud's credentials), so a script reading the file alone would see a config without
 * those values: the offline plan, db:local and the benches refuse it instead, naming what to do. `pulumi up` and
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
    `\`pulumi config --open --stack ${stack}\` (or \`pulumi env open <environment>\`) and, to plan offline, ` +
    `copy the ducklake:* keys into the file's config: map and remove the environment: key from a local copy.`
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
