/**
 * The S3 side of Loki on EKS: the bucket's name prefix, the IRSA trust policy of Loki's role and the
 * role's bucket permissions. Pure JSON builders; the Logging component creates the resources.
 *
 * IRSA: https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html (the
 * trust policy pins the OIDC provider, the `sub` = `system:serviceaccount:<ns>:<sa>` and the `aud` =
 * `sts.amazonaws.com`). Loki's S3 permissions: https://grafana.com/docs/loki/latest/configure/storage/
 * (ListBucket, PutObject, GetObject, DeleteObject).
 */

import { irsaTrustPolicy } from "../aws/gp3-storage";
import { bucketNamePrefix, MAX_BUCKET_PREFIX_LENGTH } from "../aws/s3-names";

export { MAX_BUCKET_PREFIX_LENGTH };

/**
 * Name prefix of the bucket when the config names none: `<project>-<stack>-loki-` (`bucketNamePrefix`).
 * @param project Pulumi project name.
 * @param stack Pulumi stack name.
 */
export function lokiBucketPrefix(project: string, stack: string): string {
  return bucketNamePrefix(project, stack, "loki");
}

/**
 * Trust policy letting exactly one service account assume the role through the cluster's OIDC provider.
 * @param oidcProviderArn `arn:aws:iam::<account>:oidc-provider/oidc.eks.<region>.amazonaws.com/id/<id>`.
 * @param oidcIssuerUrl the cluster's issuer, with or without `https://`.
 * @param namespace namespace of the service account.
 * @param serviceAccount service account name.
 * @returns the policy document as JSON text.
 */
export function lokiIrsaTrustPolicy(
  oidcProviderArn: string,
  oidcIssuerUrl: string,
  namespace: string,
  serviceAccount: string,
): string {
  return irsaTrustPolicy(oidcProviderArn, oidcIssuerUrl, { namespace, name: serviceAccount });
}

/**
 * Permissions of Loki's role on its bucket and nothing else.
 * @param bucketArn `arn:aws:s3:::<bucket>`.
 * @returns the policy document as JSON text.
 */
export function lokiBucketAccessPolicy(bucketArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucketArn] },
      {
        Sid: "ReadWriteObjects",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
        Resource: [`${bucketArn}/*`],
      },
    ],
  });
}
