/**
 * `npm run bench:fifo-read -- [--seconds N] [--trials N] [--clients N] [--major N] [--bin-dir DIR]`
 *
 * What FIFO per job costs a consumer (issue 22): `ops.read_grouped_with_dlq` (pgmq.read_grouped_head, FIFO within each
 * `x-pgmq-group`) against `ops.read_with_dlq` (pgmq.read's order, no grouping), both with the dead-letter rule. One
 * local PostgreSQL with the dev stack's tuning fitted to this machine and its bootstrap; before every trial the queue
 * is purged and refilled with the same messages, spread round-robin over GROUPS (1,000) groups, one per OpenLineage job; then
 * `--clients` consumers read batches of 100 and delete them in one transaction each, for `--seconds`. Modes alternate
 * (A B A B ...). Then what the group index costs producers: single sends with a group header, index dropped and built
 * in turn. Prints msgs/s per trial, the medians with their spread, and the ratios. Needs pgmq >= 1.11.1 (docs/queue.md,
 * "PGMQ versions and upgrades"): e.g. `--bin-dir /opt/pg15-pgmq1.11.1/usr/lib/postgresql/15/bin`.
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

const BATCH = 100;
/** Message groups (jobs) the messages are spread over. */
const GROUPS = 1000;
const READS = {
  plain: "ops.read_with_dlq",
  grouped: "ops.read_grouped_with_dlq",
} as const;
type Mode = keyof typeof READS;

/** Purges the queue and sends `count` messages, message i in group `ns/job-(i mod groups)`. */
async function refill(admin: Client, queue: string, count: number, groups: number): Promise<void> {
  await admin.query("SELECT pgmq.purge_queue($1)", [queue]);
  for (let from = 0; from < count; from += 5000) {
    await admin.query(
      `SELECT pgmq.send_batch($1,
              (SELECT array_agg(jsonb_build_object('eventType', 'COMPLETE', 'i', g) ORDER BY g) FROM generate_series($2::int, $3::int) g),
              (SELECT array_agg(jsonb_build_object('x-pgmq-group', 'ns/job-' || (g % $4::int)) ORDER BY g) FROM generate_series($2::int, $3::int) g))`,
      [queue, from, Math.min(from + 5000, count) - 1, groups],
    );
  }
  await admin.query(`ANALYZE pgmq.q_${queue}`);
}

/** `clients` consumers reading and deleting batches for `seconds` (or until the queue is empty): msgs/s. */
async function consume(url: string, queue: string, mode: Mode, clients: number, seconds: number): Promise<number> {
  let consumed = 0;
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        let empty = 0;
        while (performance.now() < stopAt && empty < 3) {
          await c.query("BEGIN");
          const got = await c.query(`SELECT msg_id FROM ${READS[mode]}($1, 30, $2)`, [queue, BATCH]);
          if (got.rows.length > 0)
            await c.query("SELECT pgmq.delete($1, $2::bigint[])", [queue, got.rows.map((r) => r.msg_id)]);
          await c.query("COMMIT");
          consumed += got.rows.length;
          empty = got.rows.length === 0 ? empty + 1 : 0;
        }
      } finally {
        await c.end();
      }
    }),
  );
  return consumed / ((performance.now() - t0) / 1000);
}

/** `clients` producers sending single messages with a group header (1,000 jobs) for `seconds`: msgs/s. */
async function produce(url: string, queue: string, clients: number, seconds: number): Promise<number> {
  let sent = 0;
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, p) => {
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        for (let i = 0; performance.now() < stopAt; i++) {
          await c.query(
            `SELECT pgmq.send($1, '{"eventType":"COMPLETE"}'::jsonb, jsonb_build_object('x-pgmq-group', $2::text))`,
            [queue, `ns/job-${(p * 7919 + i) % GROUPS}`],
          );
          sent++;
        }
      } finally {
        await c.end();
      }
    }),
  );
  return sent / ((performance.now() - t0) / 1000);
}

async function main(argv: readonly string[]): Promise<number> {
  const { seconds, trials, clients, binaries } = parseSideBySideArgs(argv, 5);
  const dev = devStackConfig();
  // the first queue with fifoGroups on: its group index, what a stack using FIFO per job deploys
  const config = {
    ...dev,
    queues: {
      ...dev.queues,
      definitions: dev.queues.definitions.map((q, i) => (i === 0 ? { ...q, fifoGroups: true } : q)),
    },
  };
  const server = await startBenchServer("fifo-read", config, binaries);
  const version = server.pgmqVersion;
  try {
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    const grouped = await admin.query(
      "SELECT to_regprocedure('ops.read_grouped_with_dlq(text, integer, integer, integer)') IS NOT NULL AS f",
    );
    if (!grouped.rows[0].f) {
      await admin.end();
      throw new Error(
        `pgmq ${version} on ${binaries.binDir} has no pgmq.read_grouped_head (pgmq >= 1.11.1), so no ops.read_grouped_with_dlq: pass --bin-dir of a newer installation (docs/queue.md, "PGMQ versions and upgrades")`,
      );
    }
    const queue = config.queues.definitions[0]!.name;
    const fill = Math.max(20_000, clients * seconds * 12_000);
    console.log(
      `PostgreSQL ${binaries.version}, pgmq ${version}, dev tuning; ${machineLine()}; ${clients} consumers, batches of ${BATCH}, ${fill.toLocaleString("en-US")} messages in ${GROUPS} groups, ${seconds} s per trial`,
    );
    const rate: Record<Mode, number[]> = { plain: [], grouped: [] };
    for (let t = 0; t < trials; t++) {
      for (const mode of ["plain", "grouped"] as const) {
        await refill(admin, queue, fill, GROUPS);
        rate[mode].push(await consume(server.url, queue, mode, clients, seconds));
        console.log(
          `  trial ${t + 1} ${READS[mode].padEnd(26)} ${Math.round(rate[mode][t]!).toLocaleString("en-US").padStart(7)} msgs/s`,
        );
      }
    }
    // What the group index costs a producer: single sends with a group header, index dropped (A) and built (B).
    const sendRate: Record<"without" | "with", number[]> = { without: [], with: [] };
    for (let t = 0; t < trials; t++) {
      for (const mode of ["without", "with"] as const) {
        await admin.query("SELECT pgmq.purge_queue($1)", [queue]);
        await admin.query(
          mode === "with"
            ? `CREATE INDEX IF NOT EXISTS q_${queue}_group_idx ON pgmq.q_${queue} ((COALESCE(headers->>'x-pgmq-group', '_default_fifo_group')), msg_id)`
            : `DROP INDEX IF EXISTS pgmq.q_${queue}_group_idx`,
        );
        sendRate[mode].push(await produce(server.url, queue, clients, seconds));
        console.log(
          `  trial ${t + 1} pgmq.send ${mode.padEnd(7)} the group index ${Math.round(sendRate[mode][t]!).toLocaleString("en-US").padStart(7)} msgs/s`,
        );
      }
    }
    await admin.end();
    const spread = (xs: number[]) =>
      `${Math.round(Math.min(...xs)).toLocaleString("en-US")}–${Math.round(Math.max(...xs)).toLocaleString("en-US")}`;
    for (const mode of ["plain", "grouped"] as const)
      console.log(
        `${READS[mode].padEnd(26)} median ${Math.round(median(rate[mode])).toLocaleString("en-US")} msgs/s (${spread(rate[mode])})`,
      );
    console.log(`grouped / plain throughput ${(median(rate.grouped) / median(rate.plain)).toFixed(2)}`);
    for (const mode of ["without", "with"] as const)
      console.log(
        `pgmq.send ${mode.padEnd(7)} the group index median ${Math.round(median(sendRate[mode])).toLocaleString("en-US")} msgs/s (${spread(sendRate[mode])})`,
      );
    console.log(`send with / without the group index ${(median(sendRate.with) / median(sendRate.without)).toFixed(2)}`);
    return 0;
  } finally {
    await server.stop();
  }
}

runCli(
  "bench:fifo-read",
  `${sideBySideUsage("bench:fifo-read")}\n\nops.read_with_dlq against ops.read_grouped_with_dlq (FIFO per x-pgmq-group), interleaved trials on the same refilled queue; prints msgs/s and the ratio. Needs pgmq >= 1.11.1.\n  e.g. npm run bench:fifo-read -- --bin-dir /opt/pg15-pgmq1.11.1/usr/lib/postgresql/15/bin --seconds 5 --trials 3 --clients 2`,
  main,
);
