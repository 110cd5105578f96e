/**
 * Backups and restores through the whole program (index.ts under the recording mocks, prod's stack file): the
 * bucket and its settings, the IRSA role, the Barman Cloud plugin release, the cluster's values, and that no
 * credential appears in any resource input. The rendered objects are checked against the real charts and CRDs by
 * `npm run plan -- prod --render` (docs/delivery.md); the restore itself by test/queue/pitr.integration.test.ts.
 */
import { redactSecrets } from "../../scripts/lib/mock-engine";
import { backupLifecycle } from "../../components/postgres/backups";
import { parseStackConfig } from "../../components/stack";
import { runStackProgram } from "../helpers/program";
import { readDucklakeConfig } from "../helpers/stack-files";
import type { RecordedResource } from "../helpers/mocks";

const RELEASE = "kubernetes:helm.sh/v3:Release";

type Values = Record<string, any>;

/** Input keys that would carry a credential if they held a plain value. */
const CREDENTIAL_KEY =
  /(access_?key|secret_?key|secretaccesskey|accesskeyid|session_?token|password|connectionstring|storagekey|sastoken|applicationcredentials)/i;
/** What AWS access key IDs look like (AKIA long-term, ASIA temporary). */
const AWS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/;

/**
 * Every place in the resources' inputs (secrets redacted, as the plan and the state hold them) where a credential
 * could sit in plain text: a non-empty plain value under a credential-like key, or an AWS key ID anywhere.
 */
function plaintextCredentials(resources: readonly RecordedResource[]): string[] {
  const found: string[] = [];
  const walk = (value: unknown, where: string, key: string): void => {
    if (typeof value === "string") {
      if (AWS_KEY_ID.test(value)) found.push(`${where}: an AWS access key ID`);
      if (CREDENTIAL_KEY.test(key) && value !== "" && value !== "[secret]") found.push(`${where}: "${value}"`);
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${where}[${i}]`, key));
    else if (value !== null && typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(v, `${where}.${k}`, k);
  };
  for (const r of resources) walk(redactSecrets(r.inputs), `${r.type} ${r.name}`, "");
  return found;
}

describe("prod with backups (as shipped)", () => {
  let run: Awaited<ReturnType<typeof runStackProgram>>;
  beforeAll(async () => {
    run = await runStackProgram("prod");
  });

  test("runs without error", () => {
    expect(run.error).toBeUndefined();
  });

  test("the bucket: generated name, never force-destroyed, versioned, encrypted, private, with the window's lifecycle", () => {
    const bucket = run.recorder.get("aws:s3/bucket:Bucket", "postgres-backups-bucket");
    expect(bucket.inputs).toMatchObject({ bucketPrefix: "ducklake-pgmq-prod-pgbackup-", forceDestroy: false });
    expect(
      run.recorder.get("aws:s3/bucketVersioning:BucketVersioning", "postgres-backups-bucket-versioning").inputs,
    ).toMatchObject({
      versioningConfiguration: { status: "Enabled" },
    });
    expect(
      run.recorder.get(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "postgres-backups-bucket-encryption",
      ).inputs["rules"],
    ).toEqual([{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }]);
    expect(
      run.recorder.get(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "postgres-backups-bucket-public-access",
      ).inputs,
    ).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const life = backupLifecycle({ retentionPolicy: "30d", schedule: "0 0 3 * * *" });
    const [rule] = run.recorder.get(
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
      "postgres-backups-bucket-lifecycle",
    ).inputs["rules"] as Values[];
    expect(rule).toMatchObject({
      status: "Enabled",
      expiration: { days: life.currentExpirationDays },
      noncurrentVersionExpiration: { noncurrentDays: life.noncurrentExpirationDays },
    });
  });

  test("the role: assumed only by the cluster's ServiceAccount through the cluster's OIDC provider, allowed only on its bucket", () => {
    const role = run.recorder.get("aws:iam/role:Role", "postgres-backups-role");
    const trust = JSON.parse(role.inputs["assumeRolePolicy"] as string) as Values;
    const conditions = trust.Statement[0].Condition.StringEquals as Record<string, string>;
    expect(Object.entries(conditions).find(([k]) => k.endsWith(":sub"))?.[1]).toBe(
      "system:serviceaccount:ducklake-db:lineage-pg",
    );
    expect(Object.entries(conditions).find(([k]) => k.endsWith(":aud"))?.[1]).toBe("sts.amazonaws.com");
    const policy = JSON.parse(
      run.recorder.get("aws:iam/rolePolicy:RolePolicy", "postgres-backups-s3-access").inputs["policy"] as string,
    ) as Values;
    const resources = (policy.Statement as Values[]).flatMap((s) => s.Resource as string[]);
    expect(resources.every((r) => r.startsWith("arn:aws:s3:::postgres-backups-bucket"))).toBe(true);
  });

  test("the Barman Cloud plugin is installed beside the operator, pinned", () => {
    const plugin = run.recorder.ofType(RELEASE).find((r) => r.inputs["chart"] === "plugin-barman-cloud")!;
    expect(plugin.inputs).toMatchObject({
      version: "0.7.0",
      namespace: "cnpg-system",
      repositoryOpts: { repo: "https://cloudnative-pg.github.io/charts" },
    });
  });

  test("the cluster archives through the plugin with the role on its ServiceAccount, and no credential Secret", () => {
    const cluster = run.recorder.ofType(RELEASE).find((r) => r.inputs["chart"] === "cluster")!;
    const values = cluster.inputs["values"] as Values;
    expect(values["mode"]).toBe("standalone");
    expect(values["backups"]).toMatchObject({
      enabled: true,
      method: "plugin",
      s3: { inheritFromIAMRole: true, region: "eu-west-1" },
      secret: { create: false },
      retentionPolicy: "30d",
    });
    expect(values["backups"]["s3"]["accessKey"]).toBeUndefined();
    expect(
      values["cluster"]["serviceAccountTemplate"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
    ).toMatch(/^arn:aws:iam::\d{12}:role\/postgres-backups-role$/);
  });

  test("no credential appears in plain text in any resource input", () => {
    expect(run.recorder.resources.length).toBeGreaterThan(40);
    expect(plaintextCredentials(run.recorder.resources)).toEqual([]);
  });

  test("the check finds a planted credential (it can fail)", () => {
    const planted = [
      {
        type: RELEASE,
        name: "x",
        inputs: { values: { backups: { s3: { accessKey: "AKIAABCDEFGHIJKLMNOP", secretKey: "shh" } } } },
      },
    ] as unknown as RecordedResource[];
    expect(plaintextCredentials(planted)).toEqual([
      `${RELEASE} x.values.backups.s3.accessKey: an AWS access key ID`,
      `${RELEASE} x.values.backups.s3.accessKey: "AKIAABCDEFGHIJKLMNOP"`,
      `${RELEASE} x.values.backups.s3.secretKey: "shh"`,
    ]);
  });
});

describe("prod restored to a point in time (postgres.recovery, a new clusterName)", () => {
  let run: Awaited<ReturnType<typeof runStackProgram>>;
  beforeAll(async () => {
    run = await runStackProgram("prod", (values) => {
      const pg = values["ducklake:postgres"] as Values;
      pg["clusterName"] = "lineage-pg-2";
      pg["recovery"] = {
        sourceClusterName: "lineage-pg",
        bucketName: "ducklake-old-backups",
        targetTime: "2026-12-04T05:00:00Z",
      };
    });
  });

  test("the cluster is created from the source's archive at the target time; the owner's password is this stack's", () => {
    expect(run.error).toBeUndefined();
    const values = run.recorder.ofType(RELEASE).find((r) => r.inputs["chart"] === "cluster")!.inputs[
      "values"
    ] as Values;
    expect(values["mode"]).toBe("recovery");
    expect(values["recovery"]).toMatchObject({
      method: "plugin",
      clusterName: "lineage-pg",
      pitrTarget: { time: "2026-12-04T05:00:00Z" },
      s3: { bucket: "ducklake-old-backups", inheritFromIAMRole: true },
    });
    const roles = values["cluster"]["roles"] as Values[];
    expect(roles.map((r) => [r["name"], r["passwordSecret"]["name"]])).toEqual([
      ["lineage_app", "lineage-pg-2-app-credentials"],
      ["lineage_monitor", "lineage-pg-2-monitoring-credentials"],
      ["lineage_owner", "lineage-pg-2-owner-credentials"],
    ]);
  });

  test("the role trusts the new cluster and, until it is deleted, the source", () => {
    const trust = JSON.parse(
      run.recorder.get("aws:iam/role:Role", "postgres-backups-role").inputs["assumeRolePolicy"] as string,
    );
    const conditions = trust.Statement[0].Condition.StringEquals as Record<string, unknown>;
    expect(Object.entries(conditions).find(([k]) => k.endsWith(":sub"))?.[1]).toEqual([
      "system:serviceaccount:ducklake-db:lineage-pg-2",
      "system:serviceaccount:ducklake-db:lineage-pg",
    ]);
  });

  test("the role may read the source bucket, and write only its own", () => {
    const policy = JSON.parse(
      run.recorder.get("aws:iam/rolePolicy:RolePolicy", "postgres-backups-s3-access").inputs["policy"] as string,
    ) as Values;
    const bySid = Object.fromEntries((policy.Statement as Values[]).map((s) => [s.Sid, s]));
    expect(bySid["ReadRecoverySource"]).toMatchObject({
      Action: ["s3:GetObject"],
      Resource: ["arn:aws:s3:::ducklake-old-backups/*"],
    });
    expect(bySid["ReadWriteBackups"].Resource).toEqual(["arn:aws:s3:::postgres-backups-bucket/*"]);
  });
});

test("dev has backups off by default (its program creates no AWS resource at all: program.test.ts)", () => {
  const dev = parseStackConfig(readDucklakeConfig("dev"), "dev").config;
  expect(dev.postgres.backups.enabled).toBe(false);
  expect(dev.postgres.recovery).toBeUndefined();
});
