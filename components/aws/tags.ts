/**
 * AWS tags shared by the AWS components: the stack's `ducklake:tags`, then per-component extras,
 * then `project` and `stack` (always last, so no config can hide which stack owns a resource).
 */

/**
 * Merges AWS tags into one map with a stable key order (sorted), so a preview diff shows only real changes.
 * @param project Pulumi project name (`pulumi.getProject()`), tag `project`.
 * @param stack Pulumi stack name (`pulumi.getStack()`), tag `stack`.
 * @param tagMaps tag maps in increasing precedence (stack tags, then component extras).
 * @returns the merged tags; `project` and `stack` win over any map.
 * @throws Error when the result has more than 50 tags (AWS's per-resource limit:
 *   https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html).
 */
export function awsResourceTags(
  project: string,
  stack: string,
  ...tagMaps: ReadonlyArray<Readonly<Record<string, string>> | undefined>
): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const tags of tagMaps) Object.assign(merged, tags ?? {});
  merged["project"] = project;
  merged["stack"] = stack;
  const keys = Object.keys(merged).sort();
  if (keys.length > 50) {
    throw new Error(`AWS allows at most 50 tags per resource; the stack and component tags add up to ${keys.length}`);
  }
  return Object.fromEntries(keys.map((k) => [k, merged[k]]));
}
