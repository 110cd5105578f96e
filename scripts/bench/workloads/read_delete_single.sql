-- Read one message, then delete it by id (two round trips, as a consumer does after processing).
-- Variables (pgbench -D): queue, vt (visibility timeout, seconds). Run with -M prepared.
SELECT coalesce(max(msg_id), 0) AS msg_id FROM pgmq.read(:queue::text, :vt::integer, 1) \gset
\if :msg_id > 0
SELECT pgmq.delete(:queue::text, :msg_id::bigint);
\endif
