/**
 * Names of the S3 buckets the stack creates when the config names none: `<project>-<stack>-<purpose>-` as the
 * bucket's `bucketPrefix`, to which S3 (through the provider) appends a unique suffix.
 */

/** Longest `bucketPrefix` AWS accepts (the provider adds a 26-character unique suffix to a 63-character name). */
export const MAX_BUCKET_PREFIX_LENGTH = 37;

/**
 * `<project>-<stack>-<purpose>-`, lowercased, with characters S3 refuses replaced by `-`, cut to 37 characters.
 * S3's naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
 * @param project Pulumi project name.
 * @param stack Pulumi stack name.
 * @param purpose what the bucket holds (`loki`, `pgbackup`).
 */
export function bucketNamePrefix(project: string, stack: string, purpose: string): string {
  const clean = (s: string): string => s.toLowerCase().replace(/[^a-z0-9-]/g, "-");
  const prefix = `${clean(project)}-${clean(stack)}-${clean(purpose)}-`.replace(/^-+/, "");
  return prefix.length <= MAX_BUCKET_PREFIX_LENGTH
    ? prefix
    : `${prefix.slice(0, MAX_BUCKET_PREFIX_LENGTH - 1).replace(/-+$/, "")}-`;
}
