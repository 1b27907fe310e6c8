-- 0005_row_level_security (up): hand-written
-- Tenant isolation enforced by PostgreSQL. The application works as `vigil_app`, a role that owns no table,
-- so row-level security applies to it; each transaction names its tenant in `vigil.tenant_id`, and a
-- transaction that names none sees no tenant-scoped row at all. Global feed data (intel) is readable by all
-- and writable only in the platform scope (`vigil.platform = on`, set by system jobs, never by requests).

DO $$
BEGIN
  CREATE ROLE vigil_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- roles are cluster-wide: another database of this cluster created it already
END $$;

CREATE FUNCTION vigil_current_tenant() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('vigil.tenant_id', true), '')::uuid
$$;
CREATE FUNCTION vigil_current_user() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('vigil.user_id', true), '')::uuid
$$;
CREATE FUNCTION vigil_platform_scope() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('vigil.platform', true), '') = 'on'
$$;

DO $$
DECLARE
  s text := current_schema();
  t text;
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO vigil_app', s);
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO vigil_app', s);
  EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO vigil_app', s);
  -- Migration bookkeeping: readable (readiness checks), never writable by the application.
  EXECUTE format('REVOKE ALL ON TABLE %I.vigil_migrations FROM vigil_app', s);
  EXECUTE format('GRANT SELECT ON TABLE %I.vigil_migrations TO vigil_app', s);
  -- Tables and sequences that later migrations create get the same grants.
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO vigil_app', s);
  EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO vigil_app', s);

  -- Tenant-scoped tables: a row is visible and writable only inside its tenant's transaction.
  FOREACH t IN ARRAY ARRAY['memberships', 'sessions', 'tenant_counters', 'sources', 'notifications', 'reports',
    'rules', 'rule_versions', 'incidents', 'alerts', 'alert_incidents', 'api_keys']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = vigil_current_tenant()) '
                   'WITH CHECK (tenant_id = vigil_current_tenant())', t);
  END LOOP;
END $$;

-- A user may list their own memberships across tenants (the tenant picker after login).
CREATE POLICY own_memberships ON memberships FOR SELECT USING (user_id = vigil_current_user());

-- Audit rows: append-only for the application (no UPDATE, no DELETE, no TRUNCATE), per tenant.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_logs FROM vigil_app;
ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON audit_logs FOR SELECT USING (tenant_id = vigil_current_tenant());
CREATE POLICY tenant_append ON audit_logs FOR INSERT WITH CHECK (tenant_id = vigil_current_tenant());

-- Global or private: indicators and ingestion runs with a NULL tenant are feed data.
ALTER TABLE indicators ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_global_and_own ON indicators FOR SELECT
  USING (tenant_id IS NULL OR tenant_id = vigil_current_tenant() OR vigil_platform_scope());
CREATE POLICY write_own ON indicators FOR ALL
  USING (tenant_id = vigil_current_tenant() OR vigil_platform_scope())
  WITH CHECK (tenant_id = vigil_current_tenant() OR vigil_platform_scope());
ALTER TABLE ingestion_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_global_and_own ON ingestion_runs FOR SELECT
  USING (tenant_id IS NULL OR tenant_id = vigil_current_tenant() OR vigil_platform_scope());
CREATE POLICY write_own ON ingestion_runs FOR ALL
  USING (tenant_id = vigil_current_tenant() OR vigil_platform_scope())
  WITH CHECK (tenant_id = vigil_current_tenant() OR vigil_platform_scope());

-- Intel reference data: everyone reads, only the platform scope writes.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['vulnerabilities', 'epss_scores', 'techniques']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY read_all ON %I FOR SELECT USING (true)', t);
    EXECUTE format('CREATE POLICY platform_write ON %I FOR ALL USING (vigil_platform_scope()) '
                   'WITH CHECK (vigil_platform_scope())', t);
  END LOOP;
END $$;
