/**
 * A tiny evaluator of the Promtail pipeline stages this project emits (cri, match, json, labels,
 * structured_metadata), following Promtail's documented semantics
 * (https://grafana.com/docs/loki/latest/send-data/promtail/stages/). It runs the stages exactly as
 * rendered into the Helm values, so a test can feed real CloudNativePG lines through them.
 * Any other stage, selector operator or JMESPath construct throws: an unsupported rule never passes silently.
 */

/** A log entry moving through the pipeline. */
export interface Entry {
  line: string;
  labels: Record<string, string>;
  extracted: Record<string, string>;
  structuredMetadata: Record<string, string>;
}

const CRI = /^(\S+) (stdout|stderr) ([FP]) (.*)$/;

/** Parses a LogQL stream selector `{a="b", c=~"re"}` into matchers. */
export function parseSelector(selector: string): Array<{ name: string; op: string; value: string }> {
  const body = selector.trim().replace(/^\{/, "").replace(/\}$/, "");
  const matchers: Array<{ name: string; op: string; value: string }> = [];
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) throw new Error(`unsupported selector: ${selector}`);
    matchers.push({ name: m[1], op: m[2], value: JSON.parse(`"${m[3]}"`) as string });
    pos = re.lastIndex;
  }
  return matchers;
}

function selectorMatches(selector: string, labels: Record<string, string>): boolean {
  return parseSelector(selector).every(({ name, op, value }) => {
    const actual = labels[name] ?? "";
    const full = new RegExp(`^(?:${value})$`);
    switch (op) {
      case "=":
        return actual === value;
      case "!=":
        return actual !== value;
      case "=~":
        return full.test(actual);
      case "!~":
        return !full.test(actual);
      default:
        throw new Error(`unsupported operator ${op}`);
    }
  });
}

function jmes(obj: unknown, expr: string): unknown {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(expr))
    throw new Error(`unsupported JMESPath ${expr}`);
  let cur: unknown = obj;
  for (const part of expr.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function runStage(stage: Record<string, unknown>, e: Entry): void {
  const kinds = Object.keys(stage);
  if (kinds.length !== 1) throw new Error(`a stage has exactly one key: ${JSON.stringify(stage)}`);
  const kind = kinds[0];
  const spec = stage[kind] as Record<string, unknown>;
  switch (kind) {
    case "cri": {
      const m = CRI.exec(e.line);
      if (!m) return;
      e.extracted["time"] = m[1];
      e.extracted["stream"] = m[2];
      e.extracted["flags"] = m[3];
      e.labels["stream"] = m[2];
      e.line = m[4];
      return;
    }
    case "match": {
      if (selectorMatches(spec["selector"] as string, e.labels)) {
        for (const s of spec["stages"] as Array<Record<string, unknown>>) runStage(s, e);
      }
      return;
    }
    case "json": {
      let parsed: unknown;
      try {
        parsed = JSON.parse(e.line);
      } catch {
        return; // Promtail logs the failure and leaves the entry as is
      }
      for (const [name, expr] of Object.entries(spec["expressions"] as Record<string, string>)) {
        const v = jmes(parsed, expr === "" ? name : expr);
        if (v === undefined || v === null) continue;
        e.extracted[name] = typeof v === "string" ? v : JSON.stringify(v);
      }
      return;
    }
    case "labels":
    case "structured_metadata": {
      const target = kind === "labels" ? e.labels : e.structuredMetadata;
      for (const [name, source] of Object.entries(spec as Record<string, string | null>)) {
        const v = e.extracted[source === null || source === "" ? name : source];
        if (v !== undefined && v !== "") target[name] = v;
      }
      return;
    }
    default:
      throw new Error(`stage ${kind} is not supported by the test evaluator`);
  }
}

/**
 * Runs the stages on one raw line (as the kubelet writes it) with the target labels discovery gave.
 * @returns the entry as it would be pushed to Loki.
 */
export function runPipeline(
  stages: ReadonlyArray<Record<string, unknown>>,
  rawLine: string,
  targetLabels: Record<string, string>,
): Entry {
  const e: Entry = { line: rawLine, labels: { ...targetLabels }, extracted: {}, structuredMetadata: {} };
  for (const s of stages) runStage(s, e);
  return e;
}
