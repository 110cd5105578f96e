/**
 * Pure decisions of backups and restores: the rules between the `postgres.backups` / `postgres.recovery` keys,
 * the cluster chart's `backups` and `recovery` values, and the S3 bucket's lifecycle and IAM policies. No
 * Pulumi resources here (the bucket and role are `BackupStorage`, ../aws/backup-storage.ts).
 *
 * Mechanism: the Barman Cloud plugin of CloudNativePG (CNPG-I), not the operator's in-tree
 * `barmanObjectStore`: in-tree support is deprecated since CloudNativePG 1.26 and removed in 1.32 ("CloudNativePG
 * 1.31 is the last minor release that ships with native Barman Cloud support",
 * https://cloudnative-pg.io/docs/1.31/appendixes/backup_barmanobjectstore). The cluster chart renders the
 * plugin's `ObjectStore`, the Cluster's `plugins` entry and `ScheduledBackup`s from `backups.method: plugin`
 * (cloudnative-pg/charts, charts/cluster 0.8.1: templates/backup-objectstore.yaml, cluster.yaml,
 * scheduled-backups.yaml, _barman_object_store.tpl), and a plugin recovery source from `recovery.method: plugin`
 * (_bootstrap.tpl, _external_clusters.tpl, recovery-objectstore.yaml).
 *
 * Credentials: none. barman-cloud runs in a sidecar of each instance pod, under the cluster's ServiceAccount
 * (named after the cluster), which carries the IRSA role annotation (`serviceAccountTemplate`); the ObjectStore
 * says `s3Credentials.inheritFromIAMRole: true` (plugin docs, web/docs/object_stores.md, "IAM Role for Service
 * Account (IRSA)").
 */
import { CronExpressionParser } from "cron-parser";
import type { StackConfig } from "../../config/schema";
import type { SemanticIssue, SemanticResult } from "../../config/issues";
import type { BackupsConfig, RecoveryConfig } from "../../config/backups";
import { irsaTrustPolicy } from "../aws/gp3-storage";

/** The Barman Cloud plugin's name in `Cluster.spec.plugins` and `pluginConfiguration` (plugin docs, usage.md). */
export const BARMAN_CLOUD_PLUGIN = "barman-cloud.cloudnative-pg.io";

/** Name of the ScheduledBackup (the chart prefixes the cluster name: `<cluster>-scheduled`). */
export const SCHEDULED_BACKUP_NAME = "scheduled";

/**
 * Parallel jobs of a base backup upload (`data.jobs`): 2, the cluster chart's default (charts/cluster/values.yaml).
 * A base backup is a bulk copy once a schedule period; WAL archiving (`walMaxParallel`) is what must keep up.
 */
export const BASE_BACKUP_JOBS = 2;

/**
 * Server-side encryption barman-cloud asks S3 for on each object (`wal.encryption`, `data.encryption`): `AES256`
 * (SSE-S3), the chart's default. The bucket also encrypts by default with the same algorithm.
 */
export const BACKUP_OBJECT_ENCRYPTION = "AES256";

/** Days in a retention unit, for the check against the schedule: the shortest month (28 days) keeps the check strict. */
const RETENTION_UNIT_MIN_DAYS: Readonly<Record<string, number>> = { d: 1, w: 7, m: 28 };
/** Days in a retention unit, for lifecycle expiry: the longest month (31 days) never expires an object early. */
const RETENTION_UNIT_MAX_DAYS: Readonly<Record<string, number>> = { d: 1, w: 7, m: 31 };

/**
 * The recovery window of a retention policy in days, at its shortest and its longest (`m` is a calendar month).
 * @param policy `<n>d`, `<n>w` or `<n>m` (`RETENTION_POLICY_PATTERN`).
 * @throws Error for any other text.
 */
export function retentionDays(policy: string): { readonly minDays: number; readonly maxDays: number } {
  const m = /^([1-9][0-9]*)([dwm])$/.exec(policy);
  if (m === null) throw new Error(`retention policy "${policy}" is not <n>d, <n>w or <n>m`);
  const n = Number(m[1]);
  const unit = m[2] as string;
  return {
    minDays: n * (RETENTION_UNIT_MIN_DAYS[unit] as number),
    maxDays: n * (RETENTION_UNIT_MAX_DAYS[unit] as number),
  };
}

/**
 * The longest time between two runs of a schedule, in seconds, over the runs from 2026-01-01 to 2035-01-01 UTC
 * (long enough for `@yearly` and for a February 29th); stops after 20,000 runs, which only schedules of a few
 * hours or less reach. Infinity when the schedule runs less than twice in those nine years.
 * @param schedule a schedule `scheduleProblem` accepts (six fields, seconds first, or a descriptor).
 */
export function scheduleMaxGapSeconds(schedule: string): number {
  const key = schedule.trim();
  const known = maxGapCache.get(key);
  if (known !== undefined) return known;
  const gap = computeMaxGapSeconds(key);
  maxGapCache.set(key, gap);
  return gap;
}

/** `scheduleMaxGapSeconds` by schedule text: walking nine years of a daily schedule takes about a second, and every parse of a stack asks. */
const maxGapCache = new Map<string, number>();

function computeMaxGapSeconds(schedule: string): number {
  const start = new Date("2026-01-01T00:00:00Z");
  const end = new Date("2035-01-01T00:00:00Z");
  const expr = CronExpressionParser.parse(schedule, { currentDate: start, endDate: end, tz: "UTC" });
  let previous: number | undefined;
  let maxGap = 0;
  for (let i = 0; i < 20_000 && expr.hasNext(); i++) {
    const t = expr.next().getTime();
    if (previous !== undefined) maxGap = Math.max(maxGap, (t - previous) / 1000);
    previous = t;
  }
  return maxGap === 0 ? Number.POSITIVE_INFINITY : maxGap;
}

/** `12345` seconds as `3.4 h` / `1.0 d`, for messages. */
function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "more than 9 years";
  if (seconds >= 86_400) return `${(seconds / 86_400).toFixed(1)} d`;
  if (seconds >= 3_600) return `${(seconds / 3_600).toFixed(1)} h`;
  if (seconds >= 60) return `${(seconds / 60).toFixed(1)} min`;
  return `${seconds} s`;
}

/**
 * The rules between the backup and recovery keys (the schema checked each key's syntax):
 * - backups and recovery need S3 and IRSA, so EKS: on kind there is no destination;
 * - the recovery window must be longer than the longest gap between base backups (Barman keeps the newest
 *   backup completed before the window's start; a window shorter than the gap means a restore point inside the
 *   window may need a backup the schedule has not yet replaced, and the alert on backup age could never be quiet);
 * - a restore needs a bucket: `recovery.bucketName`, or this stack's backup bucket;
 * - a restored cluster that archives into the archive it restores from must have a new name (Barman refuses to
 *   archive into a server directory that holds another cluster's WAL: "Expected empty archive", plugin docs
 *   troubleshooting.md), and the source's history stays intact.
 * @param config the parsed stack config.
 */
export function validateBackups(config: StackConfig): SemanticResult {
  const errors: SemanticIssue[] = [];
  const warnings: string[] = [];
  const { backups, recovery, clusterName } = config.postgres;
  const onKind = config.cluster.provider !== "eks";
  if (backups.enabled && onKind) {
    errors.push({
      path: ["postgres", "backups", "enabled"],
      value: true,
      message:
        "backups need a destination: the stack creates an S3 bucket and an IRSA role for them on EKS only, and on kind (cluster.provider: kind) there is neither; set it to false",
    });
  }
  if (recovery !== undefined && onKind) {
    errors.push({
      path: ["postgres", "recovery"],
      value: recovery,
      message:
        "a restore reads an S3 archive through an IRSA role, which the stack wires on EKS only; remove postgres.recovery on kind",
    });
  }
  if (backups.enabled) {
    const { minDays } = retentionDays(backups.retentionPolicy);
    const gap = scheduleMaxGapSeconds(backups.schedule);
    if (minDays * 86_400 <= gap) {
      errors.push({
        path: ["postgres", "backups", "retentionPolicy"],
        value: backups.retentionPolicy,
        message:
          `the recovery window ${backups.retentionPolicy} (at least ${minDays} d) is not longer than the longest gap between base backups of postgres.backups.schedule "${backups.schedule}" (${duration(gap)}); ` +
          "lengthen retentionPolicy or run base backups more often",
      });
    }
  }
  if (recovery !== undefined) {
    if (recovery.bucketName === undefined && !backups.enabled) {
      errors.push({
        path: ["postgres", "recovery", "bucketName"],
        value: "unset",
        message:
          "names no bucket to restore from, and postgres.backups is off so the stack has no backup bucket; set recovery.bucketName",
      });
    }
    if (recovery.bucketName === undefined && backups.enabled && backups.bucketName === undefined) {
      warnings.push(
        `ducklake:postgres.recovery names no bucketName, so the restore reads this stack's own backup bucket (generated name): ` +
          `right for restoring this stack's cluster in place, wrong for a new or copied stack, whose bucket is new and empty; set recovery.bucketName to restore another stack's backups`,
      );
    }
    const sameArchive =
      recovery.bucketName === undefined ||
      (backups.bucketName !== undefined && recovery.bucketName === backups.bucketName);
    if (backups.enabled && sameArchive && recovery.sourceClusterName === clusterName) {
      errors.push({
        path: ["postgres", "clusterName"],
        value: clusterName,
        message:
          `is the cluster being restored (postgres.recovery.sourceClusterName "${recovery.sourceClusterName}") and the restored cluster would archive its WAL into that cluster's archive; ` +
          "give the restored cluster a new postgres.clusterName (docs/backups.md, Restore)",
      });
    }
  }
  return { errors, warnings };
}

/** Where the backups go and who may write them: known only once the bucket and role exist. */
export interface BackupDestination {
  /** The backup bucket's name; absent when backups are off (a restore from another bucket only). */
  readonly bucketName?: string;
  /** Its region (the stack's `cluster.region`). */
  readonly region: string;
  /** ARN of the IRSA role barman-cloud assumes. */
  readonly roleArn: string;
}

/** The S3 part of the chart's `backups` and `recovery` sections: bucket, region, the root path, IRSA, no Secret. */
function s3Scope(bucketName: string, region: string): Record<string, unknown> {
  return {
    provider: "s3",
    s3: { region, bucket: bucketName, path: "/", inheritFromIAMRole: true },
    // No credential Secret: inheritFromIAMRole, and the chart would otherwise template one from accessKey/secretKey.
    secret: { create: false, name: "" },
  };
}

/**
 * The cluster chart's `backups` section: plugin method, the bucket through IRSA, WAL and data settings, one
 * ScheduledBackup, the retention policy. Keys from charts/cluster/values.yaml (0.8.1).
 * @param backups `postgres.backups` (enabled).
 * @param destination the bucket, its region and the role.
 */
export function backupChartValues(
  backups: BackupsConfig,
  destination: BackupDestination & { readonly bucketName: string },
): Record<string, unknown> {
  const plugin = { name: BARMAN_CLOUD_PLUGIN };
  return {
    enabled: true,
    method: "plugin",
    pluginConfiguration: plugin,
    ...s3Scope(destination.bucketName, destination.region),
    wal: {
      compression: backups.compression,
      encryption: BACKUP_OBJECT_ENCRYPTION,
      maxParallel: backups.walMaxParallel,
    },
    data: { compression: backups.compression, encryption: BACKUP_OBJECT_ENCRYPTION, jobs: BASE_BACKUP_JOBS },
    scheduledBackups: [
      {
        name: SCHEDULED_BACKUP_NAME,
        schedule: backups.schedule,
        backupOwnerReference: "self",
        method: "plugin",
        pluginConfiguration: plugin,
      },
    ],
    retentionPolicy: backups.retentionPolicy,
  };
}

/**
 * The cluster chart's `mode` and `recovery` section for a restore through the plugin: the source cluster's
 * archive (Barman server name), the target time when given, the application database and its owner.
 * @param recovery `postgres.recovery`.
 * @param bucketName the bucket holding the archive (recovery.bucketName, or the stack's backup bucket).
 * @param region the bucket's region.
 * @param database the application database (`postgres.database`).
 * @param owner its owner (`postgres.ownerRole`).
 */
export function recoveryChartValues(
  recovery: RecoveryConfig,
  bucketName: string,
  region: string,
  database: string,
  owner: string,
): Record<string, unknown> {
  return {
    method: "plugin",
    pluginConfiguration: { name: BARMAN_CLOUD_PLUGIN },
    clusterName: recovery.sourceClusterName,
    database,
    owner,
    pitrTarget: { time: recovery.targetTime ?? "" },
    ...s3Scope(bucketName, region),
  };
}

/**
 * Annotation binding the cluster's ServiceAccount to the IRSA role
 * (https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html).
 */
export const IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn";

/**
 * Trust policy of the backup role: only the Postgres clusters' ServiceAccounts, which CloudNativePG names after the
 * cluster (`serviceAccountTemplate` adds metadata to it: https://cloudnative-pg.io/documentation/current/cloudnative-pg.v1/#postgresql-cnpg-io-v1-ServiceAccountTemplate),
 * through the EKS cluster's OIDC provider (IRSA: https://docs.aws.amazon.com/eks/latest/userguide/associate-service-account-role.html;
 * a `StringEquals` condition with a list matches any of its values).
 * @param oidcProviderArn the cluster's IAM OIDC provider.
 * @param oidcIssuerUrl its issuer URL.
 * @param namespace `postgres.namespace`.
 * @param clusterNames `postgres.clusterName`, and during a restore also the source cluster, so it keeps archiving
 *   WAL until Pulumi deletes it.
 */
export function backupTrustPolicy(
  oidcProviderArn: string,
  oidcIssuerUrl: string,
  namespace: string,
  clusterNames: readonly string[],
): string {
  return irsaTrustPolicy(
    oidcProviderArn,
    oidcIssuerUrl,
    clusterNames.map((name) => ({ namespace, name })),
  );
}

/**
 * Permissions of the backup role: read and write its bucket, and read a restore source bucket when it is another
 * one. The actions are those of the S3 calls barman-cloud makes (EnterpriseDB/barman,
 * barman/cloud_providers/aws_s3.py: `head_bucket` and `list_objects_v2` need s3:ListBucket; `get_object`
 * s3:GetObject; `upload_fileobj`, `create_multipart_upload`, `upload_part`, `complete_multipart_upload`
 * s3:PutObject; `abort_multipart_upload` s3:AbortMultipartUpload; `delete_objects` s3:DeleteObject, per object).
 * No s3:CreateBucket: the stack creates the bucket. No tagging: barman-cloud is given no tags.
 * @param bucketArn `arn:aws:s3:::<backup bucket>`; undefined when backups are off (a restore only).
 * @param recoveryBucketArn the restore source's bucket when it differs from the backup bucket.
 * @returns the policy document as JSON text.
 */
export function backupAccessPolicy(bucketArn: string | undefined, recoveryBucketArn?: string): string {
  const statements: Record<string, unknown>[] = [];
  if (bucketArn !== undefined) {
    statements.push(
      { Sid: "ListBackupBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucketArn] },
      {
        Sid: "ReadWriteBackups",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
        Resource: [`${bucketArn}/*`],
      },
    );
  }
  if (recoveryBucketArn !== undefined && recoveryBucketArn !== bucketArn) {
    statements.push(
      { Sid: "ListRecoverySource", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [recoveryBucketArn] },
      { Sid: "ReadRecoverySource", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${recoveryBucketArn}/*`] },
    );
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}

/** Days an incomplete multipart upload (an interrupted WAL or base backup upload) is kept before S3 aborts it. */
export const ABORT_INCOMPLETE_UPLOAD_DAYS = 7;
/**
 * Days added to the recovery window and the longest gap between base backups before S3 expires a current object:
 * the plugin docs advise expiring current versions "a few days after your Barman retention window"
 * (web/docs/object_stores.md, "S3 Lifecycle Policy"); a week leaves time to notice failing backups first.
 */
export const EXPIRY_MARGIN_DAYS = 7;

/**
 * The bucket's lifecycle, from the plugin docs' advice (web/docs/object_stores.md, "S3 Lifecycle Policy": enable
 * versioning, "expire current versions a few days after your Barman retention window", "expire non-current versions
 * after a longer period"):
 * - current objects expire after the window's longest length + the longest gap between base backups (the oldest
 *   backup Barman still needs is at most that old) + `EXPIRY_MARGIN_DAYS`; Barman's own retention deletes them
 *   before, so S3's expiry only catches what Barman left (for example after the cluster is gone);
 * - a deleted or replaced object stays as a non-current version for another window, against accidental or
 *   malicious deletion;
 * - incomplete multipart uploads are aborted after `ABORT_INCOMPLETE_UPLOAD_DAYS`.
 * @param backups `postgres.backups`.
 */
export function backupLifecycle(backups: Pick<BackupsConfig, "retentionPolicy" | "schedule">): {
  readonly currentExpirationDays: number;
  readonly noncurrentExpirationDays: number;
  readonly abortIncompleteUploadDays: number;
} {
  const { maxDays } = retentionDays(backups.retentionPolicy);
  // validateBackups refuses a gap at or above the window, so the gap is finite here.
  const gapDays = Math.ceil(scheduleMaxGapSeconds(backups.schedule) / 86_400);
  return {
    currentExpirationDays: maxDays + gapDays + EXPIRY_MARGIN_DAYS,
    noncurrentExpirationDays: maxDays,
    abortIncompleteUploadDays: ABORT_INCOMPLETE_UPLOAD_DAYS,
  };
}

/**
 * Lines for the plan's summary: what is archived where, when base backups run, how long they are kept, and what
 * a restore would do.
 * @param config the parsed stack config.
 */
export function backupSummaryLines(config: StackConfig): string[] {
  const { backups, recovery, clusterName } = config.postgres;
  const lines: string[] = [];
  if (backups.enabled) {
    const gap = scheduleMaxGapSeconds(backups.schedule);
    const life = backupLifecycle(backups);
    lines.push(
      `backups: WAL archived continuously (${backups.compression}, ${backups.walMaxParallel} in parallel) and base backups "${backups.schedule}" UTC (every ${duration(gap)} at most) ` +
        `to s3://${backups.bucketName ?? "<generated bucket>"}/${clusterName}/ through the Barman Cloud plugin; recovery window ${backups.retentionPolicy}; ` +
        `S3 expires current objects after ${life.currentExpirationDays} d and deleted ones after ${life.noncurrentExpirationDays} d; credentials: IRSA, none stored`,
    );
  } else {
    lines.push("backups: off (no WAL archive, no base backups: a lost volume loses every message)");
  }
  if (recovery !== undefined) {
    lines.push(
      `recovery: cluster "${clusterName}" is created from the archive of "${recovery.sourceClusterName}" in s3://${recovery.bucketName ?? backups.bucketName ?? "<this stack's backup bucket>"}/, ` +
        (recovery.targetTime === undefined ? "to the end of its archived WAL" : `to ${recovery.targetTime}`) +
        " (read once, when the cluster is created)",
    );
  }
  return lines;
}
