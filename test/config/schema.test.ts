/**
 * Schema and loader tests: both real stack files parse, and each invalid config is reported with
 * its full key path and the rule it breaks (all problems at once).
 */
import { parseStackConfig } from "../../components/stack";
import { ConfigError } from "../../config/issues";
import { readDucklakeConfig } from "../helpers/stack-files";
import { keysAt } from "../../config/load";
import { StackConfigSchema } from "../../config/schema";

/** Deep copy of a stack's ducklake:* keys, for mutation. */
function stack(name: "dev" | "prod"): Record<string, any> {
  return structuredClone(readDucklakeConfig(name)) as Record<string, any>;
}

/** Parses and returns the ConfigError's message; fails the test when the config is accepted. */
function problems(raw: Record<string, unknown>): string {
  try {
    parseStackConfig(raw, "test");
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error("config was accepted but should have been refused");
}

describe("the real stack files", () => {
  test.each(["dev", "prod"] as const)("%s parses with defaults applied", (name) => {
    const { config } = parseStackConfig(stack(name), name);
    // The seed guide's database name (pg_partman_bgw.dbname = ducklakedb) is the default; no stack sets its own.
    expect(config.postgres.database).toBe("ducklakedb");
    expect(config.postgres.ownerRole).toBe("lineage_owner");
    expect(config.queues.definitions.map((q) => q.name)).toContain("lineage_events");
    expect(config.queues.definitions.find((q) => q.name === "lineage_events")?.deadLetter?.queue).toBe(
      "lineage_events_dlq",
    );
  });

  test("dev targets kind with one instance and no AWS sections", () => {
    const { config } = parseStackConfig(stack("dev"), "dev");
    expect(config.cluster.provider).toBe("kind");
    expect(config.postgres.instances).toBe(1);
    expect(config.nodes).toBeUndefined();
    expect(config.storage.gp3).toBeUndefined();
  });

  test("prod targets EKS with three instances on a gp3 class", () => {
    const { config } = parseStackConfig(stack("prod"), "prod");
    expect(config.cluster.provider).toBe("eks");
    expect(config.postgres.instances).toBe(3);
    expect(config.storage.gp3?.iops).toBeGreaterThanOrEqual(3000);
    expect(config.nodes?.rootVolume.iops).toBeGreaterThanOrEqual(3000);
  });

  test("promtail on dev yields the end-of-life warning; alloy on prod does not", () => {
    expect(parseStackConfig(stack("dev"), "dev").warnings.join("\n")).toMatch(/promtail.*end of life on 2026-03-02/);
    expect(parseStackConfig(stack("prod"), "prod").warnings.join("\n")).not.toMatch(/promtail/);
  });
});

type Case = [description: string, mutate: (c: Record<string, any>) => void, expected: RegExp[]];

const invalid: Case[] = [
  [
    "a misspelled top-level key",
    (c) => {
      c["postgress"] = c["postgres"];
    },
    [/ducklake:postgress: unknown key; did you mean postgres\?/],
  ],
  [
    "a misspelled nested key",
    (c) => {
      c["postgres"].tunning = {};
    },
    [/ducklake:postgres\.tunning: unknown key; did you mean tuning\?/],
  ],
  [
    "a misspelled key inside an array item",
    (c) => {
      c["queues"].definitions[0].peakRate = 1;
    },
    [/ducklake:queues\.definitions\[0\]\.peakRate: unknown key \(check its spelling\)/],
  ],
  [
    "a near miss inside an array item names the key meant",
    (c) => {
      c["queues"].definitions[0].fifoGroup = true;
    },
    [/ducklake:queues\.definitions\[0\]\.fifoGroup: unknown key; did you mean fifoGroups\?/],
  ],
  [
    "a missing required section",
    (c) => {
      delete c["postgres"];
    },
    [/ducklake:postgres: is required/],
  ],
  [
    "a missing required nested key",
    (c) => {
      delete c["postgres"].resources.memory;
    },
    [/ducklake:postgres\.resources\.memory: is required/],
  ],
  [
    "instances as a string",
    (c) => {
      c["postgres"].instances = "1";
    },
    [/ducklake:postgres\.instances: .*expected number.*\(got "1"\)/],
  ],
  [
    "zero instances",
    (c) => {
      c["postgres"].instances = 0;
    },
    [/ducklake:postgres\.instances: must be >= 1 \(got 0\)/],
  ],
  [
    "a negative storage size",
    (c) => {
      c["postgres"].storage.sizeGiB = -20;
    },
    [/ducklake:postgres\.storage\.sizeGiB: must be > 0 \(got -20\)/],
  ],
  [
    "a fractional storage size",
    (c) => {
      c["postgres"].storage.sizeGiB = 1.5;
    },
    [/ducklake:postgres\.storage\.sizeGiB: must be an integer \(got 1.5\)/],
  ],
  [
    "memory in PostgreSQL units instead of Kubernetes ones",
    (c) => {
      c["postgres"].resources.memory = "4GB";
    },
    [/ducklake:postgres\.resources\.memory: must be a Kubernetes memory quantity.*\(got "4GB"\)/],
  ],
  [
    "an unsupported PostgreSQL major",
    (c) => {
      c["postgres"].majorVersion = 14;
    },
    [/ducklake:postgres\.majorVersion: must be one of 15, 16, 17, 18 \(got 14\)/],
  ],
  [
    "an unknown cluster provider",
    (c) => {
      c["cluster"].provider = "gke";
    },
    [/ducklake:cluster\.provider: .*\(got "gke"\)/],
  ],
  [
    "a namespace that is not a DNS label",
    (c) => {
      c["postgres"].namespace = "Ducklake_DB";
    },
    [/ducklake:postgres\.namespace: must be a DNS-1123 label.*\(got "Ducklake_DB"\)/],
  ],
  [
    "a queue name that is not an identifier",
    (c) => {
      c["queues"].definitions[0].name = "lineage-events";
    },
    [/ducklake:queues\.definitions\[0\]\.name: must be a lowercase SQL identifier.*\(got "lineage-events"\)/],
  ],
  [
    "a negative peak rate",
    (c) => {
      c["queues"].definitions[0].peakRateMsgsPerSecond = -5;
    },
    [/ducklake:queues\.definitions\[0\]\.peakRateMsgsPerSecond: must be > 0 \(got -5\)/],
  ],
  [
    "no queues",
    (c) => {
      c["queues"].definitions = [];
    },
    [/ducklake:queues\.definitions: needs at least one queue/],
  ],
  [
    "a DLQ named like its own queue",
    (c) => {
      c["queues"].definitions[0].deadLetter.queue = "lineage_events";
    },
    [/ducklake:queues\.definitions\[0\]\.deadLetter\.queue: queue name "lineage_events" is already used/],
  ],
  [
    "an unknown table storage parameter",
    (c) => {
      c["queues"].tableAutovacuum.seed.autovacuum_scale = 0.1;
    },
    [/ducklake:queues\.tableAutovacuum\.seed\.autovacuum_scale: unknown key/],
  ],
  [
    "table storage parameters given flat, as before the seed/overrides split",
    (c) => {
      c["queues"].tableAutovacuum.autovacuum_vacuum_threshold = 5;
    },
    [/ducklake:queues\.tableAutovacuum\.autovacuum_vacuum_threshold: unknown key/],
  ],
  [
    "a table storage override given as a bare value",
    (c) => {
      c["queues"].tableAutovacuum.overrides = { autovacuum_vacuum_threshold: 7 };
    },
    [/ducklake:queues\.tableAutovacuum\.overrides\.autovacuum_vacuum_threshold: .*expected object.*\(got 7\)/],
  ],
  [
    "a table storage override whose reason is too short",
    (c) => {
      c["queues"].tableAutovacuum.overrides = { autovacuum_vacuum_threshold: { value: 7, reason: "short" } };
    },
    [
      /ducklake:queues\.tableAutovacuum\.overrides\.autovacuum_vacuum_threshold\.reason: must say why the stack departs from the guide \(at least 10 characters\)/,
    ],
  ],
  [
    "an unknown log agent",
    (c) => {
      c["logging"].agent = "fluentd";
    },
    [/ducklake:logging\.agent: .*\(got "fluentd"\)/],
  ],
  [
    "S3 log storage on a kind cluster",
    (c) => {
      c["logging"].loki.storage = { type: "s3" };
    },
    [/ducklake:logging\.loki\.storage\.type: s3 storage needs AWS/],
  ],
  [
    "a node group on a kind cluster",
    (c) => {
      c["nodes"] = {
        instanceTypes: ["m6i.large"],
        scaling: { minSize: 1, desiredSize: 1, maxSize: 1 },
        rootVolume: {},
      };
    },
    [/ducklake:nodes: must not be set when cluster\.provider is kind/],
  ],
  [
    "more instances than kind nodes",
    (c) => {
      c["postgres"].instances = 3;
    },
    [/ducklake:postgres\.instances: 3 instances need 3 nodes .* cluster\.nodeCount is 1/],
  ],
  [
    "a gp3 StorageClass on a kind cluster",
    (c) => {
      c["storage"].gp3 = { iops: 3000 };
    },
    [/ducklake:storage\.gp3: gp3 needs the EBS CSI driver/],
  ],
  [
    "a tuning value of the wrong type",
    (c) => {
      c["postgres"].tuning.seed.max_connections = [100];
    },
    [/ducklake:postgres\.tuning\.seed\.max_connections/],
  ],
  [
    "a setting name that is not a GUC name",
    (c) => {
      c["postgres"].tuning.overrides = {
        "Shared-Buffers": { value: "1GB", reason: "a name PostgreSQL does not know" },
      };
    },
    [/ducklake:postgres\.tuning\.overrides\.Shared-Buffers: must be a PostgreSQL setting name/],
  ],
  [
    "a tuning override given as a bare value",
    (c) => {
      c["postgres"].tuning.overrides = { work_mem: "1GB" };
    },
    [/ducklake:postgres\.tuning\.overrides\.work_mem: an override is \{ value, reason \}: .*\(got "1GB"\)/],
  ],
  [
    "a tuning override without a reason",
    (c) => {
      c["postgres"].tuning.overrides = { work_mem: { value: "1GB" } };
    },
    [/ducklake:postgres\.tuning\.overrides\.work_mem\.reason: is required/],
  ],
  [
    "a tuning override whose reason is blank padding around a short word",
    (c) => {
      c["postgres"].tuning.overrides = { work_mem: { value: "1GB", reason: "   short    " } };
    },
    [
      /ducklake:postgres\.tuning\.overrides\.work_mem\.reason: must say why the stack departs from the guide \(at least 10 characters\)/,
    ],
  ],
  [
    "a tuning override with an unknown key",
    (c) => {
      c["postgres"].tuning.overrides = { work_mem: { value: "1GB", reason: "a long enough reason", why: "x" } };
    },
    [/ducklake:postgres\.tuning\.overrides\.work_mem\.why: unknown key/],
  ],
  [
    "the guide's pg_partman_bgw.role without the override naming the owner role",
    (c) => {
      delete c["postgres"].tuning.overrides["pg_partman_bgw.role"];
    },
    [
      /ducklake:postgres\.tuning\.seed\.pg_partman_bgw\.role: pg_partman_bgw\.role is "postgres" \(seed\) but must equal ducklake:postgres\.ownerRole "lineage_owner"/,
    ],
  ],
];

describe("invalid dev configs are refused with the key path and the rule", () => {
  test.each(invalid)("%s", (_d, mutate, expected) => {
    const raw = stack("dev");
    mutate(raw);
    const message = problems(raw);
    expect(message).toMatch(/nothing was created/);
    for (const re of expected) expect(message).toMatch(re);
  });
});

invalid.push([
  "a key named __proto__ (dropped by JavaScript objects, so it would be ignored silently)",
  (c) => {
    Object.defineProperty(c["postgres"].tuning.seed, "__proto__", { value: { x: 1 }, enumerable: true });
  },
  [/ducklake:postgres\.tuning\.seed\.__proto__: a key named __proto__ is not allowed/],
]);

invalid.push([
  "a string setting with a line break (it would inject a second postgresql.conf line)",
  (c) => {
    c["postgres"].tuning.overrides = {
      application_name: { value: "x\nfsync = off", reason: "an injection attempt in a test" },
    };
  },
  [/ducklake:postgres\.tuning\.overrides\.application_name\.value: must not contain a line break/],
]);

const invalidProd: Case[] = [
  [
    "an EKS stack without a node group",
    (c) => {
      delete c["nodes"];
    },
    [/ducklake:nodes: is required when cluster\.provider is eks/],
  ],
  [
    "a subnet that is not a subnet ID",
    (c) => {
      c["cluster"].subnetIds = ["10.0.0.0/24"];
    },
    [/ducklake:cluster\.subnetIds\[0\]: must be a subnet ID.*\(got "10.0.0.0\/24"\)/],
  ],
  [
    "a region that is not a region",
    (c) => {
      c["cluster"].region = "Ireland";
    },
    [/ducklake:cluster\.region: must be an AWS region/],
  ],
  [
    "scaling with desired above max",
    (c) => {
      c["nodes"].scaling = { minSize: 3, desiredSize: 5, maxSize: 4 };
    },
    [/ducklake:nodes\.scaling\.maxSize: must be >= desiredSize \(5\)/],
  ],
  [
    "a root volume below the seed's 3,000 IOPS",
    (c) => {
      c["nodes"].rootVolume.iops = 2999;
    },
    [/ducklake:nodes\.rootVolume\.iops: must be >= 3000 IOPS.*\(got 2999\)/],
  ],
];

describe("invalid prod configs are refused with the key path and the rule", () => {
  test.each(invalidProd)("%s", (_d, mutate, expected) => {
    const raw = stack("prod");
    mutate(raw);
    const message = problems(raw);
    for (const re of expected) expect(message).toMatch(re);
  });
});

test("every problem is reported at once, not just the first", () => {
  const raw = stack("dev");
  raw["postgres"].instances = 0;
  raw["postgres"].storage.sizeGiB = -1;
  raw["logging"].agent = "fluentd";
  raw["typo"] = true;
  const err = (() => {
    try {
      parseStackConfig(raw);
    } catch (e) {
      return e as ConfigError;
    }
    throw new Error("accepted");
  })();
  const paths = err.issues.map((i) => i.path);
  expect(paths).toEqual(
    expect.arrayContaining([
      "ducklake:postgres.instances",
      "ducklake:postgres.storage.sizeGiB",
      "ducklake:logging.agent",
      "ducklake:typo",
    ]),
  );
});

test("a schema error in one section does not hide a tuning or runway problem in another", () => {
  const raw = stack("dev");
  raw["logging"].agnet = "alloy"; // typo in logging
  raw["postgres"].tuning.seed.shared_buffers = "8GB"; // above the 4Gi pod
  raw["postgres"].tuning.seed.wrok_mem = "16MB"; // misspelled setting
  raw["queues"].definitions[0].premake = 2; // runway too small
  const message = problems(raw);
  expect(message).toMatch(/ducklake:logging\.agnet: unknown key/);
  expect(message).toMatch(/ducklake:postgres\.tuning\.seed\.shared_buffers/);
  expect(message).toMatch(/ducklake:postgres\.tuning\.seed\.wrok_mem/);
  expect(message).toMatch(/ducklake:queues\.definitions\[0\]\.premake/);
});

describe("keysAt: the keys an object accepts at a path, for did-you-mean", () => {
  test("through optional and default wrappers, array items and nested objects", () => {
    expect(keysAt(StackConfigSchema, ["postgres"])).toContain("instances");
    expect(keysAt(StackConfigSchema, ["queues", "definitions", 0])).toContain("fifoGroups");
    expect(keysAt(StackConfigSchema, ["postgres", "tuning"])).toEqual(["profile", "seed", "overrides", "hugePages"]);
    expect(keysAt(StackConfigSchema, [])).toContain("queues");
  });
  test("undefined where no object is", () => {
    expect(keysAt(StackConfigSchema, ["postgres", "instances"])).toBeUndefined();
    expect(keysAt(StackConfigSchema, ["nothing", "here"])).toBeUndefined();
  });
});
