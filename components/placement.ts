/**
 * The node-placement contract between the Postgres node group (prod's `SsdNodeGroup`) and the pods that must
 * land on it (the CloudNativePG cluster): the taint as `ducklake:nodes.taint` spells it (EKS API) and the
 * toleration the pods need (Kubernetes API). It belongs to neither side, so both import it from here.
 */
import type { NodesConfig } from "../config/nodes";

/** The taint in EKS API spelling (`NO_SCHEDULE`, ...), as in `ducklake:nodes.taint`. */
export type EksTaint = NodesConfig["taint"];

/** A Kubernetes toleration (core/v1 `Toleration`), spelled as the Kubernetes API spells it. */
export interface KubernetesToleration {
  /** Taint key, e.g. `ducklake.io/postgres`. */
  readonly key: string;
  /** `Equal` (a taint with a value) or `Exists` (a key-only taint); Kubernetes defaults it to `Equal`. */
  readonly operator?: "Equal" | "Exists";
  /** Taint value, with `Equal`. */
  readonly value?: string;
  /** Effect in Kubernetes spelling. */
  readonly effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule";
}

/** EKS taint effect → Kubernetes effect. Source: the EKS `Taint` type (https://docs.aws.amazon.com/eks/latest/APIReference/API_Taint.html). */
const TOLERATION_EFFECT: Readonly<Record<EksTaint["effect"], KubernetesToleration["effect"]>> = {
  NO_SCHEDULE: "NoSchedule",
  NO_EXECUTE: "NoExecute",
  PREFER_NO_SCHEDULE: "PreferNoSchedule",
};

/**
 * The toleration Postgres pods need for the node group's taint, in Kubernetes spelling
 * (`NO_SCHEDULE` becomes `NoSchedule`; a taint with a value is tolerated with `Equal`, a key-only taint
 * with `Exists`). Source: Kubernetes "Taints and Tolerations"
 * (https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/) and the EKS `Taint` type
 * (https://docs.aws.amazon.com/eks/latest/APIReference/API_Taint.html).
 * @param taint `ducklake:nodes.taint`.
 */
export function kubernetesToleration(taint: EksTaint): KubernetesToleration {
  const effect = TOLERATION_EFFECT[taint.effect];
  return taint.value !== undefined
    ? { key: taint.key, operator: "Equal", value: taint.value, effect }
    : { key: taint.key, operator: "Exists", effect };
}
