/**
 * A recording stand-in for the Pulumi engine, used by the unit tests and by the offline plan: every
 * resource the program registers is recorded with its type, name, parent and inputs, and gets the
 * computed outputs a real provider would return (ids, ARNs, generated passwords).
 *
 * Built on Pulumi's runtime mocks (`pulumi.runtime.setMocks`,
 * https://www.pulumi.com/docs/iac/guides/testing/unit/).
 */
import * as pulumi from "@pulumi/pulumi";

/** One resource the program registered, with the inputs it would send. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  /** URN of the parent resource (`undefined` for resources at the stack's root). */
  readonly parentUrn?: string;
  readonly inputs: Record<string, unknown>;
  readonly provider?: string;
}

/**
 * One read of an existing resource (`<Resource>.get(name, id)`). The mocks answer every read with its
 * inputs, so nothing about the real resource is checked offline: `pulumi preview` does that.
 */
export interface RecordedRead {
  readonly type: string;
  readonly name: string;
  /** The id read, e.g. a CRD's name. */
  readonly id: string;
}

/** One provider function call (`aws.eks.getCluster`, ...). */
export interface RecordedCall {
  readonly token: string;
  readonly inputs: Record<string, unknown>;
}

/** What the mocks saw. */
export interface MockRecorder {
  /** Resources the program registers (reads are not among them: see `reads`). */
  readonly resources: RecordedResource[];
  /** Resources the program reads (`.get`), answered without checking anything. */
  readonly reads: RecordedRead[];
  readonly calls: RecordedCall[];
  /** Resources of one type token. */
  ofType(type: string): RecordedResource[];
  /** The one resource with this type and name; throws when missing. */
  get(type: string, name: string): RecordedResource;
}

/** Realistic computed outputs per resource type, so dependent code sees what the engine would return. */
export function computedOutputs(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "random:index/randomPassword:RandomPassword":
      return { result: `mock-password-${name}` };
    case "random:index/randomId:RandomId":
      return { hex: "0123abcd", b64Url: "ASOrzQ", dec: "19114957" };
    case "aws:iam/role:Role":
      return { arn: `arn:aws:iam::123456789012:role/${name}`, name: inputs["name"] ?? name };
    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
      return { arn: `arn:aws:iam::123456789012:oidc-provider/${name}` };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return { latestVersion: 1, arn: `arn:aws:ec2:eu-west-1:123456789012:launch-template/lt-${name}` };
    case "aws:eks/nodeGroup:NodeGroup":
      return {
        arn: `arn:aws:eks:eu-west-1:123456789012:nodegroup/${name}`,
        nodeGroupName: inputs["nodeGroupName"] ?? name,
      };
    case "aws:eks/addon:Addon":
      return { arn: `arn:aws:eks:eu-west-1:123456789012:addon/${name}` };
    case "aws:s3/bucketV2:BucketV2":
    case "aws:s3/bucket:Bucket":
      return { bucket: inputs["bucket"] ?? `${name}-bucket`, arn: `arn:aws:s3:::${String(inputs["bucket"] ?? name)}` };
    default:
      return {};
  }
}

/** Results of provider function calls, as AWS would answer for the mock account. */
export function callResult(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case "aws:eks/getCluster:getCluster":
      return {
        name: inputs["name"],
        arn: `arn:aws:eks:eu-west-1:123456789012:cluster/${String(inputs["name"])}`,
        endpoint: "https://ABCDEF.gr7.eu-west-1.eks.amazonaws.com",
        version: "1.33",
        certificateAuthorities: [{ data: "bW9jaw==" }],
        identities: [{ oidcs: [{ issuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF" }] }],
        vpcConfig: {
          vpcId: "vpc-0123456789abcdef0",
          clusterSecurityGroupId: "sg-0123456789abcdef0",
          subnetIds: ["subnet-0mock00000000000a", "subnet-0mock00000000000b", "subnet-0mock00000000000c"],
        },
      };
    case "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider":
      return {
        arn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF",
        url: "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF",
      };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return { accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/mock", userId: "mock" };
    case "aws:index/getPartition:getPartition":
      return { partition: "aws", dnsSuffix: "amazonaws.com" };
    case "aws:index/getRegion:getRegion":
      return { name: "eu-west-1", region: "eu-west-1" };
    case "aws:iam/getPolicyDocument:getPolicyDocument":
      return { json: JSON.stringify({ Version: "2012-10-17", Statement: inputs["statements"] ?? [] }) };
    default:
      return inputs;
  }
}

let parentPatched = false;
const parents = new Map<string, string>();

/** Records each registration's parent URN (the runtime mocks do not pass it to `newResource`). */
function patchParentCapture(): void {
  if (parentPatched) return;
  parentPatched = true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mocksModule = require("@pulumi/pulumi/runtime/mocks") as {
    MockMonitor: {
      prototype: {
        registerResource(req: { getType(): string; getName(): string; getParent(): string }, cb: unknown): unknown;
      };
    };
  };
  const original = mocksModule.MockMonitor.prototype.registerResource;
  mocksModule.MockMonitor.prototype.registerResource = function (req, cb) {
    parents.set(`${req.getType()}::${req.getName()}`, req.getParent());
    return original.call(this, req, cb);
  };
}

/**
 * Installs the recording mocks.
 * @param opts.project project name; defaults to `ducklake-pgmq`.
 * @param opts.stack stack name (`dev`, `prod`, ...).
 * @param opts.config config values, keys with namespace (`ducklake:postgres`), values as Pulumi stores them (JSON text for objects).
 * @param opts.secretKeys config keys that are secrets.
 * @param opts.preview run as a preview (unknown computed values) rather than an update. Defaults to false.
 * @param opts.callResults per-token replacements of `callResult` (tests: a cluster without an IAM OIDC
 *   provider); one that throws makes the provider function fail, as AWS would.
 */
export function installRecordingMocks(opts: {
  stack: string;
  project?: string;
  config?: Record<string, string>;
  secretKeys?: string[];
  preview?: boolean;
  callResults?: Readonly<Record<string, (inputs: Record<string, unknown>) => Record<string, unknown>>>;
}): MockRecorder {
  patchParentCapture();
  const resources: RecordedResource[] = [];
  const reads: RecordedRead[] = [];
  const calls: RecordedCall[] = [];
  if (opts.config) pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);
  void pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const inputs = args.inputs as Record<string, unknown>;
        // A read (`.get(name, id)`): the runtime mocks pass the id read. A registration passes an id only
        // with the `import` option, which the program does not use. Answered as if the resource existed.
        if (args.id !== undefined && args.id !== "") {
          reads.push({ type: args.type, name: args.name, id: args.id });
          return { id: args.id, state: { ...inputs } };
        }
        const parentUrn = parents.get(`${args.type}::${args.name}`) || undefined;
        resources.push({ type: args.type, name: args.name, parentUrn, inputs, provider: args.provider });
        return { id: `${args.name}-id`, state: { ...inputs, ...computedOutputs(args.type, args.name, inputs) } };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        const inputs = args.inputs as Record<string, unknown>;
        calls.push({ token: args.token, inputs });
        const override = opts.callResults?.[args.token];
        return override !== undefined ? override(inputs) : callResult(args.token, inputs);
      },
    },
    opts.project ?? "ducklake-pgmq",
    opts.stack,
    opts.preview ?? false,
  );
  return {
    resources,
    reads,
    calls,
    ofType: (type) => resources.filter((r) => r.type === type),
    get(type, name) {
      const found = resources.find((r) => r.type === type && r.name === name);
      if (!found) {
        throw new Error(
          `no ${type} named ${name}; registered: ${resources.map((r) => `${r.type}/${r.name}`).join(", ")}`,
        );
      }
      return found;
    },
  };
}

/**
 * Waits until pending resource registrations have reached the mocks: with a recorder, until the
 * resource count has not changed for three 10 ms ticks (at most 2 s); without one, about 100 ms.
 */
export async function settle(recorder?: MockRecorder): Promise<void> {
  if (!recorder) {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 100));
    return;
  }
  let last = -1;
  let stable = 0;
  for (let i = 0; i < 200 && stable < 3; i++) {
    await new Promise((r) => setTimeout(r, 10));
    const n = recorder.resources.length;
    stable = n === last ? stable + 1 : 0;
    last = n;
  }
}

/** Is this a Pulumi secret wrapper (`{ 4dabf18193072939515e22adb298388d: "1b47061264138c4ac30d75fd1eb44270", value }`)? */
export function isSecretWrapper(value: unknown): value is { value: unknown } {
  return (
    value !== null &&
    typeof value === "object" &&
    (value as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
  );
}

/** Replaces every secret in recorded inputs with `replacement` (the plan uses `[secret]`). */
export function redactSecrets(value: unknown, replacement = "[secret]"): unknown {
  if (isSecretWrapper(value)) return replacement;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, replacement));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactSecrets(v, replacement)]),
    );
  }
  return value;
}

/** Strips secret wrappers, keeping the values (tests that need to look inside). */
export function unwrapSecrets(value: unknown): unknown {
  if (isSecretWrapper(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Sorts object keys recursively, so serialised output is byte-stable. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
