-- 0006_audit_hash_chain (down): hand-written
DROP TRIGGER IF EXISTS trg_audit_logs_chain ON audit_logs;
DROP FUNCTION IF EXISTS vigil_audit_chain();
DROP FUNCTION IF EXISTS vigil_audit_hash(audit_logs);
DELETE FROM tenant_counters WHERE name = 'audit';
