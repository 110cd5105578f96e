/**
 * `npm run docs:config`: regenerates docs/configuration.md (scripts/config-reference.ts) and the stack files'
 * JSON Schema, schema/stack-config.schema.json (scripts/stack-schema.ts), from the zod schemas in config/.
 */
import * as fs from "fs";
import * as path from "path";
import { renderReference } from "./config-reference";
import { renderStackSchema, STACK_SCHEMA_PATH } from "./stack-schema";
import { parseArgs } from "util";
import { runCli, usageErrorOf } from "./lib/cli";

const ROOT = path.resolve(__dirname, "..");

runCli(
  "docs:config",
  `usage: npm run docs:config\n\nRegenerates docs/configuration.md and ${STACK_SCHEMA_PATH} from the zod schemas in config/ and the stack files (no options).`,
  async (argv) => {
    try {
      parseArgs({ args: [...argv], options: {} });
    } catch (err) {
      throw usageErrorOf(err, []);
    }
    for (const [file, text] of [
      [path.join("docs", "configuration.md"), renderReference()],
      [STACK_SCHEMA_PATH, renderStackSchema()],
    ] as const) {
      fs.mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
      fs.writeFileSync(path.join(ROOT, file), text);
      console.log(`wrote ${file}`);
    }
  },
);
