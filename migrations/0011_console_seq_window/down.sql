-- 0011_console_seq_window (down): hand-written
CREATE OR REPLACE VIEW vigil_logs.logs WITH (security_invoker = true) AS
  SELECT tenant_id, id, seq, "timestamp", raw, appname, file, host, hostname, message, procid, source_type,
         normalized, metadata, ingestion_time, source_id, original
    FROM log_events;
