/**
 * Relational bookkeeping of the log store (issue 4). The events themselves live in the log store (DuckDB, or
 * the partitioned `log_events` table of migration 0009 when the PostgreSQL log store is chosen).
 */
import { bigint, jsonb, pgTable, primaryKey, text, varchar } from 'drizzle-orm/pg-core';
import { tenantIdColumn, tstz, updatedAt } from './columns.ts';
import { tenants } from './identity.ts';

/**
 * The periodic fetcher's watermark per consumer and tenant (seed 002's PeriodicLogFetcher "automatic time
 * tracking", made restart-safe): the ingest sequence number of the last event handed to the consumer.
 * A consumer that writes its results in the same transaction as the watermark gets each event exactly once.
 */
export const logConsumerWatermarks = pgTable(
  'log_consumer_watermarks',
  {
    tenantId: tenantIdColumn().references(() => tenants.id, { onDelete: 'cascade' }),
    /** Consumer name, e.g. `detection`. */
    consumer: varchar('consumer', { length: 128 }).notNull(),
    /** Ingest sequence number (log store `seq`) of the last event delivered; 0 before the first. */
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
    /** Events delivered so far. */
    deliveredCount: bigint('delivered_count', { mode: 'number' }).notNull().default(0),
    lastRunAt: tstz('last_run_at'),
    /** The last delivery failure, cleared by the next success. */
    lastError: text('last_error'),
    /**
     * What the consumer carries from one window to the next (detection: a correlation's or threshold rule's
     * pending matches and already-alerted spans), written by the same compare-and-set as `last_seq`.
     */
    state: jsonb('state').$type<unknown>(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.consumer] })],
);
