/**
 * `npm run bench:keyed-send -- [--seconds N] [--trials N] [--clients N] [--major N] [--bin-dir DIR]`
 *
 * What an idempotency key costs a send (issue 21 item 5, target: within 15% of `pgmq.send`): one local PostgreSQL
 * with the dev stack's tuning fitted to this machine and its bootstrap, `--clients` producers sending single
 * messages for `--seconds`, alternating `pgmq.send` and `ops.send_idempotent` with a fresh key per message
 * (A B A B ...). Prints msgs/s and p99 per trial, the medians and their ratio. Needs a PostgreSQL with pgmq and
 * pg_partman (docs/queue.md).
 */
import { performance } from "perf_hooks";
import { Client } from "pg";
import { runCli } from "../lib/cli";
import {
  devStackConfig,
  machineLine,
  median,
  parseSideBySideArgs,
  sideBySideUsage,
  startBenchServer,
} from "./side-by-side";

const SENDS = {
  plain: (queue: string) => ({
    sql: 'SELECT pgmq.send($1, \'{"eventType":"COMPLETE"}\'::jsonb)',
    args: (_p: number, _i: number) => [queue],
  }),
  keyed: (queue: string) => ({
    sql: 'SELECT * FROM ops.send_idempotent($1, $2, \'{"eventType":"COMPLETE"}\'::jsonb)',
    args: (p: number, i: number) => [queue, `bench-${process.pid}-${Date.now()}-${p}-${i}`],
  }),
} as const;
type Mode = keyof typeof SENDS;

async function run(url: string, queue: string, mode: Mode, clients: number, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const stopAt = performance.now() + seconds * 1000;
  const send = SENDS[mode](queue);
  await Promise.all(
    Array.from({ length: clients }, async (_, p) => {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        for (let i = 0; performance.now() < stopAt; i++) {
          const t0 = performance.now();
          await c.query(send.sql, send.args(p, i));
          latencies.push(performance.now() - t0);
        }
      } finally {
        await c.end();
      }
    }),
  );
  return latencies;
}

async function main(argv: readonly string[]): Promise<number> {
  const { seconds, trials, clients, binaries } = parseSideBySideArgs(argv, 5);
  const config = devStackConfig();
  const server = await startBenchServer("keyed-send", config, binaries);
  try {
    const queue = config.queues.definitions[0]!.name;
    console.log(
      `PostgreSQL ${binaries.version}, pgmq ${server.pgmqVersion}, dev tuning; ${machineLine()}; ${clients} producers, single sends, ${seconds} s per trial`,
    );
    for (const mode of ["plain", "keyed"] as const) await run(server.url, queue, mode, clients, 1); // warm-up
    const rate: Record<Mode, number[]> = { plain: [], keyed: [] };
    const p99: Record<Mode, number[]> = { plain: [], keyed: [] };
    for (let t = 0; t < trials; t++) {
      for (const mode of ["plain", "keyed"] as const) {
        const lat = (await run(server.url, queue, mode, clients, seconds)).sort((a, b) => a - b);
        rate[mode].push(lat.length / seconds);
        p99[mode].push(lat[Math.floor(0.99 * lat.length)] ?? NaN);
        console.log(
          `  trial ${t + 1} ${mode === "plain" ? "pgmq.send          " : "ops.send_idempotent"} ${Math.round(
            lat.length / seconds,
          )
            .toLocaleString("en-US")
            .padStart(7)} msgs/s  p99 ${p99[mode][t]!.toFixed(2)} ms`,
        );
      }
    }
    const spread = (xs: number[]) =>
      `${Math.round(Math.min(...xs)).toLocaleString("en-US")}–${Math.round(Math.max(...xs)).toLocaleString("en-US")}`;
    console.log(
      `pgmq.send           median ${Math.round(median(rate.plain)).toLocaleString("en-US")} msgs/s (${spread(rate.plain)}), p99 ${median(p99.plain).toFixed(2)} ms`,
    );
    console.log(
      `ops.send_idempotent median ${Math.round(median(rate.keyed)).toLocaleString("en-US")} msgs/s (${spread(rate.keyed)}), p99 ${median(p99.keyed).toFixed(2)} ms`,
    );
    const ratio = median(rate.keyed) / median(rate.plain);
    console.log(`keyed / plain throughput ${ratio.toFixed(2)} (target >= 0.85): ${ratio >= 0.85 ? "PASS" : "FAIL"}`);
    return 0;
  } finally {
    await server.stop();
  }
}

runCli(
  "bench:keyed-send",
  `${sideBySideUsage("bench:keyed-send")}\n\nPlain pgmq.send against ops.send_idempotent, interleaved trials; prints msgs/s, p99 and the ratio.\n  e.g. npm run bench:keyed-send -- --seconds 5 --trials 3 --clients 4`,
  main,
);
