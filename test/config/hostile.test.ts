/**
 * Hostile and mistaken stack settings (issue 20): each is refused before anything is created, with one
 * problem naming the key, the value and the limit; the stacks as shipped still parse.
 */
import { ConfigError } from "../../config/issues";
import { parseStackConfig } from "../../components/stack";
import { readDucklakeConfig } from "../helpers/stack-files";

type Raw = any;

const reason = "trying what the validator does with it";
const override = (r: Raw, name: string, value: unknown) => {
  r.postgres.tuning.overrides = { ...r.postgres.tuning.overrides, [name]: { value, reason } };
};
const tableOverride = (r: Raw, name: string, value: unknown) => {
  r.queues.tableAutovacuum.overrides = { ...r.queues.tableAutovacuum.overrides, [name]: { value, reason } };
};

/** [what, stack, mutation, key the problem names, text the message must contain (the limit)] */
const CASES: Array<[string, "dev" | "prod", (r: Raw) => void, string, string]> = [
  [
    "premake 100000",
    "dev",
    (r) => (r.queues.definitions[0].premake = 100000),
    "ducklake:queues.definitions[0].premake",
    "must be at most 100",
  ],
  [
    "premake 101",
    "prod",
    (r) => (r.queues.definitions[0].premake = 101),
    "ducklake:queues.definitions[0].premake",
    "must be at most 100",
  ],
  [
    "fillfactor 5",
    "dev",
    (r) => tableOverride(r, "fillfactor", 5),
    "ducklake:queues.tableAutovacuum.overrides.fillfactor.value",
    "between 10 and 100",
  ],
  [
    "fillfactor 101",
    "dev",
    (r) => tableOverride(r, "fillfactor", 101),
    "ducklake:queues.tableAutovacuum.overrides.fillfactor.value",
    "between 10 and 100",
  ],
  [
    "fillfactor 50.5",
    "dev",
    (r) => tableOverride(r, "fillfactor", 50.5),
    "ducklake:queues.tableAutovacuum.overrides.fillfactor.value",
    "is an integer",
  ],
  [
    "autovacuum_enabled 7",
    "dev",
    (r) => tableOverride(r, "autovacuum_enabled", 7),
    "ducklake:queues.tableAutovacuum.overrides.autovacuum_enabled.value",
    "is a boolean",
  ],
  [
    "negative scale factor",
    "dev",
    (r) => tableOverride(r, "autovacuum_vacuum_scale_factor", -0.1),
    "ducklake:queues.tableAutovacuum.overrides.autovacuum_vacuum_scale_factor.value",
    "between 0 and 100",
  ],
  [
    "scale factor 1000",
    "prod",
    (r) => tableOverride(r, "autovacuum_analyze_scale_factor", 1000),
    "ducklake:queues.tableAutovacuum.overrides.autovacuum_analyze_scale_factor.value",
    "between 0 and 100",
  ],
  [
    "cost limit 0",
    "dev",
    (r) => tableOverride(r, "autovacuum_vacuum_cost_limit", 0),
    "ducklake:queues.tableAutovacuum.overrides.autovacuum_vacuum_cost_limit.value",
    "between 1 and 10000",
  ],
  [
    "cost limit 20000",
    "dev",
    (r) => tableOverride(r, "autovacuum_vacuum_cost_limit", 20000),
    "ducklake:queues.tableAutovacuum.overrides.autovacuum_vacuum_cost_limit.value",
    "between 1 and 10000",
  ],
  [
    "cost delay 101",
    "dev",
    (r) => tableOverride(r, "autovacuum_vacuum_cost_delay", 101),
    "ducklake:queues.tableAutovacuum.overrides.autovacuum_vacuum_cost_delay.value",
    "between 0 and 100",
  ],
  [
    "freeze_max_age 1000",
    "dev",
    (r) => tableOverride(r, "autovacuum_freeze_max_age", 1000),
    "ducklake:queues.tableAutovacuum.overrides.autovacuum_freeze_max_age.value",
    "between 100000 and 2000000000",
  ],
  [
    "insert threshold -2",
    "dev",
    (r) => tableOverride(r, "autovacuum_vacuum_insert_threshold", -2),
    "ducklake:queues.tableAutovacuum.overrides.autovacuum_vacuum_insert_threshold.value",
    "between -1 and 2147483647",
  ],
  [
    "seed fillfactor 5",
    "dev",
    (r) => (r.queues.tableAutovacuum.seed.fillfactor = 5),
    "ducklake:queues.tableAutovacuum.seed.fillfactor",
    "between 10 and 100",
  ],
  [
    "appUser pg_app",
    "dev",
    (r) => (r.postgres.appUser = "pg_app"),
    "ducklake:postgres.appUser",
    "must not start with pg_",
  ],
  [
    "ownerRole pg_owner",
    "prod",
    (r) => (r.postgres.ownerRole = "pg_owner"),
    "ducklake:postgres.ownerRole",
    "must not start with pg_",
  ],
  ["cpu 0", "dev", (r) => (r.postgres.resources.cpu = "0"), "ducklake:postgres.resources.cpu", "at least 1m"],
  ["cpu 0m", "prod", (r) => (r.postgres.resources.cpu = "0m"), "ducklake:postgres.resources.cpu", "at least 1m"],
  ["cpu 0.0001", "dev", (r) => (r.postgres.resources.cpu = "0.0001"), "ducklake:postgres.resources.cpu", "at least 1m"],
  [
    "session_preload_libraries",
    "dev",
    (r) => override(r, "session_preload_libraries", "/tmp/evil.so"),
    "ducklake:postgres.tuning.overrides.session_preload_libraries",
    "loads code from a file path",
  ],
  [
    "local_preload_libraries",
    "prod",
    (r) => override(r, "local_preload_libraries", "$libdir/plugins/x"),
    "ducklake:postgres.tuning.overrides.local_preload_libraries",
    "loads code from a file path",
  ],
  [
    "dynamic_library_path",
    "dev",
    (r) => override(r, "dynamic_library_path", "/tmp"),
    "ducklake:postgres.tuning.overrides.dynamic_library_path",
    "loads code from a file path",
  ],
  [
    "dynamic_library_path in the seed",
    "dev",
    (r) => (r.postgres.tuning.seed.dynamic_library_path = "/tmp"),
    "ducklake:postgres.tuning.seed.dynamic_library_path",
    "loads code from a file path",
  ],
  [
    "an unknown preload library",
    "dev",
    (r) => override(r, "shared_preload_libraries", "pg_partman_bgw,pg_stat_statements,/tmp/evil"),
    "ducklake:postgres.tuning.overrides.shared_preload_libraries.value",
    "not /tmp/evil",
  ],
  [
    "an unknown preload library in the seed",
    "prod",
    (r) => (r.postgres.tuning.seed.shared_preload_libraries = "pg_partman_bgw,evil"),
    "ducklake:postgres.tuning.seed.shared_preload_libraries",
    "not evil",
  ],
  [
    "a newline in a string setting",
    "dev",
    (r) => override(r, "log_line_prefix", "x\nfsync = off"),
    "ducklake:postgres.tuning.overrides.log_line_prefix.value",
    "line break",
  ],
  ["fsync off", "prod", (r) => override(r, "fsync", "off"), "ducklake:postgres.tuning.overrides.fsync", "fsync"],
  [
    "prod without synchronous_commit = on (the seed's off)",
    "prod",
    (r) => delete r.postgres.tuning.overrides.synchronous_commit,
    "ducklake:postgres.tuning.seed.synchronous_commit",
    "set ducklake:postgres.acceptDataLoss",
  ],
  [
    "dev without its acceptDataLoss",
    "dev",
    (r) => delete r.postgres.acceptDataLoss,
    "ducklake:postgres.tuning.seed.synchronous_commit",
    "The product promises no acknowledged message lost",
  ],
  [
    "an acceptDataLoss on a stack that loses nothing (prod)",
    "prod",
    (r) => (r.postgres.acceptDataLoss = "just in case we lose some"),
    "ducklake:postgres.acceptDataLoss",
    "remove acceptDataLoss",
  ],
  [
    "prod without synchronous replication (asynchronous standbys)",
    "prod",
    (r) => delete r.postgres.synchronousReplication,
    "ducklake:postgres.synchronousReplication",
    "the 2 standbys replicate asynchronously, so a failover can lose commits not yet replicated",
  ],
  [
    "prod with dataDurability preferred",
    "prod",
    (r) => (r.postgres.synchronousReplication.dataDurability = "preferred"),
    "ducklake:postgres.synchronousReplication",
    "the primary acknowledges alone when none is",
  ],
  [
    "more synchronous standbys than standbys",
    "prod",
    (r) => (r.postgres.synchronousReplication.number = 3),
    "ducklake:postgres.synchronousReplication.number",
    "at most instances - 1 = 2 standbys can confirm a commit",
  ],
  [
    "synchronous replication on a single instance",
    "dev",
    (r) => (r.postgres.synchronousReplication = { number: 1 }),
    "ducklake:postgres.synchronousReplication.number",
    "a single instance has no standby",
  ],
  [
    "partitionInterval 1",
    "dev",
    (r) => (r.queues.definitions[0].partitionInterval = 1),
    "ducklake:queues.definitions[0]",
    "partitionInterval",
  ],
  // Backups and restores (issue 16)
  [
    "a five-field backup schedule",
    "prod",
    (r) => (r.postgres.backups.schedule = "0 3 * * *"),
    "ducklake:postgres.backups.schedule",
    "six, seconds first",
  ],
  [
    "an hour 25 in the schedule",
    "prod",
    (r) => (r.postgres.backups.schedule = "0 0 25 * * *"),
    "ducklake:postgres.backups.schedule",
    "expected range 0-23",
  ],
  [
    "an @every schedule",
    "prod",
    (r) => (r.postgres.backups.schedule = "@every 1h"),
    "ducklake:postgres.backups.schedule",
    "@daily",
  ],
  [
    "February 30th",
    "prod",
    (r) => (r.postgres.backups.schedule = "0 0 0 30 2 *"),
    "ducklake:postgres.backups.schedule",
    "not a valid schedule",
  ],
  [
    "retention in words",
    "prod",
    (r) => (r.postgres.backups.retentionPolicy = "30 days"),
    "ducklake:postgres.backups.retentionPolicy",
    "<n>d, <n>w or <n>m",
  ],
  [
    "retention 0d",
    "prod",
    (r) => (r.postgres.backups.retentionPolicy = "0d"),
    "ducklake:postgres.backups.retentionPolicy",
    "<n>d, <n>w or <n>m",
  ],
  [
    "retention no longer than the backup gap",
    "prod",
    (r) => Object.assign(r.postgres.backups, { schedule: "@weekly", retentionPolicy: "1w" }),
    "ducklake:postgres.backups.retentionPolicy",
    "not longer than the longest gap",
  ],
  [
    "a bucket with a period",
    "prod",
    (r) => (r.postgres.backups.bucketName = "my.backups"),
    "ducklake:postgres.backups.bucketName",
    "must not contain '.'",
  ],
  [
    "a bucket named like an IP",
    "prod",
    (r) => (r.postgres.backups.bucketName = "10.0.0.1"),
    "ducklake:postgres.backups.bucketName",
    "IP address",
  ],
  [
    "a bucket with S3's reserved prefix",
    "prod",
    (r) => (r.postgres.backups.bucketName = "xn--backups"),
    "ducklake:postgres.backups.bucketName",
    "reserved by S3",
  ],
  [
    "a bucket with S3's reserved suffix",
    "prod",
    (r) => (r.postgres.backups.bucketName = "backups-s3alias"),
    "ducklake:postgres.backups.bucketName",
    "reserved by S3",
  ],
  [
    "an uppercase bucket",
    "prod",
    (r) => (r.postgres.backups.bucketName = "Backups"),
    "ducklake:postgres.backups.bucketName",
    "3-63 lowercase",
  ],
  [
    "a two-letter bucket",
    "prod",
    (r) => (r.postgres.backups.bucketName = "ab"),
    "ducklake:postgres.backups.bucketName",
    "3-63 lowercase",
  ],
  [
    "walMaxParallel 0",
    "prod",
    (r) => (r.postgres.backups.walMaxParallel = 0),
    "ducklake:postgres.backups.walMaxParallel",
    "must be > 0",
  ],
  [
    "walMaxParallel 65",
    "prod",
    (r) => (r.postgres.backups.walMaxParallel = 65),
    "ducklake:postgres.backups.walMaxParallel",
    "must be <= 64",
  ],
  [
    "compression zstd",
    "prod",
    (r) => (r.postgres.backups.compression = "zstd"),
    "ducklake:postgres.backups.compression",
    "gzip",
  ],
  [
    "backups on kind",
    "dev",
    (r) => (r.postgres.backups = { enabled: true }),
    "ducklake:postgres.backups.enabled",
    "EKS only",
  ],
  [
    "a restore on kind",
    "dev",
    (r) => (r.postgres.recovery = { sourceClusterName: "old", bucketName: "some-bucket" }),
    "ducklake:postgres.recovery",
    "EKS only",
  ],
  [
    "a restore from no bucket",
    "prod",
    (r) => {
      r.postgres.backups = { enabled: false };
      r.postgres.recovery = { sourceClusterName: "old" };
    },
    "ducklake:postgres.recovery.bucketName",
    "set recovery.bucketName",
  ],
  [
    "a restore into its own archive",
    "prod",
    (r) => (r.postgres.recovery = { sourceClusterName: "lineage-pg" }),
    "ducklake:postgres.clusterName",
    "a new postgres.clusterName",
  ],
  [
    "a target time without its zone",
    "prod",
    (r) => (r.postgres.recovery = { sourceClusterName: "old", targetTime: "2026-12-04 05:00" }),
    "ducklake:postgres.recovery.targetTime",
    "RFC 3339",
  ],
  [
    "a target time that is no date",
    "prod",
    (r) => (r.postgres.recovery = { sourceClusterName: "old", targetTime: "2026-13-45T05:00:00Z" }),
    "ducklake:postgres.recovery.targetTime",
    "not a real date",
  ],
  [
    "a source cluster name with underscores",
    "prod",
    (r) => (r.postgres.recovery = { sourceClusterName: "old_cluster" }),
    "ducklake:postgres.recovery.sourceClusterName",
    "DNS-1123",
  ],
  // Queues: dead letters and keyed sends (issue 21)
  [
    "dead-letter retention 0 hours",
    "dev",
    (r) => (r.queues.definitions[0].deadLetter.retentionHours = 0),
    "ducklake:queues.definitions[0].deadLetter.retentionHours",
    "must be > 0",
  ],
  [
    "dead-letter retention over a year",
    "dev",
    (r) => (r.queues.definitions[0].deadLetter.retentionHours = 10_000),
    "ducklake:queues.definitions[0].deadLetter.retentionHours",
    "<= 8760",
  ],
  [
    "maxDeliveries 0",
    "dev",
    (r) => (r.queues.definitions[0].deadLetter.maxDeliveries = 0),
    "ducklake:queues.definitions[0].deadLetter.maxDeliveries",
    "must be > 0",
  ],
  [
    "a deduplication window of 0",
    "dev",
    (r) => (r.queues.definitions[0].deduplicationWindowSeconds = 0),
    "ducklake:queues.definitions[0].deduplicationWindowSeconds",
    "must be > 0",
  ],
  [
    "a deduplication window over a day",
    "dev",
    (r) => (r.queues.definitions[0].deduplicationWindowSeconds = 100_000),
    "ducklake:queues.definitions[0].deduplicationWindowSeconds",
    "<= 86400",
  ],
  [
    "a queue name with a dash",
    "dev",
    (r) => (r.queues.definitions[0].name = "lineage-events"),
    "ducklake:queues.definitions[0].name",
    "lowercase SQL identifier",
  ],
  [
    "a 48-character queue name",
    "dev",
    (r) => (r.queues.definitions[0].name = "q".repeat(48)),
    "ducklake:queues.definitions[0].name",
    "at most 47",
  ],
  // The cluster
  [
    "max_connections 100000 in a 4 GiB pod",
    "dev",
    (r) => override(r, "max_connections", 100000),
    "ducklake:postgres.tuning.overrides.max_connections",
    "the server would not start",
  ],
  ["cpu 0", "dev", (r) => (r.postgres.resources.cpu = "0"), "ducklake:postgres.resources.cpu", "at least 1m"],
  [
    "memory in words",
    "dev",
    (r) => (r.postgres.resources.memory = "lots"),
    "ducklake:postgres.resources.memory",
    "Kubernetes memory quantity",
  ],
  ["0 instances", "prod", (r) => (r.postgres.instances = 0), "ducklake:postgres.instances", "must be >= 1"],
  ["10 instances", "prod", (r) => (r.postgres.instances = 10), "ducklake:postgres.instances", "must be <= 9"],
  [
    "infinitely many instances (.inf)",
    "prod",
    (r) => (r.postgres.instances = Infinity),
    "ducklake:postgres.instances",
    "Infinity",
  ],
  ["PostgreSQL 14", "dev", (r) => (r.postgres.majorVersion = 14), "ducklake:postgres.majorVersion", "15, 16, 17, 18"],
  [
    "a namespace with an underscore",
    "dev",
    (r) => (r.postgres.namespace = "ducklake_db"),
    "ducklake:postgres.namespace",
    "DNS-1123",
  ],
  [
    "a 64-character cluster name",
    "dev",
    (r) => (r.postgres.clusterName = "a".repeat(64)),
    "ducklake:postgres.clusterName",
    "at most 63",
  ],
  [
    "a database with a dash",
    "dev",
    (r) => (r.postgres.database = "ducklake-db"),
    "ducklake:postgres.database",
    "lowercase SQL identifier",
  ],
  [
    "the database postgres",
    "dev",
    (r) => {
      r.postgres.database = "postgres";
      override(r, "pg_partman_bgw.dbname", "postgres");
    },
    "ducklake:postgres.database",
    "every instance already has",
  ],
  [
    "the app role is the owner",
    "dev",
    (r) => (r.postgres.appUser = "lineage_owner"), // postgres.ownerRole's default
    "ducklake:postgres.appUser",
    "must not own the queue tables",
  ],
  [
    "the app role is postgres",
    "dev",
    (r) => (r.postgres.appUser = "postgres"),
    "ducklake:postgres.appUser",
    "CloudNativePG reserves",
  ],
  [
    "a data volume of 0 GiB",
    "dev",
    (r) => (r.postgres.storage.sizeGiB = 0),
    "ducklake:postgres.storage.sizeGiB",
    "must be > 0",
  ],
  [
    "a pooler that could never fill",
    "prod",
    (r) => (r.postgres.pooler.maxClientConn = 10),
    "ducklake:postgres.pooler",
    "below defaultPoolSize",
  ],
  [
    "log retention 0 hours",
    "dev",
    (r) => (r.logging.loki.retentionHours = 0),
    "ducklake:logging.loki.retentionHours",
    "must be > 0",
  ],
  [
    "log retention past Go's longest duration",
    "dev",
    (r) => (r.logging.loki.retentionHours = 999_999_999),
    "ducklake:logging.loki.retentionHours",
    "must be <= 2,562,047",
  ],
  [
    "metrics retention past Go's longest duration",
    "dev",
    (r) => (r.logging.prometheus = { ...r.logging.prometheus, retentionHours: 2_562_048 }),
    "ducklake:logging.prometheus.retentionHours",
    "must be <= 2,562,047",
  ],
  ["gp3 IOPS below the seed's 3000", "prod", (r) => (r.storage.gp3.iops = 1000), "ducklake:storage.gp3.iops", "3000"],
];

describe("hostile and mistaken settings are refused with key, value and limit", () => {
  test.each(CASES)("%s (%s)", (_what, stack, mutate, key, limit) => {
    const raw = readDucklakeConfig(stack) as Raw;
    mutate(raw);
    let error: unknown;
    try {
      parseStackConfig(raw, stack);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain(key);
    expect(message).toContain(limit);
    expect(message).toContain("(got ");
  });

  test.each(["dev", "prod"] as const)("the %s stack as shipped, and the legitimate limits, still parse", (stack) => {
    expect(() => parseStackConfig(readDucklakeConfig(stack), stack)).not.toThrow();
    const raw = readDucklakeConfig(stack) as Raw;
    tableOverride(raw, "fillfactor", 10);
    tableOverride(raw, "autovacuum_vacuum_cost_limit", 10000);
    override(raw, "shared_preload_libraries", "pg_partman_bgw,pg_stat_statements,auto_explain");
    expect(() => parseStackConfig(raw, stack)).not.toThrow();
  });
});
