/**
 * Pure decisions of PostgresCluster: validation, image resolution, custom queries, pg_hba, values.
 */
import { parseStackConfig } from "../../components/stack";
import { ConfigError } from "../../config/issues";
import type { PostgresConfig } from "../../config/postgres";
import {
  buildClusterValues,
  ClusterValuesInput,
  pgHbaRules,
  validateClusterInput,
} from "../../components/postgres/helm-values";
import { customQueriesProblems } from "../../components/postgres/custom-queries";
import { imageTagMajor, resolveImage } from "../../components/postgres/image";
import { readDucklakeConfig } from "../helpers/stack-files";
import { tunedParameters, stackPostgresConfig } from "./harness";
import { clusterIssue } from "../../components/postgres/cluster-inputs";

function input(
  stack: "dev" | "prod",
  change: (c: PostgresConfig) => PostgresConfig = (c) => c,
  extra: Partial<ClusterValuesInput> = {},
): ClusterValuesInput {
  const config = change(stackPostgresConfig(stack));
  return {
    config,
    parameters: tunedParameters(config),
    sharedPreloadLibraries: ["pg_partman_bgw", "pg_stat_statements"],
    ...extra,
  };
}

describe("validateClusterInput", () => {
  test.each(["dev", "prod"] as const)("accepts the %s stack as configured", (stack) => {
    const extra =
      stack === "prod"
        ? {
            nodeSelector: { "ducklake.io/workload": "postgres" },
            tolerations: [{ key: "ducklake.io/workload", value: "postgres", effect: "NoSchedule" as const }],
          }
        : {};
    expect(validateClusterInput(input(stack, undefined, extra)).errors).toEqual([]);
  });

  test("refuses shared_buffers at or above the pod's memory limit, with both numbers", () => {
    const i = input("dev");
    const errors = validateClusterInput({ ...i, parameters: { ...i.parameters, shared_buffers: "4GB" } }).errors;
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/shared_buffers is 4GB .*memory is 4Gi/);
    // Just below the limit passes this check (the tuning engine judges the rest of the budget).
    expect(validateClusterInput({ ...i, parameters: { ...i.parameters, shared_buffers: "4095MB" } }).errors).toEqual(
      [],
    );
    // A bare number is 8 kB blocks: 524288 x 8 kB = 4 GiB.
    expect(
      validateClusterInput({ ...i, parameters: { ...i.parameters, shared_buffers: "524288" } }).errors,
    ).toHaveLength(1);
  });

  test.each([
    ["shared_preload_libraries", "pg_partman_bgw", /sharedPreloadLibraries/],
    ["listen_addresses", "*", /CloudNativePG fixes or blocks/],
    ["port", "5433", /CloudNativePG fixes or blocks/],
  ])("refuses the operator-managed parameter %s", (key, value, message) => {
    const i = input("dev");
    const errors = validateClusterInput({ ...i, parameters: { ...i.parameters, [key]: value } }).errors;
    expect(errors).toEqual([expect.stringMatching(message)]);
    expect(errors[0]).toContain(key);
  });

  test("refuses a pooler that can open more server connections than max_connections allows", () => {
    const pooler4x50 = (c: PostgresConfig): PostgresConfig => ({
      ...c,
      pooler: { ...c.pooler, instances: 4, defaultPoolSize: 50 },
    });
    // Derived, max_connections covers the pooler: 3 reserved + 5 operational + 4 x 50 = 208.
    const derived = input("prod", pooler4x50, { nodeSelector: { a: "b" } });
    expect(derived.parameters["max_connections"]).toBe("208");
    expect(validateClusterInput(derived).errors).toEqual([]);
    // The tuning engine refuses a stack's max_connections below that need first (tuning.test.ts); the component
    // still guards its own arguments: parameters whose max_connections cannot hold the pooler are refused.
    const withMax = (n: number) => ({ ...derived, parameters: { ...derived.parameters, max_connections: String(n) } });
    expect(validateClusterInput(withMax(200)).errors).toEqual([
      expect.stringContaining(
        "4 PgBouncer pods x defaultPoolSize 50 = 200 server connections, but max_connections 200 leaves 197 after 3 reserved",
      ),
    ]);
    // The boundary: 202 leaves 199 (refused), 203 leaves exactly the 200 the pooler can open (accepted).
    expect(validateClusterInput(withMax(202)).errors).toEqual([
      expect.stringContaining("max_connections 202 leaves 199"),
    ]);
    expect(validateClusterInput(withMax(203)).errors).toEqual([]);
  });

  test("warns about a single PgBouncer pod in front of an HA cluster", () => {
    const i = input("prod", (c) => ({ ...c, pooler: { ...c.pooler, instances: 1 } }), { nodeSelector: { a: "b" } });
    expect(validateClusterInput(i).warnings).toEqual([expect.stringContaining("single point of failure")]);
  });

  test("warns about an image referenced by tag only (the default for 15 and 16 too), not about a pinned one", () => {
    const tagged = input("prod", (c) => ({ ...c, image: "ghcr.io/acme/pg:17" }), { nodeSelector: { a: "b" } });
    expect(validateClusterInput(tagged).warnings).toEqual([
      expect.stringContaining('ducklake:postgres.image "ghcr.io/acme/pg:17" is referenced by tag only'),
    ]);
    const pg16 = input("prod", (c) => ({ ...c, majorVersion: 16 }), { nodeSelector: { a: "b" } });
    expect(validateClusterInput(pg16).warnings).toEqual([
      expect.stringContaining('the default image "ghcr.io/pgmq/pg16-pgmq:v1.5.1" is referenced by tag only'),
    ]);
    expect(validateClusterInput(input("prod", (c) => c, { nodeSelector: { a: "b" } })).warnings).toEqual([]);
  });

  test("refuses tolerations without a node selector", () => {
    const i = input("prod", undefined, { tolerations: [{ key: "k", effect: "NoSchedule" }] });
    expect(validateClusterInput(i).errors).toEqual([
      expect.stringContaining("tolerations are set without a nodeSelector"),
    ]);
  });

  test("refuses reserved or clashing role and database names", () => {
    // The stack's tuned parameters, not re-tuned for the changed names: the tuning engine would refuse
    // pg_partman_bgw.role/dbname not matching them first (BOUND_SETTINGS); this test is about the cluster validator.
    const original = stackPostgresConfig("dev");
    const config: PostgresConfig = { ...original, appUser: "postgres", ownerRole: "postgres", database: "template1" };
    const errors = validateClusterInput({
      config,
      parameters: tunedParameters(original),
      sharedPreloadLibraries: ["pg_partman_bgw", "pg_stat_statements"],
    }).errors;
    expect(errors).toEqual([
      expect.stringContaining('appUser is "postgres", the same as ownerRole'),
      expect.stringContaining('appUser is "postgres"'),
      expect.stringContaining('ownerRole is "postgres"'),
      expect.stringContaining('database is "template1"'),
    ]);
  });

  test("refuses a monitoring role that is the app or owner role, or a reserved one", () => {
    const original = stackPostgresConfig("dev");
    const errorsFor = (monitoringUser: string): readonly string[] =>
      validateClusterInput({
        config: { ...original, monitoringUser },
        parameters: tunedParameters(original),
        sharedPreloadLibraries: ["pg_partman_bgw", "pg_stat_statements"],
      }).errors;
    expect(errorsFor("lineage_app")).toEqual([
      'ducklake:postgres.monitoringUser is "lineage_app", the same as appUser: the monitoring role must be a role of its own (read-only, a member of pg_monitor)',
    ]);
    expect(errorsFor("lineage_owner")).toEqual([expect.stringContaining("the same as ownerRole")]);
    expect(errorsFor("streaming_replica")).toEqual([
      expect.stringContaining('monitoringUser is "streaming_replica", a role CloudNativePG reserves'),
    ]);
    expect(errorsFor("lineage_monitor")).toEqual([]);
  });

  test("refuses an image tagged for another major, and PostgreSQL 18 without an image", () => {
    expect(validateClusterInput(input("dev", (c) => ({ ...c, image: "ghcr.io/acme/pg:16-pgmq" }))).errors).toEqual([
      expect.stringContaining("tagged for PostgreSQL 16 but majorVersion is 17"),
    ]);
    expect(validateClusterInput(input("dev", (c) => ({ ...c, majorVersion: 18 }))).errors).toEqual([
      expect.stringContaining("no public image with pgmq and pg_partman is known for PostgreSQL 18"),
    ]);
    expect(
      validateClusterInput(
        input("dev", (c) => ({ ...c, majorVersion: 18, image: "ghcr.io/acme/postgresql-pgmq:18-bookworm" })),
      ).errors,
    ).toEqual([]);
  });

  test("huge pages need a hugepages-2Mi quantity, and only then", () => {
    const withHuge = (c: PostgresConfig): PostgresConfig => ({ ...c, tuning: { ...c.tuning, hugePages: true } });
    expect(validateClusterInput(input("dev", withHuge)).errors).toEqual([
      expect.stringContaining("no hugePages2Mi quantity"),
    ]);
    expect(validateClusterInput(input("dev", withHuge, { hugePages2Mi: "1100Mi" })).errors).toEqual([]);
    expect(validateClusterInput(input("dev", undefined, { hugePages2Mi: "1100Mi" })).errors).toEqual([
      expect.stringContaining("hugePages is false"),
    ]);
  });
});

describe("config rules the component relies on", () => {
  test("3 instances on a single-node dev cluster without the anti-affinity override fail with the keys named", () => {
    const raw = readDucklakeConfig("dev");
    const postgres = { ...(raw["postgres"] as Record<string, unknown>), instances: 3 };
    expect(() => parseStackConfig({ ...raw, postgres }, "dev")).toThrow(ConfigError);
    expect(() => parseStackConfig({ ...raw, postgres }, "dev")).toThrow(
      /ducklake:postgres.instances: 3 instances need 3 nodes .* cluster.nodeCount is 1.*allowColocatedInstances/,
    );
    // With the override the config parses, and the values ask for preferred (not required) anti-affinity.
    const ok = parseStackConfig({ ...raw, postgres: { ...postgres, allowColocatedInstances: true } }, "dev").config
      .postgres;
    const values = buildClusterValues(
      { config: ok, parameters: tunedParameters(ok), sharedPreloadLibraries: [] },
      "standard",
    ) as { cluster: { affinity: Record<string, unknown>; enablePDB: boolean } };
    expect(values.cluster.affinity["podAntiAffinityType"]).toBe("preferred");
    expect(values.cluster.enablePDB).toBe(true);
  });
});

describe("image", () => {
  test("the default is pgmq's public image for the major, run as the official image's UID", () => {
    expect(resolveImage(stackPostgresConfig("dev"))).toEqual({
      image: "ghcr.io/pgmq/pg17-pgmq:v1.5.1@sha256:e6f893a793751ed30c89f5f88e95aa52b77c1a03440b7d118a996866489ac0c6",
      major: 17,
      postgresUid: 999,
      isDefault: true,
    });
    const own = resolveImage({ ...stackPostgresConfig("dev"), image: "ghcr.io/acme/postgresql-pgmq:17-bookworm" });
    expect(own).toMatchObject({ postgresUid: 26, isDefault: false });
    expect(resolveImage({ ...stackPostgresConfig("dev"), image: "x/y:17", imageUserId: 1000 }).postgresUid).toBe(1000);
    expect(() => resolveImage({ ...stackPostgresConfig("dev"), majorVersion: 18 })).toThrow(/PG_MAJOR=18/);
  });

  test.each([
    ["ghcr.io/acme/pg:17", 17],
    ["ghcr.io/acme/pg:17.5-standard-bookworm", 17],
    ["localhost:5000/pg:16-pgmq1.5.1", 16],
    ["ghcr.io/pgmq/pg17-pgmq:v1.5.1", undefined],
    ["ghcr.io/acme/pg@sha256:abcd", undefined],
    ["localhost:5000/pg", undefined],
  ])("imageTagMajor(%s) = %s", (image, major) => {
    expect(imageTagMajor(image)).toBe(major);
  });
});

test("shared_buffers against the pod memory reads units and 8 kB blocks with the tuning engine's parser", () => {
  const i = input("dev");
  // 4Gi pod: 524288 blocks of 8 kB = 4GB is refused, 524287 blocks is not; "4GB" and "4096MB" the same.
  for (const v of ["524288", "4GB", "4096MB"]) {
    expect(validateClusterInput({ ...i, parameters: { ...i.parameters, shared_buffers: v } }).errors).toEqual([
      expect.stringMatching(/^parameters\.shared_buffers is /),
    ]);
  }
  expect(validateClusterInput({ ...i, parameters: { ...i.parameters, shared_buffers: "524287" } }).errors).toEqual([]);
});

describe("customQueriesProblems", () => {
  test("accepts every key CloudNativePG knows, including those the chart's customQueries would drop", () => {
    const yaml =
      "a:\n  query: SELECT 1 AS x\n  primary: true\n  cache_seconds: 30\n  predicate_query: SELECT true\n  target_databases: ['*']\n  metrics:\n    - x: {usage: GAUGE, description: x}\n";
    expect(customQueriesProblems(yaml)).toEqual([]);
  });

  test("reports unknown keys, missing query or metrics, and a document that is not a map", () => {
    expect(customQueriesProblems("a:\n  query: x\n  metrics: []\n  cache_second: 30\n")).toEqual([
      expect.stringContaining("a uses cache_second"),
    ]);
    expect(customQueriesProblems("a:\n  metrics: []\n")).toEqual([expect.stringContaining("a needs a query")]);
    expect(customQueriesProblems("- a\n")).toEqual([expect.stringContaining("map of metric name")]);
    expect(customQueriesProblems("a: [\n")).toEqual([expect.stringContaining("not YAML")]);
  });

  test("problems stop validation", () => {
    const i = input("dev", undefined, { monitoringQueriesYaml: "a:\n  query: x\n" });
    expect(validateClusterInput(i).errors).toEqual([expect.stringContaining("a needs a query")]);
  });
});

test("pg_hba admits the app and owner roles to the app database, the superuser, and rejects the rest last", () => {
  const c = stackPostgresConfig("prod");
  const rules = pgHbaRules(c);
  expect(rules[0]).toBe(`host ${c.database} ${c.appUser} all scram-sha-256`);
  expect(rules[1]).toBe(`host ${c.database} ${c.ownerRole} all scram-sha-256`);
  expect(rules[rules.length - 1]).toBe("host all all all reject");
});

describe("cluster argument errors in the loader's report", () => {
  test("a message that starts with its key is reported at that key, the path printed once", () => {
    expect(clusterIssue('ducklake:postgres.appUser is "x", the same as ownerRole: no')).toEqual({
      path: ["postgres", "appUser"],
      message: 'is "x", the same as ownerRole: no',
      value: "x",
    });
    expect(clusterIssue("ducklake:postgres.pooler: 2 PgBouncer pods")).toEqual({
      path: ["postgres", "pooler"],
      message: "2 PgBouncer pods",
    });
    expect(clusterIssue("parameters.shared_buffers is 4GB")).toEqual({
      path: ["postgres"],
      message: "parameters.shared_buffers is 4GB",
    });
    const raw = JSON.parse(JSON.stringify(readDucklakeConfig("dev"))) as { postgres: Record<string, unknown> };
    raw.postgres["appUser"] = "lineage_owner";
    expect(() => parseStackConfig(raw, "dev")).toThrow(
      /^ {2}- ducklake:postgres\.appUser: is "lineage_owner", the same as ownerRole/m,
    );
    try {
      parseStackConfig(raw, "dev");
    } catch (err) {
      expect((err as Error).message).not.toMatch(/ducklake:postgres: ducklake:postgres/);
    }
  });
});
