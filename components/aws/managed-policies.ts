/**
 * The AWS managed IAM policies the program attaches, with the path AWS publishes for each.
 *
 * An AWS managed policy's ARN is `arn:<partition>:iam::aws:policy/<path><name>`; the path is part of
 * the ARN, and an attachment to an ARN that does not exist fails. Each entry below was checked against
 * the policy's page in the AWS Managed Policy Reference Guide
 * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/), whose "Policy details" give the ARN.
 */

/** One AWS managed policy: its name, its IAM path (`""` or `service-role/`) and the reference page that gives its ARN. */
export interface AwsManagedPolicy {
  readonly name: string;
  /** IAM path between `policy/` and the name, with its trailing slash; `""` for policies at the root. */
  readonly path: "" | "service-role/";
  /** The AWS Managed Policy Reference Guide page whose "Policy details" give the ARN. */
  readonly reference: string;
}

const REFERENCE = "https://docs.aws.amazon.com/aws-managed-policy/latest/reference";

/**
 * Every AWS managed policy the program uses, by name.
 *
 * - `AmazonEBSCSIDriverPolicyV2`: `arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2`, at the root, not under
 *   `service-role/` (only the V1 policy, `AmazonEBSCSIDriverPolicy`, lives at
 *   `arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy`). V2 was created 2026-04-16; it limits the
 *   driver to volumes and snapshots tagged `ebs.csi.aws.com/cluster: true` (and CSI-migrated in-tree volumes
 *   through `kubernetes.io/created-for/pvc/name`).
 * - `AmazonEKSWorkerNodePolicy`, `AmazonEC2ContainerRegistryPullOnly`, `AmazonEKS_CNI_Policy`: at the root.
 *
 * Sources (each page's "Policy details → ARN"):
 * - https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEBSCSIDriverPolicyV2.html
 * - https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEBSCSIDriverPolicy.html (V1, for the path)
 * - https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKSWorkerNodePolicy.html
 * - https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEC2ContainerRegistryPullOnly.html
 * - https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEKS_CNI_Policy.html
 *
 * The reference gives ARNs in the `aws` partition; the same path is assumed in `aws-cn` and `aws-us-gov`.
 */
export const AWS_MANAGED_POLICIES = {
  AmazonEBSCSIDriverPolicyV2: {
    name: "AmazonEBSCSIDriverPolicyV2",
    path: "",
    reference: `${REFERENCE}/AmazonEBSCSIDriverPolicyV2.html`,
  },
  AmazonEKSWorkerNodePolicy: {
    name: "AmazonEKSWorkerNodePolicy",
    path: "",
    reference: `${REFERENCE}/AmazonEKSWorkerNodePolicy.html`,
  },
  AmazonEC2ContainerRegistryPullOnly: {
    name: "AmazonEC2ContainerRegistryPullOnly",
    path: "",
    reference: `${REFERENCE}/AmazonEC2ContainerRegistryPullOnly.html`,
  },
  AmazonEKS_CNI_Policy: { name: "AmazonEKS_CNI_Policy", path: "", reference: `${REFERENCE}/AmazonEKS_CNI_Policy.html` },
} as const satisfies Readonly<Record<string, AwsManagedPolicy>>;

/** Name of an AWS managed policy the program uses. */
export type AwsManagedPolicyName = keyof typeof AWS_MANAGED_POLICIES;

/**
 * ARN of an AWS managed policy the program uses, with its published path.
 * @param partition `aws`, `aws-cn` or `aws-us-gov` (from `aws.getPartition`).
 * @param policyName a key of `AWS_MANAGED_POLICIES`, e.g. `AmazonEKSWorkerNodePolicy`.
 * @returns e.g. `arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2`.
 */
export function managedPolicyArn(partition: string, policyName: AwsManagedPolicyName): string {
  const policy: AwsManagedPolicy = AWS_MANAGED_POLICIES[policyName];
  return `arn:${partition}:iam::aws:policy/${policy.path}${policy.name}`;
}
