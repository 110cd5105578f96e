/**
 * Small zod building blocks shared by the section schemas. Every message names the rule and the
 * limit; the loader adds the key path (`ducklake:postgres.resources.memory`) and the bad value.
 */
import { z } from "zod";
import { KUBE_CPU_PATTERN, KUBE_MEMORY_PATTERN, parseKubeCpuMillis } from "./units";

/** A DNS-1123 label: Kubernetes names of namespaces, services, releases (max 63 characters). */
export const dnsLabel = z
  .string()
  .max(63, { message: "must be at most 63 characters (DNS-1123 label)" })
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, {
    message: "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit",
  });

/** A Kubernetes memory quantity such as `4Gi`. */
export const kubeMemory = z.string().regex(KUBE_MEMORY_PATTERN, {
  message: "must be a Kubernetes memory quantity such as 4Gi or 512Mi",
});

/** A Kubernetes CPU quantity such as `2` or `500m`, above zero (a 0 CPU request would let the scheduler pack Postgres anywhere). */
export const kubeCpu = z
  .string()
  .regex(KUBE_CPU_PATTERN, {
    message: "must be a Kubernetes CPU quantity such as 2 or 500m",
  })
  .refine((v) => !KUBE_CPU_PATTERN.test(v) || parseKubeCpuMillis(v) >= 1, {
    message: "must be at least 1m (1 millicore): a container needs some CPU",
  });

/** A positive integer. */
export const positiveInt = z.number().int({ message: "must be an integer" }).positive({ message: "must be > 0" });

/** A non-negative integer. */
export const nonNegativeInt = z
  .number()
  .int({ message: "must be an integer" })
  .nonnegative({ message: "must be >= 0" });

/** A PostgreSQL identifier this project creates (lowercase, unquoted, at most 47 bytes so PGMQ's `q_`/`a_` prefixes and partition suffixes fit in NAMEDATALEN 63). */
export const pgIdentifier = z
  .string()
  .max(47, { message: "must be at most 47 characters (PGMQ prefixes and pg_partman suffixes must fit in 63)" })
  .regex(/^[a-z_][a-z0-9_]*$/, { message: "must be a lowercase SQL identifier: [a-z_][a-z0-9_]*" });

/**
 * A role this project creates: a `pgIdentifier` not starting with `pg_`, which PostgreSQL reserves for
 * its predefined roles ("The role name ... is reserved": CREATE ROLE refuses names beginning with pg_;
 * https://www.postgresql.org/docs/current/predefined-roles.html).
 */
export const pgRoleName = pgIdentifier.refine((v) => !v.startsWith("pg_"), {
  message: "must not start with pg_: PostgreSQL reserves that prefix for its predefined roles (CREATE ROLE refuses it)",
});

/** Kubernetes labels: a map of label key to value. */
export const kubeLabels = z.record(
  z
    .string()
    .regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, { message: "must be a Kubernetes label key" }),
  z.string().max(63, { message: "must be at most 63 characters (label value)" }),
);

/** AWS resource tags: a map of tag key to value (AWS allows 50 tags, keys <= 128, values <= 256 characters). */
export const awsTags = z
  .record(
    z.string().min(1).max(128, { message: "tag keys are at most 128 characters" }),
    z.string().max(256, { message: "tag values are at most 256 characters" }),
  )
  .refine((tags) => Object.keys(tags).length <= 50, { message: "AWS allows at most 50 tags per resource" });

/**
 * Prefixes and suffixes S3 reserves for its own names (general purpose buckets). Source:
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 */
export const S3_RESERVED_PREFIXES = ["xn--", "sthree-", "amzn-s3-demo-"] as const;
/** Suffixes S3 reserves (same source). */
export const S3_RESERVED_SUFFIXES = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] as const;

/**
 * An S3 general purpose bucket name, by AWS's naming rules
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3-63 characters of lowercase
 * letters, digits, '.' and '-', starting and ending with a letter or digit, no two adjacent periods, not an IP
 * address, none of the reserved prefixes and suffixes.
 */
export const s3BucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
    message:
      "must be an S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit",
  })
  .refine((v) => !v.includes(".."), { message: "must not contain two adjacent periods (S3 bucket naming rules)" })
  .refine((v) => !/^\d{1,3}(\.\d{1,3}){3}$/.test(v), {
    message: "must not be formatted as an IP address (S3 bucket naming rules)",
  })
  .refine((v) => !S3_RESERVED_PREFIXES.some((p) => v.startsWith(p)), {
    message: `must not start with ${S3_RESERVED_PREFIXES.join(", ")} (reserved by S3)`,
  })
  .refine((v) => !S3_RESERVED_SUFFIXES.some((s) => v.endsWith(s)), {
    message: `must not end with ${S3_RESERVED_SUFFIXES.join(", ")} (reserved by S3)`,
  });
