/**
 * Pure decisions of the `PostgresCluster` component: argument validation, the Helm values of the
 * CloudNativePG operator and cluster charts, pg_hba rules. Beside it: the chart pins and fixed ports
 * (`./charts.ts`), the image (`./image.ts`), the custom queries (`./custom-queries.ts`) and the
 * NetworkPolicy specs (`./network-policy.ts`). No Pulumi resources here; every function is
 * tested without mocks (test/postgres/helm-values.test.ts).
 *
 * Chart keys come from the pinned charts' values.yaml and templates
 * (https://github.com/cloudnative-pg/charts, charts/cloudnative-pg and charts/cluster); the test
 * test/postgres/chart-keys.test.ts checks every rendered key against a key inventory generated
 * from those files.
 */
import { stringify } from "yaml";
import type { PostgresConfig } from "../../config/postgres";
import { parseKubeMemoryBytes } from "../../config/units";
import { factsFor, parseSettingValue } from "./tuning-facts";
import type { KubernetesToleration } from "../placement";
import { CNPG_FIXED_PARAMETERS } from "./tuning";
import { POOLER_NAME } from "./charts";
import { defaultImage, imageDigestWarning, imageTagMajor, resolveImage } from "./image";
import { CUSTOM_QUERIES_KEY, customQueriesProblems, customQueriesSecretName } from "./custom-queries";
import { backupChartValues, IRSA_ROLE_ANNOTATION, recoveryChartValues, type BackupDestination } from "./backups";

/** Roles CloudNativePG reserves; the app and owner roles must not use them. Source: https://cloudnative-pg.io/documentation/current/declarative_role_management/ */
export const RESERVED_ROLES: readonly string[] = ["postgres", "streaming_replica", "cnpg_pooler_pgbouncer"];
/** Databases that exist in every instance; the application database must be another one. */
export const RESERVED_DATABASES: readonly string[] = ["postgres", "template0", "template1"];

/** Parameters CloudNativePG fixes or blocks (one list, kept by the tuning engine with its source). */
export { CNPG_FIXED_PARAMETERS };

/** What the values builders and the validator need besides the parsed config (all plain data). */
export interface ClusterValuesInput {
  /** The parsed `ducklake:postgres` section. */
  readonly config: PostgresConfig;
  /** postgresql.conf parameters from the tuning engine (`computeTuning(...).parameters`), values as PostgreSQL spells them. */
  readonly parameters: Readonly<Record<string, string>>;
  /** `shared_preload_libraries` entries from the tuning engine, in order. */
  readonly sharedPreloadLibraries: readonly string[];
  /** Node selector of the Postgres pods (prod: the SSD node group's labels). Defaults to none. */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  /** Tolerations of the Postgres pods (prod: the SSD node group's taint). Defaults to none. */
  readonly tolerations?: readonly KubernetesToleration[];
  /** `hugepages-2Mi` request and limit per pod (Kubernetes quantity), required when `config.tuning.hugePages` is true. */
  readonly hugePages2Mi?: string;
  /** CloudNativePG custom queries YAML (a map of metric name to `{query, metrics, ...}`); stored verbatim in the Secret `customQueriesSecretName(cluster)`. */
  readonly monitoringQueriesYaml?: string;
}

/** Names of the four credential Secrets (type `kubernetes.io/basic-auth`). */
export interface SecretNames {
  /** `postgres` superuser: `<cluster>-superuser-credentials`. */
  readonly superuser: string;
  /** Database owner (initdb owner): `<cluster>-owner-credentials`. */
  readonly owner: string;
  /** Application role (managed role): `<cluster>-app-credentials`. */
  readonly app: string;
  /** Monitoring role (managed role, member of pg_monitor): `<cluster>-monitoring-credentials`. */
  readonly monitoring: string;
}

/** The Secrets' names for a cluster name (deterministic, so the bootstrap Job and apps can reference them). */
export function secretNames(clusterName: string): SecretNames {
  return {
    superuser: `${clusterName}-superuser-credentials`,
    owner: `${clusterName}-owner-credentials`,
    app: `${clusterName}-app-credentials`,
    monitoring: `${clusterName}-monitoring-credentials`,
  };
}

/**
 * `shared_buffers` in bytes, read with the tuning engine's parser for the major (`./tuning-facts.ts`, the one
 * parser of PostgreSQL values: units, 8 kB blocks for a bare number).
 * @returns undefined when the text is not a valid shared_buffers value for that major.
 */
function sharedBuffersBytesOf(value: string, majorVersion: number): number | undefined {
  const fact = factsFor(majorVersion).settings["shared_buffers"];
  if (fact === undefined) return undefined;
  try {
    return parseSettingValue("shared_buffers", fact, value).bytes;
  } catch {
    return undefined;
  }
}

/** What the validator found: errors stop the component before it creates anything; warnings are logged. */
export interface ValidationResult {
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Checks the argument combinations the component itself is responsible for (the config schema and the
 * tuning engine check the rest). Every message names the key, the value and the rule.
 */
export function validateClusterInput(input: ClusterValuesInput): ValidationResult {
  const { config, parameters } = input;
  const errors: string[] = [];
  const warnings: string[] = [];

  for (const key of Object.keys(parameters).sort()) {
    if (CNPG_FIXED_PARAMETERS.includes(key)) {
      errors.push(
        key === "shared_preload_libraries"
          ? "parameters.shared_preload_libraries: pass libraries through sharedPreloadLibraries (CloudNativePG fixes this parameter and merges its own libraries)"
          : `parameters.${key}: CloudNativePG fixes or blocks this parameter (pkg/postgres/configuration.go FixedConfigurationParameters); remove it`,
      );
    }
    if (key === "huge_pages" && parameters[key] === "on" && !config.tuning.hugePages) {
      errors.push(
        "parameters.huge_pages is on but ducklake:postgres.tuning.hugePages is false: the pod would request no hugepages-2Mi and PostgreSQL would fail to start",
      );
    }
  }

  const memoryBytes = parseKubeMemoryBytes(config.resources.memory);
  const sharedBuffers = parameters["shared_buffers"];
  const sharedBuffersBytes =
    sharedBuffers === undefined ? undefined : sharedBuffersBytesOf(sharedBuffers, config.majorVersion);
  if (sharedBuffersBytes !== undefined && sharedBuffersBytes >= memoryBytes) {
    errors.push(
      `parameters.shared_buffers is ${sharedBuffers} (${sharedBuffersBytes} bytes) but ducklake:postgres.resources.memory is ${config.resources.memory} ` +
        `(${memoryBytes} bytes): shared memory must fit well inside the pod's memory limit`,
    );
  }

  const seen = new Set<string>();
  for (const lib of input.sharedPreloadLibraries) {
    if (!/^[A-Za-z0-9_$-]+$/.test(lib))
      errors.push(
        `sharedPreloadLibraries: "${lib}" is not a library name (letters, digits, _ and -; no commas or spaces)`,
      );
    if (seen.has(lib)) errors.push(`sharedPreloadLibraries: "${lib}" is listed twice`);
    seen.add(lib);
  }

  if (config.appUser === config.ownerRole) {
    errors.push(
      `ducklake:postgres.appUser is "${config.appUser}", the same as ownerRole: the application role must not own the queue tables`,
    );
  }
  for (const [key, role] of [
    ["appUser", config.appUser],
    ["ownerRole", config.ownerRole],
  ] as const) {
    if (config.monitoringUser === role)
      errors.push(
        `ducklake:postgres.monitoringUser is "${role}", the same as ${key}: the monitoring role must be a role of its own (read-only, a member of pg_monitor)`,
      );
  }
  for (const [key, role] of [
    ["appUser", config.appUser],
    ["ownerRole", config.ownerRole],
    ["monitoringUser", config.monitoringUser],
  ] as const) {
    if (RESERVED_ROLES.includes(role))
      errors.push(
        `ducklake:postgres.${key} is "${role}", a role CloudNativePG reserves (${RESERVED_ROLES.join(", ")})`,
      );
  }
  if (RESERVED_DATABASES.includes(config.database)) {
    errors.push(
      `ducklake:postgres.database is "${config.database}", which every instance already has (${RESERVED_DATABASES.join(", ")}); choose another name`,
    );
  }

  if (config.image === undefined && defaultImage(config.majorVersion) === undefined) {
    errors.push(
      `ducklake:postgres.image is not set and no public image with pgmq and pg_partman is known for PostgreSQL ${config.majorVersion}; ` +
        `build images/postgres/Dockerfile with --build-arg PG_MAJOR=${config.majorVersion}, push it, and set ducklake:postgres.image`,
    );
  }
  if (config.image !== undefined) {
    const tagMajor = imageTagMajor(config.image);
    if (tagMajor !== undefined && tagMajor !== config.majorVersion) {
      errors.push(
        `ducklake:postgres.image "${config.image}" is tagged for PostgreSQL ${tagMajor} but majorVersion is ${config.majorVersion}`,
      );
    }
  }

  if (config.pooler.enabled) {
    const maxConnections = Number(parameters["max_connections"] ?? "100"); // PostgreSQL's default
    const reserved =
      Number(parameters["superuser_reserved_connections"] ?? "3") + Number(parameters["reserved_connections"] ?? "0");
    const serverConnections = config.pooler.instances * config.pooler.defaultPoolSize;
    if (Number.isFinite(maxConnections) && serverConnections > maxConnections - reserved) {
      errors.push(
        `ducklake:postgres.pooler: ${config.pooler.instances} PgBouncer pods x defaultPoolSize ${config.pooler.defaultPoolSize} = ${serverConnections} server connections, ` +
          `but max_connections ${maxConnections} leaves ${maxConnections - reserved} after ${reserved} reserved; lower defaultPoolSize or pooler.instances, or raise max_connections`,
      );
    }
    if (config.pooler.maxClientConn < config.pooler.defaultPoolSize) {
      errors.push(
        `ducklake:postgres.pooler.maxClientConn (${config.pooler.maxClientConn}) is below defaultPoolSize (${config.pooler.defaultPoolSize}): the pool could never fill`,
      );
    }
    if (config.instances > 1 && config.pooler.instances < 2) {
      warnings.push(
        `ducklake:postgres.pooler.instances is 1 in front of ${config.instances} Postgres instances: the single PgBouncer pod is a single point of failure`,
      );
    }
  }

  if (input.monitoringQueriesYaml !== undefined) errors.push(...customQueriesProblems(input.monitoringQueriesYaml));

  const image = config.image ?? defaultImage(config.majorVersion);
  const digestWarning =
    image === undefined
      ? undefined
      : imageDigestWarning(image, config.image === undefined ? "the default image" : "ducklake:postgres.image");
  if (digestWarning !== undefined) warnings.push(digestWarning);

  if ((input.tolerations?.length ?? 0) > 0 && Object.keys(input.nodeSelector ?? {}).length === 0) {
    errors.push(
      "tolerations are set without a nodeSelector: the pods may tolerate the SSD nodes' taint yet still land on other nodes; pass the node group's labels as nodeSelector",
    );
  }
  if (config.tuning.hugePages && input.hugePages2Mi === undefined) {
    errors.push(
      "ducklake:postgres.tuning.hugePages is true but no hugePages2Mi quantity was given: the pod must request hugepages-2Mi (shared_buffers plus overhead)",
    );
  }
  if (!config.tuning.hugePages && input.hugePages2Mi !== undefined) {
    errors.push(`hugePages2Mi is ${input.hugePages2Mi} but ducklake:postgres.tuning.hugePages is false`);
  }
  return { errors, warnings };
}

/**
 * pg_hba lines appended after CloudNativePG's own rules (local peer, streaming_replica and
 * cnpg_pooler_pgbouncer by certificate) and before its final `host all all all scram-sha-256`.
 * Password (SCRAM) access to the application database for the app, owner and monitoring roles, superuser access
 * for the bootstrap Job, and a final reject so no other role or database is reachable over the network.
 * Source: https://cloudnative-pg.io/documentation/current/postgresql_conf/#the-pg_hba-section
 */
export function pgHbaRules(config: PostgresConfig): string[] {
  return [
    `host ${config.database} ${config.appUser} all scram-sha-256`,
    `host ${config.database} ${config.ownerRole} all scram-sha-256`,
    `host ${config.database} ${config.monitoringUser} all scram-sha-256`,
    "host all postgres all scram-sha-256",
    "host all all all reject",
  ];
}

/**
 * A CloudNativePG managed role that logs in with the password of a `kubernetes.io/basic-auth` Secret and has no
 * other attribute (Cluster `spec.managed.roles[]`: https://cloudnative-pg.io/documentation/current/declarative_role_management/).
 * @param inRoles roles it is a member of (`inRoles`, e.g. `pg_monitor`). Defaults to none.
 */
function loginRole(
  name: string,
  comment: string,
  passwordSecret: string,
  inRoles: readonly string[] = [],
): Record<string, unknown> {
  return {
    name,
    ensure: "present",
    comment,
    login: true,
    superuser: false,
    createdb: false,
    createrole: false,
    inherit: true,
    replication: false,
    // RoleConfiguration.inRoles: memberships granted (and revoked) by the operator (the CRD's description).
    ...(inRoles.length > 0 ? { inRoles: [...inRoles] } : {}),
    passwordSecret: { name: passwordSecret },
  };
}

/** Keys of an object in sorted order (deterministic values: parameters, node selectors). */
function sorted<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]]),
  );
}

/**
 * Values of the operator chart `cloudnative-pg` (keys from its values.yaml): CRDs installed by the
 * chart, cluster-wide operator, its PodMonitor when the stack has the Prometheus Operator.
 */
export function buildOperatorValues(config: PostgresConfig): Record<string, unknown> {
  return {
    crds: { create: true },
    config: { clusterWide: true },
    monitoring: { podMonitorEnabled: config.podMonitor },
  };
}

/**
 * Values of the cluster chart `cluster` (keys from its values.yaml; pass-through objects use the
 * CloudNativePG `Cluster` API field names). Passwords never appear: Secrets are referenced by name.
 * With `postgres.backups` on: the Barman Cloud plugin's WAL archive and scheduled base backups (./backups.ts);
 * with `postgres.recovery`: `mode: recovery` from that archive, and the owner role managed by CloudNativePG so its
 * password is the one in this stack's Secret, whatever the restored database had. Either binds the cluster's
 * ServiceAccount to the backup role (IRSA annotation).
 * @param input the config, the tuning engine's output and placement.
 * @param storageClassName StorageClass of the data (and WAL) volumes; a string or a Pulumi Input.
 * @param backup the backup bucket, its region and the IRSA role; required when backups or recovery are set.
 * @throws Error from resolveImage (PostgreSQL 18 without an image), or when backups or recovery lack `backup`.
 */
export function buildClusterValues<S>(
  input: ClusterValuesInput,
  storageClassName: S,
  backup?: BackupDestination,
): Record<string, unknown> {
  const { config } = input;
  const usesArchive = config.backups.enabled || config.recovery !== undefined;
  if (usesArchive && backup === undefined)
    throw new Error("postgres.backups or postgres.recovery is set but no backup bucket and role were given");
  const backupBucket = config.backups.enabled ? backup?.bucketName : undefined;
  if (config.backups.enabled && backupBucket === undefined)
    throw new Error("postgres.backups is on but the backup destination names no bucket");
  const recoveryBucket = config.recovery?.bucketName ?? backupBucket;
  if (config.recovery !== undefined && recoveryBucket === undefined)
    throw new Error("postgres.recovery names no bucket and postgres.backups is off");
  const image = resolveImage(config);
  const names = secretNames(config.clusterName);
  const requiredAntiAffinity = config.instances > 1 && !config.allowColocatedInstances;

  const quantities: Record<string, string> = { cpu: config.resources.cpu, memory: config.resources.memory };
  if (input.hugePages2Mi !== undefined) quantities["hugepages-2Mi"] = input.hugePages2Mi;

  const affinity: Record<string, unknown> = {
    enablePodAntiAffinity: true,
    // Required: each instance on its own node (schema checks nodes >= instances). Preferred when co-location is allowed.
    podAntiAffinityType: requiredAntiAffinity ? "required" : "preferred",
    // Always set: the chart's default topologyKey is the zone, which would allow two instances per node.
    topologyKey: "kubernetes.io/hostname",
  };
  if (input.nodeSelector && Object.keys(input.nodeSelector).length > 0)
    affinity["nodeSelector"] = sorted(input.nodeSelector);
  if (input.tolerations && input.tolerations.length > 0)
    affinity["tolerations"] = input.tolerations.map((t) => ({ ...t }));

  const walStorage: Record<string, unknown> =
    config.storage.walSizeGiB === undefined
      ? { enabled: false }
      : { enabled: true, size: `${config.storage.walSizeGiB}Gi`, storageClass: storageClassName };

  const poolers = config.pooler.enabled
    ? [
        {
          name: POOLER_NAME,
          type: "rw",
          poolMode: config.pooler.poolMode,
          instances: config.pooler.instances,
          parameters: {
            default_pool_size: String(config.pooler.defaultPoolSize),
            max_client_conn: String(config.pooler.maxClientConn),
          },
          monitoring: { enabled: config.podMonitor, podMonitor: { enabled: config.podMonitor } },
        },
      ]
    : [];

  return {
    fullnameOverride: config.clusterName,
    type: "postgresql",
    mode: config.recovery === undefined ? "standalone" : "recovery",
    version: { postgresql: String(image.major) },
    // The image catalog tells the operator the major explicitly, whatever the tag says.
    imageCatalog: { create: true, images: [{ image: image.image, major: image.major }] },
    cluster: {
      instances: config.instances,
      imagePullPolicy: "IfNotPresent",
      postgresUID: image.postgresUid,
      postgresGID: image.postgresUid,
      storage: { size: `${config.storage.sizeGiB}Gi`, storageClass: storageClassName },
      walStorage,
      // request = limit for cpu and memory: Guaranteed QoS, and the memory budget the tuning engine checks is what the pod gets.
      resources: { requests: { ...quantities }, limits: { ...quantities } },
      affinity,
      enableSuperuserAccess: true,
      superuserSecret: names.superuser,
      // CNPG creates the PodDisruptionBudget; with one instance it would block node drains.
      enablePDB: config.instances > 1,
      roles: [
        loginRole(config.appUser, "DuckLake lineage queue application role", names.app),
        loginRole(config.monitoringUser, "DuckLake lineage queue monitoring role (read-only)", names.monitoring, [
          "pg_monitor",
        ]),
        // A restored database keeps the source's owner password; managing the role sets this stack's.
        ...(config.recovery !== undefined
          ? [
              loginRole(
                config.ownerRole,
                "DuckLake lineage queue owner (restored; password from this stack's Secret)",
                names.owner,
              ),
            ]
          : []),
      ],
      ...(usesArchive && backup !== undefined
        ? { serviceAccountTemplate: { metadata: { annotations: { [IRSA_ROLE_ANNOTATION]: backup.roleArn } } } }
        : {}),
      monitoring: {
        enabled: config.podMonitor,
        podMonitor: { enabled: config.podMonitor },
        prometheusRule: { enabled: config.podMonitor },
        customQueriesSecret:
          input.monitoringQueriesYaml === undefined
            ? []
            : [{ name: customQueriesSecretName(config.clusterName), key: CUSTOM_QUERIES_KEY }],
      },
      postgresql: {
        ...(config.synchronousReplication !== undefined
          ? {
              // CloudNativePG's synchronous replication (Cluster spec.postgresql.synchronous): quorum, number, durability.
              synchronous: {
                method: config.synchronousReplication.method,
                number: config.synchronousReplication.number,
                dataDurability: config.synchronousReplication.dataDurability,
              },
            }
          : {}),
        parameters: sorted(input.parameters),
        pg_hba: pgHbaRules(config),
        shared_preload_libraries: [...input.sharedPreloadLibraries],
      },
      initdb: {
        database: config.database,
        owner: config.ownerRole,
        secret: { name: names.owner },
        encoding: "UTF8",
      },
    },
    poolers,
    backups:
      config.backups.enabled && backup !== undefined && backupBucket !== undefined
        ? backupChartValues(config.backups, { ...backup, bucketName: backupBucket })
        : { enabled: false },
    ...(config.recovery !== undefined && backup !== undefined && recoveryBucket !== undefined
      ? {
          recovery: recoveryChartValues(
            config.recovery,
            recoveryBucket,
            backup.region,
            config.database,
            config.ownerRole,
          ),
        }
      : {}),
  };
}

/**
 * Renders Helm values as YAML for people to review (the offline plan): keys in the order the builder
 * put them, one setting per line, no line folding. YAML 1.1 quoting, as Helm's parser reads YAML 1.1:
 * the string "on" (synchronous_commit) is written `"on"`, not `on`, which Helm would read as a boolean.
 */
export function renderValuesYaml(values: unknown): string {
  return stringify(values, { lineWidth: 0, version: "1.1" });
}

/** Cluster-internal DNS names of the services CloudNativePG creates (`<cluster>-rw`, `-ro`, pooler `<cluster>-pooler-rw`). */
export function serviceHosts(clusterName: string, namespace: string): { rw: string; ro: string; pooler: string } {
  const suffix = `${namespace}.svc.cluster.local`;
  return {
    rw: `${clusterName}-rw.${suffix}`,
    ro: `${clusterName}-ro.${suffix}`,
    pooler: `${clusterName}-pooler-${POOLER_NAME}.${suffix}`,
  };
}
