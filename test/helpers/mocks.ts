/**
 * Test entry to the recording mocks (scripts/lib/mock-engine.ts), shared with the offline plan.
 *
 * Usage (in `beforeAll`, before importing the code under test):
 *   const recorder = installMocks({ stack: "dev" });
 *   const { MyComponent } = await import("../../components/...");
 *   new MyComponent(...); await settle(recorder);
 *   recorder.get("kubernetes:helm.sh/v3:Release", "x-operator").inputs
 */
import * as pulumi from "@pulumi/pulumi";
import { installRecordingMocks, MockRecorder } from "../../scripts/lib/mock-engine";

export type { MockRecorder, RecordedCall, RecordedResource } from "../../scripts/lib/mock-engine";
export { settle, unwrapSecrets, redactSecrets, isSecretWrapper } from "../../scripts/lib/mock-engine";

/**
 * Installs the mocks for project `ducklake-pgmq`.
 * @param opts.stack stack name (`dev`, `prod`).
 * @param opts.config config values, keys with namespace (`ducklake:postgres`), values as Pulumi stores them.
 * @param opts.callResults per-token replacements of the mocked provider functions (see `installRecordingMocks`).
 */
export function installMocks(opts: Parameters<typeof installRecordingMocks>[0]): MockRecorder {
  return installRecordingMocks(opts);
}

/** Resolves an Output to its value. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => {
    output.apply((v) => {
      resolve(v);
      return v;
    });
  });
}
