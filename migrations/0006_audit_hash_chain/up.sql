-- 0006_audit_hash_chain (up): hand-written
-- Audit rows are hash-chained per tenant: seq 1, 2, 3... with row_hash = SHA-256 over the row's content and
-- the previous row's hash. Editing or deleting a row breaks the chain at that row (`vigil audit verify`).
-- user_id is left out of the hash on purpose: deleting a user sets it NULL (ON DELETE SET NULL) without
-- breaking the chain, while `actor` keeps who it was.

CREATE FUNCTION vigil_audit_hash(a audit_logs) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_array(
    a.tenant_id, a.seq, a.id, a.actor, a.action, a.resource_type, a.resource_id, a.details, a.description,
    a.ip_address, a.user_agent, a.success,
    to_char(a.timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
    a.prev_hash
  )::text, 'UTF8')), 'hex')
$$;

CREATE FUNCTION vigil_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
  -- The counter row lock orders concurrent appends of one tenant: the chain stays linear.
  INSERT INTO tenant_counters AS c (tenant_id, name, value) VALUES (NEW.tenant_id, 'audit', 1)
  ON CONFLICT (tenant_id, name) DO UPDATE SET value = c.value + 1
  RETURNING c.value INTO n;
  NEW.seq := n;
  NEW.timestamp := coalesce(NEW.timestamp, now());
  IF n = 1 THEN
    NEW.prev_hash := NULL;
  ELSE
    SELECT row_hash INTO NEW.prev_hash FROM audit_logs WHERE tenant_id = NEW.tenant_id AND seq = n - 1;
  END IF;
  NEW.row_hash := vigil_audit_hash(NEW);
  RETURN NEW;
END $$;

-- Chain the rows that exist already, per tenant in time order.
DO $$
DECLARE
  r record;
  prev text;
  cur_tenant uuid;
  n bigint;
BEGIN
  FOR r IN SELECT * FROM audit_logs ORDER BY tenant_id, timestamp, id LOOP
    IF cur_tenant IS DISTINCT FROM r.tenant_id THEN
      cur_tenant := r.tenant_id; n := 0; prev := NULL;
    END IF;
    n := n + 1;
    r.seq := n;
    r.prev_hash := prev;
    UPDATE audit_logs SET seq = n, prev_hash = prev, row_hash = vigil_audit_hash(r::audit_logs)
      WHERE tenant_id = r.tenant_id AND id = r.id RETURNING row_hash INTO prev;
    INSERT INTO tenant_counters (tenant_id, name, value) VALUES (r.tenant_id, 'audit', n)
      ON CONFLICT (tenant_id, name) DO UPDATE SET value = excluded.value;
  END LOOP;
END $$;

CREATE TRIGGER trg_audit_logs_chain BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION vigil_audit_chain();
