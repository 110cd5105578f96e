/**
 * `SsdNodeGroup`: the dedicated Postgres nodes of the prod (EKS) stack.
 *
 * An EKS managed node group in an existing cluster, launched from a launch template that gives each
 * node a gp3 root volume (size, IOPS, throughput, encryption) and requires IMDSv2; an IAM role with the
 * standard worker policies (or an existing role); labels and a taint that reserve the nodes for
 * Postgres. The disk size lives only in the launch template: "If you specify launchTemplate, then don't
 * specify diskSize, or the node group deployment will fail" (EKS API `CreateNodegroup.diskSize`,
 * https://docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html). The instance types
 * live only in the node group (the launch template sets none), as that page also requires.
 *
 * Decisions are pure functions below (block device mapping, metadata options, taints and tolerations,
 * IAM documents, argument checks); the class only wires resources.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { NodesConfig } from "../../config/nodes";
import { RootVolumeSchema } from "../../config/nodes";
import { awsResourceTags } from "./tags";
import type { AwsManagedPolicyName } from "./managed-policies";
import { managedPolicyArn } from "./managed-policies";
import { kubernetesToleration, type EksTaint, type KubernetesToleration } from "../placement";

/** Arguments of `SsdNodeGroup`. */
export interface SsdNodeGroupArgs {
  /** Name of the existing EKS cluster (`ducklake:cluster.name`). */
  readonly clusterName: pulumi.Input<string>;
  /**
   * Subnet IDs the nodes run in (`ducklake:cluster.subnetIds`); at least one, spread across AZs for HA.
   * When absent, the cluster's own subnets: `vpcConfig.subnetIds` of `aws.eks.getClusterOutput`, the
   * default pulumi-eks uses for a managed node group without subnetIds (pulumi/pulumi-eks
   * nodejs/eks/nodes/nodegroup.ts, "Compute the node group subnets to use": `args.subnetIds`, else the
   * cluster's `subnetIds`).
   */
  readonly subnetIds?: pulumi.Input<string>[];
  /** The parsed `ducklake:nodes` section: instance types, AMI type, scaling, gp3 root volume, labels, taint, role, tags. */
  readonly nodes: NodesConfig;
  /** Stack-wide AWS tags (`ducklake:tags`); `nodes.tags`, `project` and `stack` are added. */
  readonly tags: Record<string, string>;
}

/**
 * Root device name per AMI type. Amazon Linux 2023 EKS AMIs boot from `/dev/xvda`; a mapping under any
 * other name would add a second, unused volume and leave the root at the AMI's default (gp2/gp3 20 GiB).
 * Source: EKS user guide, "Customize managed nodes with launch templates"
 * (https://docs.aws.amazon.com/eks/latest/userguide/launch-templates.html).
 */
export const ROOT_DEVICE_NAME: Readonly<Record<NodesConfig["amiType"], string>> = {
  AL2023_x86_64_STANDARD: "/dev/xvda",
  AL2023_ARM_64_STANDARD: "/dev/xvda",
};

/** One entry of `aws.ec2.LaunchTemplate` `blockDeviceMappings` (EC2 spells booleans as strings here). */
export interface RootBlockDeviceMapping {
  readonly deviceName: string;
  readonly ebs: {
    readonly volumeSize: number;
    readonly volumeType: "gp3";
    readonly iops: number;
    readonly throughput: number;
    readonly encrypted: "true" | "false";
    readonly kmsKeyId?: string;
    readonly deleteOnTermination: "true";
  };
}

/**
 * The launch template's block device mapping: one gp3 root volume.
 * @param rootVolume `ducklake:nodes.rootVolume` (size GiB, IOPS, throughput MiB/s, encryption, KMS key).
 * @param amiType `ducklake:nodes.amiType`; picks the root device name (`ROOT_DEVICE_NAME`).
 * @returns `[{ deviceName, ebs: { volumeSize, volumeType: "gp3", iops, throughput, encrypted, kmsKeyId?, deleteOnTermination: "true" } }]`.
 *   The root volume is deleted with its node: Postgres data lives on CSI volumes, never on the root disk.
 */
export function rootBlockDeviceMappings(
  rootVolume: NodesConfig["rootVolume"],
  amiType: NodesConfig["amiType"],
): RootBlockDeviceMapping[] {
  return [
    {
      deviceName: ROOT_DEVICE_NAME[amiType],
      ebs: {
        volumeSize: rootVolume.sizeGiB,
        volumeType: "gp3",
        iops: rootVolume.iops,
        throughput: rootVolume.throughputMiBps,
        encrypted: rootVolume.encrypted ? "true" : "false",
        ...(rootVolume.kmsKeyId !== undefined ? { kmsKeyId: rootVolume.kmsKeyId } : {}),
        deleteOnTermination: "true",
      },
    },
  ];
}

/**
 * Instance metadata options of the nodes: IMDSv2 required (`httpTokens: "required"`), hop limit 2.
 * A container needs a hop limit of at least 2 to reach IMDSv2, and the EBS CSI node driver reads its
 * instance's metadata from a container; with 1 it falls back to Kubernetes metadata and assumes a
 * single attached volume when counting attachment slots. (EKS's security guide prefers 1 to keep pods
 * away from the node role's credentials; this node role holds only the worker policies.) Sources:
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html and
 * https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/install.md#metadata
 */
export const NODE_METADATA_OPTIONS = {
  httpEndpoint: "enabled",
  httpTokens: "required",
  httpPutResponseHopLimit: 2,
} as const;

/**
 * The managed policies the node role gets when the component creates it, by child-name suffix.
 * Source: EKS user guide, "Amazon EKS node IAM role" (https://docs.aws.amazon.com/eks/latest/userguide/create-node-role.html):
 * AmazonEKSWorkerNodePolicy (kubelet, Pod Identity agent), AmazonEC2ContainerRegistryPullOnly (images of
 * the built-in add-ons), AmazonEKS_CNI_Policy (the VPC CNI on these nodes, unless the cluster gives the
 * CNI its own role; supply `nodes.nodeRoleArn` to use a narrower role). Their ARNs: `AWS_MANAGED_POLICIES`.
 */
export const WORKER_NODE_POLICIES: Readonly<Record<string, AwsManagedPolicyName>> = {
  "worker-node": "AmazonEKSWorkerNodePolicy",
  "ecr-pull": "AmazonEC2ContainerRegistryPullOnly",
  cni: "AmazonEKS_CNI_Policy",
};

/** ARN of an AWS managed policy (re-exported from `./managed-policies`, where every policy the program uses is listed with its source). */
export { managedPolicyArn };

/**
 * Trust policy of the node role: EC2 instances may assume it.
 * @param dnsSuffix the partition's DNS suffix (`amazonaws.com`; `amazonaws.com.cn` in China), from `aws.getPartition`.
 * @returns the policy document as JSON text (stable key order).
 */
export function nodeRoleAssumeRolePolicy(dnsSuffix: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: `ec2.${dnsSuffix}` }, Action: "sts:AssumeRole" }],
  });
}

/**
 * Checks the arguments of `SsdNodeGroup` before anything is created: what the config loader checks,
 * again, for callers that build `NodesConfig` by hand.
 * @returns every problem, each naming the field, the value and the rule (empty when valid).
 */
export function ssdNodeGroupArgProblems(args: Pick<SsdNodeGroupArgs, "subnetIds" | "nodes">): string[] {
  const problems: string[] = [];
  const { nodes } = args;
  if (args.subnetIds !== undefined && args.subnetIds.length === 0)
    problems.push("subnetIds: needs at least one subnet");
  if (nodes.instanceTypes.length === 0) problems.push("nodes.instanceTypes: needs at least one EC2 instance type");
  if (!(nodes.amiType in ROOT_DEVICE_NAME)) {
    problems.push(
      `nodes.amiType: ${String(nodes.amiType)} is not supported (one of ${Object.keys(ROOT_DEVICE_NAME).join(", ")})`,
    );
  }
  const { minSize, desiredSize, maxSize } = nodes.scaling;
  if (!(minSize >= 1 && minSize <= desiredSize && desiredSize <= maxSize)) {
    problems.push(
      `nodes.scaling: needs 1 <= minSize <= desiredSize <= maxSize (got ${minSize}, ${desiredSize}, ${maxSize})`,
    );
  }
  const root = RootVolumeSchema.safeParse(nodes.rootVolume);
  if (!root.success) {
    for (const issue of root.error.issues) problems.push(`nodes.rootVolume.${issue.path.join(".")}: ${issue.message}`);
  }
  return problems;
}

/**
 * A dedicated EKS managed node group for Postgres on gp3 root volumes. Type token `ducklake:aws:SsdNodeGroup`.
 *
 * Children: `${name}-role` and `${name}-role-<policy>` (only without `nodes.nodeRoleArn`),
 * `${name}-launch-template`, `${name}-node-group`.
 */
export class SsdNodeGroup extends pulumi.ComponentResource {
  /** Name of the EKS node group (auto-named from `${name}-node-group`). */
  public readonly nodeGroupName: pulumi.Output<string>;
  /** ARN of the node IAM role (created, or `nodes.nodeRoleArn`). */
  public readonly roleArn: pulumi.Output<string>;
  /** Kubernetes labels on every node; Postgres pods select them (node affinity / nodeSelector). */
  public readonly labels: Record<string, string>;
  /** The taint on every node, in EKS spelling. */
  public readonly taint: EksTaint;
  /** The toleration for `taint`, in Kubernetes spelling (give it to the Postgres pods). */
  public readonly toleration: KubernetesToleration;
  /** ID of the launch template. */
  public readonly launchTemplateId: pulumi.Output<string>;
  /** Subnets of the node group: `subnetIds` as given, or the cluster's own (read from EKS). */
  public readonly subnetIds: pulumi.Output<string[]>;

  /**
   * @param name logical name; children are `${name}-<role>`.
   * @param args see `SsdNodeGroupArgs`.
   * @param opts component options (an AWS provider via `providers` if not the default one).
   * @throws pulumi.ResourceError when the arguments break a rule (see `ssdNodeGroupArgProblems`), before any child is created.
   */
  constructor(name: string, args: SsdNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ducklake:aws:SsdNodeGroup", name, {}, opts);
    const problems = ssdNodeGroupArgProblems(args);
    if (problems.length > 0) {
      throw new pulumi.ResourceError(`SsdNodeGroup ${name}: invalid arguments:\n  - ${problems.join("\n  - ")}`, this);
    }
    const { nodes } = args;
    const tags = awsResourceTags(pulumi.getProject(), pulumi.getStack(), args.tags, nodes.tags);
    this.labels = { ...nodes.labels };
    this.taint = { ...nodes.taint };
    this.toleration = kubernetesToleration(nodes.taint);

    const dependencies: pulumi.Resource[] = [];
    if (nodes.nodeRoleArn !== undefined) {
      this.roleArn = pulumi.output(nodes.nodeRoleArn);
    } else {
      const partition = aws.getPartitionOutput({}, { parent: this });
      const role = new aws.iam.Role(
        `${name}-role`,
        {
          description: "Postgres node group: EKS worker nodes",
          assumeRolePolicy: partition.dnsSuffix.apply(nodeRoleAssumeRolePolicy),
          tags,
        },
        { parent: this },
      );
      for (const [suffix, policyName] of Object.entries(WORKER_NODE_POLICIES)) {
        dependencies.push(
          new aws.iam.RolePolicyAttachment(
            `${name}-role-${suffix}`,
            { role: role.name, policyArn: partition.partition.apply((p) => managedPolicyArn(p, policyName)) },
            { parent: this },
          ),
        );
      }
      this.roleArn = role.arn;
    }

    const launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}-launch-template`,
      {
        description: "Postgres node group: gp3 root volume, IMDSv2 required",
        blockDeviceMappings: rootBlockDeviceMappings(nodes.rootVolume, nodes.amiType),
        metadataOptions: NODE_METADATA_OPTIONS,
        // Tag what the node group launches, not just the template.
        tagSpecifications: ["instance", "volume", "network-interface"].map((resourceType) => ({ resourceType, tags })),
        updateDefaultVersion: true,
        tags,
      },
      { parent: this },
    );
    this.launchTemplateId = launchTemplate.id;

    this.subnetIds =
      args.subnetIds !== undefined
        ? pulumi.output(args.subnetIds)
        : aws.eks.getClusterOutput({ name: args.clusterName }, { parent: this }).vpcConfig.apply((vpc) => {
            if (vpc.subnetIds.length === 0)
              throw new Error(
                `SsdNodeGroup ${name}: the EKS cluster reports no subnets; set ducklake:cluster.subnetIds`,
              );
            return [...vpc.subnetIds].sort();
          });

    const nodeGroup = new aws.eks.NodeGroup(
      `${name}-node-group`,
      {
        clusterName: args.clusterName,
        subnetIds: this.subnetIds,
        nodeRoleArn: this.roleArn,
        amiType: nodes.amiType,
        // A database is not a spot workload.
        capacityType: "ON_DEMAND",
        instanceTypes: nodes.instanceTypes,
        scalingConfig: {
          minSize: nodes.scaling.minSize,
          desiredSize: nodes.scaling.desiredSize,
          maxSize: nodes.scaling.maxSize,
        },
        // Replace one node at a time: Postgres instances fail over one by one.
        updateConfig: { maxUnavailable: 1 },
        launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply((v) => String(v)) },
        labels: this.labels,
        taints: [this.taint],
        tags,
      },
      // Nodes cannot join before the role has its policies.
      { parent: this, dependsOn: dependencies },
    );
    this.nodeGroupName = nodeGroup.nodeGroupName;

    this.registerOutputs({
      nodeGroupName: this.nodeGroupName,
      roleArn: this.roleArn,
      labels: this.labels,
      taint: this.taint,
      toleration: this.toleration,
      launchTemplateId: this.launchTemplateId,
      subnetIds: this.subnetIds,
    });
  }
}
