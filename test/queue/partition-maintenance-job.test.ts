/**
 * The partition-maintenance CronJob (components/queue/partition-maintenance-job.ts): its spec, and that the
 * program creates it in both stacks, as the owner, on the schedule the runway rule assumes, after the bootstrap.
 */
import {
  PARTITION_MAINTENANCE_CALL,
  partitionMaintenanceCronJobSpec,
} from "../../components/queue/partition-maintenance-job";
import { maintenanceSchedule } from "../../components/queue/runway";
import { queueAlertRules } from "../../components/queue/alert-rules";
import { instanceNetworkPolicySpec } from "../../components/postgres/network-policy";
import { parseStackConfig } from "../../components/stack";
import type { MockRecorder } from "../../scripts/lib/mock-engine";
import { runStackProgram } from "../helpers/program";
import { readDucklakeConfig } from "../helpers/stack-files";

const CRONJOB = "kubernetes:batch/v1:CronJob";

describe("partitionMaintenanceCronJobSpec", () => {
  const spec = partitionMaintenanceCronJobSpec({
    schedule: maintenanceSchedule(300),
    image: "img",
    runAsUser: 999,
    host: "lineage-pg-rw",
    port: "5432",
    database: "ducklakedb",
    ownerSecretName: "lineage-pg-owner-credentials",
  }) as Record<string, any>;

  test("runs every period, never two at once, a missed run within its period, a hung one stopped", () => {
    expect(spec).toMatchObject({
      schedule: "*/5 * * * *",
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 300,
      jobTemplate: { spec: { backoffLimit: 0, activeDeadlineSeconds: 300 } },
    });
  });

  test("calls the procedure with psql as the owner from its Secret, over TLS, not as root", () => {
    const pod = spec.jobTemplate.spec.template.spec;
    const c = pod.containers[0];
    expect(c.command).toEqual(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", PARTITION_MAINTENANCE_CALL]);
    const env = Object.fromEntries(c.env.map((e: { name: string }) => [e.name, e]));
    expect(env.PGUSER.valueFrom.secretKeyRef).toEqual({ name: "lineage-pg-owner-credentials", key: "username" });
    expect(env.PGPASSWORD.valueFrom.secretKeyRef).toEqual({ name: "lineage-pg-owner-credentials", key: "password" });
    expect(env.PGPASSWORD.value).toBeUndefined();
    expect(env.PGSSLMODE.value).toBe("require");
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999 });
    expect(pod.restartPolicy).toBe("Never");
  });

  test("its pods carry the label the instance NetworkPolicy admits to 5432", () => {
    const labels = spec.jobTemplate.spec.template.metadata.labels as Record<string, string>;
    const policy = instanceNetworkPolicySpec(parseStackConfig(readDucklakeConfig("dev"), "dev").config.postgres);
    const admitted = (
      policy.ingress as Array<{ from: Array<{ podSelector?: { matchLabels?: Record<string, string> } }> }>
    )
      .flatMap((rule) => rule.from)
      .map((peer) => peer.podSelector?.matchLabels)
      .filter((m): m is Record<string, string> => m !== undefined && Object.keys(m).every((k) => labels[k] === m[k]));
    expect(admitted).toEqual([{ "ducklake.io/role": "partition-maintenance" }]);
  });

  test("a root UID is refused", () => {
    expect(() =>
      partitionMaintenanceCronJobSpec({
        schedule: maintenanceSchedule(60),
        image: "img",
        runAsUser: 0,
        host: "h",
        port: "5432",
        database: "d",
        ownerSecretName: "s",
      }),
    ).toThrow(/runAsUser must be a positive integer UID, not root \(got 0\)/);
  });
});

async function runProgram(stack: string): Promise<MockRecorder> {
  return (await runStackProgram(stack)).recorder;
}

describe.each(["dev", "prod"])("the %s program", (stack) => {
  let rec: MockRecorder;
  beforeAll(async () => {
    rec = await runProgram(stack);
  }, 120_000);

  test("creates one CronJob every minute (pg_partman_bgw.interval 60 s), as the owner, in the cluster's namespace", () => {
    const jobs = rec.ofType(CRONJOB);
    expect(jobs).toHaveLength(1);
    const inputs = jobs[0]!.inputs as Record<string, any>;
    expect(inputs.spec.schedule).toBe("* * * * *");
    expect(inputs.metadata.namespace).toBe(
      parseStackConfig(readDucklakeConfig(stack), stack).config.postgres.namespace,
    );
    const env = inputs.spec.jobTemplate.spec.template.spec.containers[0].env as Array<Record<string, any>>;
    const user = env.find((e) => e.name === "PGUSER");
    expect(user?.valueFrom.secretKeyRef.name).toMatch(/-owner-credentials$/);
  });
});

describe("the queue's PrometheusRule", () => {
  test("prod (podMonitor) creates it with the stack's rules, in the cluster's namespace; dev (podMonitor off) does not", async () => {
    const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
    const prod = await runProgram("prod");
    const rules = prod.ofType(PROMETHEUS_RULE).filter((r) => r.name === "queue-alerts-prometheusrule");
    expect(rules).toHaveLength(1);
    const inputs = rules[0]!.inputs as { metadata: { name: string }; spec: { groups: Array<{ rules: unknown[] }> } };
    expect(inputs.metadata.name).toBe("ducklake-queue-alerts");
    const config = parseStackConfig(readDucklakeConfig("prod"), "prod").config;
    expect(inputs.spec.groups[0]!.rules).toEqual(queueAlertRules(config).groups[0]!.rules);
    const dev = await runProgram("dev");
    expect(dev.ofType(PROMETHEUS_RULE).filter((r) => r.name === "queue-alerts-prometheusrule")).toEqual([]);
  }, 120_000);
});
