/**
 * scripts/lib/stack-file.ts: a stack file that is not YAML, or has no config map, is one clear error naming
 * the file (the plan prints it and removes its old output), never a parser's stack trace.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readStackFileConfig, StackFileError } from "../../scripts/lib/stack-file";

describe("readStackFileConfig", () => {
  let dir: string;
  beforeAll(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-file-"))));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  test.each([
    [
      "an unclosed flow sequence",
      "config:\n  ducklake:cluster:\n    nodeCount: [1\n  ducklake:storage: {}\n",
      /is not valid YAML: .*line \d+, column \d+/s,
    ],
    [
      "a duplicate key",
      "config:\n  ducklake:storage: {}\n  ducklake:storage: {}\n",
      /is not valid YAML: Map keys must be unique/,
    ],
    [
      "an undefined alias",
      "config:\n  ducklake:storage: *nowhere\n",
      /is not valid YAML: .*nowhere.*\(line 2: ducklake:storage: \*nowhere\)/s,
    ],
    [
      "a merge key",
      "config:\n  ducklake:postgres:\n    <<: {podMonitor: true}\n",
      /line 3: YAML merge keys \(<<\) are not supported/,
    ],
    ["a config that is a list", "config:\n  - a\n", /"config" must be a map of key to value/],
  ])("%s is a StackFileError naming the file", (_what, text, message) => {
    const file = write("Pulumi.bad.yaml", text);
    expect(() => readStackFileConfig(file)).toThrow(StackFileError);
    expect(() => readStackFileConfig(file)).toThrow(message);
    expect(() => readStackFileConfig(file)).toThrow(file);
  });

  test.each([
    ["a list of environments", "environment:\n  - myorg/common\n  - myorg/prod\n", /\(myorg\/common, myorg\/prod\)/],
    [
      "an inline environment",
      "environment:\n  imports: [myorg/common]\n  values: {a: 1}\n",
      /\(myorg\/common and an inline environment\)/,
    ],
  ])("ESC: %s is refused, naming the key, the environments and what to do", (_what, head, names) => {
    const file = write("Pulumi.esc.yaml", `${head}config:\n  ducklake:storage: {className: gp3}\n`);
    expect(() => readStackFileConfig(file)).toThrow(StackFileError);
    expect(() => readStackFileConfig(file)).toThrow(names);
    expect(() => readStackFileConfig(file)).toThrow(/"environment:" key imports Pulumi ESC environments/);
    expect(() => readStackFileConfig(file)).toThrow(/`pulumi preview --stack esc`/);
    expect(() => readStackFileConfig(file)).toThrow(/`pulumi config --open --stack esc`/);
    expect(() => readStackFileConfig(file)).toThrow(/name the files in DUCKLAKE_ESC_VALUES/);
  });

  describe("ESC: the opened environments given (DUCKLAKE_ESC_VALUES)", () => {
    const stackFile = (): string =>
      write("Pulumi.esc.yaml", "environment:\n  - myorg/common\n  - myorg/prod\nconfig:\n  aws:region: eu-west-1\n");
    const opened = (name: string, pulumiConfig: unknown): string =>
      write(name, JSON.stringify({ other: 1, pulumiConfig }));

    test("their pulumiConfig is merged in order (JSON merge patch), a secret key kept as a secret placeholder", () => {
      const common = opened("common.json", {
        "ducklake:postgres": { instances: 3, resources: { memory: "16Gi", cpu: "7" } },
        "ducklake:grafanaAdminPassword": "plaintext-from-esc",
      });
      const prod = opened("prod.json", {
        "ducklake:postgres": { resources: { cpu: "8" } },
        "ducklake:tags": { a: "b" },
      });
      const read = readStackFileConfig(stackFile(), [common, prod].join(path.delimiter));
      expect(read.values).toEqual({
        "aws:region": "eu-west-1",
        "ducklake:postgres": { instances: 3, resources: { memory: "16Gi", cpu: "8" } },
        "ducklake:tags": { a: "b" },
        "ducklake:grafanaAdminPassword": "[secret]",
      });
      expect(read.secureKeys).toEqual(["ducklake:grafanaAdminPassword"]);
      expect(JSON.stringify(read)).not.toContain("plaintext-from-esc");
    });

    test("a key set both in the stack file and an environment is refused, naming it", () => {
      const env = opened("clash.json", { "aws:region": "us-east-1" });
      expect(() => readStackFileConfig(stackFile(), env)).toThrow(/both set aws:region: keep each key in one place/);
    });

    test("a file without pulumiConfig is refused with the command that writes one", () => {
      const env = write("empty.json", JSON.stringify({ environmentVariables: {} }));
      expect(() => readStackFileConfig(stackFile(), env)).toThrow(/has no pulumiConfig map: .*pulumi env open/);
    });

    test("an inline environment is still refused (it has no name to open)", () => {
      const file = write("Pulumi.esc.yaml", "environment:\n  imports: [myorg/common]\n  values: {a: 1}\nconfig: {}\n");
      expect(() => readStackFileConfig(file, opened("x.json", {}))).toThrow(/an inline environment/);
    });
  });

  test("ESC: an empty environment list imports nothing and is read as usual", () => {
    const file = write("Pulumi.esc.yaml", "environment: []\nconfig:\n  ducklake:storage: {className: gp3}\n");
    expect(readStackFileConfig(file).values).toEqual({ "ducklake:storage": { className: "gp3" } });
  });

  test("a valid file reads, secrets as [secret]", () => {
    const file = write(
      "Pulumi.ok.yaml",
      "config:\n  ducklake:storage: {className: gp3}\n  ducklake:grafanaAdminPassword:\n    secure: AAAA\n",
    );
    expect(readStackFileConfig(file)).toEqual({
      values: { "ducklake:storage": { className: "gp3" }, "ducklake:grafanaAdminPassword": "[secret]" },
      secureKeys: ["ducklake:grafanaAdminPassword"],
    });
  });
});
