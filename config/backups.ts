/**
 * `ducklake:postgres.backups` and `ducklake:postgres.recovery`: continuous WAL archiving and scheduled base
 * backups to an S3 bucket the stack creates, and a cluster bootstrapped from such a backup (to its latest
 * state or to a point in time).
 *
 * The seed guide says nothing about backups; every default here is derived and cites its source. Syntax is
 * checked here; the rules between keys (retention vs schedule, EKS only, recovery vs archive) are in
 * components/postgres/backups.ts (`validateBackups`).
 */
import { z } from "zod";
import { CronExpressionParser } from "cron-parser";
import { dnsLabel, positiveInt, s3BucketName } from "./common";

/**
 * Retention as the Barman Cloud plugin's `ObjectStore.spec.retentionPolicy` accepts it: `<n><unit>`, unit `d`
 * (days), `w` (weeks) or `m` (months). Pattern `^[1-9][0-9]*[dwm]$` from the plugin's CRD
 * (plugin-barman-cloud chart 0.7.0, templates/crds/crds.yaml; the same in CloudNativePG 1.30's Cluster CRD).
 */
export const RETENTION_POLICY_PATTERN = /^[1-9][0-9]*[dwm]$/;

/**
 * The descriptors CloudNativePG's schedule parser (robfig/cron v1, `cron.Parse`) accepts besides six fields and
 * that `cron-parser` reads the same way. `@every <duration>` is robfig-only and refused here.
 * Source: https://pkg.go.dev/github.com/robfig/cron#hdr-Predefined_schedules
 */
export const SCHEDULE_DESCRIPTORS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/**
 * Why a ScheduledBackup schedule is unusable, or undefined when it is fine. CloudNativePG's schedule is not a
 * Kubernetes CronJob schedule: it has a seconds field first ("it includes an additional seconds specifier",
 * ScheduledBackup CRD, CloudNativePG 1.30; https://pkg.go.dev/github.com/robfig/cron#hdr-CRON_Expression_Format).
 * A five-field crontab line would be read with its first field as seconds: `0 3 * * *` means "at second 0 of
 * minute 3 of every hour", a base backup every hour, so five fields are refused with the six-field spelling.
 * @param schedule the value of `postgres.backups.schedule`.
 */
export function scheduleProblem(schedule: string): string | undefined {
  const text = schedule.trim();
  if (SCHEDULE_DESCRIPTORS.includes(text)) return undefined;
  if (text.startsWith("@"))
    return `"${schedule}" is not a schedule descriptor both CloudNativePG and this check read; use one of ${SCHEDULE_DESCRIPTORS.join(", ")} or six fields`;
  const fields = text.split(/\s+/);
  if (fields.length === 5)
    return (
      `has five fields, but CloudNativePG's schedule has six, seconds first: it would read this as ` +
      `second ${fields[0]}, minute ${fields[1]}, hour ${fields[2]} (write "0 ${text}" for the crontab meaning)`
    );
  if (fields.length !== 6)
    return `"${schedule}" has ${fields.length} fields; CloudNativePG's schedule has six: second minute hour day-of-month month day-of-week`;
  try {
    CronExpressionParser.parse(text, { tz: "UTC" });
  } catch (err) {
    return `"${schedule}" is not a valid schedule: ${(err as Error).message}`;
  }
  return undefined;
}

/**
 * A recovery target time: RFC 3339 with an explicit offset (`2026-12-04T05:00:00Z`). CloudNativePG also accepts
 * PostgreSQL's timestamp format and reads a time without zone as UTC (Cluster CRD, `recoveryTarget.targetTime`);
 * the stack asks for the offset so that a reviewer never has to guess the zone of a restore.
 */
export const rfc3339Time = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/, {
    message: "must be an RFC 3339 time with its offset, e.g. 2026-12-04T05:00:00Z",
  })
  .refine((v) => !Number.isNaN(Date.parse(v)), { message: "is not a real date and time" });

/** `ducklake:postgres.backups`: WAL archive and base backups (EKS only: the bucket and its IRSA role are AWS resources). */
export const BackupsSchema = z.strictObject({
  /** Archive WAL continuously and take scheduled base backups. Defaults to false (dev: no backups). */
  enabled: z.boolean().default(false),
  /**
   * Name of the bucket the stack creates for them; `<project>-<stack>-pgbackup-<random>` when absent. No periods:
   * a dotted name breaks the TLS certificate of virtual-hosted S3 addresses, and AWS advises against them
   * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
   */
  bucketName: s3BucketName
    .refine((v) => !v.includes("."), {
      message:
        "must not contain '.': a dotted bucket name breaks TLS on virtual-hosted S3 addresses (AWS bucket naming rules)",
    })
    .optional(),
  /**
   * When base backups run, CloudNativePG's six-field schedule (seconds first), UTC. Defaults to `0 0 3 * * *`
   * (daily at 03:00 UTC). Between base backups, the WAL archive carries every commit.
   */
  schedule: z
    .string()
    .superRefine((v, ctx) => {
      const problem = scheduleProblem(v);
      if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
    })
    .default("0 0 3 * * *"),
  /**
   * Recovery window (Barman's `RECOVERY WINDOW OF`): how far back a point-in-time restore can reach. Backups and
   * WAL older than the first backup needed for that are deleted. `<n>d`, `<n>w` or `<n>m`. Defaults to `30d`,
   * the cluster chart's default (cloudnative-pg/charts, charts/cluster/values.yaml `backups.retentionPolicy`).
   */
  retentionPolicy: z
    .string()
    .regex(RETENTION_POLICY_PATTERN, {
      message: "must be <n>d, <n>w or <n>m (days, weeks, months), e.g. 30d: the Barman Cloud plugin's retentionPolicy",
    })
    .default("30d"),
  /** Compression of WAL files and base backups (barman-cloud: gzip, bzip2 or snappy). Defaults to `gzip`, the cluster chart's default. */
  compression: z.enum(["gzip", "bzip2", "snappy"]).default("gzip"),
  /**
   * WAL files archived in parallel (`wal.maxParallel`). Defaults to 8 rather than the chart's 1: one
   * barman-cloud-wal-archive upload at a time falls behind a queue at the production rate, and `pg_wal` then
   * grows until the volume is full (docs/backups.md, "WAL volume", has the measured WAL per message).
   */
  walMaxParallel: positiveInt.max(64, { message: "must be <= 64" }).default(8),
});

/**
 * `ducklake:postgres.recovery`: create the cluster from a backup instead of an empty initdb. Read only when the
 * cluster is created (CloudNativePG bootstraps once); restoring is: set this and a new `postgres.clusterName`,
 * then `pulumi up` (docs/backups.md, "Restore").
 */
export const RecoverySchema = z.strictObject({
  /**
   * The cluster whose archive to restore: its `postgres.clusterName` when it was backed up (Barman's server
   * name; the archive is `s3://<bucket>/<sourceClusterName>/`).
   */
  sourceClusterName: dnsLabel,
  /** The bucket holding that archive. Defaults to this stack's backup bucket (`postgres.backups`). */
  bucketName: s3BucketName.optional(),
  /** Restore up to this time (point-in-time recovery); the end of the archived WAL when absent. */
  targetTime: rfc3339Time.optional(),
});

export type BackupsConfig = z.output<typeof BackupsSchema>;
export type RecoveryConfig = z.output<typeof RecoverySchema>;
