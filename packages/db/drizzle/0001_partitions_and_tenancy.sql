-- Hits are partitioned by RANGE on their UUIDv7 id. The first 48 bits of a UUIDv7 are the
-- millisecond it was minted, so the lowest UUID of a moment is that timestamp followed by zeros.
CREATE OR REPLACE FUNCTION hitrail_uuid7_floor(ts timestamptz) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '00000000000000000000')::uuid
$$;
--> statement-breakpoint
-- Catches hits outside every monthly partition (back-dated imports), so an insert never fails.
CREATE TABLE IF NOT EXISTS hits_default PARTITION OF hits DEFAULT;
--> statement-breakpoint
-- Creates the monthly partitions around now(); safe to call concurrently and repeatedly.
-- Run by `hitrail migrate`, at tracker start, and daily by the worker.
CREATE OR REPLACE FUNCTION hitrail_ensure_hit_partitions(months_back int DEFAULT 1, months_ahead int DEFAULT 3)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  m date;
  part text;
  made int := 0;
BEGIN
  FOR i IN -months_back..months_ahead LOOP
    m := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
    part := format('hits_y%sm%s', to_char(m, 'YYYY'), to_char(m, 'MM'));
    CONTINUE WHEN to_regclass(part) IS NOT NULL;
    BEGIN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF hits FOR VALUES FROM (%L) TO (%L)',
        part,
        hitrail_uuid7_floor(m::timestamp AT TIME ZONE 'UTC'),
        hitrail_uuid7_floor((m + interval '1 month')::timestamp AT TIME ZONE 'UTC')
      );
      made := made + 1;
    EXCEPTION
      WHEN duplicate_table THEN NULL; -- another process made it first
      WHEN check_violation THEN
        RAISE WARNING 'hits for % already sit in hits_default; partition % not created', m, part;
    END;
  END LOOP;
  RETURN made;
END
$$;
--> statement-breakpoint
SELECT hitrail_ensure_hit_partitions(1, 3);
--> statement-breakpoint
-- Row-level security is the second wall behind every query's workspace filter. Tenant-scoped
-- transactions run as the hitrail_tenant role with hitrail.workspace_id set; the policies then
-- hide every other workspace's rows whatever the query says.
DO $$ BEGIN
  CREATE ROLE hitrail_tenant NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
--> statement-breakpoint
DO $$ BEGIN
  EXECUTE format('GRANT hitrail_tenant TO %I', current_user);
EXCEPTION WHEN others THEN NULL; -- superusers need no grant; managed databases may refuse it
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION hitrail_current_workspace() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('hitrail.workspace_id', true), '')::uuid
$$;
--> statement-breakpoint
-- Idempotent: later migrations call it again after adding tables.
CREATE OR REPLACE FUNCTION hitrail_apply_tenant_policies() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  t record;
  n int := 0;
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO hitrail_tenant', current_schema());
  FOR t IN
    SELECT c.relname,
           CASE WHEN c.relname = 'workspaces' THEN 'id' ELSE 'workspace_id' END AS col
    FROM pg_class c
    JOIN pg_namespace ns ON ns.oid = c.relnamespace
    WHERE ns.nspname = current_schema()
      AND c.relkind IN ('r', 'p')
      AND NOT c.relispartition
      AND (c.relname = 'workspaces' OR EXISTS (
        SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped))
  LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hitrail_tenant', t.relname);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.relname);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t.relname);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (%I = hitrail_current_workspace()) WITH CHECK (%I = hitrail_current_workspace())',
      t.relname, t.col, t.col);
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
--> statement-breakpoint
SELECT hitrail_apply_tenant_policies();
