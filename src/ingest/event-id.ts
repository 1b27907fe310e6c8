/**
 * Stable event ids and stream identities. Pure.
 *
 * An event id is derived from what the event *is* in its input, never from when or how it was read:
 *
 *   SHA-256( "vigil/event/v1" | tenantId | sourceKey | streamKey | position | raw )   -> UUID, version 8
 *
 * - same input => same ids, so re-ingesting a file, retrying an HTTP batch or resuming after a crash adds no
 *   duplicates: the store drops ids it already holds (idempotent ingest);
 * - the position (byte offset of the record in its stream, or its index in a batch) is part of the id, so two
 *   identical lines at different places are different events (a repeated "session opened" line is two logins),
 *   while the raw bytes guard against a stream key collision mapping different content to the same id;
 * - the tenant and source are part of it, so the same file sent to two tenants gives unrelated ids.
 *
 * Encoding: each string field is its UTF-8 bytes preceded by their length (u32 big-endian), the position is a
 * u64 big-endian, and the raw bytes come last (their length is what remains), so no two different part tuples
 * encode to the same bytes (('ab','c') and ('a','bc') differ). The UUID takes the first 128 bits of the digest
 * and sets the version nibble to 8 ("custom", RFC 9562 section 5.8) and the variant bits to 10.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';

export interface EventIdParts {
  tenantId: string;
  sourceKey: string;
  streamKey: string;
  /** Byte offset of the record in its stream (or its index in a batch). A non-negative safe integer. */
  position: number;
  /** The record's raw content (a string is taken as its UTF-8 bytes, so text and bytes give the same id). */
  raw: string | Uint8Array;
}

const EVENT_TAG = 'vigil/event/v1';
const STREAM_TAG = 'vigil/stream/v1';
/** How much of a stream's first record identifies it. */
export const STREAM_KEY_PREFIX_BYTES = 4096;

/** `crypto.hash` (one-shot, Node >= 20.12) avoids a Hash object per call; fall back where it is missing. */
const sha256hex: (data: Uint8Array) => string =
  typeof oneShotHash === 'function'
    ? (data) => oneShotHash('sha256', data, 'hex')
    : (data) => createHash('sha256').update(data).digest('hex');

function uuidFromHex(hex: string): string {
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Writes `value` length-prefixed at `at`; returns the next offset. */
function putString(buf: Buffer, at: number, value: string): number {
  const n = buf.write(value, at + 4, 'utf8');
  buf.writeUInt32BE(n, at);
  return at + 4 + n;
}

function prefixBytes(tag: string, fields: string[]): Buffer {
  const buf = Buffer.allocUnsafe(
    fields.reduce((n, f) => n + 4 + Buffer.byteLength(f, 'utf8'), 4 + Buffer.byteLength(tag, 'utf8')),
  );
  let at = putString(buf, 0, tag);
  for (const f of fields) at = putString(buf, at, f);
  return buf;
}

/**
 * Ids for one stream: the tenant/source/stream prefix is encoded once, then each id costs one SHA-256 over
 * prefix + position + raw, written into a reused scratch buffer. Use this on hot paths.
 */
export class EventIdGenerator {
  #prefixLength: number;
  #scratch: Buffer;

  constructor(tenantId: string, sourceKey: string, streamKey: string) {
    const prefix = prefixBytes(EVENT_TAG, [tenantId, sourceKey, streamKey]);
    this.#prefixLength = prefix.length;
    this.#scratch = Buffer.allocUnsafe(Math.max(4096, prefix.length * 2 + 8));
    prefix.copy(this.#scratch);
  }

  id(position: number, raw: string | Uint8Array): string {
    if (!Number.isSafeInteger(position) || position < 0)
      throw new RangeError(`bad event position ${position}`);
    const p = this.#prefixLength;
    const need = p + 8 + (typeof raw === 'string' ? raw.length * 3 : raw.length);
    if (need > this.#scratch.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.#scratch.length * 2));
      this.#scratch.copy(bigger, 0, 0, p);
      this.#scratch = bigger;
    }
    const s = this.#scratch;
    s.writeUInt32BE(Math.floor(position / 0x1_0000_0000), p);
    s.writeUInt32BE(position >>> 0, p + 4);
    let n: number;
    if (typeof raw === 'string') n = s.write(raw, p + 8, 'utf8');
    else {
      s.set(raw, p + 8);
      n = raw.length;
    }
    return uuidFromHex(sha256hex(s.subarray(0, p + 8 + n)));
  }
}

let last: { tenantId: string; sourceKey: string; streamKey: string; gen: EventIdGenerator } | null = null;

/**
 * The stable id of one event (see the module comment). Consecutive calls for the same stream reuse its encoded
 * prefix, so a per-record call in a loop is as fast as an EventIdGenerator.
 */
export function eventId(parts: EventIdParts): string {
  const { tenantId, sourceKey, streamKey } = parts;
  if (
    last === null ||
    last.tenantId !== tenantId ||
    last.sourceKey !== sourceKey ||
    last.streamKey !== streamKey
  ) {
    last = { tenantId, sourceKey, streamKey, gen: new EventIdGenerator(tenantId, sourceKey, streamKey) };
  }
  return last.gen.id(parts.position, parts.raw);
}

/**
 * A stream's identity: its tenant, source and the first bytes (up to 4 KiB) of its first record. A file keeps its
 * identity when copied or moved to another path (so resuming and re-ingesting find its checkpoint and ids),
 * and a rotated file, which starts with a different first record, is a new stream. 32 hex characters.
 */
export function streamKey(tenantId: string, sourceKey: string, firstRecordBytes: Uint8Array): string {
  const head = firstRecordBytes.subarray(0, STREAM_KEY_PREFIX_BYTES);
  const prefix = prefixBytes(STREAM_TAG, [tenantId, sourceKey]);
  const buf = Buffer.allocUnsafe(prefix.length + head.length);
  prefix.copy(buf);
  buf.set(head, prefix.length);
  return sha256hex(buf).slice(0, 32);
}

const CHAIN_TAG = 'vigil/chain/v1';

/**
 * Chained event ids for streams: each record's id hashes the previous record's chain state with its own
 * position and bytes,
 *
 *   state_0 = SHA-256( "vigil/chain/v1" | tenantId | sourceKey | streamKey )
 *   state_i = SHA-256( state_{i-1} | position_i | raw_i )        id_i = UUIDv8(state_i)
 *
 * so an id stands for the whole input up to and including its record. The same input (a file read again, a
 * copy of it, an HTTP batch retried) gives the same ids; two inputs that merely share a first line (CSV
 * exports with one header) diverge at their first different record, and an identical line at an identical
 * offset in two different files is still two events. The state is 32 bytes: a stream checkpoint keeps it, so
 * a resumed read continues the chain exactly where the committed part ended.
 */
export class EventIdChain {
  /** The state, 64 hex characters (a one-shot hash to hex is several times cheaper than a Hash object). */
  #state: string;
  /** Reused input of the next hash: state (32 bytes) | position (u64 BE) | raw. */
  #scratch = Buffer.allocUnsafe(4096);

  private constructor(stateHex: string) {
    this.#state = stateHex;
  }

  /** A new chain for a stream. */
  static start(tenantId: string, sourceKey: string, streamKey: string): EventIdChain {
    return new EventIdChain(sha256hex(prefixBytes(CHAIN_TAG, [tenantId, sourceKey, streamKey])));
  }

  /** Continue a chain from a checkpoint's state (64 hex characters). */
  static resume(stateHex: string): EventIdChain {
    if (!/^[0-9a-f]{64}$/.test(stateHex)) throw new Error('invalid chain state');
    return new EventIdChain(stateHex);
  }

  /** The id of the next record, advancing the chain. */
  next(position: number, raw: Uint8Array): string {
    if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`invalid position ${position}`);
    const need = 40 + raw.length;
    if (need > this.#scratch.length)
      this.#scratch = Buffer.allocUnsafe(Math.max(need, this.#scratch.length * 2));
    const s = this.#scratch;
    s.write(this.#state, 0, 'hex');
    s.writeUInt32BE(Math.floor(position / 2 ** 32), 32);
    s.writeUInt32BE(position >>> 0, 36);
    s.set(raw, 40);
    this.#state = sha256hex(s.subarray(0, need));
    return uuidFromHex(this.#state);
  }

  /** The state after the last record (for a checkpoint). */
  get state(): string {
    return this.#state;
  }
}

/** SHA-256 hex of bytes: the fingerprint of a stream's head that a checkpoint is checked against. */
export function fingerprint(bytes: Uint8Array): string {
  return sha256hex(bytes);
}
