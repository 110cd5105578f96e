/**
 * Backups and restores, the pure side (components/postgres/backups.ts, config/backups.ts): the schedule and
 * retention rules, the rules between keys, the chart values, the bucket's lifecycle and the IAM policies.
 */
import { parseStackConfig } from "../../components/stack";
import { ConfigError } from "../../config/issues";
import { scheduleProblem } from "../../config/backups";
import {
  backupAccessPolicy,
  backupChartValues,
  backupLifecycle,
  backupSummaryLines,
  recoveryChartValues,
  retentionDays,
  scheduleMaxGapSeconds,
  validateBackups,
} from "../../components/postgres/backups";
import type { StackConfig } from "../../config/schema";
import { readDucklakeConfig } from "../helpers/stack-files";

type Raw = Record<string, Record<string, unknown>>;

function stackWith(stack: "dev" | "prod", edit: (raw: Raw) => void): Raw {
  const raw = structuredClone(readDucklakeConfig(stack)) as Raw;
  edit(raw);
  return raw;
}

/** Every problem the loader reports for an edited stack, as `path: message` lines. */
function problems(stack: "dev" | "prod", edit: (raw: Raw) => void): string[] {
  try {
    parseStackConfig(stackWith(stack, edit), stack);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

function parsed(stack: "dev" | "prod", edit: (raw: Raw) => void = () => undefined): StackConfig {
  return parseStackConfig(stackWith(stack, edit), stack).config;
}

describe("the schedule (CloudNativePG: six fields, seconds first)", () => {
  test.each(["0 0 3 * * *", "0 30 */6 * * *", "0 0 2 * * 0", "@daily", "@weekly"])("accepts %s", (s) => {
    expect(scheduleProblem(s)).toBeUndefined();
  });

  test("a five-field crontab line is refused with what CloudNativePG would read and the six-field spelling", () => {
    expect(scheduleProblem("0 3 * * *")).toBe(
      'has five fields, but CloudNativePG\'s schedule has six, seconds first: it would read this as second 0, minute 3, hour * (write "0 0 3 * * *" for the crontab meaning)',
    );
  });

  test.each([
    ["0 0 25 * * *", "Constraint error"],
    ["0 0 3 * *", "has five fields"],
    ["0 0 3 * * * *", "has 7 fields"],
    ["@every 1h", "not a schedule descriptor"],
    ["nonsense text here ok a b", "not a valid schedule"],
    ["0 0 0 30 2 *", "not a valid schedule"], // February 30th: it would never run
  ])("refuses %s", (s, fragment) => {
    expect(scheduleProblem(s)).toContain(fragment);
  });

  test("the longest gap between runs", () => {
    expect(scheduleMaxGapSeconds("0 0 3 * * *")).toBe(86_400);
    expect(scheduleMaxGapSeconds("@weekly")).toBe(7 * 86_400);
    expect(scheduleMaxGapSeconds("0 0 3 1 * *")).toBe(31 * 86_400); // monthly: the longest month
    expect(scheduleMaxGapSeconds("0 0 0,12 * * *")).toBe(12 * 3_600);
    expect(scheduleMaxGapSeconds("0 0 0 29 2 *")).toBe(4 * 365 * 86_400 + 86_400); // Feb 29th: 2028 to 2032
    expect(scheduleMaxGapSeconds("0 0 0 1 1 *")).toBe(366 * 86_400); // yearly: 2028 is a leap year
  });
});

describe("retention", () => {
  test.each([
    ["30d", 30, 30],
    ["2w", 14, 14],
    ["3m", 84, 93],
  ])("%s is %i to %i days", (policy, min, max) => {
    expect(retentionDays(policy)).toEqual({ minDays: min, maxDays: max });
  });

  test("anything else is an error", () => {
    expect(() => retentionDays("30 days")).toThrow('"30 days" is not');
  });
});

describe("the loader refuses, naming the keys", () => {
  test("backups on kind: there is no destination", () => {
    expect(problems("dev", (raw) => (raw["postgres"]["backups"] = { enabled: true }))).toEqual([
      "ducklake:postgres.backups.enabled: backups need a destination: the stack creates an S3 bucket and an IRSA role for them on EKS only, and on kind (cluster.provider: kind) there is neither; set it to false",
    ]);
  });

  test("a recovery window not longer than the gap between base backups", () => {
    const found = problems("prod", (raw) => {
      raw["postgres"]["backups"] = { enabled: true, schedule: "@weekly", retentionPolicy: "7d" };
    });
    expect(found).toEqual([
      'ducklake:postgres.backups.retentionPolicy: the recovery window 7d (at least 7 d) is not longer than the longest gap between base backups of postgres.backups.schedule "@weekly" (7.0 d); lengthen retentionPolicy or run base backups more often',
    ]);
    expect(
      problems(
        "prod",
        (raw) => (raw["postgres"]["backups"] = { enabled: true, schedule: "@weekly", retentionPolicy: "8d" }),
      ),
    ).toEqual([]);
  });

  test("bad syntax: schedule, retention, bucket name, target time", () => {
    const found = problems("prod", (raw) => {
      raw["postgres"]["backups"] = {
        enabled: true,
        schedule: "0 3 * * *",
        retentionPolicy: "30 days",
        bucketName: "my.backups",
        walMaxParallel: 0,
      };
      raw["postgres"]["recovery"] = { sourceClusterName: "Old_Cluster", targetTime: "2026-12-04 05:00" };
    });
    expect(found.join("\n")).toContain("ducklake:postgres.backups.schedule:");
    expect(found.join("\n")).toContain("ducklake:postgres.backups.retentionPolicy: must be <n>d, <n>w or <n>m");
    expect(found.join("\n")).toContain("ducklake:postgres.backups.bucketName: must not contain '.'");
    expect(found.join("\n")).toContain("ducklake:postgres.backups.walMaxParallel: must be > 0");
    expect(found.join("\n")).toContain("ducklake:postgres.recovery.sourceClusterName: must be a DNS-1123 label");
    expect(found.join("\n")).toContain(
      "ducklake:postgres.recovery.targetTime: must be an RFC 3339 time with its offset",
    );
  });

  test.each(["xn--backups", "backups-s3alias", "192.168.1.10", "a..b", "Backups", "ab"])(
    "S3's naming rules: %s",
    (name) => {
      const found = problems("prod", (raw) => (raw["postgres"]["backups"] = { enabled: true, bucketName: name }));
      expect(found.length).toBeGreaterThan(0);
      for (const f of found) expect(f).toMatch(/^ducklake:postgres\.backups\.bucketName: /);
    },
  );

  test("a restore with nowhere to restore from", () => {
    expect(
      problems("prod", (raw) => {
        raw["postgres"]["backups"] = { enabled: false };
        raw["postgres"]["recovery"] = { sourceClusterName: "lineage-pg-old" };
      }),
    ).toEqual([
      "ducklake:postgres.recovery.bucketName: names no bucket to restore from, and postgres.backups is off so the stack has no backup bucket; set recovery.bucketName",
    ]);
  });

  test("a restored cluster that would archive into the archive it restores from", () => {
    expect(problems("prod", (raw) => (raw["postgres"]["recovery"] = { sourceClusterName: "lineage-pg" }))).toEqual([
      'ducklake:postgres.clusterName: is the cluster being restored (postgres.recovery.sourceClusterName "lineage-pg") and the restored cluster would archive its WAL into that cluster\'s archive; give the restored cluster a new postgres.clusterName (docs/backups.md, Restore)',
    ]);
    // A new name is the documented restore.
    expect(
      problems("prod", (raw) => {
        raw["postgres"]["clusterName"] = "lineage-pg-2";
        raw["postgres"]["recovery"] = { sourceClusterName: "lineage-pg", targetTime: "2026-12-04T05:00:00Z" };
      }),
    ).toEqual([]);
  });

  test("a restore on kind", () => {
    expect(
      problems("dev", (raw) => (raw["postgres"]["recovery"] = { sourceClusterName: "x", bucketName: "some-bucket" })),
    ).toEqual([
      "ducklake:postgres.recovery: a restore reads an S3 archive through an IRSA role, which the stack wires on EKS only; remove postgres.recovery on kind",
    ]);
  });

  test("a restore from this stack's own generated bucket is allowed, with a warning for copied stacks", () => {
    const result = validateBackups(
      parsed("prod", (raw) => {
        raw["postgres"]["clusterName"] = "lineage-pg-2";
        raw["postgres"]["recovery"] = { sourceClusterName: "lineage-pg" };
      }),
    );
    expect(result.errors).toEqual([]);
    expect(result.warnings.join("\n")).toContain("wrong for a new or copied stack");
  });

  test("validateBackups on its own: prod as shipped has nothing to say", () => {
    expect(validateBackups(parsed("prod"))).toEqual({ errors: [], warnings: [] });
  });
});

describe("chart values", () => {
  const prod = parsed("prod");
  const destination = { bucketName: "b", region: "eu-west-1", roleArn: "arn:aws:iam::1:role/r" };

  test("backups: the plugin method, IRSA, no credential Secret, the stack's schedule and window", () => {
    expect(backupChartValues(prod.postgres.backups, destination)).toEqual({
      enabled: true,
      method: "plugin",
      pluginConfiguration: { name: "barman-cloud.cloudnative-pg.io" },
      provider: "s3",
      s3: { region: "eu-west-1", bucket: "b", path: "/", inheritFromIAMRole: true },
      secret: { create: false, name: "" },
      wal: { compression: "gzip", encryption: "AES256", maxParallel: 8 },
      data: { compression: "gzip", encryption: "AES256", jobs: 2 },
      scheduledBackups: [
        {
          name: "scheduled",
          schedule: "0 0 3 * * *",
          backupOwnerReference: "self",
          method: "plugin",
          pluginConfiguration: { name: "barman-cloud.cloudnative-pg.io" },
        },
      ],
      retentionPolicy: "30d",
    });
  });

  test("recovery: the source's server name, the target time, the database and its owner", () => {
    expect(
      recoveryChartValues(
        { sourceClusterName: "lineage-pg", targetTime: "2026-12-04T05:00:00Z" },
        "b",
        "eu-west-1",
        "ducklakedb",
        "lineage_owner",
      ),
    ).toMatchObject({
      method: "plugin",
      clusterName: "lineage-pg",
      database: "ducklakedb",
      owner: "lineage_owner",
      pitrTarget: { time: "2026-12-04T05:00:00Z" },
      s3: { bucket: "b", inheritFromIAMRole: true },
    });
  });
});

describe("the bucket and the role", () => {
  test("lifecycle: current objects outlive the window and the backup gap by a week; deleted ones are kept a window", () => {
    expect(backupLifecycle({ retentionPolicy: "30d", schedule: "0 0 3 * * *" })).toEqual({
      currentExpirationDays: 30 + 1 + 7,
      noncurrentExpirationDays: 30,
      abortIncompleteUploadDays: 7,
    });
    expect(backupLifecycle({ retentionPolicy: "1m", schedule: "@weekly" }).currentExpirationDays).toBe(31 + 7 + 7);
  });

  test("access: the backup bucket read and write, a restore source read-only, nothing else", () => {
    const policy = JSON.parse(backupAccessPolicy("arn:aws:s3:::backups", "arn:aws:s3:::old")) as {
      Statement: Array<{ Action: string[]; Resource: string[] }>;
    };
    expect(policy.Statement.map((s) => [s.Action, s.Resource])).toEqual([
      [["s3:ListBucket"], ["arn:aws:s3:::backups"]],
      [["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"], ["arn:aws:s3:::backups/*"]],
      [["s3:ListBucket"], ["arn:aws:s3:::old"]],
      [["s3:GetObject"], ["arn:aws:s3:::old/*"]],
    ]);
    // The same bucket is not granted twice.
    expect(JSON.parse(backupAccessPolicy("arn:aws:s3:::b", "arn:aws:s3:::b")).Statement).toHaveLength(2);
  });
});

test("the plan's lines say what is archived where, and what a restore does", () => {
  expect(backupSummaryLines(parsed("dev"))).toEqual([
    "backups: off (no WAL archive, no base backups: a lost volume loses every message)",
  ]);
  const restored = parsed("prod", (raw) => {
    raw["postgres"]["clusterName"] = "lineage-pg-2";
    raw["postgres"]["recovery"] = { sourceClusterName: "lineage-pg", targetTime: "2026-12-04T05:00:00Z" };
  });
  const lines = backupSummaryLines(restored);
  expect(lines[0]).toContain(
    'base backups "0 0 3 * * *" UTC (every 1.0 d at most) to s3://<generated bucket>/lineage-pg-2/',
  );
  expect(lines[1]).toBe(
    'recovery: cluster "lineage-pg-2" is created from the archive of "lineage-pg" in s3://<this stack\'s backup bucket>/, to 2026-12-04T05:00:00Z (read once, when the cluster is created)',
  );
});
