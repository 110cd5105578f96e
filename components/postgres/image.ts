/**
 * The Postgres image CloudNativePG runs: the default (pgmq's public image, which carries pgmq and pg_partman),
 * a configured one, the major it declares in the chart's image catalog, and the UID its `postgres` user has.
 */
import type { PostgresConfig } from "../../config/postgres";
import type { SemanticResult } from "../../config/issues";
import type { StackConfig } from "../../config/schema";

/**
 * pgmq version of the default image (images/postgres/Dockerfile defaults to {@link NEWEST_VERIFIED_PGMQ_VERSION}).
 *
 * Provenance of `ghcr.io/pgmq/pg<major>-pgmq:v1.5.1` (read in pgmq's git history, github.com/pgmq/pgmq):
 * - At tag v1.5.1 (2025-02-22) the release job (.github/workflows/extension_ci.yml `build_and_push`) pushed
 *   `quay.io/tembo/pg<major>-pgmq:v1.5.1`, not ghcr.io.
 * - Commit 8a32864 "move image build to ghcr (#396)" (2025-05-04) moved it to `ghcr.io/pgmq/pg<major>-pgmq`, tagging
 *   `v` + pgmq-extension/pgmq.control's `default_version`, which on main then still read 1.5.1 while pgmq.sql already
 *   held later changes (#385, #386, #393: `acquire_queue_lock`, the 47-character queue-name limit). So the ghcr image
 *   labelled v1.5.1 was built after the tag, from a commit this project cannot identify; its pgmq is "1.5.1" by its
 *   control file. Both builds use images/pgmq-pg/Dockerfile.in (Docker official `postgres:<major>-bookworm` + pgmq +
 *   pg_partman 5.1.0, pgmq-extension/Makefile `PG_PARTMAN_VER`).
 * The queue integration suite runs on tag v1.5.1's SQL with pg_partman 4.7.2 (PostgreSQL 15), 5.2.4 and 5.1.0
 * (PostgreSQL 17; docs/queue.md).
 */
export const DEFAULT_PGMQ_VERSION = "1.5.1";

/**
 * The newest pgmq this project has run its queue suite and upgrade test on, and images/postgres/Dockerfile's default
 * `PGMQ_VERSION` (issue 22). Newer releases exist (1.12.x, 1.13.x), but their SQL is not complete in any source this
 * project can reach: the public index holds pgmq--1.11.0--1.12.0.sql, 1.12.0--1.12.1 and 1.13.0--1.13.1, but no
 * 1.12.1--1.13.0 and no full pgmq.sql of 1.12 or later, so neither a fresh install nor the upgrade chain of those can
 * be run here.
 *
 * What "1.11.1" is here: pgmq-extension/sql/pgmq.sql and every upgrade script from 1.5.1 to 1.11.0 as vendored by
 * github.com/shinzui/pgmq-hs (vendor/pgmq/pgmq-extension, pgmq.control `default_version = '1.11.0'`, snapshot of
 * 2026-06-03), plus pgmq's own pgmq--1.11.0--1.11.1.sql (github.com/pgmq/pgmq commit 2a366bc): `CREATE EXTENSION`
 * walks 1.11.0 -> 1.11.1, as `ALTER EXTENSION pgmq UPDATE` does from 1.5.1 through 1.5.2, 1.6.0, ... 1.11.0.
 * The default image stays {@link DEFAULT_PGMQ_VERSION}: public projects run `ghcr.io/pgmq/pg17-pgmq:v1.11.1` and
 * `pg18-pgmq:v1.11.1` by tag, but no digest of them is published anywhere this project can read, and the registry is
 * not reachable from the build machines, so moving the default would trade a digest-pinned image for a tag
 * (docs/queue.md, "PGMQ versions and upgrades").
 */
export const NEWEST_VERIFIED_PGMQ_VERSION = "1.11.1";

/** pgmq versions the queue integration suite and the upgrade test run on (1.5.1 -> 1.11.1 in place). */
export const SUPPORTED_PGMQ_VERSIONS: readonly string[] = [DEFAULT_PGMQ_VERSION, NEWEST_VERIFIED_PGMQ_VERSION];

/** Majors with a known public image carrying pgmq and pg_partman (see DEFAULT_PGMQ_VERSION). */
export const DEFAULT_IMAGE_MAJORS: readonly number[] = [15, 16, 17];

/**
 * Digests the default images are pinned to, by major. Only PostgreSQL 17's is known: public projects pin
 * `ghcr.io/pgmq/pg17-pgmq:v1.5.1@sha256:e6f893a7…c0c6` (found in the public code index; the registry itself is not
 * reachable from the build machines, so the digest is not re-verified here). 15 and 16 stay tag-only and the plan
 * warns (see {@link imageDigestWarning}).
 */
export const DEFAULT_IMAGE_DIGESTS: Readonly<Partial<Record<number, string>>> = {
  17: "sha256:e6f893a793751ed30c89f5f88e95aa52b77c1a03440b7d118a996866489ac0c6",
};

/** UID/GID of `postgres` in the Docker official postgres image (the default image's base). */
export const OFFICIAL_IMAGE_POSTGRES_UID = 999;
/** UID/GID of `postgres` in CloudNativePG's images (and images/postgres/Dockerfile). Source: cluster chart values.yaml `postgresUID`. */
export const CNPG_IMAGE_POSTGRES_UID = 26;

/** The image CloudNativePG runs, with the major it declares in the chart's image catalog and the UID it runs as. */
export interface ResolvedImage {
  /** Full image reference. */
  readonly image: string;
  /** PostgreSQL major inside the image (the image catalog's `major`). */
  readonly major: number;
  /** UID and GID of `postgres` inside the image (`postgresUID`/`postgresGID`). */
  readonly postgresUid: number;
  /** True when the reference is this project's default (not set in config). */
  readonly isDefault: boolean;
}

/**
 * The default image for a major: pgmq's public image `ghcr.io/pgmq/pg<major>-pgmq:v<pgmq>`, which carries
 * pgmq and pg_partman (see DEFAULT_PGMQ_VERSION for the source).
 * @param major PostgreSQL major.
 * @returns the reference, or undefined when no public image is known for that major (18): build
 *   images/postgres/Dockerfile and set `ducklake:postgres.image`.
 */
export function defaultImage(major: number): string | undefined {
  if (!DEFAULT_IMAGE_MAJORS.includes(major)) return undefined;
  const digest = DEFAULT_IMAGE_DIGESTS[major];
  return `ghcr.io/pgmq/pg${major}-pgmq:v${DEFAULT_PGMQ_VERSION}${digest === undefined ? "" : `@${digest}`}`;
}

/** True when an image reference names a content digest (`name[:tag]@sha256:<64 hex>`). */
export function isDigestPinned(image: string): boolean {
  return /@sha256:[0-9a-f]{64}$/.test(image);
}

/**
 * The warning for an image referenced by tag only: a tag can be re-pushed, so two `pulumi up`s of the same commit
 * may run different binaries, and a node pulls whatever the tag names when it first starts the pod.
 * @returns the warning, or undefined when the reference carries a digest.
 */
export function imageDigestWarning(image: string, key: string): string | undefined {
  if (isDigestPinned(image)) return undefined;
  return (
    `${key} "${image}" is referenced by tag only: a tag can be re-pushed, so the same stack can run different binaries; ` +
    `pin it as <image>:<tag>@sha256:<digest> (docker buildx imagetools inspect <image> prints the digest)`
  );
}

/**
 * Resolves the image: `config.image` or the default, the major and the UID.
 * @throws Error when no image is set and the major has no default (PostgreSQL 18).
 */
export function resolveImage(config: PostgresConfig): ResolvedImage {
  const image = config.image ?? defaultImage(config.majorVersion);
  if (image === undefined) {
    throw new Error(
      `ducklake:postgres.image: no public image with pgmq and pg_partman is known for PostgreSQL ${config.majorVersion}; ` +
        `build images/postgres/Dockerfile with --build-arg PG_MAJOR=${config.majorVersion}, push it, and set ducklake:postgres.image`,
    );
  }
  const isDefault = config.image === undefined;
  // The default image is built on the Docker official image (postgres = 999); anything else is assumed CNPG-based (26).
  const postgresUid = config.imageUserId ?? (isDefault ? OFFICIAL_IMAGE_POSTGRES_UID : CNPG_IMAGE_POSTGRES_UID);
  return { image, major: config.majorVersion, postgresUid, isDefault };
}

/**
 * The leading major of an image tag (`17`, `17.5-standard-bookworm`, `17-pgmq1.5.1`), if the tag starts with one.
 * A digest-only reference or a tag like `v1.5.1` yields undefined.
 */
export function imageTagMajor(image: string): number | undefined {
  const withoutDigest = image.split("@")[0];
  const lastSlash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.indexOf(":", lastSlash + 1);
  if (colon < 0) return undefined;
  const m = /^(\d+)(?:$|[.\-_])/.exec(withoutDigest.slice(colon + 1));
  return m ? Number(m[1]) : undefined;
}

/**
 * `fifoGroups` on a queue while the stack runs the default image: its pgmq ({@link DEFAULT_PGMQ_VERSION}) has no
 * `pgmq.read_grouped_head` (pgmq >= 1.11.1), so the bootstrap builds the group index but no
 * `ops.read_grouped_with_dlq`, and consumers calling it fail. A warning, not an error: the index is harmless and the
 * image may be changed in the same update. A configured image is not inspected (its pgmq is unknown offline).
 */
export function fifoGroupsImageWarning(config: StackConfig): SemanticResult {
  const queues = config.queues.definitions.filter((q) => q.fifoGroups).map((q) => q.name);
  if (queues.length === 0 || config.postgres.image !== undefined) return { errors: [], warnings: [] };
  return {
    errors: [],
    warnings: [
      `ducklake:queues.definitions: fifoGroups is on for ${queues.join(", ")}, but the default image carries pgmq ${DEFAULT_PGMQ_VERSION}, ` +
        `which has no pgmq.read_grouped_head: ops.read_grouped_with_dlq will not exist. Set ducklake:postgres.image to one with pgmq >= ${NEWEST_VERIFIED_PGMQ_VERSION} ` +
        `(images/postgres/Dockerfile; docs/queue.md "FIFO per job")`,
    ],
  };
}
