/**
 * `ducklake:postgres`: the CloudNativePG cluster and its tuning.
 */
import { z } from "zod";
import { dnsLabel, kubeCpu, kubeMemory, pgIdentifier, positiveInt } from "./common";

/** PostgreSQL majors this project supports. Source: DESIGN.md ("17 by default, 15–18 accepted"). */
export const SUPPORTED_MAJORS = [15, 16, 17, 18] as const;

/** A GUC name as PostgreSQL spells it (`shared_buffers`, `pg_partman_bgw.interval`). */
export const gucName = z.string().regex(/^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/, {
  message: "must be a PostgreSQL setting name such as shared_buffers or pg_partman_bgw.interval",
});

/**
 * A setting value: a number, a boolean, or text. Memory sizes are PostgreSQL units (`2GB`) or a share of
 * the pod's memory limit (`75%`); times are PostgreSQL units (`10s`, `5min`).
 */
export const gucValue = z.union([z.number(), z.boolean(), z.string()]);

/** A map of setting name to value. */
export const gucMap = z.record(gucName, gucValue);

/** Tuning profile: the seed guide's values for one environment plus this stack's deliberate deviations. */
export const TuningSchema = z.strictObject({
  /** Which section of the seed guide `seed` transcribes: `development` or `production`. */
  profile: z.enum(["development", "production"]),
  /** The seed guide's values for this environment, unchanged. Each seed value lives here and nowhere else. */
  seed: gucMap,
  /** This stack's deviations from the seed, each validated like the rest; rendered with origin `override`. Defaults to none. */
  overrides: gucMap.default({}),
  /** Request huge pages for shared memory (`huge_pages = on`, pod requests `hugepages-2Mi`). Defaults to false (`huge_pages = off`). */
  hugePages: z.boolean().default(false),
});

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
    .refine((v) => (SUPPORTED_MAJORS as readonly number[]).includes(v), { message: `must be one of ${SUPPORTED_MAJORS.join(", ")}` })
    .default(17),
  /** Postgres instances: 1 primary plus replicas. dev 1, prod 3. */
  instances: z.number().int({ message: "must be an integer" }).min(1, { message: "must be >= 1" }).max(9, { message: "must be <= 9" }),
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
  /** Application database. Defaults to `lineage`. */
  database: pgIdentifier.default("lineage"),
  /** Role that owns the database and the queue tables (CloudNativePG's initdb owner); pg_partman's background worker runs as it. Defaults to `lineage_owner`. */
  ownerRole: pgIdentifier.default("lineage_owner"),
  /** Application role: send/read/archive/delete on its queues, nothing more. Defaults to `lineage_app`. */
  appUser: pgIdentifier.default("lineage_app"),
  /** Namespaces whose pods may reach Postgres (NetworkPolicy). Defaults to `[default]`. */
  appNamespaces: z.array(dnsLabel).min(1).default(["default"]),
  /** Namespaces whose pods may scrape the Postgres metrics port 9187 and PgBouncer's 9127 (NetworkPolicy). Defaults to `[monitoring]`. */
  metricsNamespaces: z.array(dnsLabel).min(1).default(["monitoring"]),
  /** Allow two instances on one node (no required anti-affinity); only for single-node test clusters. Defaults to false. */
  allowColocatedInstances: z.boolean().default(false),
  /** PgBouncer pooler. Defaults to disabled. */
  pooler: PoolerSchema.default({ enabled: false, instances: 2, poolMode: "transaction", defaultPoolSize: 50, maxClientConn: 1000 }),
  /** Create a PodMonitor (needs the Prometheus Operator CRDs in the cluster). Defaults to false. */
  podMonitor: z.boolean().default(false),
  /** Namespace of the CloudNativePG operator. Defaults to `cnpg-system`. */
  operatorNamespace: dnsLabel.default("cnpg-system"),
  /** postgresql.conf tuning. */
  tuning: TuningSchema,
});

export type PostgresConfig = z.output<typeof PostgresSchema>;
export type TuningConfig = z.output<typeof TuningSchema>;
export type GucValue = z.output<typeof gucValue>;
