import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { ReportRepository } from '../../src/repositories/report.repository.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

describe.each(engines())('ReportRepository on %s', (engine) => {
  let t: TestDb;
  let repo: ReportRepository;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new ReportRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
  });
  afterAll(async () => t?.dispose());

  const weekly = {
    title: 'Weekly security summary',
    reportType: 'security_summary',
    generatedBy: 'alice',
    periodStart: '2025-01-06T00:00:00Z',
    periodEnd: '2025-01-13T00:00:00Z',
    data: { alerts: 42 },
  } as const;

  it('creates, reads, updates and deletes a report', async () => {
    const r = await repo.create(a.id, weekly);
    expect(r).toMatchObject({
      tenantId: a.id,
      title: 'Weekly security summary',
      reportType: 'security_summary',
      generatedBy: 'alice',
      summary: null,
      data: { alerts: 42 },
    });
    expect(r.periodStart).toEqual(new Date('2025-01-06T00:00:00Z'));
    expect(await repo.get(a.id, r.id)).toEqual(r);

    const u = await repo.update(a.id, r.id, { summary: 'Quiet week', data: { alerts: 43 } });
    expect(u).toMatchObject({ summary: 'Quiet week', data: { alerts: 43 }, title: weekly.title });
    expect(await repo.update(a.id, r.id, {})).toEqual(u);
    const cleared = await repo.update(a.id, r.id, { summary: null });
    expect(cleared.summary).toBeNull();

    await repo.delete(a.id, r.id);
    expect(await repo.get(a.id, r.id)).toBeUndefined();
    await expect(repo.delete(a.id, r.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.update(a.id, r.id, { title: 'x' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects bad input with the field named', async () => {
    // @ts-expect-error: not a report type
    const bad = repo.create(a.id, { ...weekly, reportType: 'poem' });
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ issues: [{ path: 'reportType' }] });
    await expect(repo.create(a.id, { ...weekly, title: '' })).rejects.toMatchObject({
      issues: [{ path: 'title' }],
    });
    await expect(repo.create(a.id, { ...weekly, periodEnd: '2024-12-31' })).rejects.toMatchObject({
      issues: [{ path: 'periodEnd' }],
    });
    await expect(repo.create(a.id, { ...weekly, periodStart: 'last tuesday' })).rejects.toMatchObject({
      issues: [{ path: 'periodStart' }],
    });
    const r = await repo.create(a.id, weekly);
    await expect(repo.update(a.id, r.id, { title: '  ' })).rejects.toMatchObject({
      issues: [{ path: 'title' }],
    });
  });

  it('lists newest first with filters and pagination totals', async () => {
    const c = await makeTenant(t.db);
    const types = ['security_summary', 'threat_analysis', 'vulnerability_scan'] as const;
    for (let i = 0; i < 6; i++) {
      await repo.create(c.id, {
        ...weekly,
        title: `r${i}`,
        reportType: types[i % 3]!,
        generatedBy: i < 2 ? 'bob' : 'alice',
      });
    }
    const page1 = await repo.list(c.id, { limit: 4 });
    expect(page1.total).toBe(6);
    expect(page1.items.map((r) => r.title)).toEqual(['r5', 'r4', 'r3', 'r2']);
    const page2 = await repo.list(c.id, { limit: 4, offset: 4 });
    expect(page2.items.map((r) => r.title)).toEqual(['r1', 'r0']);
    expect((await repo.list(c.id, { sort: 'title', limit: 1 })).items[0]?.title).toBe('r0');

    const threat = await repo.list(c.id, { filters: { reportType: 'threat_analysis' } });
    expect(threat.items.map((r) => r.title).sort()).toEqual(['r1', 'r4']);
    expect((await repo.list(c.id, { filters: { generatedBy: 'bob' } })).total).toBe(2);

    // since/until on created_at, using the stored timestamps to avoid clock assumptions
    const all = (await repo.list(c.id, { sort: 'created_at' })).items;
    const third = all[2]!.createdAt;
    const since = await repo.list(c.id, { filters: { since: third } });
    expect(since.items.every((r) => r.createdAt >= third)).toBe(true);
    expect(since.items.map((r) => r.title)).toContain('r2');
    const until = await repo.list(c.id, { filters: { until: third } });
    expect(until.items.every((r) => r.createdAt < third)).toBe(true);
    expect(until.items.map((r) => r.title)).not.toContain('r2');
    expect(since.total + until.total).toBe(6);
    expect((await repo.list(c.id, { filters: { since: new Date(Date.now() + 3_600_000) } })).total).toBe(0);
    await expect(
      repo.list(c.id, { filters: { since: '2025-02-01', until: '2025-01-01' } }),
    ).rejects.toMatchObject({ issues: [{ path: 'until' }] });
  });

  it("never shows, changes or deletes another tenant's report", async () => {
    const r = await repo.create(a.id, { ...weekly, title: 'acme only' });
    expect(await repo.get(b.id, r.id)).toBeUndefined();
    expect((await repo.list(b.id)).items.find((x) => x.id === r.id)).toBeUndefined();
    await expect(repo.update(b.id, r.id, { title: 'pwned' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.update(b.id, r.id, {})).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(b.id, r.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await repo.get(a.id, r.id))?.title).toBe('acme only');
  });

  it('answers NotFound for unknown and malformed ids', async () => {
    expect(await repo.get(a.id, uuidv7())).toBeUndefined();
    expect(await repo.get(a.id, 'nope')).toBeUndefined();
    await expect(repo.update(a.id, 'nope', { title: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(a.id, 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });
});
