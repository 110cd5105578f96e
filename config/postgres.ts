/**
 * `ducklake:postgres`: the CloudNativePG cluster and its tuning.
 */
import { z } from "zod";
import { dnsLabel, kubeCpu, kubeMemory, pgIdentifier, pgRoleName, positiveInt } from "./common";
import { BackupsSchema, RecoverySchema } from "./backups";

/** PostgreSQL majors this project supports. Source: DESIGN.md ("17 by default, 15–18 accepted"). */
export const SUPPORTED_MAJORS = [15, 16, 17, 18] as const;

/** Whether a number is a PostgreSQL major this project supports (`SUPPORTED_MAJORS`): the one check every module uses. */
export function isSupportedMajor(major: number): boolean {
  return (SUPPORTED_MAJORS as readonly number[]).includes(major);
}

/**
 * Settings that make every session (or the server) load code from a file path. The stack has no use for
 * them, and a value here is a way to run arbitrary code in every backend
 * (https://www.postgresql.org/docs/current/runtime-config-client.html#RUNTIME-CONFIG-CLIENT-PRELOAD), so they
 * are refused; `shared_preload_libraries` is limited to `KNOWN_PRELOAD_LIBRARIES`.
 */
export const CODE_LOADING_SETTINGS = [
  "session_preload_libraries",
  "local_preload_libraries",
  "dynamic_library_path",
] as const;

/**
 * Libraries `shared_preload_libraries` may name: the seed guide's two (pg_partman's background worker,
 * pg_stat_statements) and two contrib modules every PostgreSQL image carries (auto_explain, pg_prewarm).
 */
export const KNOWN_PRELOAD_LIBRARIES = ["pg_partman_bgw", "pg_stat_statements", "auto_explain", "pg_prewarm"] as const;

/** A GUC name as PostgreSQL spells it (`shared_buffers`, `pg_partman_bgw.interval`). */
export const gucName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/, {
    message: "must be a PostgreSQL setting name such as shared_buffers or pg_partman_bgw.interval",
  })
  .refine((v) => !(CODE_LOADING_SETTINGS as readonly string[]).includes(v), {
    message: `loads code from a file path into every session; the stack does not set it (refused: ${CODE_LOADING_SETTINGS.join(", ")})`,
  });

/** The libraries of a `shared_preload_libraries` value that are not in `KNOWN_PRELOAD_LIBRARIES`. */
export function unknownPreloadLibraries(value: unknown): string[] {
  if (typeof value !== "string") return [];
  return value
    .split(",")
    .map((l) => l.trim().replace(/^"|"$/g, ""))
    .filter((l) => l.length > 0 && !(KNOWN_PRELOAD_LIBRARIES as readonly string[]).includes(l));
}

/**
 * A setting value: a number, a boolean, or text. Memory sizes are PostgreSQL units (`2GB`) or a share of
 * the pod's memory limit (`75%`); times are PostgreSQL units (`10s`, `5min`).
 */
export const gucValue = z.union([
  z.number(),
  z.boolean(),
  // A line break would end the postgresql.conf line and start another setting (configuration injection:
  // `"x\nfsync = off"`); no PostgreSQL setting takes control characters.
  z.string().refine((v) => !/[\u0000-\u001f\u007f]/.test(v), {
    message: "must not contain a line break or other control character (it would start another postgresql.conf line)",
  }),
]);

/** A map of setting name to value. */
export const gucMap = z.record(gucName, gucValue);

/**
 * One deliberate departure from the seed guide (or a setting the guide does not name), with its reason.
 * The reason is rendered beside the value in postgresql.conf and in the plan, so a reviewer never has to
 * guess why the stack differs from the guide.
 */
export const gucOverride = z.strictObject(
  {
    /** The value this stack uses instead. */
    value: gucValue,
    /** Why: the finding, measurement or promise that makes the guide's value (or PostgreSQL's default) wrong here. */
    reason: z
      .string()
      .trim()
      .min(10, { message: "must say why the stack departs from the guide (at least 10 characters)" }),
  },
  {
    error: (issue) =>
      issue.code === "invalid_type"
        ? "an override is { value, reason }: the value, and why the stack departs from the guide"
        : undefined,
  },
);

/** A map of setting name to override. */
export const gucOverrideMap = z.record(gucName, gucOverride);

/**
 * Tuning profile: the seed guide's values for one environment, verbatim, plus this stack's deliberate
 * departures. What neither gives is derived by the tuning engine (components/postgres/tuning.ts), each with
 * its formula, or left at PostgreSQL's default.
 */
export const TuningSchema = z
  .strictObject({
    /** Which section of the seed guide `seed` transcribes: `development` or `production`. */
    profile: z.enum(["development", "production"]),
    /**
     * The seed guide's values for this environment, exactly as the guide gives them (test/config/seed.test.ts
     * compares them with the guide itself). Each seed value lives here and nowhere else.
     */
    seed: gucMap,
    /**
     * This stack's departures from the seed, each `{ value, reason }` (e.g. `synchronous_commit: { value: "on",
     * reason: "prod promises no acknowledged message lost" }`), validated like the rest and rendered with origin
     * `override` and its reason. Defaults to none.
     */
    overrides: gucOverrideMap.default({}),
    /** Request huge pages for shared memory (`huge_pages = on`, pod requests `hugepages-2Mi`). Defaults to false (`huge_pages = off`). */
    hugePages: z.boolean().default(false),
  })
  .superRefine((tuning, ctx) => {
    const check = (value: unknown, path: (string | number)[]) => {
      const unknown = unknownPreloadLibraries(value);
      if (unknown.length > 0)
        ctx.addIssue({
          code: "custom",
          path,
          message: `shared_preload_libraries may name only ${KNOWN_PRELOAD_LIBRARIES.join(", ")} (a library loaded into the server runs with its privileges); not ${unknown.join(", ")}`,
        });
    };
    check(tuning.seed["shared_preload_libraries"], ["seed", "shared_preload_libraries"]);
    const o = tuning.overrides["shared_preload_libraries"];
    if (o !== undefined) check(o.value, ["overrides", "shared_preload_libraries", "value"]);
  });

/** The value a stack sets for one setting, where it was set, and why (overrides only). */
export interface EffectiveSetting {
  /** The value as written in the stack file. */
  readonly value: GucValue;
  /** `seed` (the guide's value) or `override` (the stack's departure). */
  readonly origin: "seed" | "override";
  /** Key path relative to `ducklake`, e.g. `["postgres", "tuning", "overrides", "synchronous_commit", "value"]`. */
  readonly path: readonly string[];
  /** The override's reason. */
  readonly reason?: string;
  /** The seed value an override replaces, when the guide gives one. */
  readonly replaces?: GucValue;
}

/**
 * The one rule for "which value does the stack set": an override beats the seed. Used by the tuning engine
 * and by every reader of a single setting (the runway's `pg_partman_bgw.interval`).
 * @returns undefined when the stack sets neither (the engine derives it or PostgreSQL's default applies).
 */
export function effectiveSetting(
  tuning: Pick<TuningConfig, "seed" | "overrides">,
  name: string,
): EffectiveSetting | undefined {
  // Own properties only: a setting named like an Object.prototype member (`constructor`) is just unknown.
  const o = Object.hasOwn(tuning.overrides, name) ? tuning.overrides[name] : undefined;
  const seed = Object.hasOwn(tuning.seed, name) ? tuning.seed[name] : undefined;
  if (o !== undefined) {
    return {
      value: o.value,
      origin: "override",
      path: ["postgres", "tuning", "overrides", name, "value"],
      reason: o.reason,
      ...(seed !== undefined ? { replaces: seed } : {}),
    };
  }
  if (seed !== undefined) return { value: seed, origin: "seed", path: ["postgres", "tuning", "seed", name] };
  return undefined;
}

/** PgBouncer pooler in front of the read-write service (CloudNativePG `Pooler`). */
export const PoolerSchema = z.strictObject({
  /** Create the pooler. Defaults to false. */
  enabled: z.boolean().default(false),
  /** PgBouncer pods. Defaults to 2. */
  instances: positiveInt.default(2),
  /** Pool mode; transaction mode is what a queue of short statements wants. Defaults to `transaction`. */
  poolMode: z.enum(["transaction", "session"]).default("transaction"),
  /** PgBouncer `default_pool_size`: server connections per user/database pair. Defaults to 50. */
  defaultPoolSize: positiveInt.default(50),
  /** PgBouncer `max_client_conn`. Defaults to 1000. */
  maxClientConn: positiveInt.default(1000),
});

/**
 * Synchronous replication of the CloudNativePG cluster (`spec.postgresql.synchronous`; CRD of CloudNativePG 1.30,
 * https://cloudnative-pg.io/documentation/current/replication/#synchronous-replication): a commit waits until
 * `number` standbys have its WAL, so a failover loses no acknowledged message.
 */
export const SynchronousReplicationSchema = z.strictObject({
  /** `any` (quorum: any `number` standbys) or `first` (priority order). Defaults to `any`. */
  method: z.enum(["any", "first"]).default("any"),
  /** Standbys every commit waits for. Defaults to 1. At most `instances - 1`. */
  number: positiveInt.default(1),
  /**
   * `required`: with fewer healthy standbys than `number`, commits wait (no acknowledged message exists on one node
   * only). `preferred`: CloudNativePG lowers the number to the healthy standbys, and then a failover can lose
   * acknowledged commits. Defaults to `required`.
   */
  dataDurability: z.enum(["required", "preferred"]).default("required"),
});

/** `ducklake:postgres`. */
export const PostgresSchema = z.strictObject({
  /** Namespace of the Postgres cluster, its Secrets and the bootstrap Job. Defaults to `ducklake-db`. */
  namespace: dnsLabel.default("ducklake-db"),
  /** Name of the CloudNativePG `Cluster` (services are `<name>-rw`, `<name>-ro`). Defaults to `lineage-pg`. */
  clusterName: dnsLabel.default("lineage-pg"),
  /** PostgreSQL major version, 15–18. Defaults to 17. */
  majorVersion: z
    .number()
    .int({ message: "must be an integer" })
    .refine(isSupportedMajor, { message: `must be one of ${SUPPORTED_MAJORS.join(", ")}` })
    .default(17),
  /** Postgres instances: 1 primary plus replicas. dev 1, prod 3. */
  instances: z
    .number()
    .int({ message: "must be an integer" })
    .min(1, { message: "must be >= 1" })
    .max(9, { message: "must be <= 9" }),
  /** Full image reference (`repo:tag` or digest) carrying pgmq and pg_partman; the default is derived from `majorVersion` (see docs/postgres-cluster.md "Image"). */
  image: z.string().min(1).optional(),
  /**
   * UID (and GID) of the `postgres` user inside the image: CloudNativePG's `postgresUID`/`postgresGID`.
   * Defaults to 999 for the default image (built on the Docker official postgres image) and to 26 for any
   * other image (CloudNativePG's images and images/postgres/Dockerfile).
   */
  imageUserId: positiveInt.optional(),
  /** Pod resources; request = limit, so the memory budget the tuning engine checks is what the pod gets. */
  resources: z.strictObject({
    /** Memory request and limit, e.g. `4Gi`. */
    memory: kubeMemory,
    /** CPU request and limit, e.g. `2`. */
    cpu: kubeCpu,
  }),
  /** Volumes per instance. */
  storage: z.strictObject({
    /** Data volume size in GiB. */
    sizeGiB: positiveInt,
    /** Separate WAL volume size in GiB; WAL shares the data volume when absent. */
    walSizeGiB: positiveInt.optional(),
  }),
  /** Application database; pg_partman's worker maintains it (`pg_partman_bgw.dbname`). Defaults to `ducklakedb`, the seed guide's name. */
  database: pgIdentifier.default("ducklakedb"),
  /** Role that owns the database and the queue tables (CloudNativePG's initdb owner); pg_partman's background worker runs as it. Defaults to `lineage_owner`. */
  ownerRole: pgRoleName.default("lineage_owner"),
  /** Application role: send/read/archive/delete on its queues, nothing more. Defaults to `lineage_app`. */
  appUser: pgRoleName.default("lineage_app"),
  /**
   * Monitoring role: logs in, is a member of `pg_monitor` and reads the `ops` monitoring views and functions; it
   * cannot send, read (consume), archive or delete messages, nor write to the queue tables. Its password is generated
   * like the app role's (Secret `<clusterName>-monitoring-credentials`). Defaults to `lineage_monitor`.
   */
  monitoringUser: pgRoleName.default("lineage_monitor"),
  /** Namespaces whose pods may reach Postgres (NetworkPolicy). Defaults to `[default]`. */
  appNamespaces: z.array(dnsLabel).min(1).default(["default"]),
  /** Namespaces whose pods may scrape the Postgres metrics port 9187 and PgBouncer's 9127 (NetworkPolicy). Defaults to `[monitoring]`. */
  metricsNamespaces: z.array(dnsLabel).min(1).default(["monitoring"]),
  /**
   * Synchronous replication to the standbys (needs `instances` >= 2); absent: asynchronous, and a failover can lose
   * the commits a standby had not received yet.
   */
  synchronousReplication: SynchronousReplicationSchema.optional(),
  /** Allow two instances on one node (no required anti-affinity); only for single-node test clusters. Defaults to false. */
  allowColocatedInstances: z.boolean().default(false),
  /** PgBouncer pooler. Defaults to disabled. */
  pooler: PoolerSchema.default({
    enabled: false,
    instances: 2,
    poolMode: "transaction",
    defaultPoolSize: 50,
    maxClientConn: 1000,
  }),
  /** Create a PodMonitor (needs the Prometheus Operator CRDs in the cluster). Defaults to false. */
  podMonitor: z.boolean().default(false),
  /**
   * The reason this stack accepts losing acknowledged messages on a crash of the primary: required when
   * `synchronous_commit` is `off` (PostgreSQL then acknowledges commits before their WAL is flushed:
   * https://www.postgresql.org/docs/current/wal-async-commit.html), refused otherwise. The product promises
   * no acknowledged message lost; a stack that departs from it says so here, by name.
   */
  acceptDataLoss: z
    .string()
    .trim()
    .min(10, { message: "must say why this stack may lose acknowledged messages (at least 10 characters)" })
    .optional(),
  /**
   * WAL archive and scheduled base backups to an S3 bucket the stack creates (EKS only). Defaults to off.
   * Reference and restore runbook: docs/backups.md.
   */
  backups: BackupsSchema.default({
    enabled: false,
    schedule: "0 0 3 * * *",
    retentionPolicy: "30d",
    compression: "gzip",
    walMaxParallel: 8,
  }),
  /** Create the cluster from a backup (restore); absent: an empty cluster (initdb). See docs/backups.md "Restore". */
  recovery: RecoverySchema.optional(),
  /** Namespace of the CloudNativePG operator. Defaults to `cnpg-system`. */
  operatorNamespace: dnsLabel.default("cnpg-system"),
  /** postgresql.conf tuning. */
  tuning: TuningSchema,
});

export type PostgresConfig = z.output<typeof PostgresSchema>;
export type TuningConfig = z.output<typeof TuningSchema>;
export type GucValue = z.output<typeof gucValue>;
export type GucOverride = z.output<typeof gucOverride>;
export type SynchronousReplicationConfig = z.output<typeof SynchronousReplicationSchema>;
