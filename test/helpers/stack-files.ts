/**
 * Reads a `Pulumi.<stack>.yaml` file the way Pulumi does: the `ducklake:*` keys, namespace stripped.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** Repository root. */
export const ROOT = path.resolve(__dirname, "..", "..");

/** The `config:` map of `Pulumi.<stack>.yaml` (all namespaces, values as written). */
export function readStackFile(stack: string): Record<string, unknown> {
  const doc = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config?: Record<string, unknown> };
  return doc.config ?? {};
}

/** The `ducklake:*` keys of `Pulumi.<stack>.yaml`, namespace stripped, as `parseStackConfig` takes them. */
export function readDucklakeConfig(stack: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(readStackFile(stack))) {
    if (k.startsWith("ducklake:")) out[k.slice("ducklake:".length)] = v;
  }
  return out;
}
