/**
 * The PostgresCluster releases wait for the prerequisite reads (components/prerequisites.ts): with
 * `podMonitor` on, both Helm releases depend on the reads of the Prometheus Operator CRDs, so a missing
 * CRD fails `pulumi preview` before either release is created.
 */
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "../../components/stack";
import { installMocks, MockRecorder, settle } from "../helpers/mocks";
import { readDucklakeConfig } from "../helpers/stack-files";
import { captureDependencies, dependencies, tunedParameters } from "./harness";

describe("PostgresCluster with prerequisites (prod: podMonitor on)", () => {
  let recorder: MockRecorder;

  beforeAll(async () => {
    recorder = installMocks({ stack: "prod" });
    captureDependencies();
    const full = parseStackConfig(readDucklakeConfig("prod"), "prod").config;
    const k8s = await import("@pulumi/kubernetes");
    const { readRequiredCrds } = await import("../../components/prerequisites");
    const { PostgresCluster } = await import("../../components/postgres/cluster");
    const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
    const prerequisites = readRequiredCrds(full, provider);
    new PostgresCluster("db", {
      config: full.postgres,
      storageClassName: pulumi.output("gp3"),
      parameters: tunedParameters(full.postgres),
      sharedPreloadLibraries: ["pg_partman_bgw"],
      provider,
      prerequisites,
      backupDestination: { bucketName: "b", region: "eu-west-1", roleArn: "arn:aws:iam::123456789012:role/b" },
    });
    await settle(recorder);
  });

  const crdReads = () => recorder.reads.filter((r) => r.type.endsWith(":CustomResourceDefinition"));

  test("the CRDs are read by name, and the application namespace (appNamespaces) the Secret is copied into", () => {
    expect(
      crdReads()
        .map((r) => r.id)
        .sort(),
    ).toEqual([
      "certificates.cert-manager.io",
      "issuers.cert-manager.io",
      "podmonitors.monitoring.coreos.com",
      "prometheusrules.monitoring.coreos.com",
    ]);
    expect(recorder.reads.filter((r) => r.type === "kubernetes:core/v1:Namespace").map((r) => r.id)).toEqual([
      "lineage",
    ]);
  });

  test.each(["db-operator", "db-barman-cloud", "db-cluster"])("%s depends on every CRD read", (release) => {
    const deps = dependencies.get(release) ?? [];
    for (const read of crdReads())
      expect(deps).toContainEqual(
        expect.stringMatching(new RegExp(`::${read.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`)),
      );
  });

  test("the Secret's copy in an application namespace depends on that namespace's read", () => {
    expect(dependencies.get("db-app-secret-in-lineage")).toContainEqual(
      expect.stringMatching(/::needs-namespace-lineage-for-postgres\.appNamespaces$/),
    );
  });
});
