/**
 * Argument rules of the Logging component, checked before any resource is created.
 */
import type { LoggingConfig } from "../../config/logging";
import { lokiBucketPrefix } from "./loki-s3";

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What `validateLoggingArgs` needs of the component's args (plain values only). */
export interface LoggingArgsShape {
  readonly config: LoggingConfig;
  readonly stack: string;
  readonly project: string;
  /** Whether `aws` args were given, and the region when they were. */
  readonly aws?: { readonly region: string };
  readonly postgresNamespace: string;
  readonly postgresClusterName: string;
}

/**
 * Every problem with the arguments, each message naming the key, the value and the rule.
 * Rules: S3 storage needs the `aws` args (region + the cluster's OIDC provider for IRSA; there are
 * no static keys to fall back on); `aws.region` non-empty; without a configured bucket name the
 * generated prefix `<project>-<stack>-loki-` must be a valid S3 name start; the Postgres namespace and
 * cluster name are DNS-1123 labels (they are spliced into LogQL selectors and label values).
 * @returns messages; empty when the arguments are valid.
 */
export function validateLoggingArgs(args: LoggingArgsShape): string[] {
  const problems: string[] = [];
  const storage = args.config.loki.storage;
  if (storage.type === "s3") {
    if (args.aws === undefined) {
      problems.push(
        "logging.loki.storage.type is s3 but the Logging component got no aws settings (region, oidcProviderArn, oidcIssuerUrl): " +
          "the stack creates the bucket and an IAM role for Loki's service account (IRSA), which needs an EKS cluster; use storage type pvc on kind",
      );
    } else if (args.aws.region.trim() === "") {
      problems.push("aws.region is empty: the Loki S3 bucket needs a region");
    }
    if (storage.bucketName === undefined) {
      const prefix = lokiBucketPrefix(args.project, args.stack);
      if (!/^[a-z0-9][a-z0-9-]*-$/.test(prefix) || prefix.length < 3) {
        problems.push(
          `the generated Loki bucket prefix "${prefix}" (from project "${args.project}" and stack "${args.stack}") is not a valid S3 name start; set logging.loki.storage.bucketName`,
        );
      }
    }
  }
  for (const [key, value] of [
    ["postgresNamespace", args.postgresNamespace],
    ["postgresClusterName", args.postgresClusterName],
  ] as const) {
    if (!DNS_LABEL.test(value) || value.length > 63) {
      problems.push(
        `${key} "${value}" is not a DNS-1123 label (lowercase letters, digits, '-', at most 63 characters)`,
      );
    }
  }
  return problems;
}
