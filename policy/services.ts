/**
 * Rule "postgres-not-exposed": no LoadBalancer or NodePort Service in front of Postgres.
 *
 * The queue database is reached from inside the cluster only (DESIGN.md: applications in
 * `postgres.appNamespaces`); a LoadBalancer or NodePort Service would publish port 5432 outside it.
 * Checked where such a Service can come from:
 * - a `kubernetes:core/v1:Service` that fronts Postgres: a label or selector key under `cnpg.io/`
 *   (CloudNativePG labels its pods and services with `cnpg.io/cluster`, `cnpg.io/instanceRole`,
 *   `cnpg.io/poolerName`), `app.kubernetes.io/name` postgres/postgresql/pgbouncer, a port or targetPort
 *   5432 or named postgres/postgresql, or a name containing postgres, pgbouncer or a `pg` word;
 * - the CloudNativePG cluster chart's managed services, `values.cluster.services.additional[].serviceTemplate.spec.type`
 *   (a Cluster resource: `spec.managed.services.additional[]...`), and a Pooler's `spec.serviceTemplate.spec.type`.
 * Sources: Kubernetes Service types, https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types;
 * CloudNativePG "Service management", https://cloudnative-pg.io/documentation/current/service_management/
 */
import { arrayOf, at, entriesOf, Findings, prop, RuleResult, show, UNKNOWN } from "./values";
import { CNPG_CLUSTER_TYPE, CNPG_POOLER_TYPE, HELM_RELEASE_TYPE, isCnpgClusterRelease } from "./postgresPods";

/** Pulumi type token of `kubernetes.core.v1.Service`. */
export const SERVICE_TYPE = "kubernetes:core/v1:Service";
/** Service types that publish a port outside the cluster. */
export const EXPOSING_SERVICE_TYPES: readonly string[] = ["LoadBalancer", "NodePort"];
/** The PostgreSQL port. */
export const POSTGRES_PORT = 5432;

const POSTGRES_APP_NAMES = ["postgres", "postgresql", "pgbouncer"];
const POSTGRES_NAME = /postgres|pgbouncer|(^|[-_.])pg([-_.]|$)/i;

/**
 * Why a Service's inputs look like Postgres, or `undefined` when they do not.
 * @returns a reason (`selector cnpg.io/cluster`), `undefined`, or `UNKNOWN` when a deciding field is unknown.
 */
export function postgresServiceReason(props: Record<string, unknown>): string | undefined | typeof UNKNOWN {
  let sawUnknown = false;
  for (const [where, map] of [
    ["metadata.labels", at(props, ["metadata", "labels"])],
    ["spec.selector", at(props, ["spec", "selector"])],
  ] as const) {
    const entries = entriesOf(map);
    if (entries === UNKNOWN) {
      sawUnknown = true;
      continue;
    }
    for (const [k, v] of entries) {
      if (k.startsWith("cnpg.io/")) return `${where} ${k}`;
      if (k === "app.kubernetes.io/name" && typeof v === "string" && POSTGRES_APP_NAMES.includes(v.toLowerCase()))
        return `${where} ${k}=${v}`;
      if (v === UNKNOWN) sawUnknown = true;
    }
  }
  const ports = arrayOf(at(props, ["spec", "ports"]));
  if (ports === UNKNOWN) sawUnknown = true;
  else {
    for (const p of ports) {
      for (const field of ["port", "targetPort"] as const) {
        const v = prop(p, field);
        if (v === UNKNOWN) sawUnknown = true;
        else if (v === POSTGRES_PORT || v === String(POSTGRES_PORT)) return `spec.ports ${field} ${POSTGRES_PORT}`;
        else if (typeof v === "string" && /^postgres(ql)?$/i.test(v)) return `spec.ports ${field} "${v}"`;
      }
      const name = prop(p, "name");
      if (typeof name === "string" && /^postgres(ql)?$/i.test(name)) return `spec.ports name "${name}"`;
    }
  }
  const name = at(props, ["metadata", "name"]);
  if (name === UNKNOWN) sawUnknown = true;
  else if (typeof name === "string" && POSTGRES_NAME.test(name)) return `metadata.name "${name}"`;
  return sawUnknown ? UNKNOWN : undefined;
}

function checkServiceTemplateType(spec: unknown, path: string, out: Findings): void {
  const type = prop(spec, "type");
  if (type === UNKNOWN) out.unknown(`${path}.type`);
  else if (typeof type === "string" && EXPOSING_SERVICE_TYPES.includes(type)) {
    out.violation(
      `${path}.type is ${show(type)}: Postgres must not be exposed outside the cluster (no LoadBalancer or NodePort); use ClusterIP and reach it from inside the cluster`,
    );
  }
}

function checkAdditionalServices(additional: unknown, path: string, out: Findings): void {
  const items = arrayOf(additional);
  if (items === UNKNOWN) {
    out.unknown(path);
    return;
  }
  items.forEach((item, i) =>
    checkServiceTemplateType(at(item, ["serviceTemplate", "spec"]), `${path}[${i}].serviceTemplate.spec`, out),
  );
}

/**
 * Rule entry point: no LoadBalancer/NodePort Service in front of Postgres (see the module comment).
 * @param type the resource's Pulumi type token.
 * @param props the resource's inputs.
 * @returns violations and undetermined fields; empty for unrelated resources.
 */
export function checkPostgresNotExposed(type: string, props: Record<string, unknown>): RuleResult {
  const out = new Findings();
  if (type === SERVICE_TYPE) {
    const serviceType = at(props, ["spec", "type"]);
    if (serviceType === UNKNOWN) {
      out.unknown("spec.type");
      return out;
    }
    if (typeof serviceType !== "string" || !EXPOSING_SERVICE_TYPES.includes(serviceType)) return out;
    const reason = postgresServiceReason(props);
    if (reason === UNKNOWN) out.unknown("metadata/spec (is it a Postgres service?)");
    else if (reason !== undefined) {
      out.violation(
        `spec.type is ${show(serviceType)} on a Postgres service (${reason}): Postgres must not be exposed outside the cluster (no LoadBalancer or NodePort); use ClusterIP`,
      );
    }
  } else if (type === HELM_RELEASE_TYPE) {
    const isCluster = isCnpgClusterRelease(props);
    if (isCluster === UNKNOWN) out.unknown("chart");
    else if (isCluster)
      checkAdditionalServices(
        at(props, ["values", "cluster", "services", "additional"]),
        "values.cluster.services.additional",
        out,
      );
  } else if (type === CNPG_CLUSTER_TYPE) {
    checkAdditionalServices(
      at(props, ["spec", "managed", "services", "additional"]),
      "spec.managed.services.additional",
      out,
    );
  } else if (type === CNPG_POOLER_TYPE) {
    checkServiceTemplateType(at(props, ["spec", "serviceTemplate", "spec"]), "spec.serviceTemplate.spec", out);
  }
  return out;
}
