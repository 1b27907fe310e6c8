/**
 * Events on their way into a log store, encoded the way that store takes them. Pure: the ingest worker thread
 * (src/services/ingest-worker.ts) encodes a batch where it parsed it, so the thread that talks to the store
 * does no per-event work; LogStore.append encodes in place for everyone else.
 *
 *   duckdb    packed strings and typed columns for the appender (duckdb/event-staging.ts)
 *   postgres  one array literal per column for one INSERT ... unnest (postgres/event-encoding.ts)
 *   events    the checked events themselves (stores with no encoding of their own: test fakes)
 *
 * Encoding checks the batch (tenant, UUID ids, valid timestamps) and drops repeated ids (the first counts), so
 * an encoded batch is one the store can take without looking at single events again.
 */
import { ValidationError } from '../domain/errors.ts';
import type { AppendBatch, LogEventInput } from '../domain/log-event.ts';
import type { EventSink } from '../ingest/record-batcher.ts';
import {
  concatDuckDbEvents,
  DuckDbEventEncoder,
  encodeDuckDbEvents,
  type DuckDbEncodedEvents,
} from './duckdb/event-staging.ts';
import {
  concatPostgresEvents,
  encodePostgresEvents,
  type PostgresEncodedEvents,
} from './postgres/event-encoding.ts';

export type EventEncoding = 'duckdb' | 'postgres' | 'events';

export interface PlainEncodedEvents {
  readonly encoding: 'events';
  tenantId: string;
  given: number;
  events: LogEventInput[];
}

export type EncodedEvents = DuckDbEncodedEvents | PostgresEncodedEvents | PlainEncodedEvents;

/** AppendBatch with its events encoded. */
export type EncodedAppendBatch = Omit<AppendBatch, 'events'> & { events: EncodedEvents };

export function encodeEvents(
  encoding: EventEncoding,
  tenantId: string,
  events: readonly LogEventInput[],
): EncodedEvents {
  const tenant = tenantId.toLowerCase();
  switch (encoding) {
    case 'duckdb':
      return encodeDuckDbEvents(tenant, events);
    case 'postgres':
      return encodePostgresEvents(tenant, events);
    case 'events':
      for (const e of events)
        if (e.tenantId.toLowerCase() !== tenant)
          throw new ValidationError('event of another tenant in the batch');
      return { encoding, tenantId: tenant, given: events.length, events: [...events] };
  }
}

/** The encoded events a store of `encoding` takes, or a ValidationError (a batch encoded for another store). */
export function expectEncoding<E extends EventEncoding>(
  batch: EncodedAppendBatch,
  encoding: E,
  tenantId: string,
): Extract<EncodedEvents, { encoding: E }> {
  const ev = batch.events;
  if (ev.encoding !== encoding)
    throw new ValidationError(`events encoded for a ${ev.encoding} store, not ${encoding}`);
  if (ev.tenantId !== tenantId) throw new ValidationError('events encoded for another tenant');
  return ev as Extract<EncodedEvents, { encoding: E }>;
}

/**
 * A sink that encodes events for a store of `encoding` as a RecordBatcher makes them: the DuckDB encoder packs
 * each event when it comes (see DuckDbEventEncoder); the others collect the batch and encode it at take().
 */
export function createEventSink(encoding: EventEncoding, tenantId: string): EventSink<EncodedEvents> {
  const tenant = tenantId.toLowerCase();
  if (encoding === 'duckdb') return new DuckDbEventEncoder(tenant);
  let events: LogEventInput[] = [];
  return {
    add: (e) => void events.push(e),
    get size() {
      return events.length;
    },
    take: () => {
      const batch = events;
      events = [];
      return encodeEvents(encoding, tenant, batch);
    },
  };
}

/**
 * Consecutive encoded parts of ONE stream (one id chain: ids never repeat across its parts) as one batch, for
 * one store transaction: the ingest worker posts small parts (their objects die young on its side) and the
 * store takes them by its preferredBatchSize.
 */
export function concatEncodedEvents(parts: readonly EncodedEvents[]): EncodedEvents {
  const first = parts[0];
  if (first === undefined) throw new ValidationError('no parts to join');
  if (parts.length === 1) return first;
  if (parts.some((p) => p.encoding !== first.encoding))
    throw new ValidationError('parts of different encodings');
  switch (first.encoding) {
    case 'duckdb':
      return concatDuckDbEvents(parts as DuckDbEncodedEvents[]);
    case 'postgres':
      return concatPostgresEvents(parts as PostgresEncodedEvents[]);
    case 'events': {
      const all = parts as PlainEncodedEvents[];
      if (all.some((p) => p.tenantId !== first.tenantId))
        throw new ValidationError('parts of different tenants');
      return { ...first, given: all.reduce((n, p) => n + p.given, 0), events: all.flatMap((p) => p.events) };
    }
  }
}
