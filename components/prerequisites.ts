/**
 * What the stack needs from the cluster before anything is created, checked in `pulumi preview` with the
 * Kubernetes provider's reads.
 *
 * The Prometheus Operator's CRDs when `ducklake:postgres.podMonitor` is on (below), and on kind the node's
 * allocatable CPU and memory against the stack's requests (`readKindNodeCapacity`).
 *
 * The CRDs: The operator chart then
 * renders a PodMonitor (`monitoring.podMonitorEnabled`) and the cluster chart a PodMonitor and a
 * PrometheusRule (`cluster.monitoring.podMonitor`/`prometheusRule`); on a cluster without those CRDs the
 * operator release fails with `no matches for kind "PodMonitor"`, after the AWS resources and Secrets exist.
 * CloudNativePG's monitoring docs say the PodMonitor is for the Prometheus Operator
 * (https://cloudnative-pg.io/documentation/current/monitoring/).
 *
 * How the check works: `k8s.apiextensions.v1.CustomResourceDefinition.get(name, <crd name>)` reads the CRD
 * during preview; a CRD that does not exist fails the preview with `resource '<crd name>' does not exist`
 * on that read, before any resource is created (Pulumi cannot catch a failed `.get`:
 * https://github.com/pulumi/pulumi/issues/3364, https://github.com/pulumi/pulumi-kubernetes/issues/1050).
 * The read's logical name names the config key, and an info message attached to it says how to get the
 * CRDs, so both sit next to that error. The Helm releases depend on the reads.
 *
 * Under the offline plan's mocks (scripts/lib/mock-engine.ts) every read is answered, so nothing is checked
 * there; the plan lists the reads it did not check in its summary.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { StackConfig } from "../config/schema";
import { kindCapacityProblem, kindNodeName, type PodRequest, stackPodRequests } from "./kind-capacity";

/** Helm repository of the `prometheus-operator-crds` chart (prometheus-community/helm-charts). */
export const PROMETHEUS_COMMUNITY_HELM_REPO = "https://prometheus-community.github.io/helm-charts";

/** A CRD the stack renders objects for, and the config key that makes it render them. */
export interface RequiredCrd {
  /** CRD name, `<plural>.<group>`, e.g. `podmonitors.monitoring.coreos.com`. */
  readonly name: string;
  /** Kind of the objects the stack renders with it. */
  readonly kind: string;
  /** The config key that asks for those objects (when true). */
  readonly key: string;
  /** Who provides the CRD. */
  readonly providedBy: string;
  /** How to install it, or to stop needing it. */
  readonly howToGet: string;
}

const PROMETHEUS_OPERATOR_HOW_TO =
  "install the Prometheus Operator CRDs: `helm repo add prometheus-community " +
  `${PROMETHEUS_COMMUNITY_HELM_REPO} && helm install prometheus-operator-crds prometheus-community/prometheus-operator-crds\` ` +
  "(CRDs only), or install the Prometheus Operator itself (e.g. kube-prometheus-stack); or set `ducklake:postgres.podMonitor: false`";

const CERT_MANAGER_HOW_TO =
  "install cert-manager first (https://cert-manager.io/docs/installation/helm/: `helm install cert-manager " +
  "oci://quay.io/jetstack/charts/cert-manager --namespace cert-manager --create-namespace --set crds.enabled=true`), " +
  'which the Barman Cloud plugin chart needs to issue its TLS certificates (charts/plugin-barman-cloud README, "Prerequisites"); ' +
  "or set `ducklake:postgres.backups.enabled: false` and remove `ducklake:postgres.recovery`";

/**
 * The CRDs the stack renders objects for, which the cluster must already have: with `postgres.podMonitor`
 * on, `podmonitors.monitoring.coreos.com` (operator and cluster charts) and `prometheusrules.monitoring.coreos.com`
 * (cluster chart); with backups or a restore, cert-manager's `issuers` and `certificates` (the Barman Cloud
 * plugin chart renders an Issuer and two Certificates: templates/certificate-issuer.yaml, client-certificate.yaml,
 * server-certificate.yaml). CloudNativePG's and the plugin's own CRDs are not listed: their releases install them.
 * @param config the parsed stack config.
 */
export function requiredCrds(config: Pick<StackConfig, "postgres">): RequiredCrd[] {
  const crds: RequiredCrd[] = [];
  if (config.postgres.podMonitor) {
    const common = {
      key: "ducklake:postgres.podMonitor",
      providedBy: "the Prometheus Operator",
      howToGet: PROMETHEUS_OPERATOR_HOW_TO,
    };
    crds.push(
      { name: "podmonitors.monitoring.coreos.com", kind: "PodMonitor", ...common },
      { name: "prometheusrules.monitoring.coreos.com", kind: "PrometheusRule", ...common },
    );
  }
  if (config.postgres.backups.enabled || config.postgres.recovery !== undefined) {
    const common = {
      key: config.postgres.backups.enabled ? "ducklake:postgres.backups.enabled" : "ducklake:postgres.recovery",
      providedBy: "cert-manager",
      howToGet: CERT_MANAGER_HOW_TO,
    };
    crds.push(
      { name: "issuers.cert-manager.io", kind: "Issuer", ...common },
      { name: "certificates.cert-manager.io", kind: "Certificate", ...common },
    );
  }
  return crds;
}

/**
 * Logical name of the read of a required CRD; it names the CRD and the config key (without the
 * `ducklake:` namespace: a colon in a resource name is accepted by the engine since
 * https://github.com/pulumi/pulumi/pull/14107 but refused by `pulumi state rename`,
 * https://github.com/pulumi/pulumi/issues/18937), since Pulumi's "does not exist" error names the read only by it.
 * @example `needs-crd-podmonitors.monitoring.coreos.com-for-postgres.podMonitor`
 */
export function crdReadName(crd: RequiredCrd): string {
  return `needs-crd-${crd.name}-for-${crd.key.replace(/^ducklake:/, "")}`;
}

/**
 * The message shown with the read: what needs the CRD and how to get it.
 * @param crd one of `requiredCrds`.
 */
export function crdPrerequisiteMessage(crd: RequiredCrd): string {
  return (
    `prerequisite: ${crd.key} is true and renders ${crd.kind} objects, so the cluster needs the CRD ${crd.name} (from ${crd.providedBy}); ` +
    `if this read fails with "resource '${crd.name}' does not exist", ${crd.howToGet}`
  );
}

/**
 * Reads every CRD of `requiredCrds(config)` with the Kubernetes provider, so `pulumi preview` fails on a
 * cluster without one. Give the result to the resources that render those objects as `dependsOn`.
 * @param config the parsed stack config.
 * @param provider the cluster's Kubernetes provider.
 * @returns the reads (empty when nothing is required).
 */
export function readRequiredCrds(config: Pick<StackConfig, "postgres">, provider: k8s.Provider): pulumi.Resource[] {
  return requiredCrds(config).map((crd) => {
    const read = k8s.apiextensions.v1.CustomResourceDefinition.get(crdReadName(crd), crd.name, { provider });
    void pulumi.log.info(crdPrerequisiteMessage(crd), read);
    return read;
  });
}

/** Logical name of the read of the kind node (names what it checks). */
export const KIND_NODE_READ_NAME = "needs-kind-node-capacity-for-postgres.resources";

/**
 * On kind (`cluster.provider: kind` with a `kind-<cluster>` context), reads the node `<cluster>-control-plane` in
 * `pulumi preview` and fails the program when the stack's pod requests plus kind's own exceed its allocatable CPU
 * or memory (components/kind-capacity.ts). Under the offline plan's mocks the read answers without a status, so the
 * check is skipped and the plan lists the read under "not checked offline". A kind cluster whose context was
 * renamed gets no read (nothing to find the node by).
 * The check throws inside an apply: in `pulumi preview` (which `pulumi up` runs first) that fails the program with
 * the message before anything is created; the releases also depend on the read.
 * @returns the read (give it to the releases as `dependsOn`) and the check's outcome (rejects with the message),
 *   or undefined when there is nothing to check.
 */
export function readKindNodeCapacity(
  config: Pick<StackConfig, "cluster" | "postgres" | "logging">,
  provider: k8s.Provider,
): { read: pulumi.Resource; checked: pulumi.Output<void> } | undefined {
  if (config.cluster.provider !== "kind") return undefined;
  const nodeName = kindNodeName(config.cluster.kubeContext);
  if (nodeName === undefined) return undefined;
  const node = k8s.core.v1.Node.get(KIND_NODE_READ_NAME, nodeName, { provider });
  const pods = stackPodRequests(config);
  const checked = node.status.apply((status) => checkKindNode(nodeName, status, pods));
  return { read: node, checked };
}

/**
 * The check `readKindNodeCapacity` runs on the node it read.
 * @param status the node's `status` (undefined or without `allocatable` under the offline plan's mocks: not checked).
 * @throws Error with `kindCapacityProblem`'s message when the stack does not fit.
 */
export function checkKindNode(
  nodeName: string,
  status: { allocatable?: unknown } | undefined,
  pods: PodRequest[],
): void {
  const allocatable = status?.allocatable as Record<string, string> | undefined;
  if (allocatable?.["cpu"] === undefined || allocatable["memory"] === undefined) return;
  const problem = kindCapacityProblem(nodeName, { cpu: allocatable["cpu"], memory: allocatable["memory"] }, pods);
  if (problem !== undefined) throw new Error(problem);
}

/**
 * The application namespaces (`ducklake:postgres.appNamespaces`) that get a copy of the app role's credentials
 * Secret: every one but the cluster's own namespace (which holds the original), in config order, each once.
 * @param config the parsed `ducklake:postgres` section.
 */
export function appCredentialNamespaces(
  config: Pick<StackConfig["postgres"], "appNamespaces" | "namespace">,
): string[] {
  return [...new Set(config.appNamespaces)].filter((ns) => ns !== config.namespace);
}

/**
 * Logical name of the read of an application namespace (names the namespace and the config key, like `crdReadName`).
 * @example `needs-namespace-lineage-for-postgres.appNamespaces`
 */
export function namespaceReadName(namespace: string): string {
  return `needs-namespace-${namespace}-for-postgres.appNamespaces`;
}

/**
 * The message shown with the read of an application namespace: the stack copies the credentials Secret into it and
 * does not create it (the namespace belongs to the applications; a stack that created `default` or an app's namespace
 * would delete it, and everything in it, on `pulumi destroy`).
 */
export function namespacePrerequisiteMessage(namespace: string): string {
  return (
    `prerequisite: ducklake:postgres.appNamespaces names ${namespace}; the stack copies the app role's credentials Secret ` +
    `into it and lets its pods reach Postgres (NetworkPolicy), but does not create it. If this read fails with ` +
    `"resource '${namespace}' does not exist", create it first (kubectl create namespace ${namespace}) or remove it from appNamespaces`
  );
}

/**
 * Reads every namespace of `appCredentialNamespaces(config)` with the Kubernetes provider, so `pulumi preview` fails,
 * before anything is created, when one does not exist (the same mechanism as `readRequiredCrds`). Under the offline
 * plan's mocks every read is answered, so the plan lists them as not checked offline.
 * @param opts options of the reads (provider, parent).
 * @returns the reads by namespace; give each to the resources created in it as `dependsOn`.
 */
export function readAppNamespaces(
  config: Pick<StackConfig["postgres"], "appNamespaces" | "namespace">,
  opts: pulumi.CustomResourceOptions,
): Map<string, pulumi.Resource> {
  const reads = new Map<string, pulumi.Resource>();
  for (const ns of appCredentialNamespaces(config)) {
    const read = k8s.core.v1.Namespace.get(namespaceReadName(ns), ns, opts);
    void pulumi.log.info(namespacePrerequisiteMessage(ns), read);
    reads.set(ns, read);
  }
  return reads;
}
