import { installMocks, settle, type MockRecorder } from "../helpers/mocks";

let recorder: MockRecorder;
let mod: typeof import("../../components/queue/bootstrap-job");

beforeAll(async () => {
  recorder = installMocks({ stack: "dev" });
  mod = await import("../../components/queue/bootstrap-job");
});

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface JobSpec {
  backoffLimit: number;
  template: {
    spec: {
      restartPolicy: string;
      containers: Array<{ image: string; env: EnvVar[]; command: string[] }>;
      volumes: Array<{ configMap: { name: string } }>;
    };
  };
}

const base = {
  namespace: "ducklake-db",
  host: "lineage-pg-rw",
  database: "lineage",
  superuserSecretName: "lineage-pg-superuser",
};

describe("QueueBootstrap", () => {
  test("a ConfigMap with the SQL and a Job named by the SQL hash that reads the Secret", async () => {
    const sql = "SELECT 1;\n";
    const c = new mod.QueueBootstrap("qb", { ...base, sql });
    await settle();
    const name = mod.bootstrapJobName("queue-bootstrap", sql);
    expect(name).toBe(`queue-bootstrap-${mod.sqlSha256(sql).slice(0, 10)}`);
    const cm = recorder.get("kubernetes:core/v1:ConfigMap", "qb-sql");
    expect((cm.inputs["data"] as Record<string, string>)["bootstrap.sql"]).toBe(sql);
    const job = recorder.get("kubernetes:batch/v1:Job", "qb-job");
    const meta = job.inputs["metadata"] as { name: string; namespace: string };
    expect(meta).toMatchObject({ name, namespace: "ducklake-db" });
    const spec = job.inputs["spec"] as JobSpec;
    expect(spec.backoffLimit).toBe(6);
    const pod = spec.template.spec;
    expect(pod.restartPolicy).toBe("Never");
    const container = pod.containers[0]!;
    expect(container.image).toBe(mod.DEFAULT_BOOTSTRAP_IMAGE);
    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env["PGHOST"]).toBe("lineage-pg-rw");
    expect(env["PGPORT"]).toBe("5432");
    expect(env["PGUSER"]).toEqual({ secretKeyRef: { name: "lineage-pg-superuser", key: "username" } });
    expect(env["PGPASSWORD"]).toEqual({ secretKeyRef: { name: "lineage-pg-superuser", key: "password" } });
    expect(container.command[2]).toContain("until pg_isready -q");
    expect(container.command[2]).toContain("psql -X -v ON_ERROR_STOP=1 --single-transaction");
    expect(pod.volumes[0]!.configMap.name).toBe(name);
    const jobName = await new Promise((resolve) => c.jobName.apply(resolve));
    expect(jobName).toBe(name);
  });

  test("a changed SQL changes the Job's name", () => {
    expect(mod.bootstrapJobName("queue-bootstrap", "SELECT 1;")).not.toBe(
      mod.bootstrapJobName("queue-bootstrap", "SELECT 2;"),
    );
  });

  test.each([
    [{ sql: "  " }, /sql is empty/],
    [{ sql: "SELECT 1;", backoffLimit: -1 }, /backoffLimit/],
    [{ sql: "SELECT 1;", waitForDatabaseSeconds: 1 }, /waitForDatabaseSeconds/],
    [{ sql: "SELECT 1;", namePrefix: "Bad_Prefix" }, /DNS-1123/],
    [{ sql: "SELECT 1;", runAsUser: 0 }, /runAsUser must be a positive integer UID, not root/],
  ])("refuses %j before creating anything", async (over, message) => {
    const before = recorder.resources.length;
    expect(
      () =>
        new mod.QueueBootstrap(`bad-${before}`, { ...base, ...over } as ConstructorParameters<
          typeof mod.QueueBootstrap
        >[1]),
    ).toThrow(message);
    await settle();
    expect(recorder.resources.filter((r) => r.name.startsWith(`bad-${before}-`))).toEqual([]);
  });

  test("runs as the image's postgres user: 26 for the default (CloudNativePG) image, the given UID otherwise", async () => {
    new mod.QueueBootstrap("uid-default", { ...base, sql: "SELECT 10;" });
    new mod.QueueBootstrap("uid-official", {
      ...base,
      sql: "SELECT 11;",
      image: "ghcr.io/pgmq/pg17-pgmq:v1.5.1",
      runAsUser: 999,
    });
    await settle();
    const podSecurity = (name: string): unknown =>
      (
        recorder.get("kubernetes:batch/v1:Job", name).inputs["spec"] as {
          template: { spec: { securityContext: unknown } };
        }
      ).template.spec.securityContext;
    expect(podSecurity("uid-default-job")).toEqual({
      runAsNonRoot: true,
      runAsUser: 26,
      runAsGroup: 26,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(podSecurity("uid-official-job")).toEqual({
      runAsNonRoot: true,
      runAsUser: 999,
      runAsGroup: 999,
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  test("waits for the database for the configured time", () => {
    const script = mod.bootstrapScript(60);
    expect(script).toContain('if [ "$i" -ge 12 ]');
  });
});
