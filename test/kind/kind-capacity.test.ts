/**
 * The dev stack on a kind node (issue 15 row 6): the arithmetic of components/kind-capacity.ts, and the preview
 * read of components/prerequisites.ts failing with it when the node is too small.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  KIND_SYSTEM_REQUESTS,
  kindCapacityProblem,
  kindNodeName,
  stackPodRequests,
} from "../../components/kind-capacity";
import { parseStackConfig } from "../../components/stack";
import { readDucklakeConfig } from "../helpers/stack-files";

const dev = parseStackConfig(readDucklakeConfig("dev"), "dev").config;

describe("the arithmetic", () => {
  test("dev requests what the README says: 2.76 CPU and 5.59 GiB, plus kind's 0.95 CPU and 290 MiB", () => {
    const pods = stackPodRequests(dev);
    expect(pods.map((p) => p.what)).toEqual([
      "postgres",
      "loki",
      "promtail",
      "queue bootstrap Job",
      "partition-maintenance CronJob",
      "prometheus",
      "grafana",
    ]);
    // the Prometheus pod: server 50m / 256Mi + config reloader 10m / 32Mi (plan/dev/manifests/prometheus.yaml)
    expect(pods.find((p) => p.what === "prometheus")).toEqual({
      what: "prometheus",
      cpuMillis: 60,
      memoryBytes: 288 * 1024 ** 2,
    });
    expect(pods.reduce((s, p) => s + p.cpuMillis, 0)).toBe(2760);
    expect(pods.reduce((s, p) => s + p.memoryBytes, 0)).toBe((4096 + 1024 + 64 + 64 + 64 + 288 + 128) * 1024 ** 2);
    expect(KIND_SYSTEM_REQUESTS.cpuMillis).toBe(950);
    expect(KIND_SYSTEM_REQUESTS.memoryBytes).toBe(290 * 1024 ** 2);
  });

  test("instances multiply the Postgres request; alloy replaces promtail; no grafana or prometheus when they are off", () => {
    const cfg = {
      ...dev,
      postgres: { ...dev.postgres, instances: 3 },
      logging: {
        ...dev.logging,
        agent: "alloy" as const,
        grafana: { ...dev.logging.grafana, enabled: false },
        prometheus: { ...dev.logging.prometheus, enabled: false },
      },
    };
    const pods = stackPodRequests(cfg);
    expect(pods.map((p) => p.what)).toEqual([
      "postgres x 3",
      "loki",
      "alloy",
      "queue bootstrap Job",
      "partition-maintenance CronJob",
    ]);
    expect(pods[0].cpuMillis).toBe(6000);
  });

  test("a 4-core, 8 GiB node fits dev; a 2-core one does not, and the message names the shortfall and the terms", () => {
    const pods = stackPodRequests(dev);
    expect(kindCapacityProblem("ducklake-control-plane", { cpu: "4", memory: "8Gi" }, pods)).toBeUndefined();
    const problem = kindCapacityProblem("ducklake-control-plane", { cpu: "2", memory: "8029868Ki" }, pods);
    expect(problem).toContain(
      "the kind node ducklake-control-plane is too small for the stack: CPU 3710m requested, 2000m allocatable (",
    );
    expect(problem).toContain("postgres 2000m / 4096Mi");
    expect(problem).toContain("prometheus 60m / 288Mi");
    expect(problem).not.toContain("memory 6018Mi requested");
    // The boundary: exactly the requests fit.
    expect(kindCapacityProblem("n", { cpu: "3710m", memory: `${6018 * 1024}Ki` }, pods)).toBeUndefined();
    expect(kindCapacityProblem("n", { cpu: "3709m", memory: `${6018 * 1024}Ki` }, pods)).toContain("CPU 3710m");
    expect(kindCapacityProblem("n", { cpu: "4", memory: `${6018 * 1024 - 1}Ki` }, pods)).toContain(
      "memory 6018Mi requested, 6018Mi allocatable",
    );
  });

  test.each([
    ["kind-ducklake", "ducklake-control-plane"],
    ["kind-a-b", "a-b-control-plane"],
    ["docker-desktop", undefined],
    ["kind-", undefined],
  ])("kindNodeName(%s) is %s", (context, node) => {
    expect(kindNodeName(context)).toBe(node);
  });
});

describe("the preview read", () => {
  let allocatable: Record<string, string> | undefined;
  const reads: string[] = [];

  beforeAll(() => {
    void pulumi.runtime.setMocks(
      {
        newResource(args) {
          if (args.id) {
            reads.push(`${args.type} ${args.id} ${args.name}`);
            return { id: args.id, state: allocatable ? { status: { allocatable } } : {} };
          }
          return { id: `${args.name}-id`, state: args.inputs };
        },
        call: (args) => args.inputs,
      },
      "ducklake-pgmq",
      "dev",
      true,
    );
  });

  async function check(node: Record<string, string> | undefined): Promise<unknown> {
    allocatable = node;
    const k8s = await import("@pulumi/kubernetes");
    const { readKindNodeCapacity } = await import("../../components/prerequisites");
    const provider = new k8s.Provider(`k8s-${reads.length}`, { kubeconfig: "{}" });
    const result = readKindNodeCapacity(dev, provider);
    if (result === undefined) throw new Error("no read");
    return new Promise((resolve) => result.checked.apply(() => resolve("fits"))).catch((e: Error) => e.message);
  }

  test("reads the node named after the kube context and passes a node that fits", async () => {
    await expect(check({ cpu: "8", memory: "16Gi" })).resolves.toBe("fits");
    expect(reads[reads.length - 1]).toBe(
      "kubernetes:core/v1:Node ducklake-control-plane needs-kind-node-capacity-for-postgres.resources",
    );
  });

  test("a 2-CPU node fails the check with the message; a node without allocatable is not checked", async () => {
    const { checkKindNode } = await import("../../components/prerequisites");
    const pods = stackPodRequests(dev);
    expect(() => checkKindNode("ducklake-control-plane", { allocatable: { cpu: "2", memory: "16Gi" } }, pods)).toThrow(
      "the kind node ducklake-control-plane is too small for the stack: CPU 3710m requested, 2000m allocatable",
    );
    expect(() => checkKindNode("n", { allocatable: { cpu: "8", memory: "16Gi" } }, pods)).not.toThrow();
    expect(() => checkKindNode("n", undefined, pods)).not.toThrow();
    expect(() => checkKindNode("n", {}, pods)).not.toThrow();
  });

  test("prod (EKS) and a context kind did not name get no read", async () => {
    const k8s = await import("@pulumi/kubernetes");
    const { readKindNodeCapacity } = await import("../../components/prerequisites");
    const provider = new k8s.Provider("k8s-none", { kubeconfig: "{}" });
    const renamed = { ...dev, cluster: { ...dev.cluster, kubeContext: "my-laptop" } } as typeof dev;
    expect(readKindNodeCapacity(renamed, provider)).toBeUndefined();
    const prod = parseStackConfig(readDucklakeConfig("prod"), "prod").config;
    expect(readKindNodeCapacity(prod, provider)).toBeUndefined();
  });
});
