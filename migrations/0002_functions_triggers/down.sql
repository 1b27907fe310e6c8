-- 0002_functions_triggers (down): hand-written
ALTER TABLE alerts DROP CONSTRAINT IF EXISTS fk_alerts_rule;
ALTER TABLE incidents DROP CONSTRAINT IF EXISTS fk_incidents_parent;
ALTER TABLE rules DROP CONSTRAINT IF EXISTS fk_rules_parent;

DROP TRIGGER IF EXISTS trg_sources_count_move ON sources;
DROP TRIGGER IF EXISTS trg_sources_count ON sources;
DROP FUNCTION IF EXISTS vigil_count_sources();
DROP TRIGGER IF EXISTS trg_memberships_count_move ON memberships;
DROP TRIGGER IF EXISTS trg_memberships_count ON memberships;
DROP FUNCTION IF EXISTS vigil_count_members();

DROP TRIGGER IF EXISTS trg_incidents_number ON incidents;
DROP FUNCTION IF EXISTS vigil_assign_incident_number();
DROP TRIGGER IF EXISTS trg_rules_number ON rules;
DROP FUNCTION IF EXISTS vigil_assign_rule_number();
DROP FUNCTION IF EXISTS vigil_next_number(uuid, text, text);

DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND tgname LIKE 'trg\_%\_updated\_at'
  LOOP
    EXECUTE format('DROP TRIGGER %I ON %I', r.tgname, r.relname);
  END LOOP;
END $$;
DROP FUNCTION IF EXISTS vigil_touch_updated_at();
