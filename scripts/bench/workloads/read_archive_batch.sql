-- Read :batch messages, then archive them (moved to pgmq.a_<queue>) by id array (two round trips).
-- Variables (pgbench -D): queue, vt (seconds), batch. Run with -M prepared.
SELECT coalesce(array_agg(msg_id), '{}') AS ids, count(*) AS n FROM pgmq.read(:queue::text, :vt::integer, :batch::integer) \gset
\if :n > 0
SELECT count(*) FROM pgmq.archive(:queue::text, :ids::bigint[]);
\endif
