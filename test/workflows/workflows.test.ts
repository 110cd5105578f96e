/**
 * The GitHub Actions workflows cannot run here, so their structure is checked: triggers, least-privilege
 * permissions, concurrency, pinned actions, the check/plan/diff/preview/deploy steps. The shell gates
 * and the comment script are executed: the gate with bash over a table of credential setups, the
 * github-script body against a fake GitHub API (one comment, updated in place).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..");
const WORKFLOWS = path.join(ROOT, ".github", "workflows");

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  "runs-on"?: string;
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string };
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  strategy?: { matrix?: Record<string, unknown> };
  outputs?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

function load(file: string): { wf: Workflow; text: string } {
  const text = fs.readFileSync(path.join(WORKFLOWS, file), "utf8");
  return { wf: parse(text) as Workflow, text };
}

const files = fs
  .readdirSync(WORKFLOWS)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const pr = load("pull-request.yml");
const comment = load("plan-comment.yml");
const deploy = load("deploy.yml");

const stepUsing = (job: Job, action: string): Step[] => job.steps.filter((s) => s.uses?.startsWith(`${action}@`));
const runText = (job: Job): string => job.steps.map((s) => s.run ?? "").join("\n");

describe("every workflow", () => {
  it("is one of the three expected files", () => {
    expect(files).toEqual(["deploy.yml", "plan-comment.yml", "pull-request.yml"]);
  });

  it.each(files)("%s: least-privilege permissions (read-only default, explicit per job, no write-all)", (file) => {
    const { wf, text } = load(file);
    expect(text).not.toMatch(/write-all|read-all/);
    expect(wf.permissions).toEqual({ contents: "read" });
    const allowedWrites: Record<string, string[]> = {
      "pull-request.yml/preview": ["id-token", "pull-requests"],
      "plan-comment.yml/comment": ["pull-requests"],
      "deploy.yml/dev": ["id-token"],
      "deploy.yml/prod": ["id-token"],
    };
    for (const [id, job] of Object.entries(wf.jobs)) {
      expect(typeof job.permissions).toBe("object");
      const writes = Object.entries(job.permissions as Record<string, string>)
        .filter(([, v]) => v === "write")
        .map(([k]) => k)
        .sort();
      expect({ job: `${file}/${id}`, writes }).toEqual({
        job: `${file}/${id}`,
        writes: allowedWrites[`${file}/${id}`] ?? [],
      });
    }
  });

  it.each(files)("%s: every action pinned to a full commit SHA with its exact version as a comment", (file) => {
    const { text } = load(file);
    const uses = text.split("\n").filter((l) => /^\s*(- )?uses:/.test(l));
    expect(uses.length).toBeGreaterThan(0);
    for (const line of uses) {
      expect(line).toMatch(/uses: [A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
  });

  it("pins each action to one SHA across files", () => {
    const pins = new Map<string, Set<string>>();
    for (const file of files) {
      for (const m of load(file).text.matchAll(/uses: ([^@\s]+)@([0-9a-f]{40})/g)) {
        pins.set(m[1], (pins.get(m[1]) ?? new Set()).add(m[2]));
      }
    }
    for (const [action, shas] of pins) expect({ action, shas: shas.size }).toEqual({ action, shas: 1 });
    expect([...pins.keys()].sort()).toEqual([
      "actions/checkout",
      "actions/download-artifact",
      "actions/github-script",
      "actions/setup-node",
      "actions/upload-artifact",
      "aws-actions/configure-aws-credentials",
      "helm/kind-action",
      "pulumi/actions",
    ]);
  });

  it("uses no static AWS keys and never pull_request_target", () => {
    for (const file of files) {
      const { wf, text } = load(file);
      expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY/);
      expect(Object.keys(wf.on)).not.toContain("pull_request_target");
    }
  });

  it("pins the Pulumi CLI to the @pulumi/pulumi version of package.json", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const { wf } of [pr, deploy]) expect(wf.env?.["PULUMI_VERSION"]).toBe(pkg.dependencies["@pulumi/pulumi"]);
  });
});

describe("pull-request.yml", () => {
  const jobs = pr.wf.jobs;

  it("runs on pull requests to main, one run per pull request at a time", () => {
    expect(pr.wf.on).toEqual({ pull_request: { branches: ["main"] } });
    expect(pr.wf.concurrency).toEqual({
      group: "pull-request-${{ github.event.pull_request.number }}",
      "cancel-in-progress": true,
    });
  });

  it("check: npm ci, typecheck, lint, test, in that order", () => {
    const runs = jobs["check"].steps.map((s) => s.run?.trim()).filter((r): r is string => r !== undefined);
    const order = ["npm ci", "npm run typecheck", "npm run lint", "npm test"].map((cmd) =>
      runs.findIndex((r) => r.startsWith(cmd)),
    );
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("plan-diff: plans dev and prod on base and head checkouts, diffs them, uploads the diff, without secrets", () => {
    const job = jobs["plan-diff"];
    const checkouts = stepUsing(job, "actions/checkout");
    expect(checkouts.map((s) => s.with?.["path"]).sort()).toEqual(["base", "head"]);
    expect(checkouts.find((s) => s.with?.["path"] === "base")?.with?.["ref"]).toBe(
      "${{ github.event.pull_request.base.sha }}",
    );
    const script = runText(job);
    expect(script).toMatch(/for side in base head; do/);
    expect(script).toMatch(/for stack in dev prod; do/);
    expect(script).toContain('npm run -s plan -- "$stack" --out "$PLAN_ROOT/$side/$stack"');
    expect(script).toMatch(/diff -ruN base head > plan\.diff/);
    const upload = stepUsing(job, "actions/upload-artifact")[0];
    expect(upload.with?.["name"]).toBe("plan-diff");
    expect(String(upload.with?.["path"])).toMatch(/plan\.diff[\s\S]*pr-number[\s\S]*head-sha/);
    expect(JSON.stringify(job)).not.toMatch(/secrets\./);
  });

  it("preview: pulumi/actions preview --diff with the policy pack and comment-on-pr, OIDC role, only when credentials exist", () => {
    const job = jobs["preview"];
    expect(job.if).toBe("needs.credentials.outputs.stacks != '[]'");
    expect(job.needs).toEqual(["check", "credentials"]);
    expect(job.strategy?.matrix?.["stack"]).toBe("${{ fromJSON(needs.credentials.outputs.stacks) }}");
    expect(job.concurrency?.group).toContain("${{ matrix.stack }}");
    const pulumi = stepUsing(job, "pulumi/actions")[0];
    expect(pulumi.with).toMatchObject({
      command: "preview",
      diff: true,
      policyPacks: "policy",
      "comment-on-pr": true,
      "github-token": "${{ secrets.GITHUB_TOKEN }}",
    });
    const aws = stepUsing(job, "aws-actions/configure-aws-credentials")[0];
    expect(aws.with?.["role-to-assume"]).toBe("${{ vars.AWS_PREVIEW_ROLE_ARN }}");
    expect(runText(job)).toContain("npm ci --no-audit --no-fund --ignore-scripts --prefix policy");
  });

  it("prints a clear skipped notice when there are no credentials", () => {
    const skippedJob = jobs["preview-skipped"];
    expect(skippedJob.if).toBe("needs.credentials.outputs.skipped != ''");
    expect(runText(skippedJob)).toMatch(/::notice title=pulumi preview skipped::skipped: no cloud credentials/);
    expect(runText(skippedJob)).toContain("$GITHUB_STEP_SUMMARY");
  });
});

/** Runs a gate step's bash with the given env; returns its GITHUB_OUTPUT lines and stdout. */
function runGate(step: Step, env: Record<string, string>): { outputs: Record<string, string>; stdout: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-"));
  const out = path.join(dir, "output");
  const summary = path.join(dir, "summary");
  fs.writeFileSync(out, "");
  try {
    const stdout = execFileSync("bash", ["--noprofile", "--norc", "-e", "-c", step.run ?? ""], {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", GITHUB_OUTPUT: out, GITHUB_STEP_SUMMARY: summary, ...env },
      encoding: "utf8",
    });
    const outputs = Object.fromEntries(
      fs
        .readFileSync(out, "utf8")
        .split("\n")
        .filter((l) => l.includes("="))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    return { outputs, stdout };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("credential gates (executed with bash)", () => {
  const prGate = pr.wf.jobs["credentials"].steps.find((s) => s.id === "gate") as Step;
  const deployGate = deploy.wf.jobs["credentials"].steps.find((s) => s.id === "gate") as Step;
  const base = { SAME_REPOSITORY: "true", HAS_PULUMI_ACCESS_TOKEN: "false", PULUMI_BACKEND_URL: "", AWS_ROLE_ARN: "" };
  const role = "arn:aws:iam::123456789012:role/ducklake-preview";

  it("maps its env from secrets and vars, never printing a secret", () => {
    expect(prGate.env).toMatchObject({
      HAS_PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN != '' }}",
      AWS_ROLE_ARN: "${{ vars.AWS_PREVIEW_ROLE_ARN }}",
    });
    expect(deployGate.env).toMatchObject({
      HAS_PULUMI_ACCESS_TOKEN: "${{ secrets.PULUMI_ACCESS_TOKEN != '' }}",
      AWS_ROLE_ARN: "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
    });
  });

  it.each([
    [
      "a fork",
      { ...base, SAME_REPOSITORY: "false", HAS_PULUMI_ACCESS_TOKEN: "true", AWS_ROLE_ARN: role },
      "[]",
      /fork/,
    ],
    ["no backend", base, "[]", /no Pulumi backend/],
    ["Pulumi Cloud, no AWS role", { ...base, HAS_PULUMI_ACCESS_TOKEN: "true" }, '["dev"]', /prod: no AWS role/],
    [
      "Pulumi Cloud and the AWS role",
      { ...base, HAS_PULUMI_ACCESS_TOKEN: "true", AWS_ROLE_ARN: role },
      '["dev","prod"]',
      undefined,
    ],
    [
      "S3 backend without a role",
      { ...base, PULUMI_BACKEND_URL: "s3://state-bucket" },
      "[]",
      /dev: the S3 state backend needs the AWS role/,
    ],
    [
      "S3 backend and the role",
      { ...base, PULUMI_BACKEND_URL: "s3://state-bucket?region=eu-west-1", AWS_ROLE_ARN: role },
      '["dev","prod"]',
      undefined,
    ],
  ])("pull request, %s", (_case, env, stacks, skipped) => {
    const { outputs, stdout } = runGate(prGate, env);
    expect(outputs["stacks"]).toBe(stacks);
    expect(JSON.parse(outputs["stacks"])).toEqual(expect.any(Array));
    if (skipped === undefined) {
      expect(outputs["skipped"]).toBe("");
      expect(stdout).toBe("");
    } else {
      expect(outputs["skipped"]).toMatch(skipped);
      expect(stdout).toMatch(/::notice title=pulumi preview skipped::skipped: no cloud credentials for /);
    }
  });

  it.each([
    ["no backend", base, "false", "false"],
    ["Pulumi Cloud only", { ...base, HAS_PULUMI_ACCESS_TOKEN: "true" }, "true", "false"],
    ["Pulumi Cloud and the role", { ...base, HAS_PULUMI_ACCESS_TOKEN: "true", AWS_ROLE_ARN: role }, "true", "true"],
    ["S3 backend without the role", { ...base, PULUMI_BACKEND_URL: "s3://state" }, "false", "false"],
  ])("deploy, %s", (_case, env, dev, prod) => {
    const { outputs, stdout } = runGate(deployGate, env);
    expect({ dev: outputs["dev"], prod: outputs["prod"] }).toEqual({ dev, prod });
    expect((stdout.match(/::notice title=pulumi up skipped::skipped: no cloud credentials/g) ?? []).length).toBe(
      [dev, prod].filter((x) => x !== "true").length,
    );
  });
});

describe("plan-comment.yml", () => {
  const job = comment.wf.jobs["comment"];

  it("runs after the pull request workflow, in the base repository, without checking out its code", () => {
    expect(comment.wf.on).toEqual({ workflow_run: { workflows: [pr.wf.name], types: ["completed"] } });
    expect(job.if).toContain("github.event.workflow_run.event == 'pull_request'");
    expect(stepUsing(job, "actions/checkout")).toEqual([]);
    expect(job.steps.filter((s) => s.run !== undefined).every((s) => !/\$\{\{/.test(s.run ?? ""))).toBe(true);
    const download = stepUsing(job, "actions/download-artifact")[0];
    expect(download.with).toMatchObject({ name: "plan-diff", "run-id": "${{ github.event.workflow_run.id }}" });
    expect(comment.wf.concurrency?.["cancel-in-progress"]).toBe(false);
  });

  // The github-script body, run against a fake GitHub API.
  const script = String(stepUsing(job, "actions/github-script")[0].with?.["script"]);
  type Comment = { id: number; body: string; user: { login: string } };

  function fakeGitHub(prHeadSha: string, comments: Comment[]) {
    let nextId = 100;
    const calls: string[] = [];
    const github = {
      rest: {
        pulls: {
          get: async ({ pull_number }: { pull_number: number }) => ({
            data: { number: pull_number, head: { sha: prHeadSha }, base: { sha: "b".repeat(40) } },
          }),
        },
        issues: {
          listComments: "listComments",
          updateComment: async ({ comment_id, body }: { comment_id: number; body: string }) => {
            calls.push(`update ${comment_id}`);
            const c = comments.find((x) => x.id === comment_id);
            if (c) c.body = body;
          },
          createComment: async ({ body }: { body: string }) => {
            const c = { id: nextId++, body, user: { login: "github-actions[bot]" } };
            comments.push(c);
            calls.push(`create ${c.id}`);
            return { data: c };
          },
        },
      },
      paginate: async () => comments.map((c) => ({ ...c })),
    };
    return { github, calls };
  }

  async function runScript(
    dir: string,
    github: unknown,
    headSha: string,
  ): Promise<{ failed: string[]; notices: string[] }> {
    const failed: string[] = [];
    const notices: string[] = [];
    const core = {
      setFailed: (m: string) => failed.push(m),
      notice: (m: string) => notices.push(m),
      info: () => undefined,
    };
    const context = {
      repo: { owner: "o", repo: "r" },
      payload: { workflow_run: { head_sha: headSha, html_url: "https://github.com/o/r/actions/runs/1" } },
    };
    const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (
      ...args: string[]
    ) => (...a: unknown[]) => Promise<void>;
    const previous = process.env["PLAN_DIR"];
    process.env["PLAN_DIR"] = dir;
    try {
      await new AsyncFunction("require", "github", "context", "core", script)(require, github, context, core);
    } finally {
      if (previous === undefined) delete process.env["PLAN_DIR"];
      else process.env["PLAN_DIR"] = previous;
    }
    return { failed, notices };
  }

  function artifact(files: Record<string, string>): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-"));
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    return dir;
  }

  const headSha = "a".repeat(40);
  const diff = [
    "diff -ruN base/prod/postgresql.conf head/prod/postgresql.conf",
    "--- base/prod/postgresql.conf",
    "+++ head/prod/postgresql.conf",
    "@@ -1,3 +1,3 @@",
    "-shared_buffers = 4GB  # seed",
    "+shared_buffers = 6GB  # override",
    " work_mem = 32MB  # seed",
    "",
  ].join("\n");

  it("creates one comment, then updates it in place", async () => {
    const comments: Comment[] = [{ id: 1, body: "LGTM", user: { login: "alice" } }];
    const { github, calls } = fakeGitHub(headSha, comments);
    const dir = artifact({ "pr-number": "42\n", "plan.diff": diff, "failures.txt": "" });
    try {
      expect((await runScript(dir, github, headSha)).failed).toEqual([]);
      fs.writeFileSync(path.join(dir, "plan.diff"), diff.replace("6GB", "8GB"));
      await runScript(dir, github, headSha);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(calls).toEqual(["create 100", "update 100"]);
    expect(comments).toHaveLength(2);
    const body = comments[1].body;
    expect(body.startsWith("<!-- ducklake-plan-diff -->")).toBe(true);
    expect(body).toContain("+shared_buffers = 8GB  # override");
    expect(body).not.toContain("6GB");
    expect(body).toContain("2 changed lines");
  });

  it("does not comment for an outdated commit, and refuses a bad PR number", async () => {
    const stale = fakeGitHub("c".repeat(40), []);
    const dir = artifact({ "pr-number": "42", "plan.diff": diff });
    const bad = artifact({ "pr-number": "42; rm -rf /", "plan.diff": diff });
    try {
      expect((await runScript(dir, stale.github, headSha)).notices).toEqual([
        expect.stringContaining("not commenting"),
      ]);
      expect(stale.calls).toEqual([]);
      const badRun = fakeGitHub(headSha, []);
      expect((await runScript(bad, badRun.github, headSha)).failed).toEqual([
        expect.stringContaining("no valid pull request number"),
      ]);
      expect(badRun.calls).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(bad, { recursive: true, force: true });
    }
  });

  it("fences the diff so its content cannot close the code block", async () => {
    const comments: Comment[] = [];
    const { github } = fakeGitHub(headSha, comments);
    const dir = artifact({ "pr-number": "7", "plan.diff": "+ ```` sneaky\n" });
    try {
      await runScript(dir, github, headSha);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(comments[0].body).toContain("`````diff\n+ ```` sneaky\n`````");
  });
});

describe("deploy.yml", () => {
  const jobs = deploy.wf.jobs;

  it("runs on pushes to main", () => {
    expect(deploy.wf.on).toEqual({ push: { branches: ["main"] } });
  });

  it("deploys dev, then prod behind the protected production environment", () => {
    expect(jobs["prod"].needs).toEqual(["credentials", "dev"]);
    expect(jobs["prod"].environment).toBe("production");
    expect(jobs["dev"].environment).toBeUndefined();
    for (const stack of ["dev", "prod"]) {
      const up = stepUsing(jobs[stack], "pulumi/actions")[0];
      expect(up.with).toMatchObject({ command: "up", policyPacks: "policy" });
      expect(String(up.with?.["stack-name"])).toContain(`'${stack}'`);
      expect(jobs[stack].if).toBe(`needs.credentials.outputs.${stack} == 'true'`);
      expect(stepUsing(jobs[stack], "aws-actions/configure-aws-credentials")[0].with?.["role-to-assume"]).toBe(
        "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
      );
    }
  });

  it("never runs two deploys of one stack at once", () => {
    expect(jobs["dev"].concurrency).toEqual({ group: "pulumi-up-dev", "cancel-in-progress": false });
    expect(jobs["prod"].concurrency).toEqual({ group: "pulumi-up-prod", "cancel-in-progress": false });
    expect(deploy.wf.concurrency).toBeUndefined(); // a prod approval wait must not hold back the next dev deploy
  });
});
