-- 0011_console_seq_window (up): hand-written
-- The console's view shows only the events of a seq window when the application sets one (a scheduled query
-- rule reads just the events stored since its watermark). The settings are set by vigil_app before it
-- switches to vigil_log_reader, which cannot call set_config (0009); unset, the view shows every event of
-- the tenant, as before. The tenant policy still applies (security_invoker).
CREATE OR REPLACE VIEW vigil_logs.logs WITH (security_invoker = true) AS
  SELECT tenant_id, id, seq, "timestamp", raw, appname, file, host, hostname, message, procid, source_type,
         normalized, metadata, ingestion_time, source_id, original
    FROM log_events
   WHERE seq > coalesce(nullif(current_setting('vigil.logs_after_seq', true), '')::bigint, 0)
     AND seq <= coalesce(nullif(current_setting('vigil.logs_upto_seq', true), '')::bigint, 9223372036854775807);
