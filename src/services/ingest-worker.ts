/**
 * The ingest pipeline's parsing half on a worker thread, for files: the worker reads the file from an offset,
 * frames, parses, normalises, gives ids and encodes parts of batches for the store (src/logstore/encoding.ts);
 * the main thread only joins them into batches (joinParts) and stores those, with their checkpoints. On two cores the halves run side by side instead of taking
 * turns on one thread (see docs/logs.md, Performance).
 *
 * Everything that decides what an event is (framing, parsers, the id chain, RecordBatcher) is the same code the
 * main thread runs for other inputs, so a file gives the same events, ids and checkpoints either way (a test
 * compares them). The worker runs ahead of the store by at most WORKER_CREDITS parts (bounded memory): it
 * posts a part only when it holds a credit, and the main thread returns one per part it has taken.
 */
import { createReadStream } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { QuarantineInput } from '../domain/log-event.ts';
import { EventIdChain } from '../ingest/event-id.ts';
import { frameBatches, type FramingMode } from '../ingest/framing.ts';
import { createStreamParser } from '../ingest/index.ts';
import { RecordBatcher, type BatchCounts, type RecordBatcherSettings } from '../ingest/record-batcher.ts';
import type { LogFormat } from '../ingest/types.ts';
import {
  concatEncodedEvents,
  createEventSink,
  type EncodedEvents,
  type EventEncoding,
} from '../logstore/encoding.ts';

/** A batch ready for LogStore.appendEncoded, with its counts and the stream position it reaches. */
export interface PreparedBatch {
  events: EncodedEvents;
  quarantine: QuarantineInput[];
  counts: BatchCounts;
  offset: number;
  records: number;
  chain: string;
}

/**
 * Events (and quarantined records) per part the worker posts. Small, so that the worker's events and their
 * packed text die young (a batch of a DuckDB row group held whole in the worker was promoted to V8's old
 * generation: 0.6-0.9 µs more CPU per event there); the main thread joins parts into batches of the store's
 * size (joinParts). A sixth of DuckDB's row group.
 */
export const WORKER_PART_SIZE = 20_480;

/** Consecutive parts of one stream as one batch: counts added up, the last part's position and chain. */
export function joinParts(parts: readonly PreparedBatch[]): PreparedBatch {
  const last = parts.at(-1);
  if (last === undefined) throw new Error('no parts to join');
  if (parts.length === 1) return last;
  const counts: BatchCounts = { read: 0, skipped: 0, blank: 0, reasons: {} };
  for (const p of parts) {
    counts.read += p.counts.read;
    counts.skipped += p.counts.skipped;
    counts.blank += p.counts.blank;
    for (const [k, n] of Object.entries(p.counts.reasons)) counts.reasons[k] = (counts.reasons[k] ?? 0) + n;
  }
  return {
    events: concatEncodedEvents(parts.map((p) => p.events)),
    quarantine: parts.flatMap((p) => p.quarantine),
    counts,
    offset: last.offset,
    records: last.records,
    chain: last.chain,
  };
}

/** What the worker is asked to do: everything is plain data (it is cloned into the worker). */
export interface FileParseJob {
  path: string;
  /** Read bytes [start, end). */
  start: number;
  end: number;
  /** The file's first bytes, for the framer's format decision when starting mid-file. */
  headBytes?: Uint8Array | undefined;
  mode: FramingMode;
  maxRecordBytes: number;
  format: LogFormat;
  timezone: string;
  /** Reference time of year inference, epoch ms. */
  referenceTime: number;
  /** When resuming: the stream's first record, parsed first to prime stateful parsers (CSV header, year). */
  prime?: string | undefined;
  /** Time of events with none, before any event that has one (the stream's first-seen time), epoch ms. */
  fallbackTs: number;
  /** Id chain state to continue from. */
  chain: string;
  encoding: EventEncoding;
  batcher: RecordBatcherSettings;
}

/** The worker's young generation (semi-spaces), MiB. */
const WORKER_YOUNG_GENERATION_MB = 192;
/** Batches the worker may have posted and not yet seen taken. */
const WORKER_CREDITS = 2;
const JOB_TAG = 'vigil/ingest-worker/v1';

type ToMain =
  | { type: 'batch'; batch: PreparedBatch; final: boolean }
  | { type: 'error'; message: string; stack?: string | undefined };

/**
 * Parse a file on a worker thread: yields its batches in order, the last one (possibly empty: the final
 * position) included. Stopping the iteration (break, a throw in the consumer) ends the worker.
 */
export async function* parseFileInWorker(job: FileParseJob): AsyncGenerator<PreparedBatch> {
  const worker = new Worker(new URL('./ingest-worker.boot.js', import.meta.url), {
    workerData: { tag: JOB_TAG, job },
    // Parsing allocates many short-lived objects: a young generation larger than V8's default (3 x 16 MiB) lets
    // them die young instead of being promoted. Measured on bench:ingest: about 10% less CPU per event.
    resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
  });
  const inbox: ToMain[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  worker.on('message', (m: ToMain) => {
    inbox.push(m);
    wake?.();
  });
  worker.on('error', (e: Error) => {
    failure = e;
    wake?.();
  });
  worker.on('exit', () => {
    exited = true;
    wake?.();
  });
  try {
    for (;;) {
      while (inbox.length === 0 && !failure && !exited) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      const m = inbox.shift();
      if (m?.type === 'error') {
        const e = new Error(m.message);
        if (m.stack) e.stack = m.stack;
        throw e;
      }
      if (m) {
        yield m.batch;
        if (m.final) return;
        worker.postMessage('credit');
        continue;
      }
      throw failure ?? new Error('the ingest worker stopped before the end of its input');
    }
  } finally {
    await worker.terminate();
  }
}

/** The worker's side: read, frame, parse, batch, encode, post; wait for credits. */
async function runJob(job: FileParseJob, port: NonNullable<typeof parentPort>): Promise<void> {
  let credits = WORKER_CREDITS;
  let wake: (() => void) | undefined;
  port.on('message', (m: unknown) => {
    if (m === 'credit') credits += 1;
    wake?.();
  });
  const parser = createStreamParser({
    format: job.format,
    timezone: job.timezone,
    referenceTime: new Date(job.referenceTime),
  });
  if (job.prime !== undefined) parser.parse(job.prime);
  const batcher = new RecordBatcher({
    ...job.batcher,
    ids: EventIdChain.resume(job.chain),
    parser,
    sink: createEventSink(job.encoding, job.batcher.tenantId),
  });
  const fallbackTs = new Date(job.fallbackTs);
  const post = async (final: boolean) => {
    while (credits === 0) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    credits -= 1;
    const batch: PreparedBatch = batcher.take();
    port.postMessage({ type: 'batch', batch, final } satisfies ToMain);
  };
  if (job.start < job.end) {
    const source = createReadStream(job.path, { start: job.start, end: job.end - 1, highWaterMark: 1 << 20 });
    const batches = frameBatches(source, {
      mode: job.mode,
      maxRecordBytes: job.maxRecordBytes,
      startOffset: job.start,
      ...(job.headBytes ? { headBytes: job.headBytes } : {}),
    });
    for await (const recs of batches) {
      for (const rec of recs) {
        if (rec.error === 'blank') batcher.blank(rec.end);
        else batcher.record(rec, fallbackTs, null);
        if (batcher.full) await post(false);
      }
    }
  }
  await post(true);
}

if (!isMainThread && parentPort && (workerData as { tag?: string } | null)?.tag === JOB_TAG) {
  const port = parentPort;
  runJob((workerData as { job: FileParseJob }).job, port).catch((e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    port.postMessage({ type: 'error', message: err.message, stack: err.stack } satisfies ToMain);
  });
  // The worker stays up (its port listens) until the main thread has taken the last message and ends it.
}
