/**
 * The local scripts turn a stack name and `--out` into paths they delete (`db:local --reset`,
 * `plan --out`): a name like `../x` or a directory that is not a plan's must be refused first.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseDbLocalArgs } from "../../scripts/db-local";
import { outDirRefusal, PLAN_MARKER } from "../../scripts/lib/plan-output";
import { assertStackName } from "../../scripts/lib/stack-file";

describe("stack names", () => {
  it.each(["dev", "prod", "dev-eu.1", "my_stack"])("accepts %s", (name) => {
    expect(assertStackName(name)).toBe(name);
  });

  it.each(["../victim", "..", ".", "a/b", "", "dev stack", "/tmp/x"])("refuses %j, naming it", (name) => {
    expect(() => assertStackName(name)).toThrow(`stack name "${name}" is not a Pulumi stack name`);
  });

  it("db:local refuses a path as the stack before --reset can delete anything", () => {
    expect(() => parseDbLocalArgs(["../../victim", "--reset"])).toThrow(/not a Pulumi stack name/);
    expect(() => parseDbLocalArgs(["dev", "extra"])).toThrow(/unexpected argument "extra"/);
  });
});

describe("plan --out", () => {
  let tmp = "";
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "plan-out-"));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("may replace a missing, empty or earlier plan directory, or one under the repository's plan/", () => {
    const planRoot = path.join(tmp, "plan");
    expect(outDirRefusal(path.join(tmp, "new"), planRoot)).toBeUndefined();
    fs.mkdirSync(path.join(tmp, "empty"));
    expect(outDirRefusal(path.join(tmp, "empty"), planRoot)).toBeUndefined();
    fs.mkdirSync(path.join(tmp, "earlier"));
    fs.writeFileSync(path.join(tmp, "earlier", PLAN_MARKER), "");
    fs.writeFileSync(path.join(tmp, "earlier", "summary.txt"), "");
    expect(outDirRefusal(path.join(tmp, "earlier"), planRoot)).toBeUndefined();
    fs.mkdirSync(path.join(planRoot, "dev"), { recursive: true });
    fs.writeFileSync(path.join(planRoot, "dev", "summary.txt"), "");
    expect(outDirRefusal(path.join(planRoot, "dev"), planRoot)).toBeUndefined();
  });

  it("refuses a directory holding anything else, the plan root itself, and a file", () => {
    const planRoot = path.join(tmp, "plan");
    fs.mkdirSync(path.join(tmp, "home"));
    fs.writeFileSync(path.join(tmp, "home", "keep.txt"), "mine");
    expect(outDirRefusal(path.join(tmp, "home"), planRoot)).toMatch(
      /is not a plan directory \(no \.ducklake-plan in it, 1 entries\)/,
    );
    fs.mkdirSync(path.join(planRoot, "dev"), { recursive: true });
    expect(outDirRefusal(planRoot, planRoot)).toMatch(/is not a plan directory/);
    expect(outDirRefusal(path.join(tmp, "home", "keep.txt"), planRoot)).toMatch(/is a file/);
    expect(fs.readFileSync(path.join(tmp, "home", "keep.txt"), "utf8")).toBe("mine");
  });
});
