/**
 * A dev (kind) stack creates no AWS resources and calls no AWS function: the AWS components are
 * only constructed from an EKS config, and the StorageClass name is the cluster's existing class.
 */
import { installMocks, MockRecorder, promiseOf, settle } from "../helpers/mocks";
import { readDucklakeConfig } from "../helpers/stack-files";
import { parseStackConfig } from "../../components/stack";
import type { AwsInfrastructure } from "../../components/aws/infrastructure";

let recorder: MockRecorder;
let infra: AwsInfrastructure;

beforeAll(async () => {
  recorder = installMocks({ stack: "dev" });
  const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
  const { createAwsInfrastructure } = await import("../../components/aws/infrastructure");
  infra = createAwsInfrastructure("ducklake", config);
  await settle();
});

test("dev registers no AWS resource and no AWS component", () => {
  const aws = recorder.resources.filter(
    (r) => r.type.startsWith("aws:") || r.type.startsWith("ducklake:aws:") || r.type === "pulumi:providers:aws",
  );
  expect(aws).toEqual([]);
  expect(recorder.ofType("kubernetes:storage.k8s.io/v1:StorageClass")).toEqual([]);
  expect(infra.nodeGroup).toBeUndefined();
  expect(infra.storage).toBeUndefined();
});

test("dev calls no AWS function (no getCluster, getCallerIdentity, getPartition)", () => {
  expect(recorder.calls.filter((c) => c.token.startsWith("aws:"))).toEqual([]);
});

test("dev claims volumes from kind's existing class, as configured", async () => {
  expect(await promiseOf(infra.storageClassName)).toBe("standard");
});
