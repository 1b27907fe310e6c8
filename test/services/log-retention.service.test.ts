import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { TenantRepository } from '../../src/repositories/tenant.repository.ts';
import { LogRetentionService, retentionCutoff } from '../../src/services/log-retention.service.ts';
import { captureLogger, LEVEL } from '../helpers/capture-logger.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';
import { appendEvents, makeEvent, MemoryLogStore } from '../helpers/memory-log-store.ts';

const DAY = 86_400_000;
const NOW = new Date('2026-06-15T12:00:00Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * DAY);

/** A store whose purge fails for one tenant. */
class FailingStore extends MemoryLogStore {
  constructor(private readonly failFor: string) {
    super();
  }
  override async purge(tenantId: string, before: Date) {
    if (tenantId === this.failFor) throw new Error('disk full');
    return super.purge(tenantId, before);
  }
}

describe.each(engines())('LogRetentionService on %s', (engine) => {
  let t: TestDb;
  let tenants: TenantRepository;

  beforeAll(async () => {
    t = await createTestDb(engine);
    tenants = new TenantRepository(t.db);
  });
  afterAll(async () => t?.dispose());

  /** Events 0.5, 5, 20, 45, 89, 91 and 400 days old. */
  async function seed(store: MemoryLogStore, tenantId: string) {
    const ages = [0.5, 5, 20, 45, 89, 91, 400];
    await appendEvents(
      store,
      tenantId,
      ages.map((d) => makeEvent(tenantId, { timestamp: daysAgo(d) })),
    );
  }

  it('computes the cut-off as whole days of 24 h before now', () => {
    expect(retentionCutoff(NOW, 90).toISOString()).toBe('2026-03-17T12:00:00.000Z');
    expect(retentionCutoff(NOW, 1).getTime()).toBe(NOW.getTime() - DAY);
  });

  it('purges each tenant by its own retention, whatever its status, and logs the counts', async () => {
    const store = new MemoryLogStore();
    const a = await makeTenant(t.db); // default 90 days
    const b = await tenants.update((await makeTenant(t.db)).id, { retentionDays: 30 });
    const c = await tenants.update((await makeTenant(t.db)).id, { retentionDays: 1, status: 'suspended' });
    for (const x of [a, b, c]) await seed(store, x.id);
    const { logger, records } = captureLogger();
    const service = new LogRetentionService(store, tenants, logger);

    const r = await service.purgeAll(NOW);
    const by = (id: string) => r.purged.find((p) => p.tenantId === id);
    expect(by(a.id)).toMatchObject({ retentionDays: 90, events: 2, before: daysAgo(90) });
    expect(by(b.id)).toMatchObject({ retentionDays: 30, events: 4 });
    expect(by(c.id)).toMatchObject({ retentionDays: 1, events: 6 });
    expect(r.events).toBe(12);
    expect(r.failures).toEqual([]);
    expect(r.tenants).toBeGreaterThanOrEqual(3);
    expect(await store.count(a.id)).toBe(5);
    expect(await store.count(b.id)).toBe(3);
    expect(await store.count(c.id)).toBe(1);
    const infos = records.filter((x) => x.level === LEVEL.info && x.msg === 'purged expired logs');
    expect(infos.map((x) => [x.tenantId, x.events]).sort()).toEqual(
      [
        [a.id, 2],
        [b.id, 4],
        [c.id, 6],
      ].sort(),
    );

    // a second run at the same time finds nothing more
    const again = await service.purgeAll(NOW);
    expect(again).toMatchObject({ events: 0, purged: [] });
  });

  it('purges one tenant on request (the CLI), and refuses an unknown one', async () => {
    const store = new MemoryLogStore();
    const a = await tenants.update((await makeTenant(t.db)).id, { retentionDays: 7 });
    const b = await makeTenant(t.db);
    await seed(store, a.id);
    await seed(store, b.id);
    const service = new LogRetentionService(store, tenants, captureLogger().logger);
    expect(await service.purgeTenant(a.id, NOW)).toMatchObject({ tenantId: a.id, events: 5, quarantined: 0 });
    expect(await store.count(b.id)).toBe(7); // the other tenant is untouched
    await expect(service.purgeTenant(uuidv7(), NOW)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('goes on with the other tenants when one fails, and reports it', async () => {
    const a = await makeTenant(t.db);
    const b = await makeTenant(t.db);
    const store = new FailingStore(a.id);
    await seed(store, a.id);
    await seed(store, b.id);
    const { logger, records } = captureLogger();
    const r = await new LogRetentionService(store, tenants, logger).purgeAll(NOW);
    expect(r.failures).toEqual([{ tenantId: a.id, slug: a.slug, error: 'disk full' }]);
    expect(r.purged.find((p) => p.tenantId === b.id)?.events).toBe(2);
    expect(records.some((x) => x.level === LEVEL.error && x.tenantId === a.id)).toBe(true);
  });
});

describe.each(engines())('LogRetentionService over the PostgreSQL log store on %s', (engine) => {
  it('drops whole days past every tenant’s retention, then purges row by row', async () => {
    const t = await createTestDb(engine);
    try {
      const { PostgresLogStore } = await import('../../src/logstore/postgres/postgres-log-store.ts');
      const store = new PostgresLogStore(t.db);
      await store.init();
      const tenants = new TenantRepository(t.db);
      const a = await makeTenant(t.db, 'Short');
      const b = await makeTenant(t.db, 'Long');
      await tenants.update(a.id, { retentionDays: 10 });
      await tenants.update(b.id, { retentionDays: 30 });
      const now = Date.now();
      const ev = (tenantId: string, days: number, i: number) => ({
        tenantId,
        id: uuidv7(now - days * DAY + i),
        timestamp: new Date(now - days * DAY),
        raw: `event ${days} days old`,
        appname: null,
        file: null,
        host: null,
        hostname: null,
        message: null,
        procid: null,
        sourceType: 'text',
        normalized: {},
        metadata: {},
        sourceId: null,
        original: null,
      });
      for (const [tenant, i0] of [
        [a, 0],
        [b, 10],
      ] as const) {
        await store.append({
          tenantId: tenant.id,
          events: [ev(tenant.id, 40, i0), ev(tenant.id, 20, i0 + 1), ev(tenant.id, 5, i0 + 2)],
          quarantine: [],
        });
      }
      const r = await new LogRetentionService(store, tenants, captureLogger().logger).purgeAll(new Date(now));
      // 40 days is past both retentions: its partition is dropped whole.
      expect(r.partitionsDropped?.length).toBeGreaterThanOrEqual(1);
      // 20 days is past A's 10 only: deleted row by row for A, kept for B.
      expect(await store.count(a.id)).toBe(1);
      expect(await store.count(b.id)).toBe(2);
    } finally {
      await t.dispose();
    }
  });
});
