/**
 * Test access to the real stack files, through the same reader as the plan and db:local
 * (scripts/lib/stack-file.ts).
 */
import * as path from "path";
import { ducklakeConfigOf, readStackFileConfig } from "../../scripts/lib/stack-file";

/** Repository root. */
export const ROOT = path.resolve(__dirname, "..", "..");

/** The `ducklake:*` keys of `Pulumi.<stack>.yaml`, namespace stripped, as `parseStackConfig` takes them. */
export function readDucklakeConfig(stack: string): Record<string, unknown> {
  return ducklakeConfigOf(readStackFileConfig(path.join(ROOT, `Pulumi.${stack}.yaml`))).raw;
}
