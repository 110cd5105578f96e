/**
 * The alert rules (components/queue/alert-rules.ts): every metric they name is one the exporter defines,
 * every alert has a runbook paragraph, and `promtool test rules` (Debian's `prometheus` package; `.ci/run`
 * installs it) passes a firing and a quiet case for every alert of both stacks, and fails a wrong one.
 * Without promtool the promtool tests are a skipped describe naming what is missing.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import {
  baseBackupAgeAlertSeconds,
  exportedMetricNames,
  metricNamesIn,
  queueAlertRules,
  type AlertRule,
} from "../../components/queue/alert-rules";
import { parseStackConfig } from "../../components/stack";
import { readDucklakeConfig, ROOT } from "../helpers/stack-files";
import { PROMTOOL_MISSING, promtoolPath } from "../helpers/promtool";

const stacks = ["dev", "prod"] as const;
const configOf = (stack: string) => parseStackConfig(readDucklakeConfig(stack), stack).config;

describe("alert rules", () => {
  test.each(stacks)("%s: every metric an alert names is one the exporter defines", (stack) => {
    const config = configOf(stack);
    const defined = exportedMetricNames(config);
    const used = queueAlertRules(config).groups.flatMap((g) => g.rules.flatMap((r) => metricNamesIn(r.expr)));
    expect(used.length).toBeGreaterThan(8);
    expect(used.filter((m) => !defined.has(m))).toEqual([]);
  });

  test("a misspelled metric is caught", () => {
    const defined = exportedMetricNames(configOf("dev"));
    expect(metricNamesIn("cnpg_ducklake_queue_oldest_age_seconds > 1").filter((m) => !defined.has(m))).toEqual([
      "cnpg_ducklake_queue_oldest_age_seconds",
    ]);
    expect(metricNamesIn('rate(a_total{x="y"}[5m]) > 0 and on(x) b_c < 1e-9')).toEqual(["a_total", "b_c"]);
  });

  test("every alert has a runbook paragraph in docs/queue.md, under the anchor its annotation links", () => {
    const doc = fs.readFileSync(path.join(ROOT, "docs", "queue.md"), "utf8");
    for (const r of queueAlertRules(configOf("prod")).groups[0]!.rules) {
      expect(r.annotations.runbook).toBe(`docs/queue.md#alerts-${r.alert.toLowerCase()}`);
      expect(doc).toContain(`#### Alerts: ${r.alert}`);
    }
  });

  test("the backup alerts exist only with backups, and use the plugin's metrics only then", () => {
    const names = (stack: string) => queueAlertRules(configOf(stack)).groups[0]!.rules.map((r) => r.alert);
    expect(names("prod")).toEqual(
      expect.arrayContaining([
        "DucklakeWalArchiveFailing",
        "DucklakeWalArchiveBacklog",
        "DucklakeBaseBackupTooOld",
        "DucklakeBaseBackupFailed",
      ]),
    );
    expect(names("dev").filter((n) => /Backup|WalArchive/.test(n))).toEqual([]);
    expect(
      exportedMetricNames(configOf("dev")).has("barman_cloud_cloudnative_pg_io_last_available_backup_timestamp"),
    ).toBe(false);
    expect(baseBackupAgeAlertSeconds("0 0 3 * * *")).toBe(86_400 + 21_600);
    expect(baseBackupAgeAlertSeconds("0 0 * * * *")).toBe(3_600 + 3_600);
  });

  test("the replication alert exists only with standbys", () => {
    const names = (stack: string) => queueAlertRules(configOf(stack)).groups[0]!.rules.map((r) => r.alert);
    expect(names("dev")).not.toContain("DucklakeReplicationLag");
    expect(names("prod")).toContain("DucklakeReplicationLag");
  });
});

/** One promtool case: input series, when to evaluate, and whether the alert fires (with which labels). */
interface Case {
  series: Array<{ series: string; values: string }>;
  evalTime: string;
  fires: Array<Record<string, string>>;
}

/** A firing and a quiet case for each alert. */
const CASES: Record<string, { firing: Case; quiet: Case }> = {
  DucklakeDeadLettersGrowing: {
    firing: {
      series: [
        {
          series:
            'cnpg_ducklake_dead_letter_dead_letters{queue_name="lineage_events",dead_letter_queue="lineage_events_dlq"}',
          values: "0x20 1x20",
        },
      ],
      evalTime: "25m",
      fires: [{ queue_name: "lineage_events", dead_letter_queue: "lineage_events_dlq" }],
    },
    quiet: {
      series: [
        {
          series:
            'cnpg_ducklake_dead_letter_dead_letters{queue_name="lineage_events",dead_letter_queue="lineage_events_dlq"}',
          values: "3x40",
        },
      ],
      evalTime: "30m",
      fires: [],
    },
  },
  DucklakeOldestMessageTooOld: {
    firing: {
      series: [
        { series: 'cnpg_ducklake_queue_oldest_message_age_seconds{queue_name="lineage_events"}', values: "600x20" },
      ],
      evalTime: "10m",
      fires: [{ queue_name: "lineage_events" }],
    },
    quiet: {
      // young messages; an old dead letter is not a consumer falling behind
      series: [
        { series: 'cnpg_ducklake_queue_oldest_message_age_seconds{queue_name="lineage_events"}', values: "10x20" },
        {
          series: 'cnpg_ducklake_queue_oldest_message_age_seconds{queue_name="lineage_events_dlq"}',
          values: "9000x20",
        },
      ],
      evalTime: "10m",
      fires: [],
    },
  },
  DucklakeQueueDepthGrowing: {
    firing: {
      series: [{ series: 'cnpg_ducklake_queue_queue_length{queue_name="lineage_events"}', values: "20000+1000x40" }],
      evalTime: "35m",
      fires: [{ queue_name: "lineage_events" }],
    },
    quiet: {
      series: [{ series: 'cnpg_ducklake_queue_queue_length{queue_name="lineage_events"}', values: "60000-1000x40" }],
      evalTime: "35m",
      fires: [],
    },
  },
  DucklakeDefaultPartitionRows: {
    firing: {
      series: [
        {
          series: 'cnpg_ducklake_default_partition_row_count{parent_table="pgmq.q_lineage_events"}',
          values: "0 0 5x10",
        },
      ],
      evalTime: "5m",
      fires: [{ parent_table: "pgmq.q_lineage_events" }],
    },
    quiet: {
      series: [
        { series: 'cnpg_ducklake_default_partition_row_count{parent_table="pgmq.q_lineage_events"}', values: "0x10" },
      ],
      evalTime: "5m",
      fires: [],
    },
  },
  DucklakePartitionRunwayLow: {
    firing: {
      // 1,000 msgs/s against 100,000 ids of runway: 100 s < 2 x 60 s
      series: [
        {
          series: 'cnpg_ducklake_partition_runway_runway_messages{parent_table="pgmq.q_lineage_events"}',
          values: "100000x20",
        },
        {
          series: 'cnpg_ducklake_partition_runway_last_msg_id{parent_table="pgmq.q_lineage_events"}',
          values: "0+60000x20",
        },
      ],
      evalTime: "15m",
      fires: [{ parent_table: "pgmq.q_lineage_events" }],
    },
    quiet: {
      // an idle queue with little runway is fine (no rate), a busy one with plenty too
      series: [
        {
          series: 'cnpg_ducklake_partition_runway_runway_messages{parent_table="pgmq.q_lineage_events"}',
          values: "100x20",
        },
        {
          series: 'cnpg_ducklake_partition_runway_last_msg_id{parent_table="pgmq.q_lineage_events"}',
          values: "500x20",
        },
        {
          series: 'cnpg_ducklake_partition_runway_runway_messages{parent_table="pgmq.a_lineage_events"}',
          values: "10000000x20",
        },
        {
          series: 'cnpg_ducklake_partition_runway_last_msg_id{parent_table="pgmq.a_lineage_events"}',
          values: "0+60000x20",
        },
      ],
      evalTime: "15m",
      fires: [],
    },
  },
  DucklakePartitionMaintenanceStalled: {
    firing: {
      series: [
        {
          series: 'cnpg_ducklake_partition_maintenance_seconds_since_success{parent_table="pgmq.q_lineage_events"}',
          values: "400x20",
        },
        { series: 'cnpg_ducklake_partition_maintenance_failing{parent_table="pgmq.q_lineage_events"}', values: "0x20" },
        {
          series: 'cnpg_ducklake_partition_maintenance_seconds_since_success{parent_table="pgmq.a_lineage_events"}',
          values: "30x20",
        },
        { series: 'cnpg_ducklake_partition_maintenance_failing{parent_table="pgmq.a_lineage_events"}', values: "1x20" },
      ],
      evalTime: "10m",
      fires: [{ parent_table: "pgmq.q_lineage_events" }, { parent_table: "pgmq.a_lineage_events" }],
    },
    quiet: {
      series: [
        {
          series: 'cnpg_ducklake_partition_maintenance_seconds_since_success{parent_table="pgmq.q_lineage_events"}',
          values: "30x20",
        },
        { series: 'cnpg_ducklake_partition_maintenance_failing{parent_table="pgmq.q_lineage_events"}', values: "0x20" },
      ],
      evalTime: "10m",
      fires: [],
    },
  },
  DucklakeDeadTuplesOutrunningAutovacuum: {
    firing: {
      series: [
        { series: 'cnpg_ducklake_queue_table_n_dead_tup{relname="q_lineage_events_p0"}', values: "500000x30" },
        { series: 'cnpg_ducklake_queue_table_n_live_tup{relname="q_lineage_events_p0"}', values: "1000x30" },
      ],
      evalTime: "20m",
      fires: [{ relname: "q_lineage_events_p0" }],
    },
    quiet: {
      series: [
        { series: 'cnpg_ducklake_queue_table_n_dead_tup{relname="q_lineage_events_p0"}', values: "500000x30" },
        { series: 'cnpg_ducklake_queue_table_n_live_tup{relname="q_lineage_events_p0"}', values: "1000000x30" },
      ],
      evalTime: "20m",
      fires: [],
    },
  },
  DucklakeCacheHitRatioLow: {
    firing: { series: [{ series: "cnpg_ducklake_cache_hit_ratio", values: "0.95x30" }], evalTime: "20m", fires: [{}] },
    quiet: { series: [{ series: "cnpg_ducklake_cache_hit_ratio", values: "0.999x30" }], evalTime: "20m", fires: [] },
  },
  DucklakeReplicationLag: {
    firing: {
      series: [{ series: 'cnpg_pg_replication_lag{pod="lineage-pg-2"}', values: "60x20" }],
      evalTime: "10m",
      fires: [{ pod: "lineage-pg-2" }],
    },
    quiet: {
      series: [{ series: 'cnpg_pg_replication_lag{pod="lineage-pg-2"}', values: "0x20" }],
      evalTime: "10m",
      fires: [],
    },
  },
  // Backups (prod): the plugin's and CloudNativePG's archiver metrics carry the instance's labels.
  DucklakeWalArchiveFailing: {
    firing: {
      series: [{ series: 'cnpg_pg_stat_archiver_failed_count{pod="lineage-pg-1"}', values: "0+1x40" }],
      evalTime: "30m",
      fires: [{ pod: "lineage-pg-1" }],
    },
    quiet: {
      // one failure long ago, none since
      series: [{ series: 'cnpg_pg_stat_archiver_failed_count{pod="lineage-pg-1"}', values: "0 1x40" }],
      evalTime: "30m",
      fires: [],
    },
  },
  DucklakeWalArchiveBacklog: {
    firing: {
      series: [{ series: 'cnpg_collector_pg_wal_archive_status{pod="lineage-pg-1",value="ready"}', values: "100x30" }],
      evalTime: "20m",
      fires: [{ pod: "lineage-pg-1", value: "ready" }],
    },
    quiet: {
      series: [
        { series: 'cnpg_collector_pg_wal_archive_status{pod="lineage-pg-1",value="ready"}', values: "5x30" },
        { series: 'cnpg_collector_pg_wal_archive_status{pod="lineage-pg-1",value="done"}', values: "5000x30" },
      ],
      evalTime: "20m",
      fires: [],
    },
  },
  DucklakeBaseBackupTooOld: {
    firing: {
      // promtool's clock starts at 0: a backup at -200,000 s is 200,600 s old at 10m, past the daily schedule's 108,000
      series: [
        {
          series: 'barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{pod="lineage-pg-1"}',
          values: "-200000x30",
        },
      ],
      evalTime: "20m",
      fires: [{ pod: "lineage-pg-1" }],
    },
    quiet: {
      series: [
        {
          series: 'barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{pod="lineage-pg-1"}',
          values: "-80000x30",
        },
      ],
      evalTime: "20m",
      fires: [],
    },
  },
  DucklakeBaseBackupFailed: {
    firing: {
      series: [
        {
          series: 'barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp{pod="lineage-pg-1"}',
          values: "2000x10",
        },
        {
          series: 'barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{pod="lineage-pg-1"}',
          values: "1000x10",
        },
      ],
      evalTime: "5m",
      fires: [{ pod: "lineage-pg-1" }],
    },
    quiet: {
      // a failure, then a success
      series: [
        {
          series: 'barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp{pod="lineage-pg-1"}',
          values: "1000x10",
        },
        {
          series: 'barman_cloud_cloudnative_pg_io_last_available_backup_timestamp{pod="lineage-pg-1"}',
          values: "2000x10",
        },
      ],
      evalTime: "5m",
      fires: [],
    },
  },
};

/** The promtool test file for a rule set: one test per case. */
function promtoolTests(rules: readonly AlertRule[], rulesFile: string, flip?: string): string {
  const tests = rules.flatMap((r) => {
    const cases = CASES[r.alert];
    if (cases === undefined) throw new Error(`no promtool case for ${r.alert}`);
    return (["firing", "quiet"] as const).map((kind) => {
      const c = cases[kind];
      const fires = r.alert === flip && kind === "quiet" ? [{}] : c.fires;
      return {
        interval: "1m",
        input_series: c.series,
        alert_rule_test: [
          {
            eval_time: c.evalTime,
            alertname: r.alert,
            exp_alerts: fires.map((labels) => ({
              exp_labels: { ...labels, severity: r.labels.severity },
              exp_annotations: { ...r.annotations },
            })),
          },
        ],
      };
    });
  });
  return stringify({ rule_files: [rulesFile], evaluation_interval: "1m", tests });
}

const promtool = promtoolPath();
const why = PROMTOOL_MISSING;
if (why !== undefined) console.warn(`SKIPPED test/queue/alert-rules (promtool): ${why}`);

(why === undefined ? describe : describe.skip)(
  `promtool test rules${why === undefined ? "" : ` — SKIPPED: ${why}`}`,
  () => {
    const run = (stack: string, flip?: string) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-promtool-"));
      try {
        const rules = queueAlertRules(configOf(stack));
        fs.writeFileSync(path.join(dir, "rules.yaml"), stringify(rules));
        fs.writeFileSync(path.join(dir, "tests.yaml"), promtoolTests(rules.groups[0]!.rules, "rules.yaml", flip));
        const check = spawnSync(promtool!, ["check", "rules", "rules.yaml"], { cwd: dir, encoding: "utf8" });
        const test = spawnSync(promtool!, ["test", "rules", "tests.yaml"], { cwd: dir, encoding: "utf8" });
        return { check, test, count: rules.groups[0]!.rules.length };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };

    test.each(stacks)(
      "%s: the rules pass promtool check, and a firing and a quiet case per alert pass promtool test",
      (stack) => {
        const { check, test, count } = run(stack);
        expect({ code: check.status, out: check.stdout + check.stderr }).toMatchObject({ code: 0 });
        expect({ code: test.status, out: test.stdout + test.stderr }).toMatchObject({ code: 0 });
        expect(count).toBe(stack === "prod" ? 13 : 8); // prod: + replication lag and the four backup alerts
      },
    );

    test("a wrong expectation fails promtool (the cases can fail)", () => {
      const { test } = run("dev", "DucklakeDefaultPartitionRows");
      expect(test.status).not.toBe(0);
      expect(test.stdout + test.stderr).toContain("DucklakeDefaultPartitionRows");
    });
  },
);
