/**
 * Static SQL of the queue bootstrap, kept as `.sql` files in `./sql/` (reviewable and lintable as SQL);
 * the generators interpolate only what depends on the stack (names, majors, runway).
 */
import * as fs from "fs";
import * as path from "path";

const cache = new Map<string, string>();

/**
 * The text of `./sql/<name>.sql`, without its final newline, read once.
 * @throws Error naming the file when it is missing (a packaging mistake: the files ship beside the code).
 */
export function staticSql(
  name: "ops-admin" | "partition-maintenance" | "queue-monitoring" | "dead-letters" | "idempotency",
): string {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const file = path.join(__dirname, "sql", `${name}.sql`);
  if (!fs.existsSync(file)) throw new Error(`static SQL ${file} is missing`);
  const text = fs.readFileSync(file, "utf8").replace(/\n$/, "");
  cache.set(name, text);
  return text;
}

/**
 * A SQL string literal: the one quoting function of every generator here. Single quotes are doubled; with
 * `standard_conforming_strings` on (PostgreSQL's default since 9.1, never changed by this stack) a backslash is an
 * ordinary character in '...' literals (https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-STRINGS).
 * test/postgres/conf-escaping.integration.test.ts round-trips hostile strings through a real server.
 * @throws Error for a NUL character, which no PostgreSQL text can hold.
 */
export function sqlLiteral(text: string): string {
  if (text.includes("\u0000")) throw new Error("a SQL literal cannot hold a NUL character");
  return `'${text.replace(/'/g, "''")}'`;
}
