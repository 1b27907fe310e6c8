/**
 * An in-memory LogStore for tests of what sits on top of a store (the periodic fetcher, retention): the seq
 * semantics of the real stores (per tenant, increasing in commit order, an id stored once per tenant), purge,
 * and nothing else. The query methods throw; the stores' own suite (test/logstore/) covers them.
 */
import { randomUUID } from 'node:crypto';
import type {
  AppendBatch,
  AppendResult,
  LogEventInput,
  LogEventRow,
  QuarantineRow,
  StreamCheckpoint,
} from '../../src/domain/log-event.ts';
import type { LogStore, LogStoreKind } from '../../src/logstore/log-store.ts';
import { expectEncoding, type EncodedAppendBatch } from '../../src/logstore/encoding.ts';

const notImplemented = (what: string) => () =>
  Promise.reject(new Error(`MemoryLogStore.${what}: not implemented`));

export class MemoryLogStore implements LogStore {
  /** Reports the embedded kind; nothing that uses this fake branches on it. */
  readonly kind: LogStoreKind = 'duckdb';
  readonly #events = new Map<string, LogEventRow[]>();
  readonly #quarantine = new Map<string, QuarantineRow[]>();
  readonly #checkpoints = new Map<string, StreamCheckpoint>();
  /** Calls of readSince, for tests that look at how the store was read. */
  readonly reads: { tenantId: string; afterSeq: number; limit: number }[] = [];
  #seq = 0;
  #closed = false;

  async init(): Promise<void> {}

  readonly eventEncoding = 'events' as const;
  readonly preferredBatchSize = 20_000;

  async appendEncoded(batch: EncodedAppendBatch): Promise<AppendResult> {
    const events = expectEncoding(batch, 'events', batch.tenantId.toLowerCase());
    return this.append({ ...batch, events: events.events });
  }

  async append(batch: AppendBatch): Promise<AppendResult> {
    this.#open();
    const rows = this.#events.get(batch.tenantId) ?? [];
    const ids = new Set(rows.map((r) => r.id));
    const now = new Date();
    let inserted = 0;
    let duplicates = 0;
    let lastSeq = 0;
    for (const e of batch.events) {
      if (e.tenantId !== batch.tenantId) throw new Error('event of another tenant in the batch');
      if (ids.has(e.id)) {
        duplicates += 1;
        continue;
      }
      ids.add(e.id);
      // One counter for the store: per tenant the seqs increase, as the interface promises (not dense).
      this.#seq += 1;
      lastSeq = this.#seq;
      rows.push({ ...structuredClone(e), seq: lastSeq, ingestionTime: now });
      inserted += 1;
    }
    this.#events.set(batch.tenantId, rows);
    const q = this.#quarantine.get(batch.tenantId) ?? [];
    for (const r of batch.quarantine) q.push({ ...r, receivedAt: now });
    this.#quarantine.set(batch.tenantId, q);
    if (batch.checkpoint) {
      this.#checkpoints.set(`${batch.tenantId}/${batch.checkpoint.streamKey}`, {
        ...batch.checkpoint,
        updatedAt: now,
      });
    }
    return { inserted, duplicates, quarantined: batch.quarantine.length, lastSeq };
  }

  async readSince(tenantId: string, afterSeq: number, limit: number): Promise<LogEventRow[]> {
    this.#open();
    this.reads.push({ tenantId, afterSeq, limit });
    return (this.#events.get(tenantId) ?? [])
      .filter((r) => r.seq > afterSeq)
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async maxSeq(tenantId: string): Promise<number> {
    this.#open();
    return (this.#events.get(tenantId) ?? []).reduce((m, r) => Math.max(m, r.seq), 0);
  }

  async count(tenantId: string): Promise<number> {
    this.#open();
    return (this.#events.get(tenantId) ?? []).length;
  }

  async getCheckpoint(tenantId: string, streamKey: string): Promise<StreamCheckpoint | undefined> {
    return this.#checkpoints.get(`${tenantId}/${streamKey}`);
  }

  async listQuarantine(tenantId: string): Promise<{ items: QuarantineRow[]; total: number }> {
    const items = [...(this.#quarantine.get(tenantId) ?? [])].reverse();
    return { items, total: items.length };
  }

  async purge(tenantId: string, before: Date): Promise<{ events: number; quarantined: number }> {
    this.#open();
    const rows = this.#events.get(tenantId) ?? [];
    const keep = rows.filter((r) => r.timestamp.getTime() >= before.getTime());
    this.#events.set(tenantId, keep);
    const q = this.#quarantine.get(tenantId) ?? [];
    const keepQ = q.filter((r) => r.receivedAt.getTime() >= before.getTime());
    this.#quarantine.set(tenantId, keepQ);
    return { events: rows.length - keep.length, quarantined: q.length - keepQ.length };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  fetchLogs = notImplemented('fetchLogs');
  fetchRecent = notImplemented('fetchRecent');
  topValues = notImplemented('topValues');
  histogram = notImplemented('histogram');
  console = notImplemented('console');
  detect = notImplemented('detect');

  #open(): void {
    if (this.#closed) throw new Error('MemoryLogStore is closed');
  }
}

let n = 0;
/** A log event for `tenantId`: a fresh id, timestamp now unless given. */
export function makeEvent(tenantId: string, over: Partial<LogEventInput> = {}): LogEventInput {
  n += 1;
  return {
    tenantId,
    id: randomUUID(),
    timestamp: new Date(),
    raw: `event ${n}`,
    appname: 'sshd',
    file: 'test',
    host: 'web-1',
    hostname: 'web-1',
    message: `event ${n}`,
    procid: null,
    sourceType: 'text',
    normalized: {},
    metadata: {},
    sourceId: null,
    original: null,
    ...over,
  };
}

/** Append `count` fresh events (or the given ones) for a tenant in one batch. */
export async function appendEvents(
  store: LogStore,
  tenantId: string,
  events: number | LogEventInput[],
): Promise<AppendResult> {
  const list =
    typeof events === 'number' ? Array.from({ length: events }, () => makeEvent(tenantId)) : events;
  return store.append({ tenantId, events: list, quarantine: [] });
}
