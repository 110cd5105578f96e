/**
 * `ducklake:cluster`: which Kubernetes cluster the stack deploys into.
 *
 * - `provider: kind` (dev): an existing local cluster reached through a kubeconfig context.
 * - `provider: eks` (prod): an existing EKS cluster, found by name in a region; the program builds a
 *   kubeconfig for it that authenticates with `aws eks get-token`.
 */
import { z } from "zod";
import { positiveInt } from "./common";

/** Local kind cluster (dev). */
export const KindClusterSchema = z.strictObject({
  /** Always `kind`. */
  provider: z.literal("kind"),
  /** kubeconfig context of the cluster, e.g. `kind-ducklake` (kind names contexts `kind-<cluster name>`). */
  kubeContext: z.string().min(1),
  /** Number of schedulable nodes in the cluster; used to refuse more Postgres instances than nodes when anti-affinity is required. Defaults to 1. */
  nodeCount: positiveInt.default(1),
});

/** Existing EKS cluster (prod). */
export const EksClusterSchema = z.strictObject({
  /** Always `eks`. */
  provider: z.literal("eks"),
  /** Name of the existing EKS cluster. */
  name: z.string().min(1).max(100, { message: "EKS cluster names are at most 100 characters" }),
  /** AWS region of the cluster, e.g. `eu-west-1`. */
  region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, { message: "must be an AWS region such as eu-west-1" }),
  /**
   * Subnets (IDs) the Postgres node group runs in, overriding the default: the EKS cluster's own subnets
   * (`vpcConfig.subnetIds` of the cluster, read at preview), as pulumi-eks does for a managed node group
   * without subnetIds. Set it to keep the nodes in private subnets when the cluster also has public ones;
   * spread them across availability zones for HA.
   */
  subnetIds: z
    .array(
      z.string().regex(/^subnet-[0-9a-f]{8,17}$/, { message: "must be a subnet ID such as subnet-0abc12345def67890" }),
    )
    .min(1, { message: "needs at least one subnet" })
    .optional(),
});

/** `ducklake:cluster`. */
export const ClusterSchema = z.discriminatedUnion("provider", [KindClusterSchema, EksClusterSchema]);

export type ClusterConfig = z.output<typeof ClusterSchema>;
export type KindClusterConfig = z.output<typeof KindClusterSchema>;
export type EksClusterConfig = z.output<typeof EksClusterSchema>;
