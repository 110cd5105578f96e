/**
 * Pulumi runtime mocks that record what would be sent to the engine.
 *
 * Usage (in `beforeAll`, before importing the code under test):
 *   const recorder = installMocks({ stack: "dev" });
 *   ... construct components / import the program ...
 *   await settle(); // then inspect recorder.resources
 */
import * as pulumi from "@pulumi/pulumi";

/** One resource the program registered, with the inputs it would send. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly inputs: Record<string, unknown>;
  readonly provider?: string;
}

/** One provider function call (`aws.eks.getCluster`, ...). */
export interface RecordedCall {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
}

/** What the mocks saw. */
export interface MockRecorder {
  readonly resources: RecordedResource[];
  readonly calls: RecordedCall[];
  /** Resources of one type token. */
  ofType(type: string): RecordedResource[];
  /** The one resource with this type and name; throws when missing. */
  get(type: string, name: string): RecordedResource;
}

/** Realistic computed outputs per resource type, so dependent code sees what the engine would return. */
function computedOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: `mock-password-${name}` };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::123456789012:role/${name}`, name };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { latestVersion: 1, arn: `arn:aws:ec2:eu-west-1:123456789012:launch-template/lt-${name}` };
    case "aws:eks/nodeGroup:NodeGroup":
      return { arn: `arn:aws:eks:eu-west-1:123456789012:nodegroup/${name}`, nodeGroupName: inputs["nodeGroupName"] ?? name };
    case "aws:s3/bucketV2:BucketV2":
    case "aws:s3/bucket:Bucket":
      return { bucket: inputs["bucket"] ?? `${name}-bucket`, arn: `arn:aws:s3:::${String(inputs["bucket"] ?? name)}` };
    default:
      return {};
  }
}

/**
 * Installs the mocks.
 * @param opts.stack stack name (`dev`, `prod`); project is `ducklake-pgmq`.
 * @param opts.config config values, keys with namespace (`ducklake:postgres`), values as Pulumi stores them.
 */
export function installMocks(opts: { stack: string; config?: Record<string, string>; secretKeys?: string[] }): MockRecorder {
  const resources: RecordedResource[] = [];
  const calls: RecordedCall[] = [];
  if (opts.config) pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);
  void pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        resources.push({ type: args.type, name: args.name, inputs: args.inputs as Record<string, unknown>, provider: args.provider });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computedOutputs(args.type, args.name, args.inputs as Record<string, unknown>) } };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        calls.push({ token: args.token, inputs: args.inputs as Record<string, unknown> });
        switch (args.token) {
          case "aws:eks/getCluster:getCluster":
            return {
              name: args.inputs["name"],
              arn: `arn:aws:eks:eu-west-1:123456789012:cluster/${String(args.inputs["name"])}`,
              endpoint: "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com",
              version: "1.33",
              certificateAuthorities: [{ data: "bW9jaw==" }],
              identities: [{ oidcs: [{ issuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF" }] }],
              vpcConfig: { vpcId: "vpc-0123456789abcdef0", clusterSecurityGroupId: "sg-0123456789abcdef0" },
            };
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/mock", userId: "mock" };
          case "aws:index/getPartition:getPartition":
            return { partition: "aws", dnsSuffix: "amazonaws.com" };
          case "aws:index/getRegion:getRegion":
            return { name: "eu-west-1", region: "eu-west-1" };
          default:
            return args.inputs as Record<string, unknown>;
        }
      },
    },
    "ducklake-pgmq",
    opts.stack,
    false,
  );
  return {
    resources,
    calls,
    ofType: (type) => resources.filter((r) => r.type === type),
    get(type, name) {
      const found = resources.find((r) => r.type === type && r.name === name);
      if (!found) {
        throw new Error(`no ${type} named ${name}; registered: ${resources.map((r) => `${r.type}/${r.name}`).join(", ")}`);
      }
      return found;
    },
  };
}

/** Resolves an Output to its value (unknowns become undefined). */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((v) => { resolve(v); return v; }));
}

/** Waits until every pending resource registration has reached the mocks. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
}

/** Strips Pulumi's secret wrappers (`{ 4dabf18193072939515e22adb298388d: ..., value }`) from recorded inputs. */
export function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    if (obj[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrapSecrets(obj["value"]);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}
