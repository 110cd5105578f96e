/**
 * Offline plan: `npm run plan -- <stack> [--out DIR]`.
 *
 * Runs the real program (index.ts) under Pulumi's runtime mocks with the config of
 * `Pulumi.<stack>.yaml` and writes what it would create to `plan/<stack>/`:
 *   resources.json        type, name, parent and inputs of every resource (secrets as "[secret]", stable order)
 *   values/<release>.yaml the values of each Helm release
 *   postgresql.conf, bootstrap.sql, monitoring-queries.yaml, logging/...  the texts reviewers read,
 *                         from `deriveStack` (components/stack.ts), the decisions the program wires
 *   summary.txt           what is printed: resources by type, key settings, warnings, and the
 *                         prerequisite reads the mocks answered without checking (`pulumi preview` checks them)
 * Two plans of the same input are byte-identical, so `diff -r` of two plans is a review tool.
 * Exits 1 with the loader's message when the config is invalid (nothing is planned).
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parseArgs } from "node:util";
import { didYouMean, usageErrorOf } from "./lib/cli";
import * as pulumi from "@pulumi/pulumi";
// YAML 1.1 quoting, as Helm reads YAML 1.1: the string "on" is written "on", not on (a boolean there).
import { stringify } from "yaml";
import { deriveStack, parseStackConfig, type StackDecisions } from "../components/stack";
import { confLine, summaryLines } from "../components/postgres/tuning";
import { runwaySummaryLines } from "../components/queue/runway";
import { ConfigError } from "../config/issues";
import { installRecordingMocks, RecordedResource, redactSecrets, settle, sortKeys } from "./lib/mock-engine";
import { notCheckedOffline, outDirRefusal, PLAN_MARKER } from "./lib/plan-output";
import {
  assertStackName,
  ducklakeConfigOf,
  readStackFileConfig,
  StackFileError,
  stackConfigForRuntime,
} from "./lib/stack-file";
import { PlannedRelease, renderReleases } from "./lib/helm-render";

const ROOT = path.resolve(__dirname, "..");
const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/** Parent of a recorded resource as `type::name` (from its URN), or null at the stack's root. */
function parentOf(r: RecordedResource): string | null {
  if (!r.parentUrn) return null;
  const parts = r.parentUrn.split("::");
  const name = parts[parts.length - 1];
  const types = parts[parts.length - 2].split("$");
  return `${types[types.length - 1]}::${name}`;
}

const USAGE = "usage: npm run plan -- <stack> [--out DIR] [--render [--charts DIR] [--crds DIR]]";

/** A usage mistake: one line naming it, then the usage line (the convention of scripts/lib/cli.ts); exit code 2. */
function usageMistake(message: string): number {
  console.error(`plan: ${message}\n${USAGE}`);
  return 2;
}

async function main(): Promise<number> {
  const options = {
    out: { type: "string" },
    render: { type: "boolean" },
    charts: { type: "string" },
    crds: { type: "string" },
    help: { type: "boolean", short: "h" },
  } as const;
  let parsed;
  try {
    parsed = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options });
  } catch (err) {
    return usageMistake(usageErrorOf(err, Object.keys(options)).message);
  }
  const { values, positionals } = parsed;
  const stack = positionals[0];
  if (values.help || !stack) {
    const stacks = fs
      .readdirSync(ROOT)
      .filter((f) => /^Pulumi\.[^.]+\.yaml$/.test(f))
      .map((f) => f.split(".")[1]);
    console.log(`${USAGE}\nstacks with a Pulumi.<stack>.yaml here: ${stacks.join(", ")}`);
    return values.help ? 0 : 2;
  }
  try {
    assertStackName(stack);
  } catch (err) {
    return usageMistake((err as Error).message);
  }
  if (positionals.length > 1) return usageMistake(`unexpected argument "${positionals[1]}"`);
  const stackFile = path.join(ROOT, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    const stacks = fs
      .readdirSync(ROOT)
      .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined);
    const near = didYouMean(stack, stacks);
    return usageMistake(
      `no Pulumi.${stack}.yaml in ${ROOT}${near === undefined ? "" : `; did you mean ${near}?`} (to plan a new stack, create it: copy Pulumi.dev.yaml)`,
    );
  }
  const outDir = path.resolve(values.out ?? path.join(ROOT, "plan", stack));
  const refusal = outDirRefusal(outDir, path.join(ROOT, "plan"));
  if (refusal !== undefined) {
    console.error(refusal);
    return 2;
  }

  // 1. Validate first, so an invalid config prints the loader's message and plans nothing.
  let fileConfig: ReturnType<typeof readStackFileConfig>;
  try {
    fileConfig = readStackFileConfig(stackFile);
  } catch (err) {
    if (!(err instanceof StackFileError)) throw err;
    // No stale plan is left to be mistaken for this file's.
    fs.rmSync(outDir, { recursive: true, force: true });
    console.error(err.message);
    return 1;
  }
  const { raw: ducklake, keys } = ducklakeConfigOf(fileConfig);
  let warnings: readonly string[];
  let decisions: StackDecisions;
  try {
    const parsed = parseStackConfig(ducklake, stack, keys);
    warnings = parsed.warnings;
    decisions = deriveStack(parsed.config, stack);
  } catch (err) {
    if (err instanceof ConfigError) {
      // No stale plan is left to be mistaken for this config's.
      fs.rmSync(outDir, { recursive: true, force: true });
      console.error(err.message);
      return 1;
    }
    throw err;
  }

  // 2. Run the real program under the recording mocks.
  const runtimeConfig = stackConfigForRuntime(fileConfig);
  const recorder = installRecordingMocks({ stack, config: runtimeConfig.config, secretKeys: runtimeConfig.secretKeys });
  // Keep the program's own warnings (pulumi.log.warn) off the summary: they are the loader's, printed below.
  const program = (await import("../index")) as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(program)) {
    if (pulumi.Output.isInstance(v)) {
      const out = v as pulumi.Output<unknown>;
      // A secret output (the connection URI) is never written: only that it is a secret.
      outputs[k] = (await pulumi.isSecret(out))
        ? "[secret]"
        : await new Promise((resolve) =>
            out.apply((x) => {
              resolve(x);
              return x;
            }),
          );
    } else if (v !== undefined && typeof v !== "function") {
      outputs[k] = v;
    }
  }
  await settle(recorder);

  // 3. Write the plan.
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(path.join(outDir, "values"), { recursive: true });
  fs.writeFileSync(
    path.join(outDir, PLAN_MARKER),
    "Written by `npm run plan`; the next plan into this directory deletes it first.\n",
  );
  const resources = [...recorder.resources]
    .map((r) => ({
      type: r.type,
      name: r.name,
      parent: parentOf(r),
      inputs: sortKeys(elideLongText(redactSecrets(r.inputs))),
    }))
    .sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type.localeCompare(b.type)));
  fs.writeFileSync(path.join(outDir, "resources.json"), JSON.stringify(resources, null, 2) + "\n");
  const releases: PlannedRelease[] = [];
  for (const r of resources.filter((x) => x.type === HELM_RELEASE)) {
    const inputs = r.inputs as {
      name?: string;
      chart?: string;
      version?: string;
      values?: unknown;
      namespace?: string;
      repositoryOpts?: { repo?: string };
    };
    const release = inputs.name ?? r.name;
    const header = `# Helm release ${release}: chart ${inputs.chart ?? "?"} ${inputs.version ?? ""}\n`;
    const valuesFile = path.join(outDir, "values", `${release}.yaml`);
    fs.writeFileSync(
      valuesFile,
      header + stringify(inputs.values ?? {}, { sortMapEntries: true, lineWidth: 0, version: "1.1" }),
    );
    releases.push({
      release,
      chart: inputs.chart ?? "?",
      version: inputs.version ?? "?",
      repo: inputs.repositoryOpts?.repo ?? "?",
      namespace: inputs.namespace ?? "default",
      valuesFile,
    });
  }
  // The texts reviewers read (postgresql.conf, bootstrap.sql, ...): the same decisions the program wires.
  for (const [rel, content] of [...decisions.artifacts.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const file = path.join(outDir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
  fs.writeFileSync(path.join(outDir, "outputs.json"), JSON.stringify(sortKeys(redactSecrets(outputs)), null, 2) + "\n");

  // 4. Summary.
  const byType = new Map<string, number>();
  for (const r of resources) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  const lines = [`plan for stack ${stack}: ${resources.length} resources`];
  for (const [type, n] of [...byType.entries()].sort()) lines.push(`  ${String(n).padStart(3)}  ${type}`);
  const keySettings = keySettingsOf(decisions);
  if (keySettings.length > 0) lines.push("key settings:", ...keySettings.map((l) => `  ${l}`));
  if (warnings.length > 0) lines.push("warnings:", ...warnings.map((w) => `  - ${w}`));
  lines.push(...notCheckedOffline(recorder.reads, recorder.calls));
  let renderErrors: string[] = [];
  if (values.render) {
    const report = renderReleases({
      releases,
      outDir,
      env: process.env,
      helmCache: path.join(ROOT, ".local", "helm"),
      chartCache: path.join(ROOT, ".local", "charts"),
      chartsDir: values.charts ?? (process.env["DUCKLAKE_CHARTS_DIR"] || undefined),
      crdsDir: values.crds ?? (process.env["DUCKLAKE_CRDS_DIR"] || undefined),
    });
    lines.push(...report.lines);
    renderErrors = report.errors;
    if (renderErrors.length > 0)
      lines.push(`render/CRD errors (${renderErrors.length}):`, ...renderErrors.map((e) => `  - ${e}`));
  }
  lines.push(`written to ${path.relative(process.cwd(), outDir) || "."}/`);
  const summary = lines.join("\n") + "\n";
  fs.writeFileSync(path.join(outDir, "summary.txt"), summary.replace(/^written to .*\n/m, ""));
  process.stdout.write(summary);
  if (renderErrors.length > 0) {
    console.error(`plan --render: ${renderErrors.length} error(s):\n${renderErrors.map((e) => `  ${e}`).join("\n")}`);
    return 1;
  }
  return 0;
}

/** Text longer than this in a resource input is shown in resources.json by size and hash only. */
const LONG_TEXT_CHARS = 2048;

/**
 * Replaces long text inputs (the bootstrap SQL in its ConfigMap, the Alloy program) with
 * `[text: N characters, sha256 <12 hex>]`: the text itself is in its own plan file (bootstrap.sql,
 * values/<release>.yaml, logging/...), where a change diffs line by line instead of as one huge JSON line.
 */
function elideLongText(value: unknown): unknown {
  if (typeof value === "string" && value.length > LONG_TEXT_CHARS) {
    return `[text: ${value.length} characters, sha256 ${createHash("sha256").update(value).digest("hex").slice(0, 12)}]`;
  }
  if (Array.isArray(value)) return value.map(elideLongText);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, elideLongText(v)]));
  }
  return value;
}

/** A few settings reviewers look for first, and the durability and memory budget lines, from the stack's decisions. */
function keySettingsOf(decisions: StackDecisions): string[] {
  const pg = decisions.config.postgres;
  const tuning = decisions.postgres.tuning;
  const out = [
    `postgres ${pg.majorVersion}, ${pg.instances} instance(s), ${pg.resources.memory} / ${pg.resources.cpu} CPU per instance`,
  ];
  for (const name of [
    "shared_buffers",
    "max_connections",
    "work_mem",
    "synchronous_commit",
    "max_wal_size",
    "pg_partman_bgw.interval",
  ]) {
    const setting = tuning.settings.find((x) => x.name === name);
    if (setting !== undefined) out.push(confLine(setting));
  }
  out.push(...summaryLines(tuning));
  out.push(...runwaySummaryLines(decisions.config));
  out.push(...decisions.backupSummary);
  return out;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
