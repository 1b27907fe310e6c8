/**
 * Records in, batches out: what the ingest pipeline does with each framed record between the framer and the
 * store. Pure (no I/O), so it runs the same on the main thread and on the ingest worker thread.
 *
 * Each record gets the next id of the stream's chain (event-id.ts), then is parsed: an event, a rejection
 * (quarantined with its reason and its raw bytes, bounded) or a skip (a CSV header). Counts travel with each
 * batch, so `read = accepted + rejected + duplicates` can be kept by whoever stores it; the batch also carries
 * how far the stream was consumed (offset, records, chain state): the checkpoint that commits with it.
 */
import type { DeclaredLogsource } from '../domain/schemas/log.schema.ts';
import type { LogEventInput, QuarantineInput } from '../domain/log-event.ts';
import type { EventIdChain } from './event-id.ts';
import type { FramedRecord } from './framing.ts';
import type { StreamParser } from './types.ts';

export interface RecordBatcherOptions<B> extends RecordBatcherSettings {
  ids: EventIdChain;
  parser: StreamParser;
  /** Where the events go as they are made (a store's encoder: src/logstore/encoding.ts createEventSink). */
  sink: EventSink<B>;
}

/**
 * Takes a batch's events one at a time and gives them back as a batch (B) at take(). A store's encoder checks
 * and encodes each event as it comes, so the event objects die young instead of living until the batch ends.
 */
export interface EventSink<B> {
  /** Add an event (throws when the store could not take it). */
  add(event: LogEventInput): void;
  /** Events added since the last take(). */
  readonly size: number;
  /** The events added, as a batch; the sink starts empty again. */
  take(): B;
}

/** The plain-data part of the options (what a worker thread is sent). */
export interface RecordBatcherSettings {
  tenantId: string;
  sourceId: string | null;
  /** Input name (LogEventInput.file, QuarantineInput.input). */
  input: string;
  runId: string;
  /** Stored on every event as metadata.logsource. */
  logsource?: DeclaredLogsource | undefined;
  quarantineMaxBytes: number;
  /** Events plus quarantined records per batch. */
  batchSize: number;
  /** Where the stream was consumed up to before (a resumed checkpoint), else 0. */
  offset?: number | undefined;
  records?: number | undefined;
}

/** Counts of one batch (what the run summary adds up). */
export interface BatchCounts {
  /** Records read (blank lines and skipped records excluded). */
  read: number;
  skipped: number;
  blank: number;
  /** Rejections by reason (the part before the first colon). */
  reasons: Record<string, number>;
}

export interface RecordBatch<B> {
  events: B;
  quarantine: QuarantineInput[];
  counts: BatchCounts;
  /** Consumed so far, this batch included: bytes of the stream, records, and the id chain's state. */
  offset: number;
  records: number;
  chain: string;
}

const noCounts = (): BatchCounts => ({ read: 0, skipped: 0, blank: 0, reasons: {} });

export class RecordBatcher<B> {
  readonly #o: RecordBatcherOptions<B>;
  readonly #logsource: DeclaredLogsource | undefined;
  readonly #events: EventSink<B>;
  #quarantine: QuarantineInput[] = [];
  #counts = noCounts();
  #offset: number;
  #records: number;
  #lastTs: Date | null = null;

  constructor(options: RecordBatcherOptions<B>) {
    this.#o = options;
    this.#events = options.sink;
    this.#logsource = options.logsource;
    this.#offset = options.offset ?? 0;
    this.#records = options.records ?? 0;
  }

  get tenantId(): string {
    return this.#o.tenantId;
  }

  /** The batch is full: take() it before the next record. */
  get full(): boolean {
    return this.#events.size + this.#quarantine.length >= this.#o.batchSize;
  }

  /** Events or quarantined records wait to be taken. */
  get hasRecords(): boolean {
    return this.#events.size > 0 || this.#quarantine.length > 0;
  }

  /** How far the stream is consumed (what take() would report). */
  get offset(): number {
    return this.#offset;
  }

  /** A blank line: consumed, not a record. */
  blank(end: number): void {
    this.#offset = end;
    this.#counts.blank += 1;
  }

  /**
   * One record. `fallbackTs` is the time of an event that has none and follows no event that has one (the
   * stream's first-seen time); `peer` is the transport's host (a syslog sender), when there is one.
   */
  record(rec: FramedRecord, fallbackTs: Date, peer: string | null): void {
    this.#offset = rec.end;
    const id = this.#o.ids.next(rec.offset, rec.bytes);
    if (rec.error || rec.text === null) {
      this.#counts.read += 1;
      this.#records += 1;
      this.#reject(rec, id, rec.error ?? 'invalid_utf8');
      return;
    }
    const r = this.#o.parser.parse(rec.text);
    if (!r.ok && r.skip) {
      this.#counts.skipped += 1;
      return;
    }
    this.#counts.read += 1;
    this.#records += 1;
    if (!r.ok) {
      this.#reject(rec, id, r.reason);
      return;
    }
    const ev = r.event;
    let ts = ev.timestamp;
    const metadata: Record<string, unknown> =
      rec.line !== null
        ? { run: this.#o.runId, offset: rec.offset, line: rec.line }
        : { run: this.#o.runId, offset: rec.offset };
    if (ev.notes?.length) metadata.notes = ev.notes;
    if (this.#logsource) metadata.logsource = { ...this.#logsource };
    if (ts) this.#lastTs = ts;
    else {
      ts = this.#lastTs ?? fallbackTs;
      metadata.time_inferred = this.#lastTs ? 'previous_event' : 'stream_first_seen';
    }
    this.#events.add({
      tenantId: this.#o.tenantId,
      id,
      timestamp: ts,
      raw: rec.text,
      appname: ev.appname,
      file: this.#o.input,
      host: ev.host,
      hostname: peer ?? ev.host,
      message: ev.message,
      procid: ev.procid,
      sourceType: ev.sourceType,
      normalized: ev.normalized,
      metadata,
      sourceId: this.#o.sourceId,
      original: ev.original ?? null,
    });
  }

  /** The pending batch (possibly empty), with its counts and the consumed position; starts a new one. */
  take(): RecordBatch<B> {
    const batch: RecordBatch<B> = {
      events: this.#events.take(),
      quarantine: this.#quarantine,
      counts: this.#counts,
      offset: this.#offset,
      records: this.#records,
      chain: this.#o.ids.state,
    };
    this.#quarantine = [];
    this.#counts = noCounts();
    return batch;
  }

  #reject(rec: FramedRecord, id: string, reason: string): void {
    const key = reason.split(':')[0]!.trim() || reason;
    this.#counts.reasons[key] = (this.#counts.reasons[key] ?? 0) + 1;
    const max = this.#o.quarantineMaxBytes;
    const raw = rec.bytes.length > max ? rec.bytes.subarray(0, max) : rec.bytes;
    this.#quarantine.push({
      tenantId: this.#o.tenantId,
      id,
      runId: this.#o.runId,
      sourceId: this.#o.sourceId,
      input: this.#o.input,
      position: rec.offset,
      line: rec.line,
      reason,
      raw: new Uint8Array(raw),
      rawSize: rec.size,
    });
  }
}
