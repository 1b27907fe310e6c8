/** The log fetcher job on the real scheduler, service and database, over the in-memory log store. */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEventRow } from '../../src/domain/log-event.ts';
import { LOG_FETCHER_JOB, runLogFetcherTick, scheduleLogFetcher } from '../../src/jobs/log-fetcher.job.ts';
import { Scheduler } from '../../src/jobs/scheduler.ts';
import { LogWatermarkRepository } from '../../src/repositories/log-watermark.repository.ts';
import { TenantRepository } from '../../src/repositories/tenant.repository.ts';
import { LogFetcherService, type LogFetcherOptions } from '../../src/services/log-fetcher.service.ts';
import { captureLogger, LEVEL } from '../helpers/capture-logger.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';
import { appendEvents, MemoryLogStore } from '../helpers/memory-log-store.ts';

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe.each(engines())('log fetcher job on %s', (engine) => {
  let t: TestDb;
  let tenants: TenantRepository;
  let watermarks: LogWatermarkRepository;

  beforeAll(async () => {
    t = await createTestDb(engine);
    tenants = new TenantRepository(t.db);
    watermarks = new LogWatermarkRepository(t.db);
  });
  afterAll(async () => t?.dispose());

  function setup(opts: LogFetcherOptions = {}) {
    const store = new MemoryLogStore();
    const { logger, records } = captureLogger();
    const fetcher = new LogFetcherService(t.db, store, tenants, watermarks, logger, opts);
    const seen: LogEventRow[] = [];
    fetcher.register({
      name: 'collect',
      batchSize: 2,
      handle: async (_tenantId, events) => void seen.push(...events),
    });
    return { store, fetcher, seen, logger, records };
  }

  it('delivers what arrives while it runs, every interval, and stops cleanly', async () => {
    const { store, fetcher, seen, logger } = setup();
    const a = await makeTenant(t.db);
    const scheduler = new Scheduler(logger);
    scheduleLogFetcher(scheduler, fetcher, { intervalMs: 20, jitterMs: 0 });
    scheduler.start();
    try {
      for (let i = 0; i < 5; i++) {
        await appendEvents(store, a.id, 3);
        await sleep(15);
      }
      const delivered = () => seen.filter((e) => e.tenantId === a.id).length;
      let all = (await store.readSince(a.id, 0, 1000)).map((e) => e.seq);
      await until(() => delivered() >= all.length);
      // once that run is over, what arrives next is picked up by a later tick
      await until(() => scheduler.status()[0]?.running === false);
      await appendEvents(store, a.id, 2);
      all = (await store.readSince(a.id, 0, 1000)).map((e) => e.seq);
      await until(() => delivered() >= all.length);
      expect(seen.filter((e) => e.tenantId === a.id).map((e) => e.seq)).toEqual(all);
    } finally {
      await scheduler.stop();
    }
    const st = scheduler.status().find((j) => j.name === LOG_FETCHER_JOB);
    expect(st).toMatchObject({ running: false, failures: 0 });
    expect(st?.runs).toBeGreaterThan(1);
  });

  it('keeps passing within a tick while consumers are capped, up to its limit', async () => {
    const { store, fetcher, seen, logger, records } = setup({ maxBatchesPerRun: 1 });
    const a = await makeTenant(t.db);
    await appendEvents(store, a.id, 7);
    const ctx = { signal: new AbortController().signal, logger };

    const first = await runLogFetcherTick(fetcher, ctx, 2);
    expect(first).toMatchObject({ passes: 2, delivered: 4, behind: true });
    const second = await runLogFetcherTick(fetcher, ctx, 10);
    expect(second).toMatchObject({ passes: 2, delivered: 3, behind: false });
    expect(seen.map((e) => e.seq)).toEqual((await store.readSince(a.id, 0, 100)).map((e) => e.seq));
    expect(records.filter((r) => r.msg === 'log fetcher tick' && r.level === LEVEL.info)).toHaveLength(2);
  });
});
