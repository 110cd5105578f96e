/**
 * The EKS cluster's IAM OIDC identity provider (IRSA), looked up only when something in the stack uses it.
 *
 * IRSA ("IAM roles for service accounts") lets a pod assume an IAM role through the cluster's IAM OIDC
 * provider; a cluster has none until one is created for its issuer
 * (https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html).
 * `aws.iam.getOpenIdConnectProvider` fails when there is none
 * (https://www.pulumi.com/registry/packages/aws/api-docs/iam/getopenidconnectprovider/), so the program
 * calls it only for the stack's IRSA users and turns a failure into a message naming them and the fix.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { StackConfig } from "../../config/schema";

/** Something in the stack that needs the cluster's IAM OIDC provider: the config key that asks for it, and what it is. */
export interface IrsaUse {
  /** The config key and value that make it use IRSA, e.g. `ducklake:storage.gp3.csiDriverIdentity: irsa`. */
  readonly key: string;
  /** What assumes a role through it. */
  readonly what: string;
}

/**
 * What in the stack uses IRSA: the EBS CSI driver with `storage.gp3.csiDriverIdentity: irsa` (the default
 * when `storage.gp3` is set), Loki with S3 storage, and Postgres backups or a restore. Empty on kind, and on EKS when nothing does (then the
 * program never looks the provider up).
 * @param config the parsed stack config.
 */
export function irsaUses(config: StackConfig): IrsaUse[] {
  if (config.cluster.provider !== "eks") return [];
  const uses: IrsaUse[] = [];
  if (config.storage.gp3?.csiDriverIdentity === "irsa") {
    uses.push({
      key: "ducklake:storage.gp3.csiDriverIdentity: irsa",
      what: "the EBS CSI driver's controller (kube-system/ebs-csi-controller-sa)",
    });
  }
  if (config.logging.loki.storage.type === "s3") {
    uses.push({ key: "ducklake:logging.loki.storage.type: s3", what: "Loki's S3 access" });
  }
  if (config.postgres.backups.enabled) {
    uses.push({
      key: "ducklake:postgres.backups.enabled: true",
      what: "the Postgres backups' S3 access (Barman Cloud plugin)",
    });
  } else if (config.postgres.recovery !== undefined) {
    uses.push({ key: "ducklake:postgres.recovery", what: "the restore's S3 access (Barman Cloud plugin)" });
  }
  return uses;
}

/**
 * The message when the cluster's IAM OIDC provider is needed but cannot be found.
 * @param clusterName the EKS cluster (`ducklake:cluster.name`).
 * @param issuerUrl its OIDC issuer URL (`""` when EKS reported none).
 * @param uses what needs it (`irsaUses`), non-empty.
 * @param cause the lookup's own error text, if any.
 */
export function missingOidcProviderMessage(
  clusterName: string,
  issuerUrl: string,
  uses: readonly IrsaUse[],
  cause?: string,
): string {
  const issuer = issuerUrl === "" ? "EKS reported no OIDC issuer for it" : `issuer ${issuerUrl}`;
  return [
    `the EKS cluster "${clusterName}" has no IAM OIDC provider (${issuer}), which IRSA needs for:`,
    ...uses.map((u) => `  - ${u.what} (${u.key})`),
    `create it with \`eksctl utils associate-iam-oidc-provider --cluster ${clusterName} --approve\` ` +
      "(https://docs.aws.amazon.com/eks/latest/userguide/enable-iam-roles-for-service-accounts.html), " +
      "or stop using IRSA: `ducklake:storage.gp3.csiDriverIdentity: pod-identity` (needs the eks-pod-identity-agent add-on) " +
      "and `ducklake:logging.loki.storage.type: pvc` (backups have no alternative to IRSA here)",
    ...(cause !== undefined && cause.trim() !== "" ? [`(lookup error: ${cause})`] : []),
  ].join("\n");
}

/**
 * The ARN of the cluster's IAM OIDC provider, through `lookup`; a missing issuer or a failed lookup
 * becomes `missingOidcProviderMessage`. Pure apart from `lookup`, so it is tested without Pulumi.
 * @param clusterName the EKS cluster, for the message.
 * @param issuerUrl the cluster's OIDC issuer URL (`""` when EKS reported none: no lookup then).
 * @param uses what needs the provider, for the message.
 * @param lookup finds the provider by issuer URL (`aws.iam.getOpenIdConnectProvider` in the program); rejects when there is none.
 * @throws Error with `missingOidcProviderMessage`.
 */
export async function findOidcProviderArn(
  clusterName: string,
  issuerUrl: string,
  uses: readonly IrsaUse[],
  lookup: (url: string) => Promise<{ readonly arn: string }>,
): Promise<string> {
  if (issuerUrl === "") throw new Error(missingOidcProviderMessage(clusterName, issuerUrl, uses));
  try {
    return (await lookup(issuerUrl)).arn;
  } catch (err) {
    throw new Error(
      missingOidcProviderMessage(clusterName, issuerUrl, uses, err instanceof Error ? err.message : String(err)),
    );
  }
}

/**
 * Looks up the ARN of the cluster's IAM OIDC provider by its issuer URL with
 * `aws.iam.getOpenIdConnectProvider` (`findOidcProviderArn`): the Output fails, and with it the
 * preview, with `missingOidcProviderMessage` when EKS reports no issuer or IAM has no provider for it.
 * Call it only when `irsaUses(config)` is non-empty.
 * @param clusterName the EKS cluster, for the message.
 * @param issuerUrl the cluster's OIDC issuer URL (from `aws.eks.getCluster`; `""` when absent).
 * @param uses what needs the provider, for the message.
 * @param opts invoke options (the AWS provider).
 */
export function lookUpOidcProviderArn(
  clusterName: string,
  issuerUrl: pulumi.Input<string>,
  uses: readonly IrsaUse[],
  opts?: pulumi.InvokeOptions,
): pulumi.Output<string> {
  return pulumi
    .output(issuerUrl)
    .apply((url) =>
      findOidcProviderArn(clusterName, url, uses, (u) => aws.iam.getOpenIdConnectProvider({ url: u }, opts)),
    );
}
