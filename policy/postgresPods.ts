/**
 * Rules about the Postgres instance pods of CloudNativePG: where their spec lives in the inputs, and
 * rule "postgres-pod-resources" (memory and CPU requests and limits).
 *
 * The stack installs the cluster with the CloudNativePG `cluster` Helm chart (DESIGN.md), whose
 * `cluster.resources` becomes the Cluster's `spec.resources`, applied to every instance pod; a
 * `postgresql.cnpg.io/v1` Cluster custom resource created directly carries `spec.resources`.
 * Sources: cloudnative-pg/charts `charts/cluster/values.yaml` and `templates/cluster.yaml`;
 * CloudNativePG "Resource management", https://cloudnative-pg.io/documentation/current/resource_management/
 * (requests = limits gives the Guaranteed QoS class; without a memory limit a pod can be OOM-killed
 * first under node pressure, without requests the scheduler may overcommit the node).
 */
import { at, Findings, prop, RuleResult, show, UNKNOWN } from "./values";

/** Pulumi type token of a Helm release (`kubernetes.helm.v3.Release`). */
export const HELM_RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";
/** Pulumi type token of a CloudNativePG Cluster created as a custom resource. */
export const CNPG_CLUSTER_TYPE = "kubernetes:postgresql.cnpg.io/v1:Cluster";
/** Pulumi type token of a CloudNativePG Pooler created as a custom resource. */
export const CNPG_POOLER_TYPE = "kubernetes:postgresql.cnpg.io/v1:Pooler";

/** Postgres flavours of the CloudNativePG cluster chart (`type` value). */
const CNPG_CHART_TYPES: readonly string[] = ["postgresql", "postgis", "timescaledb"];

/**
 * True when a Helm release installs the CloudNativePG `cluster` chart: the chart's last path segment
 * is `cluster` and either the chart or `repositoryOpts.repo` names cloudnative-pg, or the values
 * carry the chart's `type` (postgresql/postgis/timescaledb) or a `cluster` object.
 * @returns `UNKNOWN` when the chart name is not known yet.
 */
export function isCnpgClusterRelease(props: Record<string, unknown>): boolean | typeof UNKNOWN {
  const chart = prop(props, "chart");
  if (chart === UNKNOWN) return UNKNOWN;
  if (typeof chart !== "string") return false;
  const lastSegment = chart.replace(/\/+$/, "").split("/").pop() ?? "";
  if (lastSegment !== "cluster") return false;
  const repo = at(props, ["repositoryOpts", "repo"]);
  if (/cloudnative-pg|cnpg/i.test(chart) || (typeof repo === "string" && /cloudnative-pg|cnpg/i.test(repo)))
    return true;
  const valuesType = at(props, ["values", "type"]);
  const cluster = at(props, ["values", "cluster"]);
  return (
    (typeof valuesType === "string" && CNPG_CHART_TYPES.includes(valuesType)) ||
    (cluster !== undefined && cluster !== null && typeof cluster === "object")
  );
}

/**
 * Where the instance pods' `resources` live for a resource, with the dotted path for messages.
 * @returns `undefined` when the resource does not define Postgres instance pods, `UNKNOWN` when that is
 *   not known yet.
 */
export function postgresPodResources(
  type: string,
  props: Record<string, unknown>,
): { path: string; value: unknown } | undefined | typeof UNKNOWN {
  if (type === CNPG_CLUSTER_TYPE) return { path: "spec.resources", value: at(props, ["spec", "resources"]) };
  if (type !== HELM_RELEASE_TYPE) return undefined;
  const isCluster = isCnpgClusterRelease(props);
  if (isCluster === UNKNOWN) return UNKNOWN;
  if (!isCluster) return undefined;
  return { path: "values.cluster.resources", value: at(props, ["values", "cluster", "resources"]) };
}

function isSetQuantity(value: unknown): boolean {
  return (typeof value === "string" && value.trim() !== "") || (typeof value === "number" && value > 0);
}

/**
 * Rule "postgres-pod-resources": the Postgres instance pods set `requests` and `limits` for both
 * `memory` and `cpu` (CloudNativePG chart `cluster.resources`, or a Cluster resource's `spec.resources`).
 * @param type the resource's Pulumi type token.
 * @param props the resource's inputs.
 * @returns one violation per missing quantity (e.g. `values.cluster.resources.limits.cpu`); empty for
 *   resources that do not define Postgres pods.
 */
export function checkPostgresPodResources(type: string, props: Record<string, unknown>): RuleResult {
  const out = new Findings();
  const found = postgresPodResources(type, props);
  if (found === UNKNOWN) {
    out.unknown("chart");
    return out;
  }
  if (found === undefined) return out;
  if (found.value === UNKNOWN) {
    out.unknown(found.path);
    return out;
  }
  for (const kind of ["requests", "limits"] as const) {
    for (const resource of ["memory", "cpu"] as const) {
      const value = at(found.value, [kind, resource]);
      const path = `${found.path}.${kind}.${resource}`;
      if (value === UNKNOWN) out.unknown(path);
      else if (!isSetQuantity(value)) {
        out.violation(
          `${path} is ${show(value)}: the Postgres pods need memory and CPU requests and limits (CloudNativePG resource management; seed guide hardware: dev 4Gi/2 CPU, prod 16Gi/7 CPU)`,
        );
      }
    }
  }
  return out;
}
