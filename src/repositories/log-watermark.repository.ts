/**
 * Watermarks of the periodic log fetcher (seed 002's PeriodicLogFetcher "automatic time tracking", made
 * restart-safe): per tenant and consumer, the log store `seq` of the last event handed to the consumer.
 *
 * `advance` is a compare-and-set from the seq the caller read: two fetchers that raced over the same range
 * cannot both commit it; the loser gets a ConflictError, and since it runs in the fetcher's transaction, the
 * loser's consumer writes roll back with it.
 *
 * A consumer may carry state from one range to the next (`state`, migration 0012: scheduled detection keeps a
 * correlation's pending matches there). It is written only by `advance`, in the same compare-and-set as the
 * seq, so the state always describes exactly the events up to `last_seq`; `reset` clears it.
 *
 * Migration 0008 installs no `updated_at` trigger on this table, so every write here sets it itself.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { logConsumerWatermarks } from '../db/schema/index.ts';
import { ConflictError, ValidationError } from '../domain/errors.ts';

export type LogWatermark = typeof logConsumerWatermarks.$inferSelect;
/** A watermark without its carried state (what listings return: the state can be large). */
export type LogWatermarkSummary = Omit<LogWatermark, 'state'>;

/** Consumer names: short identifiers, as they appear in logs and CLI arguments. */
export const CONSUMER_NAME = /^[a-z0-9][a-z0-9._:-]{0,127}$/;

/** A failure message kept on the row is cut to this many characters. */
const MAX_ERROR_LENGTH = 4000;

const w = logConsumerWatermarks;

function checkConsumer(consumer: string): void {
  if (!CONSUMER_NAME.test(consumer)) {
    throw new ValidationError(`invalid consumer name: ${consumer}`, [
      { path: 'consumer', message: 'lower-case letters, digits and . _ : - (at most 128)' },
    ]);
  }
}

function checkSeq(value: number, path: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ValidationError(`${path} must be a non-negative integer`, [
      { path, message: 'a non-negative integer' },
    ]);
  }
}

export class LogWatermarkRepository {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, consumer: string): Promise<LogWatermark | undefined> {
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(w)
        .where(and(eq(w.tenantId, tenantId), eq(w.consumer, consumer)));
      return row;
    });
  }

  /**
   * Every consumer's watermark for the tenant, by consumer name, without the carried state (one row per
   * consumer: no paging).
   */
  async list(tenantId: string): Promise<{ items: LogWatermarkSummary[]; total: number }> {
    return this.db.tenant(tenantId, async (tx) => {
      const items = await tx
        .select({
          tenantId: w.tenantId,
          consumer: w.consumer,
          lastSeq: w.lastSeq,
          deliveredCount: w.deliveredCount,
          lastRunAt: w.lastRunAt,
          lastError: w.lastError,
          updatedAt: w.updatedAt,
        })
        .from(w)
        .where(eq(w.tenantId, tenantId))
        .orderBy(asc(w.consumer));
      return { items, total: items.length };
    });
  }

  /**
   * Move the watermark from `fromSeq` (what the caller read) to `toSeq`, adding `delivered` to the count and
   * clearing the last error. Throws ConflictError when the stored seq is no longer `fromSeq` (another
   * fetcher moved it, or an operator reset it). A missing row counts as seq 0.
   *
   * Under READ COMMITTED a concurrent advance waits on the row (or on the primary key for the first insert)
   * and then re-checks the condition against the committed row, so exactly one of two racers succeeds.
   *
   * `state` (when given; null clears it) replaces the consumer's carried state in the same statement.
   */
  async advance(
    tenantId: string,
    consumer: string,
    move: { fromSeq: number; toSeq: number; delivered: number; state?: unknown },
  ): Promise<LogWatermark> {
    checkConsumer(consumer);
    checkSeq(move.fromSeq, 'fromSeq');
    checkSeq(move.toSeq, 'toSeq');
    checkSeq(move.delivered, 'delivered');
    if (move.toSeq <= move.fromSeq) {
      throw new ValidationError(`watermark only moves forward (${move.fromSeq} -> ${move.toSeq})`, [
        { path: 'toSeq', message: 'must be greater than fromSeq' },
      ]);
    }
    const state = move.state === undefined ? {} : { state: move.state };
    return this.db.tenant(tenantId, async (tx) => {
      const now = sql`now()`;
      const [row] =
        move.fromSeq === 0
          ? await tx
              .insert(w)
              .values({
                tenantId,
                consumer,
                lastSeq: move.toSeq,
                deliveredCount: move.delivered,
                lastRunAt: now,
                lastError: null,
                ...state,
              })
              .onConflictDoUpdate({
                target: [w.tenantId, w.consumer],
                set: {
                  lastSeq: move.toSeq,
                  deliveredCount: sql`${w.deliveredCount} + ${move.delivered}`,
                  lastRunAt: now,
                  lastError: null,
                  updatedAt: now,
                  ...state,
                },
                setWhere: eq(w.lastSeq, 0),
              })
              .returning()
          : await tx
              .update(w)
              .set({
                lastSeq: move.toSeq,
                deliveredCount: sql`${w.deliveredCount} + ${move.delivered}`,
                lastRunAt: now,
                lastError: null,
                updatedAt: now,
                ...state,
              })
              .where(and(eq(w.tenantId, tenantId), eq(w.consumer, consumer), eq(w.lastSeq, move.fromSeq)))
              .returning();
      if (!row) {
        throw new ConflictError(
          `watermark of log consumer ${consumer} is no longer at seq ${move.fromSeq}`,
          'lastSeq',
        );
      }
      return row;
    });
  }

  /** Keep the reason of a failed delivery (the watermark does not move); cleared by the next advance. */
  async recordFailure(tenantId: string, consumer: string, error: string): Promise<LogWatermark> {
    checkConsumer(consumer);
    const message = error.length > MAX_ERROR_LENGTH ? `${error.slice(0, MAX_ERROR_LENGTH - 1)}…` : error;
    return this.db.tenant(tenantId, async (tx) => {
      const now = sql`now()`;
      const [row] = await tx
        .insert(w)
        .values({ tenantId, consumer, lastRunAt: now, lastError: message })
        .onConflictDoUpdate({
          target: [w.tenantId, w.consumer],
          set: { lastRunAt: now, lastError: message, updatedAt: now },
        })
        .returning();
      return row!;
    });
  }

  /**
   * Put the watermark at `toSeq` whatever it was (an operator's rewind to replay, 0 for everything still
   * stored; or a skip forward past a batch that cannot be handled). The delivered count is kept; the carried
   * state is cleared (it described the events up to the old seq).
   */
  async reset(tenantId: string, consumer: string, toSeq = 0): Promise<LogWatermark> {
    checkConsumer(consumer);
    checkSeq(toSeq, 'toSeq');
    return this.db.tenant(tenantId, async (tx) => {
      const now = sql`now()`;
      const [row] = await tx
        .insert(w)
        .values({ tenantId, consumer, lastSeq: toSeq, lastError: null })
        .onConflictDoUpdate({
          target: [w.tenantId, w.consumer],
          set: { lastSeq: toSeq, lastError: null, updatedAt: now, state: null },
        })
        .returning();
      return row!;
    });
  }

  /** Forget a retired consumer. Returns whether there was a row. */
  async delete(tenantId: string, consumer: string): Promise<boolean> {
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(w)
        .where(and(eq(w.tenantId, tenantId), eq(w.consumer, consumer)))
        .returning({ consumer: w.consumer });
      return gone.length > 0;
    });
  }
}
