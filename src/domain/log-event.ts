/**
 * The log event model (seed 002's `logs` table, multi-tenant) shared by the ingest pipeline, the two log
 * stores (DuckDB, PostgreSQL) and their readers. Column names in the stores are the snake_case of these keys.
 *
 *   tenant_id, id, seq, timestamp, raw, appname, file, host, hostname, message, procid, source_type,
 *   normalized, metadata, ingestion_time, source_id, original
 */

/** One event as the pipeline hands it to a store. */
export interface LogEventInput {
  tenantId: string;
  /** Stable event id (UUID text), derived from the input so re-ingesting the same input gives the same id. */
  id: string;
  /** Event time (UTC). Parsed from the event; when it has none, the pipeline supplies one (see metadata). */
  timestamp: Date;
  /** The record exactly as received (one line, or one JSON value's text). */
  raw: string;
  appname: string | null;
  /** The input the event came from: a file path, `stdin`, `http`, `syslog-udp://1.2.3.4`. */
  file: string | null;
  /** Host that produced the event (syslog HOSTNAME, Windows Computer, JSON host). */
  host: string | null;
  /** Host as the collector saw it (the sending address for syslog), else as `host`. */
  hostname: string | null;
  message: string | null;
  procid: number | null;
  /** Parser that produced it: `syslog_rfc3164`, `syslog_rfc5424`, `apache_error`, `json`, `windows_event`,
   *  `auditd`, `cef`, `csv`, `text`. */
  sourceType: string;
  /** What could be known, in Vigil's field names (see src/ingest/normalize.ts). */
  normalized: Record<string, unknown>;
  /** Ingest facts: run id, input position, parser notes. */
  metadata: Record<string, unknown>;
  sourceId: string | null;
  /** The structured event as received (JSON inputs); null for text lines. */
  original: unknown;
}

/** One stored event as read back. */
export interface LogEventRow extends LogEventInput {
  /**
   * Ingest sequence number, increasing in commit order within a tenant (the periodic fetcher's watermark):
   * store-wide in DuckDB, a per-tenant counter in PostgreSQL. Never reused, never out of commit order.
   */
  seq: number;
  ingestionTime: Date;
}

/** A record that could not become an event: kept with its reason, never silently dropped. */
export interface QuarantineInput {
  tenantId: string;
  id: string;
  /** The ingestion run it belongs to (ingestion_runs.id), if any. */
  runId: string | null;
  sourceId: string | null;
  /** Input name, as LogEventInput.file. */
  input: string | null;
  /** Byte offset of the record in its input (or its index in an HTTP batch). */
  position: number | null;
  /** 1-based line number in its input, when it has one. */
  line: number | null;
  /** Why it was rejected: `invalid_utf8`, `oversized`, `invalid_json`, `parse_error: ...`. */
  reason: string;
  /** The record's bytes, cut to the quarantine bound (rawSize keeps the real size). */
  raw: Uint8Array;
  rawSize: number;
}

export interface QuarantineRow extends QuarantineInput {
  receivedAt: Date;
}

/**
 * Where a stream (a file, identified by its content, not its path) was read up to. Committed in the same
 * transaction as the events before `offset`, so a crash never loses or doubles a line.
 */
export interface StreamCheckpoint {
  tenantId: string;
  /** Identity of the stream (hash of tenant, source and the file's first line). */
  streamKey: string;
  /** Bytes consumed (every record before this offset is stored or quarantined). */
  offset: number;
  /** Records consumed before `offset`. */
  records: number;
  /** Last path it was read from (informational). */
  path: string | null;
  /** Time given to events of this stream that carry none, until one with a time is seen. */
  firstSeen: Date;
  /** Event id chain state after the last consumed record (src/ingest/event-id.ts EventIdChain). */
  chain?: string | null;
  /**
   * SHA-256 of the stream's first min(offset, 4096) bytes: a file that merely shares the first line is not
   * resumed from this checkpoint.
   */
  headHash?: string | null;
  updatedAt: Date;
}

/** Fields a filter, top-values or histogram may name: the columns, or `normalized.<key>`. */
export const LOG_FILTER_COLUMNS = [
  'appname',
  'file',
  'host',
  'hostname',
  'procid',
  'source_type',
  'source_id',
  'id',
] as const;
export type LogFilterColumn = (typeof LOG_FILTER_COLUMNS)[number];

/** `normalized.<key>` keys: letters, digits, `_` and `.` for nesting (e.g. `normalized.event_data.Image`). */
export const NORMALIZED_FIELD =
  /^normalized\.[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,4}$/;

export interface LogQuery {
  /** Inclusive lower bound on timestamp. */
  from?: Date;
  /** Exclusive upper bound on timestamp. */
  to?: Date;
  /** Equality filters: a column or `normalized.<key>` -> value (or any of several values). */
  filters?: Record<string, string | number | (string | number)[]>;
  /**
   * Case-insensitive substring of the raw record, or of the message of a structured record (json,
   * windows_event, csv, cef: their raw text escapes what the message holds decoded). A text line's message is
   * a piece of its raw line, so it is not searched twice.
   */
  text?: string;
  /** Page size (default 100, max 10,000). */
  limit?: number;
  /** Opaque cursor from the previous page (newest first, by timestamp then id). */
  cursor?: string;
}

export interface LogPage {
  items: LogEventRow[];
  /** Cursor for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export interface TopValue {
  value: string | null;
  count: number;
}

export interface HistogramBucket {
  /** Start of the bucket. */
  start: Date;
  count: number;
}

export interface ConsoleResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  /** True when the row cap cut the result. */
  truncated: boolean;
  elapsedMs: number;
}

export interface AppendBatch {
  tenantId: string;
  events: LogEventInput[];
  quarantine: QuarantineInput[];
  /** Committed atomically with the events and quarantine rows. */
  checkpoint?: Omit<StreamCheckpoint, 'updatedAt'>;
}

export interface AppendResult {
  /** Events newly stored. */
  inserted: number;
  /** Events whose id was already stored for this tenant (not stored again). */
  duplicates: number;
  quarantined: number;
  /** Highest seq assigned by this append (0 when nothing was inserted). */
  lastSeq: number;
}
