-- The received-postback log becomes RANGE-partitioned by day on received_at, so the retention job
-- drops whole days instead of deleting rows (POSTBACK_LOG_RETENTION_DAYS, 90 by default). The
-- primary key includes the partition key, as PostgreSQL requires. Existing rows are copied over.
DROP INDEX IF EXISTS "received_postbacks_workspace_time_idx";--> statement-breakpoint
DROP INDEX IF EXISTS "received_postbacks_hit_idx";--> statement-breakpoint
ALTER TABLE "received_postbacks" RENAME TO "received_postbacks_unpartitioned";--> statement-breakpoint
ALTER TABLE "received_postbacks_unpartitioned" RENAME CONSTRAINT "received_postbacks_pkey" TO "received_postbacks_unpartitioned_pkey";--> statement-breakpoint
CREATE TABLE "received_postbacks" (LIKE "received_postbacks_unpartitioned" INCLUDING DEFAULTS) PARTITION BY RANGE ("received_at");--> statement-breakpoint
ALTER TABLE "received_postbacks" ADD CONSTRAINT "received_postbacks_id_received_at_pk" PRIMARY KEY("id","received_at");--> statement-breakpoint
CREATE INDEX "received_postbacks_workspace_time_idx" ON "received_postbacks" USING btree ("workspace_id","received_at");--> statement-breakpoint
CREATE INDEX "received_postbacks_hit_idx" ON "received_postbacks" USING btree ("hit_id");--> statement-breakpoint
-- Catches rows outside every daily partition (a clock far off, back-dated imports).
CREATE TABLE "received_postbacks_default" PARTITION OF "received_postbacks" DEFAULT;--> statement-breakpoint
-- Daily partitions around now(); safe to call concurrently and repeatedly (migrate, worker daily).
CREATE OR REPLACE FUNCTION hitrail_ensure_postback_log_partitions(days_back int DEFAULT 1, days_ahead int DEFAULT 3)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  d date;
  part text;
  made int := 0;
BEGIN
  FOR i IN -days_back..days_ahead LOOP
    d := (date_trunc('day', now() AT TIME ZONE 'UTC') + make_interval(days => i))::date;
    part := format('received_postbacks_d%s', to_char(d, 'YYYYMMDD'));
    CONTINUE WHEN to_regclass(part) IS NOT NULL;
    BEGIN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF received_postbacks FOR VALUES FROM (%L) TO (%L)',
        part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
      made := made + 1;
    EXCEPTION
      WHEN duplicate_table THEN NULL; -- another process made it first
      WHEN check_violation THEN
        RAISE WARNING 'postback log rows for % already sit in received_postbacks_default; partition % not created', d, part;
    END;
  END LOOP;
  RETURN made;
END
$$;--> statement-breakpoint
-- Retention: drops every daily partition that ends before now() - retention_days, and deletes such
-- old rows from the default partition. Returns the partitions dropped.
CREATE OR REPLACE FUNCTION hitrail_drop_postback_log_partitions(retention_days int)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  p record;
  cutoff timestamptz := now() - make_interval(days => retention_days);
  dropped int := 0;
BEGIN
  IF retention_days < 1 THEN RAISE EXCEPTION 'retention_days must be at least 1'; END IF;
  FOR p IN
    SELECT c.relname FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_class parent ON parent.oid = i.inhparent
    WHERE parent.relname = 'received_postbacks' AND c.relname ~ '^received_postbacks_d[0-9]{8}$'
      AND to_date(substr(c.relname, 21), 'YYYYMMDD') + 1 <= (cutoff AT TIME ZONE 'UTC')::date
  LOOP
    EXECUTE format('DROP TABLE %I', p.relname);
    dropped := dropped + 1;
  END LOOP;
  DELETE FROM received_postbacks_default WHERE received_at < cutoff;
  RETURN dropped;
END
$$;--> statement-breakpoint
SELECT hitrail_ensure_postback_log_partitions(1, 3);--> statement-breakpoint
INSERT INTO "received_postbacks" SELECT * FROM "received_postbacks_unpartitioned";--> statement-breakpoint
DROP TABLE "received_postbacks_unpartitioned";--> statement-breakpoint
SELECT hitrail_apply_tenant_policies();
