/**
 * What the composition root hands the `PostgresCluster` component, derived from the stack config in
 * one pure function: the tuning engine's parameter map, the SSD node group's placement, huge pages
 * and the queue metrics. The loader runs `validatePostgresCluster` on the same inputs, so the
 * component's own argument checks fail at config time, before any resource is registered.
 */
import type { StackConfig } from "../../config/schema";
import type { SemanticIssue, SemanticResult } from "../../config/issues";
import { computeTuning, renderPostgresqlConf, tuningInputOf, TuningError, TuningResult } from "./tuning";
import { ClusterValuesInput, validateClusterInput } from "./helm-values";
import { kubernetesToleration } from "../placement";
import { monitoringMetricsYaml } from "../queue/monitoring";
import { prometheusScraperPeer } from "../logging/prometheus-values";
import type { NetworkPolicyPeer } from "./network-policy";
import { formatKubeMemory } from "../../config/units";

/** `ClusterValuesInput` for the stack, plus the tuning result it came from. */
export interface PostgresClusterInputs extends ClusterValuesInput {
  /** The tuning engine's result (settings with origins, budget, durability, warnings). */
  readonly tuning: TuningResult;
  /** Pods besides `metricsNamespaces` that scrape the instances' metrics port: the stack's own Prometheus (`logging.prometheus`). */
  readonly metricsScrapers: readonly NetworkPolicyPeer[];
}

/** Size of a huge page (x86_64 default, `hugepages-2Mi`). */
const HUGE_PAGE_BYTES = 2 * 1024 * 1024;

/**
 * Huge pages a pod needs for PostgreSQL's shared memory: shared_buffers + wal_buffers plus 10% for the
 * other shared structures (lock tables, ProcArray, ...), rounded up to whole 2 MiB pages. PostgreSQL
 * reports the exact figure as `shared_memory_size_in_huge_pages` (PostgreSQL 15+,
 * https://www.postgresql.org/docs/current/kernel-resources.html#LINUX-HUGE-PAGES); 10% covers it for
 * the sizes this project uses.
 * @returns a Kubernetes quantity such as `4608Mi`.
 */
export function hugePages2MiFor(tuning: TuningResult): string {
  const bytes = Math.ceil((tuning.budget.fixedBytes * 1.1) / HUGE_PAGE_BYTES) * HUGE_PAGE_BYTES;
  return formatKubeMemory(bytes);
}

/**
 * Derives the PostgresCluster inputs from the config.
 * @throws TuningError when the tuning is invalid (the loader reports that first).
 */
export function postgresClusterInputs(config: StackConfig): PostgresClusterInputs {
  const tuning = computeTuning(tuningInputOf(config));
  return {
    tuning,
    config: config.postgres,
    metricsScrapers: config.logging.prometheus.enabled ? [prometheusScraperPeer(config.logging.namespace)] : [],
    parameters: tuning.parameters,
    sharedPreloadLibraries: tuning.sharedPreloadLibraries,
    nodeSelector: config.nodes?.labels,
    tolerations: config.nodes ? [kubernetesToleration(config.nodes.taint)] : undefined,
    hugePages2Mi: config.postgres.tuning.hugePages ? hugePages2MiFor(tuning) : undefined,
    monitoringQueriesYaml: monitoringMetricsYaml(config.postgres.majorVersion, config.queues),
  };
}

/**
 * The postgresql.conf text reviewers read in the plan (and `npm run db:local` starts a server with).
 * @param stack stack name for the header.
 */
export function postgresqlConfFor(
  config: StackConfig,
  stack: string,
  tuning: TuningResult = computeTuning(tuningInputOf(config)),
): string {
  return renderPostgresqlConf(tuning, `stack ${stack}, PostgreSQL ${config.postgres.majorVersion}`);
}

/**
 * Semantic validator (registered in components/stack.ts): the PostgresCluster component's argument rules, at
 * config time. Errors carry the `postgres` path; the message names the key, the value and the rule.
 */
export function validatePostgresCluster(config: StackConfig): SemanticResult {
  let inputs: PostgresClusterInputs;
  try {
    inputs = postgresClusterInputs(config);
  } catch (err) {
    // The tuning validator reports tuning problems with their own paths.
    if (err instanceof TuningError) return { errors: [], warnings: [] };
    throw err;
  }
  const result = validateClusterInput(inputs);
  return { errors: result.errors.map(clusterIssue), warnings: [...result.warnings] };
}

/**
 * One cluster-argument error as a config issue: a message that starts with its key
 * (`ducklake:postgres.pooler: ...`, `ducklake:postgres.image "x" is ...`) is reported at that key, so the
 * loader prints the path once; any other message (about a derived argument) at `postgres`.
 */
export function clusterIssue(message: string): SemanticIssue {
  const m = /^ducklake:(postgres(?:\.[A-Za-z0-9_]+)*)(?::\s*|\s+)([\s\S]*)$/.exec(message);
  if (m) {
    const rest = m[2] as string;
    // The value the message names first (`is "postgres", ...`, `(10) is below ...`), for the loader's "(got ...)".
    const v = /^(?:is "([^"]*)"|\((\d+)\))/.exec(rest);
    const value = v === null ? undefined : v[1] !== undefined ? v[1] : Number(v[2]);
    return { path: (m[1] as string).split("."), message: rest, ...(value !== undefined ? { value } : {}) };
  }
  return { path: ["postgres"], message };
}
