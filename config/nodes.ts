/**
 * `ducklake:nodes`: the dedicated Postgres node group on EKS (prod only; a kind stack must not set it).
 */
import { z } from "zod";
import { awsTags, kubeLabels, positiveInt } from "./common";
import { gp3Iops, gp3SizeGiB, gp3ThroughputMiBps, gp3Violations } from "./gp3";

/** gp3 root volume of each node; the size lives only in the launch template (EKS rejects diskSize with one). */
export const RootVolumeSchema = z
  .strictObject({
    /** Root volume size in GiB. Defaults to 100. */
    sizeGiB: gp3SizeGiB.default(100),
    /** Provisioned IOPS, 3,000–80,000. Defaults to 3000 (the seed's minimum). */
    iops: gp3Iops.default(3000),
    /** Provisioned throughput in MiB/s, 125–2,000, at most 0.25 per IOPS. Defaults to 125. */
    throughputMiBps: gp3ThroughputMiBps.default(125),
    /** Encrypt the volume. Defaults to true. */
    encrypted: z.boolean().default(true),
    /** KMS key ID or ARN for encryption; the account's default EBS key when absent. */
    kmsKeyId: z.string().min(1).optional(),
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

/** A Kubernetes taint in the EKS API spelling (effect NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE). */
export const TaintSchema = z.strictObject({
  /** Taint key, at most 63 characters (EKS API `Taint.key`). */
  key: z.string().min(1).max(63, { message: "must be at most 63 characters (EKS taint key)" }),
  /** Taint value, at most 63 characters (EKS API `Taint.value`); absent for a key-only taint. */
  value: z.string().max(63, { message: "must be at most 63 characters (EKS taint value)" }).optional(),
  effect: z.enum(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]),
});

/** `ducklake:nodes`. */
export const NodesSchema = z.strictObject({
  /** EC2 instance types, e.g. `[m6i.2xlarge]` (8 vCPU, 32 GiB). */
  instanceTypes: z
    .array(
      z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9]+$/, { message: "must be an EC2 instance type such as m6i.2xlarge" }),
    )
    .min(1),
  /**
   * EKS AMI type: `AL2023_x86_64_STANDARD` or `AL2023_ARM_64_STANDARD` (match the instance types'
   * architecture). Defaults to `AL2023_x86_64_STANDARD`. Only Amazon Linux 2023 is accepted: its root
   * device is `/dev/xvda`, which the launch template's gp3 mapping must name (Bottlerocket keeps its
   * data on a second volume, Windows boots from `/dev/sda1`, AL2 reached end of support in Nov 2025).
   * Values: EKS API `Nodegroup.amiType`, https://docs.aws.amazon.com/eks/latest/APIReference/API_Nodegroup.html
   */
  amiType: z.enum(["AL2023_x86_64_STANDARD", "AL2023_ARM_64_STANDARD"]).default("AL2023_x86_64_STANDARD"),
  /** Managed node group scaling: minSize <= desiredSize <= maxSize. */
  scaling: z
    .strictObject({ minSize: positiveInt, desiredSize: positiveInt, maxSize: positiveInt })
    .superRefine((s, ctx) => {
      if (s.minSize > s.desiredSize)
        ctx.addIssue({
          code: "custom",
          path: ["desiredSize"],
          input: s.desiredSize,
          message: `must be >= minSize (${s.minSize})`,
        });
      if (s.desiredSize > s.maxSize)
        ctx.addIssue({
          code: "custom",
          path: ["maxSize"],
          input: s.maxSize,
          message: `must be >= desiredSize (${s.desiredSize})`,
        });
    }),
  /** gp3 root volume. */
  rootVolume: RootVolumeSchema,
  /** Labels put on the nodes; Postgres pods select them. Defaults to `{ "ducklake.io/workload": "postgres" }`. */
  labels: kubeLabels.default({ "ducklake.io/workload": "postgres" }),
  /** Taint reserving the nodes for Postgres; Postgres pods tolerate it. Defaults to `ducklake.io/workload=postgres:NO_SCHEDULE`. */
  taint: TaintSchema.default({ key: "ducklake.io/workload", value: "postgres", effect: "NO_SCHEDULE" }),
  /** Existing IAM role ARN for the nodes; when absent the component creates one with the standard worker policies. */
  nodeRoleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, { message: "must be an IAM role ARN" })
    .optional(),
  /** Extra AWS tags on everything the node group creates. */
  tags: awsTags.default({}),
});

export type NodesConfig = z.output<typeof NodesSchema>;
