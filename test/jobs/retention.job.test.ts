/** The retention job on the real scheduler, service and database, over the in-memory log store. */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RETENTION_JOB, scheduleRetention } from '../../src/jobs/retention.job.ts';
import { Scheduler } from '../../src/jobs/scheduler.ts';
import { TenantRepository } from '../../src/repositories/tenant.repository.ts';
import { LogRetentionService } from '../../src/services/log-retention.service.ts';
import { captureLogger, LEVEL } from '../helpers/capture-logger.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';
import { appendEvents, makeEvent, MemoryLogStore } from '../helpers/memory-log-store.ts';

const DAY = 86_400_000;
const NOW = new Date('2026-06-15T12:00:00Z');

async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe.each(engines())('retention job on %s', (engine) => {
  let t: TestDb;
  let tenants: TenantRepository;

  beforeAll(async () => {
    t = await createTestDb(engine);
    tenants = new TenantRepository(t.db);
  });
  afterAll(async () => t?.dispose());

  it('purges on start and logs the counts', async () => {
    const store = new MemoryLogStore();
    const a = await tenants.update((await makeTenant(t.db)).id, { retentionDays: 10 });
    await appendEvents(store, a.id, [
      makeEvent(a.id, { timestamp: new Date(NOW.getTime() - 11 * DAY) }),
      makeEvent(a.id, { timestamp: new Date(NOW.getTime() - 9 * DAY) }),
    ]);
    const { logger, records } = captureLogger();
    const scheduler = new Scheduler(logger);
    scheduleRetention(scheduler, new LogRetentionService(store, tenants, logger), {
      intervalMs: 60_000,
      jitterMs: 0,
      now: () => NOW,
    });
    scheduler.start();
    try {
      await until(() => records.some((r) => r.msg === 'log retention run'));
    } finally {
      await scheduler.stop();
    }
    expect(await store.count(a.id)).toBe(1);
    const run = records.find((r) => r.msg === 'log retention run');
    expect(run).toMatchObject({ level: LEVEL.info, job: RETENTION_JOB, events: 1, failed: 0 });
    expect(records.find((r) => r.msg === 'purged expired logs')).toMatchObject({ tenantId: a.id, events: 1 });
  });

  it('counts a failed run when the store fails for every tenant', async () => {
    await makeTenant(t.db);
    const store = new MemoryLogStore();
    await store.close(); // every purge now throws
    const { logger } = captureLogger('silent');
    const scheduler = new Scheduler(logger);
    scheduleRetention(scheduler, new LogRetentionService(store, tenants, logger), { runOnStart: false });
    await scheduler.runNow(RETENTION_JOB);
    expect(scheduler.status()[0]).toMatchObject({ runs: 1, failures: 1 });
    expect(scheduler.status()[0]?.lastError).toMatch(/failed for every tenant: MemoryLogStore is closed/);
  });
});
