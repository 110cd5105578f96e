/**
 * The loader's problem report: one entry per broken rule, each with its full config key path.
 */

/** One problem found in a stack's config. */
export interface ConfigIssue {
  /** Full key path, e.g. `ducklake:postgres.tuning.seed.shared_buffers`. */
  readonly path: string;
  /** What is wrong: the rule and the limit, with the numbers. */
  readonly message: string;
  /** The offending value, when there is one. */
  readonly value?: unknown;
}

/** Thrown by the loader when a stack's config breaks one or more rules; `issues` holds every one of them. */
export class ConfigError extends Error {
  constructor(
    public readonly issues: readonly ConfigIssue[],
    stack?: string,
  ) {
    super(
      `invalid configuration${stack ? ` for stack "${stack}"` : ""} (${issues.length} problem${issues.length === 1 ? "" : "s"}); nothing was created:\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Renders one issue as `path: message (got value)`. */
export function formatIssue(issue: ConfigIssue): string {
  // JSON.stringify writes Infinity and NaN as null, which would misreport a YAML `.inf` or `.nan` as "got null".
  const got =
    issue.value === undefined
      ? ""
      : ` (got ${JSON.stringify(issue.value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v))})`;
  return `${issue.path}: ${issue.message}${got}`;
}

/**
 * Joins a config path: `ducklake:<key>` then `.field` and `[index]` segments.
 * @param namespace the Pulumi config namespace (`ducklake`).
 * @param segments the top-level key first, then nested fields and array indexes.
 */
export function configPath(namespace: string, segments: readonly PropertyKey[]): string {
  if (segments.length === 0) return namespace;
  let out = `${namespace}:${String(segments[0])}`;
  for (const s of segments.slice(1)) {
    out += typeof s === "number" ? `[${s}]` : `.${String(s)}`;
  }
  return out;
}

/** A problem found by a semantic validator. `path` segments start at the top-level key (`["postgres", "tuning", ...]`). */
export interface SemanticIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly value?: unknown;
}

/** What a semantic validator returns: errors stop the deployment; warnings are printed at preview time. */
export interface SemanticResult {
  readonly errors: readonly SemanticIssue[];
  readonly warnings: readonly string[];
}
