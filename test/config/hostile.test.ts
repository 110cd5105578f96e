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
