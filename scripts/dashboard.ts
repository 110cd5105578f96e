/**
 * `npm run dashboard`: writes prod's queue dashboard (components/queue/dashboard.ts) to dashboards/ducklake-queue.json,
 * the copy kept in the repository for importing into Grafana; test/queue/dashboard.test.ts checks it is current.
 */
import * as fs from "fs";
import * as path from "path";
import { parseStackConfig } from "../components/stack";
import { queueDashboard } from "../components/queue/dashboard";
import { ducklakeConfigOf, readStackFileConfig } from "./lib/stack-file";
import { parseArgs } from "util";
import { runCli, usageErrorOf } from "./lib/cli";

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
  runCli(
    "dashboard",
    "usage: npm run dashboard\n\nWrites prod's queue dashboard to dashboards/ducklake-queue.json (no options).",
    async (argv) => {
      try {
        parseArgs({ args: [...argv], options: {} });
      } catch (err) {
        throw usageErrorOf(err, []);
      }
      const target = path.join(ROOT, "dashboards", "ducklake-queue.json");
      fs.writeFileSync(target, committedDashboardText());
      console.log(`wrote ${path.relative(process.cwd(), target)}`);
    },
  );
}
