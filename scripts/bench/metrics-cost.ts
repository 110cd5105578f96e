/**
 * `npm run bench:metrics-cost -- [--rows N] [--trials N] [--major N] [--bin-dir DIR]`
 *
 * What one scrape of the queue metrics costs on a deep queue, side by side: the bounded queries the
 * bootstrap installs now (`ops.queue_depth()`, `ops.stuck_message_counts()`, `ops.default_partition_rows()`,
 * components/queue/monitoring.ts) against the unbounded ones of the release before (whole-table counts,
 * reproduced below verbatim), on one local PostgreSQL with pgmq and pg_partman, the dev stack's bootstrap,
 * and a queue of `--rows` messages (default 10,000,000: consumers down for about half an hour at dev's
 * peak). CloudNativePG runs every metrics query on every scrape (it does not implement `cache_seconds`),
 * so this is the cost per scrape. Trials alternate old and new (A B A B ...); the report prints each
 * trial, the medians and their ratio; then the bounded scrape again with the oldest `METRICS_EXACT_COUNT_LIMIT` + 1
 * messages read and in flight (the worst case of `oldest_unread_wait_seconds`). Needs a PostgreSQL with pgmq and pg_partman (docs/queue.md).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { parseArgs } from "util";
import { runCli, UsageError, usageErrorOf } from "../lib/cli";
import { Client } from "pg";
import { parseStackConfig } from "../../components/stack";
import { bootstrapSqlInputOf, generateBootstrapSql } from "../../components/queue/bootstrap-sql";
import { METRICS_EXACT_COUNT_LIMIT, OLDEST_UNREAD_VT_FORMAT } from "../../components/queue/monitoring";
import { ducklakeConfigOf, readStackFileConfig } from "../lib/stack-file";
import { extensionAvailable, findPostgresBinaries, freeLoopbackPort, startLocalPostgres } from "../lib/local-postgres";

/** The queue metrics queries of the release before the bounded ones (git show d5fd734:components/queue/...). */
const UNBOUNDED_SQL = `
CREATE SCHEMA IF NOT EXISTS bench_old;
CREATE OR REPLACE FUNCTION bench_old.queue_depth()
RETURNS TABLE (queue_name text, queue_length bigint, visible_messages bigint, oldest_message_age_seconds double precision, newest_message_age_seconds double precision, total_messages_sent bigint)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE v_queue text;
BEGIN
    FOR v_queue IN SELECT m.queue_name::text FROM pgmq.meta m ORDER BY m.queue_name LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, count(*), count(*) FILTER (WHERE vt <= now()),
                    coalesce(extract(epoch FROM now() - min(enqueued_at))::double precision, 0),
                    coalesce(extract(epoch FROM now() - max(enqueued_at))::double precision, 0),
                    (SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END FROM pgmq.%I s)
               FROM pgmq.%I', v_queue, 'q_' || v_queue || '_msg_id_seq', 'q_' || v_queue);
    END LOOP;
END $fn$;
CREATE OR REPLACE FUNCTION bench_old.stuck_message_counts()
RETURNS TABLE (queue_name text, redelivered_messages bigint, max_read_ct integer)
LANGUAGE plpgsql STABLE AS $fn$
DECLARE v_queue text;
BEGIN
    FOR v_queue IN SELECT m.queue_name::text FROM pgmq.meta m ORDER BY 1 LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, count(*) FILTER (WHERE read_ct >= 2), coalesce(max(read_ct), 0) FROM pgmq.%I',
            v_queue, 'q_' || v_queue);
    END LOOP;
END $fn$;`;

const SCRAPES = {
  unbounded: ["SELECT * FROM bench_old.queue_depth()", "SELECT * FROM bench_old.stuck_message_counts()"],
  bounded: ["SELECT * FROM ops.queue_depth()", "SELECT * FROM ops.stuck_message_counts()"],
} as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function scrape(client: Client, statements: readonly string[]): Promise<number> {
  const t0 = performance.now();
  for (const sql of statements) await client.query(sql);
  return performance.now() - t0;
}

const OPTIONS = {
  rows: { type: "string", default: "10000000" },
  trials: { type: "string", default: "5" },
  major: { type: "string", default: "15" },
  "bin-dir": { type: "string" },
} as const;

const HELP =
  "usage: npm run bench:metrics-cost -- [--rows N] [--trials N] [--major N] [--bin-dir DIR]\n" +
  "  e.g. npm run bench:metrics-cost -- --rows 10000000 --trials 5";

async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS }));
  } catch (err) {
    throw usageErrorOf(err, Object.keys(OPTIONS));
  }
  const rows = Number(values.rows);
  const trials = Number(values.trials);
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(trials) || trials < 1) {
    throw new UsageError(`--rows and --trials must be positive integers (got ${values.rows}, ${values.trials})`);
  }
  const binaries = findPostgresBinaries(Number(values.major), values["bin-dir"]);
  for (const ext of ["pgmq", "pg_partman"]) {
    if (!extensionAvailable(binaries, ext)) {
      console.error(
        `${ext} is not installed for PostgreSQL ${binaries.version} (${binaries.sharedir}/extension; see docs/queue.md)`,
      );
      return 1;
    }
  }
  const { config } = parseStackConfig(
    ducklakeConfigOf(readStackFileConfig(path.join(__dirname, "..", "..", "Pulumi.dev.yaml"))).raw,
    "dev",
  );
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "ducklake-metrics-cost-"));
  const pg = await startLocalPostgres({
    binaries,
    dataDir,
    port: await freeLoopbackPort(),
    database: config.postgres.database,
    postgresqlConf: "shared_preload_libraries = 'pg_stat_statements'\nshared_buffers = '1GB'",
  });
  const client = new Client({ connectionString: pg.url() });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query(generateBootstrapSql(bootstrapSqlInputOf(config, { majorVersion: binaries.major })));
    await client.query("COMMIT");
    await client.query(UNBOUNDED_SQL);
    const queue = config.queues.definitions[0]!.name;
    const t0 = performance.now();
    for (let done = 0; done < rows; done += 1_000_000) {
      const n = Math.min(1_000_000, rows - done);
      await client.query(
        `INSERT INTO pgmq.${"q_" + queue} (vt, message) SELECT now(), '{"eventType":"COMPLETE"}'::jsonb FROM generate_series(1, $1)`,
        [n],
      );
    }
    await client.query(`VACUUM ANALYZE pgmq.${"q_" + queue}`);
    console.log(
      `PostgreSQL ${binaries.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}; ` +
        `queue ${queue} filled with ${rows.toLocaleString("en-US")} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    // oldest_unread_wait_seconds' statement alone, as ops.queue_depth() runs it on the queue table
    const unreadWait = OLDEST_UNREAD_VT_FORMAT.replace("%I", `q_${queue}`).replace(
      "%s",
      String(METRICS_EXACT_COUNT_LIMIT + 1),
    );
    const unreadWaitMs = async (): Promise<number[]> => {
      await scrape(client, [unreadWait]);
      const xs: number[] = [];
      for (let t = 0; t < trials; t++) xs.push(await scrape(client, [unreadWait]));
      return xs;
    };
    const stats = (xs: number[]) =>
      `median ${median(xs).toFixed(1)} ms, min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}`;
    const unreadHeadUnread = await unreadWaitMs();
    const times: Record<keyof typeof SCRAPES, number[]> = { unbounded: [], bounded: [] };
    // one warm-up scrape each, then A B A B ...
    for (const k of ["unbounded", "bounded"] as const) await scrape(client, SCRAPES[k]);
    for (let t = 0; t < trials; t++) {
      const order: ReadonlyArray<keyof typeof SCRAPES> =
        t % 2 === 0 ? ["unbounded", "bounded"] : ["bounded", "unbounded"];
      for (const k of order) {
        times[k].push(await scrape(client, SCRAPES[k]));
      }
    }
    // The unread wait's worst case: the METRICS_EXACT_COUNT_LIMIT + 1 oldest messages all read and invisible (being
    // processed), so its statement walks its whole bound and finds no unread message there.
    await client.query(
      `UPDATE pgmq.${"q_" + queue} SET read_ct = 1, vt = now() + interval '1 hour' WHERE msg_id <= $1`,
      [METRICS_EXACT_COUNT_LIMIT + 1],
    );
    await client.query(`VACUUM ANALYZE pgmq.${"q_" + queue}`);
    await scrape(client, SCRAPES.bounded);
    const headRead: number[] = [];
    for (let t = 0; t < trials; t++) headRead.push(await scrape(client, SCRAPES.bounded));
    const unreadHeadRead = await unreadWaitMs();
    const depth = await client.query(
      "SELECT queue_name, queue_length, counts_exact, oldest_unread_wait_seconds FROM ops.queue_depth() ORDER BY 1",
    );
    for (const k of ["unbounded", "bounded"] as const) {
      const xs = times[k];
      console.log(
        `${k.padEnd(9)} scrape (queue_depth + stuck_message_counts): median ${median(xs).toFixed(1)} ms, min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)} (${xs.map((x) => x.toFixed(0)).join(", ")})`,
      );
    }
    console.log(`ratio unbounded / bounded (medians): ${(median(times.unbounded) / median(times.bounded)).toFixed(1)}`);
    console.log(`oldest_unread_wait_seconds' statement alone, every message unread: ${stats(unreadHeadUnread)}`);
    console.log(
      `with the ${(METRICS_EXACT_COUNT_LIMIT + 1).toLocaleString("en-US")} oldest messages in flight (the unread wait walks its whole bound): bounded scrape ${stats(headRead)}; the statement alone ${stats(unreadHeadRead)}`,
    );
    console.log(
      `bounded queue_depth reports: ${depth.rows.map((r) => `${r.queue_name} ${r.queue_length} (exact ${r.counts_exact}, unread wait ${Number(r.oldest_unread_wait_seconds).toFixed(1)} s)`).join(", ")}`,
    );
  } finally {
    await client.end();
    await pg.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return 0;
}

runCli("bench:metrics-cost", HELP, main);
