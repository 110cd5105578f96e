-- ops.metrics_count_limit(): rows a queue-table metric counts at most per queue (METRICS_EXACT_COUNT_LIMIT
-- in components/queue/monitoring.ts): CloudNativePG runs every metrics query on every scrape.
CREATE OR REPLACE FUNCTION ops.metrics_count_limit() RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT @@METRICS_EXACT_COUNT_LIMIT@@::bigint';

-- ops.dead_letter_depth(): per routed queue, messages in its dead-letter queue (counted up to
-- ops.metrics_count_limit() + 1), the newest and the oldest one's age (one row each through the msg_id index).
-- Dropped first when an older release made it without the oldest age (its result columns cannot change in place).
DO $replace$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.oid = pg_catalog.to_regprocedure('ops.dead_letter_depth()')
                  AND NOT ('oldest_dead_letter_age_seconds' = ANY (p.proargnames))) THEN
        DROP FUNCTION ops.dead_letter_depth();
    END IF;
END
$replace$;
CREATE OR REPLACE FUNCTION ops.dead_letter_depth()
RETURNS TABLE (queue_name text, dead_letter_queue text, dead_letters bigint, newest_dead_letter_age_seconds double precision, oldest_dead_letter_age_seconds double precision)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT d.queue_name, d.dead_letter_queue FROM ops.dead_letter_routes d ORDER BY d.queue_name LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, %L::text,
                    (SELECT count(*) FROM (SELECT 1 FROM pgmq.%I LIMIT %s) x),
                    coalesce((SELECT extract(epoch FROM now() - enqueued_at)::double precision FROM pgmq.%I ORDER BY msg_id DESC LIMIT 1), 0),
                    coalesce((SELECT extract(epoch FROM now() - enqueued_at)::double precision FROM pgmq.%I ORDER BY msg_id LIMIT 1), 0)',
            r.queue_name, r.dead_letter_queue, 'q_' || r.dead_letter_queue, ops.metrics_count_limit() + 1,
            'q_' || r.dead_letter_queue, 'q_' || r.dead_letter_queue);
    END LOOP;
END
$fn$;

-- ops.dead_letter_newest(p_limit): the newest dead letters of every dead-letter queue, with their origin.
CREATE OR REPLACE FUNCTION ops.dead_letter_newest(p_limit integer DEFAULT 20)
RETURNS TABLE (dead_letter_queue text, msg_id bigint, dead_lettered_at timestamptz, source_queue text, source_msg_id bigint, read_ct integer, message jsonb)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_dlq text;
BEGIN
    FOR v_dlq IN SELECT DISTINCT d.dead_letter_queue FROM ops.dead_letter_routes d ORDER BY 1 LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, msg_id, enqueued_at,
                    headers #>> ''{dead_letter,source_queue}'',
                    (headers #>> ''{dead_letter,source_msg_id}'')::bigint,
                    (headers #>> ''{dead_letter,read_ct}'')::integer,
                    message
               FROM pgmq.%I ORDER BY msg_id DESC LIMIT $1', v_dlq, 'q_' || v_dlq)
        USING p_limit;
    END LOOP;
END
$fn$;

-- ops.stuck_messages(p_min_read_ct): messages read at least p_min_read_ct times (default: 2, or
-- max_deliveries - 1 for routed queues when lower), oldest first.
CREATE OR REPLACE FUNCTION ops.stuck_messages(p_min_read_ct integer DEFAULT NULL, p_limit integer DEFAULT 100)
RETURNS TABLE (queue_name text, msg_id bigint, read_ct integer, enqueued_at timestamptz, vt timestamptz)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT m.queue_name::text AS queue_name,
               coalesce(p_min_read_ct, greatest(least(2, d.max_deliveries - 1), 1), 2) AS min_read_ct
          FROM pgmq.meta m
          LEFT JOIN ops.dead_letter_routes d ON d.queue_name = m.queue_name
         ORDER BY 1
    LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, msg_id, read_ct, enqueued_at, vt FROM pgmq.%I WHERE read_ct >= $1 ORDER BY msg_id LIMIT $2',
            r.queue_name, 'q_' || r.queue_name)
        USING r.min_read_ct, p_limit;
    END LOOP;
END
$fn$;

-- ops.stuck_message_counts(): per queue, among its oldest ops.metrics_count_limit() messages (by msg_id,
-- where redelivered messages sit), those read at least twice and the highest read count.
CREATE OR REPLACE FUNCTION ops.stuck_message_counts()
RETURNS TABLE (queue_name text, redelivered_messages bigint, max_read_ct integer)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_queue text;
BEGIN
    FOR v_queue IN SELECT m.queue_name::text FROM pgmq.meta m ORDER BY 1 LOOP
        RETURN QUERY EXECUTE format(
            'SELECT %L::text, count(*) FILTER (WHERE read_ct >= 2), coalesce(max(read_ct), 0)
               FROM (SELECT read_ct FROM pgmq.%I ORDER BY msg_id LIMIT %s) x',
            v_queue, 'q_' || v_queue, ops.metrics_count_limit());
    END LOOP;
END
$fn$;

-- ops.default_partition_rows(): rows in the default partition of every partitioned PGMQ table, counted
-- up to ops.metrics_count_limit() + 1 (must stay 0: rows there mean the partition runway was overrun;
-- the next partition maintenance moves them out).
CREATE OR REPLACE FUNCTION ops.default_partition_rows()
RETURNS TABLE (parent_table text, default_partition text, row_count bigint)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.partrelid::regclass::text AS parent, p.partdefid::regclass AS def
          FROM pg_catalog.pg_partitioned_table p
          JOIN pg_catalog.pg_class c ON c.oid = p.partrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'pgmq' AND p.partdefid <> 0
         ORDER BY 1
    LOOP
        RETURN QUERY EXECUTE format('SELECT %L::text, %L::text, count(*) FROM (SELECT 1 FROM %s LIMIT %s) x', r.parent, r.def::text, r.def, ops.metrics_count_limit() + 1);
    END LOOP;
END
$fn$;

-- ops.partition_runway(): per partitioned PGMQ table, the newest msg_id handed out, the upper bound of
-- the highest partition, and the messages left before rows would land in the default partition.
CREATE OR REPLACE FUNCTION ops.partition_runway()
RETURNS TABLE (parent_table text, last_msg_id bigint, partition_upper_bound bigint, runway_messages bigint, partition_interval bigint, premake integer)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    r record;
    v_last bigint;
    v_upper bigint;
BEGIN
    FOR r IN
        SELECT pc.parent_table, pc.partition_interval::bigint AS step, pc.premake,
               'q_' || substr(split_part(pc.parent_table, '.', 2), 3) AS qtable
          FROM partman.part_config pc
         WHERE pc.parent_table LIKE 'pgmq.%' AND pc.control = 'msg_id'
         ORDER BY 1
    LOOP
        -- the bounds parsed once, by ops.partition_bounds (partition-maintenance.sql)
        SELECT max(b.upper_bound) INTO v_upper FROM ops.partition_bounds(r.parent_table::regclass) b;
        -- The queue table's identity sequence numbers both the queue and its archive.
        EXECUTE format('SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM pgmq.%I', r.qtable || '_msg_id_seq') INTO v_last;
        parent_table := r.parent_table;
        last_msg_id := v_last;
        partition_upper_bound := v_upper;
        runway_messages := v_upper - 1 - v_last;
        partition_interval := r.step;
        premake := r.premake;
        RETURN NEXT;
    END LOOP;
END
$fn$;

-- ops.archive_size(): per queue, its archive: rows (counted up to ops.metrics_count_limit() + 1), the oldest and
-- newest archived msg_id (one row each through the index), partitions and bytes on disk (the partitions' relation
-- sizes, from the catalog). Retention keeps it bounded: partitions below (last msg_id - retentionMessages) are
-- dropped by the partition maintenance.
CREATE OR REPLACE FUNCTION ops.archive_size()
RETURNS TABLE (queue_name text, archived_messages bigint, oldest_archived_msg_id bigint, newest_archived_msg_id bigint, partitions integer, total_bytes bigint)
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_queue text;
BEGIN
    FOR v_queue IN SELECT m.queue_name::text FROM pgmq.meta m ORDER BY 1 LOOP
        IF pg_catalog.to_regclass(pg_catalog.format('pgmq.%I', 'a_' || v_queue)) IS NULL THEN
            CONTINUE;
        END IF;
        RETURN QUERY EXECUTE format(
            'SELECT %L::text,
                    (SELECT count(*) FROM (SELECT 1 FROM pgmq.%2$I LIMIT %3$s) x),
                    (SELECT msg_id FROM pgmq.%2$I ORDER BY msg_id LIMIT 1),
                    (SELECT msg_id FROM pgmq.%2$I ORDER BY msg_id DESC LIMIT 1),
                    (SELECT count(*)::integer FROM pg_catalog.pg_inherits i WHERE i.inhparent = %4$L::regclass),
                    coalesce((SELECT sum(pg_catalog.pg_total_relation_size(i.inhrelid))::bigint FROM pg_catalog.pg_inherits i
                               WHERE i.inhparent = %4$L::regclass), 0)
                    + pg_catalog.pg_total_relation_size(%4$L::regclass)',
            v_queue, 'a_' || v_queue, ops.metrics_count_limit() + 1, pg_catalog.format('pgmq.%I', 'a_' || v_queue));
    END LOOP;
END
$fn$;
