/**
 * Rules that need a calculator, run after the schema parses: each returns every problem it finds,
 * with the key path relative to the `ducklake` namespace. Register new ones in `SEMANTIC_VALIDATORS`.
 */
import type { StackConfig } from "./schema";
import { validateTuning } from "../components/postgres/tuning";
import { validateQueues } from "../components/queue/runway";
import { validatePostgresCluster } from "../components/postgres/cluster-inputs";

/** A problem found by a semantic validator. `path` segments start at the top-level key. */
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

/** A rule over the whole parsed config. */
export type SemanticValidator = (config: StackConfig) => SemanticResult;

/** A validator and the top-level sections it reads (it runs whenever those parsed, even if others did not). */
export interface RegisteredValidator {
  readonly needs: readonly (keyof StackConfig)[];
  readonly validate: SemanticValidator;
}

/**
 * Every semantic validator, in the order they run. `needs` lets the loader run a validator when the
 * sections it reads parsed, although another section has errors, so a typo in one section does not
 * hide a memory or runway problem in another: every problem is reported at once.
 */
export const SEMANTIC_VALIDATORS: readonly RegisteredValidator[] = [
  { needs: ["logging"], validate: logAgentLifecycle },
  { needs: ["postgres"], validate: validateTuning },
  { needs: ["postgres", "queues"], validate: validateQueues },
  { needs: ["postgres", "queues", "nodes"], validate: validatePostgresCluster },
];

/**
 * Promtail reached end of life on 2026-03-02 (Grafana's announcement of its deprecation in favour of
 * Grafana Alloy: https://grafana.com/docs/loki/latest/send-data/promtail/). Supported, with a warning.
 */
export function logAgentLifecycle(config: StackConfig): SemanticResult {
  const warnings =
    config.logging.agent === "promtail"
      ? ["ducklake:logging.agent is promtail, which reached end of life on 2026-03-02 and gets no security fixes; set it to alloy (Grafana Alloy) to switch"]
      : [];
  return { errors: [], warnings };
}
