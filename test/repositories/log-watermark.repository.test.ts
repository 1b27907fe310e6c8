import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logConsumerWatermarks } from '../../src/db/schema/index.ts';
import { ConflictError, ValidationError } from '../../src/domain/errors.ts';
import { LogWatermarkRepository } from '../../src/repositories/log-watermark.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

describe.each(engines())('LogWatermarkRepository on %s', (engine) => {
  let t: TestDb;
  let repo: LogWatermarkRepository;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new LogWatermarkRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
  });
  afterAll(async () => t?.dispose());

  it('starts with no row, then advances forward only from the seq it was at', async () => {
    expect(await repo.get(a.id, 'detection')).toBeUndefined();
    const w1 = await repo.advance(a.id, 'detection', { fromSeq: 0, toSeq: 10, delivered: 10 });
    expect(w1).toMatchObject({ tenantId: a.id, consumer: 'detection', lastSeq: 10, deliveredCount: 10 });
    expect(w1.lastRunAt).toBeInstanceOf(Date);
    const w2 = await repo.advance(a.id, 'detection', { fromSeq: 10, toSeq: 15, delivered: 4 });
    expect(w2).toMatchObject({ lastSeq: 15, deliveredCount: 14 });
    expect(await repo.get(a.id, 'detection')).toEqual(w2);
  });

  it('carries a state with the seq: written by advance only, kept when not given, cleared by reset', async () => {
    await repo.advance(a.id, 'stateful', { fromSeq: 0, toSeq: 4, delivered: 4, state: { pending: [1, 2] } });
    expect((await repo.get(a.id, 'stateful'))!.state).toEqual({ pending: [1, 2] });
    await repo.advance(a.id, 'stateful', { fromSeq: 4, toSeq: 6, delivered: 2 });
    expect((await repo.get(a.id, 'stateful'))!.state).toEqual({ pending: [1, 2] });
    // A lost compare-and-set writes no state either.
    await expect(
      repo.advance(a.id, 'stateful', { fromSeq: 4, toSeq: 9, delivered: 5, state: { pending: [] } }),
    ).rejects.toBeInstanceOf(ConflictError);
    await repo.advance(a.id, 'stateful', { fromSeq: 6, toSeq: 9, delivered: 3, state: { pending: [3] } });
    expect((await repo.get(a.id, 'stateful'))!.state).toEqual({ pending: [3] });
    // Listings leave the state out; a reset forgets it (it described the events up to the old seq).
    const listed = (await repo.list(a.id)).items.find((w) => w.consumer === 'stateful')!;
    expect(listed).toMatchObject({ lastSeq: 9 });
    expect('state' in listed).toBe(false);
    await repo.reset(a.id, 'stateful', 0);
    expect((await repo.get(a.id, 'stateful'))!.state).toBeNull();
  });

  it('refuses a stale compare-and-set with a Conflict, and leaves the row as it was', async () => {
    await repo.advance(a.id, 'cas', { fromSeq: 0, toSeq: 5, delivered: 5 });
    // a racer that read 0 (the row exists now), and one that read a seq that never was
    await expect(repo.advance(a.id, 'cas', { fromSeq: 0, toSeq: 5, delivered: 5 })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(repo.advance(a.id, 'cas', { fromSeq: 3, toSeq: 9, delivered: 6 })).rejects.toMatchObject({
      code: 'conflict',
      field: 'lastSeq',
    });
    // a racer that read a seq when there is no row at all
    await expect(repo.advance(a.id, 'norow', { fromSeq: 7, toSeq: 9, delivered: 2 })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect(await repo.get(a.id, 'norow')).toBeUndefined();
    expect(await repo.get(a.id, 'cas')).toMatchObject({ lastSeq: 5, deliveredCount: 5 });
  });

  it('lets exactly one of two concurrent advances from the same seq win', async () => {
    for (const from of [0, 20]) {
      if (from > 0) await repo.reset(a.id, 'race', from);
      const results = await Promise.allSettled([
        t.db.tenant(a.id, () =>
          repo.advance(a.id, 'race', { fromSeq: from, toSeq: from + 10, delivered: 10 }),
        ),
        t.db.tenant(a.id, () => repo.advance(a.id, 'race', { fromSeq: from, toSeq: from + 7, delivered: 7 })),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
      const stored = await repo.get(a.id, 'race');
      expect(stored?.lastSeq).toBe((won[0] as PromiseFulfilledResult<{ lastSeq: number }>).value.lastSeq);
    }
  });

  it('rolls the advance back with the transaction it joined', async () => {
    await expect(
      t.db.tenant(a.id, async () => {
        await repo.advance(a.id, 'rollback', { fromSeq: 0, toSeq: 3, delivered: 3 });
        throw new Error('consumer crashed after the advance');
      }),
    ).rejects.toThrow('consumer crashed');
    expect(await repo.get(a.id, 'rollback')).toBeUndefined();
  });

  it('validates its input', async () => {
    await expect(repo.advance(a.id, 'v', { fromSeq: 5, toSeq: 5, delivered: 0 })).rejects.toMatchObject({
      issues: [{ path: 'toSeq' }],
    });
    await expect(repo.advance(a.id, 'v', { fromSeq: -1, toSeq: 5, delivered: 0 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      repo.advance(a.id, 'Bad Name', { fromSeq: 0, toSeq: 1, delivered: 1 }),
    ).rejects.toMatchObject({
      issues: [{ path: 'consumer' }],
    });
    await expect(repo.reset(a.id, 'v', 1.5)).rejects.toBeInstanceOf(ValidationError);
    await expect(repo.get('not-a-uuid', 'v')).rejects.toBeInstanceOf(ValidationError);
  });

  it('records a failure without moving the watermark; the next advance clears it', async () => {
    const fresh = await repo.recordFailure(a.id, 'flaky', 'boom');
    expect(fresh).toMatchObject({ lastSeq: 0, deliveredCount: 0, lastError: 'boom' });
    await repo.advance(a.id, 'flaky', { fromSeq: 0, toSeq: 4, delivered: 4 });
    const failed = await repo.recordFailure(a.id, 'flaky', 'x'.repeat(10_000));
    expect(failed.lastSeq).toBe(4);
    expect(failed.lastError).toHaveLength(4000);
    expect(failed.updatedAt.getTime()).toBeGreaterThanOrEqual(fresh.updatedAt.getTime());
    const ok = await repo.advance(a.id, 'flaky', { fromSeq: 4, toSeq: 6, delivered: 2 });
    expect(ok).toMatchObject({ lastSeq: 6, deliveredCount: 6, lastError: null });
  });

  it('resets (rewinds or skips) whatever the seq was, keeping the delivered count', async () => {
    await repo.advance(a.id, 'replay', { fromSeq: 0, toSeq: 50, delivered: 50 });
    await repo.recordFailure(a.id, 'replay', 'poison');
    const back = await repo.reset(a.id, 'replay');
    expect(back).toMatchObject({ lastSeq: 0, deliveredCount: 50, lastError: null });
    // and a reset makes a racer that read the old seq lose
    await expect(
      repo.advance(a.id, 'replay', { fromSeq: 50, toSeq: 60, delivered: 10 }),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await repo.reset(a.id, 'newcomer', 12)).toMatchObject({ lastSeq: 12, deliveredCount: 0 });
  });

  it('lists a tenant’s watermarks by consumer, and deletes one', async () => {
    const c = await makeTenant(t.db);
    await repo.advance(c.id, 'zeta', { fromSeq: 0, toSeq: 1, delivered: 1 });
    await repo.advance(c.id, 'alpha', { fromSeq: 0, toSeq: 2, delivered: 2 });
    const page = await repo.list(c.id);
    expect(page.total).toBe(2);
    expect(page.items.map((w) => w.consumer)).toEqual(['alpha', 'zeta']);
    expect(await repo.delete(c.id, 'zeta')).toBe(true);
    expect(await repo.delete(c.id, 'zeta')).toBe(false);
    expect((await repo.list(c.id)).items.map((w) => w.consumer)).toEqual(['alpha']);
  });

  it("keeps each tenant's watermarks apart, in the database too (row-level security)", async () => {
    await repo.advance(a.id, 'iso', { fromSeq: 0, toSeq: 100, delivered: 100 });
    expect(await repo.get(b.id, 'iso')).toBeUndefined();
    expect((await repo.list(b.id)).items.find((w) => w.consumer === 'iso')).toBeUndefined();
    // B's own watermark of the same consumer name starts from 0 and does not touch A's
    await repo.advance(b.id, 'iso', { fromSeq: 0, toSeq: 3, delivered: 3 });
    expect((await repo.get(a.id, 'iso'))?.lastSeq).toBe(100);
    await repo.reset(b.id, 'iso');
    expect((await repo.get(a.id, 'iso'))?.lastSeq).toBe(100);

    // Bypassing the repository's WHERE: the policies still show and change only B's rows.
    const w = logConsumerWatermarks;
    const seen = await t.db.tenant(b.id, (tx) => tx.select().from(w).where(eq(w.consumer, 'iso')));
    expect(seen.map((r) => r.tenantId)).toEqual([b.id]);
    const changed = await t.db.tenant(b.id, (tx) =>
      tx
        .update(w)
        .set({ lastSeq: 0 })
        .where(and(eq(w.tenantId, a.id), eq(w.consumer, 'iso')))
        .returning(),
    );
    expect(changed).toHaveLength(0);
    await expect(
      t.db.tenant(b.id, (tx) => tx.insert(w).values({ tenantId: a.id, consumer: 'forged', lastSeq: 1 })),
    ).rejects.toThrow();
    expect((await repo.get(a.id, 'iso'))?.lastSeq).toBe(100);
    expect(await repo.get(a.id, 'forged')).toBeUndefined();
  });

  it('cascades: deleting the tenant deletes its watermarks', async () => {
    const e = await makeTenant(t.db);
    await repo.advance(e.id, 'gone', { fromSeq: 0, toSeq: 1, delivered: 1 });
    await new TenantRepository(t.db).delete(e.id);
    const rows = await t.db.query(`select 1 from log_consumer_watermarks where tenant_id = $1`, [e.id]);
    expect(rows).toHaveLength(0);
  });
});
