/**
 * The stack as one unit: every semantic validator in one registry, the parse/load entry points that run
 * them all, and `deriveStack`, every decision of a stack computed once. `config/` holds the schemas and the parser and imports nothing from `components/`; the rules that
 * need a calculator (tuning, runway, cluster arguments) live beside their calculators and are registered here.
 * `index.ts`, the scripts and the tests parse stacks through this module.
 */
import {
  loadConfigWith,
  parseStackConfigWith,
  type LoadedConfig,
  type ParsedConfig,
  type StackKeys,
} from "../config/load";
import { logAgentLifecycle, type RegisteredValidator } from "../config/validators";
import { CROSS_SECTION_VALIDATORS } from "../config/cross-section";
import { validateTuning } from "./postgres/tuning";
import { bgwIntervalSeconds, maintenanceSchedule, validateQueues, type MaintenanceSchedule } from "./queue/runway";
import {
  postgresClusterInputs,
  postgresqlConfFor,
  validatePostgresCluster,
  type PostgresClusterInputs,
} from "./postgres/cluster-inputs";
import { bootstrapSqlInputOf, generateBootstrapSql } from "./queue/bootstrap-sql";
import { queueAlertRules, type AlertRuleFile } from "./queue/alert-rules";
import { backupSummaryLines, validateBackups } from "./postgres/backups";
import { fifoGroupsImageWarning } from "./postgres/image";
import { queueDashboard } from "./queue/dashboard";
import { stringify } from "yaml";
import { alloyConfigFor } from "./logging/alloy-config";
import type { StackConfig } from "../config/schema";

/**
 * Every semantic validator, in the order they run. `needs` lets the loader run a validator when the
 * sections it reads parsed, although another section has errors, so a typo in one section does not
 * hide a memory or runway problem in another: every problem is reported at once.
 */
export const SEMANTIC_VALIDATORS: readonly RegisteredValidator[] = [
  ...CROSS_SECTION_VALIDATORS,
  { needs: ["logging"], validate: logAgentLifecycle },
  { needs: ["postgres"], validate: validateTuning },
  { needs: ["postgres", "queues"], validate: validateQueues },
  { needs: ["postgres", "queues", "nodes"], validate: validatePostgresCluster },
  { needs: ["cluster", "postgres"], validate: validateBackups },
  { needs: ["postgres", "queues"], validate: fifoGroupsImageWarning },
];

/**
 * Parses a stack's `ducklake:*` keys (namespace stripped) and runs every semantic validator. Pure: used by
 * the program, the tests, the offline plan and db:local.
 * @param raw key (e.g. `postgres`) to value, as in `Pulumi.<stack>.yaml`.
 * @param stack stack name, used in the error message.
 * @param keys every config key of the stack (all namespaces) and which are secret; omitted, neither a
 *   misspelled namespace nor a plaintext secret is checked.
 * @throws ConfigError listing every problem when any rule is broken.
 */
export function parseStackConfig(
  raw: Readonly<Record<string, unknown>>,
  stack?: string,
  keys?: StackKeys,
): ParsedConfig {
  return parseStackConfigWith(SEMANTIC_VALIDATORS, raw, stack, keys);
}

/**
 * Loads, parses and validates the running stack's config with every validator; prints the warnings.
 * @throws ConfigError listing every problem, before any resource is created.
 */
export function loadConfig(): LoadedConfig {
  return loadConfigWith(SEMANTIC_VALIDATORS);
}

/** Every decision of a stack, derived once from its parsed config: what the program wires and the plan shows. */
export interface StackDecisions {
  /** Stack name (in the postgresql.conf header). */
  readonly stack: string;
  /** The parsed config the decisions come from. */
  readonly config: StackConfig;
  /** The PostgresCluster's inputs: the tuning engine's result, parameters, placement, huge pages, queue metrics. */
  readonly postgres: PostgresClusterInputs;
  /** The postgresql.conf reviewers read, every line with its origin. */
  readonly postgresqlConf: string;
  /** The idempotent queue bootstrap SQL the Job applies. */
  readonly bootstrapSql: string;
  /** The queue's Prometheus alert rules (docs/queue.md "Alerts"). */
  readonly alertRules: AlertRuleFile;
  /** The queue's Grafana dashboard (JSON text; docs/queue.md "Dashboard"), provisioned by dev's Grafana. */
  readonly dashboardJson: string;
  /** When the partition-maintenance CronJob runs (from `pg_partman_bgw.interval`); the runway covers its period. */
  readonly partitionMaintenance: MaintenanceSchedule;
  /** The log agent's own configuration text when it is Grafana Alloy (it lives inside the chart values too). */
  readonly alloyConfig?: string;
  /** PGMQ queues the bootstrap creates, dead-letter queues included. */
  readonly queueNames: readonly string[];
  /** What is backed up where, and what a restore does (plan summary lines). */
  readonly backupSummary: readonly string[];
  /** Text files for review, by path under `plan/<stack>/`; the offline plan writes them. */
  readonly artifacts: ReadonlyMap<string, string>;
}

/**
 * Derives every decision of a stack once: tuning, memory budget, runway and bootstrap SQL, cluster inputs and
 * the texts reviewers read. Pure; `index.ts` wires resources from it and the offline plan writes its artifacts,
 * so nothing is published through module state.
 * @param config a config `parseStackConfig` accepted (its validators ran the same calculators).
 * @param stack the stack's name.
 * @throws TuningError only for a config the validators would have refused.
 */
export function deriveStack(config: StackConfig, stack: string): StackDecisions {
  const postgres = postgresClusterInputs(config);
  const postgresqlConf = postgresqlConfFor(config, stack, postgres.tuning);
  const bootstrapSql = generateBootstrapSql(bootstrapSqlInputOf(config));
  const alloyConfig =
    config.logging.agent === "alloy" ? alloyConfigFor(config.logging.namespace, config.postgres.namespace) : undefined;
  const alertRules = queueAlertRules(config);
  const dashboardJson = `${JSON.stringify(queueDashboard(config, stack), null, 2)}\n`;
  const artifacts = new Map<string, string>([
    ["postgresql.conf", postgresqlConf],
    ["bootstrap.sql", bootstrapSql],
    // a plain Prometheus rules file: `promtool check rules`, or load it into any Prometheus
    ["alert-rules.yaml", stringify(alertRules, { lineWidth: 0 })],
    // the queue's Grafana dashboard (import it; dashboards/ducklake-queue.json is prod's)
    ["grafana-dashboard.json", dashboardJson],
  ]);
  // The queue metrics live in a Secret (the chart's only by-name reference); they are not sensitive.
  if (postgres.monitoringQueriesYaml !== undefined)
    artifacts.set("monitoring-queries.yaml", postgres.monitoringQueriesYaml);
  // The Alloy program is inside the agent's chart values; on its own it is easier to review.
  if (alloyConfig !== undefined) artifacts.set("logging/alloy-config.alloy", alloyConfig);
  return {
    stack,
    config,
    postgres,
    postgresqlConf,
    bootstrapSql,
    partitionMaintenance: maintenanceSchedule(bgwIntervalSeconds(config).seconds),
    alertRules,
    dashboardJson,
    ...(alloyConfig !== undefined ? { alloyConfig } : {}),
    queueNames: config.queues.definitions.flatMap((q) => (q.deadLetter ? [q.name, q.deadLetter.queue] : [q.name])),
    backupSummary: backupSummaryLines(config),
    artifacts,
  };
}
