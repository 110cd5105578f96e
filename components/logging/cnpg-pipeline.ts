/**
 * How the log agent turns CloudNativePG's JSON log lines into Loki labels. One description
 * (`cnpgParseRules`) rendered two ways: Promtail `pipeline_stages` (`promtailPipelineStages`) and the
 * body of an Alloy `loki.process` block (`alloyProcessStages`).
 *
 * CloudNativePG writes every line of its instance pods as JSON on stdout: `level`, `ts`, `logger`,
 * `msg`, `logging_pod`, and for PostgreSQL's own records (`logger: "postgres"`, `msg: "record"`) a
 * nested `record` with `error_severity`, `sql_state_code`, `user_name`, `database_name`, `message`, ...
 * (https://cloudnative-pg.io/documentation/current/logging/).
 *
 * Labels are Loki's index: every distinct label set is a stream, so only fields with a handful of
 * values become labels (https://grafana.com/docs/loki/latest/get-started/labels/bp-labels/). Message
 * text, user and database names, pod names from the payload, session and query ids never do.
 */

/** Label set on every stream from a CloudNativePG pod: the value of the pod's `cnpg.io/cluster` label. */
export const CNPG_CLUSTER_LABEL = "cnpg_cluster";

/** Kubernetes discovery meta label of the pod label `cnpg.io/cluster` (Prometheus/Promtail/Alloy sanitizing). */
export const CNPG_CLUSTER_META_LABEL = "__meta_kubernetes_pod_label_cnpg_io_cluster";

/**
 * Fields of a CloudNativePG line that must never become labels (unbounded or per-session values).
 * `assertLowCardinality` refuses rules that promote any of them.
 */
export const HIGH_CARDINALITY_FIELDS: readonly string[] = [
  "msg",
  "message",
  "ts",
  "log_time",
  "logging_pod",
  "user_name",
  "database_name",
  "process_id",
  "connection_from",
  "session_id",
  "session_line_num",
  "session_start_time",
  "virtual_transaction_id",
  "transaction_id",
  "query_id",
  "query",
  "detail",
  "hint",
  "context",
  "application_name",
  "command_tag",
];

/** The parsing rules for CloudNativePG lines, independent of the agent. */
export interface CnpgParseRules {
  /** LogQL stream selector of the streams the rules apply to (CNPG pods of the Postgres namespace). */
  readonly selector: string;
  /** Extracted field name -> JMESPath expression into the JSON line (the `json` stage). Ordered. */
  readonly expressions: ReadonlyArray<readonly [string, string]>;
  /** Extracted fields promoted to labels (each bounded: a few values). */
  readonly labels: readonly string[];
  /** Extracted fields attached as Loki structured metadata (queryable, not indexed). */
  readonly structuredMetadata: readonly string[];
}

/**
 * The parsing rules for the CloudNativePG pods of one namespace.
 * Labels: `level` (error/warning/info/debug/trace), `logger` (postgres, pgbouncer, instance-manager,
 * wal-archive, ...: the CNPG components, a short fixed list), `error_severity` (PostgreSQL's 10
 * severities, only on `postgres` records). Structured metadata: `sql_state_code` (a few hundred
 * possible codes, so not a label).
 * @param postgresNamespace namespace of the Postgres cluster (a DNS-1123 label).
 * @returns the rules; the selector also requires the `cnpg_cluster` label, so only CNPG pods match.
 * @throws Error when the namespace is not a DNS-1123 label (it is spliced into a LogQL selector).
 */
export function cnpgParseRules(postgresNamespace: string): CnpgParseRules {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(postgresNamespace) || postgresNamespace.length > 63) {
    throw new Error(`postgresNamespace "${postgresNamespace}" is not a DNS-1123 label`);
  }
  const rules: CnpgParseRules = {
    selector: `{namespace="${postgresNamespace}", ${CNPG_CLUSTER_LABEL}=~".+"}`,
    expressions: [
      ["level", "level"],
      ["logger", "logger"],
      ["error_severity", "record.error_severity"],
      ["sql_state_code", "record.sql_state_code"],
    ],
    labels: ["level", "logger", "error_severity"],
    structuredMetadata: ["sql_state_code"],
  };
  assertLowCardinality(rules);
  return rules;
}

/**
 * Refuses rules that would make a high-cardinality field a label.
 * @throws Error naming the field, when a label is in `HIGH_CARDINALITY_FIELDS` or is extracted from one
 *   (e.g. a label `user` extracted from `record.user_name`), or when a label is not extracted at all.
 */
export function assertLowCardinality(rules: CnpgParseRules): void {
  const extracted = new Map(rules.expressions);
  for (const label of rules.labels) {
    const path = extracted.get(label);
    if (path === undefined) throw new Error(`label "${label}" is not extracted by the json stage`);
    const leaf = path.split(".").pop() ?? path;
    if (HIGH_CARDINALITY_FIELDS.includes(label) || HIGH_CARDINALITY_FIELDS.includes(leaf)) {
      throw new Error(
        `label "${label}" (from ${path}) has unbounded values; use structured metadata or a LogQL json filter instead`,
      );
    }
  }
}

/** A Promtail pipeline stage, as written in its YAML config (https://grafana.com/docs/loki/latest/send-data/promtail/stages/). */
export type PromtailStage = Record<string, unknown>;

/**
 * Promtail `pipeline_stages` for every pod: `cri` (the container runtime's line format, what kind and
 * EKS use), then, for CloudNativePG pods only, `json` + `labels` + `structured_metadata`.
 * @param rules from `cnpgParseRules`.
 * @returns stages in Promtail's YAML shape (plain data, stable key order).
 */
export function promtailPipelineStages(rules: CnpgParseRules): PromtailStage[] {
  return [
    { cri: {} },
    {
      match: {
        selector: rules.selector,
        stages: [
          { json: { expressions: Object.fromEntries(rules.expressions) } },
          { labels: Object.fromEntries(rules.labels.map((l) => [l, l])) },
          { structured_metadata: Object.fromEntries(rules.structuredMetadata.map((l) => [l, l])) },
        ],
      },
    },
  ];
}

/** Quotes a string as an Alloy (River) string literal. */
export function alloyString(value: string): string {
  return JSON.stringify(value);
}

/**
 * The stages of an Alloy `loki.process` block doing what `promtailPipelineStages` does
 * (https://grafana.com/docs/alloy/latest/reference/components/loki/loki.process/).
 * @param rules from `cnpgParseRules`.
 * @param indent spaces before each line. Defaults to 2.
 * @returns Alloy configuration text, one attribute per line, ending with a newline.
 */
export function alloyProcessStages(rules: CnpgParseRules, indent = 2): string {
  const pad = " ".repeat(indent);
  const width = (names: readonly string[]): number => Math.max(...names.map((n) => n.length));
  const exprWidth = width(rules.expressions.map(([k]) => k));
  const labelWidth = width(rules.labels);
  const smWidth = width(rules.structuredMetadata);
  const lines = [
    "stage.cri {}",
    "",
    "stage.match {",
    `  selector = ${alloyString(rules.selector)}`,
    "",
    "  stage.json {",
    "    expressions = {",
    ...rules.expressions.map(([k, v]) => `      ${k.padEnd(exprWidth)} = ${alloyString(v)},`),
    "    }",
    "  }",
    "",
    "  stage.labels {",
    "    values = {",
    ...rules.labels.map((l) => `      ${l.padEnd(labelWidth)} = ${alloyString(l)},`),
    "    }",
    "  }",
    "",
    "  stage.structured_metadata {",
    "    values = {",
    ...rules.structuredMetadata.map((l) => `      ${l.padEnd(smWidth)} = ${alloyString(l)},`),
    "    }",
    "  }",
    "}",
  ];
  return lines.map((l) => (l === "" ? "" : pad + l)).join("\n") + "\n";
}
