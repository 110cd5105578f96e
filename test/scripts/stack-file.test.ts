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
