-- Partition maintenance that follows the queue's sequence (issue 19).
--
-- Why not pg_partman's own: for id-based partition sets, pg_partman's run_maintenance() (4.7.2 and 5.x,
-- sql/functions/run_maintenance.sql) takes the newest id from the rows in the child partitions; when
-- every child is empty ("Partition set is completely empty. Nothing to do") it makes nothing, and its
-- retention (drop_partition_id) drops nothing. A queue whose consumers keep up is empty most of the
-- time, so its sequence outruns the partitions and new messages land in the default partition, after
-- which pg_partman's maintenance fails for good ("updated partition constraint for default partition
-- ... would be violated by some row"). pg_partman's option to keep making partitions without new data,
-- infinite_time_partitions, exists for time-based sets only (pg_partman issue #84, doc/pg_partman.md).
--
-- What this does, per partition set pgmq.q_<queue> / pgmq.a_<queue> (the archive shares the queue's
-- identity sequence), as the partitions' owner, under pg_partman's own advisory lock so pg_partman's
-- worker and this never make the same partition at once:
-- 1. repair: rows in the default partition are moved into proper partitions (made for them);
-- 2. extend: partitions exist, without gaps, from the highest existing one up to premake partitions
--    beyond the one holding the sequence's next id, whatever the queue's depth;
-- 3. retention: partitions wholly below (last id handed out - retention) are dropped, pg_partman's rule
--    (drop_partition_id: retention <= max - (child start + interval)) with the sequence's last id as max;
-- 4. records the run in ops.partition_maintenance.

CREATE TABLE IF NOT EXISTS ops.partition_maintenance (
    parent_table text PRIMARY KEY,
    last_success_at timestamptz,
    last_error_at timestamptz,
    last_error text,
    partitions_created_total bigint NOT NULL DEFAULT 0,
    partitions_dropped_total bigint NOT NULL DEFAULT 0,
    rows_repaired_total bigint NOT NULL DEFAULT 0
);

-- ops.partition_bounds(parent): each child of a range-partitioned table with its [lower, upper) msg_id
-- bounds, parsed from pg_get_expr(relpartbound) ("FOR VALUES FROM ('1') TO ('1001')"); the default
-- partition is left out.
CREATE OR REPLACE FUNCTION ops.partition_bounds(p_parent regclass)
RETURNS TABLE (child regclass, lower_bound bigint, upper_bound bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
    SELECT c.oid::regclass,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''?(-?\d+)''?\)'))[1]::bigint,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''?(-?\d+)''?\)'))[1]::bigint
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = p_parent
       AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
$fn$;

-- ops.maintain_partition_set(parent): steps 1-4 above for one pgmq partition set, in the caller's
-- transaction. Raises on failure (the bootstrap then fails; ops.run_partition_maintenance records it).
-- No SET search_path clause: pg_partman's functions set search_path with set_config(..., false), which
-- outlives a SET clause (CREATE FUNCTION docs) and, on some of their paths, is never set back (seen with
-- 4.7.2 and 5.x: the bootstrap's later statements then no longer found pg_stat_statements). So the
-- caller's search_path is saved and put back here, and every name below is schema-qualified or in
-- pg_catalog, which PostgreSQL searches first unless search_path names it.
CREATE OR REPLACE FUNCTION ops.maintain_partition_set(p_parent_table text)
RETURNS TABLE (parent_table text, next_msg_id bigint, partition_upper_bound bigint, runway_messages bigint,
               partitions_created integer, partitions_dropped integer, rows_repaired bigint)
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_search_path text := pg_catalog.current_setting('search_path');
    v_parent regclass := p_parent_table::regclass;
    v_step bigint;
    v_premake integer;
    v_retention bigint;
    v_seq regclass;
    v_next bigint;
    v_def regclass;
    v_cols text;
    v_min bigint;
    v_lo bigint;
    v_n bigint;
    v_repaired bigint := 0;
    v_upper bigint;
    v_from bigint;
    v_target bigint;
    v_ids bigint[];
    v_before integer;
    v_after integer;
    v_created integer := 0;
    v_dropped integer := 0;
    v_child record;
    v_lock_timeout text;
    v_locked boolean := false;
BEGIN
    SELECT pc.partition_interval::bigint, pc.premake, pc.retention::bigint
      INTO v_step, v_premake, v_retention
      FROM partman.part_config pc
     WHERE pc.parent_table = p_parent_table AND pc.control = 'msg_id';
    IF v_step IS NULL THEN
        RAISE EXCEPTION '% is not an id partition set of pg_partman (no row with control msg_id in partman.part_config)', p_parent_table;
    END IF;
    IF p_parent_table !~ '^pgmq\.[qa]_[a-z0-9_]+$' THEN
        RAISE EXCEPTION '% is not a pgmq queue or archive table', p_parent_table;
    END IF;
    -- pg_partman's run_maintenance() takes this lock (try-lock: it skips while this transaction holds it).
    PERFORM pg_advisory_xact_lock(hashtext('pg_partman run_maintenance'));

    -- The queue's identity sequence numbers the queue and its archive. last_value is the highest value
    -- handed out (or cached) by any session; the next id is above it.
    v_seq := pg_get_serial_sequence(format('pgmq.%I', 'q_' || substr(split_part(p_parent_table, '.', 2), 3)), 'msg_id')::regclass;
    EXECUTE format('SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM %s', v_seq) INTO v_next;

    -- What there is to do, read without DDL locks: most runs have nothing to do.
    SELECT p.partdefid::regclass INTO v_def
      FROM pg_partitioned_table p WHERE p.partrelid = v_parent AND p.partdefid <> 0;
    IF v_def IS NOT NULL THEN
        EXECUTE format('SELECT min(msg_id) FROM %s', v_def) INTO v_min;
    END IF;
    SELECT count(*), max(b.upper_bound) INTO v_before, v_upper FROM ops.partition_bounds(v_parent) b;
    v_target := (v_next - (v_next % v_step)) + v_premake::bigint * v_step;
    v_from := coalesce(v_upper, v_next - (v_next % v_step));
    IF v_retention IS NOT NULL THEN
        v_from := greatest(v_from, (v_next - 1 - v_retention) - ((v_next - 1 - v_retention) % v_step));
    END IF;
    SELECT count(*) INTO v_n FROM ops.partition_bounds(v_parent) b
     WHERE v_retention IS NOT NULL AND b.upper_bound <= (v_next - 1) - v_retention;

    IF v_min IS NOT NULL OR v_from <= v_target OR v_n > 0 THEN
        -- Lock the parent first, in ACCESS EXCLUSIVE mode, before any partition: queries on the queue lock
        -- the parent, then its partitions, and a DROP or ATTACH that locked a partition first deadlocks with
        -- them ("deadlock detected", seen here with consumers reading and deleting while retention dropped a
        -- partition). The lock waits behind running transactions and new ones queue behind it, so it is
        -- tried for at most 200 ms at a time (producers wait no longer than that), up to 50 times, 200 ms
        -- apart; then this run fails and the next one retries.
        v_lock_timeout := pg_catalog.current_setting('lock_timeout');
        FOR v_try IN 1..50 LOOP
            BEGIN
                PERFORM pg_catalog.set_config('lock_timeout', '200ms', true);
                EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', v_parent);
                v_locked := true;
            EXCEPTION WHEN lock_not_available THEN
                PERFORM pg_catalog.pg_sleep(0.2);
            END;
            EXIT WHEN v_locked;
        END LOOP;
        PERFORM pg_catalog.set_config('lock_timeout', v_lock_timeout, true);
        IF NOT v_locked THEN
            RAISE EXCEPTION '%: could not lock the table within 50 tries of 200 ms (long transactions on it?); the next run retries', p_parent_table
                USING ERRCODE = 'lock_not_available';
        END IF;
    END IF;

    -- 1. Repair the default partition: move its rows, one partition range at a time, into a partition made
    -- for them (the parent's lock keeps inserts out meanwhile).
    IF v_min IS NOT NULL THEN
        EXECUTE format('SELECT min(msg_id) FROM %s', v_def) INTO v_min;
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO v_cols
          FROM pg_attribute a WHERE a.attrelid = v_parent AND a.attnum > 0 AND NOT a.attisdropped;
        -- shaped like this parent (a queue and its archive differ): made afresh for each set
        DROP TABLE IF EXISTS pg_temp.ops_partition_repair;
        EXECUTE format('CREATE TEMP TABLE ops_partition_repair (LIKE %s) ON COMMIT DROP', v_parent);
        WHILE v_min IS NOT NULL LOOP
            v_lo := v_min - (v_min % v_step);
            TRUNCATE pg_temp.ops_partition_repair;
            EXECUTE format('WITH moved AS (DELETE FROM %s WHERE msg_id >= %s AND msg_id < %s RETURNING %s) '
                           'INSERT INTO pg_temp.ops_partition_repair (%s) SELECT %s FROM moved',
                           v_def, v_lo, v_lo + v_step, v_cols, v_cols, v_cols);
            GET DIAGNOSTICS v_n = ROW_COUNT;
            PERFORM partman.create_partition_id(p_parent_table := p_parent_table, p_partition_ids := ARRAY[v_lo]);
            EXECUTE format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s FROM pg_temp.ops_partition_repair',
                           v_parent, v_cols, v_cols);
            v_repaired := v_repaired + v_n;
            RAISE WARNING '%: moved % rows from the default partition into msg_id range [%, %)', p_parent_table, v_n, v_lo, v_lo + v_step;
            EXECUTE format('SELECT min(msg_id) FROM %s', v_def) INTO v_min;
        END LOOP;
        DROP TABLE pg_temp.ops_partition_repair;
    END IF;

    -- 2. Extend: premake partitions beyond the one holding the next id, contiguous from the highest
    -- existing partition (ids handed out but not yet committed may sit in any gap), but not below what
    -- retention would drop at once.
    SELECT max(b.upper_bound) INTO v_upper FROM ops.partition_bounds(v_parent) b;
    v_from := greatest(coalesce(v_upper, v_from), v_from);
    IF v_from <= v_target THEN
        SELECT array_agg(g ORDER BY g) INTO v_ids FROM generate_series(v_from, v_target, v_step) g;
        PERFORM partman.create_partition_id(p_parent_table := p_parent_table, p_partition_ids := v_ids);
    END IF;

    -- 3. Retention: drop partitions wholly below (last id handed out - retention), never the one holding
    -- the next id (its upper bound is above it).
    IF v_retention IS NOT NULL THEN
        FOR v_child IN SELECT b.child FROM ops.partition_bounds(v_parent) b
                        WHERE b.upper_bound <= (v_next - 1) - v_retention
                        ORDER BY b.lower_bound LOOP
            EXECUTE format('DROP TABLE %s', v_child.child);
            v_dropped := v_dropped + 1;
        END LOOP;
    END IF;
    SELECT count(*) INTO v_after FROM ops.partition_bounds(v_parent);
    v_created := v_after + v_dropped - v_before;

    -- 4. Record the run.
    INSERT INTO ops.partition_maintenance AS m (parent_table, last_success_at, partitions_created_total, partitions_dropped_total, rows_repaired_total)
    VALUES (p_parent_table, clock_timestamp(), v_created, v_dropped, v_repaired)
    ON CONFLICT ON CONSTRAINT partition_maintenance_pkey DO UPDATE
       SET last_success_at = EXCLUDED.last_success_at,
           partitions_created_total = m.partitions_created_total + EXCLUDED.partitions_created_total,
           partitions_dropped_total = m.partitions_dropped_total + EXCLUDED.partitions_dropped_total,
           rows_repaired_total = m.rows_repaired_total + EXCLUDED.rows_repaired_total;

    PERFORM pg_catalog.set_config('search_path', v_search_path, false);
    SELECT max(b.upper_bound) INTO v_upper FROM ops.partition_bounds(v_parent) b;
    parent_table := p_parent_table;
    next_msg_id := v_next;
    partition_upper_bound := v_upper;
    runway_messages := v_upper - v_next;
    partitions_created := v_created;
    partitions_dropped := v_dropped;
    rows_repaired := v_repaired;
    RETURN NEXT;
END
$fn$;

-- ops.run_partition_maintenance(): ops.maintain_partition_set for every pgmq partition set, each in its
-- own transaction, then the dead-letter retention (ops.purge_dead_letters) and the expired idempotency keys; a failure is recorded in ops.partition_maintenance (last_error, last_error_at), the
-- other sets still run, and the procedure then raises so the caller (the partition-maintenance CronJob)
-- fails visibly. Locks wait at most 10 s: maintenance never queues long behind a long transaction and
-- blocks producers behind it; the next run retries. No SET search_path clause: a procedure with one
-- cannot COMMIT (CREATE PROCEDURE docs); every name in it is schema-qualified or in pg_catalog, which is
-- searched first whatever the caller's search_path (unless named in it explicitly).
CREATE OR REPLACE PROCEDURE ops.run_partition_maintenance()
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_parent text;
    v_failed text[] := '{}';
    v_result record;
    v_message text;
    v_purge text;
    v_deleted bigint;
BEGIN
    FOR v_parent IN SELECT pc.parent_table FROM partman.part_config pc
                     WHERE pc.parent_table ~ '^pgmq\.[qa]_[a-z0-9_]+$' AND pc.control = 'msg_id'
                     ORDER BY 1 LOOP
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '10s', true);
            SELECT * INTO v_result FROM ops.maintain_partition_set(v_parent);
            RAISE NOTICE '%: next msg_id %, partitions up to %, runway % messages; % made, % dropped, % rows repaired',
                v_parent, v_result.next_msg_id, v_result.partition_upper_bound, v_result.runway_messages,
                v_result.partitions_created, v_result.partitions_dropped, v_result.rows_repaired;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT;
            INSERT INTO ops.partition_maintenance AS m (parent_table, last_error_at, last_error)
            VALUES (v_parent, clock_timestamp(), v_message)
            ON CONFLICT ON CONSTRAINT partition_maintenance_pkey DO UPDATE
               SET last_error_at = EXCLUDED.last_error_at, last_error = EXCLUDED.last_error;
            v_failed := v_failed || format('%s: %s', v_parent, v_message);
        END;
        COMMIT;
    END LOOP;
    -- Housekeeping after the partition sets, each in its own transaction: dead letters past their retention
    -- (components/queue/sql/dead-letters.sql) and idempotency keys past their window (idempotency.sql). Each
    -- returns how many rows it deleted.
    FOREACH v_purge IN ARRAY ARRAY['ops.purge_dead_letters', 'ops.purge_idempotency_keys'] LOOP
        CONTINUE WHEN pg_catalog.to_regprocedure(v_purge || '()') IS NULL;
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '10s', true);
            EXECUTE format('SELECT %s()', v_purge) INTO v_deleted;
            IF v_deleted > 0 THEN
                RAISE NOTICE '%: % rows deleted', v_purge, v_deleted;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_message = MESSAGE_TEXT;
            v_failed := v_failed || format('%s: %s', v_purge, v_message);
        END;
        COMMIT;
    END LOOP;
    IF cardinality(v_failed) > 0 THEN
        RAISE EXCEPTION 'partition maintenance failed for % of the partition sets: %', cardinality(v_failed), array_to_string(v_failed, '; ');
    END IF;
END
$fn$;
