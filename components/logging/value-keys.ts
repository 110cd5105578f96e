/**
 * Checks rendered Helm values against a chart's key inventory (chart-keys/*.json, derived from the
 * chart's values.yaml at the pinned version). Helm ignores a key the chart does not read, so a typo
 * such as `singleBinary.replica` would deploy the chart's default silently; this catches it.
 */

/** A chart key inventory (the JSON files in chart-keys/). */
export interface ChartKeyInventory {
  readonly chart: string;
  readonly version: string;
  /** Top-level keys the inventory covers. */
  readonly sections: readonly string[];
  /** Key paths of values.yaml (dotted; `[key]` for keys with other characters than [A-Za-z0-9_-]). */
  readonly keys: readonly string[];
  /** Free-form maps: any path below them is accepted. */
  readonly open: readonly string[];
  /** Keys the chart reads that values.yaml only shows in comments, with where that was read. */
  readonly documented: ReadonlyArray<{ readonly path: string; readonly source: string }>;
}

/** One path segment in the inventory's spelling. */
export function keySegment(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : `[${key}]`;
}

/**
 * Every object key path of a values tree (arrays and scalars are leaves; keys inside arrays are list
 * items the chart passes through, not chart keys).
 * @returns dotted paths, parents before children, in the tree's key order.
 */
export function valueKeyPaths(values: Record<string, unknown>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const path = prefix === "" ? keySegment(key) : `${prefix}.${keySegment(key)}`;
    out.push(path);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      out.push(...valueKeyPaths(value as Record<string, unknown>, path));
    }
  }
  return out;
}

/**
 * Paths of `values` the chart does not know.
 * @param values rendered values (plain data).
 * @param inventory the chart's key inventory.
 * @returns the topmost unknown paths, each with the reason; empty when every key is known.
 */
export function unknownValueKeys(values: Record<string, unknown>, inventory: ChartKeyInventory): string[] {
  const known = new Set([...inventory.keys, ...inventory.documented.map((d) => d.path)]);
  const problems: string[] = [];
  const reported: string[] = [];
  for (const path of valueKeyPaths(values)) {
    // Below an unknown key everything is unknown too: report the topmost one only.
    if (reported.some((r) => path.startsWith(`${r}.`))) continue;
    const section = path.split(".")[0];
    if (!inventory.sections.includes(section)) {
      reported.push(path);
      problems.push(
        `${path}: section "${section}" is not in the ${inventory.chart} ${inventory.version} inventory (add it from values.yaml)`,
      );
      continue;
    }
    if (known.has(path)) continue;
    if (inventory.open.some((o) => path.startsWith(`${o}.`))) continue;
    reported.push(path);
    problems.push(`${path}: not a key of ${inventory.chart} ${inventory.version} values.yaml`);
  }
  return problems;
}
