/**
 * Kubernetes >= 1.29 (both CloudNativePG charts' kubeVersion): the message, the check of the EKS
 * cluster's version at preview (an Output that fails), and that the program still runs with it wired
 * into the Kubernetes provider's kubeconfig on a recent cluster.
 */
import * as path from "path";
import { checkedEksVersion, eksVersionProblem, MIN_KUBERNETES_VERSION } from "../../components/kubernetes-version";
import { CNPG_CLUSTER_CHART, CNPG_OPERATOR_CHART } from "../../components/postgres/charts";
import { callResult, installRecordingMocks, MockRecorder, settle } from "../../scripts/lib/mock-engine";
import { readStackFileConfig, stackConfigForRuntime } from "../../scripts/lib/stack-file";
import { installMocks, promiseOf } from "../helpers/mocks";
import { ROOT } from "../helpers/stack-files";

const GET_CLUSTER = "aws:eks/getCluster:getCluster";

test("the minimum is the one the pinned CloudNativePG charts declare (re-read their Chart.yaml kubeVersion when bumping them)", () => {
  // cloudnative-pg 0.29.0 and cluster 0.8.1 both declare kubeVersion ">=1.29.0-0" (cloudnative-pg/charts at
  // tags cloudnative-pg-v0.29.0 and cluster-v0.8.1, charts/<chart>/Chart.yaml).
  expect([CNPG_OPERATOR_CHART.version, CNPG_CLUSTER_CHART.version, MIN_KUBERNETES_VERSION]).toEqual([
    "0.29.0",
    "0.8.1",
    "1.29",
  ]);
});

describe("eksVersionProblem", () => {
  test("1.29 and later: none", () => {
    expect(["1.29", "1.33", "v1.30.1"].map((v) => eksVersionProblem("c", v))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
  test("older: names the cluster, its version, the minimum, the charts and how to upgrade", () => {
    const message = eksVersionProblem("ducklake-prod", "1.28")!;
    expect(message).toMatch(
      /^the EKS cluster "ducklake-prod" runs Kubernetes 1\.28; this stack needs Kubernetes >= 1\.29/,
    );
    expect(message).toContain('kubeVersion ">=1.29.0-0" in cloudnative-pg 0.29.0 and cluster 0.8.1');
    expect(message).toContain("https://docs.aws.amazon.com/eks/latest/userguide/update-cluster.html");
  });
  test("not a version: a problem too", () => {
    expect(eksVersionProblem("c", "")).toMatch(/reports the version "", which is not a Kubernetes version/);
  });
});

describe("checkedEksVersion under mocks", () => {
  beforeAll(() => {
    installMocks({ stack: "prod" });
  });
  test("a recent version passes through", async () => {
    await expect(promiseOf(checkedEksVersion("c", "1.33"))).resolves.toBe("1.33");
  });
  test("an old one fails the Output with the message", async () => {
    // Output.promise(): the internal promise, which rejects when an apply throws (promiseOf never settles then).
    const out = checkedEksVersion("ducklake-prod", "1.27") as unknown as {
      promise(): Promise<string>;
      isKnown: Promise<boolean>;
      isSecret: Promise<boolean>;
    };
    // The Output's other promises reject too; handled here, so the rejection is not reported as unhandled.
    out.isKnown.catch(() => undefined);
    out.isSecret.catch(() => undefined);
    await expect(out.promise()).rejects.toThrow(
      /the EKS cluster "ducklake-prod" runs Kubernetes 1\.27; this stack needs Kubernetes >= 1\.29/,
    );
  });
});

/** Runs index.ts with the prod stack file, getCluster reporting `version`. */
async function runProd(version: string): Promise<{ recorder: MockRecorder; kubeconfig: Promise<unknown> }> {
  const file = readStackFileConfig(path.join(ROOT, "Pulumi.prod.yaml"));
  const runtime = stackConfigForRuntime(file);
  let recorder!: MockRecorder;
  await jest.isolateModulesAsync(async () => {
    recorder = installRecordingMocks({
      stack: "prod",
      config: runtime.config,
      secretKeys: runtime.secretKeys,
      callResults: { [GET_CLUSTER]: (inputs) => ({ ...callResult(GET_CLUSTER, inputs), version }) },
    });
    await import("../../index");
    await settle(recorder);
  });
  const provider = recorder.resources.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === "k8s");
  return { recorder, kubeconfig: Promise.resolve(provider?.inputs["kubeconfig"]) };
}

describe("the program's Kubernetes provider waits for the version check", () => {
  test("on 1.33 (the mocks' default) the provider is registered with its kubeconfig", async () => {
    const { recorder, kubeconfig } = await runProd("1.33");
    expect(recorder.calls.some((c) => c.token === GET_CLUSTER && c.inputs["name"] === "ducklake-prod")).toBe(true);
    expect(String(await kubeconfig)).toContain("ducklake-prod");
  }, 120_000);

  // On an older version the kubeconfig Output fails and, with it, every Kubernetes resource's
  // registration ("error serializing property "kubeconfig": the EKS cluster ... runs Kubernetes 1.28 ...").
  // Not a test here: those rejections reach jest as failures of whatever test runs; checkedEksVersion's
  // own failure is tested above.
});
