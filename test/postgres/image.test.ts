/**
 * images/postgres/Dockerfile stays in step with the component: the pgmq version, the base image
 * family and the UID the cluster values assume for non-default images. (No container engine here, so
 * the image itself is not built in tests; see docs/postgres-cluster.md "Image".)
 */
import { readFileSync } from "fs";
import { join } from "path";
import {
  CNPG_IMAGE_POSTGRES_UID,
  DEFAULT_PGMQ_VERSION,
  NEWEST_VERIFIED_PGMQ_VERSION,
  SUPPORTED_PGMQ_VERSIONS,
  fifoGroupsImageWarning,
  defaultImage,
  imageDigestWarning,
  imageTagMajor,
  isDigestPinned,
} from "../../components/postgres/image";
import { SUPPORTED_MAJORS } from "../../config/postgres";
import { parseStackConfig } from "../../components/stack";
import { readDucklakeConfig } from "../helpers/stack-files";

const dockerfile = readFileSync(join(__dirname, "..", "..", "images", "postgres", "Dockerfile"), "utf8");
const instructions = dockerfile.split("\n").filter((l) => /^[A-Z]+\s/.test(l));

test("the recipe builds the newest pgmq the suite ran on; the default image keeps its digest-pinned one", () => {
  expect(instructions).toContain(`ARG PGMQ_VERSION=${NEWEST_VERIFIED_PGMQ_VERSION}`);
  expect(SUPPORTED_PGMQ_VERSIONS).toEqual([DEFAULT_PGMQ_VERSION, NEWEST_VERIFIED_PGMQ_VERSION]);
  expect(defaultImage(17)).toContain(`:v${DEFAULT_PGMQ_VERSION}@sha256:`);
});

test("the base is CloudNativePG's standard image for PG_MAJOR, and the default major is supported", () => {
  expect(instructions).toContain(
    "ARG BASE_IMAGE=ghcr.io/cloudnative-pg/postgresql:${PG_MAJOR}-standard-${DEBIAN_SUITE}",
  );
  const major = Number(/^ARG PG_MAJOR=(\d+)$/m.exec(dockerfile)?.[1]);
  expect((SUPPORTED_MAJORS as readonly number[]).includes(major)).toBe(true);
});

test("pg_partman comes from PGDG for the same major and both extensions are checked at build time", () => {
  expect(dockerfile).toContain('"postgresql-${PG_MAJOR}-partman"');
  expect(dockerfile).toContain("extension/pgmq.control");
  expect(dockerfile).toContain("lib/pg_partman_bgw.so");
});

test("the image runs as the UID the cluster values assume for non-default images", () => {
  const users = instructions.filter((l) => l.startsWith("USER "));
  expect(users[users.length - 1]).toBe(`USER ${CNPG_IMAGE_POSTGRES_UID}`);
});

describe("default image references (issue 15 row 9)", () => {
  test("PostgreSQL 17's default is pinned by the digest public projects pin; 15 and 16 stay tag-only", () => {
    expect(defaultImage(17)).toBe(
      "ghcr.io/pgmq/pg17-pgmq:v1.5.1@sha256:e6f893a793751ed30c89f5f88e95aa52b77c1a03440b7d118a996866489ac0c6",
    );
    expect(defaultImage(16)).toBe("ghcr.io/pgmq/pg16-pgmq:v1.5.1");
    expect(defaultImage(18)).toBeUndefined();
    expect(imageTagMajor(defaultImage(17)!)).toBeUndefined(); // `v1.5.1` names no major: the catalog declares it
  });

  test.each([
    ["ghcr.io/pgmq/pg17-pgmq:v1.5.1@sha256:" + "a".repeat(64), true],
    ["registry.example/pg@sha256:" + "0".repeat(64), true],
    ["ghcr.io/pgmq/pg17-pgmq:v1.5.1", false],
    ["ghcr.io/pgmq/pg17-pgmq@sha256:abc", false], // truncated digest
    ["ghcr.io/pgmq/pg17-pgmq:v1.5.1@sha256:" + "A".repeat(64), false], // digests are lowercase hex
  ])("isDigestPinned(%s) is %s", (image, pinned) => {
    expect(isDigestPinned(image)).toBe(pinned);
    expect(imageDigestWarning(image, "ducklake:postgres.image") === undefined).toBe(pinned);
  });

  test("the tag-only warning names the key, the image and how to pin it", () => {
    const w = imageDigestWarning("ghcr.io/acme/pg:17", "ducklake:postgres.image");
    expect(w).toContain('ducklake:postgres.image "ghcr.io/acme/pg:17" is referenced by tag only');
    expect(w).toContain("@sha256:<digest>");
  });
});

describe("fifoGroups against the default image's pgmq", () => {
  const { config } = parseStackConfig(readDucklakeConfig("dev"), "dev");
  const withFifo = (image?: string) => ({
    ...config,
    postgres: { ...config.postgres, image },
    queues: { ...config.queues, definitions: config.queues.definitions.map((q) => ({ ...q, fifoGroups: true })) },
  });

  test("warns, naming the queues, the default image's pgmq and the version needed", () => {
    const { errors, warnings } = fifoGroupsImageWarning(withFifo());
    expect(errors).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`fifoGroups is on for ${config.queues.definitions.map((q) => q.name).join(", ")}`);
    expect(warnings[0]).toContain(`pgmq ${DEFAULT_PGMQ_VERSION}`);
    expect(warnings[0]).toContain(`>= ${NEWEST_VERIFIED_PGMQ_VERSION}`);
  });

  test("is quiet with FIFO off, or with an image of the stack's own", () => {
    expect(fifoGroupsImageWarning(config).warnings).toEqual([]);
    expect(fifoGroupsImageWarning(withFifo("registry.example/pg:17-pgmq1.11.1")).warnings).toEqual([]);
  });

  test("reaches the stack's warnings through parseStackConfig", () => {
    const raw = readDucklakeConfig("dev") as Record<string, unknown>;
    const queues = raw["queues"] as { definitions: Array<Record<string, unknown>> };
    const parsed = parseStackConfig(
      { ...raw, queues: { ...queues, definitions: queues.definitions.map((q) => ({ ...q, fifoGroups: true })) } },
      "dev",
    );
    expect(parsed.warnings.some((w) => w.includes("fifoGroups is on"))).toBe(true);
  });
});
