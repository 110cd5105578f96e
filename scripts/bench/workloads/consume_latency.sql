-- Paced-latency consumer: read :batch, record send->read latency of each message (read time minus
-- enqueued_at, ms) as one array row per read, delete them; sleep :idle_ms when the queue is empty
-- (a polling consumer's back-off). Variables (pgbench -D): queue, vt, batch, idle_ms. Run with -M prepared.
WITH r AS (SELECT msg_id, enqueued_at FROM pgmq.read(:queue::text, :vt::integer, :batch::integer)),
l AS (INSERT INTO ducklake_bench.latency (latencies_ms) SELECT array_agg(extract(epoch FROM clock_timestamp() - enqueued_at) * 1000) FROM r HAVING count(*) > 0)
SELECT coalesce(array_agg(msg_id), '{}') AS ids, count(*) AS n FROM r \gset
\if :n > 0
SELECT count(*) FROM pgmq.delete(:queue::text, :ids::bigint[]);
\else
\sleep :idle_ms ms
\endif
