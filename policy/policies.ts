/**
 * The policies of the `ducklake-pgmq` policy pack, wired from the pure rules in this folder. Kept apart
 * from `index.ts` because constructing a `PolicyPack` starts the analyzer's gRPC server: tests import
 * this module and call each policy's `validateResource` directly.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { checkEbsEncrypted, checkEbsSsdIops, EBS_VOLUME_TYPE, LAUNCH_TEMPLATE_TYPE, STORAGE_CLASS_TYPE } from "./ebs";
import { checkHelmNoPlaintextSecrets, HELM_TYPES } from "./helmSecrets";
import { checkImdsV2 } from "./imds";
import { checkPostgresPodResources, CNPG_CLUSTER_TYPE, CNPG_POOLER_TYPE, HELM_RELEASE_TYPE } from "./postgresPods";
import { checkPostgresNotExposed, SERVICE_TYPE } from "./services";
import { RuleResult } from "./values";

/** Name of the policy pack (`pulumi preview --policy-pack policy` reports it). */
export const POLICY_PACK_NAME = "ducklake-pgmq";

/** Config of the "helm-no-plaintext-secrets" policy (`pulumi preview --policy-pack-config <file>`). */
export interface HelmSecretsPolicyConfig {
  /** Extra Helm value keys that hold the name of a Secret rather than a secret. Defaults to none. */
  readonly referenceKeys?: string[];
}

type Check = (type: string, props: Record<string, unknown>, args: ResourceValidationArgs) => RuleResult;

/**
 * Wraps a pure rule as a policy validation: reports each violation; undetermined fields (unknown during
 * preview) are "can't tell yet" and not reported; `pulumi up` checks again with known values.
 * @param types the resource types the rule applies to; others are skipped before the rule runs.
 */
function validation(types: readonly string[], check: Check) {
  return (args: ResourceValidationArgs, reportViolation: ReportViolation): void => {
    if (!types.includes(args.type)) return;
    const result = check(args.type, args.props as Record<string, unknown>, args);
    for (const message of result.violations) reportViolation(message);
  };
}

/** Every policy of the pack, all mandatory. */
export const POLICIES: ResourceValidationPolicy[] = [
  {
    name: "ebs-ssd-iops",
    description:
      "EBS volumes (launch templates, aws.ebs.Volume, EBS CSI StorageClasses) are gp3 with 3,000+ IOPS within the gp3 ratios, or io1/io2 with 3,000+ IOPS.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps:
      "Set the volume type to gp3 with iops >= 3000, throughput <= 0.25 MiB/s per IOPS and iops <= 500 per GiB (ducklake:nodes.rootVolume, ducklake:storage.gp3).",
    validateResource: validation([LAUNCH_TEMPLATE_TYPE, EBS_VOLUME_TYPE, STORAGE_CLASS_TYPE], (type, props) =>
      checkEbsSsdIops(type, props),
    ),
  },
  {
    name: "ebs-encrypted",
    description: "EBS volumes (launch templates, aws.ebs.Volume, EBS CSI StorageClasses) are encrypted.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Set encrypted: true (ducklake:nodes.rootVolume.encrypted, ducklake:storage.gp3.encrypted).",
    validateResource: validation([LAUNCH_TEMPLATE_TYPE, EBS_VOLUME_TYPE, STORAGE_CLASS_TYPE], (type, props) =>
      checkEbsEncrypted(type, props),
    ),
  },
  {
    name: "imdsv2-required",
    description: "Launch templates require IMDSv2 (metadataOptions.httpTokens = required).",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: 'Set metadataOptions: { httpTokens: "required" } on the launch template.',
    validateResource: validation([LAUNCH_TEMPLATE_TYPE], (type, props) => checkImdsV2(type, props)),
  },
  {
    name: "postgres-not-exposed",
    description:
      "No LoadBalancer or NodePort Service in front of Postgres (Services, CloudNativePG managed services and poolers).",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps: "Use a ClusterIP Service; reach Postgres from inside the cluster.",
    validateResource: validation(
      [SERVICE_TYPE, HELM_RELEASE_TYPE, CNPG_CLUSTER_TYPE, CNPG_POOLER_TYPE],
      (type, props) => checkPostgresNotExposed(type, props),
    ),
  },
  {
    name: "postgres-pod-resources",
    description:
      "The Postgres pods set memory and CPU requests and limits (CloudNativePG cluster chart cluster.resources).",
    enforcementLevel: "mandatory",
    severity: "medium",
    remediationSteps:
      "Set ducklake:postgres.resources (memory, cpu); the cluster component passes them as cluster.resources.requests and limits.",
    validateResource: validation([HELM_RELEASE_TYPE, CNPG_CLUSTER_TYPE], (type, props) =>
      checkPostgresPodResources(type, props),
    ),
  },
  {
    name: "helm-no-plaintext-secrets",
    description:
      "Helm values hold no plaintext secret-looking value (password, token, secret, key); secrets are referenced by Secret name.",
    enforcementLevel: "mandatory",
    severity: "critical",
    remediationSteps:
      "Generate the secret with @pulumi/random, store it in a Kubernetes Secret, and pass the Secret's name (existingSecret / secretName / secretKeyRef) in the values.",
    configSchema: {
      properties: {
        referenceKeys: { type: "array", items: { type: "string" }, default: [] },
      },
    },
    validateResource: validation(HELM_TYPES, (type, props, args) =>
      checkHelmNoPlaintextSecrets(type, props, args.getConfig<HelmSecretsPolicyConfig>().referenceKeys ?? []),
    ),
  },
];
