/**
 * The driver connection under a transaction of `Database` (src/db/client.ts): the pg PoolClient on PostgreSQL,
 * PGlite's transaction object on PGlite. The log store talks to it directly, for three things drizzle's
 * `execute` does not give: array parameters passed as arrays (drizzle's `sql` template expands a JS array
 * into a list of parameters), rows as arrays with their column names and types even when two columns share a
 * name (the console), and one set of value parsers on both engines.
 */
import pg from 'pg';
import type { DrizzleTx, Engine } from '../../db/client.ts';

export interface Field {
  name: string;
  dataTypeID: number;
}

export interface Conn {
  /** A parameterised statement; rows as objects. */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** A parameterised statement; rows as arrays, with the result's columns; int8 and numeric as numbers. */
  queryArrays(text: string, params?: unknown[]): Promise<{ fields: Field[]; rows: unknown[][] }>;
  /** Parameterless statements (several allowed), results ignored. */
  exec(text: string): Promise<void>;
}

/** int8 and numeric as numbers in the console's rows (int8 beyond 2^53 and NaN/Infinity stay text). */
function parseInt8(text: string): number | string {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : text;
}
function parseNumeric(text: string): number | string {
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}
const ARRAY_PARSERS: Record<number, (text: string) => unknown> = { 20: parseInt8, 1700: parseNumeric };
const pgArrayTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    ARRAY_PARSERS[oid] ?? pg.types.getTypeParser(oid, format ?? 'text'),
};

interface PgLikeClient {
  query(config: {
    text: string;
    values?: unknown[];
    rowMode?: 'array';
    types?: typeof pgArrayTypes;
  }): Promise<{
    rows: unknown[];
    fields: Field[];
  }>;
}

interface PgliteLikeClient {
  query(
    text: string,
    params?: unknown[],
    opts?: { rowMode?: 'array' | 'object'; parsers?: Record<number, (text: string) => unknown> },
  ): Promise<{ rows: unknown[]; fields: Field[] }>;
  exec(text: string): Promise<unknown>;
}

/** The driver client of a drizzle transaction (`tx._.session.client`: public in drizzle's types up to the client). */
function clientOf(tx: DrizzleTx): unknown {
  const session = (tx as unknown as { _: { session?: { client?: unknown } } })._?.session;
  const client = session?.client;
  if (!client || typeof (client as { query?: unknown }).query !== 'function') {
    throw new Error('log store: cannot reach the driver connection of the transaction');
  }
  return client;
}

export function connOf(tx: DrizzleTx, engine: Engine): Conn {
  const client = clientOf(tx);
  if (engine === 'postgres') {
    const c = client as PgLikeClient;
    return {
      query: async <T>(text: string, params?: unknown[]) =>
        (await c.query({ text, values: params ?? [] })).rows as T[],
      queryArrays: async (text, params) => {
        const r = await c.query({ text, values: params ?? [], rowMode: 'array', types: pgArrayTypes });
        return { fields: r.fields, rows: r.rows as unknown[][] };
      },
      exec: async (text) => {
        await c.query({ text });
      },
    };
  }
  const c = client as PgliteLikeClient;
  return {
    query: async <T>(text: string, params?: unknown[]) => (await c.query(text, params ?? [])).rows as T[],
    queryArrays: async (text, params) => {
      const r = await c.query(text, params ?? [], { rowMode: 'array', parsers: ARRAY_PARSERS });
      return { fields: r.fields, rows: r.rows as unknown[][] };
    },
    exec: async (text) => {
      await c.exec(text);
    },
  };
}

/** int8 arrives as text (pg), number or bigint (PGlite). */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return Number(value);
  return value === null || value === undefined ? 0 : Number(value);
}

export function toNullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value);
}

/** timestamptz arrives as a Date on both engines with their default parsers; text is accepted too. */
export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') return new Date(value);
  throw new Error(`log store: not a timestamp: ${String(value)}`);
}

/** bytea arrives as a Buffer (pg) or a Uint8Array (PGlite). */
export function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string' && value.startsWith('\\x')) return Buffer.from(value.slice(2), 'hex');
  return new Uint8Array();
}

// Text and JSON parameters: U+0000 handling lives with the event encoder (pure, shared with the ingest worker).
export { pgJson, pgText } from './event-encoding.ts';
