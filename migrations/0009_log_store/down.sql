-- 0009_log_store (down): hand-written
GRANT EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) TO PUBLIC;
REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM vigil_app;
DROP SCHEMA vigil_logs CASCADE;
DROP TABLE log_events CASCADE;
DROP SCHEMA vigil_log_partitions CASCADE;
DROP TABLE ingest_checkpoints CASCADE;
DROP TABLE log_quarantine CASCADE;
DROP TABLE log_seq CASCADE;
-- vigil_log_reader is cluster-wide and may serve other databases: its grants here went with the objects above;
-- the role and its membership in vigil_app stay, as vigil_app does (migration 0005).
