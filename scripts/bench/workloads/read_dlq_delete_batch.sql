-- Dead-letter-aware read of :batch messages (ops.read_with_dlq, installed by the queue bootstrap), then
-- delete them by id array: read_delete_batch.sql with the DLQ-aware routine, to measure its overhead.
-- Variables (pgbench -D): queue, vt (seconds), batch. Run with -M prepared.
SELECT coalesce(array_agg(msg_id), '{}') AS ids, count(*) AS n FROM ops.read_with_dlq(:queue::text, :vt::integer, :batch::integer) \gset
\if :n > 0
SELECT count(*) FROM pgmq.delete(:queue::text, :ids::bigint[]);
\endif
