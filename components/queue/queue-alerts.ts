/**
 * `QueueAlerts`: the queue's alert rules (`queueAlertRules`, components/queue/alert-rules.ts) as a
 * Prometheus Operator `PrometheusRule` (monitoring.coreos.com/v1) beside the Postgres cluster. Created
 * only with `postgres.podMonitor`, where the program already checks at preview that the cluster has the
 * PrometheusRule CRD (components/prerequisites.ts). The Prometheus Operator loads it when its
 * `ruleSelector` and `ruleNamespaceSelector` match (kube-prometheus-stack selects `release: <its release>`
 * by default: set `labels` to match). API: https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PrometheusRule
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { AlertRuleFile } from "./alert-rules";

/** Arguments of `QueueAlerts`. */
export interface QueueAlertsArgs {
  /** Namespace (the Postgres cluster's). */
  readonly namespace: pulumi.Input<string>;
  /** The rules (`StackDecisions.alertRules`). */
  readonly rules: AlertRuleFile;
  /** Extra labels, e.g. what the Prometheus Operator's `ruleSelector` matches. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Name of the PrometheusRule. */
export const QUEUE_ALERTS_NAME = "ducklake-queue-alerts";

/**
 * The PrometheusRule object (pure; the component creates it, test/queue/queue-alerts-crd.test.ts validates
 * it against the Prometheus Operator's CRD).
 */
export function prometheusRuleObject(
  namespace: string,
  rules: AlertRuleFile,
  labels: Readonly<Record<string, string>> = {},
): { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: Record<string, unknown> } {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PrometheusRule",
    metadata: {
      name: QUEUE_ALERTS_NAME,
      namespace,
      labels: { ...labels, "app.kubernetes.io/part-of": "ducklake", "app.kubernetes.io/managed-by": "pulumi" },
    },
    spec: { groups: rules.groups.map((g) => ({ name: g.name, rules: g.rules.map((r) => ({ ...r })) })) },
  };
}

/** The PrometheusRule `ducklake-queue-alerts`. Type token `ducklake:queue:QueueAlerts`. */
export class QueueAlerts extends pulumi.ComponentResource {
  /** Name of the PrometheusRule. */
  public readonly ruleName: pulumi.Output<string>;

  /**
   * @param name component name; the child is `${name}-prometheusrule`.
   * @param args see `QueueAlertsArgs`.
   * @param opts component options (pass the provider, and `dependsOn` the CRD read that checks the PrometheusRule CRD exists).
   */
  constructor(name: string, args: QueueAlertsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ducklake:queue:QueueAlerts", name, {}, opts);
    const object = prometheusRuleObject("", args.rules, args.labels);
    const rule = new k8s.apiextensions.CustomResource(
      `${name}-prometheusrule`,
      { ...object, metadata: { ...object.metadata, namespace: args.namespace } },
      { parent: this },
    );
    this.ruleName = rule.metadata.name;
    this.registerOutputs({ ruleName: this.ruleName });
  }
}
