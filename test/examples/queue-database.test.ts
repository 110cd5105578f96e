/**
 * examples/queue-database: another Pulumi program (its own Pulumi.yaml, project `lineage-app`) that imports the
 * queue database from the package's entry point and puts it into its own stack, run under Pulumi's mocks with
 * its own stack file. Also: the package's surface is what package.json exports, and the example uses nothing else.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import ts from "typescript";
import { installRecordingMocks, settle, type MockRecorder } from "../../scripts/lib/mock-engine";
import { readStackFileConfig, stackConfigForRuntime } from "../../scripts/lib/stack-file";
import { ROOT } from "../helpers/stack-files";

const EXAMPLE = path.join(ROOT, "examples", "queue-database");

/** Runs the example program with its stack file's values (edited), in a fresh module registry. */
async function runExample(
  edit?: (values: Record<string, unknown>) => void,
): Promise<{ recorder: MockRecorder; program?: Record<string, unknown>; error?: Error }> {
  const file = readStackFileConfig(path.join(EXAMPLE, "Pulumi.dev.yaml"));
  const values = structuredClone(file.values);
  edit?.(values);
  const runtime = stackConfigForRuntime({ values, secureKeys: file.secureKeys });
  let recorder!: MockRecorder;
  let program: Record<string, unknown> | undefined;
  let error: Error | undefined;
  await jest.isolateModulesAsync(async () => {
    recorder = installRecordingMocks({
      stack: "dev",
      project: "lineage-app",
      config: runtime.config,
      secretKeys: runtime.secretKeys,
    });
    try {
      program = (await import("../../examples/queue-database/index")) as Record<string, unknown>;
    } catch (err) {
      error = err as Error;
    }
    await settle(recorder);
  });
  return { recorder, program, error };
}

const outputOf = <T>(value: unknown): Promise<T> =>
  new Promise((resolve) => (value as { apply: (f: (v: T) => T) => void }).apply((v) => (resolve(v), v)));

describe("examples/queue-database under mocks", () => {
  let run: Awaited<ReturnType<typeof runExample>>;
  beforeAll(async () => {
    run = await runExample();
  });

  test("the program runs and exports the queue's names and connection", async () => {
    expect(run.error).toBeUndefined();
    expect(run.program?.["queueNames"]).toEqual(["lineage_events", "lineage_events_dlq"]);
    expect(await outputOf(run.program?.["namespace"])).toBe("lineage");
    expect(await outputOf<string>(run.program?.["queueHost"])).toMatch(/^lineage-pg-rw\.ducklake-db/);
  });

  test("the queue database's components are in the app's stack, beside the app's own resources", () => {
    const types = new Set(run.recorder.resources.map((r) => r.type));
    for (const t of [
      "ducklake:postgres:PostgresCluster",
      "ducklake:queue:QueueBootstrap",
      "ducklake:queue:PartitionMaintenance",
    ])
      expect(types).toContain(t);
    expect(run.recorder.get("kubernetes:core/v1:Namespace", "app").inputs).toMatchObject({
      metadata: { name: "lineage" },
    });
  });

  test("every Kubernetes resource goes through the app's own provider", () => {
    const k8s = run.recorder.resources.filter(
      (r) => r.type.startsWith("kubernetes:") && r.type !== "pulumi:providers:kubernetes",
    );
    expect(k8s.length).toBeGreaterThan(5);
    const providers = new Set(k8s.map((r) => r.provider?.split("::")[3]));
    expect([...providers]).toEqual(["app-cluster"]);
  });

  test("a broken ducklake key in the app's stack file stops the program before anything is created", async () => {
    const broken = await runExample((values) => {
      (values["ducklake:postgres"] as Record<string, unknown>)["instances"] = 0;
      (values["ducklake:queues"] as Record<string, unknown>)["tableAutovacuumm"] = {};
    });
    expect(broken.error?.name).toBe("ConfigError");
    expect(broken.error?.message).toMatch(/ducklake:postgres\.instances/);
    expect(broken.error?.message).toMatch(/ducklake:queues\.tableAutovacuumm: unknown key/);
    expect(broken.recorder.resources).toEqual([]);
  });
});

describe("the package surface", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    name: string;
    exports: Record<string, { types: string; default?: string; [condition: string]: string | undefined }>;
    types: string;
    main: string;
  };

  test("package.json exports the build of components/index.ts (types and code), which tsconfig.build.json compiles", () => {
    const build = JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.build.json"), "utf8")) as {
      compilerOptions: { outDir: string; rootDir: string; declaration: boolean };
      include: string[];
    };
    expect(build.compilerOptions).toMatchObject({ outDir: "dist", rootDir: ".", declaration: true });
    expect(build.include).toContain("components/**/*.ts");
    // Node (require and import) takes the first matching condition in order: "node", the build.
    expect(Object.keys(pkg.exports["."]!)).toEqual(["types", "node", "default"]);
    expect(pkg.exports["."]!.types).toBe("./dist/components/index.d.ts");
    expect(pkg.exports["."]!["node"]).toBe("./dist/components/index.js");
    expect(pkg.types).toBe(pkg.exports["."]!.types);
  });

  test("`pulumi up` still runs index.ts: the Pulumi SDK's entry-point rule picks exports' default, the program", () => {
    // @pulumi/pulumi's cmd/run/run.js, without a `main` in Pulumi.yaml, runs `exports["."]` when package.json has
    // exports (its `.default || .require || .import` for an object) and `main` only when it has none. Pinned here
    // so an SDK that changes the rule fails this test instead of `pulumi up` running the library.
    const runJs = fs.readFileSync(require.resolve("@pulumi/pulumi/cmd/run/run.js"), "utf8");
    expect(runJs).toContain("mainExport.default || mainExport.require || mainExport.import");
    const main = pkg.exports["."]!;
    const entry = main.default ?? main["require"] ?? main["import"];
    expect(entry).toBe("./index.ts");
    expect(path.join(ROOT, entry!)).toBe(path.join(ROOT, pkg.main));
    const project = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
    expect(project).not.toMatch(/^main:/m);
  });

  test("the example imports the package by its name only, never a deep path", () => {
    const text = fs.readFileSync(path.join(EXAMPLE, "index.ts"), "utf8");
    const sf = ts.createSourceFile("index.ts", text, ts.ScriptTarget.ES2022);
    const specifiers = sf.statements
      .filter(ts.isImportDeclaration)
      .map((s) => (s.moduleSpecifier as ts.StringLiteral).text);
    expect(specifiers).toContain(pkg.name);
    expect(specifiers.filter((s) => s !== pkg.name && !s.startsWith("@pulumi/"))).toEqual([]);
  });

  test("the example's own package.json depends on this package by path", () => {
    const example = JSON.parse(fs.readFileSync(path.join(EXAMPLE, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(example.dependencies[pkg.name]).toBe("file:../..");
  });
});

const BUILT = path.join(ROOT, "dist", "components", "index.js");
(fs.existsSync(BUILT) ? describe : describe.skip)("the built package (needs `npm run build`: dist/)", () => {
  test("require('ducklake-pgmq') resolves through package.json exports to the build, with the entry's exports", async () => {
    // Node resolves a package's own name through its `exports` (self-reference), as an installed copy would.
    const script =
      "console.log(JSON.stringify([require.resolve('ducklake-pgmq'), Object.keys(require('ducklake-pgmq')).sort()]))";
    const [resolved, names] = JSON.parse(
      execFileSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8" }),
    ) as [string, string[]];
    expect(resolved).toBe(BUILT);
    const source = (await import("../../components/index")) as Record<string, unknown>;
    // A difference means dist/ is older than the source: `npm run build`.
    expect(names).toEqual(Object.keys(source).sort());
  });
});
