/**
 * The stack as one unit: every semantic validator in one registry, and the parse/load entry points that run
 * them all. `config/` holds the schemas and the parser and imports nothing from `components/`; the rules that
 * need a calculator (tuning, runway, cluster arguments) live beside their calculators and are registered here.
 * `index.ts`, the scripts and the tests parse stacks through this module.
 */
import { loadConfigWith, parseStackConfigWith, type LoadedConfig, type ParsedConfig, type StackKeys } from "../config/load";
import { logAgentLifecycle, type RegisteredValidator } from "../config/validators";
import { validateTuning } from "./postgres/tuning";
import { validateQueues } from "./queue/runway";
import { validatePostgresCluster } from "./postgres/cluster-inputs";

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
 * Parses a stack's `ducklake:*` keys (namespace stripped) and runs every semantic validator. Pure: used by
 * the program, the tests, the offline plan and db:local.
 * @param raw key (e.g. `postgres`) to value, as in `Pulumi.<stack>.yaml`.
 * @param stack stack name, used in the error message.
 * @param keys every config key of the stack (all namespaces) and which are secret; omitted, neither a
 *   misspelled namespace nor a plaintext secret is checked.
 * @throws ConfigError listing every problem when any rule is broken.
 */
export function parseStackConfig(raw: Readonly<Record<string, unknown>>, stack?: string, keys?: StackKeys): ParsedConfig {
  return parseStackConfigWith(SEMANTIC_VALIDATORS, raw, stack, keys);
}

/**
 * Loads, parses and validates the running stack's config with every validator; prints the warnings.
 * @throws ConfigError listing every problem, before any resource is created.
 */
export function loadConfig(): LoadedConfig {
  return loadConfigWith(SEMANTIC_VALIDATORS);
}
