/**
 * images/postgres/Dockerfile stays in step with the component: the pgmq version, the base image
 * family and the UID the cluster values assume for non-default images. (No container engine here, so
 * the image itself is not built in tests; see docs/postgres-cluster.md "Image".)
 */
import { readFileSync } from "fs";
import { join } from "path";
import { CNPG_IMAGE_POSTGRES_UID, DEFAULT_PGMQ_VERSION } from "../../components/postgres/image";
import { SUPPORTED_MAJORS } from "../../config/postgres";

const dockerfile = readFileSync(join(__dirname, "..", "..", "images", "postgres", "Dockerfile"), "utf8");
const instructions = dockerfile.split("\n").filter((l) => /^[A-Z]+\s/.test(l));

test("pgmq version defaults to the one of the default image", () => {
  expect(instructions).toContain(`ARG PGMQ_VERSION=${DEFAULT_PGMQ_VERSION}`);
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
