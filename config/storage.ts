/**
 * `ducklake:storage`: the StorageClass the Postgres (and Loki) volumes are claimed from.
 *
 * dev: `className` names the cluster's existing default class (kind's is `standard`), no `gp3` block.
 * prod: a `gp3` block makes the stack install the EBS CSI driver add-on and create the class.
 */
import { z } from "zod";
import { dnsLabel } from "./common";
import { gp3Iops, gp3ThroughputMiBps, gp3Violations } from "./gp3";

/** gp3 StorageClass parameters (provisioner ebs.csi.aws.com; `type: gp3` is always set). */
export const Gp3StorageClassSchema = z
  .strictObject({
    /** Provisioned IOPS per volume, 3,000–80,000 and at most 500 per GiB of the claimed size. Defaults to 3000. */
    iops: gp3Iops.default(3000),
    /** Provisioned throughput per volume in MiB/s, 125–2,000, at most 0.25 per IOPS. Defaults to 125. */
    throughputMiBps: gp3ThroughputMiBps.default(125),
    /** Encrypt volumes. Defaults to true. */
    encrypted: z.boolean().default(true),
    /**
     * Full ARN of the KMS key that encrypts the volumes (the EBS CSI driver's `kmsKeyId` parameter takes
     * the full ARN: https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/parameters.md);
     * the account's default EBS key when absent. Needs `encrypted: true`.
     */
    kmsKeyId: z
      .string()
      .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/, {
        message: "must be the full ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>)",
      })
      .optional(),
    /** Filesystem of provisioned volumes. Defaults to `ext4`. */
    fsType: z.enum(["ext4", "xfs"]).default("ext4"),
    /** What happens to a volume when its claim is deleted. Defaults to `Retain` (a deleted claim never deletes data). */
    reclaimPolicy: z.enum(["Retain", "Delete"]).default("Retain"),
    /** EBS CSI driver add-on version (e.g. `v1.50.1-eksbuild.1`); EKS's default for the cluster version when absent. */
    csiDriverAddonVersion: z.string().min(1).optional(),
    /**
     * How the EBS CSI controller gets its IAM role: `irsa` (IAM roles for service accounts, needs the
     * cluster's OIDC provider registered in IAM) or `pod-identity` (EKS Pod Identity, needs the
     * `eks-pod-identity-agent` add-on). Defaults to `irsa`.
     * Source: https://github.com/kubernetes-sigs/aws-ebs-csi-driver/blob/master/docs/install.md
     */
    csiDriverIdentity: z.enum(["irsa", "pod-identity"]).default("irsa"),
  })
  .superRefine((v, ctx) => {
    if (v.kmsKeyId !== undefined && !v.encrypted) {
      ctx.addIssue({
        code: "custom",
        path: ["kmsKeyId"],
        message: "needs encrypted: true (a KMS key only applies to encrypted volumes)",
      });
    }
    for (const violation of gp3Violations(v)) {
      ctx.addIssue({ code: "custom", path: [violation.field], message: violation.message, input: violation.value });
    }
  });

/** `ducklake:storage`. */
export const StorageSchema = z.strictObject({
  /** Name of the StorageClass Postgres and Loki volumes use (`standard` on kind, `gp3` on prod). */
  className: dnsLabel,
  /** When present, the stack creates the class as a gp3 class (EKS only). */
  gp3: Gp3StorageClassSchema.optional(),
});

export type StorageConfig = z.output<typeof StorageSchema>;
export type Gp3StorageClassConfig = z.output<typeof Gp3StorageClassSchema>;
