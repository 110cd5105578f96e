-- Dead letters an operator can act on (issue 21 item 6): redrive back to the source queue keeping their history,
-- and retention of the dead-letter queues, run by the partition-maintenance CronJob.

-- ops.redrive(dead_letter_queue, msg_ids, older_than, max_messages): moves dead letters back to the queue they came
-- from (headers.dead_letter.source_queue), as new messages (read_ct 0, visible now) with the same body. Their
-- headers keep the history: the `dead_letter` object moves into a `redrives` array, one entry per past dead-lettering,
-- with `redriven_at` and the dead letter's msg_id, so a message that fails again shows every earlier attempt.
-- Which: the ids in msg_ids, or those dead-lettered more than older_than ago, or all (both NULL), oldest first, at most
-- max_messages. A source queue is taken only if ops.dead_letter_routes routes it to this dead-letter queue: a
-- forged header cannot send a message anywhere else. Rows are locked FOR UPDATE SKIP LOCKED, so two redrives never
-- move the same dead letter. Definer rights (the owner); EXECUTE is the owner's only (an operator's action).
CREATE OR REPLACE FUNCTION ops.redrive(
    p_dead_letter_queue text,
    p_msg_ids bigint[] DEFAULT NULL,
    p_older_than interval DEFAULT NULL,
    p_max_messages integer DEFAULT NULL
)
RETURNS TABLE (dead_letter_msg_id bigint, source_queue text, msg_id bigint)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_sources text[];
    v_bad text;
BEGIN
    SELECT array_agg(r.queue_name ORDER BY r.queue_name) INTO v_sources
      FROM ops.dead_letter_routes r WHERE r.dead_letter_queue = p_dead_letter_queue;
    IF v_sources IS NULL THEN
        RAISE EXCEPTION '"%" is not a dead-letter queue in ops.dead_letter_routes', p_dead_letter_queue;
    END IF;
    IF p_max_messages IS NOT NULL AND p_max_messages < 1 THEN
        RAISE EXCEPTION 'max_messages is %: it must be at least 1', p_max_messages;
    END IF;
    -- Refuse the whole call when a selected dead letter names a source this dead-letter queue does not serve.
    EXECUTE format(
        $sql$SELECT min(coalesce(d.headers #>> '{dead_letter,source_queue}', '(none)'))
               FROM pgmq.%I d
              WHERE ($1::bigint[] IS NULL OR d.msg_id = ANY ($1))
                AND ($2::interval IS NULL OR d.enqueued_at <= clock_timestamp() - $2)
                AND coalesce(d.headers #>> '{dead_letter,source_queue}', '(none)') <> ALL ($3)$sql$,
        'q_' || p_dead_letter_queue)
    INTO v_bad
    USING p_msg_ids, p_older_than, v_sources;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'a dead letter in % names source queue %, which ops.dead_letter_routes does not route to it; nothing was redriven',
            p_dead_letter_queue, v_bad;
    END IF;
    FOREACH source_queue IN ARRAY v_sources LOOP
        RETURN QUERY EXECUTE format(
            $sql$
            WITH picked AS (
                SELECT d.msg_id
                  FROM pgmq.%1$I d
                 WHERE d.headers #>> '{dead_letter,source_queue}' = $4
                   AND ($1::bigint[] IS NULL OR d.msg_id = ANY ($1))
                   AND ($2::interval IS NULL OR d.enqueued_at <= clock_timestamp() - $2)
                 ORDER BY d.msg_id
                 LIMIT $3
                   FOR UPDATE SKIP LOCKED
            ), moved AS (
                DELETE FROM pgmq.%1$I d USING picked p
                 WHERE d.msg_id = p.msg_id
                RETURNING d.msg_id, d.message, d.headers, d.enqueued_at
            ), inserted AS (
                INSERT INTO pgmq.%2$I (vt, message, headers)
                SELECT clock_timestamp(),
                       m.message,
                       (coalesce(m.headers, '{}'::jsonb) - 'dead_letter')
                       || jsonb_build_object(
                              'redrives',
                              coalesce(m.headers -> 'redrives', '[]'::jsonb)
                              || jsonb_build_array(
                                     coalesce(m.headers -> 'dead_letter', '{}'::jsonb)
                                     || jsonb_build_object('dead_letter_msg_id', m.msg_id, 'redriven_at', clock_timestamp())))
                  FROM moved m
                 ORDER BY m.msg_id
                RETURNING msg_id, headers
            )
            SELECT (i.headers -> 'redrives' -> -1 ->> 'dead_letter_msg_id')::bigint, $4::text, i.msg_id
              FROM inserted i
             ORDER BY 1
            $sql$,
            'q_' || p_dead_letter_queue, 'q_' || source_queue)
        USING p_msg_ids, p_older_than, p_max_messages, source_queue;
    END LOOP;
END
$fn$;
REVOKE ALL ON FUNCTION ops.redrive(text, bigint[], interval, integer) FROM PUBLIC;
COMMENT ON FUNCTION ops.redrive(text, bigint[], interval, integer) IS
    'Moves dead letters (by ids, dead-lettered more than older_than ago, or all) back to their source queue as new messages, keeping their dead-letter history in headers.redrives.';

-- ops.purge_dead_letters(): deletes dead letters older than their route's retention (ops.dead_letter_routes.
-- retention_seconds, from ducklake:queues.definitions[].deadLetter.retentionHours), at most 100,000 per dead-letter
-- queue per call so one run never holds its locks long; a NOTICE per queue, and returns how many it deleted. The
-- partition-maintenance CronJob calls it after the partition sets. (An earlier form returned a row per queue: dropped.)
DO $replace$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.oid = pg_catalog.to_regprocedure('ops.purge_dead_letters()')
                  AND p.prorettype <> 'bigint'::regtype) THEN
        DROP FUNCTION ops.purge_dead_letters();
    END IF;
END
$replace$;
CREATE OR REPLACE FUNCTION ops.purge_dead_letters()
RETURNS bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
    r record;
    v_n bigint;
    v_total bigint := 0;
BEGIN
    FOR r IN SELECT d.dead_letter_queue AS dlq, min(d.retention_seconds) AS keep
               FROM ops.dead_letter_routes d GROUP BY d.dead_letter_queue ORDER BY 1 LOOP
        EXECUTE format(
            'WITH gone AS (DELETE FROM pgmq.%1$I WHERE msg_id IN (
                 SELECT msg_id FROM pgmq.%1$I WHERE enqueued_at < clock_timestamp() - make_interval(secs => $1)
                  ORDER BY msg_id LIMIT 100000) RETURNING 1)
             SELECT count(*) FROM gone', 'q_' || r.dlq)
        INTO v_n
        USING r.keep;
        IF v_n > 0 THEN
            RAISE NOTICE '%: % dead letters past their retention deleted', r.dlq, v_n;
        END IF;
        v_total := v_total + v_n;
    END LOOP;
    RETURN v_total;
END
$fn$;
REVOKE ALL ON FUNCTION ops.purge_dead_letters() FROM PUBLIC;
