-- Physical limit of send_batch (issue 18): one plain INSERT of :batch consecutive pool payloads into
-- ducklake_bench.limit_q, the table shaped like the queue, as pgmq.send_batch's own INSERT does without the function.
-- Variables (pgbench -D): pool, batch. Run with -M prepared.
\set id random(1, :pool - :batch + 1)
\set last :id + :batch - 1
WITH s AS (INSERT INTO ducklake_bench.limit_q (vt, message) SELECT clock_timestamp(), body FROM ducklake_bench.payloads WHERE id BETWEEN :id AND :last ORDER BY id RETURNING msg_id)
SELECT count(*) FROM s;
