/**
 * `npm run dashboard`: writes prod's queue dashboard (components/queue/dashboard.ts) to dashboards/ducklake-queue.json,
 * the copy kept in the repository for importing into Grafana; test/queue/dashboard.test.ts checks it is current.
 */
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig } from "../components/stack";
import { queueDashboard } from "../components/queue/dashboard";
import { ducklakeConfigOf, readStackFileConfig } from "./lib/stack-file";

const ROOT = path.resolve(__dirname, "..");

/** The committed dashboard's text: prod's, pretty-printed. */
export function committedDashboardText(): string {
  const { config } = parseStackConfig(
    ducklakeConfigOf(readStackFileConfig(path.join(ROOT, "Pulumi.prod.yaml"))).raw,
    "prod",
  );
  return `${JSON.stringify(queueDashboard(config, "prod"), null, 2)}\n`;
}

if (require.main === module) {
  const usage =
    "usage: npm run dashboard\n\nWrites prod's queue dashboard to dashboards/ducklake-queue.json (no options).";
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage);
    process.exit(0);
  }
  if (args.length > 0) {
    console.error(`dashboard: unexpected argument "${args[0]}"\n${usage.split("\n")[0]}`);
    process.exit(2);
  }
  const target = path.join(ROOT, "dashboards", "ducklake-queue.json");
  fs.writeFileSync(target, committedDashboardText());
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
