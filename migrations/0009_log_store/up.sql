-- 0009_log_store (up): hand-written
-- The PostgreSQL log store (src/logstore/postgres): seed 002's `logs`, multi-tenant, in a table partitioned by
-- event time, with its quarantine, stream checkpoints and per-tenant ingest sequence; and the read-only
-- sandbox of the log console.
--
-- * log_events is PARTITION BY RANGE ("timestamp"): one partition per UTC day, created on demand by the store
--   (as the owner) before an append needs it, in the schema vigil_log_partitions, to which neither the
--   application role nor the console role has any access: they reach events only through the parent, where
--   row-level security applies. A DEFAULT partition catches what no daily partition covers.
-- * The primary key (tenant_id, timestamp, id) must contain the partition key; the pipeline gives a
--   re-ingested event the same id and the same timestamp, so it is the deduplication key.
-- * seq numbers a tenant's events in commit order: the append transaction locks the tenant's log_seq row
--   first, so appends of one tenant commit one after another.
-- * The console runs a user's SELECT as vigil_log_reader, which can read only vigil_logs.logs (a
--   security_invoker view over log_events, so the tenant policy applies) and cannot call set_config (which
--   would let a query switch tenant, or RESET ROLE back to the login role, mid-statement).

CREATE TABLE log_events (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  seq bigint NOT NULL,
  "timestamp" timestamptz NOT NULL,
  raw text NOT NULL,
  appname text,
  file text,
  host text,
  hostname text,
  message text,
  procid bigint,
  source_type text NOT NULL,
  normalized jsonb NOT NULL DEFAULT '{}'::jsonb,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  ingestion_time timestamptz NOT NULL DEFAULT now(),
  source_id uuid,
  original jsonb,
  CONSTRAINT log_events_pkey PRIMARY KEY (tenant_id, "timestamp", id)
) PARTITION BY RANGE ("timestamp");
-- The periodic fetcher (readSince) and maxSeq; time-range reads use the primary key.
CREATE INDEX ix_log_events_tenant_seq ON log_events (tenant_id, seq);

CREATE SCHEMA vigil_log_partitions;
REVOKE ALL ON SCHEMA vigil_log_partitions FROM PUBLIC;
CREATE TABLE vigil_log_partitions.log_events_default PARTITION OF log_events DEFAULT;

CREATE TABLE log_seq (
  tenant_id uuid NOT NULL,
  last_seq bigint NOT NULL DEFAULT 0,
  CONSTRAINT log_seq_pkey PRIMARY KEY (tenant_id)
);

CREATE TABLE log_quarantine (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  run_id uuid,
  source_id uuid,
  input text,
  "position" bigint,
  line bigint,
  reason text NOT NULL,
  raw bytea NOT NULL,
  raw_size bigint NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT log_quarantine_pkey PRIMARY KEY (tenant_id, id)
);
CREATE INDEX ix_log_quarantine_tenant_received ON log_quarantine (tenant_id, received_at DESC, id);
CREATE INDEX ix_log_quarantine_tenant_run ON log_quarantine (tenant_id, run_id, received_at DESC);

CREATE TABLE ingest_checkpoints (
  tenant_id uuid NOT NULL,
  stream_key text NOT NULL,
  "offset" bigint NOT NULL,
  records bigint NOT NULL,
  path text,
  first_seen timestamptz NOT NULL,
  -- the event id chain's state after the last consumed record, and a hash of the stream's first 4 KiB
  chain text,
  head_hash text,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ingest_checkpoints_pkey PRIMARY KEY (tenant_id, stream_key)
);

-- Tenant isolation, as migration 0005. On a partitioned table the parent's policy applies to every query
-- through the parent; the partitions themselves are unreachable (their schema grants nothing).
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['log_events', 'log_seq', 'log_quarantine', 'ingest_checkpoints']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = vigil_current_tenant()) '
                   'WITH CHECK (tenant_id = vigil_current_tenant())', t);
    EXECUTE format('REVOKE ALL ON TABLE %I FROM PUBLIC', t);
  END LOOP;
END $$;

-- The application: events are immutable once stored (append, read, purge).
GRANT SELECT, INSERT, DELETE ON log_events TO vigil_app;
REVOKE UPDATE, TRUNCATE ON log_events FROM vigil_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON log_seq, log_quarantine, ingest_checkpoints TO vigil_app;

-- The console role. Roles are cluster-wide: another database of this cluster may have created it already.
DO $$
BEGIN
  CREATE ROLE vigil_log_reader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END $$;
-- SET ROLE checks the session user's membership: a dedicated application login (a member of vigil_app) may
-- then switch to the reader for a console query. vigil_app gains nothing it could not already read.
GRANT vigil_log_reader TO vigil_app;

CREATE SCHEMA vigil_logs;
REVOKE ALL ON SCHEMA vigil_logs FROM PUBLIC;
CREATE VIEW vigil_logs.logs WITH (security_invoker = true) AS
  SELECT tenant_id, id, seq, "timestamp", raw, appname, file, host, hostname, message, procid, source_type,
         normalized, metadata, ingestion_time, source_id, original
    FROM log_events;
GRANT USAGE ON SCHEMA vigil_logs TO vigil_log_reader;
GRANT SELECT ON vigil_logs.logs TO vigil_log_reader;
-- security_invoker: the reader's own SELECT on the table is checked, and the tenant policy applies to it.
GRANT SELECT ON log_events TO vigil_log_reader;

-- A SELECT can call set_config(): as the reader it could set vigil.tenant_id to another tenant mid-query, or
-- set role to `none` and become the login role (SET ROLE membership is checked against the session user).
-- Only the application role (and its members) may call it in this database. This needs the owner of
-- pg_catalog (a superuser); where the migration runs without one the REVOKE does nothing, and the console
-- refuses to run until an administrator has run these statements (the store checks the privilege).
REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) TO vigil_app;
