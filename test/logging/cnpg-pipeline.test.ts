/**
 * CloudNativePG log parsing: sample lines in CNPG's documented JSON format
 * (https://cloudnative-pg.io/documentation/current/logging/) run through the Promtail stages exactly
 * as rendered into the chart values; the Alloy rendering of the same rules is checked line by line.
 */
import { parse } from "yaml";
import {
  HIGH_CARDINALITY_FIELDS,
  assertLowCardinality,
  cnpgParseRules,
  promtailPipelineStages,
} from "../../components/logging/cnpg-pipeline";
import { buildPromtailValues } from "../../components/logging/promtail-values";
import { buildAlloyConfig } from "../../components/logging/alloy-config";
import { runPipeline } from "./promtail-evaluator";

const NS = "ducklake-db";
const PUSH = "http://loki.ducklake-logging.svc.cluster.local:3100/loki/api/v1/push";
const cri = (json: unknown, stream = "stderr"): string =>
  `2026-08-20T10:00:00.123456789Z ${stream} F ${typeof json === "string" ? json : JSON.stringify(json)}`;
const cnpgPod = { namespace: NS, pod: "lineage-pg-1", container: "postgres", cnpg_cluster: "lineage-pg" };

// Lines as CNPG writes them (field set from the CNPG docs; values typical of a queue database).
const postgresLog = {
  level: "info",
  ts: "2026-08-20T10:00:00.123456Z",
  logger: "postgres",
  msg: "record",
  logging_pod: "lineage-pg-1",
  record: {
    log_time: "2026-08-20 10:00:00.123 UTC",
    user_name: "lineage_app",
    database_name: "app",
    process_id: "4003",
    connection_from: "10.0.3.17:51234",
    session_id: "69376dbf.fa3",
    session_line_num: "1",
    command_tag: "SELECT",
    error_severity: "LOG",
    sql_state_code: "00000",
    message: "duration: 100.000 ms  statement: SELECT * FROM pgmq.read('lineage_events', 30, 100)",
    application_name: "lineage-consumer",
    backend_type: "client backend",
    query_id: "-6453205424335370331",
  },
};
const postgresError = {
  ...postgresLog,
  level: "error",
  record: {
    ...postgresLog.record,
    error_severity: "ERROR",
    sql_state_code: "23505",
    message: 'duplicate key value violates unique constraint "q_lineage_events_pkey"',
  },
};
const postgresFatal = {
  ...postgresLog,
  level: "error",
  record: {
    ...postgresLog.record,
    user_name: "mallory",
    error_severity: "FATAL",
    sql_state_code: "28P01",
    message: 'password authentication failed for user "mallory"',
  },
};
const instanceManager = {
  level: "info",
  ts: "2026-08-20T10:00:01.5Z",
  logger: "instance-manager",
  msg: "Checking for free disk space for WALs before starting PostgreSQL",
  logging_pod: "lineage-pg-1",
};

describe("Promtail stages on CloudNativePG lines", () => {
  const stages = promtailPipelineStages(cnpgParseRules(NS));

  test("a PostgreSQL LOG record gets level, logger and error_severity labels; sql_state_code as structured metadata", () => {
    const e = runPipeline(stages, cri(postgresLog), cnpgPod);
    expect(e.labels).toEqual({
      ...cnpgPod,
      stream: "stderr",
      level: "info",
      logger: "postgres",
      error_severity: "LOG",
    });
    expect(e.structuredMetadata).toEqual({ sql_state_code: "00000" });
    expect(JSON.parse(e.line)).toEqual(postgresLog); // the line itself is kept whole, CRI prefix stripped
  });

  test("ERROR and FATAL records are selectable by severity; user names and messages never become labels", () => {
    const err = runPipeline(stages, cri(postgresError), cnpgPod);
    expect(err.labels).toMatchObject({ level: "error", error_severity: "ERROR" });
    expect(err.structuredMetadata).toEqual({ sql_state_code: "23505" });
    const fatal = runPipeline(stages, cri(postgresFatal), cnpgPod);
    expect(fatal.labels["error_severity"]).toBe("FATAL");
    for (const e of [err, fatal]) {
      const values = Object.values(e.labels);
      expect(values).not.toContain("mallory");
      expect(values).not.toContain("lineage_app");
      expect(values.some((v) => v.includes("duplicate key") || v.includes("password"))).toBe(false);
      expect(Object.keys(e.labels).filter((k) => HIGH_CARDINALITY_FIELDS.includes(k))).toEqual([]);
    }
  });

  test("an instance-manager line has no error_severity (no record), only level and logger", () => {
    const e = runPipeline(stages, cri(instanceManager), cnpgPod);
    expect(e.labels).toEqual({ ...cnpgPod, stream: "stderr", level: "info", logger: "instance-manager" });
    expect(e.structuredMetadata).toEqual({});
  });

  test("a non-JSON line of a CNPG pod passes through with only the target labels", () => {
    const e = runPipeline(
      stages,
      cri('The files belonging to this database system will be owned by user "postgres".', "stdout"),
      cnpgPod,
    );
    expect(e.labels).toEqual({ ...cnpgPod, stream: "stdout" });
    expect(e.line).toBe('The files belonging to this database system will be owned by user "postgres".');
  });

  test("JSON lines of other pods are not parsed (no cnpg_cluster label, or another namespace)", () => {
    const app = { namespace: "lineage", pod: "consumer-7d9f", container: "app" };
    expect(runPipeline(stages, cri(postgresError), app).labels).toEqual({ ...app, stream: "stderr" });
    const otherNs = { ...cnpgPod, namespace: "other-db" };
    expect(runPipeline(stages, cri(postgresError), otherNs).labels).toEqual({ ...otherNs, stream: "stderr" });
  });

  test("the stages inside the rendered Promtail values are the ones evaluated here", () => {
    const values = buildPromtailValues({ pushUrl: PUSH, rules: cnpgParseRules(NS) });
    // Round-trip through YAML, as Helm receives them.
    const rendered = parse(JSON.stringify(values)) as {
      config: { snippets: { pipelineStages: Array<Record<string, unknown>> } };
    };
    const e = runPipeline(rendered.config.snippets.pipelineStages, cri(postgresError), cnpgPod);
    expect(e.labels["error_severity"]).toBe("ERROR");
  });
});

describe("low-cardinality guard", () => {
  test("refuses a label extracted from a high-cardinality field", () => {
    const rules = cnpgParseRules(NS);
    expect(() =>
      assertLowCardinality({
        ...rules,
        expressions: [...rules.expressions, ["user", "record.user_name"]],
        labels: [...rules.labels, "user"],
      }),
    ).toThrow(/label "user" \(from record.user_name\) has unbounded values/);
    expect(() => assertLowCardinality({ ...rules, labels: [...rules.labels, "message"] })).toThrow(/not extracted/);
  });

  test("refuses a namespace that is not a DNS label (it goes into a LogQL selector)", () => {
    expect(() => cnpgParseRules('db"}')).toThrow(/not a DNS-1123 label/);
  });
});

describe("Alloy configuration", () => {
  const text = buildAlloyConfig({ pushUrl: PUSH, rules: cnpgParseRules(NS) });

  test("parses CNPG lines with the same rules, inside loki.process", () => {
    const expected = [
      "  stage.match {",
      '    selector = "{namespace=\\"ducklake-db\\", cnpg_cluster=~\\".+\\"}"',
      "",
      "    stage.json {",
      "      expressions = {",
      '        level          = "level",',
      '        logger         = "logger",',
      '        error_severity = "record.error_severity",',
      '        sql_state_code = "record.sql_state_code",',
      "      }",
      "    }",
      "",
      "    stage.labels {",
      "      values = {",
      '        level          = "level",',
      '        logger         = "logger",',
      '        error_severity = "error_severity",',
      "      }",
      "    }",
      "",
      "    stage.structured_metadata {",
      "      values = {",
      '        sql_state_code = "sql_state_code",',
      "      }",
      "    }",
      "  }",
    ].join("\n");
    expect(text).toContain(expected);
    const processBlock = text.slice(text.indexOf('loki.process "pods" {'), text.indexOf('loki.write "loki"'));
    expect(processBlock).toContain("  stage.cri {}");
    expect(processBlock.indexOf("stage.cri")).toBeLessThan(processBlock.indexOf("stage.match"));
  });

  test("discovers this node's pods, labels namespace/pod/container/cnpg_cluster, reads kubelet log files, pushes to Loki", () => {
    expect(text).toContain('field = "spec.nodeName=" + sys.env("HOSTNAME")');
    for (const [meta, label] of [
      ["__meta_kubernetes_namespace", "namespace"],
      ["__meta_kubernetes_pod_name", "pod"],
      ["__meta_kubernetes_pod_container_name", "container"],
      ["__meta_kubernetes_pod_label_cnpg_io_cluster", "cnpg_cluster"],
    ]) {
      expect(text).toContain(`    source_labels = ["${meta}"]\n    target_label  = "${label}"`);
    }
    expect(text).toContain('replacement   = "/var/log/pods/*$1/*.log"');
    expect(text).toContain(`url = "${PUSH}"`);
    // Balanced braces: a cheap syntax check of the generated text.
    expect((text.match(/\{/g) ?? []).length).toBe((text.match(/\}/g) ?? []).length);
  });
});

test("Alloy values refuse text that Helm's tpl would evaluate", async () => {
  const { buildAlloyValues } = await import("../../components/logging/alloy-config");
  expect(() => buildAlloyValues('loki.write "x" { endpoint { url = "{{ .Release.Name }}" } }')).toThrow(/tpl/);
  const text = buildAlloyConfig({ pushUrl: PUSH, rules: cnpgParseRules(NS) });
  expect((buildAlloyValues(text) as { alloy: { configMap: { content: string } } }).alloy.configMap.content).toBe(text);
});
