import { parse } from "yaml";
import { parseStackConfig } from "../../components/stack";
import {
  bootstrapSqlInputOf,
  generateBootstrapSql,
  storageParameterItems,
  type BootstrapSqlInput,
} from "../../components/queue/bootstrap-sql";
import {
  checkpointsSelect,
  MONITORING_OBJECTS,
  monitoringMetricsYaml,
  monitoringSql,
  QUEUE_DEPTH_COLUMNS,
  queueMonitoringSql,
  reservedConnectionsExpr,
  serverMonitoringSql,
} from "../../components/queue/monitoring";
import { readDucklakeConfig } from "../helpers/stack-files";

function inputFor(stack: "dev" | "prod"): BootstrapSqlInput {
  return bootstrapSqlInputOf(parseStackConfig(readDucklakeConfig(stack), stack).config);
}

describe("generateBootstrapSql", () => {
  test("is deterministic", () => {
    expect(generateBootstrapSql(inputFor("dev"))).toBe(generateBootstrapSql(inputFor("dev")));
  });

  test("dev: the stack's runway, numeric partitioning, DLQ, storage parameters from the seed table", () => {
    const sql = generateBootstrapSql(inputFor("dev"));
    // 150,000 msgs/s x 60 s x 3 = 27,000,000 messages needed; 2,000,000 x premake 14 configured
    expect(sql).toContain("PERFORM pgmq.create_partitioned('lineage_events', '2000000', '10000000');");
    expect(sql).toContain(
      "SELECT ops.converge_partition_config('pgmq.q_lineage_events', 2000000, 14, 10000000, 27000000);",
    );
    expect(sql).toContain(
      "SELECT ops.converge_partition_config('pgmq.a_lineage_events', 2000000, 14, 10000000, 27000000);",
    );
    expect(sql).toContain("PERFORM pgmq.create('lineage_events_dlq');");
    expect(sql).toContain("('lineage_events', 'lineage_events_dlq', 5, 1209600)");
    // The seed guide's "Queue-Specific Table Tuning", on the queue and its DLQ, each labelled seed.
    const items =
      "ARRAY['autovacuum_vacuum_threshold=5', 'autovacuum_vacuum_scale_factor=0.001', 'autovacuum_analyze_scale_factor=0.0005', 'autovacuum_vacuum_cost_limit=10000']";
    expect(sql).toContain(`SELECT ops.apply_queue_storage_parameters('lineage_events', ${items}, `);
    expect(sql).toContain(`SELECT ops.apply_queue_storage_parameters('lineage_events_dlq', ${items}, `);
    expect(sql).toContain(
      [
        "--   autovacuum_vacuum_threshold = 5  (seed)",
        "--   autovacuum_vacuum_scale_factor = 0.001  (seed)",
        "--   autovacuum_analyze_scale_factor = 0.0005  (seed)",
        "--   autovacuum_vacuum_cost_limit = 10000  (seed)",
      ].join("\n"),
    );
    expect(sql).toContain("pg_partman_bgw.role must name lineage_owner, pg_partman_bgw.dbname ducklakedb");
    expect(sql).toContain("IF current_database() <> 'ducklakedb' THEN");
    expect(sql).toContain("SET ROLE lineage_owner;\nCREATE EXTENSION IF NOT EXISTS pgmq;");
    // the app role reads the queue tables and changes them only through the PGMQ API (definer rights)
    expect(sql).toContain("GRANT SELECT ON pgmq.q_lineage_events, pgmq.a_lineage_events TO lineage_app;");
    expect(sql).toContain(
      "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON pgmq.q_lineage_events, pgmq.a_lineage_events FROM lineage_app;",
    );
    expect(sql).not.toMatch(/GRANT [A-Z, ]*(INSERT|UPDATE|DELETE)[A-Z, ]* ON pgmq\./);
    expect(sql).toContain("ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, pgmq, pg_temp");
    expect(sql).not.toMatch(/PASSWORD\s*'/i); // roles are created without one
    // PostgreSQL 17: checkpoints from pg_stat_checkpointer
    expect(sql).toContain("FROM pg_catalog.pg_stat_checkpointer");
    expect(sql).toMatchSnapshot();
  });

  test("prod: the stack's own interval and premake, the guide's storage parameters", () => {
    const sql = generateBootstrapSql(inputFor("prod"));
    expect(sql).toContain("PERFORM pgmq.create_partitioned('lineage_events', '1000000', '100000000');");
    // 60,000 msgs/s x maintenance period 60 s x 3 = 10,800,000 needed; 1,000,000 x premake 11 configured
    expect(sql).toContain(
      "SELECT ops.converge_partition_config('pgmq.q_lineage_events', 1000000, 11, 100000000, 10800000);",
    );
    expect(sql).toContain(
      "SELECT ops.converge_partition_config('pgmq.a_lineage_events', 1000000, 11, 100000000, 10800000);",
    );
    expect(sql).toContain(
      "SELECT ops.apply_queue_storage_parameters('lineage_events', ARRAY['autovacuum_vacuum_threshold=5', 'autovacuum_vacuum_scale_factor=0.001', 'autovacuum_analyze_scale_factor=0.0005', 'autovacuum_vacuum_cost_limit=10000'], ",
    );
    expect(sql).not.toMatch(/^--   \S+ = \S+  \(override/m); // prod departs from none of the guide's table parameters
  });

  test("a table-parameter override beats the seed in the applied list and is labelled with its reason", () => {
    const input = inputFor("dev");
    const reason = "the DLQ and archive see few updates; vacuum them less eagerly than the guide";
    const queues = {
      ...input.queues,
      tableAutovacuum: {
        ...input.queues.tableAutovacuum,
        overrides: { autovacuum_vacuum_threshold: { value: 50, reason }, fillfactor: { value: 90, reason } },
      },
    };
    const sql = generateBootstrapSql({ ...input, queues });
    expect(sql).toContain(
      "ARRAY['autovacuum_vacuum_threshold=50', 'autovacuum_vacuum_scale_factor=0.001', 'autovacuum_analyze_scale_factor=0.0005', 'autovacuum_vacuum_cost_limit=10000', 'fillfactor=90']",
    );
    expect(sql).not.toContain("'autovacuum_vacuum_threshold=5'");
    expect(sql).toContain(`--   autovacuum_vacuum_threshold = 50  (override of seed 5: ${reason})`);
    expect(sql).toContain(`--   fillfactor = 90  (override: ${reason})`);
    expect(sql).toContain("--   autovacuum_vacuum_scale_factor = 0.001  (seed)");
  });

  test("no storage parameters: the comment says none and nothing is applied", () => {
    const input = inputFor("dev");
    const sql = generateBootstrapSql({
      ...input,
      queues: { ...input.queues, tableAutovacuum: { seed: {}, overrides: {} } },
    });
    expect(sql).toContain("--   (none)\n");
    expect(sql).toContain("SELECT ops.apply_queue_storage_parameters('lineage_events', ARRAY[]::text[], ");
  });

  test("storage parameters follow TABLE_AUTOVACUUM_PARAMETERS order, whatever the config's key order; an override beats the seed", () => {
    expect(
      storageParameterItems({
        seed: { fillfactor: 90, autovacuum_enabled: true, autovacuum_vacuum_threshold: 5 },
        overrides: {},
      }),
    ).toEqual(["autovacuum_enabled=true", "autovacuum_vacuum_threshold=5", "fillfactor=90"]);
    expect(
      storageParameterItems({
        seed: { fillfactor: 90, autovacuum_vacuum_threshold: 5 },
        overrides: {
          autovacuum_vacuum_threshold: { value: 7, reason: "a reason long enough" },
          autovacuum_enabled: { value: false, reason: "a reason long enough" },
        },
      }),
    ).toEqual(["autovacuum_enabled=false", "autovacuum_vacuum_threshold=7", "fillfactor=90"]);
    expect(() => storageParameterItems({ seed: { fillfactor: Number.NaN }, overrides: {} })).toThrow(
      /fillfactor must be a finite number/,
    );
  });

  test.each([
    [{ database: "Lineage" }, /database "Lineage"/],
    [{ ownerRole: "x; drop table y" }, /owner role/],
    [{ appRole: "lineage_owner" }, /must differ/],
    [{ majorVersion: 14 }, /major 14 is not supported/],
  ])("refuses %j", (over, message) => {
    expect(() => generateBootstrapSql({ ...inputFor("dev"), ...over })).toThrow(message);
  });

  test("refuses a queue name used twice", () => {
    const input = inputFor("dev");
    const q = input.queues.definitions[0]!;
    const queues = { ...input.queues, definitions: [q, { ...q, deadLetter: undefined, name: "lineage_events_dlq" }] };
    expect(() => generateBootstrapSql({ ...input, queues })).toThrow(/"lineage_events_dlq" is used twice/);
  });
});

describe("monitoring", () => {
  test.each([
    [15, "pg_stat_bgwriter", "checkpoints_req"],
    [16, "pg_stat_bgwriter", "checkpoints_req"],
    [17, "pg_stat_checkpointer", "num_requested"],
    [18, "pg_stat_checkpointer", "num_requested"],
  ])("PostgreSQL %d reads checkpoints from %s", (major, view, column) => {
    const sel = checkpointsSelect(major);
    expect(sel).toContain(view);
    expect(sel).toContain(column);
    expect(monitoringSql(major)).toContain(sel);
  });

  test("uses relname and total_exec_time (the seed's corrected names)", () => {
    const sql = monitoringSql(17);
    expect(sql).toContain("s.relname");
    expect(sql).toContain("st.total_exec_time");
    expect(sql).not.toMatch(/\btotal_time\b/);
    expect(sql).not.toMatch(/\btablename\b/);
  });

  test("MONITORING_OBJECTS lists exactly what the SQL creates; the server views need neither pgmq nor pg_partman", () => {
    const created = (sql: string) =>
      [...sql.matchAll(/^CREATE OR REPLACE (?:FUNCTION|VIEW) (ops\.\w+)/gm)].map((m) => m[1]);
    expect(created(monitoringSql(17))).toEqual(MONITORING_OBJECTS.map((o) => o.name));
    expect(created(serverMonitoringSql(15))).toEqual(MONITORING_OBJECTS.filter((o) => !o.needsPgmq).map((o) => o.name));
    expect(created(queueMonitoringSql())).toEqual(MONITORING_OBJECTS.filter((o) => o.needsPgmq).map((o) => o.name));
    for (const major of [15, 16, 17, 18]) {
      // outside comments and string literals (the worker views match 'pgmq.read' in query text)
      const sql = serverMonitoringSql(major)
        .split("\n")
        .filter((l) => !l.startsWith("--"))
        .join("\n")
        .replace(/'(?:[^']|'')*'/g, "''");
      expect(sql).not.toMatch(/\b(pgmq|partman)\.\w/);
      expect(sql).not.toContain("dead_letter_routes");
    }
  });

  test("the seed guide's wrong column names are not used; the worker count excludes the asking session and idle ones", () => {
    const sql = monitoringSql(15);
    expect(sql).not.toMatch(/\bcheckpoint_(timed|req)\b/);
    expect(sql).not.toMatch(/\bmean_time\b/);
    expect(sql).toContain("a.backend_type = 'client backend'");
    expect(sql).toContain("a.pid <> pg_catalog.pg_backend_pid()");
    expect(sql).toContain("a.state <> 'idle'");
    expect(sql).toContain("pg_catalog.pg_blocking_pids(w.pid)");
  });

  test.each([
    [15, false],
    [16, true],
    [17, true],
  ])("PostgreSQL %d: reserved_connections counted: %s", (major, withReserved) => {
    expect(reservedConnectionsExpr(major).includes("current_setting('reserved_connections')")).toBe(withReserved);
    expect(serverMonitoringSql(major)).toContain(reservedConnectionsExpr(major));
  });

  test("ops.queue_depth: queue_length is the depth, total_messages_sent pgmq's total_messages; an older shape is dropped first", () => {
    const sql = queueMonitoringSql();
    expect(QUEUE_DEPTH_COLUMNS.map(([n]) => n)).toEqual([
      "queue_name",
      "queue_length",
      "visible_messages",
      "oldest_message_age_seconds",
      "newest_message_age_seconds",
      "oldest_unread_wait_seconds",
      "total_messages_sent",
      "counts_exact",
    ]);
    expect(sql).toContain(
      "RETURNS TABLE (queue_name text, queue_length bigint, visible_messages bigint, oldest_message_age_seconds double precision, newest_message_age_seconds double precision, oldest_unread_wait_seconds double precision, total_messages_sent bigint, counts_exact integer)",
    );
    const drop = sql.indexOf("DROP FUNCTION ops.queue_depth();");
    expect(drop).toBeGreaterThan(-1);
    expect(drop).toBeLessThan(sql.indexOf("CREATE OR REPLACE FUNCTION ops.queue_depth()"));
    // (only the comment names pgmq's column)
    expect(
      sql
        .split("\n")
        .filter((l) => !l.startsWith("--"))
        .join("\n"),
    ).not.toMatch(/\btotal_messages\b/);
  });

  test("queue-table metrics read a bounded number of rows (CloudNativePG has no cache_seconds): no unbounded count over a queue table", () => {
    const sql = queueMonitoringSql();
    expect(sql).toContain(`SELECT @@METRICS_EXACT_COUNT_LIMIT@@`.replace("@@METRICS_EXACT_COUNT_LIMIT@@", "100000"));
    expect(sql).not.toContain("@@");
    // every count over a pgmq table goes through a LIMIT subquery
    const counts = [...sql.matchAll(/count\(\*\)[^']*?FROM (\S+)/g)].map((m) => m[1]);
    expect(counts.length).toBeGreaterThan(0);
    // a count over the catalog (partitions of an archive) is bounded by the partition count, not by messages
    for (const from of counts) expect(from).toMatch(/^(\(SELECT|pg_catalog\.)/);
    const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
    expect(monitoringMetricsYaml(17, config.queues)).not.toContain("cache_seconds");
  });

  test("metrics YAML: every query bounded by a statement timeout, schema-qualified, queues listed", () => {
    const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
    const doc = parse(monitoringMetricsYaml(17, config.queues)) as Record<
      string,
      { query: string; predicate_query: string; metrics: object[] }
    >;
    const names = Object.keys(doc);
    expect(names.length).toBeGreaterThanOrEqual(8);
    for (const name of names) {
      const q = doc[name]!;
      expect(q.predicate_query).toBe("SELECT pg_catalog.set_config('statement_timeout', '5000', true) IS NOT NULL");
      expect(q.query).toMatch(/FROM ops\./);
      expect(q.metrics.length).toBeGreaterThan(0);
    }
    expect(doc["ducklake_queue"]?.query).toContain("IN ('lineage_events', 'lineage_events_dlq')");
    expect(doc["ducklake_queue"]?.query).toContain("queue_length");
    expect(doc["ducklake_queue"]?.query).toContain("total_messages_sent");
    expect(doc["ducklake_queue"]?.query).not.toMatch(/\btotal_messages\b/);
    for (const name of ["ducklake_connections", "ducklake_queue_workers", "ducklake_lock_waits"])
      expect(names).toContain(name);
    expect(monitoringMetricsYaml(15, config.queues)).toContain("pg_stat_bgwriter.checkpoints_timed");
    expect(() => monitoringMetricsYaml(14, config.queues)).toThrow(/not supported/);
  });
});
