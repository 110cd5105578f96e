/**
 * One-pass validation: a stack file with several independent mistakes, of the schema's kind (misspelled
 * keys, values out of range, a section's own cross-field rule) and of the validators' kind (rules across
 * sections, the tuning engine's memory rule, the partition runway), is reported in ONE run, every mistake
 * with its key path, value and limit. Before, a section with any schema issue was withheld from the
 * validators, so fixing the first round of problems revealed a second.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStackConfig } from "../../components/stack";
import { ConfigError, type ConfigIssue } from "../../config/issues";
import { ducklakeConfigOf, readStackFileConfig } from "../../scripts/lib/stack-file";
import { readDucklakeConfig, ROOT } from "../helpers/stack-files";

/** Line edits of Pulumi.prod.yaml, each one mistake; every edit must match exactly one line. */
const MISTAKES: ReadonlyArray<readonly [from: string, to: string]> = [
  // schema: a misspelled key in postgres (zod reads past it, so postgres' validators still run)
  ["    podMonitor: true\n", "    podMonitor: true\n    poolr:\n      enabled: true\n"],
  // schema: a section's own rule (minSize <= desiredSize) behind a misspelled key in the same object
  ["      minSize: 3\n", "      minSize: 5\n      minsize: 3\n"],
  // schema: a number above its limit (storage stays readable: the gp3 rule on the WAL volume below still runs)
  ["      throughputMiBps: 250\n", "      throughputMiBps: 2001\n"],
  // schema: a value outside its enum (logging cannot be read: the rules that read it do not run)
  ["    agent: alloy\n", "    agent: fluentd\n"],
  // (not reported: 9000 IOPS on Loki's 10 GiB volume, because logging does not parse; see the last test)
  ["        sizeGiB: 100\n    grafana:", "        sizeGiB: 10\n    grafana:"],
  // validator (tuning engine): shared_buffers above the pod's memory
  ["        shared_buffers: 12GB\n", "        shared_buffers: 40GB\n"],
  // validator (runway): 1 partition of 1M messages ahead cannot cover 60,000 msgs/s x 60 s x 3
  ["        premake: 11\n", "        premake: 1\n"],
  // validator (across sections): 3 standbys with 3 instances
  ["      number: 1\n", "      number: 3\n"],
  // validator (across sections): a queue named like another's dead-letter queue
  [
    "          maxDeliveries: 5\n",
    "          maxDeliveries: 5\n      - name: lineage_events_dlq\n        peakRateMsgsPerSecond: 10\n        retentionMessages: 1000000\n",
  ],
  // validator (across sections): 9000 IOPS on a 10 GiB WAL volume (at most 500 per GiB)
  ["      walSizeGiB: 50\n", "      walSizeGiB: 10\n"],
];

function mistakenStackFile(): string {
  let text = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
  text = text.replace("      iops: 6000\n", "      iops: 9000\n");
  for (const [from, to] of MISTAKES) {
    expect(text.split(from).length - 1).toBe(1);
    text = text.replace(from, to);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "one-pass-"));
  const file = path.join(dir, "Pulumi.mistakes.yaml");
  fs.writeFileSync(file, text);
  return file;
}

function issuesOf(file: string): readonly ConfigIssue[] {
  const { raw, keys } = ducklakeConfigOf(readStackFileConfig(file));
  try {
    parseStackConfig(raw, "mistakes", keys);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error("the stack file was accepted");
}

describe("a stack file with independent mistakes of both kinds", () => {
  const file = mistakenStackFile();
  const issues = issuesOf(file);
  const at = (key: string): ConfigIssue[] => issues.filter((i) => i.path === `ducklake:${key}`);

  afterAll(() => fs.rmSync(path.dirname(file), { recursive: true, force: true }));

  test.each([
    ["postgres.poolr", /unknown key/, undefined],
    ["nodes.scaling.minsize", /unknown key/, undefined],
    ["nodes.scaling.desiredSize", /must be >= minSize \(5\)/, 3],
    ["storage.gp3.throughputMiBps", /must be <= 2000 MiB\/s/, 2001],
    ["logging.agent", /alloy|promtail/, "fluentd"],
    ["postgres.tuning.seed.shared_buffers", /must be below the pod memory request 16Gi/, "40GB"],
    ["queues.definitions[0].premake", /premake/, 1],
    ["postgres.synchronousReplication.number", /at most instances - 1 = 2 standbys/, 3],
    [
      "queues.definitions[1].name",
      /queue name "lineage_events_dlq" is already used by ducklake:queues\.definitions\[0\]\.deadLetter\.queue/,
      "lineage_events_dlq",
    ],
    [
      "postgres.storage.walSizeGiB",
      /a 10 GiB gp3 volume allows at most 5000 IOPS \(500 per GiB\) but storage\.gp3\.iops is 9000; use >= 18 GiB/,
      10,
    ],
  ] as const)("%s is reported with its rule and value", (key, rule, value) => {
    const found = at(key);
    expect(found.map((i) => i.message)).toEqual([expect.stringMatching(rule)]);
    expect(found[0]!.value).toEqual(value);
  });

  test("every mistake is in the one report, and nothing else", () => {
    // 10 above; nothing reported twice (a section parsed twice repeats its issues).
    expect(issues).toHaveLength(10);
    expect(new Set(issues.map((i) => `${i.path} ${i.message}`)).size).toBe(issues.length);
  });

  test("the rules that read a section which does not parse are skipped, not guessed", () => {
    // logging does not parse (an unknown agent): the Loki volume's IOPS rule reads it, so it does not run,
    // although the volume (10 GiB for 9000 IOPS) breaks it; the same rule on the Postgres volumes runs.
    expect(at("logging.loki.storage.sizeGiB")).toEqual([]);
    expect(at("postgres.storage.walSizeGiB")).toHaveLength(1);
  });
});

test("a correct stack file still parses (the mistakes above are the only problems)", () => {
  const { raw, keys } = ducklakeConfigOf(readStackFileConfig(path.join(ROOT, "Pulumi.prod.yaml")));
  expect(parseStackConfig(raw, "prod", keys).config.postgres.instances).toBe(3);
});

test("a key the schema refused is reported once, by the schema, not again by a validator that read it", () => {
  const { raw, keys } = ducklakeConfigOf(readStackFileConfig(path.join(ROOT, "Pulumi.prod.yaml")));
  const edited = structuredClone(raw) as Record<string, any>;
  // 10 instances: above the schema's limit of 9, and above the 4 nodes (nodes.scaling.maxSize) the
  // instances-against-nodes rule checks; the same key would be reported twice.
  edited["postgres"].instances = 10;
  edited["postgres"].synchronousReplication.number = 1;
  let issues: readonly ConfigIssue[] = [];
  try {
    parseStackConfig(edited, "prod", keys);
  } catch (err) {
    if (err instanceof ConfigError) issues = err.issues;
    else throw err;
  }
  expect(issues.filter((i) => i.path === "ducklake:postgres.instances").map((i) => i.message)).toEqual([
    expect.stringMatching(/<= 9/),
  ]);
});

describe("a tuning error does not hide the durability rules", () => {
  // dev runs synchronous_commit = off and names its reason in acceptDataLoss; a broken work_mem besides
  const dev = (): Record<string, any> => JSON.parse(JSON.stringify(readDucklakeConfig("dev")));

  test("a bad unit and a missing acceptDataLoss are both reported in one run", () => {
    const c = dev();
    c["postgres"].tuning.seed = { ...c["postgres"].tuning.seed, work_mem: "64XB" };
    delete c["postgres"].acceptDataLoss;
    const issues = problemsOf(c);
    expect(issues.some((i) => i.path.endsWith("work_mem") && /unit|XB/.test(i.message))).toBe(true);
    expect(issues.some((i) => /acceptDataLoss/.test(i.message))).toBe(true);
  });

  test("a broken synchronous_commit leaves durability unknown: only its own problem, not a guessed one", () => {
    const c = dev();
    c["postgres"].tuning.seed = { ...c["postgres"].tuning.seed, synchronous_commit: "sometimes" };
    delete c["postgres"].acceptDataLoss;
    const issues = problemsOf(c);
    expect(issues.some((i) => i.path.endsWith("synchronous_commit"))).toBe(true);
    expect(issues.some((i) => /acceptDataLoss/.test(i.message))).toBe(false);
  });
});

function problemsOf(raw: Record<string, unknown>): Array<{ path: string; message: string }> {
  try {
    parseStackConfig(raw, "dev");
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => ({ path: i.path, message: i.message }));
  }
  throw new Error("the config parsed");
}
