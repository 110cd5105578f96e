/**
 * The dead-letter-aware read routine. PGMQ has no dead-letter queue of its own (pgmq.read only bumps
 * `read_ct`); this module renders `ops.read_with_dlq`, which consumers call instead of `pgmq.read`.
 *
 * One statement, one transaction: the batch is picked like `pgmq.read` picks it (visible messages in
 * `msg_id` order, `FOR UPDATE SKIP LOCKED`, source: pgmq-extension/sql/pgmq.sql `pgmq.read`); picked
 * messages already delivered `max_deliveries` times are deleted from the queue and inserted into its
 * dead-letter queue by data-modifying CTEs of that same statement, the rest get the visibility timeout
 * and are returned. A message is therefore either returned, or moved, never both and never lost: the
 * delete and the insert commit or roll back together
 * (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING: data-modifying
 * statements in WITH run exactly once, to completion, whether or not the main query reads them).
 */

/**
 * SQL of the `ops.dead_letter_routes` table (queue -> dead-letter queue, max deliveries), kept in step
 * with `ducklake:queues` by the bootstrap.
 */
export function deadLetterRoutesTableSql(): string {
  return `CREATE TABLE IF NOT EXISTS ops.dead_letter_routes (
    queue_name text PRIMARY KEY,
    dead_letter_queue text NOT NULL,
    max_deliveries integer NOT NULL CHECK (max_deliveries > 0)
);
COMMENT ON TABLE ops.dead_letter_routes IS 'Dead-letter routing per queue, written by the queue bootstrap from ducklake:queues (do not edit by hand).';`;
}

/**
 * SQL of `ops.read_with_dlq(queue_name text, vt integer, qty integer, max_deliveries integer DEFAULT
 * NULL) RETURNS SETOF pgmq.message_record`.
 * - `vt`: visibility timeout in seconds for the returned messages (as in `pgmq.read`).
 * - `qty`: batch size; messages moved to the dead-letter queue count against it, so a batch can return
 *   fewer rows than `qty` while visible messages remain.
 * - `max_deliveries`: deliveries allowed before a message is dead-lettered; NULL takes the queue's
 *   route (`ducklake:queues.definitions[].deadLetter.maxDeliveries`). A message with `read_ct >=
 *   max_deliveries` when picked moves; so after N reads the next read moves it.
 * The dead letter keeps the original `message` unchanged; its `headers` are the original headers (an
 * object; other JSON is kept under `original_headers`) plus `dead_letter`: `source_queue`,
 * `source_msg_id`, `read_ct`, `max_deliveries`, `enqueued_at`, `dead_lettered_at`.
 * Raises when the queue has no route in `ops.dead_letter_routes`.
 * Needs pgmq >= 1.5.0 (the `headers` column of `pgmq.message_record`).
 */
export function readWithDlqSql(): string {
  return `CREATE OR REPLACE FUNCTION ops.read_with_dlq(
    queue_name text,
    vt integer,
    qty integer,
    max_deliveries integer DEFAULT NULL
)
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_dlq text;
    v_max integer;
BEGIN
    SELECT r.dead_letter_queue, coalesce(read_with_dlq.max_deliveries, r.max_deliveries)
      INTO v_dlq, v_max
      FROM ops.dead_letter_routes r
     WHERE r.queue_name = read_with_dlq.queue_name;
    IF v_dlq IS NULL THEN
        RAISE EXCEPTION 'queue "%" has no dead-letter route in ops.dead_letter_routes', read_with_dlq.queue_name;
    END IF;
    RETURN QUERY EXECUTE format(
        $sql$
        WITH picked AS (
            SELECT msg_id, read_ct
              FROM pgmq.%1$I
             WHERE vt <= clock_timestamp()
             ORDER BY msg_id
             LIMIT $1
               FOR UPDATE SKIP LOCKED
        ), dead AS (
            DELETE FROM pgmq.%1$I q
             USING picked p
             WHERE q.msg_id = p.msg_id
               AND p.read_ct >= $3
            RETURNING q.msg_id, q.read_ct, q.enqueued_at, q.message, q.headers
        ), moved AS (
            INSERT INTO pgmq.%2$I (vt, message, headers)
            SELECT clock_timestamp(),
                   d.message,
                   CASE WHEN jsonb_typeof(d.headers) = 'object' THEN d.headers
                        WHEN d.headers IS NULL THEN '{}'::jsonb
                        ELSE jsonb_build_object('original_headers', d.headers) END
                   || jsonb_build_object('dead_letter', jsonb_build_object(
                          'source_queue', $4,
                          'source_msg_id', d.msg_id,
                          'read_ct', d.read_ct,
                          'max_deliveries', $3,
                          'enqueued_at', d.enqueued_at,
                          'dead_lettered_at', clock_timestamp()))
              FROM dead d
             ORDER BY d.msg_id
            RETURNING msg_id
        )
        UPDATE pgmq.%1$I m
           SET vt = clock_timestamp() + make_interval(secs => $2),
               read_ct = m.read_ct + 1
          FROM picked p
         WHERE m.msg_id = p.msg_id
           AND p.read_ct < $3
        RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers
        $sql$,
        'q_' || read_with_dlq.queue_name,
        'q_' || v_dlq)
    USING qty, vt, v_max, read_with_dlq.queue_name;
END
$fn$;
COMMENT ON FUNCTION ops.read_with_dlq(text, integer, integer, integer) IS
    'pgmq.read with a maximum delivery count: picked messages already read max_deliveries times move to the dead-letter queue (same statement), the rest are returned with visibility timeout vt seconds.';`;
}
