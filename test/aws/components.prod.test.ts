/**
 * The AWS components under Pulumi mocks with the real prod config: what would be sent to AWS and to
 * the cluster (launch template, node group, IAM, EBS CSI add-on, StorageClass).
 */
import type * as k8sTypes from "@pulumi/kubernetes";
import { installMocks, MockRecorder, promiseOf, RecordedResource, settle } from "../helpers/mocks";
import { readDucklakeConfig } from "../helpers/stack-files";
import { parseStackConfig } from "../../components/stack";
import type { StackConfig } from "../../config/schema";
import type { AwsInfrastructure } from "../../components/aws/infrastructure";

const T = {
  role: "aws:iam/role:Role",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  nodeGroup: "aws:eks/nodeGroup:NodeGroup",
  addon: "aws:eks/addon:Addon",
  storageClass: "kubernetes:storage.k8s.io/v1:StorageClass",
};

let recorder: MockRecorder;
let config: StackConfig;
let infra: AwsInfrastructure;
let mod: {
  ssd: typeof import("../../components/aws/ssd-node-group");
  gp3: typeof import("../../components/aws/gp3-storage");
  infra: typeof import("../../components/aws/infrastructure");
};
let k8sProvider: k8sTypes.Provider;

beforeAll(async () => {
  recorder = installMocks({ stack: "prod" });
  config = parseStackConfig(readDucklakeConfig("prod"), "prod").config;
  mod = {
    ssd: await import("../../components/aws/ssd-node-group"),
    gp3: await import("../../components/aws/gp3-storage"),
    infra: await import("../../components/aws/infrastructure"),
  };
  const k8s = await import("@pulumi/kubernetes");
  k8sProvider = new k8s.Provider("eks", { kubeconfig: "{}" });
  infra = mod.infra.createAwsInfrastructure("ducklake", config, {
    kubernetes: { providers: { kubernetes: k8sProvider } },
  });
  await settle();
});

/** The subnets the mocks' getCluster reports for the cluster (scripts/lib/mock-engine.ts callResult). */
const MOCK_CLUSTER_SUBNETS = ["subnet-0mock00000000000a", "subnet-0mock00000000000b", "subnet-0mock00000000000c"];

const expectedTags = { project: "ducklake-pgmq", stack: "prod", team: "data-platform", service: "ducklake-pgmq" };

describe("SsdNodeGroup (prod)", () => {
  test("the launch template gives every node a gp3 root volume with the configured size, IOPS and throughput, and requires IMDSv2", () => {
    const lt = recorder.get(T.launchTemplate, "ducklake-nodes-launch-template").inputs;
    expect(lt["blockDeviceMappings"]).toEqual([
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
    ]);
    expect(lt["metadataOptions"]).toEqual({
      httpEndpoint: "enabled",
      httpTokens: "required",
      httpPutResponseHopLimit: 2,
    });
    expect(lt["tags"]).toMatchObject(expectedTags);
    const specs = lt["tagSpecifications"] as Array<{ resourceType: string; tags: Record<string, string> }>;
    expect(specs.map((s) => s.resourceType)).toEqual(["instance", "volume", "network-interface"]);
    for (const s of specs) expect(s.tags).toMatchObject(expectedTags);
  });

  test("the node group: scaling, labels, taint, instance types, subnets, launch template, and no diskSize", () => {
    const ng = recorder.get(T.nodeGroup, "ducklake-nodes-node-group").inputs;
    expect(ng["clusterName"]).toBe("ducklake-prod");
    expect(ng["scalingConfig"]).toEqual({ minSize: 3, desiredSize: 3, maxSize: 4 });
    expect(ng["labels"]).toEqual({ "ducklake.io/workload": "postgres" });
    expect(ng["taints"]).toEqual([{ key: "ducklake.io/workload", value: "postgres", effect: "NO_SCHEDULE" }]);
    expect(ng["instanceTypes"]).toEqual(["m6i.2xlarge"]);
    expect(ng["amiType"]).toBe("AL2023_x86_64_STANDARD");
    expect(ng["capacityType"]).toBe("ON_DEMAND");
    // Pulumi.prod.yaml sets no subnetIds: the cluster's own subnets, as getCluster answers them.
    expect(config.cluster.provider === "eks" && config.cluster.subnetIds).toBeUndefined();
    expect(ng["subnetIds"]).toEqual(MOCK_CLUSTER_SUBNETS);
    expect(
      recorder.calls.filter((c) => c.token === "aws:eks/getCluster:getCluster").map((c) => c.inputs["name"]),
    ).toContain("ducklake-prod");
    expect(ng["launchTemplate"]).toEqual({ id: "ducklake-nodes-launch-template-id", version: "1" });
    expect(ng).not.toHaveProperty("diskSize");
    expect(ng["nodeRoleArn"]).toBe("arn:aws:iam::123456789012:role/ducklake-nodes-role");
    expect(ng["tags"]).toMatchObject(expectedTags);
  });

  test("the node role trusts EC2 and has the standard worker policies", () => {
    const role = recorder.get(T.role, "ducklake-nodes-role").inputs;
    expect(JSON.parse(role["assumeRolePolicy"] as string).Statement[0].Principal).toEqual({
      Service: "ec2.amazonaws.com",
    });
    const attached = recorder
      .ofType(T.attachment)
      .filter((r) => r.name.startsWith("ducklake-nodes-role-"))
      .map((r) => r.inputs["policyArn"])
      .sort();
    expect(attached).toEqual([
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]);
  });

  test("outputs: node group name, role ARN, labels, taint and its Kubernetes toleration", async () => {
    const ng = infra.nodeGroup!;
    expect(await promiseOf(ng.nodeGroupName)).toBe("ducklake-nodes-node-group");
    expect(await promiseOf(ng.roleArn)).toBe("arn:aws:iam::123456789012:role/ducklake-nodes-role");
    expect(ng.labels).toEqual({ "ducklake.io/workload": "postgres" });
    expect(ng.taint).toEqual({ key: "ducklake.io/workload", value: "postgres", effect: "NO_SCHEDULE" });
    expect(ng.toleration).toEqual({
      key: "ducklake.io/workload",
      operator: "Equal",
      value: "postgres",
      effect: "NoSchedule",
    });
  });

  test("an existing node role is used as is: no role, no attachments", async () => {
    const arn = "arn:aws:iam::123456789012:role/existing-nodes";
    const ng = new mod.ssd.SsdNodeGroup("existing", {
      clusterName: "ducklake-prod",
      subnetIds: ["subnet-1"],
      nodes: { ...config.nodes!, nodeRoleArn: arn },
      tags: {},
    });
    await settle();
    expect(recorder.resources.filter((r) => r.name.startsWith("existing-role"))).toEqual([]);
    expect(recorder.get(T.nodeGroup, "existing-node-group").inputs["nodeRoleArn"]).toBe(arn);
    expect(await promiseOf(ng.roleArn)).toBe(arn);
  });

  test("subnetIds given: the node group uses them, not the cluster's", async () => {
    const ng = new mod.ssd.SsdNodeGroup("pinned", {
      clusterName: "ducklake-prod",
      subnetIds: ["subnet-0123456789abcdef0"],
      nodes: config.nodes!,
      tags: {},
    });
    await settle();
    expect(recorder.get(T.nodeGroup, "pinned-node-group").inputs["subnetIds"]).toEqual(["subnet-0123456789abcdef0"]);
    expect(await promiseOf(ng.subnetIds)).toEqual(["subnet-0123456789abcdef0"]);
  });

  test("subnetIds absent: the cluster's own subnets, read with getCluster by the cluster's name", async () => {
    const before = recorder.calls.length;
    const ng = new mod.ssd.SsdNodeGroup("default-subnets", {
      clusterName: "other-cluster",
      nodes: config.nodes!,
      tags: {},
    });
    await settle();
    expect(recorder.get(T.nodeGroup, "default-subnets-node-group").inputs["subnetIds"]).toEqual(MOCK_CLUSTER_SUBNETS);
    expect(await promiseOf(ng.subnetIds)).toEqual(MOCK_CLUSTER_SUBNETS);
    expect(
      recorder.calls
        .slice(before)
        .filter((c) => c.token === "aws:eks/getCluster:getCluster")
        .map((c) => c.inputs["name"]),
    ).toEqual(["other-cluster"]);
  });

  test("invalid arguments raise before any child is created", async () => {
    expect(
      () =>
        new mod.ssd.SsdNodeGroup("bad-nodes", {
          clusterName: "ducklake-prod",
          subnetIds: [],
          nodes: { ...config.nodes!, rootVolume: { ...config.nodes!.rootVolume, sizeGiB: 5 } },
          tags: {},
        }),
    ).toThrow(
      /invalid arguments:[\s\S]*subnetIds: needs at least one subnet[\s\S]*nodes\.rootVolume\.iops: 3000 IOPS exceeds 500 IOPS per GiB \(a 5 GiB volume allows at most 2500 IOPS\)/,
    );
    await settle();
    const children = recorder.resources.filter((r) => r.name.startsWith("bad-nodes-"));
    expect(children).toEqual([]);
  });
});

describe("Gp3StorageClass (prod)", () => {
  test("the EBS CSI add-on with its IRSA role", () => {
    const addon = recorder.get(T.addon, "ducklake-storage-addon").inputs;
    expect(addon["addonName"]).toBe("aws-ebs-csi-driver");
    expect(addon["clusterName"]).toBe("ducklake-prod");
    expect(addon["serviceAccountRoleArn"]).toBe("arn:aws:iam::123456789012:role/ducklake-storage-driver-role");
    expect(addon).not.toHaveProperty("podIdentityAssociations");
    expect(addon["tags"]).toMatchObject(expectedTags);
  });

  test("the driver role trusts the cluster's OIDC provider (from getCluster) for the controller service account", () => {
    const role = recorder.get(T.role, "ducklake-storage-driver-role").inputs;
    const stmt = JSON.parse(role["assumeRolePolicy"] as string).Statement[0];
    expect(stmt.Principal).toEqual({
      Federated: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF",
    });
    expect(stmt.Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF:sub"]).toBe(
      "system:serviceaccount:kube-system:ebs-csi-controller-sa",
    );
    expect(recorder.calls.find((c) => c.token === "aws:eks/getCluster:getCluster")?.inputs["name"]).toBe(
      "ducklake-prod",
    );
    expect(recorder.get(T.attachment, "ducklake-storage-driver-policy").inputs["policyArn"]).toBe(
      "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2",
    );
    expect(recorder.resources.find((r) => r.name === "ducklake-storage-driver-kms")).toBeUndefined();
  });

  test("the StorageClass: gp3 parameters from config, Retain, WaitForFirstConsumer, expansion, on the EKS provider", () => {
    const sc: RecordedResource = recorder.get(T.storageClass, "ducklake-storage-class");
    expect(sc.inputs["metadata"]).toMatchObject({ name: "gp3" });
    expect(sc.inputs["provisioner"]).toBe("ebs.csi.aws.com");
    expect(sc.inputs["parameters"]).toEqual({
      type: "gp3",
      iops: "6000",
      throughput: "250",
      encrypted: "true",
      "csi.storage.k8s.io/fstype": "ext4",
    });
    expect(sc.inputs["reclaimPolicy"]).toBe("Retain");
    expect(sc.inputs["volumeBindingMode"]).toBe("WaitForFirstConsumer");
    expect(sc.inputs["allowVolumeExpansion"]).toBe(true);
    expect(sc.provider).toMatch(/::eks::/);
  });

  test("outputs: storage class name, add-on name, driver role ARN", async () => {
    const storage = infra.storage!;
    expect(await promiseOf(storage.storageClassName)).toBe("gp3");
    expect(await promiseOf(infra.storageClassName)).toBe("gp3");
    expect(await promiseOf(storage.addonName)).toBe("aws-ebs-csi-driver");
    expect(await promiseOf(storage.driverRoleArn)).toBe("arn:aws:iam::123456789012:role/ducklake-storage-driver-role");
  });

  test("Pod Identity and a KMS key: association instead of IRSA, a role trusting pods.eks, KMS access for that key only", async () => {
    const key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    new mod.gp3.Gp3StorageClass(
      "pi",
      {
        clusterName: "ducklake-prod",
        storageClassName: "gp3-pi",
        gp3: { ...config.storage.gp3!, csiDriverIdentity: "pod-identity", kmsKeyId: key },
        tags: {},
      },
      { providers: { kubernetes: k8sProvider } },
    );
    await settle();
    const addon = recorder.get(T.addon, "pi-addon").inputs;
    expect(addon["podIdentityAssociations"]).toEqual([
      { roleArn: "arn:aws:iam::123456789012:role/pi-driver-role", serviceAccount: "ebs-csi-controller-sa" },
    ]);
    expect(addon).not.toHaveProperty("serviceAccountRoleArn");
    expect(
      JSON.parse(recorder.get(T.role, "pi-driver-role").inputs["assumeRolePolicy"] as string).Statement[0].Principal,
    ).toEqual({ Service: "pods.eks.amazonaws.com" });
    expect(
      JSON.parse(recorder.get(T.rolePolicy, "pi-driver-kms").inputs["policy"] as string).Statement[0].Resource,
    ).toBe(key);
    expect(recorder.get(T.storageClass, "pi-class").inputs["parameters"]).toMatchObject({ kmsKeyId: key });
  });

  test("invalid arguments raise before any child is created", async () => {
    expect(
      () =>
        new mod.gp3.Gp3StorageClass("bad-storage", {
          clusterName: "ducklake-prod",
          storageClassName: "gp3",
          gp3: { ...config.storage.gp3!, iops: 2999 },
          tags: {},
        }),
    ).toThrow(/gp3\.iops: must be >= 3000 IOPS/);
    await settle();
    expect(recorder.resources.filter((r) => r.name.startsWith("bad-storage-"))).toEqual([]);
  });

  test("an EKS stack without a gp3 block gets the node group but no add-on and no class", async () => {
    const noGp3 = mod.infra.createAwsInfrastructure("plain", { ...config, storage: { className: "gp2" } });
    await settle();
    expect(noGp3.nodeGroup).toBeDefined();
    expect(noGp3.storage).toBeUndefined();
    expect(await promiseOf(noGp3.storageClassName)).toBe("gp2");
    expect(recorder.resources.filter((r) => r.name.startsWith("plain-storage"))).toEqual([]);
    expect(recorder.get(T.nodeGroup, "plain-nodes-node-group").inputs["scalingConfig"]).toEqual({
      minSize: 3,
      desiredSize: 3,
      maxSize: 4,
    });
  });
});
