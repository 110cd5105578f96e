/**
 * What apps get from the whole program (index.ts under the recording mocks, the real stack files): the app role's
 * credentials Secret copied into every application namespace (`postgres.appNamespaces`) with the password as a
 * Pulumi secret, the namespaces read (not created), the monitoring role (CloudNativePG managed role in pg_monitor,
 * its own generated password and Secret, a secret connection output), and no generated password in plain text in
 * the offline plan's resources.json. The SQL side of the monitoring role runs on real PostgreSQL in
 * test/queue/monitoring-role.integration.test.ts.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { isSecretWrapper, redactSecrets, unwrapSecrets, type RecordedResource } from "../helpers/mocks";
import { runStackProgram, type Program } from "../helpers/program";
import { ROOT } from "../helpers/stack-files";

const SECRET = "kubernetes:core/v1:Secret";
const NAMESPACE = "kubernetes:core/v1:Namespace";

function outputValue<T>(program: Program, key: string): Promise<T> {
  return new Promise((resolve) =>
    (program[key] as pulumi.Output<T>).apply((v) => {
      resolve(v);
      return v;
    }),
  );
}

/** Secrets named `name`, by namespace. */
function secretsNamed(resources: readonly RecordedResource[], name: string): Map<string, RecordedResource> {
  const out = new Map<string, RecordedResource>();
  for (const r of resources.filter((x) => x.type === SECRET)) {
    const meta = r.inputs["metadata"] as { name: string; namespace: string };
    if (meta.name === name) out.set(meta.namespace, r);
  }
  return out;
}

/** The generated password of a RandomPassword (the mocks' `mock-password-<resource name>`). */
const generated = (resourceName: string): string => `mock-password-${resourceName}`;

describe.each([
  // stack, app namespaces that get a copy, whether the pooler (pooled-uri) is on
  ["dev", ["default", "lineage"], false],
  ["prod", ["lineage"], true],
] as const)("%s stack", (stack, copiedTo, pooler) => {
  let run: Awaited<ReturnType<typeof runStackProgram>>;
  beforeAll(async () => {
    run = await runStackProgram(stack);
  });

  test("runs without error", () => {
    expect(run.error).toBeUndefined();
  });

  test(`the app role's Secret is in ${copiedTo.join(" and ")} too, same name, password and URIs as Pulumi secrets`, async () => {
    const copies = secretsNamed(run.recorder.resources, "lineage-pg-app-credentials");
    expect([...copies.keys()].sort()).toEqual(["ducklake-db", ...copiedTo].sort());
    const password = generated("postgres-app-password");
    for (const ns of copiedTo) {
      const copy = copies.get(ns)!;
      expect(copy.inputs["type"]).toBe("kubernetes.io/basic-auth");
      const data = copy.inputs["stringData"] as Record<string, unknown>;
      // CloudNativePG's basic-auth keys and its connection keys, plus the pooled URI where the stack builds one.
      expect(Object.keys(unwrapSecrets(data) as object).sort()).toEqual(
        ["dbname", "host", "password", "port", "uri", "username", ...(pooler ? ["pooled-uri"] : [])].sort(),
      );
      const plain = unwrapSecrets(data) as Record<string, string>;
      expect(plain["username"]).toBe("lineage_app");
      expect(plain["password"]).toBe(password);
      expect(plain["uri"]).toBe(await outputValue(run.program!, "postgresConnectionUri"));
      expect(plain["uri"]).toContain(`lineage_app:${password}@lineage-pg-rw.ducklake-db.svc.cluster.local:5432/`);
      if (pooler) expect(plain["pooled-uri"]).toBe(await outputValue(run.program!, "postgresPooledConnectionUri"));
      // The copy's values are secrets where the password is (whole stringData or each key), never plain.
      const redacted = JSON.stringify(redactSecrets(data));
      expect(redacted).not.toContain(password);
      expect(isSecretWrapper(data) || (isSecretWrapper(data["password"]) && isSecretWrapper(data["uri"]))).toBe(true);
    }
  });

  test("the application namespaces are read (pulumi preview fails on a missing one), never created", () => {
    const reads = run.recorder.reads.filter((r) => r.type === NAMESPACE).map((r) => [r.id, r.name]);
    expect(reads).toEqual(copiedTo.map((ns) => [ns, `needs-namespace-${ns}-for-postgres.appNamespaces`]));
    const created = run.recorder.ofType(NAMESPACE).map((n) => (n.inputs["metadata"] as { name: string }).name);
    for (const ns of copiedTo) expect(created).not.toContain(ns);
  });

  test("postgresSecretNamespaces lists the cluster's namespace and every copy", async () => {
    expect(await outputValue(run.program!, "postgresSecretNamespaces")).toEqual(["ducklake-db", ...copiedTo]);
  });

  test("the monitoring role: managed by CloudNativePG in pg_monitor, its own generated password and Secret, a secret URI", async () => {
    const release = run.recorder.ofType("kubernetes:helm.sh/v3:Release").find((r) => r.inputs["chart"] === "cluster")!;
    const values = release.inputs["values"] as {
      cluster: { roles: Array<Record<string, unknown>>; postgresql: { pg_hba: string[] } };
    };
    expect(values.cluster.roles.find((r) => r["name"] === "lineage_monitor")).toMatchObject({
      login: true,
      superuser: false,
      inRoles: ["pg_monitor"],
      passwordSecret: { name: "lineage-pg-monitoring-credentials" },
    });
    expect(values.cluster.postgresql.pg_hba).toContain("host ducklakedb lineage_monitor all scram-sha-256");
    const secret = secretsNamed(run.recorder.resources, "lineage-pg-monitoring-credentials");
    expect([...secret.keys()]).toEqual(["ducklake-db"]);
    const monitoringPassword = generated("postgres-monitoring-password");
    expect(unwrapSecrets(secret.get("ducklake-db")!.inputs["stringData"])).toEqual({
      username: "lineage_monitor",
      password: monitoringPassword,
    });
    const program = run.program!;
    expect(await pulumi.isSecret(program["postgresMonitoringConnectionUri"] as never)).toBe(true);
    expect(await outputValue(program, "postgresMonitoringConnectionUri")).toBe(
      `postgresql://lineage_monitor:${monitoringPassword}@lineage-pg-rw.ducklake-db.svc.cluster.local:5432/ducklakedb`,
    );
    expect(await outputValue(program, "postgresMonitoringUser")).toBe("lineage_monitor");
    expect(await outputValue(program, "postgresMonitoringSecretName")).toBe("lineage-pg-monitoring-credentials");
  });

  test("no generated password outside a secret in any resource input", () => {
    const passwords = run.recorder.ofType("random:index/randomPassword:RandomPassword").map((p) => generated(p.name));
    expect(passwords).toEqual(expect.arrayContaining([generated("postgres-monitoring-password")]));
    const all = JSON.stringify(run.recorder.resources.map((r) => unwrapSecrets(r.inputs)));
    const visible = JSON.stringify(run.recorder.resources.map((r) => redactSecrets(r.inputs)));
    for (const p of passwords) {
      expect(all).toContain(p); // the check can fail: each password does reach some input
      expect(visible).not.toContain(p);
    }
  });
});

describe("appNamespaces naming the cluster's own namespace", () => {
  test("no copy there (the original is there), and no read of it", async () => {
    const run = await runStackProgram("dev", (values) => {
      (values["ducklake:postgres"] as { appNamespaces: string[] }).appNamespaces = [
        "ducklake-db",
        "lineage",
        "lineage",
      ];
    });
    expect(run.error).toBeUndefined();
    const copies = secretsNamed(run.recorder.resources, "lineage-pg-app-credentials");
    expect([...copies.keys()].sort()).toEqual(["ducklake-db", "lineage"]);
    expect(run.recorder.reads.filter((r) => r.type === NAMESPACE).map((r) => r.id)).toEqual(["lineage"]);
  });
});

describe("the offline plan (npm run plan -- dev)", () => {
  let dir = "";
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "app-access-plan-"));
    execFileSync("npm", ["run", "-s", "plan", "--", "dev", "--out", dir], {
      cwd: ROOT,
      stdio: "pipe",
      timeout: 180_000,
    });
  }, 200_000);
  afterAll(() => {
    if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
  });

  test("resources.json and outputs.json hold the copies and the monitoring Secret but no generated password", () => {
    const resourcesText = fs.readFileSync(path.join(dir, "resources.json"), "utf8");
    const outputsText = fs.readFileSync(path.join(dir, "outputs.json"), "utf8");
    const resources = JSON.parse(resourcesText) as Array<{ type: string; name: string; inputs: unknown }>;
    const names = resources.filter((r) => r.type === SECRET).map((r) => r.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "postgres-app-secret-in-default",
        "postgres-app-secret-in-lineage",
        "postgres-monitoring-secret",
      ]),
    );
    const passwords = resources
      .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
      .map((r) => generated(r.name));
    expect(passwords).toEqual(
      expect.arrayContaining([generated("postgres-app-password"), generated("postgres-monitoring-password")]),
    );
    for (const p of passwords) {
      expect(resourcesText).not.toContain(p);
      expect(outputsText).not.toContain(p);
    }
    // Nor anything that looks like a password in a connection URI.
    expect(resourcesText + outputsText).not.toMatch(/postgresql:\/\/[^"@]*:[^"@]+@/);
  });
});
