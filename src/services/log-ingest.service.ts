/**
 * The ingest pipeline: bytes in (a file, stdin, an HTTP body, syslog messages), events out into the log store.
 *
 *   frame (lines | JSON values; oversized / non-UTF-8 caught) -> parse + normalise (auto or forced format)
 *   -> stable event id -> batch -> LogStore.append (events + quarantine + stream checkpoint, one transaction)
 *
 * Nothing lost, nothing doubled:
 * - every record read ends as exactly one of accepted, rejected (quarantined with its reason and raw bytes)
 *   or duplicate, so `read = accepted + rejected + duplicates` holds for every run (blank lines are not
 *   records; CSV header lines are counted apart as `skipped`);
 * - event ids are a SHA-256 chain over each record's position and bytes (src/ingest/event-id.ts
 *   EventIdChain), seeded with the tenant, the source and the stream's first line: the same input (a file
 *   read again, a copy of it, a retried HTTP batch) yields the same ids, and the store drops them;
 * - a file's checkpoint (bytes and records consumed, the chain's state, a fingerprint of its head and of the
 *   bytes before the offset) commits with the batch that consumed them, so after a crash the next run of the
 *   same file resumes where the last commit ended: each line stored exactly once.
 *
 * Every run is an `ingestion_runs` row (kind `logs`): read -> records_fetched, accepted -> records_inserted,
 * rejected -> records_failed, duplicates -> records_duplicate.
 */
import { open as openFile, stat } from 'node:fs/promises';
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { checkDeclaredLogsource, type DeclaredLogsource } from '../domain/schemas/log.schema.ts';
import { isUuid } from '../domain/ids.ts';
import type { AppendResult, StreamCheckpoint } from '../domain/log-event.ts';
import { EventIdChain, streamKey as makeStreamKey } from '../ingest/event-id.ts';
import { frameBatches, type FramedRecord, type FramingMode } from '../ingest/framing.ts';
import { createStreamParser } from '../ingest/index.ts';
import { RecordBatcher, type BatchCounts } from '../ingest/record-batcher.ts';
import { createEventSink, type EncodedAppendBatch, type EncodedEvents } from '../logstore/encoding.ts';
import { joinParts, parseFileInWorker, WORKER_PART_SIZE, type PreparedBatch } from './ingest-worker.ts';
import { isValidTimeZone } from '../ingest/timestamp.ts';
import { LOG_FORMATS, type LogFormat, type StreamParser } from '../ingest/types.ts';
import type { LogStore } from '../logstore/log-store.ts';
import type { IngestionRunRepository } from '../repositories/ingestion-run.repository.ts';
import type { SourceRepository } from '../repositories/source.repository.ts';
import type { TenantRepository } from '../repositories/tenant.repository.ts';

export interface IngestSettings {
  timezone: string;
  /** Events per batch; unset: the store's preferredBatchSize. */
  batchSize?: number | undefined;
  /** Parse files of at least workerMinBytes on a worker thread (ingest-worker.ts). */
  workerThread: boolean;
  workerMinBytes: number;
  /** Records per part the worker posts (default WORKER_PART_SIZE); parts are joined into batches. */
  workerPartSize?: number | undefined;
  maxRecordBytes: number;
  quarantineMaxBytes: number;
}

export interface IngestProgress {
  input: string;
  bytes: number;
  /** Total bytes when known (files). */
  totalBytes: number | null;
  read: number;
  accepted: number;
  rejected: number;
  duplicates: number;
}

export interface IngestSummary {
  runId: string;
  input: string;
  format: LogFormat;
  /** Records read (blank lines excluded): read = accepted + rejected + duplicates. */
  read: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  /** Of the duplicates, records skipped without re-reading because a checkpoint said they were stored. */
  resumed: number;
  /** Records that are not events: CSV header lines. */
  skipped: number;
  /** Blank lines (not records). */
  blank: number;
  bytes: number;
  elapsedMs: number;
  eventsPerSecond: number;
  /** Rejections by reason. */
  rejectReasons: Record<string, number>;
}

export interface IngestTarget {
  /** Tenant id or slug. */
  tenant: string;
  /** Source of that tenant (id or name), if any. */
  source?: string | undefined;
}

export interface IngestOptions {
  format?: LogFormat | undefined;
  timezone?: string | undefined;
  /** Run label (ingestion_runs.label). */
  label?: string | undefined;
  /** Use the stream checkpoint to skip what is already stored (default true). */
  resume?: boolean | undefined;
  onProgress?: ((p: IngestProgress) => void) | undefined;
  /** Stop between batches (graceful cancel). */
  signal?: AbortSignal | undefined;
  /**
   * The Sigma logsource the source declares for these events, stored on each as metadata.logsource: rules
   * for logsources no Vigil parser maps run on events that declare them (src/sigma/pipelines/declared.yml).
   */
  logsource?: DeclaredLogsource | undefined;
}

export interface FollowOptions extends IngestOptions {
  /** How often to look for new lines (default 1000 ms). */
  pollMs?: number | undefined;
  /** Following stops when this aborts. */
  signal: AbortSignal;
  /** Called after each run that read something. */
  onRun?: ((s: IngestSummary) => void) | undefined;
}

interface StreamOptions extends IngestOptions {
  /** Read only up to this byte offset (follow: the end of the last complete line). */
  upTo?: number | undefined;
  /** Return null without opening a run when the checkpoint says there is nothing new. */
  skipIfCurrent?: boolean | undefined;
}

/** One record of an already-framed batch (HTTP, syslog). */
export interface InputRecord {
  /** The record's text (null when it could not be decoded). */
  text: string | null;
  bytes?: Uint8Array | undefined;
  error?: 'invalid_utf8' | 'oversized' | 'invalid_json' | 'blank' | null | undefined;
  /** Real size when `bytes` was cut (oversized). */
  size?: number | undefined;
  /** Line number in the request body, when it has lines. */
  line?: number | null | undefined;
  /** Extra host information from the transport (the syslog peer address). */
  peer?: string | undefined;
}

interface Resolved {
  tenantId: string;
  sourceId: string | null;
  sourceKey: string;
}

const HEAD_BYTES = 4096;

/** Stores prepared batches in order, one append in flight while the next batch is prepared. */
interface BatchWriter {
  /**
   * Store a batch (its counts go to the run at once). `final`: the stream's last batch; the position it reaches
   * is saved even when the batch holds nothing (trailing blank lines), and every append is awaited.
   */
  write(batch: PreparedBatch, final: boolean): Promise<void>;
}

export class LogIngestService {
  #opened: Promise<LogStore> | undefined;

  constructor(
    private readonly openStore: () => Promise<LogStore>,
    private readonly tenants: TenantRepository,
    private readonly sources: SourceRepository,
    private readonly runs: IngestionRunRepository,
    private readonly settings: IngestSettings,
  ) {}

  /**
   * The log store. The DuckDB store is one process's at a time (a file lock), so when this process opens it,
   * every log ingestion run still `running` from before belongs to a process that died mid-run (kill -9, a
   * crash): those runs are closed as failed, and the next run of the same input resumes from its checkpoint.
   */
  store(): Promise<LogStore> {
    this.#opened ??= (async () => {
      const openedAt = new Date();
      const store = await this.openStore();
      if (store.kind === 'duckdb') {
        await this.runs.abandon(
          'logs',
          openedAt,
          'interrupted: the process ended before the run finished; what it committed is kept, and the next run of the same input resumes after it',
        );
      }
      return store;
    })().catch((e: unknown) => {
      this.#opened = undefined;
      throw e;
    });
    return this.#opened;
  }

  /** The tenant and source named by a caller (id, slug or name), or NotFound. */
  async resolve(target: IngestTarget): Promise<Resolved> {
    const tenant = await this.tenants.getByRef(target.tenant);
    if (!tenant) throw new NotFoundError('tenant', target.tenant);
    if (!target.source) return { tenantId: tenant.id, sourceId: null, sourceKey: '' };
    const ref = target.source;
    let source = isUuid(ref) ? await this.sources.get(tenant.id, ref) : undefined;
    if (!source) {
      const page = await this.sources.list(tenant.id, { filters: { q: ref }, limit: 100 });
      source = page.items.find((s) => s.name === ref);
    }
    if (!source) throw new NotFoundError('source', ref);
    return { tenantId: tenant.id, sourceId: source.id, sourceKey: source.id };
  }

  /** Ingest a file, resuming from its checkpoint when it was (partly) ingested before. */
  async ingestFile(target: IngestTarget, path: string, opts: IngestOptions = {}): Promise<IngestSummary> {
    return (await this.#ingestFile(target, path, opts))!;
  }

  /**
   * Follow a file like `tail -F`: ingest what is there, then every complete line appended to it, until
   * `signal` aborts. A line still being written (no newline yet) waits for its newline. The offset lives in
   * the stream checkpoint, so a restart resumes without duplicates or gaps; a rotated file (a new first
   * line) is a new stream, read from its start.
   */
  async follow(target: IngestTarget, path: string, opts: FollowOptions): Promise<void> {
    const pollMs = opts.pollMs ?? 1000;
    while (!opts.signal.aborted) {
      const upTo = await completeLinesEnd(path);
      if (upTo !== null && upTo > 0) {
        const r = await this.#ingestFile(target, path, { ...opts, upTo, skipIfCurrent: true });
        if (r) opts.onRun?.(r);
      }
      await sleep(pollMs, opts.signal);
    }
  }

  async #ingestFile(target: IngestTarget, path: string, opts: StreamOptions): Promise<IngestSummary | null> {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new NotFoundError('file', path);
    }
    if (!info.isFile())
      throw new ValidationError(`${path} is not a regular file`, [{ path: 'file', message: 'not a file' }]);
    const head = await readHead(path);
    const size = opts.upTo !== undefined ? Math.min(opts.upTo, info.size) : info.size;
    return this.#ingestStream(
      target,
      {
        name: path,
        path,
        head: head.subarray(0, size),
        fingerprint: fileFingerprint(path, head),
        size,
        referenceTime: info.mtime,
        open: (offset) =>
          offset >= size
            ? emptyStream()
            : createReadStream(path, { start: offset, end: size - 1, highWaterMark: 1 << 20 }),
      },
      opts,
    );
  }

  /**
   * Ingest a byte stream that cannot be reopened (stdin). It keeps no checkpoint: piping the same input again
   * reads it whole, and its records come out as duplicates (their ids are already stored).
   */
  async ingestChunks(
    target: IngestTarget,
    name: string,
    chunks: AsyncIterable<Uint8Array>,
    opts: IngestOptions = {},
  ): Promise<IngestSummary> {
    const { head, rest } = await peekHead(chunks, HEAD_BYTES);
    let used = false;
    return (await this.#ingestStream(
      target,
      {
        name,
        head,
        size: null,
        referenceTime: new Date(),
        open: (offset) => {
          if (used) throw new Error('a stream can be read once');
          used = true;
          return skipBytes(rest, offset);
        },
      },
      opts,
    ))!;
  }

  /**
   * Ingest records that arrived already framed (an HTTP batch, syslog messages). Ids derive from each
   * record's text and its index in the batch, so a retried batch adds nothing.
   */
  async ingestRecords(
    target: IngestTarget,
    name: string,
    records: InputRecord[],
    opts: IngestOptions = {},
  ): Promise<IngestSummary> {
    this.#checkOptions(opts);
    const resolved = await this.resolve(target);
    const store = await this.store();
    const run = await this.#startRun(resolved, name, opts);
    const state = new RunState(run.id, name, opts.format ?? 'auto', null);
    try {
      const key = makeStreamKey(resolved.tenantId, resolved.sourceKey, new TextEncoder().encode(name));
      const batcher = this.#batcher(
        store,
        resolved,
        state,
        EventIdChain.start(resolved.tenantId, resolved.sourceKey, key),
        this.#parser(opts, new Date()),
        opts,
      );
      const writer = this.#writer(store, resolved, state, undefined, 0, opts.onProgress);
      const receivedAt = new Date();
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        if (r.error === 'blank') {
          state.blank += 1;
          continue;
        }
        const rec = framedRecord(r, i);
        state.bytes += rec.bytes.length;
        batcher.record(rec, receivedAt, r.peer ?? null);
        if (batcher.full) await writer.write(batcher.take(), false);
      }
      await writer.write(batcher.take(), true);
      return this.#finish(state);
    } catch (e) {
      await this.#fail(state, e);
      throw e;
    }
  }

  /**
   * A long-lived receiver (the syslog listener): messages arrive in batches; each batch is stored at once, and
   * the counts accumulate in one ingestion run that is closed and replaced every `rotateSeconds` (so a busy
   * listener writes a run row per interval, not per batch). Ids are unique per received message: a syslog
   * message has no position to re-read, and two identical messages are two events.
   */
  continuous(
    target: IngestTarget,
    name: string,
    opts: IngestOptions & { rotateSeconds?: number } = {},
  ): { push(records: InputRecord[]): Promise<void>; close(): Promise<IngestSummary | null> } {
    this.#checkOptions(opts);
    const rotateMs = (opts.rotateSeconds ?? 300) * 1000;
    let current: {
      state: RunState;
      store: LogStore;
      batcher: RecordBatcher<EncodedEvents>;
      writer: BatchWriter;
      opened: number;
      n: number;
    } | null = null;
    let resolved: Resolved | null = null;
    let chain: Promise<unknown> = Promise.resolve();
    const close = async (): Promise<IngestSummary | null> => {
      if (!current) return null;
      const c = current;
      current = null;
      try {
        await c.writer.write(c.batcher.take(), true);
        return await this.#finish(c.state);
      } catch (e) {
        await this.#fail(c.state, e);
        throw e;
      }
    };
    const push = async (records: InputRecord[]) => {
      resolved ??= await this.resolve(target);
      if (current && performance.now() - current.opened > rotateMs) await close();
      if (!current) {
        const store = await this.store();
        const run = await this.#startRun(resolved, name, opts);
        const state = new RunState(run.id, name, opts.format ?? 'auto', null);
        current = {
          state,
          store,
          batcher: this.#batcher(
            store,
            resolved,
            state,
            EventIdChain.start(resolved.tenantId, resolved.sourceKey, `${name}:${run.id}`),
            this.#parser(opts, new Date()),
            opts,
          ),
          writer: this.#writer(store, resolved, state, undefined, 0, opts.onProgress),
          opened: performance.now(),
          n: 0,
        };
      }
      const c = current;
      const now = new Date();
      for (const r of records) {
        const rec = framedRecord(r, c.n++);
        c.state.bytes += rec.bytes.length;
        c.batcher.record(rec, now, r.peer ?? null);
        if (c.batcher.full) await c.writer.write(c.batcher.take(), false);
      }
      // Stored before the sender's batch is acknowledged: write what this batch added.
      await c.writer.write(c.batcher.take(), true);
    };
    return {
      // Batches are applied one after another, in arrival order.
      push: (records) => {
        const p = chain.then(() => push(records));
        chain = p.catch(() => undefined);
        return p;
      },
      close: () => {
        const p = chain.then(close);
        chain = p.catch(() => undefined);
        return p;
      },
    };
  }

  async #ingestStream(
    target: IngestTarget,
    input: {
      name: string;
      /** The file, when the input is one (it may then be parsed on a worker thread). */
      path?: string | undefined;
      head: Uint8Array;
      /**
       * The stream's fingerprint at `offset`: SHA-256 of its first 4 KiB and of the 4 KiB before `offset`. Only
       * a stream that can compute it (a file) keeps checkpoints and resumes; stdin is read whole every time.
       */
      fingerprint?: ((offset: number) => string) | undefined;
      size: number | null;
      referenceTime: Date;
      open: (offset: number) => AsyncIterable<Uint8Array>;
    },
    opts: StreamOptions,
  ): Promise<IngestSummary | null> {
    this.#checkOptions(opts);
    const resolved = await this.resolve(target);
    const store = await this.store();
    const format = opts.format ?? 'auto';
    const firstLine = firstRecordOf(input.head);
    const key = makeStreamKey(resolved.tenantId, resolved.sourceKey, firstLine);
    let checkpoint =
      opts.resume === false || input.head.length === 0 || !input.fingerprint
        ? undefined
        : await store.getCheckpoint(resolved.tenantId, key);
    // A file shorter than its checkpoint was rewritten: read it again (ids still keep stored events single).
    if (checkpoint && input.size !== null && checkpoint.offset > input.size) checkpoint = undefined;
    // Only the same stream resumes: its head must match what the checkpoint saw (files that merely share a
    // first line, such as CSV exports with one header, are different streams), and the id chain must go on.
    if (checkpoint && (!checkpoint.chain || checkpoint.headHash !== input.fingerprint?.(checkpoint.offset)))
      checkpoint = undefined;
    if (opts.skipIfCurrent && checkpoint && input.size !== null && checkpoint.offset >= input.size)
      return null;
    const run = await this.#startRun(resolved, input.name, opts);
    const state = new RunState(run.id, input.name, format, input.size);
    try {
      if (input.head.length === 0) return await this.#finish(state);
      const firstSeen = checkpoint?.firstSeen ?? new Date();
      const startOffset = checkpoint?.offset ?? 0;
      const prime = checkpoint ? new TextDecoder().decode(stripBom(firstLine)).replace(/\r$/, '') : undefined;
      if (checkpoint) {
        state.resumed = checkpoint.records;
        state.duplicates += checkpoint.records;
        state.read += checkpoint.records;
        state.bytes += startOffset;
      }
      const cp = {
        tenantId: resolved.tenantId,
        streamKey: key,
        path: input.name,
        firstSeen,
        fingerprint: input.fingerprint,
      };
      const chain = checkpoint?.chain
        ? EventIdChain.resume(checkpoint.chain)
        : EventIdChain.start(resolved.tenantId, resolved.sourceKey, key);
      const writer = this.#writer(
        store,
        resolved,
        state,
        input.fingerprint ? cp : undefined,
        startOffset,
        opts.onProgress,
        true,
      );
      // JSON inputs may be documents (pretty-printed, concatenated, arrays): let the framer sniff them.
      const mode: FramingMode =
        format === 'auto' || format === 'json' || format === 'windows_event' ? 'auto' : 'lines';
      const { workerThread, workerMinBytes } = this.settings;
      if (
        input.path !== undefined &&
        input.size !== null &&
        workerThread &&
        input.size - startOffset >= workerMinBytes
      ) {
        // A file big enough to be worth a thread: parsed there in small parts, stored here in batches.
        const batcher = this.#batcherOptions(
          store,
          resolved,
          state,
          opts,
          startOffset,
          checkpoint?.records ?? 0,
        );
        const parts = parseFileInWorker({
          path: input.path,
          start: startOffset,
          end: input.size,
          headBytes: startOffset > 0 ? input.head : undefined,
          mode,
          maxRecordBytes: this.settings.maxRecordBytes,
          format,
          timezone: opts.timezone ?? this.settings.timezone,
          referenceTime: input.referenceTime.getTime(),
          prime,
          fallbackTs: firstSeen.getTime(),
          chain: chain.state,
          encoding: store.eventEncoding,
          batcher: {
            ...batcher,
            batchSize: Math.min(batcher.batchSize, this.settings.workerPartSize ?? WORKER_PART_SIZE),
          },
        });
        // Parts are held until the next arrives (the last one is written as final) and joined by batchSize.
        let group: PreparedBatch[] = [];
        let size = 0;
        let last: PreparedBatch | undefined;
        for await (const part of parts) {
          if (last) {
            group.push(last);
            size += last.events.given + last.quarantine.length;
            if (size >= batcher.batchSize) {
              await writer.write(joinParts(group), false);
              group = [];
              size = 0;
            }
          }
          last = part;
          if (opts.signal?.aborted) break;
        }
        if (last) group.push(last);
        if (group.length > 0) await writer.write(joinParts(group), true);
        return await this.#finish(state);
      }
      const parser = this.#parser(opts, input.referenceTime);
      if (prime !== undefined) parser.parse(prime);
      const batcher = new RecordBatcher({
        ...this.#batcherOptions(store, resolved, state, opts, startOffset, checkpoint?.records ?? 0),
        ids: chain,
        parser,
        sink: createEventSink(store.eventEncoding, resolved.tenantId),
      });
      const batches = frameBatches(input.open(startOffset), {
        mode,
        maxRecordBytes: this.settings.maxRecordBytes,
        startOffset,
        ...(startOffset > 0 ? { headBytes: input.head } : {}),
      });
      for await (const batch of batches) {
        for (const rec of batch) {
          if (rec.error === 'blank') batcher.blank(rec.end);
          else batcher.record(rec, firstSeen, null);
          if (batcher.full) await writer.write(batcher.take(), false);
        }
        if (opts.signal?.aborted) break;
      }
      await writer.write(batcher.take(), true);
      return await this.#finish(state);
    } catch (e) {
      await this.#fail(state, e);
      throw e;
    }
  }

  /** Options every way in checks before it opens a run: a known format and time zone, a valid logsource. */
  #checkOptions(opts: IngestOptions): void {
    if (opts.logsource !== undefined) checkDeclaredLogsource(opts.logsource);
    const format = opts.format ?? 'auto';
    if (!LOG_FORMATS.includes(format))
      throw new ValidationError(`unknown format ${format}`, [
        { path: 'format', message: `one of ${LOG_FORMATS.join(', ')}` },
      ]);
    if (opts.timezone !== undefined && !isValidTimeZone(opts.timezone))
      throw new ValidationError(`unknown time zone ${opts.timezone}`, [
        { path: 'timezone', message: 'an IANA time zone such as UTC or Europe/Paris' },
      ]);
  }

  #parser(opts: IngestOptions, referenceTime: Date) {
    return createStreamParser({
      format: opts.format ?? 'auto',
      timezone: opts.timezone ?? this.settings.timezone,
      referenceTime,
    });
  }

  #batcherOptions(
    store: LogStore,
    target: Resolved,
    state: RunState,
    opts: IngestOptions,
    offset: number,
    records: number,
  ) {
    return {
      tenantId: target.tenantId,
      sourceId: target.sourceId,
      input: state.input,
      runId: state.runId,
      logsource: opts.logsource === undefined ? undefined : checkDeclaredLogsource(opts.logsource),
      quarantineMaxBytes: this.settings.quarantineMaxBytes,
      batchSize: this.settings.batchSize ?? store.preferredBatchSize,
      offset,
      records,
    };
  }

  #batcher(
    store: LogStore,
    target: Resolved,
    state: RunState,
    ids: EventIdChain,
    parser: StreamParser,
    opts: IngestOptions,
  ): RecordBatcher<EncodedEvents> {
    return new RecordBatcher({
      ...this.#batcherOptions(store, target, state, opts, 0, 0),
      ids,
      parser,
      sink: createEventSink(store.eventEncoding, target.tenantId),
    });
  }

  /**
   * Stores prepared batches for one run; with `checkpoint`, each append also saves the stream's position (a
   * stream that resumed at `startOffset` never moves it back). `stream`: batch offsets are byte positions in
   * the input (files, stdin), reported as the run's bytes.
   */
  #writer(
    store: LogStore,
    target: Resolved,
    state: RunState,
    checkpoint:
      | (Omit<StreamCheckpoint, 'updatedAt' | 'chain' | 'headHash' | 'offset' | 'records'> & {
          fingerprint: ((offset: number) => string) | undefined;
        })
      | undefined,
    startOffset = 0,
    onProgress?: (p: IngestProgress) => void,
    stream = false,
  ): BatchWriter {
    /** Offset of the last checkpoint written: a final write with nothing new (blank lines aside) is skipped. */
    let savedOffset = startOffset;
    let pending: Promise<AppendResult> | null = null;
    return {
      write: async (b, final) => {
        state.count(b.counts);
        if (stream) state.bytes = Math.max(state.bytes, b.offset);
        if (
          b.events.given > 0 ||
          b.quarantine.length > 0 ||
          (final && checkpoint && b.offset !== savedOffset)
        ) {
          const batch: EncodedAppendBatch = {
            tenantId: target.tenantId,
            events: b.events,
            quarantine: b.quarantine,
            ...(checkpoint
              ? {
                  checkpoint: {
                    tenantId: checkpoint.tenantId,
                    streamKey: checkpoint.streamKey,
                    path: checkpoint.path,
                    firstSeen: checkpoint.firstSeen,
                    offset: b.offset,
                    records: b.records,
                    chain: b.chain,
                    headHash: checkpoint.fingerprint?.(b.offset) ?? null,
                  },
                }
              : {}),
          };
          savedOffset = b.offset;
          // One batch in flight while the next is prepared; results are applied in order.
          if (pending) state.apply(await pending);
          pending = store.appendEncoded(batch);
          // Awaited by the next write; meanwhile a failure must not count as unhandled.
          pending.catch(() => undefined);
        }
        if (final && pending) {
          const last = pending;
          pending = null;
          state.apply(await last);
        }
        onProgress?.(state.progress());
      },
    };
  }

  async #startRun(target: Resolved, input: string, opts: IngestOptions) {
    return this.runs.start({
      source: `logs:${input}`.slice(0, 255),
      kind: 'logs',
      label: opts.label ?? null,
      tenantId: target.tenantId,
    });
  }

  async #finish(state: RunState): Promise<IngestSummary> {
    const summary = state.summary();
    await this.runs.finish(state.runId, {
      status: 'success',
      recordsFetched: clampInt(summary.read),
      recordsInserted: clampInt(summary.accepted),
      recordsFailed: clampInt(summary.rejected),
      recordsDuplicate: clampInt(summary.duplicates),
      details: {
        input: summary.input,
        format: summary.format,
        resumed: summary.resumed,
        skipped: summary.skipped,
        blank: summary.blank,
        bytes: summary.bytes,
        eventsPerSecond: summary.eventsPerSecond,
        rejectReasons: summary.rejectReasons,
      },
    });
    return summary;
  }

  async #fail(state: RunState, e: unknown): Promise<void> {
    const s = state.summary();
    await this.runs
      .finish(state.runId, {
        status: 'failed',
        recordsFetched: clampInt(s.read),
        recordsInserted: clampInt(s.accepted),
        recordsFailed: clampInt(s.rejected),
        recordsDuplicate: clampInt(s.duplicates),
        errorMessage: e instanceof Error ? e.message : String(e),
        details: { input: s.input, format: s.format, bytes: s.bytes },
      })
      .catch(() => undefined);
  }
}

const clampInt = (n: number) => Math.min(n, 2_147_483_647);

/** The batcher's pending batch, encoded for the store (in place: the worker does the same off-thread). */
class RunState {
  read = 0;
  accepted = 0;
  rejected = 0;
  duplicates = 0;
  resumed = 0;
  skipped = 0;
  blank = 0;
  bytes = 0;
  readonly reasons: Record<string, number> = {};
  readonly t0 = performance.now();

  constructor(
    readonly runId: string,
    readonly input: string,
    readonly format: LogFormat,
    readonly totalBytes: number | null,
  ) {}

  /** A batch's counts (records read, skipped, blank; rejections by reason). */
  count(c: BatchCounts) {
    this.read += c.read;
    this.skipped += c.skipped;
    this.blank += c.blank;
    for (const [k, n] of Object.entries(c.reasons)) this.reasons[k] = (this.reasons[k] ?? 0) + n;
  }

  apply(r: AppendResult) {
    this.accepted += r.inserted;
    this.duplicates += r.duplicates;
    this.rejected += r.quarantined;
  }

  progress(): IngestProgress {
    return {
      input: this.input,
      bytes: this.bytes,
      totalBytes: this.totalBytes,
      read: this.read,
      accepted: this.accepted,
      rejected: this.rejected,
      duplicates: this.duplicates,
    };
  }

  summary(): IngestSummary {
    const elapsedMs = performance.now() - this.t0;
    return {
      runId: this.runId,
      input: this.input,
      format: this.format,
      read: this.read,
      accepted: this.accepted,
      rejected: this.rejected,
      duplicates: this.duplicates,
      resumed: this.resumed,
      skipped: this.skipped,
      blank: this.blank,
      bytes: this.bytes,
      elapsedMs: Math.round(elapsedMs),
      eventsPerSecond: elapsedMs > 0 ? Math.round(((this.read - this.resumed) * 1000) / elapsedMs) : 0,
      rejectReasons: { ...this.reasons },
    };
  }
}

/** An already-framed record (HTTP, syslog) as the sink takes it: its index in the batch is its position. */
function framedRecord(r: InputRecord, position: number): FramedRecord {
  const bytes = r.bytes
    ? Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength)
    : Buffer.from(r.text ?? '', 'utf8');
  return {
    offset: position,
    end: position + 1,
    line: r.line ?? null,
    text: r.text,
    bytes,
    size: r.size ?? bytes.length,
    error: r.error ?? null,
  };
}

/** The first bytes of a file (for its stream identity). */
async function readHead(path: string): Promise<Uint8Array> {
  const fh = await openFile(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * A file's fingerprint at an offset: SHA-256 of its first 4 KiB and of the 4 KiB before the offset (read
 * again from the file, once per batch). Two files that share their first lines (CSV headers, pretty-printed
 * JSON events with one layout) differ in it, so one never resumes from the other's checkpoint.
 */
function fileFingerprint(path: string, head: Uint8Array): (offset: number) => string {
  return (offset) => {
    const h = createHash('sha256').update(head.subarray(0, Math.min(HEAD_BYTES, offset)));
    const from = Math.max(0, offset - HEAD_BYTES);
    const buf = Buffer.alloc(offset - from);
    const fd = openSync(path, 'r');
    try {
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, from + got);
        if (n === 0) break;
        got += n;
      }
      h.update(buf.subarray(0, got));
    } finally {
      closeSync(fd);
    }
    return h.update(`:${offset}`).digest('hex');
  };
}

/** The first record's bytes: up to the first LF (CR stripped), at most HEAD_BYTES. */
function firstRecordOf(head: Uint8Array): Uint8Array {
  const lf = head.indexOf(10);
  let end = lf === -1 ? head.length : lf;
  if (end > 0 && head[end - 1] === 13) end -= 1;
  return head.subarray(0, end);
}

function stripBom(b: Uint8Array): Uint8Array {
  return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b;
}

/** Read up to `n` bytes from a stream without losing them: `rest` yields everything, head included. */
async function peekHead(
  chunks: AsyncIterable<Uint8Array>,
  n: number,
): Promise<{ head: Uint8Array; rest: AsyncIterable<Uint8Array> }> {
  const it = chunks[Symbol.asyncIterator]();
  const taken: Uint8Array[] = [];
  let size = 0;
  let done = false;
  while (size < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    taken.push(r.value);
    size += r.value.length;
  }
  const head = Buffer.concat(taken).subarray(0, n);
  const rest: AsyncIterable<Uint8Array> = {
    async *[Symbol.asyncIterator]() {
      yield* taken;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    },
  };
  return { head, rest };
}

// eslint-disable-next-line require-yield
async function* emptyStream(): AsyncIterable<Uint8Array> {
  return;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The offset just after the last LF of a file (null when it does not exist): the complete lines' end. */
async function completeLinesEnd(path: string): Promise<number | null> {
  let fh;
  try {
    fh = await openFile(path, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(64 * 1024);
    let end = size;
    while (end > 0) {
      const start = Math.max(0, end - buf.length);
      const { bytesRead } = await fh.read(buf, 0, end - start, start);
      const i = buf.subarray(0, bytesRead).lastIndexOf(10);
      if (i !== -1) return start + i + 1;
      end = start;
    }
    return 0;
  } finally {
    await fh.close();
  }
}

/** Drop the first `n` bytes of a stream. */
async function* skipBytes(chunks: AsyncIterable<Uint8Array>, n: number): AsyncIterable<Uint8Array> {
  let left = n;
  for await (const c of chunks) {
    if (left >= c.length) {
      left -= c.length;
      continue;
    }
    yield left > 0 ? c.subarray(left) : c;
    left = 0;
  }
}
