/**
 * Pure parts of `npm run plan -- <stack> --render`: split Helm's output into objects, index the
 * CustomResourceDefinitions a render contains, and validate each custom resource against its CRD's
 * `openAPIV3Schema` with a JSON-schema validator (ajv).
 *
 * Kubernetes' structural-schema rules are applied before the schema goes to ajv
 * (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema):
 * - a field the schema does not declare is an error where the object declares `properties` and neither
 *   `additionalProperties` nor `x-kubernetes-preserve-unknown-fields: true` (the API server prunes it,
 *   or with `kubectl --validate=strict`, the default since Kubernetes 1.27, rejects it: a value Helm
 *   sends there is lost either way);
 * - `nullable: true` admits null; `x-kubernetes-int-or-string: true` admits an integer or a string;
 * - `x-kubernetes-embedded-resource: true` admits `apiVersion`, `kind` and `metadata`;
 * - `metadata` at the root is the API server's (ObjectMeta), not checked here;
 * - other `x-kubernetes-*` keywords are ignored, in particular `x-kubernetes-validations` (CEL rules,
 *   which only the API server evaluates), and so is `format`;
 * - a `pattern` JavaScript cannot compile (RE2-only syntax such as `(?i)`, which the Prometheus
 *   Operator's CRDs use) is not checked.
 */
import Ajv from "ajv";
import { parse, type Tags } from "yaml";

/** One object of a rendered manifest. */
export interface ManifestObject {
  /** Template it came from (Helm's `# Source:` line), when given. */
  readonly source?: string;
  readonly object: Record<string, unknown>;
}

/** YAML 1.1's tags without `timestamp` (see `splitManifests`). */
const KUBERNETES_YAML_TAGS = (tags: Tags): Tags =>
  tags.filter((t) => typeof t === "string" || t.tag !== "tag:yaml.org,2002:timestamp");

/**
 * Splits a multi-document manifest (Helm's `template` output) into objects. Documents that are empty
 * or only comments are dropped; YAML 1.1 as Kubernetes reads it (`on` is a boolean there), except that a
 * timestamp-like scalar stays a string: Helm and the API server decode manifests with sigs.k8s.io/yaml into
 * `interface{}`, and its goyaml.v2 keeps timestamps as strings there ("for backward compatibility reasons we set
 * it as a string", decode.go, `TODO(v3) Drop this`). A Cluster's unquoted `recoveryTarget.targetTime` (the cluster
 * chart renders it unquoted) is a string to Kubernetes, so it is one here.
 * @throws Error naming the document's source when a document is not YAML or not a mapping.
 */
export function splitManifests(text: string): ManifestObject[] {
  const out: ManifestObject[] = [];
  for (const chunk of text.split(/^---[ \t]*$/m)) {
    const sourceLine = /^# Source: (.+)$/m.exec(chunk);
    const source = sourceLine?.[1]?.trim();
    if (chunk.split("\n").every((l) => l.trim() === "" || l.trimStart().startsWith("#"))) continue;
    let doc: unknown;
    try {
      doc = parse(chunk, { version: "1.1", customTags: KUBERNETES_YAML_TAGS });
    } catch (err) {
      throw new Error(`manifest document ${source ?? "(no # Source line)"} is not YAML: ${(err as Error).message}`);
    }
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== "object" || Array.isArray(doc)) {
      throw new Error(`manifest document ${source ?? "(no # Source line)"} is not a mapping`);
    }
    out.push(
      source !== undefined
        ? { source, object: doc as Record<string, unknown> }
        : { object: doc as Record<string, unknown> },
    );
  }
  return out;
}

/** One version of a CRD: what a custom resource of `group/version` `kind` is validated against. */
export interface CrdVersion {
  readonly group: string;
  readonly kind: string;
  readonly version: string;
  readonly served: boolean;
  /** `spec.versions[].schema.openAPIV3Schema`, or undefined when the CRD gives none. */
  readonly schema?: Record<string, unknown>;
  /** Where the CRD came from (a release name, or a file given with --crds). */
  readonly origin: string;
  /** The CRD's name (`<plural>.<group>`). */
  readonly crdName: string;
}

/** Key of the CRD index: `group/version/Kind`. */
export const crdKey = (group: string, version: string, kind: string): string => `${group}/${version}/${kind}`;

/** Splits an `apiVersion` into group (`""` for the core group) and version. */
export function groupVersionOf(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * Indexes every `apiextensions.k8s.io/v1` CustomResourceDefinition among `objects` by group, version
 * and kind. The first CRD seen for a key wins.
 */
export function indexCrds(
  objects: readonly ManifestObject[],
  origin: string,
  into: Map<string, CrdVersion> = new Map(),
): Map<string, CrdVersion> {
  for (const { object } of objects) {
    if (object["apiVersion"] !== "apiextensions.k8s.io/v1" || object["kind"] !== "CustomResourceDefinition") continue;
    const spec = object["spec"] as
      | {
          group?: string;
          names?: { kind?: string };
          versions?: { name?: string; served?: boolean; schema?: { openAPIV3Schema?: Record<string, unknown> } }[];
        }
      | undefined;
    const crdName = String((object["metadata"] as { name?: string } | undefined)?.name ?? "?");
    if (!spec?.group || !spec.names?.kind) continue;
    for (const v of spec.versions ?? []) {
      if (!v.name) continue;
      const key = crdKey(spec.group, v.name, spec.names.kind);
      if (into.has(key)) continue;
      const schema = v.schema?.openAPIV3Schema;
      into.set(key, {
        group: spec.group,
        kind: spec.names.kind,
        version: v.name,
        served: v.served === true,
        origin,
        crdName,
        ...(schema ? { schema } : {}),
      });
    }
  }
  return into;
}

/** The CRD version a custom resource of this apiVersion and kind is validated against, if indexed. */
export function lookupCrd(
  index: ReadonlyMap<string, CrdVersion>,
  apiVersion: string,
  kind: string,
): CrdVersion | undefined {
  const { group, version } = groupVersionOf(apiVersion);
  return index.get(crdKey(group, version, kind));
}

/**
 * API groups Kubernetes serves itself (no CRD): the core group, `apps`, `batch`, `autoscaling`,
 * `policy` and every `*.k8s.io` group (rbac.authorization.k8s.io, networking.k8s.io, ...).
 */
export function isBuiltInGroup(group: string): boolean {
  return group === "" || ["apps", "batch", "autoscaling", "policy"].includes(group) || group.endsWith(".k8s.io");
}

type Schema = Record<string, unknown>;

/** Does JavaScript's RegExp accept this (RE2) pattern? */
function compilesInJs(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/**
 * A CRD's openAPIV3Schema as a JSON schema ajv checks with Kubernetes' rules (see the file comment).
 * @param inJunctor inside allOf/anyOf/oneOf/not, where `properties` only constrain and never close an object.
 */
export function toValidationSchema(node: unknown, atRoot = true, inJunctor = false): unknown {
  if (node === null || typeof node !== "object" || Array.isArray(node)) return node;
  const src = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(src)) {
    if (k.startsWith("x-kubernetes-") || k === "format" || k === "nullable") continue;
    if (k === "properties" && v && typeof v === "object") {
      const props: Schema = {};
      for (const [name, sub] of Object.entries(v as Schema)) {
        props[name] = atRoot && name === "metadata" ? {} : toValidationSchema(sub, false, inJunctor);
      }
      out[k] = props;
    } else if (k === "items" || k === "not") {
      out[k] = toValidationSchema(v, false, k === "not" || inJunctor);
    } else if (k === "additionalProperties" && v && typeof v === "object") {
      out[k] = toValidationSchema(v, false, inJunctor);
    } else if (k === "pattern" && typeof v === "string" && !compilesInJs(v)) {
      continue;
    } else if ((k === "allOf" || k === "anyOf" || k === "oneOf") && Array.isArray(v)) {
      out[k] = v.map((s) => toValidationSchema(s, false, true));
    } else {
      out[k] = v;
    }
  }
  if (src["x-kubernetes-int-or-string"] === true) {
    delete out["type"];
    if (out["anyOf"] === undefined) out["anyOf"] = [{ type: "integer" }, { type: "string" }];
  }
  if (src["nullable"] === true && typeof out["type"] === "string") {
    out["type"] = [out["type"], "null"];
    if (Array.isArray(out["enum"])) out["enum"] = [...(out["enum"] as unknown[]), null];
  }
  if (src["x-kubernetes-embedded-resource"] === true) {
    out["properties"] = {
      apiVersion: { type: "string" },
      kind: { type: "string" },
      metadata: { type: "object" },
      ...((out["properties"] as Schema | undefined) ?? {}),
    };
  }
  const preserve = src["x-kubernetes-preserve-unknown-fields"] === true;
  if (!inJunctor && !preserve && out["properties"] !== undefined && out["additionalProperties"] === undefined) {
    out["additionalProperties"] = false;
  }
  return out;
}

/** One way a custom resource does not match its CRD. */
export interface ValidationFinding {
  readonly release: string;
  readonly kind: string;
  /** `namespace/name`, or `name` when the object has no namespace. */
  readonly name: string;
  /** Path in the object, `.spec.instances` style (`(root)` for the object itself). */
  readonly path: string;
  /** Path in the CRD's openAPIV3Schema, `#/properties/spec/...`. */
  readonly schemaPath: string;
  readonly message: string;
}

/** One line per finding: release, kind, name, object path, message and schema path. */
export function formatFinding(f: ValidationFinding): string {
  return `release ${f.release}: ${f.kind} ${f.name}: ${f.path} ${f.message} (CRD schema ${f.schemaPath})`;
}

/** `namespace/name` of an object (or `name`). */
export function objectName(object: Record<string, unknown>): string {
  const md = (object["metadata"] ?? {}) as { name?: unknown; namespace?: unknown };
  const name = typeof md.name === "string" ? md.name : "(no name)";
  return typeof md.namespace === "string" ? `${md.namespace}/${name}` : name;
}

interface AjvError {
  keyword: string;
  dataPath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** ajv's message with the detail it keeps in params (the unknown field, the allowed values). */
function messageOf(e: AjvError): string {
  if (e.keyword === "additionalProperties") return `has unknown field "${String(e.params["additionalProperty"])}"`;
  if (e.keyword === "enum") return `${e.message ?? "must be one of"}: ${JSON.stringify(e.params["allowedValues"])}`;
  return e.message ?? e.keyword;
}

const compiled = new WeakMap<object, (data: unknown) => boolean>();
const ajv = new Ajv({
  logger: false,
  allErrors: true,
  format: false,
  validateSchema: false,
  unknownFormats: "ignore",
  jsonPointers: false,
});

/**
 * Validates one custom resource against a CRD version's schema.
 * @returns no findings when it matches; a finding when the version is not served or has no schema.
 */
export function validateCustomResource(
  release: string,
  object: Record<string, unknown>,
  crd: CrdVersion,
): ValidationFinding[] {
  const base = { release, kind: String(object["kind"]), name: objectName(object) };
  if (!crd.served)
    return [
      {
        ...base,
        path: "(root)",
        schemaPath: `${crd.crdName} versions[${crd.version}]`,
        message: `uses ${crd.group}/${crd.version}, which the CRD does not serve`,
      },
    ];
  if (!crd.schema)
    return [
      {
        ...base,
        path: "(root)",
        schemaPath: `${crd.crdName} versions[${crd.version}]`,
        message: "cannot be checked: the CRD version has no openAPIV3Schema",
      },
    ];
  let validate = compiled.get(crd.schema);
  if (!validate) {
    try {
      validate = ajv.compile(toValidationSchema(crd.schema) as object) as (data: unknown) => boolean;
    } catch (err) {
      return [
        {
          ...base,
          path: "(root)",
          schemaPath: `${crd.crdName} versions[${crd.version}]`,
          message: `cannot be checked: the schema does not compile (${(err as Error).message.split("\n")[0]})`,
        },
      ];
    }
    compiled.set(crd.schema, validate);
  }
  if (validate(object)) return [];
  const errors = ((validate as unknown as { errors?: AjvError[] }).errors ?? []) as AjvError[];
  return errors.map((e) => ({
    ...base,
    path: e.dataPath === "" ? "(root)" : e.dataPath,
    schemaPath: e.schemaPath,
    message: messageOf(e),
  }));
}
