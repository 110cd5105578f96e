-- Batch consumer beside producers (produce_consume): read :batch, delete them by id array; sleep :idle_ms
-- when the queue is empty (a polling consumer's back-off, so idle consumers do not spin).
-- Variables (pgbench -D): queue, vt (seconds), batch, idle_ms. Run with -M prepared.
SELECT coalesce(array_agg(msg_id), '{}') AS ids, count(*) AS n FROM pgmq.read(:queue::text, :vt::integer, :batch::integer) \gset
\if :n > 0
SELECT count(*) FROM pgmq.delete(:queue::text, :ids::bigint[]);
\else
\sleep :idle_ms ms
\endif
