/**
 * kubeconfig for an existing EKS cluster, authenticating with `aws eks get-token` (an exec
 * credential plugin), so the file carries no credential. Source: Amazon EKS User Guide, "Connect
 * kubectl to an EKS cluster by creating a kubeconfig file",
 * https://docs.aws.amazon.com/eks/latest/userguide/create-kubeconfig.html
 */

/** What the kubeconfig needs of the cluster (from `aws.eks.getCluster`). */
export interface EksEndpoint {
  /** EKS cluster name. */
  readonly name: string;
  /** API server URL. */
  readonly endpoint: string;
  /** Base64 cluster CA bundle (`certificateAuthorities[0].data`). */
  readonly certificateAuthorityData: string;
  /** AWS region of the cluster. */
  readonly region: string;
}

/**
 * Renders the kubeconfig (JSON text, which kubeconfig accepts) for one EKS cluster.
 * @returns kubeconfig text with one cluster, one user (exec `aws eks get-token`) and one context.
 */
export function eksKubeconfig(cluster: EksEndpoint): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: cluster.name,
        cluster: { server: cluster.endpoint, "certificate-authority-data": cluster.certificateAuthorityData },
      },
    ],
    users: [
      {
        name: cluster.name,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: ["eks", "get-token", "--cluster-name", cluster.name, "--region", cluster.region, "--output", "json"],
          },
        },
      },
    ],
    contexts: [{ name: cluster.name, context: { cluster: cluster.name, user: cluster.name } }],
    "current-context": cluster.name,
  });
}
