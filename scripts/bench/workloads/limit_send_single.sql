-- Physical limit of send_single (issue 18): a plain INSERT of one pool payload into ducklake_bench.limit_q, the table
-- shaped like the queue (scripts/bench/db.ts prepareLimitTable), as pgmq.send's own INSERT does without the function.
-- Variables (pgbench -D): pool. Run with -M prepared.
\set id random(1, :pool)
INSERT INTO ducklake_bench.limit_q (vt, message) SELECT clock_timestamp(), body FROM ducklake_bench.payloads WHERE id = :id RETURNING msg_id;
