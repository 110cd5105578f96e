-- Physical limit of a batch consumer beside producers (produce_consume, produce_consume_batch): limit_delete_batch.sql,
-- sleeping :idle_ms when the table is empty, as consume_batch.sql does. Variables (pgbench -D): batch, idle_ms.
-- Run with -M prepared.
WITH d AS (
  DELETE FROM ducklake_bench.limit_q WHERE msg_id IN (
    SELECT msg_id FROM ducklake_bench.limit_q WHERE vt <= clock_timestamp() ORDER BY msg_id LIMIT :batch FOR UPDATE SKIP LOCKED)
  RETURNING *)
SELECT count(*) AS n FROM d \gset
\if :n = 0
\sleep :idle_ms ms
\endif
