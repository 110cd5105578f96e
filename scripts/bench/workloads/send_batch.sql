-- Batch send: one pgmq.send_batch of :batch consecutive pool payloads per transaction.
-- Variables (pgbench -D): queue, pool, batch. Run with -M prepared.
\set id random(1, :pool - :batch + 1)
\set last :id + :batch - 1
SELECT count(*) FROM pgmq.send_batch(:queue::text, ARRAY(SELECT body FROM ducklake_bench.payloads WHERE id BETWEEN :id AND :last ORDER BY id));
