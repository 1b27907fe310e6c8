/**
 * Keyset cursors for LogStore.fetchLogs (newest first: timestamp desc, then id desc), shared by the DuckDB
 * and PostgreSQL stores. A cursor is opaque to clients (base64url of a small JSON object) and is validated
 * when it comes back: a forged or damaged cursor is a ValidationError, never a driver error.
 */
import { ValidationError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';

/** The last row of a page: the next page holds rows strictly after it in (timestamp desc, id desc) order. */
export interface LogCursor {
  timestamp: Date;
  /** Event id, lower-case UUID text. */
  id: string;
}

const CURSOR_VERSION = 1;
/** Cursors are small; anything longer is not one of ours. */
const MAX_CURSOR_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeCursor(cursor: LogCursor): string {
  const body = { v: CURSOR_VERSION, t: cursor.timestamp.toISOString(), i: cursor.id.toLowerCase() };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

function invalid(reason: string): ValidationError {
  return new ValidationError(`invalid cursor: ${reason}`, [{ path: 'cursor', message: reason }]);
}

export function decodeCursor(text: string): LogCursor {
  if (typeof text !== 'string' || text.length === 0) throw invalid('empty');
  if (text.length > MAX_CURSOR_LENGTH || !BASE64URL.test(text)) throw invalid('not a cursor of this API');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not a cursor of this API');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('not a cursor of this API');
  const { v, t, i } = body as Record<string, unknown>;
  if (v !== CURSOR_VERSION) throw invalid('unsupported version');
  if (typeof t !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(t))
    throw invalid('bad timestamp');
  const timestamp = new Date(t);
  if (Number.isNaN(timestamp.getTime())) throw invalid('bad timestamp');
  if (typeof i !== 'string' || !isUuid(i)) throw invalid('bad id');
  return { timestamp, id: i.toLowerCase() };
}
