/**
 * "Did you mean": the nearest known name to a misspelled one, for config keys (config/load.ts) and command-line flags
 * (scripts/lib/cli.ts). Edit distance from fastest-levenshtein.
 */
import { closest, distance } from "fastest-levenshtein";

/** The name nearest to `given` among `known` when it is a likely typo (edit distance at most 3), else undefined. */
export function didYouMean(given: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(given, [...known]);
  return distance(given, best) <= 3 ? best : undefined;
}
