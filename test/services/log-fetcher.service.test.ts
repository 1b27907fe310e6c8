/**
 * The periodic log fetcher on a real, migrated relational database (PGlite; PostgreSQL with
 * TEST_DATABASE_URL) over the in-memory log store. The test consumer behaves like detection: it writes one
 * alert per event through AlertRepository, inside the fetcher's transaction, so "delivered exactly once"
 * is checked on what was committed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, ValidationError } from '../../src/domain/errors.ts';
import type { LogEventRow } from '../../src/domain/log-event.ts';
import { AlertRepository } from '../../src/repositories/alert.repository.ts';
import { LogWatermarkRepository } from '../../src/repositories/log-watermark.repository.ts';
import { TenantRepository } from '../../src/repositories/tenant.repository.ts';
import {
  LogFetcherService,
  type LogConsumer,
  type LogFetcherOptions,
} from '../../src/services/log-fetcher.service.ts';
import { captureLogger, LEVEL } from '../helpers/capture-logger.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';
import { appendEvents, makeEvent, MemoryLogStore } from '../helpers/memory-log-store.ts';

describe.each(engines())('LogFetcherService on %s', (engine) => {
  let t: TestDb;
  let tenants: TenantRepository;
  let watermarks: LogWatermarkRepository;
  let alerts: AlertRepository;

  beforeAll(async () => {
    t = await createTestDb(engine);
    tenants = new TenantRepository(t.db);
    watermarks = new LogWatermarkRepository(t.db);
    alerts = new AlertRepository(t.db);
  });
  afterAll(async () => t?.dispose());

  function fetcher(store: MemoryLogStore, opts: LogFetcherOptions = {}) {
    const { logger, records } = captureLogger();
    const service = new LogFetcherService(t.db, store, tenants, watermarks, logger, opts);
    return { service, records };
  }

  /** A detection-like consumer: one alert per event, written in the fetcher's transaction. */
  function alertingConsumer(
    name: string,
    opts: {
      batchSize?: number;
      /** Called after the alerts are written, still inside the transaction. */
      after?: (tenantId: string, events: LogEventRow[]) => Promise<void> | void;
    } = {},
  ): LogConsumer & { calls: { tenantId: string; seqs: number[]; boundTo: string | null }[] } {
    const calls: { tenantId: string; seqs: number[]; boundTo: string | null }[] = [];
    return {
      name,
      ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }),
      calls,
      async handle(tenantId, events) {
        calls.push({ tenantId, seqs: events.map((e) => e.seq), boundTo: t.db.currentTenant });
        await alerts.createBatch(
          tenantId,
          events.map((e) => ({
            logId: e.id,
            alertType: 'test',
            detectionMethod: name,
            metadata: { seq: e.seq },
          })),
        );
        await opts.after?.(tenantId, events);
      },
    };
  }

  /** The seqs whose alerts were committed by `consumer` for the tenant, in order (duplicates kept). */
  async function committed(tenantId: string, consumer: string): Promise<number[]> {
    const rows = await t.db.query<{ seq: string }>(
      `select metadata->>'seq' as seq from alerts where tenant_id = $1 and detection_method = $2`,
      [tenantId, consumer],
    );
    return rows.map((r) => Number(r.seq)).sort((x, y) => x - y);
  }

  async function storedSeqs(store: MemoryLogStore, tenantId: string): Promise<number[]> {
    return (await store.readSince(tenantId, 0, 1_000_000)).map((e) => e.seq);
  }

  it('delivers every event exactly once across ticks, with appends in between', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    const { service } = fetcher(store, { maxBatchesPerRun: 3 });
    const c = alertingConsumer('once', { batchSize: 4 });
    service.register(c);

    let total = 0;
    for (const n of [0, 7, 1, 0, 13, 4]) {
      if (n) await appendEvents(store, a.id, n);
      total += n;
      await service.runOnce({ tenantId: a.id });
    }
    // at most 3 batches of 4 per run: the 13 needed a second run, which the last tick gave
    const all = await storedSeqs(store, a.id);
    expect(all).toHaveLength(total);
    expect(await committed(a.id, 'once')).toEqual(all);
    expect(c.calls.every((call) => call.seqs.length <= 4)).toBe(true);
    expect(await watermarks.get(a.id, 'once')).toMatchObject({
      lastSeq: all.at(-1),
      deliveredCount: total,
      lastError: null,
    });
    // nothing new: nothing handled, no transaction opened for it
    const before = c.calls.length;
    const idle = await service.runOnce({ tenantId: a.id });
    expect(c.calls.length).toBe(before);
    expect(idle).toMatchObject({ delivered: 0, batches: 0, failed: 0, results: [] });
  });

  it('stops at the per-run cap and says so; the next runs catch up', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    const { service } = fetcher(store, { maxBatchesPerRun: 2 });
    service.register(alertingConsumer('capped', { batchSize: 3 }));
    await appendEvents(store, a.id, 10);

    const r1 = await service.runOnce({ tenantId: a.id });
    expect(r1).toMatchObject({ delivered: 6, batches: 2, capped: 1 });
    expect(r1.results).toEqual([
      expect.objectContaining({ outcome: 'capped', delivered: 6, tenantId: a.id }),
    ]);
    const r2 = await service.runOnce({ tenantId: a.id });
    expect(r2).toMatchObject({ delivered: 4, batches: 2, capped: 0 });
    expect(await committed(a.id, 'capped')).toEqual(await storedSeqs(store, a.id));
  });

  it('runs every active tenant when no tenant is named, and skips inactive ones', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    const s = await makeTenant(t.db);
    await tenants.update(s.id, { status: 'suspended' });
    const { service } = fetcher(store);
    service.register(alertingConsumer('all-tenants'));
    await appendEvents(store, a.id, 2);
    await appendEvents(store, s.id, 2);

    const r = await service.runOnce();
    expect(r.tenants).toBeGreaterThanOrEqual(1);
    expect(r.results.map((x) => x.tenantId)).toEqual([a.id]);
    expect(await committed(a.id, 'all-tenants')).toHaveLength(2);
    expect(await committed(s.id, 'all-tenants')).toHaveLength(0);
  });

  it('resumes after a restart (a new service, the same database) without re-delivering', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    await appendEvents(store, a.id, 5);
    const first = fetcher(store).service;
    const c1 = alertingConsumer('restart');
    first.register(c1);
    await first.runOnce({ tenantId: a.id });
    await appendEvents(store, a.id, 3);

    // the process restarts: nothing of the first service's memory survives
    const second = fetcher(store).service;
    const c2 = alertingConsumer('restart');
    second.register(c2);
    await second.runOnce({ tenantId: a.id });

    const all = await storedSeqs(store, a.id);
    expect(c1.calls.flatMap((x) => x.seqs)).toEqual(all.slice(0, 5));
    expect(c2.calls.flatMap((x) => x.seqs)).toEqual(all.slice(5));
    expect(await committed(a.id, 'restart')).toEqual(all);
  });

  it('rolls back a batch whose handler fails after its writes, records why, and redelivers it next tick', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    await appendEvents(store, a.id, 6);
    let crashes = 1;
    const { service, records } = fetcher(store);
    const c = alertingConsumer('crashy', {
      batchSize: 4,
      after: (_tenantId, events) => {
        // the alerts of this batch are written; the "process dies" before the commit
        if (events[0]!.seq > 4 && crashes > 0) {
          crashes -= 1;
          throw new Error('killed between handle and commit');
        }
      },
    });
    service.register(c);

    const r1 = await service.runOnce({ tenantId: a.id });
    const all = await storedSeqs(store, a.id);
    expect(r1).toMatchObject({ delivered: 4, failed: 1 });
    expect(r1.results[0]).toMatchObject({
      outcome: 'failed',
      lastSeq: all[3],
      error: 'killed between handle and commit',
    });
    // the first batch committed, the second's alerts rolled back with it
    expect(await committed(a.id, 'crashy')).toEqual(all.slice(0, 4));
    expect(await watermarks.get(a.id, 'crashy')).toMatchObject({
      lastSeq: all[3],
      deliveredCount: 4,
      lastError: 'killed between handle and commit',
    });
    expect(records.some((x) => x.level === LEVEL.warn && x.consumer === 'crashy')).toBe(true);

    // after a restart too, the failed batch comes again, and only it
    const next = fetcher(store).service;
    const c2 = alertingConsumer('crashy', { batchSize: 4 });
    next.register(c2);
    const r2 = await next.runOnce({ tenantId: a.id });
    expect(r2).toMatchObject({ delivered: 2, failed: 0 });
    expect(c2.calls.map((x) => x.seqs)).toEqual([all.slice(4)]);
    expect(await committed(a.id, 'crashy')).toEqual(all);
    expect((await watermarks.get(a.id, 'crashy'))?.lastError).toBeNull();
  });

  it('never commits a seq twice when two fetchers run the same tenant and consumer at once', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    // Each handler waits (up to 150 ms, inside its transaction) for the other fetcher to be handling too,
    // so that on PostgreSQL both read the same watermark and race to advance it. On PGlite transactions
    // run one at a time, so the wait times out and the second fetcher mostly reads the new watermark.
    let inFlight = 0;
    const meet = async () => {
      inFlight += 1;
      for (let i = 0; i < 15 && inFlight < 2; i++) await sleep(10);
    };
    const leave = () => void (inFlight -= 1);
    const make = () => {
      const { service } = fetcher(store);
      const c = alertingConsumer('raced', { batchSize: 5 });
      const handle = c.handle.bind(c);
      c.handle = async (tenantId, events) => {
        await meet();
        try {
          await handle(tenantId, events);
        } finally {
          leave();
        }
      };
      service.register(c);
      return { service, c };
    };
    const one = make();
    const two = make();

    let conflicts = 0;
    for (let round = 0; round < 4; round++) {
      await appendEvents(store, a.id, 12);
      const [r1, r2] = await Promise.all([
        one.service.runOnce({ tenantId: a.id }),
        two.service.runOnce({ tenantId: a.id }),
      ]);
      conflicts += r1.conflicts + r2.conflicts;
      expect(r1.failed + r2.failed).toBe(0);
    }
    // the losers of a race stop for this run; a last pass finishes whatever they left
    await one.service.runOnce({ tenantId: a.id });

    const all = await storedSeqs(store, a.id);
    expect(await committed(a.id, 'raced')).toEqual(all);
    expect((await watermarks.get(a.id, 'raced'))?.deliveredCount).toBe(all.length);
    if (engine === 'postgres') {
      // both handled the same range at least once: the compare-and-set made one of them lose
      expect(conflicts).toBeGreaterThan(0);
      const handled = [...one.c.calls, ...two.c.calls].flatMap((x) => x.seqs);
      expect(handled.length).toBeGreaterThan(all.length);
    }
  });

  it('keeps tenants apart: each gets only its events, in a transaction bound to it, with its own watermark', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db, 'Acme');
    const b = await makeTenant(t.db, 'Beta');
    const { service } = fetcher(store);
    const c = alertingConsumer('iso');
    service.register(c);
    await appendEvents(store, a.id, 3);
    await appendEvents(store, b.id, 2);
    await appendEvents(store, a.id, 1);

    await service.runOnce({ tenantId: a.id });
    await service.runOnce({ tenantId: b.id });
    for (const call of c.calls) expect(call.boundTo).toBe(call.tenantId);
    const seqsA = await storedSeqs(store, a.id);
    const seqsB = await storedSeqs(store, b.id);
    expect(c.calls.filter((x) => x.tenantId === a.id).flatMap((x) => x.seqs)).toEqual(seqsA);
    expect(c.calls.filter((x) => x.tenantId === b.id).flatMap((x) => x.seqs)).toEqual(seqsB);
    expect((await watermarks.get(a.id, 'iso'))?.lastSeq).toBe(seqsA.at(-1));
    expect((await watermarks.get(b.id, 'iso'))?.lastSeq).toBe(seqsB.at(-1));

    // rewinding B's consumer replays B only
    await service.reset(b.id, 'iso');
    c.calls.length = 0;
    await service.runOnce({ tenantId: a.id });
    await service.runOnce({ tenantId: b.id });
    expect(c.calls.map((x) => x.tenantId)).toEqual([b.id]);
  });

  it('delivers a late event: an old timestamp, stored after the watermark', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    const { service } = fetcher(store);
    const c = alertingConsumer('late');
    service.register(c);
    await appendEvents(store, a.id, 3);
    await service.runOnce({ tenantId: a.id });

    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    const late = makeEvent(a.id, { timestamp: twoDaysAgo, message: 'delayed agent' });
    await appendEvents(store, a.id, [late]);
    await service.runOnce({ tenantId: a.id });

    const last = c.calls.at(-1);
    expect(last?.seqs).toHaveLength(1);
    const rows = await t.db.query<{ log_id: string }>(
      `select log_id from alerts where tenant_id = $1 and detection_method = 'late'`,
      [a.id],
    );
    expect(rows.map((r) => r.log_id)).toContain(late.id);
    expect(await committed(a.id, 'late')).toEqual(await storedSeqs(store, a.id));
  });

  it('lets a failing consumer or tenant block neither the other consumers nor the other tenants', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    const b = await makeTenant(t.db);
    const { service } = fetcher(store);
    let broken = true;
    const bad: LogConsumer = {
      name: 'bad',
      async handle(tenantId, events) {
        if (broken && tenantId === a.id) throw new Error(`cannot handle ${events.length} events`);
        await alerts.createBatch(
          tenantId,
          events.map((e) => ({
            logId: e.id,
            alertType: 'test',
            detectionMethod: 'bad',
            metadata: { seq: e.seq },
          })),
        );
      },
    };
    const good = alertingConsumer('good');
    service.register(bad);
    service.register(good);
    await appendEvents(store, a.id, 4);
    await appendEvents(store, b.id, 4);

    const r = await service.runOnce();
    expect(r.failed).toBe(1);
    expect(r.results.find((x) => x.outcome === 'failed')).toMatchObject({ tenantId: a.id, consumer: 'bad' });
    expect(await committed(a.id, 'good')).toHaveLength(4);
    expect(await committed(b.id, 'good')).toHaveLength(4);
    expect(await committed(b.id, 'bad')).toHaveLength(4);
    expect(await committed(a.id, 'bad')).toHaveLength(0);

    const status = await service.status(a.id);
    expect(status.find((s) => s.consumer === 'bad')).toMatchObject({
      registered: true,
      lastSeq: 0,
      lag: (await store.maxSeq(a.id)) - 0,
      lastError: 'cannot handle 4 events',
    });
    expect(status.find((s) => s.consumer === 'good')).toMatchObject({
      lag: 0,
      deliveredCount: 4,
      lastError: null,
    });

    // retried on the next run once the cause is gone
    broken = false;
    const r2 = await service.runOnce();
    expect(r2).toMatchObject({ failed: 0 });
    expect(await committed(a.id, 'bad')).toEqual(await storedSeqs(store, a.id));
  });

  it('stops between batches when its signal is aborted', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    const { service } = fetcher(store);
    const ac = new AbortController();
    service.register(alertingConsumer('abortable', { batchSize: 2, after: () => ac.abort() }));
    await appendEvents(store, a.id, 6);
    const r = await service.runOnce({ tenantId: a.id, signal: ac.signal });
    expect(r).toMatchObject({ aborted: true, delivered: 2, batches: 1 });
    expect(await committed(a.id, 'abortable')).toHaveLength(2);
  });

  it('warns when a watermark is ahead of the store (a replaced store), and does not move it', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db);
    await watermarks.reset(a.id, 'ahead', 1_000);
    const { service, records } = fetcher(store);
    service.register(alertingConsumer('ahead'));
    await appendEvents(store, a.id, 2);
    await service.runOnce({ tenantId: a.id });
    expect(records.find((x) => x.level === LEVEL.warn && x.consumer === 'ahead')).toMatchObject({
      lastSeq: 1_000,
      storeMaxSeq: await store.maxSeq(a.id),
    });
    expect((await watermarks.get(a.id, 'ahead'))?.lastSeq).toBe(1_000);
  });

  it('checks consumers as they register', () => {
    const { service } = fetcher(new MemoryLogStore());
    service.register(alertingConsumer('detection'));
    expect(() => service.register(alertingConsumer('detection'))).toThrow(ConflictError);
    expect(() => service.register(alertingConsumer('Not OK'))).toThrow(ValidationError);
    expect(() => service.register(alertingConsumer('big', { batchSize: 0 }))).toThrow(ValidationError);
    expect(() => service.register(alertingConsumer('huge', { batchSize: 20_000 }))).toThrow(ValidationError);
    expect(service.consumerNames).toEqual(['detection']);
    expect(service.unregister('detection')).toBe(true);
    expect(service.consumerNames).toEqual([]);
    expect(
      () =>
        new LogFetcherService(t.db, new MemoryLogStore(), tenants, watermarks, captureLogger().logger, {
          maxBatchesPerRun: 0,
        }),
    ).toThrow(ValidationError);
  });
});
