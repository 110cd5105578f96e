/**
 * The policies as the Pulumi engine runs them: each resource goes through @pulumi/policy's own Analyze
 * handler (protobuf request, deserialization, the unknown-checking proxy, enforcement levels), the code
 * behind `pulumi preview --policy-pack policy`, without the CLI or a gRPC server. Checks that every
 * policy is wired to the right resource types, reports mandatory violations, and lets an unknown value
 * through during preview.
 */
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { runtime } from "@pulumi/pulumi";
import { POLICIES, POLICY_PACK_NAME } from "../../policy/policies";

/* eslint-disable @typescript-eslint/no-require-imports -- internal modules of @pulumi/policy and @pulumi/pulumi without type declarations */
const server = require("@pulumi/policy/server") as {
  makeAnalyzeRpcFun(
    pack: string,
    version: string,
    level: string,
    policies: unknown[],
  ): (call: { request: unknown }, cb: (err: unknown, res: AnalyzeResponse) => void) => Promise<void>;
};
const analyzerProto = require("@pulumi/pulumi/proto/analyzer_pb") as {
  AnalyzeRequest: new () => AnalyzeRequest;
  AnalyzerResourceOptions: new () => object;
  EnforcementLevel: Record<string, number>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

interface AnalyzeRequest {
  setType(v: string): void;
  setName(v: string): void;
  setUrn(v: string): void;
  setProperties(v: Struct): void;
  setOptions(v: object): void;
}
interface AnalyzeDiagnostic {
  getPolicyname(): string;
  getMessage(): string;
  getEnforcementlevel(): number;
}
interface AnalyzeResponse {
  getDiagnosticsList(): AnalyzeDiagnostic[];
}

const analyze = server.makeAnalyzeRpcFun(POLICY_PACK_NAME, "0.1.0", "mandatory", POLICIES);

/** Runs every policy on one resource; returns `policy: message` per diagnostic, and the levels seen. */
async function run(type: string, props: Record<string, unknown>): Promise<{ diagnostics: string[]; levels: number[] }> {
  const req = new analyzerProto.AnalyzeRequest();
  req.setType(type);
  req.setName("r");
  req.setUrn(`urn:pulumi:prod::ducklake-pgmq::${type}::r`);
  req.setProperties(Struct.fromJavaScript(props as Parameters<typeof Struct.fromJavaScript>[0]));
  req.setOptions(new analyzerProto.AnalyzerResourceOptions());
  const response = await new Promise<AnalyzeResponse>((resolve, reject) => {
    void analyze({ request: req }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  const list = response.getDiagnosticsList();
  return {
    diagnostics: list.map((d) => `${d.getPolicyname()}: ${d.getMessage()}`),
    levels: list.map((d) => d.getEnforcementlevel()),
  };
}

const goodLaunchTemplate = {
  blockDeviceMappings: [
    {
      deviceName: "/dev/xvda",
      ebs: {
        volumeSize: 100,
        volumeType: "gp3",
        iops: 3000,
        throughput: 125,
        encrypted: "true",
        deleteOnTermination: "true",
      },
    },
  ],
  metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 2 },
};

describe("the policy pack through @pulumi/policy's Analyze handler", () => {
  it("has six uniquely named mandatory policies", () => {
    expect(POLICIES.map((p) => p.name).sort()).toEqual([
      "ebs-encrypted",
      "ebs-ssd-iops",
      "helm-no-plaintext-secrets",
      "imdsv2-required",
      "postgres-not-exposed",
      "postgres-pod-resources",
    ]);
    expect(POLICIES.every((p) => p.enforcementLevel === "mandatory")).toBe(true);
  });

  it("passes a compliant launch template and reports each broken rule of a bad one as mandatory", async () => {
    expect((await run("aws:ec2/launchTemplate:LaunchTemplate", goodLaunchTemplate)).diagnostics).toEqual([]);
    const bad = {
      blockDeviceMappings: [
        { deviceName: "/dev/xvda", ebs: { volumeSize: 100, volumeType: "gp2", encrypted: "false" } },
      ],
      metadataOptions: { httpTokens: "optional" },
    };
    const { diagnostics, levels } = await run("aws:ec2/launchTemplate:LaunchTemplate", bad);
    expect(diagnostics.map((d) => d.split(":")[0]).sort()).toEqual([
      "ebs-encrypted",
      "ebs-ssd-iops",
      "imdsv2-required",
    ]);
    expect(new Set(levels)).toEqual(new Set([analyzerProto.EnforcementLevel["MANDATORY"]]));
  });

  it("routes Services, Helm releases and StorageClasses to their policies", async () => {
    const lb = {
      metadata: { name: "lineage-pg-lb" },
      spec: { type: "LoadBalancer", selector: { "cnpg.io/cluster": "lineage-pg" }, ports: [{ port: 5432 }] },
    };
    expect((await run("kubernetes:core/v1:Service", lb)).diagnostics).toEqual([
      expect.stringMatching(/^postgres-not-exposed: .*spec\.type is "LoadBalancer"/s),
    ]);
    const release = {
      chart: "cluster",
      repositoryOpts: { repo: "https://cloudnative-pg.github.io/charts" },
      values: { cluster: { superuser: { password: "p" } } },
    };
    const names = (await run("kubernetes:helm.sh/v3:Release", release)).diagnostics.map((d) => d.split(":")[0]);
    expect(names.sort()).toEqual([
      "helm-no-plaintext-secrets",
      "postgres-pod-resources",
      "postgres-pod-resources",
      "postgres-pod-resources",
      "postgres-pod-resources",
    ]);
    const sc = {
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", iops: "3000", throughput: "125", encrypted: "true" },
    };
    expect((await run("kubernetes:storage.k8s.io/v1:StorageClass", sc)).diagnostics).toEqual([]);
    // A resource type no policy covers.
    expect((await run("kubernetes:core/v1:ConfigMap", { data: { password: "x" } })).diagnostics).toEqual([]);
  });

  it("lets unknown values through during preview (no violation, no error)", async () => {
    const lt = {
      ...goodLaunchTemplate,
      metadataOptions: runtime.unknownValue,
      blockDeviceMappings: [
        {
          deviceName: "/dev/xvda",
          ebs: { volumeType: "gp3", iops: runtime.unknownValue, encrypted: runtime.unknownValue },
        },
      ],
    };
    expect((await run("aws:ec2/launchTemplate:LaunchTemplate", lt)).diagnostics).toEqual([]);
    const release = { chart: "grafana", values: { adminPassword: runtime.unknownValue } };
    expect((await run("kubernetes:helm.sh/v3:Release", release)).diagnostics).toEqual([]);
  });
});
