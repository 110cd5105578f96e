import * as pulumi from "@pulumi/pulumi";
import { CNPG_CLUSTER_CHART, CNPG_OPERATOR_CHART } from "./postgres/charts";

/**
 * The oldest Kubernetes the stack runs on: both CloudNativePG charts refuse older clusters with
 * `kubeVersion: ">=1.29.0-0"` in their Chart.yaml (cloudnative-pg/charts, tags cloudnative-pg-v0.29.0
 * charts/cloudnative-pg/Chart.yaml and cluster-v0.8.1 charts/cluster/Chart.yaml), so `helm install`
 * fails there with "chart requires kubeVersion: >=1.29.0-0 which is incompatible with Kubernetes v1.28.0"
 * (Helm 3.17.2, `helm template --kube-version 1.28.0`). Keep this in step with the pins in
 * components/postgres/helm-values.ts.
 */
export const MIN_KUBERNETES_VERSION = "1.29";

/**
 * Is `version` (`1.33`, `v1.29.4`, `1.30.2-eks-1234`) at least `minimum` (`major.minor`)?
 * @returns undefined when `version` is not a Kubernetes version at all.
 */
export function kubernetesVersionAtLeast(
  version: string,
  minimum: string = MIN_KUBERNETES_VERSION,
): boolean | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version.trim());
  const n = /^(\d+)\.(\d+)$/.exec(minimum);
  if (!m || !n) return undefined;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  const [nMaj, nMin] = [Number(n[1]), Number(n[2])];
  return maj !== nMaj ? maj > nMaj : min >= nMin;
}

/**
 * The message when an EKS cluster runs a Kubernetes older than {@link MIN_KUBERNETES_VERSION} (or one
 * that cannot be read), or undefined when it is recent enough.
 * @param clusterName the EKS cluster (`ducklake:cluster.name`).
 * @param version what EKS reports (`aws.eks.getCluster` `version`, e.g. `1.33`).
 */
export function eksVersionProblem(clusterName: string, version: string): string | undefined {
  const ok = kubernetesVersionAtLeast(version);
  if (ok === true) return undefined;
  const what =
    ok === undefined
      ? `reports the version "${version}", which is not a Kubernetes version`
      : `runs Kubernetes ${version}`;
  return (
    `the EKS cluster "${clusterName}" ${what}; this stack needs Kubernetes >= ${MIN_KUBERNETES_VERSION}: ` +
    `both CloudNativePG charts require it (kubeVersion ">=${MIN_KUBERNETES_VERSION}.0-0" in ${CNPG_OPERATOR_CHART.chart} ${CNPG_OPERATOR_CHART.version} and ${CNPG_CLUSTER_CHART.chart} ${CNPG_CLUSTER_CHART.version}), ` +
    `so their Helm releases would fail. Upgrade the cluster one minor version at a time ` +
    `(https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html) and preview again`
  );
}

/**
 * The cluster's Kubernetes version, checked: the Output fails with {@link eksVersionProblem} when the
 * cluster is too old, so whatever depends on it (the Kubernetes provider's kubeconfig, in index.ts)
 * fails `pulumi preview` before anything is created.
 * @param clusterName the EKS cluster, for the message.
 * @param version `aws.eks.getClusterOutput(...).version`.
 */
export function checkedEksVersion(clusterName: string, version: pulumi.Input<string>): pulumi.Output<string> {
  return pulumi.output(version).apply((v) => {
    const problem = eksVersionProblem(clusterName, v);
    if (problem !== undefined) throw new Error(problem);
    return v;
  });
}
