/**
 * Store-independent validation of LogStore arguments, shared by the DuckDB and PostgreSQL stores: field names
 * (LOG_FILTER_COLUMNS or `normalized.<key>`), filter values, time range, text, page size, cursor, histogram
 * interval, top-values limit and console options. Every store builds its SQL from a `LogQueryPlan`, never
 * from the raw query, so nothing unchecked reaches SQL; values stay values (parameters), and field names come
 * only from the fixed column list or as a JSON path that is itself passed as a parameter.
 */
import { ValidationError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  LOG_FILTER_COLUMNS,
  NORMALIZED_FIELD,
  type LogFilterColumn,
  type LogQuery,
} from '../domain/log-event.ts';
import { decodeCursor, type LogCursor } from './cursor.ts';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 10_000;
export const DEFAULT_TOP_VALUES = 10;
export const MAX_TOP_VALUES = 1_000;
export const MIN_HISTOGRAM_INTERVAL_S = 1;
export const MAX_HISTOGRAM_INTERVAL_S = 31 * 24 * 3600;
/** fetchRecent: at most ten years back. */
export const MAX_RECENT_MINUTES = 10 * 366 * 24 * 60;
export const MAX_TEXT_LENGTH = 1_000;
/** Values per filter field (an IN list). */
export const MAX_FILTER_VALUES = 1_000;
export const MAX_FILTER_VALUE_LENGTH = 4_096;
export const MAX_FILTER_FIELDS = 32;
export const DEFAULT_CONSOLE_MAX_ROWS = 1_000;
export const MAX_CONSOLE_MAX_ROWS = 100_000;
export const DEFAULT_CONSOLE_TIMEOUT_MS = 10_000;
export const MAX_CONSOLE_TIMEOUT_MS = 300_000;
/** The quarantine keeps at most this many bytes of a record (rawSize keeps the real size). */
export const QUARANTINE_RAW_MAX_BYTES = 64 * 1024;

/** Columns of type UUID, whose filter values must be UUIDs. */
const UUID_COLUMNS: ReadonlySet<LogFilterColumn> = new Set(['id', 'source_id']);
/** Columns of type INTEGER. */
const INTEGER_COLUMNS: ReadonlySet<LogFilterColumn> = new Set(['procid']);

/** A field a filter, top-values or histogram names, resolved. */
export type FieldRef =
  | { kind: 'column'; column: LogFilterColumn; valueType: 'text' | 'uuid' | 'integer' }
  | {
      kind: 'normalized';
      /** Keys from the root of `normalized`, e.g. `['event_data', 'Image']`. */
      path: string[];
      /** The same as a JSONPath for DuckDB's json_extract_string: `$.event_data.Image`. */
      jsonPath: string;
    };

/** Equality on one field: the row matches when the field equals any of `values`. */
export interface FilterPlan {
  field: string;
  ref: FieldRef;
  /** Numbers for integer columns; lower-case UUID text for UUID columns; text otherwise. */
  values: (string | number)[];
}

export interface LogQueryPlan {
  from?: Date;
  to?: Date;
  filters: FilterPlan[];
  /** Lower-cased needle for a case-insensitive substring match on message or raw. */
  text?: string;
  limit: number;
  cursor?: LogCursor;
}

function bad(path: string, message: string): ValidationError {
  return new ValidationError(`invalid ${path}: ${message}`, [{ path, message }]);
}

/** Resolve a field name, or throw a ValidationError naming it. */
export function resolveField(field: string, path = 'field'): FieldRef {
  if (typeof field !== 'string') throw bad(path, 'must be a string');
  if ((LOG_FILTER_COLUMNS as readonly string[]).includes(field)) {
    const column = field as LogFilterColumn;
    const valueType = UUID_COLUMNS.has(column) ? 'uuid' : INTEGER_COLUMNS.has(column) ? 'integer' : 'text';
    return { kind: 'column', column, valueType };
  }
  if (NORMALIZED_FIELD.test(field)) {
    const keys = field.split('.').slice(1);
    return { kind: 'normalized', path: keys, jsonPath: `$.${keys.join('.')}` };
  }
  const shown = field.length > 80 ? `${field.slice(0, 80)}...` : field;
  throw new ValidationError(
    `unknown field "${shown}": use one of ${LOG_FILTER_COLUMNS.join(', ')} or normalized.<key>`,
    [{ path, message: `unknown field "${shown}"` }],
  );
}

function checkDate(value: unknown, path: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw bad(path, 'must be a valid date');
  return value;
}

function checkInt(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(path, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function filterValue(ref: FieldRef, value: unknown, path: string): string | number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw bad(path, 'must be a finite number');
  } else if (typeof value === 'string') {
    if (value.length > MAX_FILTER_VALUE_LENGTH)
      throw bad(path, `longer than ${MAX_FILTER_VALUE_LENGTH} characters`);
  } else {
    throw bad(path, 'must be a string or a number');
  }
  if (ref.kind === 'normalized') return String(value);
  switch (ref.valueType) {
    case 'integer': {
      const n = typeof value === 'number' ? value : /^-?\d{1,10}$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n) || n < -2_147_483_648 || n > 2_147_483_647)
        throw bad(path, 'must be an integer');
      return n;
    }
    case 'uuid':
      if (typeof value !== 'string' || !isUuid(value)) throw bad(path, 'must be a UUID');
      return value.toLowerCase();
    case 'text':
      return String(value);
  }
}

/** Check a query's time range, filters, text and (when `paged`) limit and cursor. */
export function planLogQuery(query: LogQuery = {}, paged = true): LogQueryPlan {
  if (typeof query !== 'object' || query === null) throw bad('query', 'must be an object');
  const plan: LogQueryPlan = { filters: [], limit: DEFAULT_PAGE_SIZE };
  if (query.from !== undefined) plan.from = checkDate(query.from, 'from');
  if (query.to !== undefined) plan.to = checkDate(query.to, 'to');
  if (query.filters !== undefined) {
    if (typeof query.filters !== 'object' || query.filters === null || Array.isArray(query.filters)) {
      throw bad('filters', 'must be an object of field -> value');
    }
    const entries = Object.entries(query.filters);
    if (entries.length > MAX_FILTER_FIELDS) throw bad('filters', `at most ${MAX_FILTER_FIELDS} fields`);
    for (const [field, raw] of entries) {
      const path = `filters.${field}`;
      const ref = resolveField(field, path);
      const list: unknown[] = Array.isArray(raw) ? raw : [raw];
      if (list.length === 0) throw bad(path, 'needs at least one value');
      if (list.length > MAX_FILTER_VALUES) throw bad(path, `at most ${MAX_FILTER_VALUES} values`);
      plan.filters.push({ field, ref, values: list.map((v) => filterValue(ref, v, path)) });
    }
  }
  if (query.text !== undefined) {
    if (typeof query.text !== 'string') throw bad('text', 'must be a string');
    if (query.text.length > MAX_TEXT_LENGTH) throw bad('text', `longer than ${MAX_TEXT_LENGTH} characters`);
    if (query.text.length > 0) plan.text = query.text.toLowerCase();
  }
  if (paged) {
    if (query.limit !== undefined) plan.limit = checkInt(query.limit, 'limit', 1, MAX_PAGE_SIZE);
    if (query.cursor !== undefined && query.cursor !== null) plan.cursor = decodeCursor(query.cursor);
  }
  return plan;
}

/** fetchRecent's `minutes`: a positive number (fractions allowed) up to ten years. */
export function checkRecentMinutes(minutes: number): number {
  if (
    typeof minutes !== 'number' ||
    !Number.isFinite(minutes) ||
    minutes <= 0 ||
    minutes > MAX_RECENT_MINUTES
  ) {
    throw bad('minutes', `must be a number above 0 and at most ${MAX_RECENT_MINUTES}`);
  }
  return minutes;
}

export function checkHistogramInterval(intervalSeconds: number): number {
  return checkInt(intervalSeconds, 'intervalSeconds', MIN_HISTOGRAM_INTERVAL_S, MAX_HISTOGRAM_INTERVAL_S);
}

export function checkTopLimit(limit: number | undefined): number {
  return limit === undefined ? DEFAULT_TOP_VALUES : checkInt(limit, 'limit', 1, MAX_TOP_VALUES);
}

export function checkReadSince(afterSeq: number, limit: number): void {
  checkInt(afterSeq, 'afterSeq', 0, Number.MAX_SAFE_INTEGER);
  checkInt(limit, 'limit', 1, MAX_PAGE_SIZE);
}

export function checkQuarantineListing(opts: { limit?: number; offset?: number } = {}): {
  limit: number;
  offset: number;
} {
  return {
    limit: opts.limit === undefined ? DEFAULT_PAGE_SIZE : checkInt(opts.limit, 'limit', 1, MAX_PAGE_SIZE),
    offset: opts.offset === undefined ? 0 : checkInt(opts.offset, 'offset', 0, Number.MAX_SAFE_INTEGER),
  };
}

export function checkTenantId(tenantId: string): string {
  if (typeof tenantId !== 'string' || !isUuid(tenantId)) throw bad('tenantId', 'must be a UUID');
  return tenantId.toLowerCase();
}

export function checkConsoleOptions(
  opts: { maxRows?: number; timeoutMs?: number; seqRange?: { afterSeq: number; uptoSeq: number } } = {},
): {
  maxRows: number;
  timeoutMs: number;
  seqRange: { afterSeq: number; uptoSeq: number } | undefined;
} {
  const r = opts.seqRange;
  if (r) {
    checkInt(r.afterSeq, 'seqRange.afterSeq', 0, Number.MAX_SAFE_INTEGER);
    checkInt(r.uptoSeq, 'seqRange.uptoSeq', 0, Number.MAX_SAFE_INTEGER);
  }
  return {
    seqRange: r ? { afterSeq: r.afterSeq, uptoSeq: r.uptoSeq } : undefined,
    maxRows:
      opts.maxRows === undefined
        ? DEFAULT_CONSOLE_MAX_ROWS
        : checkInt(opts.maxRows, 'maxRows', 1, MAX_CONSOLE_MAX_ROWS),
    timeoutMs:
      opts.timeoutMs === undefined
        ? DEFAULT_CONSOLE_TIMEOUT_MS
        : checkInt(opts.timeoutMs, 'timeoutMs', 1, MAX_CONSOLE_TIMEOUT_MS),
  };
}

/** Escape `\`, `%` and `_` for a LIKE/ILIKE pattern used with `ESCAPE '\'`. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Cut a quarantined record to the bound (the caller keeps the real size in rawSize). */
export function boundQuarantineRaw(raw: Uint8Array): Uint8Array {
  return raw.byteLength > QUARANTINE_RAW_MAX_BYTES ? raw.subarray(0, QUARANTINE_RAW_MAX_BYTES) : raw;
}

/**
 * A value as JSON can carry it (console rows): bigint -> number when safe else decimal text, Date -> ISO
 * text, bytes -> base64, non-finite numbers -> text; arrays and plain objects converted deeply.
 */
export function toJsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'bigint':
      return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value.toString();
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'string':
    case 'boolean':
      return value;
    case 'object': {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
      if (Array.isArray(value)) return value.map(toJsonSafe);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = toJsonSafe(v);
      return out;
    }
    default:
      return String(value);
  }
}
