/**
 * Where promtool is (Debian's `prometheus` package ships it; `.ci/run` installs it), or why the promtool tests skip.
 */
import { execFileSync } from "child_process";

/** promtool's path on PATH, or undefined. */
export function promtoolPath(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What a skipped promtool test names as missing, or undefined when promtool is there. */
export const PROMTOOL_MISSING: string | undefined =
  promtoolPath() === undefined
    ? "promtool not found (apt-get install prometheus; Debian's package ships it)"
    : undefined;
