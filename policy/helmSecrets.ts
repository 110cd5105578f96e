/**
 * Rule "helm-no-plaintext-secrets": no secret-looking plaintext in Helm release values.
 *
 * Helm stores a release's values in the cluster (a Secret per revision) and Pulumi stores them in the
 * stack state; a password placed there is readable by anyone who can read either. DESIGN.md
 * ("Secrets"): generated with @pulumi/random, stored in a Kubernetes Secret, referenced by name from Helm
 * values. A policy sees Pulumi secrets unwrapped (the analyzer receives plain values), so a
 * `pulumi.secret(...)` placed in values is caught too.
 *
 * What counts as secret-looking: a key whose words (camelCase, snake_case or kebab-case) include
 * password, passwd, pwd, passphrase, token, secret(s), credential(s) or apikey, or that ends in the
 * word "key" after a credential word (`CREDENTIAL_KEY_PREFIXES`: accessKey, secret_key, privateKey,
 * tlsKey...). Other `*Key` fields are Kubernetes identifiers (topologyKey, a label or taint `key`, the
 * key inside a Secret) and are never flagged by that word alone.
 *
 * What is a reference, not a value (never flagged):
 * - keys that name a Secret: the first word is "existing" (existingSecret, existingSecretPassword...),
 *   or the last word is name/names/ref/refs (secretName, passwordSecretRef), or one of
 *   `SECRET_NAME_KEYS` (CNPG cluster chart `cluster.superuserSecret`), or a key listed in the policy's
 *   `referenceKeys` config;
 * - inside a Secret reference object (its own key's last word is secret or ref, e.g.
 *   `passwordSecret: {name, key}`, `secretKeyRef: {name, key}`): the `name`, `key` and `*Key` fields;
 * - next to an `existingSecret`/`secretName` field (Grafana `admin: {existingSecret, userKey, passwordKey}`):
 *   the `*Key` fields, which name keys inside that Secret;
 * - keys whose last word is file/path/dir/mount (a path to a mounted secret);
 * - values that are whole `${VAR}` environment references (expanded at run time, e.g. Loki
 *   `-config.expand-env`) or Helm templates `{{ ... }}`, empty strings, non-strings, and "true"/"false".
 * Flagged besides: a non-empty `value`, `data` or `stringData` string inside an object whose key looks
 * secret (CNPG `passwordSecret.value` creates a Secret from a plaintext value), and env-style
 * `{name: <secret-looking>, value: "<non-empty>"}` items.
 * Messages never include the value.
 */
import { entriesOf, Findings, prop, RuleResult, UNKNOWN } from "./values";

/** Pulumi type tokens of Helm releases/charts whose `values` input is walked. */
export const HELM_TYPES: readonly string[] = [
  "kubernetes:helm.sh/v3:Release",
  "kubernetes:helm.sh/v4:Chart",
  "kubernetes:helm.sh/v3:Chart",
];

/** Keys known to hold the name of a Secret in the charts this stack installs (CloudNativePG cluster chart). */
export const SECRET_NAME_KEYS: readonly string[] = ["superuserSecret"];

const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "pwd",
  "passphrase",
  "token",
  "secret",
  "secrets",
  "credential",
  "credentials",
  "apikey",
  "accesskey",
  "secretkey",
  "privatekey",
]);
/** Words that make a following "key" a credential (accessKey, apiKey, tlsKey); topologyKey, labelKey... are identifiers. */
export const CREDENTIAL_KEY_PREFIXES: readonly string[] = [
  "access",
  "secret",
  "api",
  "private",
  "signing",
  "encryption",
  "master",
  "shared",
  "storage",
  "license",
  "ssh",
  "auth",
  "account",
  "client",
  "tls",
  "session",
  "service",
  "sas",
];
const REFERENCE_LAST_WORDS = new Set(["name", "names", "ref", "refs"]);
const PATH_LAST_WORDS = new Set(["file", "path", "dir", "mount"]);

/** Splits a key into lower-case words: `existingSecretPassword` → [existing, secret, password]. */
export function keyWords(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_.\-/]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.toLowerCase());
}

/** True when a key looks like it holds a secret (see the module comment). */
export function isSecretLookingKey(key: string): boolean {
  const words = keyWords(key);
  if (words.some((w) => SECRET_WORDS.has(w))) return true;
  return (
    words.length > 1 && words[words.length - 1] === "key" && CREDENTIAL_KEY_PREFIXES.includes(words[words.length - 2])
  );
}

function isReferenceKey(key: string, extraReferenceKeys: readonly string[]): boolean {
  if (SECRET_NAME_KEYS.includes(key) || extraReferenceKeys.includes(key)) return true;
  const words = keyWords(key);
  const last = words[words.length - 1] ?? "";
  return words[0] === "existing" || REFERENCE_LAST_WORDS.has(last) || PATH_LAST_WORDS.has(last);
}

/** True when an object's own key marks it as a Secret reference (`passwordSecret`, `secretKeyRef`). */
function isReferenceContainer(parentKey: string | undefined): boolean {
  if (parentKey === undefined) return false;
  const words = keyWords(parentKey);
  const last = words[words.length - 1] ?? "";
  return last === "secret" || last === "ref" || last === "secrets";
}

function isRuntimeReference(value: string): boolean {
  const v = value.trim();
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$/.test(v) || /^\{\{.*\}\}$/s.test(v) || v === "true" || v === "false";
}

/**
 * Walks Helm values and reports every plaintext secret-looking string (without its value).
 * @param values the `values` input of a Helm release.
 * @param extraReferenceKeys keys to treat as Secret names besides the built-in ones (policy config
 *   `referenceKeys`). Defaults to none.
 * @returns one violation per offending path (`values.cluster.superuser.password`); unknown values at
 *   secret-looking keys are undetermined.
 */
export function checkHelmValues(values: unknown, extraReferenceKeys: readonly string[] = []): RuleResult {
  const out = new Findings();
  walk(values, "values", undefined, out, extraReferenceKeys);
  return out;
}

function walk(node: unknown, path: string, ownKey: string | undefined, out: Findings, extra: readonly string[]): void {
  const entries = entriesOf(node);
  if (entries === UNKNOWN) {
    if (ownKey === undefined || isSecretLookingKey(ownKey)) out.unknown(path);
    return;
  }
  const isArray = Array.isArray(node);
  const keys = entries.map(([k]) => k);
  const nextToExistingSecret = keys.includes("existingSecret") || keys.includes("secretName");
  const inReference = isReferenceContainer(ownKey);
  const ownKeyLooksSecret = ownKey !== undefined && isSecretLookingKey(ownKey);
  // env-style item: {name: DB_PASSWORD, value: "..."}
  const itemName = prop(node, "name");
  const envSecret = !isArray && typeof itemName === "string" && keys.includes("value") && isSecretLookingKey(itemName);
  for (const [key, value] of entries) {
    const childPath = isArray ? `${path}[${key}]` : `${path}.${key}`;
    // Array items inherit the array's key: customQueriesSecret: [{name, key}].
    const childOwnKey = isArray ? ownKey : key;
    if (value !== null && typeof value === "object") {
      walk(value, childPath, childOwnKey, out, extra);
      continue;
    }
    if (isArray) continue;
    const plaintextValueField =
      (key === "value" || key === "data" || key === "stringData") && (ownKeyLooksSecret || envSecret);
    const secretLooking = isSecretLookingKey(key) || plaintextValueField;
    if (!secretLooking) continue;
    if (value === UNKNOWN) {
      out.unknown(childPath);
      continue;
    }
    if (typeof value !== "string" || value.trim() === "" || isRuntimeReference(value)) continue;
    if (!plaintextValueField) {
      if (isReferenceKey(key, extra)) continue;
      const words = keyWords(key);
      const endsInKey = words[words.length - 1] === "key";
      if (inReference && endsInKey) continue;
      if (nextToExistingSecret && endsInKey) continue;
    }
    out.violation(
      `${childPath} holds a plaintext string: secrets must not be in Helm values (they end up in the release's Secret and in the stack state); store it in a Kubernetes Secret and reference it by name (existingSecret / secretName / secretKeyRef)`,
    );
  }
}

/**
 * Rule entry point for one resource.
 * @param type the resource's Pulumi type token (only Helm types in `HELM_TYPES` are checked).
 * @param props the resource's inputs.
 * @param extraReferenceKeys see `checkHelmValues`.
 */
export function checkHelmNoPlaintextSecrets(
  type: string,
  props: Record<string, unknown>,
  extraReferenceKeys: readonly string[] = [],
): RuleResult {
  if (!HELM_TYPES.includes(type)) return new Findings();
  return checkHelmValues(prop(props, "values"), extraReferenceKeys);
}
