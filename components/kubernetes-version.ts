/**
 * The oldest Kubernetes the stack runs on: both CloudNativePG charts refuse older clusters with
 * `kubeVersion: ">=1.29.0-0"` in their Chart.yaml (cloudnative-pg/charts, tags cloudnative-pg-v0.29.0
 * charts/cloudnative-pg/Chart.yaml and cluster-v0.8.1 charts/cluster/Chart.yaml), so `helm install`
 * fails there with "chart requires kubeVersion: >=1.29.0-0". Keep this in step with the pins in
 * components/postgres/helm-values.ts.
 */
export const MIN_KUBERNETES_VERSION = "1.29";

/**
 * Is `version` (`1.33`, `v1.29.4`, `1.30.2-eks-1234`) at least `minimum` (`major.minor`)?
 * @returns undefined when `version` is not a Kubernetes version at all.
 */
export function kubernetesVersionAtLeast(version: string, minimum: string = MIN_KUBERNETES_VERSION): boolean | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version.trim());
  const n = /^(\d+)\.(\d+)$/.exec(minimum);
  if (!m || !n) return undefined;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  const [nMaj, nMin] = [Number(n[1]), Number(n[2])];
  return maj !== nMaj ? maj > nMaj : min >= nMin;
}
