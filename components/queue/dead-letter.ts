/**
 * The dead-letter-aware read routine. PGMQ has no dead-letter queue of its own (pgmq.read only bumps
 * `read_ct`); this module renders `ops.read_with_dlq`, which consumers call instead of `pgmq.read`.
 *
 * One transaction, and on the common path one statement, the same as `pgmq.read`'s: the batch is
 * picked and made invisible like `pgmq.read` does it (visible messages in `msg_id` order, `FOR UPDATE
 * SKIP LOCKED`, then `vt` and `read_ct + 1`; source: pgmq-extension/sql/pgmq.sql `pgmq.read`). Rows
 * that come back with `read_ct > max_deliveries` (delivered `max_deliveries` times before this read)
 * are not returned: a second statement, run only when there are such rows, deletes them from the queue
 * and inserts them into its dead-letter queue (a data-modifying CTE, so the delete and the insert are one
 * statement). The picked rows stay locked by this transaction's UPDATE until it ends, so no other
 * consumer can take a message between the two statements, and the function's statements commit or roll
 * back with the caller's transaction: one call either returns a message or moves it, never both, and
 * never loses it (https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING).
 * Delivery is at least once, as with `pgmq.read`: a consumer that holds a message past its visibility
 * timeout can see a later read by another consumer deliver it again, or dead-letter it, before its own
 * `pgmq.delete` (which then returns false); extend the timeout with `pgmq.set_vt` for long work. A read
 * that rolls back also rolls back its `read_ct + 1`, so call this in its own committed transaction, or a
 * poison message that makes the consumer's transaction fail is never counted towards the DLQ.
 *
 * Why two statements: the first version moved dead letters with DELETE and INSERT CTEs inside the
 * reading statement. Those CTEs planned and initialised a DELETE over every partition on every call,
 * dead letters or not: `npm run bench` measured it 31% slower than `pgmq.read` (PostgreSQL 15, 4
 * clients, batch 100, on the 2026-12-02 build machine); this form measured within noise of `pgmq.read`
 * (docs/bench.md, "Dead-letter-aware read").
 */

/**
 * SQL of the `ops.dead_letter_routes` table (queue -> dead-letter queue, max deliveries, retention), kept in step
 * with `ducklake:queues` by the bootstrap.
 */
export function deadLetterRoutesTableSql(): string {
  return `CREATE TABLE IF NOT EXISTS ops.dead_letter_routes (
    queue_name text PRIMARY KEY,
    dead_letter_queue text NOT NULL,
    max_deliveries integer NOT NULL CHECK (max_deliveries > 0)
);
-- Added after the first release: how long dead letters are kept (ops.purge_dead_letters).
ALTER TABLE ops.dead_letter_routes ADD COLUMN IF NOT EXISTS retention_seconds bigint NOT NULL DEFAULT 1209600 CHECK (retention_seconds > 0);
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
 * Raises when the queue has no route in `ops.dead_letter_routes`, and when the limit is below 1.
 * Needs pgmq >= 1.5.0 (the `headers` column of `pgmq.message_record`).
 *
 * The two shapes of `pgmq.message_record`: pgmq 1.5–1.9 (msg_id, read_ct, enqueued_at, vt, message, headers) and
 * pgmq >= 1.10 (`last_read_at` after `enqueued_at`, set by every read: pgmq-extension/sql/pgmq--1.9.0--1.10.0.sql).
 * The upgrade script to 1.10.0 drops the type with CASCADE, which drops `ops.read_with_dlq` too: the bootstrap
 * runs `ALTER EXTENSION pgmq UPDATE` and this in one transaction, so no consumer sees it missing.
 */
export function readWithDlqSql(): string {
  return `DO $read_with_dlq$
BEGIN
    -- the routine's RETURNING follows the installed pgmq.message_record (last_read_at since pgmq 1.10.0)
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
                WHERE attrelid = (SELECT typrelid FROM pg_catalog.pg_type WHERE oid = 'pgmq.message_record'::regtype)
                  AND attname = 'last_read_at' AND NOT attisdropped) THEN
        EXECUTE $with_last_read_at$
${readWithDlqFunctionSql(true)}
$with_last_read_at$;
    ELSE
        EXECUTE $without_last_read_at$
${readWithDlqFunctionSql(false)}
$without_last_read_at$;
    END IF;
    -- FIFO per message group (header x-pgmq-group) with dead letters: pgmq.read_grouped_head, since pgmq 1.11.1
    IF pg_catalog.to_regprocedure('pgmq.read_grouped_head(text, integer, integer)') IS NOT NULL THEN
        EXECUTE $grouped$
${readGroupedWithDlqSql()}
$grouped$;
    ELSE
        RAISE NOTICE 'pgmq % has no pgmq.read_grouped_head (pgmq >= 1.11.1): ops.read_grouped_with_dlq not created',
            (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pgmq');
    END IF;
END
$read_with_dlq$;
COMMENT ON FUNCTION ops.read_with_dlq(text, integer, integer, integer) IS
    'pgmq.read with a maximum delivery count: picked messages already read max_deliveries times move to the dead-letter queue (same transaction, rows locked throughout), the rest are returned with visibility timeout vt seconds.';`;
}

/**
 * `CREATE OR REPLACE FUNCTION ops.<name>(queue_name, vt, qty, max_deliveries)`: a read that moves messages
 * delivered `max_deliveries` times to the queue's dead-letter queue instead of returning them.
 * @param name the function's name in schema ops.
 * @param pick the loop source that picks, locks and makes invisible a batch (`FOR v_msg IN <pick> LOOP`);
 *   it may use `queue_name`, `vt` and `qty` qualified by the function's name.
 */
function dlqAwareReadSql(name: string, pick: string): string {
  return `CREATE OR REPLACE FUNCTION ops.${name}(
    queue_name text,
    vt integer,
    qty integer,
    max_deliveries integer DEFAULT NULL
)
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql
-- definer rights (the queue owner): the app role has no DML on the queue tables (docs/queue.md, "Least
-- privilege"); every name below is schema-qualified and search_path is pinned to trusted schemas.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_dlq text;
    v_max integer;
    v_msg pgmq.message_record;
    v_dead bigint[] := '{}';
BEGIN
    SELECT r.dead_letter_queue, coalesce(${name}.max_deliveries, r.max_deliveries)
      INTO v_dlq, v_max
      FROM ops.dead_letter_routes r
     WHERE r.queue_name = ${name}.queue_name;
    IF v_dlq IS NULL THEN
        RAISE EXCEPTION 'queue "%" has no dead-letter route in ops.dead_letter_routes', ${name}.queue_name;
    END IF;
    IF v_max < 1 THEN
        RAISE EXCEPTION 'max_deliveries is %: it must be at least 1 (a message must be delivered before it can be dead-lettered)', v_max;
    END IF;
    FOR v_msg IN ${pick}
    LOOP
        IF v_msg.read_ct > v_max THEN
            v_dead := v_dead || v_msg.msg_id;
        ELSE
            RETURN NEXT v_msg;
        END IF;
    END LOOP;
    -- Delivered max_deliveries times before this read: move to the dead-letter queue (rows still locked).
    IF cardinality(v_dead) > 0 THEN
        EXECUTE format(
            $sql$
            WITH dead AS (
                DELETE FROM pgmq.%1$I q
                 WHERE q.msg_id = ANY ($1)
                RETURNING q.msg_id, q.read_ct - 1 AS read_ct, q.enqueued_at, q.message, q.headers
            )
            INSERT INTO pgmq.%2$I (vt, message, headers)
            SELECT clock_timestamp(),
                   d.message,
                   CASE WHEN jsonb_typeof(d.headers) = 'object' THEN d.headers
                        WHEN d.headers IS NULL THEN '{}'::jsonb
                        ELSE jsonb_build_object('original_headers', d.headers) END
                   || jsonb_build_object('dead_letter', jsonb_build_object(
                          'source_queue', $3,
                          'source_msg_id', d.msg_id,
                          'read_ct', d.read_ct,
                          'max_deliveries', $2,
                          'enqueued_at', d.enqueued_at,
                          'dead_lettered_at', clock_timestamp()))
              FROM dead d
             ORDER BY d.msg_id
            $sql$,
            'q_' || ${name}.queue_name,
            'q_' || v_dlq)
        USING v_dead, v_max, ${name}.queue_name;
    END IF;
END
$fn$;`;
}

/**
 * `ops.read_with_dlq` for one shape of `pgmq.message_record`: pgmq.read's statement (pick, lock, make invisible,
 * count the delivery).
 * @param lastReadAt pgmq >= 1.10.0: the record has `last_read_at`, which a read sets, as `pgmq.read` does there.
 */
function readWithDlqFunctionSql(lastReadAt: boolean): string {
  return dlqAwareReadSql(
    "read_with_dlq",
    `EXECUTE format(
        $sql$
        WITH picked AS (
            SELECT msg_id
              FROM pgmq.%1$I
             WHERE vt <= clock_timestamp()
             ORDER BY msg_id
             LIMIT $1
               FOR UPDATE SKIP LOCKED
        )
        UPDATE pgmq.%1$I m
           SET vt = clock_timestamp() + make_interval(secs => $2),
               read_ct = m.read_ct + 1${lastReadAt ? ",\n               last_read_at = clock_timestamp()" : ""}
          FROM picked p
         WHERE m.msg_id = p.msg_id
        RETURNING m.msg_id, m.read_ct, m.enqueued_at, ${lastReadAt ? "m.last_read_at, " : ""}m.vt, m.message, m.headers
        $sql$,
        'q_' || read_with_dlq.queue_name)
    USING qty, vt`,
  );
}

/**
 * `ops.read_grouped_with_dlq(queue_name, vt, qty, max_deliveries)`: `pgmq.read_grouped_head` (the oldest message of
 * up to `qty` message groups, the `x-pgmq-group` header, each taken only while it is its group's oldest and visible:
 * FIFO within a group, groups in parallel; pgmq >= 1.11.1, pgmq-extension/sql/pgmq--1.11.0--1.11.1.sql) with the same
 * dead-letter rule as `ops.read_with_dlq`. A group's head that has been delivered `max_deliveries` times moves to the
 * dead-letter queue instead of blocking its group for ever: the group's next message becomes its head at the next read
 * (as an SQS FIFO queue's redrive policy does).
 * Why read_grouped_head and not read_grouped (SQS-style batches from the oldest group first): with the group index,
 * read_grouped took 250–460 ms per read of 100 at 72,000 messages in 1,000 groups, read_grouped_head 33 ms, pgmq.read
 * 3 ms (PostgreSQL 15, pgmq 1.11.1, a loaded 2-core machine, 2026-12-04; `npm run bench:fifo-read` measures it).
 * pgmq.read_grouped_head runs with the owner's rights (it is in the app's PGMQ functions), so the picked rows are
 * locked by the caller's transaction until the move.
 */
function readGroupedWithDlqSql(): string {
  return dlqAwareReadSql(
    "read_grouped_with_dlq",
    `SELECT * FROM pgmq.read_grouped_head(read_grouped_with_dlq.queue_name, read_grouped_with_dlq.vt, read_grouped_with_dlq.qty)`,
  );
}
