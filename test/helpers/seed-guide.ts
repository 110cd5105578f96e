/**
 * Reads the seed guide itself (`../shared/seed/000_cb336c983e4e9a4b.txt` beside the project root), not a
 * copy: its ini blocks (`name = value  # comment`), the `Required Extensions` block and the
 * `ALTER TABLE ... SET (...)` block of its queue-table tuning, each with the environment it applies to.
 *
 * Which block applies where, as the guide lays it out:
 * - "Memory Configuration" and "Autovacuum Configuration" have a `#### Development` and a `#### Production` block;
 * - "I/O Optimization" and "Required Extensions" name no environment: both;
 * - "WAL and Checkpoint Tuning" names none either, but marks `wal_buffers` and `max_wal_size` "(production)":
 *   those two are production only, the rest both;
 * - "Queue-Specific Table Tuning" is one `ALTER TABLE` for both.
 */
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./stack-files";

/** Where the guide lives, relative to the project root. */
export const SEED_GUIDE_PATH = path.resolve(ROOT, "..", "shared", "seed", "000_cb336c983e4e9a4b.txt");

export type GuideEnv = "development" | "production";

/** One value the guide gives. */
export interface GuideValue {
  /** The setting or storage parameter, as the guide spells it. */
  readonly name: string;
  /** The value as written, quotes removed (`2GB`, `0.01`, `off`, `pg_partman_bgw,pg_stat_statements`). */
  readonly value: string;
  /** The environments it applies to. */
  readonly envs: readonly GuideEnv[];
  /** The guide's section heading (`Memory Configuration / Development`). */
  readonly section: string;
}

/** Everything the guide gives: postgresql.conf settings and queue-table storage parameters. */
export interface SeedGuide {
  readonly settings: readonly GuideValue[];
  readonly tableParameters: readonly GuideValue[];
}

/** The settings the guide gives for one environment, by name. */
export function guideSettingsFor(guide: SeedGuide, env: GuideEnv): Map<string, GuideValue> {
  return new Map(guide.settings.filter((v) => v.envs.includes(env)).map((v) => [v.name, v]));
}

const BOTH: readonly GuideEnv[] = ["development", "production"];

function unquote(v: string): string {
  const t = v.trim();
  return /^'.*'$/.test(t) ? t.slice(1, -1) : t;
}

/**
 * Parses the guide's text.
 * @throws Error when a block this project relies on is missing or a line cannot be read (the guide changed).
 */
export function parseSeedGuide(text: string): SeedGuide {
  const settings: GuideValue[] = [];
  const tableParameters: GuideValue[] = [];
  let h3 = "";
  let h4 = "";
  let fence: string | undefined;
  let block: string[] = [];
  const lines = text.split("\n");
  for (const line of lines) {
    if (fence === undefined) {
      const h = /^(#{2,4}) (.+)$/.exec(line);
      if (h) {
        if (h[1] === "###") {
          h3 = (h[2] ?? "").trim();
          h4 = "";
        } else if (h[1] === "####") h4 = (h[2] ?? "").trim();
        else {
          h3 = "";
          h4 = "";
        }
        continue;
      }
      const f = /^```(\w*)\s*$/.exec(line);
      if (f) {
        fence = f[1] ?? "";
        block = [];
      }
      continue;
    }
    if (/^```\s*$/.test(line)) {
      const section = h4 !== "" ? `${h3} / ${h4}` : h3;
      if (fence === "ini" || (fence === "sql" && h3 === "Required Extensions")) {
        for (const l of block) {
          const m = /^([a-z_][a-z0-9_.]*)\s*=\s*('[^']*'|[^\s#]+)\s*(?:#\s*(.*))?$/.exec(l.trim());
          if (!m) {
            if (l.trim() === "" || l.trim().startsWith("--") || l.trim().startsWith("#")) continue;
            throw new Error(`seed guide, ${section}: cannot read the line ${JSON.stringify(l)}`);
          }
          const name = m[1] as string;
          const comment = m[3] ?? "";
          let envs: readonly GuideEnv[] = BOTH;
          if (h4.startsWith("Development")) envs = ["development"];
          else if (h4.startsWith("Production")) envs = ["production"];
          else if (/\(production\)/i.test(comment)) envs = ["production"];
          settings.push({ name, value: unquote(m[2] as string), envs, section });
        }
      } else if (fence === "sql" && h3 === "Queue-Specific Table Tuning") {
        const body = block.join("\n");
        const m = /ALTER TABLE\s+\S+\s+SET\s*\(([^)]*)\)/i.exec(body);
        if (!m) throw new Error(`seed guide, ${section}: no ALTER TABLE ... SET (...) block`);
        for (const item of (m[1] as string).split(",")) {
          const kv = /^\s*([a-z_]+)\s*=\s*([^\s]+)\s*$/.exec(item);
          if (!kv) throw new Error(`seed guide, ${section}: cannot read the storage parameter ${JSON.stringify(item)}`);
          tableParameters.push({ name: kv[1] as string, value: kv[2] as string, envs: BOTH, section });
        }
      }
      fence = undefined;
      continue;
    }
    block.push(line);
  }
  if (settings.length === 0 || tableParameters.length === 0)
    throw new Error("seed guide: found no ini blocks or no queue-table ALTER TABLE block");
  return { settings, tableParameters };
}

/** The guide, read from `SEED_GUIDE_PATH`, or undefined when the file is not there. */
export function readSeedGuide(): SeedGuide | undefined {
  if (!fs.existsSync(SEED_GUIDE_PATH)) return undefined;
  return parseSeedGuide(fs.readFileSync(SEED_GUIDE_PATH, "utf8"));
}
