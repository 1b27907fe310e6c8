-- 0005_row_level_security (down): hand-written
DO $$
DECLARE
  s text := current_schema();
  r record;
BEGIN
  FOR r IN SELECT policyname, tablename FROM pg_policies WHERE schemaname = s LOOP
    EXECUTE format('DROP POLICY %I ON %I', r.policyname, r.tablename);
  END LOOP;
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = s AND c.relkind = 'r' AND c.relrowsecurity LOOP
    EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', r.relname);
  END LOOP;
  -- The role is cluster-wide and may serve other databases: take back this schema's grants, keep the role.
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vigil_app') THEN
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM vigil_app', s);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM vigil_app', s);
    EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM vigil_app', s);
    EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM vigil_app', s);
    EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM vigil_app', s);
  END IF;
END $$;
DROP FUNCTION IF EXISTS vigil_platform_scope();
DROP FUNCTION IF EXISTS vigil_current_user();
DROP FUNCTION IF EXISTS vigil_current_tenant();
