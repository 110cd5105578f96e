/**
 * The queue metrics as CloudNativePG custom queries: the Secret they live in and the check of their YAML
 * against the keys CloudNativePG's exporter reads.
 */
import { parse as parseYaml } from "yaml";

/** Key of the custom-queries YAML inside its Secret. */
export const CUSTOM_QUERIES_KEY = "queries.yaml";

/** Name of the Secret holding the custom-queries YAML: `<cluster>-custom-queries`. */
export function customQueriesSecretName(clusterName: string): string {
  return `${clusterName}-custom-queries`;
}

/**
 * Keys of a CloudNativePG user-defined query. Source: cloudnative-pg
 * pkg/management/postgres/metrics/parser.go (`UserQuery`) and
 * https://cloudnative-pg.io/documentation/current/monitoring/#user-defined-metrics
 */
export const CNPG_QUERY_KEYS: readonly string[] = [
  "query",
  "metrics",
  "primary",
  "master",
  "cache_seconds",
  "target_databases",
  "predicate_query",
  "runonserver",
];

/**
 * Checks CloudNativePG custom-queries YAML (a map of metric name to `{query, metrics, ...}`). The YAML
 * goes verbatim into a Secret referenced by `cluster.monitoring.customQueriesSecret`: the chart's own
 * `customQueries` list would drop `primary`, `cache_seconds` and `runonserver`
 * (templates/user-metrics.yaml), and the chart offers no key for an existing ConfigMap.
 * @returns one message per problem; empty when the YAML is usable.
 */
export function customQueriesProblems(text: string): string[] {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    return [`monitoringQueriesYaml: not YAML (${(err as Error).message.split("\n")[0]})`];
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    return ["monitoringQueriesYaml: must be a map of metric name to {query, metrics}"];
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(doc as Record<string, unknown>)) {
    if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
      problems.push(`monitoringQueriesYaml: ${name} must be a map`);
      continue;
    }
    const s = spec as Record<string, unknown>;
    const unknown = Object.keys(s).filter((k) => !CNPG_QUERY_KEYS.includes(k));
    if (unknown.length > 0)
      problems.push(
        `monitoringQueriesYaml: ${name} uses ${unknown.join(", ")}, which CloudNativePG does not know (${CNPG_QUERY_KEYS.join(", ")})`,
      );
    if (typeof s["query"] !== "string" || !Array.isArray(s["metrics"]))
      problems.push(`monitoringQueriesYaml: ${name} needs a query (text) and metrics (a list)`);
  }
  return problems;
}
