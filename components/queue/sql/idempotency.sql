-- Keyed sends (issue 21 item 5): a producer that retries a send whose acknowledgement it never saw passes the same
-- idempotency key, and the message is enqueued once. The reference is Amazon SQS FIFO's message deduplication: a
-- message whose deduplication ID was sent within the 5-minute deduplication interval is accepted but not delivered
-- again (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html).

-- ops.deduplication_windows: per queue, how long a key is remembered (ducklake:queues.definitions[].
-- deduplicationWindowSeconds), written by the bootstrap; only queues listed here accept keyed sends.
CREATE TABLE IF NOT EXISTS ops.deduplication_windows (
    queue_name text PRIMARY KEY,
    window_seconds integer NOT NULL CHECK (window_seconds > 0)
);

-- ops.idempotency_keys: the keys seen within the window and the msg_id each was given. Small: the partition
-- maintenance deletes keys older than their window every period (ops.purge_idempotency_keys), so it holds about
-- (keyed sends per second) x (window + period) rows.
CREATE TABLE IF NOT EXISTS ops.idempotency_keys (
    queue_name text NOT NULL,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 512),
    msg_id bigint NOT NULL,
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (queue_name, idempotency_key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_sent_at ON ops.idempotency_keys (sent_at);

-- ops.send_idempotent(queue_name, idempotency_key, msg, headers, delay): pgmq.send with a key. The first send of a
-- key within the queue's window enqueues the message (its headers gain "idempotency_key") and returns (msg_id,
-- false); a later send of the same key within the window enqueues nothing and returns the first msg_id with
-- duplicate = true, leaving the queue's sequence alone. A new key's row is written first, with the msg_id taken from the
-- queue's sequence: a concurrent
-- send of the same key waits on it (ON CONFLICT) and then sees it, and a send that rolls back leaves no key. Definer
-- rights (the owner): the app role has no DML on the queue tables; names come from ops.deduplication_windows and
-- are quoted with %I; search_path is pinned.
CREATE OR REPLACE FUNCTION ops.send_idempotent(
    queue_name text,
    idempotency_key text,
    msg jsonb,
    headers jsonb DEFAULT NULL,
    delay integer DEFAULT 0
)
RETURNS TABLE (msg_id bigint, duplicate boolean)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_window integer;
    v_id bigint;
    v_now timestamptz := clock_timestamp();
    v_new boolean;
BEGIN
    SELECT w.window_seconds INTO v_window FROM ops.deduplication_windows w WHERE w.queue_name = send_idempotent.queue_name;
    IF v_window IS NULL THEN
        RAISE EXCEPTION 'queue "%" takes no keyed sends (not in ops.deduplication_windows)', send_idempotent.queue_name;
    END IF;
    IF send_idempotent.idempotency_key IS NULL OR length(send_idempotent.idempotency_key) NOT BETWEEN 1 AND 512 THEN
        RAISE EXCEPTION 'idempotency_key must be 1 to 512 characters';
    END IF;
    IF delay < 0 THEN
        RAISE EXCEPTION 'delay is %: it must be >= 0 seconds', delay;
    END IF;
    -- A key already sent (and committed) within the window: its msg_id, without touching the sequence, so retries are
    -- not counted as sends (the sequence is pgmq's total_messages).
    SELECT k.msg_id INTO v_id FROM ops.idempotency_keys k
     WHERE k.queue_name = send_idempotent.queue_name AND k.idempotency_key = send_idempotent.idempotency_key
       AND k.sent_at >= v_now - make_interval(secs => v_window);
    IF FOUND THEN
        msg_id := v_id;
        duplicate := true;
        RETURN NEXT;
        RETURN;
    END IF;
    -- A new key (or one whose send is still in flight in another transaction: the INSERT below waits for it).
    v_id := nextval(format('pgmq.%I', 'q_' || send_idempotent.queue_name || '_msg_id_seq')::regclass);
    INSERT INTO ops.idempotency_keys AS k (queue_name, idempotency_key, msg_id, sent_at)
    VALUES (send_idempotent.queue_name, send_idempotent.idempotency_key, v_id, v_now)
    ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO UPDATE
       SET msg_id = EXCLUDED.msg_id, sent_at = EXCLUDED.sent_at
     WHERE k.sent_at < v_now - make_interval(secs => v_window)
    RETURNING true INTO v_new;
    IF v_new IS NULL THEN
        -- sent within the window: the first send's msg_id
        SELECT k.msg_id INTO v_id FROM ops.idempotency_keys k
         WHERE k.queue_name = send_idempotent.queue_name AND k.idempotency_key = send_idempotent.idempotency_key;
        msg_id := v_id;
        duplicate := true;
        RETURN NEXT;
        RETURN;
    END IF;
    EXECUTE format(
        'INSERT INTO pgmq.%I (msg_id, vt, message, headers) OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4)',
        'q_' || send_idempotent.queue_name)
    USING v_id, v_now + make_interval(secs => delay), msg,
          CASE WHEN jsonb_typeof(headers) = 'object' THEN headers
               WHEN headers IS NULL THEN '{}'::jsonb
               ELSE jsonb_build_object('original_headers', headers) END
          || jsonb_build_object('idempotency_key', send_idempotent.idempotency_key);
    msg_id := v_id;
    duplicate := false;
    RETURN NEXT;
END
$fn$;
REVOKE ALL ON FUNCTION ops.send_idempotent(text, text, jsonb, jsonb, integer) FROM PUBLIC;
COMMENT ON FUNCTION ops.send_idempotent(text, text, jsonb, jsonb, integer) IS
    'pgmq.send with an idempotency key: a key sent again within the queue''s deduplication window enqueues nothing and returns the first msg_id (duplicate = true).';

-- ops.purge_idempotency_keys(): deletes keys older than their queue's window (at most 1,000,000 per call), run by the
-- partition maintenance; returns how many.
CREATE OR REPLACE FUNCTION ops.purge_idempotency_keys()
RETURNS bigint
LANGUAGE sql
AS $fn$
    WITH gone AS (
        DELETE FROM ops.idempotency_keys k
         WHERE (k.queue_name, k.idempotency_key) IN (
               SELECT k2.queue_name, k2.idempotency_key
                 FROM ops.idempotency_keys k2
                 LEFT JOIN ops.deduplication_windows w ON w.queue_name = k2.queue_name
                WHERE k2.sent_at < clock_timestamp() - make_interval(secs => coalesce(w.window_seconds, 0))
                LIMIT 1000000)
        RETURNING 1)
    SELECT count(*) FROM gone
$fn$;
REVOKE ALL ON FUNCTION ops.purge_idempotency_keys() FROM PUBLIC;
