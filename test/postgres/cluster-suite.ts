/**
 * The PostgresCluster component under Pulumi mocks, for one stack's config: rendered values, secret
 * handling, dependency order, NetworkPolicies and outputs. Used by cluster-dev.test.ts and
 * cluster-prod.test.ts (one stack per file: each file gets its own Pulumi runtime).
 */
import * as pulumi from "@pulumi/pulumi";
import { deriveStack, parseStackConfig } from "../../components/stack";
import type { PostgresConfig } from "../../config/postgres";
import { installMocks, MockRecorder, promiseOf, redactSecrets, settle, unwrapSecrets } from "../helpers/mocks";
import { readDucklakeConfig } from "../helpers/stack-files";
import { allStrings, captureDependencies, dependencies, tunedParameters } from "./harness";

const RELEASE = "kubernetes:helm.sh/v3:Release";
const SECRET = "kubernetes:core/v1:Secret";
const NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const PASSWORD = "random:index/randomPassword:RandomPassword";

const QUERIES_YAML = `
pgmq_queue_length:
  query: "SELECT queue_name, queue_length FROM pgmq.metrics_all()"
  predicate_query: "SELECT true"
  primary: true
  cache_seconds: 30
  target_databases: ["ducklakedb"]
  metrics:
    - queue_name:
        usage: LABEL
        description: Queue name
    - queue_length:
        usage: GAUGE
        description: Messages in the queue
`;

type Values = Record<string, any>;

/** Runs the suite for a stack. */
export function runClusterSuite(stack: "dev" | "prod"): void {
  describe(`PostgresCluster on the ${stack} stack`, () => {
    let recorder: MockRecorder;
    let config: PostgresConfig;
    let parameters: Record<string, string>;
    let nodeSelector: Record<string, string> | undefined;
    let tolerations:
      Array<{ key: string; value?: string; effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute" }> | undefined;
    let component: import("../../components/postgres/cluster").PostgresCluster;
    let artifacts: ReadonlyMap<string, string>;
    const sharedPreloadLibraries = ["pg_partman_bgw", "pg_stat_statements"];

    beforeAll(async () => {
      recorder = installMocks({ stack });
      captureDependencies();
      const full = parseStackConfig(readDucklakeConfig(stack), stack).config;
      config = full.postgres;
      parameters = tunedParameters(config);
      if (full.nodes) {
        // What the SSD node group hands over: its labels, and its taint in Kubernetes spelling.
        const effect = (
          { NO_SCHEDULE: "NoSchedule", NO_EXECUTE: "NoExecute", PREFER_NO_SCHEDULE: "PreferNoSchedule" } as const
        )[full.nodes.taint.effect];
        nodeSelector = { ...full.nodes.labels };
        tolerations = [{ key: full.nodes.taint.key, value: full.nodes.taint.value, effect }];
      }
      const { PostgresCluster } = await import("../../components/postgres/cluster");
      component = new PostgresCluster("db", {
        config,
        storageClassName: pulumi.output(full.storage.className),
        parameters,
        sharedPreloadLibraries,
        nodeSelector,
        tolerations,
        monitoringQueriesYaml: QUERIES_YAML,
        // What BackupStorage hands over when the stack has backups (prod).
        ...(config.backups.enabled
          ? {
              backupDestination: {
                bucketName: "backups-bucket",
                region: "eu-west-1",
                roleArn: "arn:aws:iam::123456789012:role/backups",
              },
            }
          : {}),
      });
      await settle(recorder);
      // The texts the plan writes for this stack (postgresql.conf, bootstrap.sql, ...).
      artifacts = deriveStack(full, stack).artifacts;
    });

    const clusterValues = (): Values => recorder.get(RELEASE, "db-cluster").inputs["values"] as Values;

    test("both charts are pinned, from the CloudNativePG repository, in their namespaces", () => {
      const op = recorder.get(RELEASE, "db-operator").inputs;
      const cl = recorder.get(RELEASE, "db-cluster").inputs;
      expect(op["chart"]).toBe("cloudnative-pg");
      expect(op["version"]).toMatch(/^\d+\.\d+\.\d+$/);
      expect(op["namespace"]).toBe(config.operatorNamespace);
      expect(cl["chart"]).toBe("cluster");
      expect(cl["version"]).toMatch(/^\d+\.\d+\.\d+$/);
      expect(cl["namespace"]).toBe(config.namespace);
      for (const r of [op, cl])
        expect((r["repositoryOpts"] as Values)["repo"]).toBe("https://cloudnative-pg.github.io/charts");
    });

    test("parameters and shared_preload_libraries are the tuning engine's output, unchanged", () => {
      const pg = clusterValues()["cluster"]["postgresql"];
      expect(pg["parameters"]).toEqual(parameters);
      expect(Object.keys(pg["parameters"])).toEqual(Object.keys(parameters).sort());
      expect(pg["shared_preload_libraries"]).toEqual(sharedPreloadLibraries);
      // What the engine gives for this stack (plan/<stack>/postgresql.conf): the guide's values, derived
      // max_connections, and pg_partman's worker bound to the stack's owner role and database.
      expect(pg["parameters"]).toMatchObject(
        stack === "prod"
          ? {
              shared_buffers: "12GB",
              work_mem: "128MB",
              max_connections: "108",
              synchronous_commit: "on",
              "pg_partman_bgw.interval": "60",
            }
          : {
              shared_buffers: "2GB",
              work_mem: "64MB",
              max_connections: "18",
              autovacuum_work_mem: "122MB",
              synchronous_commit: "off",
              "pg_partman_bgw.interval": "60",
            },
      );
      expect(pg["parameters"]).toMatchObject({
        "pg_partman_bgw.role": "lineage_owner",
        "pg_partman_bgw.dbname": "ducklakedb",
      });
      expect(pg["parameters"]["shared_preload_libraries"]).toBeUndefined(); // CloudNativePG's own field
    });

    test("instances, anti-affinity, PDB, resources (request = limit) and storage follow the config", () => {
      const c = clusterValues()["cluster"];
      expect(c["instances"]).toBe(config.instances);
      expect(c["affinity"]["enablePodAntiAffinity"]).toBe(true);
      expect(c["affinity"]["topologyKey"]).toBe("kubernetes.io/hostname");
      expect(c["affinity"]["podAntiAffinityType"]).toBe(
        config.instances > 1 && !config.allowColocatedInstances ? "required" : "preferred",
      );
      expect(c["enablePDB"]).toBe(config.instances > 1);
      expect(c["resources"]["requests"]).toEqual({ cpu: config.resources.cpu, memory: config.resources.memory });
      expect(c["resources"]["limits"]).toEqual(c["resources"]["requests"]);
      expect(c["storage"]).toEqual({
        size: `${config.storage.sizeGiB}Gi`,
        storageClass: stack === "prod" ? "gp3" : "standard",
      });
      if (config.storage.walSizeGiB === undefined) {
        expect(c["walStorage"]).toEqual({ enabled: false });
      } else {
        expect(c["walStorage"]).toEqual({ enabled: true, size: `${config.storage.walSizeGiB}Gi`, storageClass: "gp3" });
      }
    });

    test("node selector and tolerations place the pods on the SSD node group (prod) or nowhere special (dev)", () => {
      const a = clusterValues()["cluster"]["affinity"];
      expect(a["nodeSelector"]).toEqual(nodeSelector);
      expect(a["tolerations"]).toEqual(tolerations);
      if (stack === "prod") expect(Object.keys(a["nodeSelector"]).length).toBeGreaterThan(0);
    });

    test("the image carries pgmq and pg_partman and the image catalog declares the major", () => {
      const v = clusterValues();
      expect(v["version"]["postgresql"]).toBe(String(config.majorVersion));
      expect(v["imageCatalog"]["create"]).toBe(true);
      expect(v["imageCatalog"]["images"]).toHaveLength(1);
      const img = v["imageCatalog"]["images"][0];
      expect(img["major"]).toBe(config.majorVersion);
      expect(img["image"]).toBe(
        config.image ??
          (config.majorVersion === 17
            ? "ghcr.io/pgmq/pg17-pgmq:v1.5.1@sha256:e6f893a793751ed30c89f5f88e95aa52b77c1a03440b7d118a996866489ac0c6"
            : `ghcr.io/pgmq/pg${config.majorVersion}-pgmq:v1.5.1`),
      );
      expect(v["cluster"]["postgresUID"]).toBe(config.image === undefined ? 999 : 26);
    });

    test("pooler follows ducklake:postgres.pooler", () => {
      const poolers = clusterValues()["poolers"] as Values[];
      if (!config.pooler.enabled) {
        expect(poolers).toEqual([]);
        expect(component.poolerHost).toBeUndefined();
        return;
      }
      expect(poolers).toHaveLength(1);
      expect(poolers[0]).toMatchObject({
        type: "rw",
        poolMode: config.pooler.poolMode,
        instances: config.pooler.instances,
        parameters: {
          default_pool_size: String(config.pooler.defaultPoolSize),
          max_client_conn: String(config.pooler.maxClientConn),
        },
      });
    });

    test("queue metrics: the YAML verbatim in a Secret the cluster references; PodMonitor follows podMonitor", () => {
      const m = clusterValues()["cluster"]["monitoring"];
      const q = recorder.get(SECRET, "db-custom-queries").inputs as Values;
      expect(q["metadata"]).toMatchObject({
        name: `${config.clusterName}-custom-queries`,
        namespace: config.namespace,
        labels: { "cnpg.io/reload": "true" },
      });
      expect(unwrapSecrets(q["stringData"])).toEqual({ "queries.yaml": QUERIES_YAML });
      expect(m["customQueriesSecret"]).toEqual([{ name: q["metadata"]["name"], key: "queries.yaml" }]);
      expect(dependencies.get("db-cluster")?.some((urn) => urn.endsWith("::db-custom-queries"))).toBe(true);
      expect(m["enabled"]).toBe(config.podMonitor);
      expect(m["podMonitor"]["enabled"]).toBe(config.podMonitor);
    });

    test("credentials: four basic-auth Secrets, referenced by name from the values (and the app's copies elsewhere)", () => {
      const secrets = recorder
        .ofType(SECRET)
        .filter((s) => s.name !== "db-custom-queries" && !s.name.startsWith("db-app-secret-in-"));
      expect(secrets.map((s) => s.name).sort()).toEqual([
        "db-app-secret",
        "db-monitoring-secret",
        "db-owner-secret",
        "db-superuser-secret",
      ]);
      const byName = new Map(secrets.map((s) => [s.name, s.inputs as Values]));
      for (const s of byName.values()) {
        expect(s["type"]).toBe("kubernetes.io/basic-auth");
        expect(s["metadata"]["namespace"]).toBe(config.namespace);
      }
      const data = (n: string): Values => unwrapSecrets(byName.get(n)!["stringData"]) as Values;
      expect(data("db-app-secret")["username"]).toBe(config.appUser);
      expect(data("db-owner-secret")["username"]).toBe(config.ownerRole);
      expect(data("db-superuser-secret")["username"]).toBe("postgres");
      expect(data("db-monitoring-secret")["username"]).toBe(config.monitoringUser);
      const c = clusterValues()["cluster"];
      expect(c["enableSuperuserAccess"]).toBe(true);
      expect(c["superuserSecret"]).toBe(byName.get("db-superuser-secret")!["metadata"]["name"]);
      expect(c["initdb"]).toMatchObject({
        database: config.database,
        owner: config.ownerRole,
        secret: { name: byName.get("db-owner-secret")!["metadata"]["name"] },
      });
      expect(c["roles"]).toEqual([
        expect.objectContaining({
          name: config.appUser,
          login: true,
          superuser: false,
          passwordSecret: { name: byName.get("db-app-secret")!["metadata"]["name"] },
        }),
        expect.objectContaining({
          name: config.monitoringUser,
          login: true,
          superuser: false,
          inRoles: ["pg_monitor"],
          passwordSecret: { name: byName.get("db-monitoring-secret")!["metadata"]["name"] },
        }),
      ]);
      expect(c["roles"][0]).not.toHaveProperty("inRoles");
    });

    test("no generated password appears outside secret-wrapped values: not in Helm values, not in the plan", async () => {
      const passwords = recorder.ofType(PASSWORD).map((p) => `mock-password-${p.name}`);
      expect(passwords).toHaveLength(4);
      // The check can fail: with secret wrappers removed, every password is found (in its Secret).
      const unwrapped = allStrings(recorder.resources.map((r) => unwrapSecrets(r.inputs)));
      for (const pw of passwords) expect(unwrapped.some((s) => s.includes(pw))).toBe(true);
      const exposed = allStrings(recorder.resources.map((r) => redactSecrets(r.inputs)));
      for (const pw of passwords) expect(exposed.filter((s) => s.includes(pw))).toEqual([]);
      for (const [path, content] of artifacts) {
        const text = await promiseOf(pulumi.output(content));
        for (const pw of passwords) expect({ path, leaked: text.includes(pw) }).toEqual({ path, leaked: false });
      }
    });

    test("connection URI is a Pulumi secret and points at the read-write service", async () => {
      expect(await pulumi.isSecret(component.connectionUri)).toBe(true);
      const uri = new URL(await promiseOf(component.connectionUri));
      expect(uri.protocol).toBe("postgresql:");
      expect(uri.username).toBe(config.appUser);
      expect(uri.password).toBe("mock-password-db-app-password");
      expect(uri.hostname).toBe(`${config.clusterName}-rw.${config.namespace}.svc.cluster.local`);
      expect(uri.port).toBe("5432");
      expect(uri.pathname).toBe(`/${config.database}`);
      expect(await promiseOf(component.roHost)).toBe(`${config.clusterName}-ro.${config.namespace}.svc.cluster.local`);
      expect(await promiseOf(component.appSecretName)).toBe(`${config.clusterName}-app-credentials`);
      expect(await promiseOf(component.superuserSecretName)).toBe(`${config.clusterName}-superuser-credentials`);
      expect(await pulumi.isSecret(component.appSecretName)).toBe(false);
    });

    test("order: the cluster release waits for the operator release and the three Secrets", () => {
      const deps = dependencies.get("db-cluster") ?? [];
      const names = deps.map((urn) => urn.split("::").pop());
      expect(names).toEqual(
        expect.arrayContaining(["db-operator", "db-app-secret", "db-owner-secret", "db-superuser-secret"]),
      );
      expect(dependencies.get("db-operator") ?? []).not.toEqual(
        expect.arrayContaining([expect.stringContaining("::db-cluster")]),
      );
    });

    test("NetworkPolicy admits the app namespaces, the bootstrap Job, the operator, peers and metrics only", () => {
      const np = recorder.get(NETPOL, "db-instances-netpol").inputs as Values;
      expect(np["metadata"]["namespace"]).toBe(config.namespace);
      const spec = np["spec"];
      expect(spec["podSelector"]["matchLabels"]).toEqual({
        "cnpg.io/cluster": config.clusterName,
        "cnpg.io/podRole": "instance",
      });
      expect(spec["policyTypes"]).toEqual(["Ingress"]);
      const rules = spec["ingress"] as Values[];
      const ports = (r: Values): number[] => (r["ports"] as Values[]).map((p) => p["port"]).sort();
      const nsIn = (r: Values): string[] | undefined =>
        r["from"][0]["namespaceSelector"]?.["matchExpressions"]?.[0]?.["values"];
      const app = rules.find((r) => nsIn(r)?.join() === config.appNamespaces.join())!;
      expect(ports(app)).toEqual([5432]);
      const boot = rules.find(
        (r) => r["from"][0]["podSelector"]?.["matchLabels"]?.["ducklake.io/role"] === "queue-bootstrap",
      )!;
      expect(ports(boot)).toEqual([5432]);
      expect(boot["from"][0]["namespaceSelector"]).toBeUndefined(); // same namespace only
      const op = rules.find(
        (r) =>
          r["from"][0]["namespaceSelector"]?.["matchLabels"]?.["kubernetes.io/metadata.name"] ===
          config.operatorNamespace,
      )!;
      expect(ports(op)).toEqual([5432, 8000]);
      const metrics = rules.find(
        (r) => nsIn(r)?.join() === config.metricsNamespaces.join() && ports(r).includes(9187),
      )!;
      expect(ports(metrics)).toEqual([9187]);
      expect(rules).toHaveLength(5);
      expect(recorder.ofType(NETPOL)).toHaveLength(config.pooler.enabled ? 2 : 1);
    });

    test("the values of both releases render as the plan writes them (values/<release>.yaml)", async () => {
      const { renderValuesYaml } = await import("../../components/postgres/helm-values");
      const op = renderValuesYaml(redactSecrets(recorder.get(RELEASE, "db-operator").inputs["values"]));
      const cl = renderValuesYaml(redactSecrets(recorder.get(RELEASE, "db-cluster").inputs["values"]));
      expect(op).toContain("podMonitorEnabled: " + String(config.podMonitor));
      expect(cl).toContain(`instances: ${config.instances}`);
      expect(cl).toContain(`shared_buffers: ${parameters["shared_buffers"]}`);
      expect(cl).toContain(`storageClass: ${stack === "prod" ? "gp3" : "standard"}`);
      // Helm reads YAML 1.1, where a bare on/off is a boolean: the text must keep them strings.
      // (wal_compression is no example any more: the engine writes the seed's "on" as PostgreSQL shows it, pglz.)
      expect(parameters["huge_pages"]).toBe("off");
      expect(parameters["track_io_timing"]).toBe("on");
      expect(cl).toContain('huge_pages: "off"');
      expect(cl).toContain('track_io_timing: "on"');
      expect(cl).toContain(`synchronous_commit: "${stack === "prod" ? "on" : "off"}"`);
      expect(cl).toContain("wal_compression: pglz");
      expect(cl).not.toMatch(/: (on|off)$/m);
    });
  });
}
