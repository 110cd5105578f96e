/**
 * Reading resource inputs the way a policy sees them.
 *
 * During `pulumi preview` some inputs are not known yet (they depend on another resource's outputs).
 * `@pulumi/policy` hands a policy the inputs wrapped in a proxy that throws `UnknownValueError` when
 * such a field is read; the raw wire form of an unknown is the string sentinel
 * `pulumi.runtime.unknownValue`. The readers below turn both into the `UNKNOWN` marker, so a rule can
 * answer "can't tell yet" instead of failing (source: @pulumi/policy `proxy.js` `unknownCheckingProxy`
 * and `server.js`, which downgrades an uncaught `UnknownValueError` to an advisory message).
 */
import { UnknownValueError } from "@pulumi/policy";
import { runtime } from "@pulumi/pulumi";

/** Marks a value that is unknown during preview. */
export const UNKNOWN: unique symbol = Symbol("unknown during preview");
/** The `UNKNOWN` marker's type. */
export type Unknown = typeof UNKNOWN;

/** What a rule found for one resource. */
export interface RuleResult {
  /** Broken rules, one message each (field, value, limit and source). Empty when compliant. */
  readonly violations: string[];
  /** Fields (dotted paths) the rule needed but could not read yet (unknown during preview). */
  readonly undetermined: string[];
}

/** A `RuleResult` being filled in. */
export class Findings implements RuleResult {
  readonly violations: string[] = [];
  readonly undetermined: string[] = [];

  /** Records a broken rule. */
  violation(message: string): void {
    this.violations.push(message);
  }

  /** Records a field that could not be checked yet. */
  unknown(path: string): void {
    if (!this.undetermined.includes(path)) this.undetermined.push(path);
  }
}

/** True for the error `@pulumi/policy` throws when an unknown input is read (also across copies of the package). */
export function isUnknownValueError(err: unknown): boolean {
  if (err instanceof UnknownValueError) return true;
  return err instanceof Error && "unknownTypeSentinel" in err && Array.isArray((err as { props?: unknown }).props);
}

/** True when `value` is the wire sentinel of an unknown value. */
export function isUnknownSentinel(value: unknown): boolean {
  return value === runtime.unknownValue;
}

/**
 * Reads one property of an object.
 * @returns the value, `undefined` when missing (or when `obj` is not an object), or `UNKNOWN`.
 * @throws whatever the property access throws, except an unknown-value error.
 */
export function prop(obj: unknown, key: string | number): unknown {
  if (obj === UNKNOWN) return UNKNOWN;
  if (obj === null || typeof obj !== "object") return undefined;
  try {
    const value = (obj as Record<string | number, unknown>)[key];
    return isUnknownSentinel(value) ? UNKNOWN : value;
  } catch (err) {
    if (isUnknownValueError(err)) return UNKNOWN;
    throw err;
  }
}

/** Reads a nested property (`at(props, ["spec", "type"])`); stops at the first missing or unknown step. */
export function at(obj: unknown, path: readonly (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    cur = prop(cur, key);
    if (cur === undefined || cur === UNKNOWN) return cur;
  }
  return cur;
}

/**
 * The entries of an object or array, each value read with `prop`.
 * @returns `UNKNOWN` when `obj` itself is unknown, `[]` when it is not an object.
 */
export function entriesOf(obj: unknown): Array<[string, unknown]> | Unknown {
  if (obj === UNKNOWN) return UNKNOWN;
  if (obj === null || typeof obj !== "object") return [];
  let keys: string[];
  try {
    keys = Object.keys(obj);
  } catch (err) {
    if (isUnknownValueError(err)) return UNKNOWN;
    throw err;
  }
  return keys.map((k) => [k, prop(obj, Array.isArray(obj) ? Number(k) : k)]);
}

/** The elements of an array input; `UNKNOWN` when unknown, `[]` when missing or not an array. */
export function arrayOf(value: unknown): unknown[] | Unknown {
  if (value === UNKNOWN) return UNKNOWN;
  if (!Array.isArray(value)) return [];
  const entries = entriesOf(value);
  return entries === UNKNOWN ? UNKNOWN : entries.map(([, v]) => v);
}

/**
 * A number written as a number or as a decimal string (Kubernetes StorageClass parameters are strings).
 * @returns the number, `undefined` when missing, `UNKNOWN`, or `NaN` when not numeric.
 */
export function numberOf(value: unknown): number | undefined | Unknown {
  if (value === undefined || value === null || value === UNKNOWN) return value === null ? undefined : value;
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  return Number.NaN;
}

/**
 * A boolean written as a boolean or as the string "true"/"false" (launch template EBS `encrypted` and
 * StorageClass `encrypted` are strings).
 * @returns the boolean, `undefined` when missing or not a boolean, or `UNKNOWN`.
 */
export function booleanOf(value: unknown): boolean | undefined | Unknown {
  if (value === UNKNOWN || typeof value === "boolean") return value;
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (v === "true") return true;
    if (v === "false") return false;
  }
  return undefined;
}

/** Renders a value for a message (`"gp2"`, `125`, `(not set)`). */
export function show(value: unknown): string {
  if (value === undefined) return "(not set)";
  if (value === UNKNOWN) return "(unknown)";
  return JSON.stringify(value);
}
