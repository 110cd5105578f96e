-- Single-message send: one pgmq.send per transaction (autocommit), payload picked server-side from the
-- pool of OpenLineage run events. Variables (pgbench -D): queue, pool. Run with -M prepared.
\set id random(1, :pool)
SELECT pgmq.send(:queue::text, body) FROM ducklake_bench.payloads WHERE id = :id;
