/**
 * Shared setup of the PostgresCluster component tests: a stack's parsed postgres config, the tuning
 * engine's parameters for it, and a capture of each registration's dependencies
 * (the runtime mocks record inputs, not `dependsOn`).
 */
import { parseStackConfig } from "../../components/stack";
import type { PostgresConfig } from "../../config/postgres";
import { readDucklakeConfig } from "../helpers/stack-files";
import { computeTuning, tuningInputOfPostgres } from "../../components/postgres/tuning";

/** The `ducklake:postgres` section of `Pulumi.<stack>.yaml`, parsed with the real schema. */
export function stackPostgresConfig(stack: "dev" | "prod"): PostgresConfig {
  return parseStackConfig(readDucklakeConfig(stack), stack).config.postgres;
}

/** The tuning engine's `parameters` for a stack's postgres config (what the program passes to the component). */
export function tunedParameters(config: PostgresConfig): Record<string, string> {
  return computeTuning(tuningInputOfPostgres(config)).parameters;
}

/** Registration dependencies: resource name -> URNs it waited for (`dependsOn`, input dependencies). */
export const dependencies = new Map<string, string[]>();

let patched = false;

/** Wraps the mock monitor to record each registration's dependency URNs. Call before constructing resources. */
export function captureDependencies(): void {
  if (patched) return;
  patched = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mocksModule = require("@pulumi/pulumi/runtime/mocks") as {
    MockMonitor: {
      prototype: {
        registerResource(req: { getName(): string; getDependenciesList(): string[] }, cb: unknown): unknown;
      };
    };
  };
  const original = mocksModule.MockMonitor.prototype.registerResource;
  mocksModule.MockMonitor.prototype.registerResource = function (req, cb) {
    dependencies.set(req.getName(), req.getDependenciesList());
    return original.call(this, req, cb);
  };
}

/** Every string found anywhere inside a value (object keys excluded). */
export function allStrings(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => allStrings(v, out));
  else if (value !== null && typeof value === "object") Object.values(value).forEach((v) => allStrings(v, out));
  return out;
}
