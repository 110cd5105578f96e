/**
 * Human-reviewable artifacts a component produces besides its resources (postgresql.conf,
 * bootstrap.sql). Components publish them here; the offline plan (`npm run plan`) writes them to
 * `plan/<stack>/`. In a real `pulumi up` nothing reads them, so publishing costs nothing.
 */
import * as pulumi from "@pulumi/pulumi";

const artifacts = new Map<string, pulumi.Input<string>>();

/**
 * Publishes an artifact for the offline plan.
 * @param relativePath path under `plan/<stack>/`, e.g. `postgresql.conf`.
 * @param content the text (an Output is resolved by the plan).
 * @throws Error when two components publish the same path (plans must be unambiguous).
 */
export function publishArtifact(relativePath: string, content: pulumi.Input<string>): void {
  if (artifacts.has(relativePath)) {
    throw new Error(`artifact ${relativePath} was published twice`);
  }
  artifacts.set(relativePath, content);
}

/** Every artifact published so far, by path. */
export function publishedArtifacts(): ReadonlyMap<string, pulumi.Input<string>> {
  return artifacts;
}

/** Forgets every artifact (tests that run the program more than once in one process). */
export function resetArtifacts(): void {
  artifacts.clear();
}
