/**
 * `Gp3StorageClass`: the prod (EKS) stack's storage for Postgres and Loki volumes.
 *
 * The Amazon EBS CSI driver as an EKS add-on, with its IAM role (IRSA or EKS Pod Identity), and a
 * StorageClass that provisions gp3 volumes with the configured IOPS, throughput and encryption.
 *
 * Sources:
 * - StorageClass parameters: https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/parameters.md
 * - Driver IAM (managed policy, IRSA, Pod Identity, KMS): https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/install.md
 * - The managed policy's ARN: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEBSCSIDriverPolicyV2.html
 * - EKS add-on: https://docs.aws.amazon.com/eks/latest/userguide/managing-ebs-csi.html
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { Gp3StorageClassConfig } from "../../config/storage";
import { Gp3StorageClassSchema } from "../../config/storage";
import { awsResourceTags } from "./tags";
import type { AwsManagedPolicyName } from "./managed-policies";
import { managedPolicyArn } from "./managed-policies";

/** Arguments of `Gp3StorageClass`. The Kubernetes provider of the EKS cluster comes through `opts.providers`. */
export interface Gp3StorageClassArgs {
  /** Name of the existing EKS cluster (`ducklake:cluster.name`); the add-on is installed there. */
  readonly clusterName: pulumi.Input<string>;
  /** Name of the StorageClass to create (`ducklake:storage.className`, e.g. `gp3`); a DNS-1123 label. */
  readonly storageClassName: string;
  /** The parsed `ducklake:storage.gp3` section: IOPS, throughput MiB/s, encryption, fsType, reclaim policy, add-on version, driver identity. */
  readonly gp3: Gp3StorageClassConfig;
  /** Stack-wide AWS tags (`ducklake:tags`); `project` and `stack` are added. */
  readonly tags: Record<string, string>;
  /**
   * IRSA only: ARN of the cluster's IAM OIDC provider. Defaults to
   * `arn:<partition>:iam::<account>:oidc-provider/<issuer without https://>`, the issuer read with
   * `aws.eks.getCluster`. Must not be set with `gp3.csiDriverIdentity: pod-identity`.
   */
  readonly oidcProviderArn?: pulumi.Input<string>;
}

/** CSI driver name, the StorageClass `provisioner`. */
export const EBS_CSI_PROVISIONER = "ebs.csi.aws.com";
/** Name of the EKS add-on of the EBS CSI driver. */
export const EBS_CSI_ADDON_NAME = "aws-ebs-csi-driver";
/** The driver's controller service account (the add-on installs it in `kube-system`); the IAM role is bound to it. */
export const EBS_CSI_CONTROLLER_SERVICE_ACCOUNT = { namespace: "kube-system", name: "ebs-csi-controller-sa" } as const;
/**
 * AWS managed policy of the driver (scoped to volumes tagged `ebs.csi.aws.com/cluster: true`, which the driver
 * sets on what it creates). Its ARN is `arn:<partition>:iam::aws:policy/AmazonEBSCSIDriverPolicyV2`, without
 * `service-role/` (only V1 is under that path).
 * Source: https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonEBSCSIDriverPolicyV2.html
 */
export const EBS_CSI_DRIVER_POLICY = "AmazonEBSCSIDriverPolicyV2" satisfies AwsManagedPolicyName;

/**
 * ARN of the driver role's managed policy.
 * @param partition `aws`, `aws-cn` or `aws-us-gov` (from `aws.getPartition`).
 * @returns e.g. `arn:aws:iam::aws:policy/AmazonEBSCSIDriverPolicyV2`.
 */
export function ebsCsiDriverPolicyArn(partition: string): string {
  return managedPolicyArn(partition, EBS_CSI_DRIVER_POLICY);
}

/**
 * The StorageClass `parameters` map of the EBS CSI driver, in a stable key order.
 *
 * `type: gp3` is always set (the driver only honours `iops` and `throughput` for gp3 volumes). IOPS are
 * fixed per volume with `iops`, never `iopsPerGB`: the seed asks for a floor of 3,000 IOPS whatever the
 * claim's size, and the two parameters are mutually exclusive. Values are strings, as Kubernetes
 * requires. The driver silently caps `iops` at 500 per GiB of the claim, so the config loader refuses
 * claims too small for the configured IOPS.
 * @param gp3 `ducklake:storage.gp3`.
 * @returns `{ type, iops, throughput, encrypted, kmsKeyId?, "csi.storage.k8s.io/fstype" }`.
 */
export function storageClassParameters(gp3: Gp3StorageClassConfig): Record<string, string> {
  return {
    type: "gp3",
    iops: String(gp3.iops),
    throughput: String(gp3.throughputMiBps),
    encrypted: gp3.encrypted ? "true" : "false",
    ...(gp3.kmsKeyId !== undefined ? { kmsKeyId: gp3.kmsKeyId } : {}),
    "csi.storage.k8s.io/fstype": gp3.fsType,
  };
}

/** The StorageClass fields this component sets (Kubernetes `storage.k8s.io/v1` spelling). */
export interface Gp3StorageClassSpec {
  readonly metadata: { readonly name: string; readonly labels: Record<string, string> };
  readonly provisioner: string;
  readonly parameters: Record<string, string>;
  readonly reclaimPolicy: "Retain" | "Delete";
  readonly volumeBindingMode: "WaitForFirstConsumer";
  readonly allowVolumeExpansion: true;
}

/**
 * The StorageClass: gp3 parameters, the configured reclaim policy (`Retain` by default: deleting a claim
 * never deletes data), `WaitForFirstConsumer` (the volume is created in the AZ of the node the pod lands
 * on; the driver recommends it), and volume expansion allowed (a full Postgres volume can be grown in place).
 * @param storageClassName the class name.
 * @param gp3 `ducklake:storage.gp3`.
 */
export function storageClassSpec(storageClassName: string, gp3: Gp3StorageClassConfig): Gp3StorageClassSpec {
  return {
    metadata: {
      name: storageClassName,
      labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "ducklake-pgmq" },
    },
    provisioner: EBS_CSI_PROVISIONER,
    parameters: storageClassParameters(gp3),
    reclaimPolicy: gp3.reclaimPolicy,
    volumeBindingMode: "WaitForFirstConsumer",
    allowVolumeExpansion: true,
  };
}

/**
 * ARN of a cluster's IAM OIDC identity provider, from its issuer URL.
 * @param partition e.g. `aws`.
 * @param accountId 12-digit account ID.
 * @param issuerUrl `https://oidc.eks.<region>.amazonaws.com/id/<ID>` (EKS `identity.oidc.issuer`).
 * @throws Error when the issuer is not an https URL.
 */
export function oidcProviderArnFromIssuer(partition: string, accountId: string, issuerUrl: string): string {
  if (!issuerUrl.startsWith("https://")) throw new Error(`OIDC issuer "${issuerUrl}" is not an https URL`);
  return `arn:${partition}:iam::${accountId}:oidc-provider/${issuerUrl.slice("https://".length)}`;
}

/**
 * IRSA trust policy: the given Kubernetes service accounts (one, usually) may assume the role through the cluster's
 * IAM OIDC provider, with audience `sts.amazonaws.com`; a `StringEquals` condition with a list matches any of them.
 * Source: https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html
 * @param oidcProviderArn the cluster's IAM OIDC provider ARN.
 * @param issuerUrl the cluster's OIDC issuer URL, with or without `https://` (its host and path prefix the condition keys).
 * @param serviceAccount the service account, or several; defaults to the EBS CSI controller's
 *   (`system:serviceaccount:kube-system:ebs-csi-controller-sa`).
 * @returns the policy document as JSON text.
 */
export function irsaTrustPolicy(
  oidcProviderArn: string,
  issuerUrl: string,
  serviceAccount:
    | { readonly namespace: string; readonly name: string }
    | ReadonlyArray<{ readonly namespace: string; readonly name: string }> = EBS_CSI_CONTROLLER_SERVICE_ACCOUNT,
): string {
  const issuer = issuerUrl.replace(/^https:\/\//, "");
  const accounts = Array.isArray(serviceAccount) ? serviceAccount : [serviceAccount];
  const subjects = [...new Set(accounts.map((a) => `system:serviceaccount:${a.namespace}:${a.name}`))];
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${issuer}:aud`]: "sts.amazonaws.com",
            [`${issuer}:sub`]: subjects.length === 1 ? subjects[0] : subjects,
          },
        },
      },
    ],
  });
}

/**
 * EKS Pod Identity trust policy of the driver role (the Pod Identity agent assumes it and tags the session).
 * Source: https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html
 * @returns the policy document as JSON text.
 */
export function podIdentityTrustPolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "pods.eks.amazonaws.com" },
        Action: ["sts:AssumeRole", "sts:TagSession"],
      },
    ],
  });
}

/**
 * Inline policy letting the driver use a customer-managed KMS key for encrypted volumes (the managed
 * policy grants no KMS access). Source: the driver's install guide, "Encrypted EBS Volumes via KMS".
 * @param kmsKeyArn full ARN of the key.
 * @returns the policy document as JSON text.
 */
export function kmsKeyAccessPolicy(kmsKeyArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: ["kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext", "kms:CreateGrant"],
        Resource: kmsKeyArn,
      },
    ],
  });
}

/**
 * Checks the arguments of `Gp3StorageClass` before anything is created (the loader's gp3 rules again,
 * for callers that build the config by hand, plus argument combinations).
 * @returns every problem, naming the field, the value and the rule (empty when valid).
 */
export function gp3StorageClassArgProblems(
  args: Pick<Gp3StorageClassArgs, "storageClassName" | "gp3" | "oidcProviderArn">,
): string[] {
  const problems: string[] = [];
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(args.storageClassName) || args.storageClassName.length > 63) {
    problems.push(`storageClassName: "${args.storageClassName}" is not a DNS-1123 label`);
  }
  const parsed = Gp3StorageClassSchema.safeParse(args.gp3);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`gp3.${issue.path.join(".")}: ${issue.message}`);
  }
  if (args.gp3.csiDriverIdentity === "pod-identity" && args.oidcProviderArn !== undefined) {
    problems.push("oidcProviderArn: only used with csiDriverIdentity irsa, but csiDriverIdentity is pod-identity");
  }
  return problems;
}

/**
 * The EBS CSI driver add-on, its IAM role and a gp3 StorageClass. Type token `ducklake:aws:Gp3StorageClass`.
 *
 * Children: `${name}-driver-role`, `${name}-driver-policy`, `${name}-driver-kms` (only with a KMS key),
 * `${name}-addon`, `${name}-class` (created with the Kubernetes provider from `opts.providers`).
 */
export class Gp3StorageClass extends pulumi.ComponentResource {
  /** Name of the StorageClass (give it to the Postgres and Loki volume claims). */
  public readonly storageClassName: pulumi.Output<string>;
  /** Name of the EKS add-on (`aws-ebs-csi-driver`). */
  public readonly addonName: pulumi.Output<string>;
  /** ARN of the driver's IAM role. */
  public readonly driverRoleArn: pulumi.Output<string>;

  /**
   * @param name logical name; children are `${name}-<role>`.
   * @param args see `Gp3StorageClassArgs`.
   * @param opts component options; `providers` must carry the EKS cluster's Kubernetes provider (and the AWS one if not default).
   * @throws pulumi.ResourceError when the arguments break a rule (see `gp3StorageClassArgProblems`), before any child is created.
   */
  constructor(name: string, args: Gp3StorageClassArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ducklake:aws:Gp3StorageClass", name, {}, opts);
    const problems = gp3StorageClassArgProblems(args);
    if (problems.length > 0) {
      throw new pulumi.ResourceError(
        `Gp3StorageClass ${name}: invalid arguments:\n  - ${problems.join("\n  - ")}`,
        this,
      );
    }
    const { gp3 } = args;
    const tags = awsResourceTags(pulumi.getProject(), pulumi.getStack(), args.tags);
    const partition = aws.getPartitionOutput({}, { parent: this });
    const irsa = gp3.csiDriverIdentity === "irsa";

    let trustPolicy: pulumi.Output<string>;
    if (irsa) {
      const cluster = aws.eks.getClusterOutput({ name: args.clusterName }, { parent: this });
      const issuer = cluster.identities.apply((ids) => {
        const url = ids[0]?.oidcs[0]?.issuer;
        if (url === undefined)
          throw new Error("the EKS cluster has no OIDC issuer (needed for IRSA); use csiDriverIdentity: pod-identity");
        return url;
      });
      const providerArn =
        args.oidcProviderArn !== undefined
          ? pulumi.output(args.oidcProviderArn)
          : pulumi
              .all([partition.partition, aws.getCallerIdentityOutput({}, { parent: this }).accountId, issuer])
              .apply(([p, account, url]) => oidcProviderArnFromIssuer(p, account, url));
      trustPolicy = pulumi.all([providerArn, issuer]).apply(([arn, url]) => irsaTrustPolicy(arn, url));
    } else {
      trustPolicy = pulumi.output(podIdentityTrustPolicy());
    }

    const role = new aws.iam.Role(
      `${name}-driver-role`,
      {
        description: "EBS CSI driver controller (gp3 volumes of the Postgres stack)",
        assumeRolePolicy: trustPolicy,
        tags,
      },
      { parent: this },
    );
    const rolePolicies: pulumi.Resource[] = [
      new aws.iam.RolePolicyAttachment(
        `${name}-driver-policy`,
        { role: role.name, policyArn: partition.partition.apply(ebsCsiDriverPolicyArn) },
        { parent: this },
      ),
    ];
    if (gp3.kmsKeyId !== undefined) {
      rolePolicies.push(
        new aws.iam.RolePolicy(
          `${name}-driver-kms`,
          { role: role.name, policy: kmsKeyAccessPolicy(gp3.kmsKeyId) },
          { parent: this },
        ),
      );
    }

    const addon = new aws.eks.Addon(
      `${name}-addon`,
      {
        clusterName: args.clusterName,
        addonName: EBS_CSI_ADDON_NAME,
        addonVersion: gp3.csiDriverAddonVersion,
        serviceAccountRoleArn: irsa ? role.arn : undefined,
        podIdentityAssociations: irsa
          ? undefined
          : [{ roleArn: role.arn, serviceAccount: EBS_CSI_CONTROLLER_SERVICE_ACCOUNT.name }],
        // The add-on's settings are the program's: overwrite drift on create and update.
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
        tags,
      },
      { parent: this, dependsOn: rolePolicies },
    );

    const spec = storageClassSpec(args.storageClassName, gp3);
    const storageClass = new k8s.storage.v1.StorageClass(
      `${name}-class`,
      { ...spec, metadata: { ...spec.metadata } },
      // Parameters are immutable and the name is fixed: a change replaces the class (existing volumes keep theirs).
      { parent: this, dependsOn: [addon], deleteBeforeReplace: true },
    );

    this.storageClassName = storageClass.metadata.name;
    this.addonName = addon.addonName;
    this.driverRoleArn = role.arn;
    this.registerOutputs({
      storageClassName: this.storageClassName,
      addonName: this.addonName,
      driverRoleArn: this.driverRoleArn,
    });
  }
}
