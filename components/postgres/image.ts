/**
 * The Postgres image CloudNativePG runs: the default (pgmq's public image, which carries pgmq and pg_partman),
 * a configured one, the major it declares in the chart's image catalog, and the UID its `postgres` user has.
 */
import type { PostgresConfig } from "../../config/postgres";

/**
 * pgmq version of the default image and of images/postgres/Dockerfile's default `PGMQ_VERSION`.
 * Source: pgmq's release workflow at tag v1.5.1 (.github/workflows/release.yml) publishes
 * `ghcr.io/pgmq/pg<major>-pgmq:v1.5.1` for majors 14-17, built from images/pgmq-pg/Dockerfile.in
 * (Docker official `postgres:<major>-bookworm` + pgmq + pg_partman 5.1.0).
 */
export const DEFAULT_PGMQ_VERSION = "1.5.1";

/** Majors with a known public image carrying pgmq and pg_partman (see DEFAULT_PGMQ_VERSION). */
export const DEFAULT_IMAGE_MAJORS: readonly number[] = [15, 16, 17];

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
  return DEFAULT_IMAGE_MAJORS.includes(major) ? `ghcr.io/pgmq/pg${major}-pgmq:v${DEFAULT_PGMQ_VERSION}` : undefined;
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
