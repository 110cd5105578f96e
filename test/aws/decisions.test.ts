/**
 * The AWS components' decisions as pure functions, without Pulumi: launch template block device
 * mapping, tolerations, IAM documents, StorageClass parameters, tags and argument checks.
 */
import { parseStackConfig } from "../../components/stack";
import type { StackConfig } from "../../config/schema";
import {
  managedPolicyArn,
  nodeRoleAssumeRolePolicy,
  rootBlockDeviceMappings,
  ssdNodeGroupArgProblems,
  WORKER_NODE_POLICIES,
} from "../../components/aws/ssd-node-group";
import {
  gp3StorageClassArgProblems,
  irsaTrustPolicy,
  kmsKeyAccessPolicy,
  oidcProviderArnFromIssuer,
  ebsCsiDriverPolicyArn,
  podIdentityTrustPolicy,
  storageClassParameters,
  storageClassSpec,
} from "../../components/aws/gp3-storage";
import { kubernetesToleration } from "../../components/placement";
import { AWS_MANAGED_POLICIES, managedPolicyArn as managedPolicyArnOf } from "../../components/aws/managed-policies";
import { awsResourceTags } from "../../components/aws/tags";
import * as fs from "fs";
import * as path from "path";
import { readDucklakeConfig } from "../helpers/stack-files";

const prod: StackConfig = parseStackConfig(readDucklakeConfig("prod"), "prod").config;
const nodes = prod.nodes!;
const gp3 = prod.storage.gp3!;

describe("launch template block device mapping", () => {
  test("prod: one gp3 root volume on /dev/xvda with the configured size, IOPS and throughput, encrypted", () => {
    expect(rootBlockDeviceMappings(nodes.rootVolume, nodes.amiType)).toEqual([
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
  });

  test("a KMS key is passed through; unencrypted is spelled as EC2 spells it", () => {
    const [withKey] = rootBlockDeviceMappings(
      { ...nodes.rootVolume, kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/abc" },
      "AL2023_ARM_64_STANDARD",
    );
    expect(withKey.ebs.kmsKeyId).toBe("arn:aws:kms:eu-west-1:123456789012:key/abc");
    expect(withKey.deviceName).toBe("/dev/xvda");
    const [plain] = rootBlockDeviceMappings({ ...nodes.rootVolume, encrypted: false }, "AL2023_x86_64_STANDARD");
    expect(plain.ebs.encrypted).toBe("false");
    expect("kmsKeyId" in plain.ebs).toBe(false);
  });

  test("never sets a size outside the mapping (no diskSize anywhere)", () => {
    expect(JSON.stringify(rootBlockDeviceMappings(nodes.rootVolume, nodes.amiType))).not.toMatch(/diskSize/);
  });
});

describe("taint and toleration", () => {
  test.each([
    [
      { key: "ducklake.io/workload", value: "postgres", effect: "NO_SCHEDULE" as const },
      { key: "ducklake.io/workload", operator: "Equal", value: "postgres", effect: "NoSchedule" },
    ],
    [
      { key: "dedicated", effect: "NO_EXECUTE" as const },
      { key: "dedicated", operator: "Exists", effect: "NoExecute" },
    ],
    [
      { key: "db", value: "pg", effect: "PREFER_NO_SCHEDULE" as const },
      { key: "db", operator: "Equal", value: "pg", effect: "PreferNoSchedule" },
    ],
  ])("%j is tolerated by %j", (taint, toleration) => {
    expect(kubernetesToleration(taint)).toEqual(toleration);
  });
});

describe("IAM documents", () => {
  test("node role: EC2 may assume it; China uses its own DNS suffix", () => {
    expect(JSON.parse(nodeRoleAssumeRolePolicy("amazonaws.com")).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    expect(nodeRoleAssumeRolePolicy("amazonaws.com.cn")).toContain('"ec2.amazonaws.com.cn"');
  });

  test("worker policies are the three EKS names, in the partition", () => {
    expect(Object.values(WORKER_NODE_POLICIES).map((p) => managedPolicyArn("aws-us-gov", p))).toEqual([
      "arn:aws-us-gov:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws-us-gov:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
      "arn:aws-us-gov:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]);
  });

  test("the EBS CSI driver policy is AmazonEBSCSIDriverPolicyV2 at the root path, not under service-role/ (only V1 is there)", () => {
    // https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEBSCSIDriverPolicyV2.html
    expect(ebsCsiDriverPolicyArn("aws")).toBe("arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2");
    expect(ebsCsiDriverPolicyArn("aws-cn")).toBe("arn:aws-cn:iam::aws:policy/AmazonEBSCSIDriverPolicyV2");
  });

  test("every AWS managed policy the program uses has the ARN AWS's managed policy reference gives", () => {
    // Copied from each page's "Policy details → ARN" (the reference URLs are in AWS_MANAGED_POLICIES).
    expect(
      Object.keys(AWS_MANAGED_POLICIES).map((n) => managedPolicyArnOf("aws", n as keyof typeof AWS_MANAGED_POLICIES)),
    ).toEqual([
      "arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2",
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
      "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]);
    for (const policy of Object.values(AWS_MANAGED_POLICIES)) {
      expect(policy.reference).toBe(
        `https://docs.aws.amazon.com/aws-managed-policy/latest/reference/${policy.name}.html`,
      );
    }
  });

  test("no program source spells a managed policy ARN by hand (all go through managed-policies.ts)", () => {
    const root = path.resolve(__dirname, "../..");
    const sources = [
      "index.ts",
      ...["components", "policy", "config"].flatMap((d) =>
        listTs(path.join(root, d)).map((f) => path.relative(root, f)),
      ),
    ];
    const offenders = sources.filter(
      (f) =>
        f !== path.join("components", "aws", "managed-policies.ts") &&
        codeLines(fs.readFileSync(path.join(root, f), "utf8")).some((l) => /iam::aws:policy\//.test(l)),
    );
    expect(offenders).toEqual([]);
  });

  test("IRSA: only the driver's controller service account, audience sts", () => {
    const issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC123";
    const arn = oidcProviderArnFromIssuer("aws", "123456789012", issuer);
    expect(arn).toBe("arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123");
    const doc = JSON.parse(irsaTrustPolicy(arn, issuer));
    expect(doc.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Federated: arn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            "oidc.eks.eu-west-1.amazonaws.com/id/ABC123:aud": "sts.amazonaws.com",
            "oidc.eks.eu-west-1.amazonaws.com/id/ABC123:sub": "system:serviceaccount:kube-system:ebs-csi-controller-sa",
          },
        },
      },
    ]);
    expect(() => oidcProviderArnFromIssuer("aws", "123456789012", "oidc.example")).toThrow(/not an https URL/);
  });

  test("Pod Identity: the pods.eks service may assume and tag", () => {
    expect(JSON.parse(podIdentityTrustPolicy()).Statement[0]).toEqual({
      Effect: "Allow",
      Principal: { Service: "pods.eks.amazonaws.com" },
      Action: ["sts:AssumeRole", "sts:TagSession"],
    });
  });

  test("KMS access is scoped to the one key", () => {
    const key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const stmt = JSON.parse(kmsKeyAccessPolicy(key)).Statement[0];
    expect(stmt.Resource).toBe(key);
    expect(stmt.Action).toEqual(["kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant"]);
  });
});

describe("StorageClass", () => {
  test("prod parameters: type gp3 always, iops and throughput from config, encrypted, ext4; strings in a stable order", () => {
    const params = storageClassParameters(gp3);
    expect(params).toEqual({
      type: "gp3",
      iops: "6000",
      throughput: "250",
      encrypted: "true",
      "csi.storage.k8s.io/fstype": "ext4",
    });
    expect(Object.keys(params)).toEqual(["type", "iops", "throughput", "encrypted", "csi.storage.k8s.io/fstype"]);
    expect(params).not.toHaveProperty("iopsPerGB");
  });

  test("a KMS key and xfs are passed through", () => {
    const key = "arn:aws:kms:eu-west-1:123456789012:key/abc";
    expect(storageClassParameters({ ...gp3, kmsKeyId: key, fsType: "xfs" })).toMatchObject({
      kmsKeyId: key,
      "csi.storage.k8s.io/fstype": "xfs",
    });
  });

  test("prod spec: EBS CSI provisioner, Retain, WaitForFirstConsumer, expansion allowed", () => {
    const spec = storageClassSpec("gp3", gp3);
    expect(spec).toMatchObject({
      metadata: { name: "gp3" },
      provisioner: "ebs.csi.aws.com",
      reclaimPolicy: "Retain",
      volumeBindingMode: "WaitForFirstConsumer",
      allowVolumeExpansion: true,
    });
    expect(storageClassSpec("gp3", { ...gp3, reclaimPolicy: "Delete" }).reclaimPolicy).toBe("Delete");
  });
});

describe("tags", () => {
  test("stack tags, then component extras, then project and stack, sorted", () => {
    const tags = awsResourceTags(
      "ducklake-pgmq",
      "prod",
      { team: "data-platform", stack: "spoofed" },
      { team: "db", role: "postgres" },
    );
    expect(tags).toEqual({ project: "ducklake-pgmq", role: "postgres", stack: "prod", team: "db" });
    expect(Object.keys(tags)).toEqual(["project", "role", "stack", "team"]);
  });

  test("more than 50 tags is refused", () => {
    const many = Object.fromEntries(Array.from({ length: 49 }, (_, i) => [`k${i}`, "v"]));
    expect(() => awsResourceTags("p", "s", many)).toThrow(/at most 50 tags.*51/);
    expect(Object.keys(awsResourceTags("p", "s", Object.fromEntries(Object.entries(many).slice(1))))).toHaveLength(50);
  });
});

describe("argument checks (before any resource)", () => {
  test("prod arguments are valid", () => {
    expect(ssdNodeGroupArgProblems({ subnetIds: ["subnet-1"], nodes })).toEqual([]);
    // No subnetIds: the cluster's own subnets (read from EKS), not a problem.
    expect(ssdNodeGroupArgProblems({ nodes })).toEqual([]);
    expect(gp3StorageClassArgProblems({ storageClassName: "gp3", gp3 })).toEqual([]);
  });

  test("node group: no subnets, inverted scaling and a gp3 ratio are all reported", () => {
    const problems = ssdNodeGroupArgProblems({
      subnetIds: [],
      nodes: {
        ...nodes,
        scaling: { minSize: 3, desiredSize: 2, maxSize: 4 },
        rootVolume: { ...nodes.rootVolume, throughputMiBps: 1000 },
      },
    });
    expect(problems).toEqual([
      "subnetIds: needs at least one subnet",
      "nodes.scaling: needs 1 <= minSize <= desiredSize <= maxSize (got 3, 2, 4)",
      expect.stringMatching(
        /^nodes\.rootVolume\.throughputMiBps: throughput 1000 MiB\/s exceeds 0\.25 MiB\/s per provisioned IOPS \(3000 IOPS allow at most 750 MiB\/s\)/,
      ),
    ]);
  });

  test("storage class: bad name, IOPS below the seed's 3,000, OIDC provider with Pod Identity", () => {
    const problems = gp3StorageClassArgProblems({
      storageClassName: "GP3_fast",
      gp3: { ...gp3, iops: 2000, throughputMiBps: 125, csiDriverIdentity: "pod-identity" },
      oidcProviderArn: "arn:aws:iam::123456789012:oidc-provider/x",
    });
    expect(problems).toEqual([
      'storageClassName: "GP3_fast" is not a DNS-1123 label',
      "gp3.iops: must be >= 3000 IOPS (gp3 floor and the seed's SSD minimum)",
      "oidcProviderArn: only used with csiDriverIdentity irsa, but csiDriverIdentity is pod-identity",
    ]);
  });
});

/** Every `.ts` file under a directory. */
function listTs(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listTs(p) : e.name.endsWith(".ts") ? [p] : [];
  });
}

/** The lines of a TypeScript source that are not comments (TSDoc may quote ARNs). */
function codeLines(text: string): string[] {
  return text.split("\n").filter((l) => !/^\s*(\/\*\*?|\*|\/\/)/.test(l));
}
