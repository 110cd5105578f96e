/**
 * `npm run docs:config`: regenerates docs/configuration.md (scripts/config-reference.ts) and the stack files'
 * JSON Schema, schema/stack-config.schema.json (scripts/stack-schema.ts), from the zod schemas in config/.
 */
import * as fs from "fs";
import * as path from "path";
import { renderReference } from "./config-reference";
import { renderStackSchema, STACK_SCHEMA_PATH } from "./stack-schema";

const ROOT = path.resolve(__dirname, "..");

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(
    `usage: npm run docs:config\n\nRegenerates docs/configuration.md and ${STACK_SCHEMA_PATH} from the zod schemas in config/ and the stack files (no options).`,
  );
  process.exit(0);
}
if (args.length > 0) {
  console.error(`docs:config: unexpected argument "${args[0]}" (it takes none; --help)`);
  process.exit(2);
}
for (const [file, text] of [
  [path.join("docs", "configuration.md"), renderReference()],
  [STACK_SCHEMA_PATH, renderStackSchema()],
] as const) {
  fs.mkdirSync(path.dirname(path.join(ROOT, file)), { recursive: true });
  fs.writeFileSync(path.join(ROOT, file), text);
  console.log(`wrote ${file}`);
}
