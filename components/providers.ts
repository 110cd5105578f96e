/**
 * The providers of a stack: on kind the kube context; on EKS the AWS provider (region, default tags), the
 * cluster read by name with an `aws eks get-token` kubeconfig that waits for the Kubernetes version check,
 * and the cluster's IAM OIDC provider, looked up only when something uses IRSA.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import type { StackConfig } from "../config/schema";
import { eksKubeconfig } from "./kubeconfig";
import { checkedEksVersion } from "./kubernetes-version";
import { irsaUses, lookUpOidcProviderArn } from "./aws/oidc";

/** The EKS cluster's IAM OIDC provider (IRSA): its ARN and issuer URL, and the region. */
export interface EksOidc {
  readonly region: string;
  readonly oidcProviderArn: pulumi.Output<string>;
  readonly oidcIssuerUrl: pulumi.Output<string>;
}

/** What `createProviders` makes. */
export interface StackProviders {
  /** The Kubernetes provider every Kubernetes resource uses. */
  readonly kubernetes: k8s.Provider;
  /** The AWS provider (EKS stacks only). */
  readonly aws?: aws.Provider;
  /** The cluster's IAM OIDC provider, on EKS stacks where something uses IRSA (`irsaUses`). */
  readonly eksOidc?: EksOidc;
}

/**
 * Makes the stack's providers.
 * @param config the parsed stack config.
 * @param project Pulumi project name (a default AWS tag).
 * @param stack Pulumi stack name (a default AWS tag).
 */
export function createProviders(config: StackConfig, project: string, stack: string): StackProviders {
  if (config.cluster.provider === "kind") {
    return { kubernetes: new k8s.Provider("k8s", { context: config.cluster.kubeContext }) };
  }
  const eksConfig = config.cluster;
  const awsProvider = new aws.Provider("aws", {
    region: eksConfig.region as aws.Region,
    defaultTags: { tags: { ...config.tags, "pulumi:project": project, "pulumi:stack": stack } },
  });
  const cluster = aws.eks.getClusterOutput({ name: eksConfig.name }, { provider: awsProvider });
  // Kubernetes >= 1.29 (both CloudNativePG charts' kubeVersion): the kubeconfig waits for the version
  // check, so on an older cluster every Kubernetes resource, and with them the preview, fails with a
  // message naming the cluster, its version and the minimum.
  const kubeconfig = pulumi
    .all([cluster.endpoint, cluster.certificateAuthorities, checkedEksVersion(eksConfig.name, cluster.version)])
    .apply(([endpoint, cas]) =>
      eksKubeconfig({
        name: eksConfig.name,
        endpoint,
        certificateAuthorityData: cas[0]?.data ?? "",
        region: eksConfig.region,
      }),
    );
  const kubernetes = new k8s.Provider("k8s", { kubeconfig, enableServerSideApply: true });
  // The IAM OIDC provider is looked up only when something uses IRSA: a cluster without one previews
  // fine otherwise, and fails here, naming what needs it, when something does.
  const uses = irsaUses(config);
  if (uses.length === 0) return { kubernetes, aws: awsProvider };
  const oidcIssuerUrl = cluster.identities.apply((ids) => ids[0]?.oidcs[0]?.issuer ?? "");
  return {
    kubernetes,
    aws: awsProvider,
    eksOidc: {
      region: eksConfig.region,
      oidcIssuerUrl,
      oidcProviderArn: lookUpOidcProviderArn(eksConfig.name, oidcIssuerUrl, uses, { provider: awsProvider }),
    },
  };
}
