-- 0002_functions_triggers (up): hand-written
-- Behaviour the database owns so that no caller can get it wrong: updated_at, per-tenant numbers,
-- tenant counters, and same-tenant references that survive the deletion of their target.

-- updated_at is kept current by the database on every UPDATE.
CREATE FUNCTION vigil_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;

DO $$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT c.table_name FROM information_schema.columns c
    JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
    WHERE c.table_schema = current_schema() AND c.column_name = 'updated_at' AND tb.table_type = 'BASE TABLE'
  LOOP
    EXECUTE format('CREATE TRIGGER trg_%1$s_updated_at BEFORE UPDATE ON %1$I FOR EACH ROW EXECUTE FUNCTION vigil_touch_updated_at()', t);
  END LOOP;
END $$;

-- Next human number for a tenant, e.g. vigil_next_number(t, 'rule', 'RULE') -> 'RULE-000042'.
-- The upsert takes a row lock on the counter, so concurrent callers never receive the same number.
CREATE FUNCTION vigil_next_number(p_tenant uuid, p_counter text, p_prefix text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  INSERT INTO tenant_counters AS c (tenant_id, name, value) VALUES (p_tenant, p_counter, 1)
  ON CONFLICT (tenant_id, name) DO UPDATE SET value = c.value + 1
  RETURNING c.value INTO n;
  RETURN p_prefix || '-' || CASE WHEN n < 1000000 THEN lpad(n::text, 6, '0') ELSE n::text END;
END $$;

-- Rules and incidents get their number when the insert does not give one.
CREATE FUNCTION vigil_assign_rule_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.rule_number IS NULL OR NEW.rule_number = '' THEN
    NEW.rule_number := vigil_next_number(NEW.tenant_id, 'rule', 'RULE');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_rules_number BEFORE INSERT ON rules FOR EACH ROW EXECUTE FUNCTION vigil_assign_rule_number();

CREATE FUNCTION vigil_assign_incident_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.incident_number IS NULL OR NEW.incident_number = '' THEN
    NEW.incident_number := vigil_next_number(NEW.tenant_id, 'incident', 'INC');
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_incidents_number BEFORE INSERT ON incidents FOR EACH ROW EXECUTE FUNCTION vigil_assign_incident_number();

-- tenants.user_count and tenants.sources_count are true by construction.
CREATE FUNCTION vigil_count_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE tenants SET user_count = user_count + 1 WHERE id = NEW.tenant_id;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE tenants SET user_count = user_count - 1 WHERE id = OLD.tenant_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER trg_memberships_count AFTER INSERT OR DELETE ON memberships
  FOR EACH ROW EXECUTE FUNCTION vigil_count_members();
CREATE TRIGGER trg_memberships_count_move AFTER UPDATE OF tenant_id ON memberships
  FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id) EXECUTE FUNCTION vigil_count_members();

CREATE FUNCTION vigil_count_sources() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    UPDATE tenants SET sources_count = sources_count + 1 WHERE id = NEW.tenant_id;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    UPDATE tenants SET sources_count = sources_count - 1 WHERE id = OLD.tenant_id;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER trg_sources_count AFTER INSERT OR DELETE ON sources
  FOR EACH ROW EXECUTE FUNCTION vigil_count_sources();
CREATE TRIGGER trg_sources_count_move AFTER UPDATE OF tenant_id ON sources
  FOR EACH ROW WHEN (OLD.tenant_id IS DISTINCT FROM NEW.tenant_id) EXECUTE FUNCTION vigil_count_sources();

-- Same-tenant references whose target may be deleted: only the reference column is nulled
-- (PostgreSQL 15+ column-list form), never tenant_id.
ALTER TABLE rules ADD CONSTRAINT fk_rules_parent FOREIGN KEY (tenant_id, parent_rule_id)
  REFERENCES rules (tenant_id, id) ON DELETE SET NULL (parent_rule_id);
ALTER TABLE incidents ADD CONSTRAINT fk_incidents_parent FOREIGN KEY (tenant_id, parent_incident_id)
  REFERENCES incidents (tenant_id, id) ON DELETE SET NULL (parent_incident_id);
ALTER TABLE alerts ADD CONSTRAINT fk_alerts_rule FOREIGN KEY (tenant_id, rule_id)
  REFERENCES rules (tenant_id, id) ON DELETE SET NULL (rule_id);
