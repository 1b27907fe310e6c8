/**
 * Seed 002's PeriodicLogFetcher, multi-tenant and restart-safe: every run hands each registered consumer,
 * for every active tenant, the events stored since the consumer's watermark, batch by batch.
 *
 * The watermark is the log store's `seq` (increasing in commit order per tenant), not an event time, so:
 * - an event whose own timestamp is old but which was stored after the watermark (a late arrival: a
 *   delayed agent, a backfill) is still delivered;
 * - a restart resumes from the persisted watermark (table `log_consumer_watermarks`).
 *
 * Delivery guarantee. For each batch the fetcher opens one transaction bound to the tenant
 * (`db.tenant`), calls `consumer.handle(tenantId, events)` inside it, then advances the watermark in the
 * same transaction with a compare-and-set from the seq it read. Hence:
 * - a consumer whose results are rows written through repositories (which join the ambient transaction)
 *   gets each event exactly once: its rows and the new watermark commit together or not at all. A crash,
 *   a throw, or a lost race (another fetcher advanced the watermark first: ConflictError) rolls back the
 *   consumer's rows with it, and the batch is delivered again on a later run;
 * - a consumer with side effects outside the relational database (a webhook, an e-mail, another store)
 *   gets each event at least once: those effects cannot roll back, so after a failure or a lost race they
 *   may happen again. Such a consumer must be idempotent (e.g. key its effects by event id) or record what
 *   it did in the same transaction and skip what is already recorded.
 *
 * A failing batch does not move the watermark: its error is stored on the watermark row (in a transaction
 * of its own), the batch is retried on the next run, and other consumers and tenants carry on. A batch that
 * fails forever blocks its consumer for that tenant until fixed, or until an operator moves the watermark
 * past it (`reset`); `status` shows the error and the lag.
 *
 * Retention: the purge job deletes events by age whether or not a consumer has seen them; a consumer that
 * lags by more than the tenant's retention loses the events purged meanwhile.
 */
import type { Logger } from '../config/logger.ts';
import type { Database } from '../db/client.ts';
import { ConflictError, ValidationError } from '../domain/errors.ts';
import type { LogEventRow } from '../domain/log-event.ts';
import type { LogStore } from '../logstore/log-store.ts';
import {
  CONSUMER_NAME,
  type LogWatermark,
  type LogWatermarkSummary,
  type LogWatermarkRepository,
} from '../repositories/log-watermark.repository.ts';
import type { TenantRepository } from '../repositories/tenant.repository.ts';

export interface LogConsumer {
  /** Stable name: the watermark is kept under it (`detection`, `ioc-match`...). */
  readonly name: string;
  /** Events per batch (default: the fetcher's, 500). */
  readonly batchSize?: number;
  /**
   * Handle one batch, in seq order. Runs inside the tenant's transaction: repository writes made here
   * commit with the watermark. Throw to refuse the batch (it is retried on the next run).
   */
  handle(tenantId: string, events: LogEventRow[]): Promise<void>;
}

export interface LogFetcherOptions {
  /** Events per batch for consumers that set none (default 500). */
  defaultBatchSize?: number;
  /**
   * Batches per consumer and tenant in one run (default 20): a tenant with a large backlog catches up over
   * several runs instead of holding up the others.
   */
  maxBatchesPerRun?: number;
}

export type ConsumerOutcome = 'caught_up' | 'capped' | 'failed' | 'conflict' | 'aborted';

export interface ConsumerRunResult {
  tenantId: string;
  consumer: string;
  outcome: ConsumerOutcome;
  /** Events committed by this run. */
  delivered: number;
  batches: number;
  /** Watermark after this run. */
  lastSeq: number;
  error?: string;
}

export interface FetchRunResult {
  tenants: number;
  consumers: number;
  delivered: number;
  batches: number;
  failed: number;
  conflicts: number;
  /** Consumers stopped by the per-run cap with events left: the next run goes on at once. */
  capped: number;
  aborted: boolean;
  /** Per tenant and consumer, only those that delivered, failed, lost a race or were capped. */
  results: ConsumerRunResult[];
}

export interface ConsumerStatus {
  consumer: string;
  /** Whether a consumer of this name is registered in this process. */
  registered: boolean;
  lastSeq: number;
  deliveredCount: number;
  /** Events stored after the watermark (by seq; 0 when caught up). */
  lag: number;
  lastRunAt: Date | null;
  lastError: string | null;
}

const MAX_BATCH_SIZE = 10_000;
const TENANT_PAGE = 500;

function checkCount(value: number, path: string, max: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new ValidationError(`${path} must be an integer between 1 and ${max}`, [
      { path, message: `an integer between 1 and ${max}` },
    ]);
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class LogFetcherService {
  readonly #consumers = new Map<string, LogConsumer>();
  readonly #defaultBatchSize: number;
  readonly #maxBatchesPerRun: number;

  constructor(
    private readonly db: Database,
    private readonly logStore: LogStore,
    private readonly tenants: TenantRepository,
    private readonly watermarks: LogWatermarkRepository,
    private readonly logger: Logger,
    opts: LogFetcherOptions = {},
  ) {
    this.#defaultBatchSize = opts.defaultBatchSize ?? 500;
    this.#maxBatchesPerRun = opts.maxBatchesPerRun ?? 20;
    checkCount(this.#defaultBatchSize, 'defaultBatchSize', MAX_BATCH_SIZE);
    checkCount(this.#maxBatchesPerRun, 'maxBatchesPerRun', 1_000_000);
  }

  /** seed 002 register_callback. A name may be registered once. */
  register(consumer: LogConsumer): void {
    if (!CONSUMER_NAME.test(consumer.name)) {
      throw new ValidationError(`invalid consumer name: ${consumer.name}`, [
        { path: 'name', message: 'lower-case letters, digits and . _ : - (at most 128)' },
      ]);
    }
    if (consumer.batchSize !== undefined) checkCount(consumer.batchSize, 'batchSize', MAX_BATCH_SIZE);
    if (this.#consumers.has(consumer.name)) {
      throw new ConflictError(`log consumer ${consumer.name} is already registered`, 'name');
    }
    this.#consumers.set(consumer.name, consumer);
  }

  unregister(name: string): boolean {
    return this.#consumers.delete(name);
  }

  get consumerNames(): string[] {
    return [...this.#consumers.keys()];
  }

  /**
   * One pass: every active tenant (or only `tenantId`), every registered consumer, until caught up or the
   * per-run cap. Tenants and consumers are served one after the other. `signal` stops the pass between
   * batches (what is committed stays committed).
   */
  async runOnce(opts: { signal?: AbortSignal; tenantId?: string } = {}): Promise<FetchRunResult> {
    const result: FetchRunResult = {
      tenants: 0,
      consumers: this.#consumers.size,
      delivered: 0,
      batches: 0,
      failed: 0,
      conflicts: 0,
      capped: 0,
      aborted: false,
      results: [],
    };
    if (this.#consumers.size === 0) return result;
    const consumers = [...this.#consumers.values()];
    const tenantIds = opts.tenantId ? [opts.tenantId] : await this.#activeTenantIds();

    for (const tenantId of tenantIds) {
      result.tenants += 1;
      let maxSeq: Promise<number> | undefined;
      const storeMaxSeq = () => (maxSeq ??= this.logStore.maxSeq(tenantId));
      for (const consumer of consumers) {
        if (opts.signal?.aborted) {
          result.aborted = true;
          return result;
        }
        const r = await this.#deliver(tenantId, consumer, storeMaxSeq, opts.signal);
        result.delivered += r.delivered;
        result.batches += r.batches;
        if (r.outcome === 'failed') result.failed += 1;
        if (r.outcome === 'conflict') result.conflicts += 1;
        if (r.outcome === 'capped') result.capped += 1;
        if (r.outcome === 'aborted') result.aborted = true;
        if (r.outcome !== 'caught_up' || r.delivered > 0) result.results.push(r);
      }
    }
    return result;
  }

  /** The watermarks of a tenant with their lag: registered consumers first, then rows of others. */
  async status(tenantId: string): Promise<ConsumerStatus[]> {
    const [{ items }, maxSeq] = await Promise.all([
      this.watermarks.list(tenantId),
      this.logStore.maxSeq(tenantId),
    ]);
    const byName = new Map<string, LogWatermarkSummary>(items.map((w) => [w.consumer, w]));
    const names = [
      ...this.#consumers.keys(),
      ...items.map((w) => w.consumer).filter((n) => !this.#consumers.has(n)),
    ];
    return names.map((name) => {
      const w = byName.get(name);
      const lastSeq = w?.lastSeq ?? 0;
      return {
        consumer: name,
        registered: this.#consumers.has(name),
        lastSeq,
        deliveredCount: w?.deliveredCount ?? 0,
        lag: Math.max(0, maxSeq - lastSeq),
        lastRunAt: w?.lastRunAt ?? null,
        lastError: w?.lastError ?? null,
      };
    });
  }

  /**
   * Operator action: put a consumer's watermark at `toSeq` (0 replays everything the store still holds; a
   * seq past a poison batch skips it). A run in progress that read the old watermark loses its race.
   */
  async reset(tenantId: string, consumer: string, toSeq = 0): Promise<LogWatermark> {
    const w = await this.watermarks.reset(tenantId, consumer, toSeq);
    this.logger.warn({ tenantId, consumer, toSeq }, 'log consumer watermark reset');
    return w;
  }

  async #activeTenantIds(): Promise<string[]> {
    const ids: string[] = [];
    for (let offset = 0; ; offset += TENANT_PAGE) {
      const page = await this.tenants.list({ filters: { status: 'active' }, limit: TENANT_PAGE, offset });
      ids.push(...page.items.map((t) => t.id));
      if (page.items.length < TENANT_PAGE) return ids;
    }
  }

  async #deliver(
    tenantId: string,
    consumer: LogConsumer,
    storeMaxSeq: () => Promise<number>,
    signal: AbortSignal | undefined,
  ): Promise<ConsumerRunResult> {
    const batchSize = consumer.batchSize ?? this.#defaultBatchSize;
    const r: ConsumerRunResult = {
      tenantId,
      consumer: consumer.name,
      outcome: 'caught_up',
      delivered: 0,
      batches: 0,
      lastSeq: 0,
    };
    const log = { tenantId, consumer: consumer.name };
    /** Set when the watermark's compare-and-set, not the consumer, refused the batch. */
    let lostRace = false;
    try {
      r.lastSeq = (await this.watermarks.get(tenantId, consumer.name))?.lastSeq ?? 0;
      for (;;) {
        if (r.batches >= this.#maxBatchesPerRun) {
          r.outcome = 'capped';
          return r;
        }
        if (signal?.aborted) {
          r.outcome = 'aborted';
          return r;
        }
        // Read outside the transaction: it stays short, and the log store may be on other connections.
        const events = await this.logStore.readSince(tenantId, r.lastSeq, batchSize);
        if (events.length === 0) {
          if (r.batches === 0 && r.lastSeq > 0)
            await this.#checkStoreBehind(tenantId, consumer, r.lastSeq, storeMaxSeq);
          return r;
        }
        const toSeq = this.#checkBatch(tenantId, r.lastSeq, events);

        await this.db.tenant(tenantId, async () => {
          await consumer.handle(tenantId, events);
          try {
            await this.watermarks.advance(tenantId, consumer.name, {
              fromSeq: r.lastSeq,
              toSeq,
              delivered: events.length,
            });
          } catch (err) {
            lostRace = err instanceof ConflictError;
            throw err;
          }
        });
        r.lastSeq = toSeq;
        r.delivered += events.length;
        r.batches += 1;
        if (events.length < batchSize) return r;
      }
    } catch (err) {
      r.error = message(err);
      if (lostRace) {
        // Another fetcher (another node, the CLI) committed this range first; our batch rolled back.
        r.outcome = 'conflict';
        this.logger.info({ ...log, fromSeq: r.lastSeq }, 'log consumer watermark moved by another fetcher');
        return r;
      }
      r.outcome = 'failed';
      this.logger.warn({ ...log, err, fromSeq: r.lastSeq }, 'log consumer batch failed; will retry');
      try {
        await this.watermarks.recordFailure(tenantId, consumer.name, r.error);
      } catch (recordErr) {
        this.logger.error({ ...log, err: recordErr }, 'could not record the log consumer failure');
      }
      return r;
    }
  }

  /** The batch must be this tenant's, after the watermark, in seq order; returns its last seq. */
  #checkBatch(tenantId: string, afterSeq: number, events: LogEventRow[]): number {
    let prev = afterSeq;
    for (const e of events) {
      if (e.tenantId !== tenantId)
        throw new Error(`log store returned an event of another tenant (seq ${e.seq})`);
      if (!(e.seq > prev)) throw new Error(`log store returned seq ${e.seq} after ${prev}: not in seq order`);
      prev = e.seq;
    }
    return prev;
  }

  /** A watermark beyond the store's highest seq means the store was replaced or restored: say so. */
  async #checkStoreBehind(
    tenantId: string,
    consumer: LogConsumer,
    lastSeq: number,
    storeMaxSeq: () => Promise<number>,
  ): Promise<void> {
    let maxSeq: number;
    try {
      maxSeq = await storeMaxSeq();
    } catch (err) {
      // Only a diagnostic: the next readSince will surface a store that is really down.
      this.logger.debug({ tenantId, err }, 'could not read the log store maxSeq');
      return;
    }
    if (maxSeq < lastSeq) {
      this.logger.warn(
        { tenantId, consumer: consumer.name, lastSeq, storeMaxSeq: maxSeq },
        'log consumer watermark is ahead of the log store (store replaced or restored?); ' +
          'new events are not delivered until the watermark is reset',
      );
    }
  }
}
