/**
 * Launch template metadata rule: IMDSv2 only.
 */
import { LAUNCH_TEMPLATE_TYPE } from "./ebs";
import { at, Findings, RuleResult, show, UNKNOWN } from "./values";

/**
 * Rule "imdsv2-required": launch templates require IMDSv2 session tokens
 * (`metadataOptions.httpTokens` = "required"), or disable the metadata endpoint
 * (`metadataOptions.httpEndpoint` = "disabled"). Source: Amazon EC2 User Guide, "Configure the instance
 * metadata options", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html
 * @param type the resource's Pulumi type token.
 * @param props the resource's inputs.
 * @returns violations and undetermined fields; empty for other resource types.
 */
export function checkImdsV2(type: string, props: Record<string, unknown>): RuleResult {
  const out = new Findings();
  if (type !== LAUNCH_TEMPLATE_TYPE) return out;
  const tokens = at(props, ["metadataOptions", "httpTokens"]);
  const endpoint = at(props, ["metadataOptions", "httpEndpoint"]);
  if (endpoint === "disabled") return out;
  if (tokens === UNKNOWN) out.unknown("metadataOptions.httpTokens");
  else if (tokens !== "required") {
    out.violation(
      `metadataOptions.httpTokens is ${show(tokens)}: set "required" (IMDSv2 only; IMDSv1 lets a pod that reaches the node's metadata endpoint read the node role's credentials)`,
    );
  }
  return out;
}
