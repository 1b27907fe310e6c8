/**
 * How a batch of events travels to the PostgreSQL log store. Pure: no I/O, no driver, so the ingest worker
 * thread (src/services/ingest-worker.ts) can run it off the main thread.
 *
 * The batch is checked, its repeated ids dropped (the first one given counts), and each column becomes ONE
 * PostgreSQL array literal built here in a single pass (the driver would escape every element of every array
 * on its own, the slowest part of an append); the three JSON columns go as one JSON array the server parses
 * once, straight to jsonb. Seq is not part of it: the store numbers the rows it actually inserts, in this
 * order, from the tenant's counter (see INSERT_EVENTS in postgres-log-store.ts).
 */
import { ValidationError } from '../../domain/errors.ts';
import { isUuid } from '../../domain/ids.ts';
import type { LogEventInput } from '../../domain/log-event.ts';
import { dayOf } from './partitions.ts';

export interface PostgresEncodedEvents {
  readonly encoding: 'postgres';
  /** The batch tenant (lower case). */
  tenantId: string;
  /** Events given, repeated ids included: duplicates = given - inserted. */
  given: number;
  /** Distinct events encoded (rows in each column). */
  count: number;
  /** Earliest and latest event time, epoch milliseconds (the stored-id lookup's range). */
  minMs: number;
  maxMs: number;
  /** Start of each UTC day the events fall in (the partitions they need), epoch milliseconds. */
  days: number[];
  /**
   * Array literals, in INSERT_EVENTS parameter order: id, timestamp (epoch ms), raw, appname, file, host, hostname,
   * message, procid, source_type, source_id.
   */
  columns: string[];
  /** `[[normalized, metadata, original], ...]` as JSON text. */
  json: string;
}

const bad = (path: string, message: string) => new ValidationError(`${path} ${message}`, [{ path, message }]);

/** Check and encode a batch's events (see the module comment). */
export function encodePostgresEvents(
  tenantId: string,
  events: readonly LogEventInput[],
): PostgresEncodedEvents {
  const fresh = new Map<string, LogEventInput>();
  let minMs = Infinity;
  let maxMs = -Infinity;
  const days = new Set<number>();
  for (const [i, e] of events.entries()) {
    if (e.tenantId?.toLowerCase() !== tenantId) throw bad(`events.${i}.tenantId`, 'must be the batch tenant');
    if (typeof e.id !== 'string' || !isUuid(e.id)) throw bad(`events.${i}.id`, 'must be a UUID');
    if (!(e.timestamp instanceof Date) || Number.isNaN(e.timestamp.getTime())) {
      throw bad(`events.${i}.timestamp`, 'must be a valid date');
    }
    if (e.sourceId != null && !isUuid(e.sourceId)) throw bad(`events.${i}.sourceId`, 'must be a UUID');
    const id = e.id.toLowerCase();
    if (fresh.has(id)) continue;
    fresh.set(id, e);
    const ms = e.timestamp.getTime();
    if (ms < minMs) minMs = ms;
    if (ms > maxMs) maxMs = ms;
    days.add(dayOf(ms));
  }
  const rows = [...fresh.values()];
  const col = (f: (e: LogEventInput) => string | number | null) => arrayLiteral(rows.map(f));
  const jsonValues = rows.map((e) => [e.normalized ?? {}, e.metadata ?? {}, e.original ?? null]);
  const json = JSON.stringify(jsonValues);
  return {
    encoding: 'postgres',
    tenantId,
    given: events.length,
    count: rows.length,
    minMs,
    maxMs,
    days: [...days],
    columns: [
      col((e) => e.id),
      col((e) => e.timestamp.getTime()),
      col((e) => pgText(e.raw ?? '')),
      col((e) => pgText(e.appname ?? null)),
      col((e) => pgText(e.file ?? null)),
      col((e) => pgText(e.host ?? null)),
      col((e) => pgText(e.hostname ?? null)),
      col((e) => pgText(e.message ?? null)),
      col((e) => (typeof e.procid === 'number' && Number.isFinite(e.procid) ? Math.trunc(e.procid) : null)),
      col((e) => pgText(e.sourceType ?? 'text')),
      col((e) => e.sourceId ?? null),
    ],
    // PostgreSQL jsonb cannot hold U+0000 (rare: checked on the whole text first).
    json: json.includes('\\u0000') ? (pgJson(jsonValues) ?? '[]') : json,
  };
}

/**
 * Consecutive encoded parts of one stream as one batch (see concatDuckDbEvents: repeated ids are not looked for
 * across parts, which must come from one id chain).
 */
export function concatPostgresEvents(parts: readonly PostgresEncodedEvents[]): PostgresEncodedEvents {
  const filled = parts.filter((p) => p.count > 0);
  const first = parts[0]!;
  if (parts.some((p) => p.tenantId !== first.tenantId))
    throw new ValidationError('parts of different tenants');
  if (filled.length <= 1) {
    const only = filled[0] ?? first;
    return { ...only, given: parts.reduce((n, p) => n + p.given, 0) };
  }
  // Array literals `{a,b}` and the JSON array `[x,y]` join by their contents.
  const inner = (text: string) => text.slice(1, -1);
  return {
    encoding: 'postgres',
    tenantId: first.tenantId,
    given: parts.reduce((n, p) => n + p.given, 0),
    count: filled.reduce((n, p) => n + p.count, 0),
    minMs: Math.min(...filled.map((p) => p.minMs)),
    maxMs: Math.max(...filled.map((p) => p.maxMs)),
    days: [...new Set(filled.flatMap((p) => p.days))],
    columns: first.columns.map((_, c) => `{${filled.map((p) => inner(p.columns[c]!)).join(',')}}`),
    json: `[${filled.map((p) => inner(p.json)).join(',')}]`,
  };
}

/** `{"a","b\\"c",NULL}`: a PostgreSQL array literal of these values (text, numbers; null as NULL). */
export function arrayLiteral(values: readonly (string | number | null | undefined)[]): string {
  const parts = new Array<string>(values.length);
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (v === null || v === undefined) {
      parts[k] = 'NULL';
    } else {
      const s = String(v);
      parts[k] = s.includes('"') || s.includes('\\') ? `"${s.replace(/[\\"]/g, '\\$&')}"` : `"${s}"`;
    }
  }
  return `{${parts.join(',')}}`;
}

/** PostgreSQL text cannot hold U+0000: it becomes U+FFFD (the one change made to content, and only there). */
export function pgText(value: string): string;
export function pgText(value: string | null): string | null;
export function pgText(value: string | null): string | null {
  return value !== null && value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
}

/** A copy of a JSON value with U+0000 replaced in every string and key. */
function withoutNul(v: unknown): unknown {
  if (typeof v === 'string') return pgText(v);
  if (Array.isArray(v)) return v.map(withoutNul);
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [pgText(k), withoutNul(x)]));
  }
  return v;
}

/** JSON text for a jsonb parameter (null stays SQL NULL), U+0000 replaced (checked cheaply first). */
export function pgJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  if (text === undefined) return null;
  return text.includes('\\u0000') ? JSON.stringify(withoutNul(value)) : text;
}
