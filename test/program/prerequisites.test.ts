/**
 * Prerequisites at preview (components/prerequisites.ts): which CRDs the stack needs, the message that
 * names the config key and how to get them, that the program reads them (as reads, not resources it
 * would create), and that the offline plan says it skipped them.
 */
import { parseStackConfig } from "../../components/stack";
import { crdPrerequisiteMessage, crdReadName, KIND_NODE_READ_NAME, requiredCrds } from "../../components/prerequisites";
import type { MockRecorder } from "../../scripts/lib/mock-engine";
import { runStackProgram } from "../helpers/program";
import { notCheckedOffline } from "../../scripts/lib/plan-output";
import { readDucklakeConfig } from "../helpers/stack-files";

const CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition";
const NODE_TYPE = "kubernetes:core/v1:Node";
const NAMESPACE_TYPE = "kubernetes:core/v1:Namespace";

describe("requiredCrds", () => {
  test("prod (podMonitor, backups): the Prometheus Operator's PodMonitor and PrometheusRule CRDs, and cert-manager's for the Barman Cloud plugin", () => {
    const crds = requiredCrds(parseStackConfig(readDucklakeConfig("prod"), "prod").config);
    expect(crds.map((c) => [c.name, c.kind, c.key])).toEqual([
      ["podmonitors.monitoring.coreos.com", "PodMonitor", "ducklake:postgres.podMonitor"],
      ["prometheusrules.monitoring.coreos.com", "PrometheusRule", "ducklake:postgres.podMonitor"],
      ["issuers.cert-manager.io", "Issuer", "ducklake:postgres.backups.enabled"],
      ["certificates.cert-manager.io", "Certificate", "ducklake:postgres.backups.enabled"],
    ]);
    const certManager = crds[2]!;
    expect(crdPrerequisiteMessage(certManager)).toContain("install cert-manager first");
    expect(crdPrerequisiteMessage(certManager)).toContain("ducklake:postgres.backups.enabled: false");
  });

  test("a restore without backups needs cert-manager too, for ducklake:postgres.recovery", () => {
    const raw = structuredClone(readDucklakeConfig("prod")) as Record<string, Record<string, unknown>>;
    raw["postgres"]["podMonitor"] = false;
    raw["postgres"]["backups"] = { enabled: false };
    raw["postgres"]["recovery"] = { sourceClusterName: "lineage-pg-old", bucketName: "old-backups" };
    const crds = requiredCrds(parseStackConfig(raw, "prod").config);
    expect(crds.map((c) => [c.name, c.key])).toEqual([
      ["issuers.cert-manager.io", "ducklake:postgres.recovery"],
      ["certificates.cert-manager.io", "ducklake:postgres.recovery"],
    ]);
  });

  test("dev (podMonitor off): none", () => {
    expect(requiredCrds(parseStackConfig(readDucklakeConfig("dev"), "dev").config)).toEqual([]);
  });

  test("the read's name and message name the CRD, the key and how to get the CRDs", () => {
    const [podMonitors] = requiredCrds(parseStackConfig(readDucklakeConfig("prod"), "prod").config);
    expect(crdReadName(podMonitors!)).toBe("needs-crd-podmonitors.monitoring.coreos.com-for-postgres.podMonitor");
    const message = crdPrerequisiteMessage(podMonitors!);
    expect(message).toContain("ducklake:postgres.podMonitor is true");
    expect(message).toContain("resource 'podmonitors.monitoring.coreos.com' does not exist");
    expect(message).toContain("helm install prometheus-operator-crds prometheus-community/prometheus-operator-crds");
    expect(message).toContain("https://prometheus-community.github.io/helm-charts");
    expect(message).toContain("`ducklake:postgres.podMonitor: false`");
  });
});

/** Runs index.ts with a stack file's config in a fresh module registry. */
async function runProgram(stack: string): Promise<MockRecorder> {
  return (await runStackProgram(stack)).recorder;
}

describe("the program reads its prerequisites", () => {
  let prod: MockRecorder;
  let dev: MockRecorder;
  beforeAll(async () => {
    prod = await runProgram("prod");
    dev = await runProgram("dev");
  }, 120_000);

  test("prod reads every CRD by name, and its application namespace, as reads (not resources it would create)", () => {
    expect(prod.reads.map((r) => [r.type, r.id]).sort()).toEqual([
      [CRD_TYPE, "certificates.cert-manager.io"],
      [CRD_TYPE, "issuers.cert-manager.io"],
      [CRD_TYPE, "podmonitors.monitoring.coreos.com"],
      [CRD_TYPE, "prometheusrules.monitoring.coreos.com"],
      [NAMESPACE_TYPE, "lineage"],
    ]);
    expect(prod.ofType(CRD_TYPE)).toEqual([]);
  });

  // That both CloudNativePG releases depend on the reads: test/postgres/prerequisites.test.ts.

  test("dev reads no CRD, only the kind node whose capacity it checks (components/kind-capacity.ts) and its application namespaces", () => {
    expect(dev.reads.map((r) => [r.type, r.id, r.name])).toEqual([
      [NODE_TYPE, "ducklake-control-plane", KIND_NODE_READ_NAME],
      [NAMESPACE_TYPE, "default", "needs-namespace-default-for-postgres.appNamespaces"],
      [NAMESPACE_TYPE, "lineage", "needs-namespace-lineage-for-postgres.appNamespaces"],
    ]);
    expect(dev.ofType(NODE_TYPE)).toEqual([]);
  });

  test("the offline plan's summary says the reads were not checked, naming each CRD and the key", () => {
    expect(notCheckedOffline(prod.reads, prod.calls)).toEqual([
      "prerequisites not checked offline (the mocks answer every read; `pulumi preview` reads them and fails when one is missing):",
      "  - CustomResourceDefinition certificates.cert-manager.io (needs-crd-certificates.cert-manager.io-for-postgres.backups.enabled)",
      "  - CustomResourceDefinition issuers.cert-manager.io (needs-crd-issuers.cert-manager.io-for-postgres.backups.enabled)",
      "  - CustomResourceDefinition podmonitors.monitoring.coreos.com (needs-crd-podmonitors.monitoring.coreos.com-for-postgres.podMonitor)",
      "  - CustomResourceDefinition prometheusrules.monitoring.coreos.com (needs-crd-prometheusrules.monitoring.coreos.com-for-postgres.podMonitor)",
      "  - Namespace lineage (needs-namespace-lineage-for-postgres.appNamespaces)",
      "  - the EKS cluster's IAM OIDC provider for IRSA (aws.iam.getOpenIdConnectProvider https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF)",
    ]);
    expect(notCheckedOffline(dev.reads)).toEqual([
      "prerequisites not checked offline (the mocks answer every read; `pulumi preview` reads them and fails when one is missing):",
      `  - Node ducklake-control-plane (${KIND_NODE_READ_NAME})`,
      "  - Namespace default (needs-namespace-default-for-postgres.appNamespaces)",
      "  - Namespace lineage (needs-namespace-lineage-for-postgres.appNamespaces)",
    ]);
  });
});
