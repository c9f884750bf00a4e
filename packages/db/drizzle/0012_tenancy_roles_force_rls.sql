-- Row-level security as a real second wall (docs/security-tenancy.md).
--
-- Roles (group roles, NOLOGIN; `hitrail migrate` grants them to the login roles named in
-- DATABASE_URL and MAINTENANCE_DATABASE_URL):
--   hitrail_tenant       table privileges of every app; sees only the workspaces named in the
--                        transaction's hitrail.workspace_id setting.
--   hitrail_maintenance  the worker's cross-workspace maintenance (outbox relay, rollup sweeps,
--                        overdue deliveries): a policy of its own lets it see every workspace.
-- The owner (the role migrations run as) keeps the tables; FORCE ROW LEVEL SECURITY holds the
-- policies against it too, so nothing but a superuser or the maintenance role crosses workspaces.
DO $$ BEGIN
  CREATE ROLE hitrail_maintenance NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;
--> statement-breakpoint
DO $$ BEGIN
  GRANT hitrail_tenant TO hitrail_maintenance;
EXCEPTION WHEN others THEN NULL; -- concurrent grants on a shared server
END $$;
--> statement-breakpoint
-- The owner runs data migrations across workspaces: it may act as maintenance.
DO $$ BEGIN
  EXECUTE format('GRANT hitrail_maintenance TO %I', current_user);
EXCEPTION WHEN others THEN NULL; -- superusers need no grant; managed databases may refuse it
END $$;
--> statement-breakpoint
-- The workspaces a transaction may see: hitrail.workspace_id holds one id or a comma-separated list
-- (a group-commit batch that spans workspaces names each of them). Unset or empty: none.
CREATE OR REPLACE FUNCTION hitrail_current_workspaces() RETURNS uuid[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(string_to_array(nullif(current_setting('hitrail.workspace_id', true), ''), ',')::uuid[], '{}')
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION hitrail_current_workspace() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT (hitrail_current_workspaces())[1]
$$;
--> statement-breakpoint
-- Narrow look-ups across workspaces, each keyed by what the caller already holds: a host name (the
-- tracker's routing, TLS on demand, a custom domain's claim), a workspace slug (the CLI), a user
-- (their own memberships), an API key's hash. Each shows only the rows matching that key, read-only.
CREATE OR REPLACE FUNCTION hitrail_lookup(name text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT nullif(current_setting('hitrail.lookup_' || name, true), '')
$$;
--> statement-breakpoint
-- Idempotent: `hitrail migrate` calls it after every run, so tables added later are covered.
CREATE OR REPLACE FUNCTION hitrail_apply_tenant_policies() RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
  t record;
  n int := 0;
  tenant_check text;
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO hitrail_tenant', current_schema());
  FOR t IN
    SELECT c.relname,
           CASE WHEN c.relname = 'workspaces' THEN 'id'
                WHEN EXISTS (SELECT 1 FROM pg_attribute a
                             WHERE a.attrelid = c.oid AND a.attname = 'workspace_id' AND NOT a.attisdropped)
                THEN 'workspace_id' END AS col
    FROM pg_class c
    JOIN pg_namespace ns ON ns.oid = c.relnamespace
    WHERE ns.nspname = current_schema()
      AND c.relkind IN ('r', 'p')
      AND NOT c.relispartition
  LOOP
    -- Partitions get no grant: the apps reach rows through the parent, where the policies are.
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO hitrail_tenant', t.relname);
    CONTINUE WHEN t.col IS NULL; -- users and sessions belong to no workspace
    -- The list is computed once per statement (an init plan). `IS TRUE` keeps the check a filter the
    -- planner cannot turn into an index condition: as `workspace_id = ANY (…)` it chose the
    -- workspace-only indexes for the conversion batch's identity probes and scanned a workspace's
    -- every conversion per probe (postback benchmark: Postgres CPU per request x4). Every query has
    -- its own workspace predicate for the indexes; this is the wall behind it.
    tenant_check := format('(%I = ANY ((SELECT hitrail_current_workspaces())::uuid[])) IS TRUE', t.col);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t.relname);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t.relname);
    EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t.relname);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (%s) WITH CHECK (%s)',
      t.relname, tenant_check, tenant_check);
    EXECUTE format('DROP POLICY IF EXISTS maintenance_access ON %I', t.relname);
    EXECUTE format('CREATE POLICY maintenance_access ON %I TO hitrail_maintenance USING (true) WITH CHECK (true)',
      t.relname);
    n := n + 1;
  END LOOP;
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO hitrail_tenant', current_schema());
  -- `hitrail doctor` (as the apps' role) reports how many migrations are applied.
  IF to_regclass('drizzle.__drizzle_migrations') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA drizzle TO hitrail_tenant;
    GRANT SELECT ON drizzle.__drizzle_migrations TO hitrail_tenant;
  END IF;

  -- The look-ups (see hitrail_lookup).
  DROP POLICY IF EXISTS lookup_host ON tracking_domains;
  CREATE POLICY lookup_host ON tracking_domains FOR SELECT
    USING (verified_at IS NOT NULL AND host = (SELECT hitrail_lookup('host')));
  DROP POLICY IF EXISTS lookup_host ON workspaces;
  CREATE POLICY lookup_host ON workspaces FOR SELECT
    USING (id IN (SELECT d.workspace_id FROM tracking_domains d
                  WHERE d.verified_at IS NOT NULL AND d.host = (SELECT hitrail_lookup('host'))));
  DROP POLICY IF EXISTS lookup_slug ON workspaces;
  CREATE POLICY lookup_slug ON workspaces FOR SELECT
    USING (slug = (SELECT hitrail_lookup('slug')));
  -- An unverified claim of a host, for the tracker serving its HTTP verification token.
  DROP POLICY IF EXISTS lookup_claim ON tracking_domains;
  CREATE POLICY lookup_claim ON tracking_domains FOR SELECT
    USING (verified_at IS NULL AND host = (SELECT hitrail_lookup('claim_host')));
  DROP POLICY IF EXISTS lookup_user ON memberships;
  CREATE POLICY lookup_user ON memberships FOR SELECT
    USING (user_id = (SELECT hitrail_lookup('user')::uuid));
  DROP POLICY IF EXISTS lookup_user ON workspaces;
  CREATE POLICY lookup_user ON workspaces FOR SELECT
    USING (id IN (SELECT m.workspace_id FROM memberships m WHERE m.user_id = (SELECT hitrail_lookup('user')::uuid)));
  DROP POLICY IF EXISTS lookup_api_key ON api_keys;
  CREATE POLICY lookup_api_key ON api_keys FOR SELECT
    USING (key_hash = (SELECT hitrail_lookup('api_key')));

  -- Partition upkeep is DDL on the owner's tables: the apps reach it only through these functions,
  -- which run as the owner and do nothing else.
  EXECUTE format('ALTER FUNCTION hitrail_ensure_hit_partitions(int, int) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION hitrail_ensure_postback_log_partitions(int, int) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  EXECUTE format('ALTER FUNCTION hitrail_drop_postback_log_partitions(int) SECURITY DEFINER SET search_path = %I, pg_temp', current_schema());
  REVOKE EXECUTE ON FUNCTION hitrail_ensure_hit_partitions(int, int) FROM PUBLIC;
  REVOKE EXECUTE ON FUNCTION hitrail_ensure_postback_log_partitions(int, int) FROM PUBLIC;
  REVOKE EXECUTE ON FUNCTION hitrail_drop_postback_log_partitions(int) FROM PUBLIC;
  GRANT EXECUTE ON FUNCTION hitrail_ensure_hit_partitions(int, int) TO hitrail_tenant;
  GRANT EXECUTE ON FUNCTION hitrail_ensure_postback_log_partitions(int, int) TO hitrail_tenant;
  GRANT EXECUTE ON FUNCTION hitrail_drop_postback_log_partitions(int) TO hitrail_maintenance;
  RETURN n;
END
$$;
--> statement-breakpoint
SELECT hitrail_apply_tenant_policies();
