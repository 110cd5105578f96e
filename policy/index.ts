/**
 * The `ducklake-pgmq` policy pack: `pulumi preview --policy-pack policy` (and `pulumi up`) run it.
 * Every policy is mandatory: a violation fails the preview or update. The rules are pure functions in
 * this folder (tested in test/policy); see docs/delivery.md "Policy pack".
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES, POLICY_PACK_NAME } from "./policies";

new PolicyPack(POLICY_PACK_NAME, {
  description:
    "Guardrails of the DuckLake PGMQ stack: SSD/gp3 EBS, encryption, IMDSv2, Postgres not exposed, pod resources, no plaintext secrets in Helm values.",
  enforcementLevel: "mandatory",
  policies: POLICIES,
});
