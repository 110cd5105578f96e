/**
 * Runs the whole program (index.ts) under the recording mocks (scripts/lib/mock-engine.ts) with a stack
 * file's config, in a fresh module registry: what the program would create, read and export.
 */
import * as path from "path";
import { installRecordingMocks, MockRecorder, settle } from "../../scripts/lib/mock-engine";
import { readStackFileConfig, stackConfigForRuntime } from "../../scripts/lib/stack-file";
import { ROOT } from "./stack-files";

/** The program module's exports (the stack outputs). */
export type Program = Record<string, unknown>;

/**
 * @param stack `dev` or `prod` (reads `Pulumi.<stack>.yaml`).
 * @param edit changes the stack file's values (keys `ducklake:...`) before the run.
 * @param callResults answers for provider calls (see `installRecordingMocks`).
 * @returns the recorder, the exports, or the error the program threw.
 */
export async function runStackProgram(
  stack: string,
  edit?: (values: Record<string, unknown>) => void,
  callResults?: Parameters<typeof installRecordingMocks>[0]["callResults"],
): Promise<{ recorder: MockRecorder; program?: Program; error?: Error }> {
  const file = readStackFileConfig(path.join(ROOT, `Pulumi.${stack}.yaml`));
  const values = structuredClone(file.values);
  edit?.(values);
  const runtime = stackConfigForRuntime({ values, secureKeys: file.secureKeys });
  let recorder!: MockRecorder;
  let program: Program | undefined;
  let error: Error | undefined;
  await jest.isolateModulesAsync(async () => {
    recorder = installRecordingMocks({ stack, config: runtime.config, secretKeys: runtime.secretKeys, callResults });
    try {
      program = (await import("../../index")) as Program;
    } catch (err) {
      error = err as Error;
    }
    await settle(recorder);
  });
  return { recorder, program, error };
}
