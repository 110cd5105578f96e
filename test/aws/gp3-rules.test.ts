/**
 * gp3 rules, validated by the config loader before anything is created: every rule at its limit,
 * just inside and just outside, on the node group's root volume (`ducklake:nodes.rootVolume`), on the
 * StorageClass (`ducklake:storage.gp3`) and on the volumes claimed from it (`ducklake:postgres.storage`).
 * Each refusal must name the key path, the value and the numbers of the rule.
 *
 * Limits (config/gp3.ts, from the Amazon EBS User Guide and the EC2 API reference): IOPS 3,000-80,000
 * (3,000 is also the seed's SSD minimum), throughput 125-2,000 MiB/s, throughput <= 0.25 MiB/s per IOPS,
 * IOPS <= 500 per GiB, size 1-65,536 GiB.
 */
import { parseStackConfig } from "../../components/stack";
import { ConfigError, ConfigIssue } from "../../config/issues";
import { readDucklakeConfig } from "../helpers/stack-files";

type Raw = Record<string, any>;

function prod(): Raw {
  return structuredClone(readDucklakeConfig("prod")) as Raw;
}

/** Paths the gp3 rules report on. */
const GP3_PATHS = /^ducklake:(nodes\.rootVolume\.|storage\.gp3\.|postgres\.storage\.(sizeGiB|walSizeGiB)$)/;
/** Messages of the gp3 rules (ranges, ratios, integers); other validators' issues on these paths are ignored. */
const GP3_MESSAGE = /IOPS|MiB\/s|GiB|integer/;

/** The gp3-rule issues the loader reports for `raw` (empty when it accepts the gp3 settings). */
function gp3Issues(raw: Raw): ConfigIssue[] {
  try {
    parseStackConfig(raw, "prod");
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.filter((i) => GP3_PATHS.test(i.path) && GP3_MESSAGE.test(i.message));
  }
}

test("the real prod stack passes every gp3 rule", () => {
  expect(gp3Issues(prod())).toEqual([]);
});

/** [rule, setup applied first, key path, setter, at limit, just inside, just outside, message of the refusal]. */
type Case = [string, (c: Raw) => void, string, (c: Raw, v: number) => void, number, number, number, RegExp];

const none = (): void => undefined;

const cases: Case[] = [
  // Root volume of the nodes.
  [
    "root IOPS floor (gp3 floor, the seed's 3,000)",
    none,
    "nodes.rootVolume.iops",
    (c, v) => {
      c["nodes"].rootVolume.iops = v;
    },
    3000,
    3001,
    2999,
    /must be >= 3000 IOPS/,
  ],
  [
    "root IOPS ceiling",
    (c) => {
      c["nodes"].rootVolume.sizeGiB = 200;
    },
    "nodes.rootVolume.iops",
    (c, v) => {
      c["nodes"].rootVolume.iops = v;
    },
    80000,
    79999,
    80001,
    /must be <= 80000 IOPS/,
  ],
  [
    "root throughput floor",
    none,
    "nodes.rootVolume.throughputMiBps",
    (c, v) => {
      c["nodes"].rootVolume.throughputMiBps = v;
    },
    125,
    126,
    124,
    /must be >= 125 MiB\/s/,
  ],
  [
    "root throughput ceiling",
    (c) => {
      c["nodes"].rootVolume.iops = 10000;
    },
    "nodes.rootVolume.throughputMiBps",
    (c, v) => {
      c["nodes"].rootVolume.throughputMiBps = v;
    },
    2000,
    1999,
    2001,
    /must be <= 2000 MiB\/s/,
  ],
  [
    "root throughput per IOPS (4,000 IOPS)",
    (c) => {
      c["nodes"].rootVolume.iops = 4000;
    },
    "nodes.rootVolume.throughputMiBps",
    (c, v) => {
      c["nodes"].rootVolume.throughputMiBps = v;
    },
    1000,
    999,
    1001,
    /throughput 1001 MiB\/s exceeds 0\.25 MiB\/s per provisioned IOPS \(4000 IOPS allow at most 1000 MiB\/s\); raise iops to >= 4004/,
  ],
  [
    "root throughput per IOPS, fractional cap (3,001 IOPS allow 750.25)",
    (c) => {
      c["nodes"].rootVolume.iops = 3001;
    },
    "nodes.rootVolume.throughputMiBps",
    (c, v) => {
      c["nodes"].rootVolume.throughputMiBps = v;
    },
    750,
    749,
    751,
    /throughput 751 MiB\/s exceeds 0\.25 MiB\/s per provisioned IOPS \(3001 IOPS allow at most 750 MiB\/s\)/,
  ],
  [
    "root IOPS per GiB (10 GiB volume)",
    (c) => {
      c["nodes"].rootVolume.sizeGiB = 10;
    },
    "nodes.rootVolume.iops",
    (c, v) => {
      c["nodes"].rootVolume.iops = v;
    },
    5000,
    4999,
    5001,
    /5001 IOPS exceeds 500 IOPS per GiB \(a 10 GiB volume allows at most 5000 IOPS\); use >= 11 GiB/,
  ],
  [
    "root sizeGiB floor implied by 3,000 IOPS at 500 per GiB (reported on iops)",
    none,
    "nodes.rootVolume.iops",
    (c, v) => {
      c["nodes"].rootVolume.sizeGiB = v;
    },
    6,
    7,
    5,
    /3000 IOPS exceeds 500 IOPS per GiB \(a 5 GiB volume allows at most 2500 IOPS\); use >= 6 GiB/,
  ],
  [
    "root size ceiling (64 TiB)",
    none,
    "nodes.rootVolume.sizeGiB",
    (c, v) => {
      c["nodes"].rootVolume.sizeGiB = v;
    },
    65536,
    65535,
    65537,
    /must be <= 65536 GiB/,
  ],
  // The StorageClass.
  [
    "class IOPS floor (gp3 floor, the seed's 3,000)",
    none,
    "storage.gp3.iops",
    (c, v) => {
      c["storage"].gp3.iops = v;
      c["storage"].gp3.throughputMiBps = 125;
    },
    3000,
    3001,
    2999,
    /must be >= 3000 IOPS/,
  ],
  [
    "class IOPS ceiling",
    (c) => {
      c["postgres"].storage.walSizeGiB = 200;
    },
    "storage.gp3.iops",
    (c, v) => {
      c["storage"].gp3.iops = v;
    },
    80000,
    79999,
    80001,
    /must be <= 80000 IOPS/,
  ],
  [
    "class throughput floor",
    none,
    "storage.gp3.throughputMiBps",
    (c, v) => {
      c["storage"].gp3.throughputMiBps = v;
    },
    125,
    126,
    124,
    /must be >= 125 MiB\/s/,
  ],
  [
    "class throughput ceiling",
    (c) => {
      c["storage"].gp3.iops = 10000;
    },
    "storage.gp3.throughputMiBps",
    (c, v) => {
      c["storage"].gp3.throughputMiBps = v;
    },
    2000,
    1999,
    2001,
    /must be <= 2000 MiB\/s/,
  ],
  [
    "class throughput per IOPS (6,000 IOPS)",
    none,
    "storage.gp3.throughputMiBps",
    (c, v) => {
      c["storage"].gp3.throughputMiBps = v;
    },
    1500,
    1499,
    1501,
    /throughput 1501 MiB\/s exceeds 0\.25 MiB\/s per provisioned IOPS \(6000 IOPS allow at most 1500 MiB\/s\); raise iops to >= 6004/,
  ],
  // Volumes claimed from the class: 6,000 IOPS need 12 GiB.
  [
    "claimed data volume, IOPS per GiB",
    none,
    "postgres.storage.sizeGiB",
    (c, v) => {
      c["postgres"].storage.sizeGiB = v;
    },
    12,
    13,
    11,
    /a 11 GiB gp3 volume allows at most 5500 IOPS \(500 per GiB\) but storage\.gp3\.iops is 6000; use >= 12 GiB/,
  ],
  [
    "claimed WAL volume, IOPS per GiB",
    none,
    "postgres.storage.walSizeGiB",
    (c, v) => {
      c["postgres"].storage.walSizeGiB = v;
    },
    12,
    13,
    11,
    /a 11 GiB gp3 volume allows at most 5500 IOPS \(500 per GiB\) but storage\.gp3\.iops is 6000; use >= 12 GiB/,
  ],
];

describe.each(cases)("%s", (_rule, setup, path, set, atLimit, inside, outside, message) => {
  test.each([
    ["at the limit", atLimit],
    ["just inside", inside],
  ])("%s (value %d) is accepted", (_where, value) => {
    const raw = prod();
    setup(raw);
    set(raw, value);
    expect(gp3Issues(raw)).toEqual([]);
  });

  test(`just outside (value ${outside}) is refused on ${path} with the numbers`, () => {
    const raw = prod();
    setup(raw);
    set(raw, outside);
    const issues = gp3Issues(raw);
    expect(issues).toHaveLength(1);
    expect(issues[0].path).toBe(`ducklake:${path}`);
    expect(issues[0].message).toMatch(message);
  });
});

test("refusals carry the offending value, and every broken rule is reported at once", () => {
  const raw = prod();
  raw["nodes"].rootVolume.iops = 2999;
  raw["storage"].gp3.throughputMiBps = 2001;
  raw["postgres"].storage.sizeGiB = 11;
  const issues = gp3Issues(raw);
  const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
  expect(byPath["ducklake:nodes.rootVolume.iops"]?.value).toBe(2999);
  expect(byPath["ducklake:postgres.storage.sizeGiB"]?.value).toBe(11);
  // 2,001 MiB/s breaks both the 2,000 MiB/s ceiling and 0.25 MiB/s per IOPS of 6,000 IOPS.
  const throughput = issues.filter((i) => i.path === "ducklake:storage.gp3.throughputMiBps").map((i) => i.message);
  expect(throughput).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/must be <= 2000 MiB\/s/),
      expect.stringMatching(/6000 IOPS allow at most 1500 MiB\/s/),
    ]),
  );
  expect(issues.filter((i) => i.path === "ducklake:storage.gp3.throughputMiBps").every((i) => i.value === 2001)).toBe(
    true,
  );
});

test.each([
  [
    "nodes.rootVolume.iops",
    (c: Raw) => {
      c["nodes"].rootVolume.iops = 3000.5;
    },
  ],
  [
    "storage.gp3.throughputMiBps",
    (c: Raw) => {
      c["storage"].gp3.throughputMiBps = 125.5;
    },
  ],
  [
    "nodes.rootVolume.sizeGiB",
    (c: Raw) => {
      c["nodes"].rootVolume.sizeGiB = 100.5;
    },
  ],
])("a fractional %s is refused (AWS takes integers)", (path, mutate) => {
  const raw = prod();
  mutate(raw);
  const issues = gp3Issues(raw).filter((i) => i.path === `ducklake:${path}`);
  expect(issues.map((i) => i.message)).toContain("must be an integer");
});

test("a KMS key on an unencrypted volume, and a KMS key that is not an ARN on the class, are refused", () => {
  const raw = prod();
  raw["nodes"].rootVolume.encrypted = false;
  raw["nodes"].rootVolume.kmsKeyId = "alias/ducklake";
  raw["storage"].gp3.kmsKeyId = "alias/ducklake";
  let message = "";
  try {
    parseStackConfig(raw, "prod");
  } catch (err) {
    if (err instanceof ConfigError) message = err.message;
  }
  expect(message).toMatch(/ducklake:nodes\.rootVolume\.kmsKeyId: needs encrypted: true/);
  expect(message).toMatch(
    /ducklake:storage\.gp3\.kmsKeyId: must be the full ARN of a KMS key.*\(got "alias\/ducklake"\)/,
  );
});

test("an AMI type whose root device is not /dev/xvda is refused", () => {
  const raw = prod();
  raw["nodes"].amiType = "BOTTLEROCKET_x86_64";
  let message = "";
  try {
    parseStackConfig(raw, "prod");
  } catch (err) {
    if (err instanceof ConfigError) message = err.message;
  }
  expect(message).toMatch(/ducklake:nodes\.amiType: .*AL2023_x86_64_STANDARD/);
});
