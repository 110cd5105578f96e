-- ops.converge_partition_config: sets premake and retention of one pg_partman partition set, writing
-- only when they differ. A different partition_interval is kept (pg_partman 4.x/5.x place the next
-- partition at last start + interval, so changing it in place leaves gaps or overlaps); premake is
-- then raised so the runway still covers p_required_messages, with a WARNING naming the numbers.
CREATE OR REPLACE FUNCTION ops.converge_partition_config(p_parent_table text, p_partition_interval bigint, p_premake integer, p_retention bigint, p_required_messages bigint)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_interval bigint;
    v_premake integer := p_premake;
BEGIN
    SELECT pc.partition_interval::bigint INTO v_interval FROM partman.part_config pc WHERE pc.parent_table = p_parent_table;
    IF v_interval IS NULL THEN
        RAISE EXCEPTION '% is not managed by pg_partman (no row in partman.part_config)', p_parent_table;
    END IF;
    IF v_interval <> p_partition_interval THEN
        v_premake := greatest(p_premake, ceil(p_required_messages::numeric / v_interval)::integer);
        RAISE WARNING '%: partition_interval is % in pg_partman but % in the config; kept % (changing it in place would leave gaps or overlaps: create a new queue to change it) and set premake to % so the runway (% messages) still covers % messages',
            p_parent_table, v_interval, p_partition_interval, v_interval, v_premake, v_interval * v_premake, p_required_messages;
    END IF;
    UPDATE partman.part_config pc
       SET premake = v_premake,
           retention = p_retention::text,
           retention_keep_table = false,
           automatic_maintenance = 'on'
     WHERE pc.parent_table = p_parent_table
       AND (pc.premake, pc.retention, pc.retention_keep_table, pc.automatic_maintenance)
           IS DISTINCT FROM (v_premake, p_retention::text, false, 'on');
    RETURN format('%s: partition_interval %s, premake %s, retention %s', p_parent_table, v_interval, v_premake, p_retention);
END
$fn$;

-- ops.converge_storage_parameters: makes the managed storage parameters of one table exactly p_wanted
-- (RESET the managed ones not wanted, SET the wanted ones); writes only when they differ.
CREATE OR REPLACE FUNCTION ops.converge_storage_parameters(p_table regclass, p_wanted text[], p_managed text[])
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_current text[];
    v_wanted text[];
    v_reset text[];
BEGIN
    SELECT coalesce(array_agg(o ORDER BY o), '{}') INTO v_current
      FROM pg_class c, unnest(coalesce(c.reloptions, '{}')) AS o
     WHERE c.oid = p_table AND split_part(o, '=', 1) = ANY (p_managed);
    SELECT coalesce(array_agg(w ORDER BY w), '{}') INTO v_wanted FROM unnest(p_wanted) AS w;
    IF v_current = v_wanted THEN
        RETURN false;
    END IF;
    SELECT array_agg(m ORDER BY m) INTO v_reset
      FROM unnest(p_managed) AS m
     WHERE NOT EXISTS (SELECT 1 FROM unnest(p_wanted) AS w WHERE split_part(w, '=', 1) = m);
    IF v_reset IS NOT NULL THEN
        EXECUTE format('ALTER TABLE %s RESET (%s)', p_table, array_to_string(v_reset, ', '));
    END IF;
    IF cardinality(p_wanted) > 0 THEN
        EXECUTE format('ALTER TABLE %s SET (%s)', p_table, array_to_string(p_wanted, ', '));
    END IF;
    RETURN true;
END
$fn$;

-- ops.apply_queue_storage_parameters: the storage parameters on a queue's tables: every leaf partition
-- (PostgreSQL refuses them on a partitioned parent) and pg_partman's template table, or the plain
-- table of an unpartitioned queue. Returns how many tables changed.
CREATE OR REPLACE FUNCTION ops.apply_queue_storage_parameters(p_queue text, p_wanted text[], p_managed text[])
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_table regclass;
    v_target regclass;
    v_changed integer := 0;
BEGIN
    FOREACH v_table IN ARRAY ARRAY[format('pgmq.%I', 'q_' || p_queue)::regclass, format('pgmq.%I', 'a_' || p_queue)::regclass] LOOP
        FOR v_target IN
            SELECT t.relid FROM pg_partition_tree(v_table) t WHERE t.isleaf
            UNION ALL
            -- pg_partition_tree returns no rows for a plain (unpartitioned) table
            SELECT c.oid::regclass FROM pg_class c WHERE c.oid = v_table AND c.relkind = 'r'
            UNION ALL
            SELECT pc.template_table::regclass FROM partman.part_config pc
             WHERE pc.parent_table = v_table::text AND pc.template_table IS NOT NULL
        LOOP
            IF ops.converge_storage_parameters(v_target, p_wanted, p_managed) THEN
                v_changed := v_changed + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN v_changed;
END
$fn$;
