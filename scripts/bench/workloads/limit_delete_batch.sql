-- Physical limit of reading and deleting (issue 18): one plain DELETE of the :batch oldest visible rows of
-- ducklake_bench.limit_q, chosen as pgmq.read chooses them (vt <= now, ORDER BY msg_id, FOR UPDATE SKIP LOCKED), in one
-- statement instead of read-then-delete. Variables (pgbench -D): batch. Run with -M prepared.
WITH d AS (
  DELETE FROM ducklake_bench.limit_q WHERE msg_id IN (
    SELECT msg_id FROM ducklake_bench.limit_q WHERE vt <= clock_timestamp() ORDER BY msg_id LIMIT :batch FOR UPDATE SKIP LOCKED)
  RETURNING *)
SELECT count(*) FROM d;
