/**
 * Realistic OpenLineage run events for the benchmark's payload pool.
 *
 * Shape: the OpenLineage 2-0-2 `RunEvent` (https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent):
 * `eventType`, `eventTime`, `run` (`runId`, facets), `job` (`namespace`, `name`, facets), `inputs`,
 * `outputs` (datasets with a `schema` facet), `producer`, `schemaURL`. The DuckLake pipeline emits these
 * per job run; issue 8 sizes them at ~0.3–1 KB of JSON, which is what {@link PAYLOAD_BYTES} enforces.
 *
 * Deterministic: the same seed gives the same pool, so two benchmark runs send the same bytes.
 */

/** Size bounds of one serialized event in bytes (UTF-8). Source: issue 8 ("~0.3–1 KB JSON"). */
export const PAYLOAD_BYTES = { min: 300, max: 1000 } as const;

/** Schema URL of a RunEvent, OpenLineage spec 2-0-2. */
export const RUN_EVENT_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

/** Producer URI written into every event (names this benchmark, as the spec asks of producers). */
export const PRODUCER = "https://github.com/ducklake/ducklake-pgmq/tree/main/scripts/bench";

/** Event types of the RunEvent state machine (spec 2-0-2 `eventType` enum, minus OTHER). */
const EVENT_TYPES = ["START", "RUNNING", "COMPLETE", "COMPLETE", "FAIL", "ABORT"] as const;

const NAMESPACES = ["ducklake://lake", "postgres://warehouse:5432", "s3://lineage-raw", "kafka://events:9092"];
const JOBS = [
  "ingest.orders",
  "transform.orders_daily",
  "export.customers",
  "dbt.model.revenue",
  "spark.sessionize",
  "duckdb.compact",
];
const TABLES = [
  "orders",
  "customers",
  "revenue_daily",
  "sessions",
  "events_raw",
  "line_items",
  "payments",
  "inventory",
];
const FIELD_TYPES = ["BIGINT", "VARCHAR", "TIMESTAMP", "DOUBLE", "BOOLEAN", "DECIMAL(18,2)", "DATE"];
const FIELD_NAMES = [
  "id",
  "customer_id",
  "created_at",
  "amount",
  "status",
  "currency",
  "region",
  "updated_at",
  "sku",
  "qty",
];

/** A seeded PRNG (mulberry32): returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(rng: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)] as T;
}

function uuid(rng: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16)).join("");
  // version 4, variant 10xx
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${"89ab"[Math.floor(rng() * 4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function dataset(rng: () => number, fields: number): Record<string, unknown> {
  const facets: Record<string, unknown> = {};
  if (fields > 0) {
    facets.schema = {
      _producer: PRODUCER,
      _schemaURL: "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
      fields: Array.from({ length: fields }, (_, i) => ({
        name: FIELD_NAMES[i % FIELD_NAMES.length],
        type: pick(rng, FIELD_TYPES),
      })),
    };
  }
  return { namespace: pick(rng, NAMESPACES), name: `lake.main.${pick(rng, TABLES)}`, facets };
}

/**
 * One OpenLineage RunEvent object.
 * @param rng a PRNG from {@link seededRandom}.
 * @param index position in the pool; sets the event time (one event per second from 2025-01-01T00:00:00Z).
 * @param fields schema fields of the output dataset (0 = no schema facet); the pool builder varies it to hit the size bounds.
 */
export function makeRunEvent(rng: () => number, index: number, fields: number): Record<string, unknown> {
  const eventType = pick(rng, EVENT_TYPES);
  const runFacets: Record<string, unknown> = {};
  if (rng() < 0.5) {
    runFacets.nominalTime = {
      _producer: PRODUCER,
      _schemaURL: "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet",
      nominalStartTime: new Date(Date.UTC(2025, 0, 1) + index * 1000).toISOString(),
    };
  }
  const run: Record<string, unknown> = { runId: uuid(rng), facets: runFacets };
  // Inputs carry no schema facet (the reader knows them); the output carries its schema.
  const inputs = Array.from({ length: 1 + Math.floor(rng() * 2) }, () => dataset(rng, 0));
  const outputs = [dataset(rng, fields)];
  return {
    eventType,
    eventTime: new Date(Date.UTC(2025, 0, 1) + index * 1000 + Math.floor(rng() * 1000)).toISOString(),
    run,
    job: { namespace: "ducklake", name: pick(rng, JOBS), facets: {} },
    inputs,
    outputs,
    producer: PRODUCER,
    schemaURL: RUN_EVENT_SCHEMA_URL,
  };
}

/**
 * A pool of serialized RunEvents, each between {@link PAYLOAD_BYTES}.min and .max bytes.
 * The benchmark loads the pool into a table once, so pgbench picks payloads server-side and the client
 * never builds JSON (it must not be the bottleneck).
 * @param count events in the pool (>= 1).
 * @param seed PRNG seed. Defaults to 8 (issue 8).
 * @returns JSON texts, deterministic for (count, seed).
 * @throws Error when count < 1.
 */
export function generatePayloadPool(count: number, seed = 8): string[] {
  if (!Number.isInteger(count) || count < 1) throw new Error(`payload pool size must be an integer >= 1, got ${count}`);
  const rng = seededRandom(seed);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    // Spread the sizes over the whole range: 0..8 schema fields on the output.
    let fields = Math.floor(rng() * 9);
    let text = JSON.stringify(makeRunEvent(rng, i, fields));
    while (Buffer.byteLength(text) > PAYLOAD_BYTES.max && fields > 0) {
      fields -= 1;
      text = JSON.stringify(makeRunEvent(rng, i, fields));
    }
    while (Buffer.byteLength(text) < PAYLOAD_BYTES.min) {
      fields += 1;
      text = JSON.stringify(makeRunEvent(rng, i, fields));
    }
    out.push(text);
  }
  return out;
}
