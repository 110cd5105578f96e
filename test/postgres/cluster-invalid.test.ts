/**
 * Invalid combinations stop PostgresCluster with a ResourceError naming every problem, before it
 * creates a single child resource.
 */
import * as pulumi from "@pulumi/pulumi";
import { installMocks, MockRecorder, settle } from "../helpers/mocks";
import { tunedParameters, stackPostgresConfig } from "./harness";

let recorder: MockRecorder;

beforeAll(() => {
  recorder = installMocks({ stack: "dev" });
});

test("shared_buffers above the memory limit and a fixed parameter: one error listing both, no children", async () => {
  const { PostgresCluster } = await import("../../components/postgres/cluster");
  const config = stackPostgresConfig("dev");
  const parameters = { ...tunedParameters(config), shared_buffers: "6GB", listen_addresses: "*" };
  let error: unknown;
  try {
    new PostgresCluster("bad", {
      config,
      storageClassName: "standard",
      parameters,
      sharedPreloadLibraries: ["pg_partman_bgw"],
    });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(pulumi.ResourceError);
  const message = (error as Error).message;
  expect(message).toContain("2 invalid settings; nothing was created");
  expect(message).toMatch(/shared_buffers is 6GB .*resources.memory is 4Gi/);
  expect(message).toContain("parameters.listen_addresses");
  await settle(recorder);
  const children = recorder.resources.filter((r) => r.type !== "ducklake:postgres:PostgresCluster");
  expect(children).toEqual([]);
});
