/**
 * `BackupStorage`: the S3 bucket of the Postgres WAL archive and base backups, and the IRSA role barman-cloud
 * assumes to use it (and to read a restore source). Decisions (lifecycle, policies, chart values) are pure
 * functions in ../postgres/backups.ts; this class only wires resources.
 *
 * The bucket: SSE-S3 encryption by default, every kind of public access blocked, versioning on (the plugin docs'
 * first advice for backup buckets: web/docs/object_stores.md, "S3 Lifecycle Policy"), the lifecycle of
 * `backupLifecycle`, `forceDestroy: false` so `pulumi destroy` stops at a bucket holding backups instead of
 * deleting them. The role: trust limited to the cluster's ServiceAccount, an inline policy limited to the bucket.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { BackupsConfig, RecoveryConfig } from "../../config/backups";
import { backupAccessPolicy, backupLifecycle, backupTrustPolicy, type BackupDestination } from "../postgres/backups";
import { bucketNamePrefix } from "./s3-names";

/** Arguments of `BackupStorage`. */
export interface BackupStorageArgs {
  /** `postgres.backups`: the bucket exists only when `enabled`. */
  readonly backups: BackupsConfig;
  /** `postgres.recovery`, when the cluster is restored: the role may read its bucket. */
  readonly recovery?: RecoveryConfig;
  /** The region of the bucket (`cluster.region`). */
  readonly region: string;
  /** Namespace of the Postgres cluster (`postgres.namespace`): its ServiceAccount lives there. */
  readonly namespace: string;
  /** Name of the Postgres cluster (`postgres.clusterName`): CloudNativePG names its ServiceAccount after it, and that assumes the role. */
  readonly clusterName: string;
  /** ARN of the EKS cluster's IAM OIDC provider (`lookUpOidcProviderArn`, ./oidc.ts): the role's federated principal. */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** The EKS cluster's OIDC issuer URL, with or without `https://`: prefixes the trust policy's condition keys. */
  readonly oidcIssuerUrl: pulumi.Input<string>;
  /** Pulumi project, for the generated bucket name (`<project>-<stack>-pgbackup-`) and the role's description. */
  readonly project: string;
  /** Pulumi stack, likewise. */
  readonly stack: string;
  /** Tags of every AWS resource (`ducklake:tags`). */
  readonly tags?: Readonly<Record<string, string>>;
}

/** The backup bucket (when backups are on) and the IRSA role of the Postgres cluster's ServiceAccount. */
export class BackupStorage extends pulumi.ComponentResource {
  /** The bucket's name (backups on), else undefined. */
  public readonly bucketName?: pulumi.Output<string>;
  /** ARN of the role the cluster's ServiceAccount assumes. */
  public readonly roleArn: pulumi.Output<string>;
  /** What the cluster chart's values need: bucket, region, role. Resolves once the bucket's settings and the role's policy exist. */
  public readonly destination: pulumi.Output<BackupDestination>;

  /**
   * @param name logical name; children are `${name}-<role>`.
   * @param args see `BackupStorageArgs`.
   * @param opts component options (the AWS provider).
   */
  constructor(name: string, args: BackupStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ducklake:aws:BackupStorage", name, {}, opts);
    const child = { parent: this };
    const tags = { ...(args.tags ?? {}) };
    const settled: pulumi.Resource[] = [];

    let bucket: aws.s3.Bucket | undefined;
    if (args.backups.enabled) {
      bucket = new aws.s3.Bucket(
        `${name}-bucket`,
        {
          bucket: args.backups.bucketName,
          bucketPrefix:
            args.backups.bucketName === undefined ? bucketNamePrefix(args.project, args.stack, "pgbackup") : undefined,
          forceDestroy: false, // backups are the last copy of the queue: destroy stops at a non-empty bucket
          tags,
        },
        child,
      );
      const versioning = new aws.s3.BucketVersioning(
        `${name}-bucket-versioning`,
        { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
        child,
      );
      const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-bucket-encryption`,
        { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
        child,
      );
      const publicAccess = new aws.s3.BucketPublicAccessBlock(
        `${name}-bucket-public-access`,
        {
          bucket: bucket.id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
        child,
      );
      const life = backupLifecycle(args.backups);
      const lifecycle = new aws.s3.BucketLifecycleConfiguration(
        `${name}-bucket-lifecycle`,
        {
          bucket: bucket.id,
          rules: [
            {
              id: "expire-after-recovery-window",
              status: "Enabled",
              filter: {},
              expiration: { days: life.currentExpirationDays },
              noncurrentVersionExpiration: { noncurrentDays: life.noncurrentExpirationDays },
              abortIncompleteMultipartUpload: { daysAfterInitiation: life.abortIncompleteUploadDays },
            },
          ],
        },
        // Lifecycle rules on a versioned bucket: versioning first (the noncurrent rule needs it).
        { ...child, dependsOn: [versioning] },
      );
      settled.push(versioning, encryption, publicAccess, lifecycle);
    }

    const role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `Postgres backups of ${args.project}/${args.stack}: barman-cloud in ${args.namespace}/${args.clusterName} (IRSA)`,
        assumeRolePolicy: pulumi.all([args.oidcProviderArn, args.oidcIssuerUrl]).apply(([arn, issuer]) =>
          backupTrustPolicy(arn, issuer, args.namespace, [
            args.clusterName,
            // during a restore the source cluster keeps archiving until Pulumi deletes it
            ...(args.recovery !== undefined ? [args.recovery.sourceClusterName] : []),
          ]),
        ),
        tags,
      },
      child,
    );
    const recoveryBucketArn =
      args.recovery?.bucketName === undefined ? undefined : `arn:aws:s3:::${args.recovery.bucketName}`;
    const policy = new aws.iam.RolePolicy(
      `${name}-s3-access`,
      {
        role: role.id,
        policy:
          bucket === undefined
            ? backupAccessPolicy(undefined, recoveryBucketArn)
            : bucket.arn.apply((arn) => backupAccessPolicy(arn, recoveryBucketArn)),
      },
      child,
    );
    settled.push(policy);

    this.bucketName = bucket?.bucket;
    this.roleArn = role.arn;
    // Consumers (the cluster release) wait for the bucket's settings and the role's permissions, not only the names.
    this.destination = pulumi
      .all([bucket?.bucket, role.arn, ...settled.map((r) => (r as pulumi.CustomResource).urn)])
      .apply(([bucketName, roleArn]) => ({
        ...(bucketName === undefined ? {} : { bucketName: bucketName as string }),
        region: args.region,
        roleArn: roleArn as string,
      }));
    this.registerOutputs({ bucketName: this.bucketName, roleArn: this.roleArn });
  }
}
