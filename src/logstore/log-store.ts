/**
 * The log store (seed 002's DuckDBManager, multi-tenant): two implementations behind one interface and one
 * test suite (test/logstore/): DuckDB (embedded default, `<dataDir>/logs.duckdb`) and PostgreSQL (a
 * time-partitioned `log_events` table in the relational database).
 *
 * Every method is tenant-first; no method returns another tenant's rows. Values reach SQL only as
 * parameters; field names only from LOG_FILTER_COLUMNS or NORMALIZED_FIELD (checked, then mapped).
 */
import type { DetectionRuleInput, DetectOptions, DetectResult } from './detect.ts';
import type { EncodedAppendBatch, EventEncoding } from './encoding.ts';
import type {
  AppendBatch,
  AppendResult,
  ConsoleResult,
  HistogramBucket,
  LogEventRow,
  LogPage,
  LogQuery,
  QuarantineRow,
  StreamCheckpoint,
  TopValue,
} from '../domain/log-event.ts';

export type LogStoreKind = 'duckdb' | 'postgres';

export interface ConsoleOptions {
  /** At most this many rows come back (default 1,000; `truncated` tells when more existed). */
  maxRows?: number;
  /** The query is cancelled after this long (default 10,000 ms): a ValidationError names the limit. */
  timeoutMs?: number;
  /**
   * Only events with afterSeq < seq <= uptoSeq are in `logs` (a scheduled query rule's window). Default: all
   * of the tenant's events.
   */
  seqRange?: { afterSeq: number; uptoSeq: number };
}

export interface LogStore {
  readonly kind: LogStoreKind;

  /** Create the store's tables if needed (idempotent). */
  init(): Promise<void>;

  /**
   * Store a batch in one transaction: events whose id is new for the tenant are inserted (with increasing
   * seq), the others counted as duplicates; quarantine rows are stored; the checkpoint, if any, is saved.
   * Either all of it commits or none.
   */
  append(batch: AppendBatch): Promise<AppendResult>;

  /** How append wants events encoded (encodeEvents in encoding.ts), so another thread can do it. */
  readonly eventEncoding: EventEncoding;

  /** Events per append the store handles best, for inputs that can batch freely (files, stdin). */
  readonly preferredBatchSize: number;

  /** append, with the events already encoded by encodeEvents(this.eventEncoding, ...) (checked and deduplicated). */
  appendEncoded(batch: EncodedAppendBatch): Promise<AppendResult>;

  /** seed 002 fetch_logs: by time range and filters, newest first, keyset-paged. */
  fetchLogs(tenantId: string, query?: LogQuery): Promise<LogPage>;
  /** seed 002 fetch_recent_logs: the last `minutes` minutes (by event time). */
  fetchRecent(tenantId: string, minutes: number, query?: Omit<LogQuery, 'from' | 'to'>): Promise<LogPage>;
  /** seed 002 count_logs. */
  count(tenantId: string, query?: Omit<LogQuery, 'limit' | 'cursor'>): Promise<number>;
  /** Most frequent values of a field (a column or `normalized.<key>`), most frequent first. */
  topValues(
    tenantId: string,
    field: string,
    query?: Omit<LogQuery, 'limit' | 'cursor'>,
    limit?: number,
  ): Promise<TopValue[]>;
  /** Event counts per time bucket of `intervalSeconds`, oldest first; empty buckets left out. */
  histogram(
    tenantId: string,
    intervalSeconds: number,
    query?: Omit<LogQuery, 'limit' | 'cursor'>,
  ): Promise<HistogramBucket[]>;

  /**
   * seed 002 execute_query, sandboxed: one read-only SELECT over the tenant's own events, visible as the
   * table `logs` with the columns of LogEventRow (snake_case). Anything else (writes, DDL, several statements,
   * other tables, file or extension access, settings) is refused with a ValidationError saying why.
   */
  console(tenantId: string, sql: string, opts?: ConsoleOptions): Promise<ConsoleResult>;

  /**
   * Run detection rules (mapped Sigma trees) over the tenant's events with afterSeq < seq <= uptoSeq: per rule,
   * how many events match and the first of them. A rule this store cannot compile or run is reported in
   * `errors` and the others still run. Reads only; never another tenant's events.
   */
  detect(tenantId: string, rules: readonly DetectionRuleInput[], opts: DetectOptions): Promise<DetectResult>;

  /** Events with seq > afterSeq in seq order (the periodic fetcher). */
  readSince(tenantId: string, afterSeq: number, limit: number): Promise<LogEventRow[]>;
  /** Highest seq stored for the tenant (0 when none). */
  maxSeq(tenantId: string): Promise<number>;

  getCheckpoint(tenantId: string, streamKey: string): Promise<StreamCheckpoint | undefined>;

  /** Quarantined records, newest first. */
  listQuarantine(
    tenantId: string,
    opts?: { runId?: string; limit?: number; offset?: number },
  ): Promise<{ items: QuarantineRow[]; total: number }>;

  /**
   * Drop whole time partitions older than the longest retention of every tenant (stores that partition:
   * PostgreSQL). Their rows are past every tenant's cut-off, so this only does at once what purge would do.
   */
  dropExpiredPartitions?(now?: Date): Promise<{ cutoff: Date | null; dropped: string[] }>;

  /** Delete the tenant's events older than `before` (and quarantine rows received before it). */
  purge(tenantId: string, before: Date): Promise<{ events: number; quarantined: number }>;

  close(): Promise<void>;
}

export type { LogEventRow };
