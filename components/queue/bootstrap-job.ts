/**
 * `QueueBootstrap`: applies the queue bootstrap SQL in the cluster. A ConfigMap carries the SQL; a Job
 * whose name carries the SQL's hash runs it with psql, so a changed SQL makes a new Job (and an unchanged
 * one makes none). The Job waits for the database (pg_isready), retries (a new pod per attempt, so every
 * attempt's output stays in its pod's log), reads the superuser credentials from a Secret, and runs the
 * whole file in one transaction.
 */
import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** The bootstrap Job's container resources (components/kind-capacity.ts sums the requests). */
export const BOOTSTRAP_JOB_RESOURCES = {
  requests: { cpu: "50m", memory: "64Mi" },
  limits: { memory: "128Mi" },
} as const;

/**
 * Default image of the Job: CloudNativePG's minimal PostgreSQL image, which carries psql and
 * pg_isready and runs as the unprivileged user 26 (source: cloudnative-pg `pkg/versions/versions.go`
 * names `ghcr.io/cloudnative-pg/postgresql:18.6-system-trixie` as the operator default; the `minimal`
 * flavour drops the extensions the Job does not need). psql 18 talks to servers 15–18.
 */
export const DEFAULT_BOOTSTRAP_IMAGE = "ghcr.io/cloudnative-pg/postgresql:18.6-minimal-trixie";

/** UID/GID of `postgres` in `DEFAULT_BOOTSTRAP_IMAGE` (CloudNativePG's images; cluster chart values.yaml `postgresUID`). */
export const DEFAULT_BOOTSTRAP_IMAGE_UID = 26;

/** Arguments of `QueueBootstrap`. */
export interface QueueBootstrapArgs {
  /** Namespace of the ConfigMap and the Job (the Postgres cluster's, so the Secret is readable). */
  readonly namespace: pulumi.Input<string>;
  /** Host of the read-write service, e.g. `lineage-pg-rw` (CloudNativePG names it `<cluster>-rw`). */
  readonly host: pulumi.Input<string>;
  /** TCP port. Defaults to 5432. */
  readonly port?: pulumi.Input<number>;
  /** Database the SQL is for (it checks it). */
  readonly database: pulumi.Input<string>;
  /** A `kubernetes.io/basic-auth` Secret with `username` and `password` of a superuser (CloudNativePG `<cluster>-superuser` with `enableSuperuserAccess: true`). */
  readonly superuserSecretName: pulumi.Input<string>;
  /** The SQL (from `generateBootstrapSql`). Its SHA-256 names the Job. */
  readonly sql: string;
  /** Image with psql and pg_isready. Defaults to `DEFAULT_BOOTSTRAP_IMAGE`. */
  readonly image?: pulumi.Input<string>;
  /**
   * UID and GID the Job runs as: the image's `postgres` user. Defaults to `DEFAULT_BOOTSTRAP_IMAGE_UID` (26,
   * CloudNativePG's images). Give it with `image`: 999 for images built on the Docker official postgres image
   * (the default Postgres image; index.ts passes `resolveImage(...).postgresUid`).
   */
  readonly runAsUser?: number;
  /** Prefix of the Job and ConfigMap names (`<prefix>-<hash>`), a DNS-1123 label of at most 40 characters. Defaults to `queue-bootstrap`. */
  readonly namePrefix?: string;
  /** Pods the Job may retry with after a failure (Job `backoffLimit`). Defaults to 6 (exponential back-off, ~6 minutes in total). */
  readonly backoffLimit?: number;
  /** Seconds each attempt waits for the database to accept connections before failing. Defaults to 300. */
  readonly waitForDatabaseSeconds?: number;
  /** libpq `sslmode`. Defaults to `require` (CloudNativePG always serves TLS). */
  readonly sslMode?: SslMode;
  /** Extra labels on the ConfigMap, Job and pod. Defaults to none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** SHA-256 of the SQL, hex. */
export function sqlSha256(sql: string): string {
  return crypto.createHash("sha256").update(sql, "utf8").digest("hex");
}

/**
 * The Job's name: `<prefix>-<first 10 hex digits of the SQL's SHA-256>` (a DNS-1123 label).
 * @throws Error when the prefix is not a DNS-1123 label of at most 40 characters.
 */
export function bootstrapJobName(prefix: string, sql: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(prefix) || prefix.length > 40) {
    throw new Error(`namePrefix "${prefix}" must be a DNS-1123 label of at most 40 characters`);
  }
  return `${prefix}-${sqlSha256(sql).slice(0, 10)}`;
}

/**
 * The Job container's shell script: wait for the server (pg_isready, every 5 s, up to
 * `waitForDatabaseSeconds`), then run the SQL in one transaction, stopping at the first error.
 * Connection settings come from the libpq environment (PGHOST, PGUSER, PGPASSWORD, ...).
 */
export function bootstrapScript(waitForDatabaseSeconds: number): string {
  const tries = Math.max(1, Math.ceil(waitForDatabaseSeconds / 5));
  return [
    "set -eu",
    'echo "queue bootstrap: sql sha256 ${SQL_SHA256}, target ${PGHOST}:${PGPORT}/${PGDATABASE}"',
    "i=0",
    `until pg_isready -q; do`,
    `  i=$((i+1))`,
    `  if [ "$i" -ge ${tries} ]; then echo "database not ready after ${waitForDatabaseSeconds} s" >&2; exit 1; fi`,
    `  echo "waiting for the database ($i/${tries})"`,
    "  sleep 5",
    "done",
    "psql -X -v ON_ERROR_STOP=1 --single-transaction --echo-errors -f /bootstrap/bootstrap.sql",
    'echo "queue bootstrap: done"',
  ].join("\n");
}

/** libpq `sslmode` values (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNECT-SSLMODE). */
export type SslMode = "disable" | "prefer" | "require" | "verify-ca" | "verify-full";

/**
 * The libpq environment of a psql container (https://www.postgresql.org/docs/current/libpq-envars.html):
 * host, port, database, the role's `username`/`password` read from a `kubernetes.io/basic-auth` Secret
 * (never a value in the pod spec), `sslmode` (default `require`: CloudNativePG always serves TLS), a 5 s
 * connect timeout and an application name that shows in `pg_stat_activity`. Used by the bootstrap Job and
 * the partition-maintenance CronJob.
 */
export function libpqEnv(args: {
  host: pulumi.Input<string>;
  port: pulumi.Input<string>;
  database: pulumi.Input<string>;
  secretName: pulumi.Input<string>;
  sslMode?: SslMode;
  applicationName: string;
}): k8s.types.input.core.v1.EnvVar[] {
  const secretKey = (key: "username" | "password") => ({ secretKeyRef: { name: args.secretName, key } });
  return [
    { name: "PGHOST", value: args.host },
    { name: "PGPORT", value: args.port },
    { name: "PGDATABASE", value: args.database },
    { name: "PGUSER", valueFrom: secretKey("username") },
    { name: "PGPASSWORD", valueFrom: secretKey("password") },
    { name: "PGSSLMODE", value: args.sslMode ?? "require" },
    { name: "PGCONNECT_TIMEOUT", value: "5" },
    { name: "PGAPPNAME", value: args.applicationName },
  ];
}

/** The psql containers' security context: no privilege escalation, read-only root filesystem, no capabilities. */
export const PSQL_CONTAINER_SECURITY_CONTEXT: k8s.types.input.core.v1.SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
};

/**
 * The Job pod's security context: non-root, as the image's `postgres` user and group, default seccomp.
 * The Docker official postgres image (base of the default Postgres image) creates `postgres` with UID/GID
 * 999 and sets no `USER` (https://github.com/docker-library/postgres/blob/master/17/bookworm/Dockerfile:
 * `groupadd -r postgres --gid=999; useradd -r -g postgres --uid=999`); CloudNativePG's images use 26. Running as a
 * UID the image does not know leaves psql without a passwd entry or home.
 * @param uid the image's postgres UID (also the GID).
 * @throws Error when the UID is not a positive integer (0 would be root).
 */
export function bootstrapPodSecurityContext(uid: number): {
  runAsNonRoot: true;
  runAsUser: number;
  runAsGroup: number;
  seccompProfile: { type: "RuntimeDefault" };
} {
  if (!Number.isInteger(uid) || uid < 1)
    throw new Error(`runAsUser must be a positive integer UID, not root (got ${uid})`);
  return { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, seccompProfile: { type: "RuntimeDefault" } };
}

/** Applies the queue bootstrap SQL with a Kubernetes Job. Type token `ducklake:queue:QueueBootstrap`. */
export class QueueBootstrap extends pulumi.ComponentResource {
  /** Name of the Job (`<prefix>-<hash>`). */
  public readonly jobName: pulumi.Output<string>;
  /** Name of the ConfigMap holding the SQL. */
  public readonly configMapName: pulumi.Output<string>;
  /** SHA-256 of the SQL, hex. */
  public readonly sqlSha256: pulumi.Output<string>;

  /**
   * @param name component name; children are `${name}-sql` (ConfigMap) and `${name}-job` (Job).
   * @param args see `QueueBootstrapArgs`.
   * @param opts component options (pass `dependsOn` the Postgres cluster and the provider).
   * @throws pulumi.ResourceError when the SQL is empty, or namePrefix, backoffLimit, runAsUser or
   *   waitForDatabaseSeconds are out of range; nothing is created then.
   */
  constructor(name: string, args: QueueBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ducklake:queue:QueueBootstrap", name, {}, opts);
    const prefix = args.namePrefix ?? "queue-bootstrap";
    const backoffLimit = args.backoffLimit ?? 6;
    const waitSeconds = args.waitForDatabaseSeconds ?? 300;
    if (args.sql.trim().length === 0) throw new pulumi.ResourceError("sql is empty: nothing to bootstrap", this);
    if (!Number.isInteger(backoffLimit) || backoffLimit < 0)
      throw new pulumi.ResourceError(`backoffLimit must be an integer >= 0 (got ${backoffLimit})`, this);
    if (!Number.isInteger(waitSeconds) || waitSeconds < 5)
      throw new pulumi.ResourceError(`waitForDatabaseSeconds must be an integer >= 5 (got ${waitSeconds})`, this);
    let jobName: string;
    let podSecurityContext: ReturnType<typeof bootstrapPodSecurityContext>;
    try {
      podSecurityContext = bootstrapPodSecurityContext(args.runAsUser ?? DEFAULT_BOOTSTRAP_IMAGE_UID);
      jobName = bootstrapJobName(prefix, args.sql);
    } catch (e) {
      throw new pulumi.ResourceError((e as Error).message, this);
    }
    const hash = sqlSha256(args.sql);

    const labels = {
      ...(args.labels ?? {}),
      "app.kubernetes.io/name": "queue-bootstrap",
      "app.kubernetes.io/component": "database-bootstrap",
      "app.kubernetes.io/part-of": "ducklake",
      "app.kubernetes.io/managed-by": "pulumi",
    };
    const configMap = new k8s.core.v1.ConfigMap(
      `${name}-sql`,
      {
        metadata: { name: jobName, namespace: args.namespace, labels, annotations: { "ducklake.io/sql-sha256": hash } },
        data: { "bootstrap.sql": args.sql },
      },
      { parent: this },
    );
    const job = new k8s.batch.v1.Job(
      `${name}-job`,
      {
        metadata: {
          name: jobName,
          namespace: args.namespace,
          labels,
          annotations: { "ducklake.io/sql-sha256": hash, "pulumi.com/timeoutSeconds": "1800" },
        },
        spec: {
          backoffLimit,
          // No ttlSecondsAfterFinished: the finished Job and its pods stay, with their logs.
          template: {
            metadata: { labels },
            spec: {
              restartPolicy: "Never", // each retry is a new pod, so every attempt's log is kept
              securityContext: podSecurityContext,
              containers: [
                {
                  name: "bootstrap",
                  image: args.image ?? DEFAULT_BOOTSTRAP_IMAGE,
                  command: ["/bin/sh", "-c", bootstrapScript(waitSeconds)],
                  env: [
                    ...libpqEnv({
                      host: args.host,
                      port: pulumi.output(args.port ?? 5432).apply((p) => String(p)),
                      database: args.database,
                      secretName: args.superuserSecretName,
                      sslMode: args.sslMode,
                      applicationName: "ducklake-queue-bootstrap",
                    }),
                    { name: "SQL_SHA256", value: hash },
                  ],
                  volumeMounts: [{ name: "sql", mountPath: "/bootstrap", readOnly: true }],
                  resources: BOOTSTRAP_JOB_RESOURCES,
                  securityContext: PSQL_CONTAINER_SECURITY_CONTEXT,
                },
              ],
              volumes: [{ name: "sql", configMap: { name: configMap.metadata.name } }],
            },
          },
        },
      },
      { parent: this, deleteBeforeReplace: true },
    );
    this.jobName = job.metadata.name;
    this.configMapName = configMap.metadata.name;
    this.sqlSha256 = pulumi.output(hash);
    this.registerOutputs({ jobName: this.jobName, configMapName: this.configMapName, sqlSha256: this.sqlSha256 });
  }
}
