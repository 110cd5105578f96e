/**
 * The shape of a semantic validator (a rule over the parsed config, run on the sections it reads once zod could read them) and
 * the rules that need nothing but the config. Rules that need a calculator live with it in `components/`;
 * the registry of all of them is `components/stack.ts` (`SEMANTIC_VALIDATORS`): config imports nothing
 * from components.
 */
import type { StackConfig } from "./schema";
import type { SemanticResult } from "./issues";

export type { SemanticIssue, SemanticResult } from "./issues";

/** A rule over the whole parsed config. */
export type SemanticValidator = (config: StackConfig) => SemanticResult;

/** A validator and the top-level sections it reads (it runs whenever those parsed, even if others did not). */
export interface RegisteredValidator {
  readonly needs: readonly (keyof StackConfig)[];
  readonly validate: SemanticValidator;
}

/**
 * Promtail reached end of life on 2026-03-02 (Grafana's announcement of its deprecation in favour of
 * Grafana Alloy: https://grafana.com/docs/loki/latest/send-data/promtail/). Supported, with a warning.
 */
export function logAgentLifecycle(config: StackConfig): SemanticResult {
  const warnings =
    config.logging.agent === "promtail"
      ? [
          "ducklake:logging.agent is promtail, which reached end of life on 2026-03-02 and gets no security fixes; set it to alloy (Grafana Alloy) to switch",
        ]
      : [];
  return { errors: [], warnings };
}
