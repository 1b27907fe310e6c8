/**
 * /api/v1/reports: CRUD, lists, validation, permissions, tenant isolation, one audit row per write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/reports';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

const body = (extra: Record<string, unknown> = {}) => ({
  title: `report-${Math.random().toString(36).slice(2, 8)}`,
  reportType: 'security_summary',
  ...extra,
});

describe.each(engines())('/api/v1/reports on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  const create = async (extra: Record<string, unknown> = {}) => {
    const r = await h.call('adminA', { method: 'POST', url: URL, payload: body(extra) });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Record<string, unknown> & { id: string; title: string };
  };

  it('creates, reads, revises and deletes a report', async () => {
    const created = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: body({
        title: 'Weekly',
        summary: 'quiet week',
        periodStart: '2026-01-01T00:00:00Z',
        periodEnd: '2026-01-08T00:00:00Z',
        data: { alerts: 3 },
      }),
    });
    expect(created.statusCode, created.body).toBe(201);
    const r = created.json();
    expect(created.headers.location).toBe(`${URL}/${r.id}`);
    expect(r).toMatchObject({
      title: 'Weekly',
      summary: 'quiet week',
      reportType: 'security_summary',
      generatedBy: expect.stringMatching(/^analysta-/),
      periodStart: '2026-01-01T00:00:00.000Z',
      periodEnd: '2026-01-08T00:00:00.000Z',
      data: { alerts: 3 },
      tenantId: h.tenantA.id,
    });
    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${r.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(r);

    const patched = await h.call('analystA', {
      method: 'PATCH',
      url: `${URL}/${r.id}`,
      payload: { summary: 'busy week', data: { alerts: 30 } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      id: r.id,
      title: 'Weekly',
      summary: 'busy week',
      data: { alerts: 30 },
    });

    const del = await h.call('adminA', { method: 'DELETE', url: `${URL}/${r.id}` });
    expect(del.statusCode).toBe(204);
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${r.id}` })).statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${r.id}` })).statusCode).toBe(404);
  });

  it('lists with filters, paging and sorting', async () => {
    const tag = `list-${Date.now().toString(36)}`;
    await create({ title: `${tag}-b`, reportType: 'compliance' });
    await create({ title: `${tag}-a`, reportType: 'compliance' });
    await create({ title: `${tag}-c`, reportType: 'threat_analysis' });
    const compliance = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?reportType=compliance&sort=title`,
    });
    expect(compliance.statusCode, compliance.body).toBe(200);
    const titles = compliance.json().items.map((x: { title: string }) => x.title);
    expect(titles.filter((t: string) => t.startsWith(tag))).toEqual([`${tag}-a`, `${tag}-b`]);
    const page = await h.call('viewerA', { method: 'GET', url: `${URL}?limit=1` });
    expect(page.json()).toMatchObject({ limit: 1, offset: 0, items: [{ title: `${tag}-c` }] });
  });

  it('names each invalid field', async () => {
    const r = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: { reportType: 'poem', generatedBy: 'someone else', periodStart: 'never' },
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'generatedBy',
      'periodStart',
      'reportType',
      'title',
    ]);
    const period = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: body({ periodStart: '2026-02-01T00:00:00Z', periodEnd: '2026-01-01T00:00:00Z' }),
    });
    expect(period.statusCode).toBe(400);
    expect(period.json().errors).toEqual([{ path: 'periodEnd', message: expect.any(String) }]);
    const rep = await create();
    const patch = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${rep.id}`,
      payload: { title: '', reportType: 'compliance' },
    });
    expect(patch.statusCode).toBe(400);
    expect((patch.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'reportType',
      'title',
    ]);
    const filter = await h.call('viewerA', { method: 'GET', url: `${URL}?reportType=poem` });
    expect(filter.statusCode).toBe(400);
    expect(filter.json().errors).toEqual([{ path: 'reportType', message: expect.any(String) }]);
  });

  it('requires credentials (401) and the reports:write permission (403)', async () => {
    const rep = await create();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'GET', url: `${URL}/${rep.id}` })).statusCode).toBe(401);
    for (const who of ['viewerA', 'apiKeyA'] as const) {
      const post = await h.call(who, { method: 'POST', url: URL, payload: body() });
      expect(post.statusCode, who).toBe(403);
      expect(post.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('reports:write'),
      });
      const patch = await h.call(who, { method: 'PATCH', url: `${URL}/${rep.id}`, payload: { title: 'x' } });
      expect(patch.statusCode).toBe(403);
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${rep.id}` })).statusCode).toBe(403);
    }
    expect((await h.call('apiKeyA', { method: 'GET', url: URL })).statusCode).toBe(403);
    expect((await h.call('adminA', { method: 'GET', url: `${URL}/${rep.id}` })).json().title).toBe(rep.title);
  });

  it('keeps tenants apart: B cannot see, list, change or delete A’s reports', async () => {
    const rep = await create({ title: `secret-${Date.now()}` });
    for (const who of ['viewerB', 'adminB'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${rep.id}` })).statusCode, who).toBe(404);
      const list = await h.call(who, { method: 'GET', url: `${URL}?limit=500` });
      expect(list.statusCode).toBe(200);
      expect(list.json().items.some((x: { id: string }) => x.id === rep.id)).toBe(false);
    }
    const patch = await h.call('adminB', {
      method: 'PATCH',
      url: `${URL}/${rep.id}`,
      payload: { title: 'x' },
    });
    expect(patch.statusCode).toBe(404);
    expect((await h.call('adminB', { method: 'DELETE', url: `${URL}/${rep.id}` })).statusCode).toBe(404);
    const after = await h.call('adminA', { method: 'GET', url: `${URL}/${rep.id}` });
    expect(after.json()).toMatchObject({ title: rep.title });
  });

  it('writes exactly one audit row per change, in the same tenant', async () => {
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const rep = await create();
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'report',
      resourceId: rep.id,
      userId: h.userIds.adminA,
      details: { after: { title: rep.title, reportType: 'security_summary' } },
    });

    await h.call('adminA', { method: 'PATCH', url: `${URL}/${rep.id}`, payload: { summary: 'new' } });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceId: rep.id,
      details: { before: { summary: null }, after: { summary: 'new' } },
    });

    await h.call('adminA', { method: 'PATCH', url: `${URL}/${rep.id}`, payload: { summary: 'new' } });
    await h.call('adminA', { method: 'PATCH', url: `${URL}/${UNKNOWN}`, payload: { title: 'x' } });
    await h.call('viewerA', { method: 'DELETE', url: `${URL}/${rep.id}` });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 2);

    await h.call('adminA', { method: 'DELETE', url: `${URL}/${rep.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 3);
    expect(rows.at(-1)).toMatchObject({
      action: 'delete',
      resourceId: rep.id,
      details: { before: { title: rep.title } },
    });
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
