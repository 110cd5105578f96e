/**
 * `PartitionMaintenance`: runs `CALL ops.run_partition_maintenance()` (components/queue/sql/partition-maintenance.sql)
 * from a Kubernetes CronJob every maintenance period, as the owner role (the partitions' owner).
 *
 * Why a CronJob (issue 19): the partitions must follow the queue's sequence, and nothing inside the
 * database can run that on a schedule with the default image. pg_partman's background worker runs one
 * fixed, schema-qualified call, `CALL <partman schema>.run_maintenance_proc(...)` (pg_partman
 * src/pg_partman_bgw.c), with no hook; pg_cron is not in the default image (pgmq's images/pgmq-pg
 * Dockerfile adds only pg_partman to the Docker official postgres image). A pod a minute is the price; it
 * requests 50m CPU and 64 MiB for a second or two. pg_partman's worker keeps running beside it (the
 * seed's `pg_partman_bgw.*` settings): both take pg_partman's advisory lock, so they never make the same
 * partition at once.
 *
 * A run that fails (for example, a lock wait over 10 s) records the error in `ops.partition_maintenance`,
 * fails its Job (kept with its log: `failedJobsHistoryLimit`), and the next run retries; the runway
 * covers `runwaySafetyFactor` periods, so one missed run costs nothing.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PARTITION_MAINTENANCE_ROLE_LABEL } from "../postgres/charts";
import {
  bootstrapPodSecurityContext,
  BOOTSTRAP_JOB_RESOURCES,
  DEFAULT_BOOTSTRAP_IMAGE_UID,
  libpqEnv,
  PSQL_CONTAINER_SECURITY_CONTEXT,
  type SslMode,
} from "./bootstrap-job";
import type { MaintenanceSchedule } from "./runway";

/** The CronJob container's resources: the bootstrap Job's (psql and one CALL). */
export const PARTITION_MAINTENANCE_RESOURCES = BOOTSTRAP_JOB_RESOURCES;

/** The statement each run executes (a procedure that commits per partition set: psql must not wrap it in a transaction). */
export const PARTITION_MAINTENANCE_CALL = "CALL ops.run_partition_maintenance()";

/** Arguments of `PartitionMaintenance`. */
export interface PartitionMaintenanceArgs {
  /** Namespace of the CronJob (the Postgres cluster's, so the owner's Secret is readable). */
  readonly namespace: pulumi.Input<string>;
  /** Host of the read-write service (`<cluster>-rw`). */
  readonly host: pulumi.Input<string>;
  /** TCP port. Defaults to 5432. */
  readonly port?: pulumi.Input<number>;
  /** The queue database. */
  readonly database: pulumi.Input<string>;
  /** A `kubernetes.io/basic-auth` Secret with the owner role's `username` and `password` (the cluster's initdb owner). */
  readonly ownerSecretName: pulumi.Input<string>;
  /** When to run (`maintenanceSchedule(pg_partman_bgw.interval)`). */
  readonly schedule: MaintenanceSchedule;
  /** Image with psql (the cluster's own image). */
  readonly image: pulumi.Input<string>;
  /** UID and GID of the image's postgres user (see `bootstrapPodSecurityContext`). Defaults to 26. */
  readonly runAsUser?: number;
  /** libpq `sslmode`. Defaults to `require` (CloudNativePG always serves TLS). */
  readonly sslMode?: SslMode;
}

/**
 * The CronJob's `spec` (pure: unit-tested and shown in the plan).
 * - `concurrencyPolicy: Forbid`: a run still going when the next is due makes the next one skip;
 * - `startingDeadlineSeconds` = the period: a run the controller missed (controller down) still starts
 *   within its period, later ones do not pile up;
 * - `activeDeadlineSeconds` = the period: a hung run is stopped before it blocks two periods;
 * - `backoffLimit: 0`: no retry inside a run, the next scheduled run is the retry;
 * - `timeZone: Etc/UTC` (stable since Kubernetes 1.27).
 * Sources: https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ (concurrencyPolicy,
 * startingDeadlineSeconds, timeZone, jobs history limits).
 */
export function partitionMaintenanceCronJobSpec(
  args: Pick<PartitionMaintenanceArgs, "schedule" | "image" | "runAsUser" | "sslMode"> & {
    host: pulumi.Input<string>;
    port: pulumi.Input<string>;
    database: pulumi.Input<string>;
    ownerSecretName: pulumi.Input<string>;
  },
): k8s.types.input.batch.v1.CronJobSpec {
  const labels = partitionMaintenanceLabels();
  return {
    schedule: args.schedule.cron,
    timeZone: "Etc/UTC",
    concurrencyPolicy: "Forbid",
    startingDeadlineSeconds: args.schedule.periodSeconds,
    successfulJobsHistoryLimit: 1,
    failedJobsHistoryLimit: 3,
    jobTemplate: {
      metadata: { labels },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: args.schedule.periodSeconds,
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: "Never",
            securityContext: bootstrapPodSecurityContext(args.runAsUser ?? DEFAULT_BOOTSTRAP_IMAGE_UID),
            containers: [
              {
                name: "partition-maintenance",
                image: args.image,
                command: ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", PARTITION_MAINTENANCE_CALL],
                env: libpqEnv({
                  host: args.host,
                  port: args.port,
                  database: args.database,
                  secretName: args.ownerSecretName,
                  sslMode: args.sslMode,
                  applicationName: "ducklake-partition-maintenance",
                }),
                resources: PARTITION_MAINTENANCE_RESOURCES,
                securityContext: PSQL_CONTAINER_SECURITY_CONTEXT,
              },
            ],
          },
        },
      },
    },
  };
}

/** Labels of the CronJob, its Jobs and pods (the NetworkPolicy admits `PARTITION_MAINTENANCE_ROLE_LABEL`). */
export function partitionMaintenanceLabels(): Record<string, string> {
  return {
    [PARTITION_MAINTENANCE_ROLE_LABEL.key]: PARTITION_MAINTENANCE_ROLE_LABEL.value,
    "app.kubernetes.io/name": "partition-maintenance",
    "app.kubernetes.io/component": "database-maintenance",
    "app.kubernetes.io/part-of": "ducklake",
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

/** The partition-maintenance CronJob. Type token `ducklake:queue:PartitionMaintenance`. */
export class PartitionMaintenance extends pulumi.ComponentResource {
  /** Name of the CronJob. */
  public readonly cronJobName: pulumi.Output<string>;
  /** Its schedule (cron syntax, UTC). */
  public readonly schedule: pulumi.Output<string>;

  /**
   * @param name component name; the child is `${name}-cronjob`.
   * @param args see `PartitionMaintenanceArgs`.
   * @param opts component options (pass `dependsOn` the bootstrap Job, which creates the procedure, and the provider).
   * @throws pulumi.ResourceError when runAsUser is not a positive integer; nothing is created then.
   */
  constructor(name: string, args: PartitionMaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ducklake:queue:PartitionMaintenance", name, {}, opts);
    let spec: k8s.types.input.batch.v1.CronJobSpec;
    try {
      spec = partitionMaintenanceCronJobSpec({
        ...args,
        port: pulumi.output(args.port ?? 5432).apply((p) => String(p)),
      });
    } catch (e) {
      throw new pulumi.ResourceError((e as Error).message, this);
    }
    const cronJob = new k8s.batch.v1.CronJob(
      `${name}-cronjob`,
      {
        metadata: { name: "partition-maintenance", namespace: args.namespace, labels: partitionMaintenanceLabels() },
        spec,
      },
      { parent: this },
    );
    this.cronJobName = cronJob.metadata.name;
    this.schedule = pulumi.output(args.schedule.cron);
    this.registerOutputs({ cronJobName: this.cronJobName, schedule: this.schedule });
  }
}
