/**
 * components/stack.ts: one registry of validators, and every decision of a stack derived once, as data.
 */
import { deriveStack, parseStackConfig, SEMANTIC_VALIDATORS } from "../../components/stack";
import { computeTuning, tuningInputOf } from "../../components/postgres/tuning";
import { bootstrapSqlInputOf, generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import { readDucklakeConfig } from "../helpers/stack-files";

const parsed = (stack: "dev" | "prod") => parseStackConfig(readDucklakeConfig(stack), stack).config;

describe("deriveStack", () => {
  test.each([
    [
      "dev",
      ["alert-rules.yaml", "bootstrap.sql", "grafana-dashboard.json", "monitoring-queries.yaml", "postgresql.conf"],
    ],
    [
      "prod",
      [
        "alert-rules.yaml",
        "bootstrap.sql",
        "grafana-dashboard.json",
        "logging/alloy-config.alloy",
        "monitoring-queries.yaml",
        "postgresql.conf",
      ],
    ],
  ] as const)("%s: the artifacts the plan writes, from the same decisions the program wires", (stack, paths) => {
    const config = parsed(stack);
    const d = deriveStack(config, stack);
    expect([...d.artifacts.keys()].sort()).toEqual(paths);
    expect(d.artifacts.get("bootstrap.sql")).toBe(d.bootstrapSql);
    expect(d.bootstrapSql).toBe(generateBootstrapSql(bootstrapSqlInputOf(config)));
    expect(d.postgres.tuning.settings).toEqual(computeTuning(tuningInputOf(config)).settings);
    expect(d.postgresqlConf.startsWith(`# stack ${stack}, PostgreSQL 17\n`)).toBe(true);
    expect(d.postgres.parameters).toBe(d.postgres.tuning.parameters);
    expect(d.queueNames).toEqual(["lineage_events", "lineage_events_dlq"]);
    expect(d.alloyConfig !== undefined).toBe(config.logging.agent === "alloy");
  });

  test("deterministic, and it leaves the config as it was", () => {
    const config = parsed("prod");
    const before = JSON.stringify(config);
    const a = deriveStack(config, "prod");
    const b = deriveStack(config, "prod");
    expect([...a.artifacts]).toEqual([...b.artifacts]);
    expect(JSON.stringify(config)).toBe(before);
  });

  test("a config change shows in the decisions (the derivation reads the config, nothing cached)", () => {
    const config = parsed("dev");
    const more = {
      ...config,
      postgres: { ...config.postgres, resources: { ...config.postgres.resources, memory: "8Gi" } },
    };
    expect(deriveStack(more, "dev").postgres.tuning.budget.maxConnections).toBeGreaterThan(
      deriveStack(config, "dev").postgres.tuning.budget.maxConnections,
    );
  });
});

describe("SEMANTIC_VALIDATORS", () => {
  test("every section a validator needs is a top-level config key", () => {
    const keys = Object.keys(parsed("prod"));
    for (const v of SEMANTIC_VALIDATORS) for (const n of v.needs) expect(keys).toContain(n);
  });
});
