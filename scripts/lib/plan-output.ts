/**
 * Safety of `npm run plan --out DIR`: the plan deletes its output directory before writing (so no stale
 * file passes for the new plan's), which must never reach a directory that is not a plan's.
 */
import * as fs from "fs";
import * as path from "path";
import type { RecordedCall, RecordedRead } from "./mock-engine";

/** File marking a directory as a plan's output: only such a directory (or an empty one) is ever deleted. */
export const PLAN_MARKER = ".ducklake-plan";

/**
 * Why `outDir` must not be replaced by a plan, or undefined when it may: it does not exist, is empty,
 * holds {@link PLAN_MARKER}, or lies under the repository's own `plan/` directory. Anything else
 * (`--out .`, `--out ~`, a directory with other files) is refused: the plan deletes its output
 * directory before writing, so a stale file cannot pass for this plan's.
 */
export function outDirRefusal(outDir: string, planRoot: string): string | undefined {
  if (!fs.existsSync(outDir)) return undefined;
  if (!fs.statSync(outDir).isDirectory()) return `--out ${outDir} is a file, not a directory`;
  const rel = path.relative(planRoot, outDir);
  if (rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel)) return undefined;
  const entries = fs.readdirSync(outDir);
  if (entries.length === 0 || entries.includes(PLAN_MARKER)) return undefined;
  return `--out ${outDir} exists and is not a plan directory (no ${PLAN_MARKER} in it, ${entries.length} entries): the plan replaces its output directory, so give a new or empty directory`;
}

/**
 * Summary lines for the program's reads of existing resources (the prerequisite checks of
 * components/prerequisites.ts): the mocks answer every read, so the plan says they were skipped, by
 * kind, id and logical name (which names the config key that needs it).
 * @returns no lines when the program read nothing.
 */
export function notCheckedOffline(reads: readonly RecordedRead[], calls: readonly RecordedCall[] = []): string[] {
  // The cluster's IAM OIDC provider (IRSA) is looked up by a provider call, not a read; it is a prerequisite too.
  const oidc = calls.filter((c) => c.token === OIDC_PROVIDER_LOOKUP);
  if (reads.length === 0 && oidc.length === 0) return [];
  return [
    "prerequisites not checked offline (the mocks answer every read; `pulumi preview` reads them and fails when one is missing):",
    ...[...reads]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => `  - ${r.type.slice(r.type.lastIndexOf(":") + 1)} ${r.id} (${r.name})`),
    ...oidc.map(
      (c) =>
        `  - the EKS cluster's IAM OIDC provider for IRSA (aws.iam.getOpenIdConnectProvider ${String(c.inputs["url"] ?? "")})`,
    ),
  ];
}

/** Token of the lookup of the EKS cluster's IAM OIDC provider (components/aws/oidc.ts). */
export const OIDC_PROVIDER_LOOKUP = "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider";
