/**
 * Helm values of the Promtail chart (PROMTAIL_CHART): a DaemonSet reading every pod's log files on its
 * node, labelling them with namespace / pod / container (the chart's default relabelling, kept) plus
 * `cnpg_cluster`, parsing CloudNativePG's JSON lines (./cnpg-pipeline.ts), pushing to Loki.
 */
import { CNPG_CLUSTER_LABEL, CNPG_CLUSTER_META_LABEL, CnpgParseRules, promtailPipelineStages } from "./cnpg-pipeline";
import { RELEASE_NAMES } from "./charts";

/** Inputs of `buildPromtailValues`. */
export interface PromtailValuesInput {
  /** Loki push URL, `http://<svc>.<ns>.svc.cluster.local:3100/loki/api/v1/push`. */
  readonly pushUrl: string;
  /** CloudNativePG parsing rules (`cnpgParseRules`). */
  readonly rules: CnpgParseRules;
}

/** Promtail's pod resources (components/kind-capacity.ts sums the requests). */
export const PROMTAIL_RESOURCES = {
  requests: { cpu: "50m", memory: "64Mi" },
  limits: { memory: "256Mi" },
} as const;

/**
 * Promtail chart values. Keys are those of the chart's values.yaml (chart-keys/promtail-*.json).
 * - `config.snippets.pipelineStages` replaces the chart default (`[cri: {}]`) with cri + CNPG parsing;
 * - `config.snippets.extraRelabelConfigs` adds `cnpg_cluster` from the pod label `cnpg.io/cluster`
 *   (the chart's `common` snippet already sets namespace, pod, container, node_name, app);
 * - tolerations `operator: Exists`: a log DaemonSet must also run on tainted nodes (prod's Postgres
 *   node group is tainted `ducklake.io/workload=postgres:NoSchedule`), else their logs are lost.
 * @returns plain values, stable key order.
 */
export function buildPromtailValues(input: PromtailValuesInput): Record<string, unknown> {
  return {
    fullnameOverride: RELEASE_NAMES.promtail,
    config: {
      clients: [{ url: input.pushUrl }],
      snippets: {
        pipelineStages: promtailPipelineStages(input.rules),
        extraRelabelConfigs: [
          { action: "replace", source_labels: [CNPG_CLUSTER_META_LABEL], target_label: CNPG_CLUSTER_LABEL },
        ],
      },
    },
    tolerations: [{ operator: "Exists" }],
    resources: PROMTAIL_RESOURCES,
  };
}
