/**
 * The stack's AWS hardware in one call: the Postgres node group and the gp3 StorageClass on an EKS
 * stack, nothing at all on a kind stack. index.ts may call this or the two constructors directly.
 */
import * as pulumi from "@pulumi/pulumi";
import type { StackConfig } from "../../config/schema";
import { SsdNodeGroup } from "./ssd-node-group";
import { Gp3StorageClass } from "./gp3-storage";

/** What `createAwsInfrastructure` created (both absent on a kind stack). */
export interface AwsInfrastructure {
  /** The Postgres node group (EKS stacks). */
  readonly nodeGroup?: SsdNodeGroup;
  /** The EBS CSI add-on and gp3 StorageClass (EKS stacks with `storage.gp3`). */
  readonly storage?: Gp3StorageClass;
  /**
   * Name of the StorageClass volumes are claimed from: the created class on EKS (so claims wait for
   * it), `storage.className` as configured otherwise (kind's existing default class).
   */
  readonly storageClassName: pulumi.Output<string>;
}

/**
 * Creates the AWS resources the config asks for, and none on a kind stack.
 * @param name prefix of the components (`${name}-nodes`, `${name}-storage`).
 * @param config the parsed stack config (`loadConfig().config`).
 * @param opts.aws options for the AWS components (e.g. `{ providers: { aws } }`); defaults to none.
 * @param opts.kubernetes options for the StorageClass component; `providers` must carry the EKS cluster's
 *   Kubernetes provider (`{ providers: { aws, kubernetes } }`).
 * @param opts.oidcProviderArn the cluster's IAM OIDC provider ARN, looked up by the caller
 *   (`lookUpOidcProviderArn`); given to the StorageClass component only when its driver uses IRSA. Without
 *   it the component builds the ARN from the cluster's issuer.
 * @throws Error when an EKS config has no `nodes` section (the loader already refuses that).
 */
export function createAwsInfrastructure(
  name: string,
  config: StackConfig,
  opts: {
    aws?: pulumi.ComponentResourceOptions;
    kubernetes?: pulumi.ComponentResourceOptions;
    oidcProviderArn?: pulumi.Input<string>;
  } = {},
): AwsInfrastructure {
  const cluster = config.cluster;
  if (cluster.provider !== "eks") {
    return { storageClassName: pulumi.output(config.storage.className) };
  }
  if (config.nodes === undefined) throw new Error("ducklake:nodes is required when cluster.provider is eks");
  const nodeGroup = new SsdNodeGroup(
    `${name}-nodes`,
    { clusterName: cluster.name, subnetIds: cluster.subnetIds, nodes: config.nodes, tags: config.tags },
    opts.aws,
  );
  if (config.storage.gp3 === undefined) {
    return { nodeGroup, storageClassName: pulumi.output(config.storage.className) };
  }
  const storage = new Gp3StorageClass(
    `${name}-storage`,
    {
      clusterName: cluster.name,
      storageClassName: config.storage.className,
      gp3: config.storage.gp3,
      tags: config.tags,
      oidcProviderArn: config.storage.gp3.csiDriverIdentity === "irsa" ? opts.oidcProviderArn : undefined,
    },
    opts.kubernetes ?? opts.aws,
  );
  return { nodeGroup, storage, storageClassName: storage.storageClassName };
}
