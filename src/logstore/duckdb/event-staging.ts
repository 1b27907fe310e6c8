/**
 * How DuckDbLogStore.append hands a batch of events to DuckDB cheaply. Pure: no I/O.
 *
 * The DuckDB node API costs about 1 µs per string value it copies into a vector, so an event staged column by
 * column (a dozen strings) costs more than parsing it. Instead each event's text fields travel as ONE string,
 * joined by U+0000 (FIELD_SEPARATOR), with an integer bit mask telling which of them are NULL; SQL splits the
 * string again (`string_split(p, chr(0))`). The timestamp travels as a DOUBLE of epoch milliseconds (a typed
 * array underneath, no object per value), converted by `make_timestamptz` in SQL.
 *
 * An event whose text contains U+0000 (or whose fields are not the types the model says: the untyped edges
 * of the program) cannot be packed without ambiguity: it goes through the per-column staging table instead,
 * unchanged. Content is never altered.
 *
 * BatchOrder also does in JavaScript what SQL did at a higher price: it keeps one event per id and puts the batch
 * in the order seq follows and rows are stored in, so the INSERT needs neither a sort, a window nor a DISTINCT ON.
 * That order clusters the batch by logsource (see clusterKey) and keeps time order within each cluster.
 */
import { ValidationError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import type { LogEventInput } from '../../domain/log-event.ts';

export const FIELD_SEPARATOR = '\u0000';

/** The packed fields, in order (1-based positions in SQL's list). */
export const PACKED_FIELDS = [
  'id',
  'raw',
  'appname',
  'file',
  'host',
  'hostname',
  'message',
  'source_type',
  'normalized',
  'metadata',
  'source_id',
  'original',
] as const;
export type PackedField = (typeof PACKED_FIELDS)[number];

/** Bit of a field in the NULL mask. */
export function nullBit(field: PackedField): number {
  return 1 << PACKED_FIELDS.indexOf(field);
}

export interface BatchPlan {
  /**
   * Indexes into the batch, in insert (= seq) order: the first of each id only, clustered by logsource key
   * (clusters in the order of their first event), in time order within a cluster.
   */
  order: number[];
  /** Earliest and latest event time of the batch, epoch milliseconds. */
  minMs: number;
  maxMs: number;
}

/**
 * The logsource an event is clustered by in its batch: source type, Windows channel and EventID, app name.
 *
 * Why: detection evaluates each rule on the events of its logsource (detect-plan.ts), and DuckDB evaluates
 * an expression a vector of 2,048 rows at a time, skipping a rule's expression only for vectors that hold
 * none of its events. Interleaved logsources put a few events of every logsource in every vector, so every
 * rule runs on every vector; clustered, a rule runs on the vectors of its logsource only (measured in
 * docs/detection.md). Stored row groups span many batches, so zone maps on timestamp stay as tight.
 */
export function clusterKey(e: LogEventInput): string {
  const n = e.normalized as Record<string, unknown> | null | undefined;
  return `${e.sourceType}\u0001${scalarText(n?.channel)}\u0001${scalarText(n?.event_id)}\u0001${e.appname ?? ''}`;
}

/** Same clusterKey, without building it (a shortcut: false when unsure). */
function sameLogsource(a: LogEventInput, b: LogEventInput): boolean {
  if (a.sourceType !== b.sourceType || a.appname !== b.appname) return false;
  const na = a.normalized as Record<string, unknown> | null | undefined;
  const nb = b.normalized as Record<string, unknown> | null | undefined;
  return na?.channel === nb?.channel && na?.event_id === nb?.event_id;
}

const scalarText = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

/**
 * What a batch's order depends on, taken one event at a time (so the encoder can drop each event once packed).
 *
 * Of several events with one id, the earliest is kept (the first given on a tie), as DISTINCT ON (id) ORDER BY
 * id, ts would. The kept events are clustered by clusterKey, clusters in the order of their first event in
 * time; within a cluster by timestamp, events of the same time in the order given (a log's own order). A batch
 * already in time order (a log file) is not sorted.
 */
export class BatchOrder {
  readonly ms: number[] = [];
  #cluster: number[] = [];
  /** Id (case-insensitively, as DuckDB compares UUIDs) -> index of the event kept for it. */
  #kept = new UuidIndex();
  #clusters = new Map<string, number>();
  #prev: LogEventInput | undefined;
  #prevCluster = 0;
  #sorted = true;
  #minMs = Infinity;
  #maxMs = -Infinity;

  get size(): number {
    return this.ms.length;
  }

  /** Add the next event (validated: a UUID id, a valid timestamp); its index is the count before the call. */
  add(e: LogEventInput): void {
    const i = this.ms.length;
    const t = e.timestamp.getTime();
    this.ms.push(t);
    if (t < this.#maxMs) this.#sorted = false;
    if (t < this.#minMs) this.#minMs = t;
    if (t > this.#maxMs) this.#maxMs = t;
    // A log's neighbouring lines often share their logsource: then no key is built.
    if (!this.#prev || !sameLogsource(this.#prev, e)) {
      const key = clusterKey(e);
      let c = this.#clusters.get(key);
      if (c === undefined) this.#clusters.set(key, (c = this.#clusters.size));
      this.#prevCluster = c;
      this.#prev = e;
    }
    this.#cluster.push(this.#prevCluster);
    const slot = this.#kept.find(e.id);
    const k = this.#kept.at(slot);
    if (k < 0 || t < this.ms[k]!) this.#kept.put(slot, i);
  }

  /** The plan of the events added (at least one). */
  plan(): BatchPlan {
    const n = this.ms.length;
    const ms = this.ms;
    let all: number[] | undefined;
    if (!this.#sorted) {
      all = Array.from({ length: n }, (_, i) => i);
      // Array.prototype.sort is stable: events of the same time keep their order.
      all.sort((a, b) => ms[a]! - ms[b]!);
    }
    let keep: Uint8Array | undefined;
    if (this.#kept.size < n) {
      keep = new Uint8Array(n);
      for (const i of this.#kept.values()) keep[i] = 1;
    }
    const cluster = this.#cluster;
    const lists: number[][] = [];
    const firstSeen: number[] = [];
    for (let k = 0; k < n; k++) {
      const i = all ? all[k]! : k;
      if (keep && keep[i] === 0) continue;
      const c = cluster[i]!;
      let list = lists[c];
      if (!list) {
        lists[c] = list = [];
        firstSeen.push(c);
      }
      list.push(i);
    }
    let order: number[];
    if (firstSeen.length === 1) order = lists[firstSeen[0]!]!;
    else {
      order = [];
      for (const c of firstSeen) for (const i of lists[c]!) order.push(i);
    }
    return { order, minMs: this.#minMs, maxMs: this.#maxMs };
  }
}

/**
 * A map from UUIDs (validated text, either case) to non-negative numbers, for a batch's dedupe: a Map keyed by
 * strings cost 9% of the ingest worker's time (hashing fresh strings, rehashing as it grows); this parses each
 * id's 128 bits once and probes a typed-array table. The slot hash is seeded at random per index, so ids chosen
 * to collide (an HTTP client's) cannot be aimed at it.
 */
export class UuidIndex {
  /** Per entry: the id's four 32-bit words, then its value. */
  #entries = new Int32Array(5 * 1024);
  /** Open addressing, linear probing: entry number + 1, 0 for empty. */
  #slots = new Int32Array(2048);
  #count = 0;
  readonly #seed = (Math.random() * 2 ** 32) | 0;
  #w0 = 0;
  #w1 = 0;
  #w2 = 0;
  #w3 = 0;

  get size(): number {
    return this.#count;
  }

  /**
   * The slot of `id`: its entry's, or the empty slot where it would go (pass it to put before any other
   * find).
   */
  find(id: string): number {
    this.#words(id);
    const w0 = this.#w0;
    const w1 = this.#w1;
    const w2 = this.#w2;
    const w3 = this.#w3;
    const slots = this.#slots;
    const mask = slots.length - 1;
    const en = this.#entries;
    for (let p = this.#home(); ; p = (p + 1) & mask) {
      const s = slots[p]!;
      if (s === 0) return p;
      const b = (s - 1) * 5;
      if (en[b] === w0 && en[b + 1] === w1 && en[b + 2] === w2 && en[b + 3] === w3) return p;
    }
  }

  /** The value at a slot find() returned, or -1 when the id is not there. */
  at(slot: number): number {
    const s = this.#slots[slot]!;
    return s === 0 ? -1 : this.#entries[(s - 1) * 5 + 4]!;
  }

  /** Set the value of the id of the last find(), at the slot it returned. */
  put(slot: number, value: number): void {
    const s = this.#slots[slot]!;
    if (s !== 0) {
      this.#entries[(s - 1) * 5 + 4] = value;
      return;
    }
    let en = this.#entries;
    if ((this.#count + 1) * 5 > en.length) {
      const grown = new Int32Array(en.length * 2);
      grown.set(en);
      this.#entries = en = grown;
    }
    const b = this.#count * 5;
    en[b] = this.#w0;
    en[b + 1] = this.#w1;
    en[b + 2] = this.#w2;
    en[b + 3] = this.#w3;
    en[b + 4] = value;
    this.#count += 1;
    this.#slots[slot] = this.#count;
    if (this.#count * 2 > this.#slots.length) this.#rehash();
  }

  /** The values, in the order their ids were first put. */
  *values(): IterableIterator<number> {
    for (let k = 0; k < this.#count; k++) yield this.#entries[k * 5 + 4]!;
  }

  #rehash(): void {
    const en = this.#entries;
    const n = this.#count;
    this.#slots = new Int32Array(this.#slots.length * 2);
    this.#count = 0;
    for (let k = 0; k < n; k++) {
      const b = k * 5;
      this.#w0 = en[b]!;
      this.#w1 = en[b + 1]!;
      this.#w2 = en[b + 2]!;
      this.#w3 = en[b + 3]!;
      let slot = this.#home();
      while (this.#slots[slot] !== 0) slot = (slot + 1) & (this.#slots.length - 1);
      this.#count += 1;
      this.#slots[slot] = this.#count;
    }
  }

  /** The first slot to probe for the current words: a seeded mix of all 128 bits. */
  #home(): number {
    let h = this.#seed;
    h = Math.imul(h ^ this.#w0, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 15) ^ this.#w1, 0x85ebca77);
    h = Math.imul(h ^ (h >>> 13) ^ this.#w2, 0xc2b2ae3d);
    h = Math.imul(h ^ (h >>> 16) ^ this.#w3, 0x27d4eb2f);
    return (h ^ (h >>> 15)) & (this.#slots.length - 1);
  }

  /** The id's 32 hex digits as four words (the dashes skipped). */
  #words(id: string): void {
    let w = 0;
    let k = 0;
    for (let i = 0; i < 36; i++) {
      if (i === 8 || i === 13 || i === 18 || i === 23) continue;
      const c = id.charCodeAt(i) | 32;
      w = (w << 4) | (c <= 57 ? c - 48 : c - 87);
      if ((++k & 7) === 0) {
        if (k === 8) this.#w0 = w;
        else if (k === 16) this.#w1 = w;
        else if (k === 24) this.#w2 = w;
        else this.#w3 = w;
        w = 0;
      }
    }
  }
}

export interface PackedEvent {
  packed: string;
  nulls: number;
}

const NULL_APPNAME = nullBit('appname');
const NULL_FILE = nullBit('file');
const NULL_HOST = nullBit('host');
const NULL_HOSTNAME = nullBit('hostname');
const NULL_MESSAGE = nullBit('message');
const NULL_SOURCE_ID = nullBit('source_id');
const NULL_ORIGINAL = nullBit('original');

/**
 * The event's text fields as one string and a NULL mask, or undefined when it must be staged column by column
 * (a field holds U+0000, or is not of its declared type). The event has passed the store's checks: id and
 * sourceId are UUIDs, so they hold no separator.
 */
export function packEvent(e: LogEventInput): PackedEvent | undefined {
  const { raw, appname, file, host, hostname, message, sourceType } = e;
  if (!isText(raw) || !isText(sourceType)) return undefined;
  let nulls = 0;
  if (appname === null) nulls |= NULL_APPNAME;
  else if (!isText(appname)) return undefined;
  if (file === null) nulls |= NULL_FILE;
  else if (!isText(file)) return undefined;
  if (host === null) nulls |= NULL_HOST;
  else if (!isText(host)) return undefined;
  if (hostname === null) nulls |= NULL_HOSTNAME;
  else if (!isText(hostname)) return undefined;
  if (message === null) nulls |= NULL_MESSAGE;
  else if (!isText(message)) return undefined;
  if (e.sourceId === null) nulls |= NULL_SOURCE_ID;
  // JSON text never holds a raw U+0000 (JSON.stringify escapes control characters).
  const normalized = JSON.stringify(e.normalized ?? {}) as string | undefined;
  const metadata = metadataJson(e.metadata ?? {});
  if (normalized === undefined || metadata === undefined) return undefined;
  let original = '';
  if (e.original === null || e.original === undefined) nulls |= NULL_ORIGINAL;
  else {
    const text = JSON.stringify(e.original) as string | undefined;
    if (text === undefined) return undefined;
    original = text;
  }
  // One join gives a flat string (cheaper to hand to the native side than a chain of concatenations).
  const packed = [
    e.id,
    raw,
    appname ?? '',
    file ?? '',
    host ?? '',
    hostname ?? '',
    message ?? '',
    sourceType,
    normalized,
    metadata,
    e.sourceId ?? '',
    original,
  ].join(FIELD_SEPARATOR);
  return { packed, nulls };
}

/**
 * JSON.stringify(metadata), written directly for the ingest pipeline's usual `{run, offset, line}` (a UUID and two
 * integers: the same text, at a third of the cost); anything else goes through JSON.stringify.
 */
function metadataJson(m: Record<string, unknown>): string | undefined {
  const keys = Object.keys(m);
  if (keys.length === 3 && keys[0] === 'run' && keys[1] === 'offset' && keys[2] === 'line') {
    const { run, offset, line } = m;
    if (
      typeof run === 'string' &&
      isUuid(run) &&
      Number.isSafeInteger(offset) &&
      Number.isSafeInteger(line)
    ) {
      return `{"run":"${run}","offset":${offset as number},"line":${line as number}}`;
    }
  }
  return JSON.stringify(m) as string | undefined;
}

/** A string that can travel packed: no separator inside. */
function isText(v: unknown): v is string {
  return typeof v === 'string' && !v.includes(FIELD_SEPARATOR);
}

/**
 * A batch ready for DuckDbLogStore.appendEncoded: checked, in insert order, one event per id, packed where
 * possible. Plain arrays and strings only, so it crosses a worker thread boundary as a structured clone.
 */
export interface DuckDbEncodedEvents {
  readonly encoding: 'duckdb';
  /** The batch tenant (lower case). */
  tenantId: string;
  /** Events given, repeated ids included: duplicates = given - inserted. */
  given: number;
  /** Distinct events encoded: p.length + unpacked.length. */
  count: number;
  minMs: number;
  maxMs: number;
  /** Packed events (packEvent) and their epoch milliseconds, procid, NULL mask and ordinal (1-based). */
  p: string[];
  ms: number[];
  procid: (number | null)[];
  nulls: number[];
  ord: number[];
  /** The events that could not be packed (U+0000 in a text field), with their ordinal. */
  unpacked: { ord: number; event: LogEventInput }[];
}

/** An encoded batch of no events (its counts and ranges filled in by the caller). */
function noEvents(tenantId: string): DuckDbEncodedEvents {
  return {
    encoding: 'duckdb',
    tenantId,
    given: 0,
    count: 0,
    minMs: 0,
    maxMs: 0,
    p: [],
    ms: [],
    procid: [],
    nulls: [],
    ord: [],
    unpacked: [],
  };
}

/**
 * Encodes a batch as its events come, one at a time: each event is checked and packed when added, so it can
 * die young (a batch of 100,000 events held whole until the end would be promoted to V8's old generation and
 * cost a full garbage collection). Reusable: take() returns the batch and starts the next one.
 */
export class DuckDbEventEncoder {
  readonly tenantId: string;
  #order = new BatchOrder();
  #p: string[] = [];
  #procid: (number | null)[] = [];
  #nulls: number[] = [];
  /** Events that could not be packed, by index (their p is ''). */
  #unpacked = new Map<number, LogEventInput>();

  /** `tenantId` in lower case. */
  constructor(tenantId: string) {
    this.tenantId = tenantId;
  }

  /** Events added since the last take(). */
  get size(): number {
    return this.#order.size;
  }

  /** Check and add one event (a ValidationError when the store could not take it). */
  add(e: LogEventInput): void {
    checkEvent(e, this.tenantId);
    // Everything that can throw (JSON.stringify of a BigInt, say) before anything is kept: a refused event
    // leaves the batch as it was.
    const packed = packEvent(e);
    const i = this.#order.size;
    this.#order.add(e);
    this.#procid.push(e.procid);
    if (packed === undefined) {
      this.#unpacked.set(i, e);
      this.#p.push('');
      this.#nulls.push(0);
    } else {
      this.#p.push(packed.packed);
      this.#nulls.push(packed.nulls);
    }
  }

  /** The batch so far, in insert order (see BatchOrder); the encoder starts empty again. */
  take(): DuckDbEncodedEvents {
    const out = noEvents(this.tenantId);
    out.given = this.#order.size;
    if (out.given > 0) {
      const plan = this.#order.plan();
      const ms = this.#order.ms;
      out.count = plan.order.length;
      out.minMs = plan.minMs;
      out.maxMs = plan.maxMs;
      for (let k = 0; k < plan.order.length; k++) {
        const i = plan.order[k]!;
        const e = this.#unpacked.get(i);
        if (e !== undefined) {
          out.unpacked.push({ ord: k + 1, event: e });
          continue;
        }
        out.p.push(this.#p[i]!);
        out.ms.push(ms[i]!);
        out.procid.push(this.#procid[i]!);
        out.nulls.push(this.#nulls[i]!);
        out.ord.push(k + 1);
      }
    }
    this.#order = new BatchOrder();
    this.#p = [];
    this.#procid = [];
    this.#nulls = [];
    this.#unpacked = new Map();
    return out;
  }
}

/**
 * Consecutive encoded parts of one stream as one batch, in their order (each part stays clustered as it was).
 * Repeated ids are dropped within a part, not across parts: the parts must come from one id chain (a file's),
 * whose ids never repeat; ids stored already are still found by the store.
 */
export function concatDuckDbEvents(parts: readonly DuckDbEncodedEvents[]): DuckDbEncodedEvents {
  if (parts.length === 1) return parts[0]!;
  const out = noEvents(parts[0]!.tenantId);
  let minMs = Infinity;
  let maxMs = -Infinity;
  for (const part of parts) {
    if (part.tenantId !== out.tenantId) throw new ValidationError('parts of different tenants');
    const base = out.count;
    out.given += part.given;
    out.count += part.count;
    if (part.count === 0) continue;
    minMs = Math.min(minMs, part.minMs);
    maxMs = Math.max(maxMs, part.maxMs);
    for (let k = 0; k < part.p.length; k++) {
      out.p.push(part.p[k]!);
      out.ms.push(part.ms[k]!);
      out.procid.push(part.procid[k]!);
      out.nulls.push(part.nulls[k]!);
      out.ord.push(base + part.ord[k]!);
    }
    for (const u of part.unpacked) out.unpacked.push({ ord: base + u.ord, event: u.event });
  }
  if (out.count > 0) {
    out.minMs = minMs;
    out.maxMs = maxMs;
  }
  return out;
}

/** Check and encode a batch's events (see DuckDbEventEncoder). */
export function encodeDuckDbEvents(tenantId: string, events: readonly LogEventInput[]): DuckDbEncodedEvents {
  const encoder = new DuckDbEventEncoder(tenantId);
  for (const e of events) encoder.add(e);
  return encoder.take();
}

/** What the store requires of an event before it takes it. */
function checkEvent(e: LogEventInput, tenantId: string): void {
  if (e.tenantId.toLowerCase() !== tenantId)
    throw new ValidationError('event of another tenant in the batch');
  if (!isUuid(e.id)) throw new ValidationError(`event id ${e.id} is not a UUID`);
  if (!(e.timestamp instanceof Date) || Number.isNaN(e.timestamp.getTime())) {
    throw new ValidationError(`event ${e.id} has no valid timestamp`);
  }
  if (e.sourceId !== null && !isUuid(e.sourceId))
    throw new ValidationError(`event ${e.id}: sourceId is not a UUID`);
  if (
    e.procid !== null &&
    (!Number.isInteger(e.procid) || e.procid < -2_147_483_648 || e.procid > 2_147_483_647)
  ) {
    throw new ValidationError(`event ${e.id}: procid is not a 32-bit integer`);
  }
}
