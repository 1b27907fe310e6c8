/**
 * /api/v1/ingestion-runs: a tenant sees its own runs and the global feeds' runs, never another tenant's.
 * Read-only: lists with filters, get, validation, permissions, tenant isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/ingestion-runs';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(engines())('/api/v1/ingestion-runs on %s', (engine) => {
  let h: HttpFixture;
  const tag = `src-${Date.now().toString(36)}`;
  let globalRun: { id: string };
  let runA: { id: string };
  let runB: { id: string };
  beforeAll(async () => {
    h = await createHttpFixture(engine);
    const runs = h.container.repos.ingestionRuns;
    globalRun = await runs.start({ source: `${tag}-kev`, kind: 'intel', label: 'initial_load' });
    await runs.finish(globalRun.id, { status: 'success', recordsFetched: 10, recordsInserted: 7 });
    runA = await runs.start({ source: `${tag}-syslog`, kind: 'logs', tenantId: h.tenantA.id });
    runB = await runs.start({ source: `${tag}-syslog`, kind: 'logs', tenantId: h.tenantB.id });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  const ids = (r: { json: () => { items: { id: string }[] } }) =>
    r
      .json()
      .items.map((x) => x.id)
      .sort();

  it('lists the tenant’s own runs and the global ones, with filters', async () => {
    const all = await h.call('viewerA', { method: 'GET', url: `${URL}?limit=500` });
    expect(all.statusCode).toBe(200);
    const seen = ids(all);
    expect(seen).toContain(globalRun.id);
    expect(seen).toContain(runA.id);
    expect(seen).not.toContain(runB.id);

    const logs = await h.call('viewerA', { method: 'GET', url: `${URL}?source=${tag}-syslog` });
    expect(logs.json()).toMatchObject({
      total: 1,
      items: [{ id: runA.id, tenantId: h.tenantA.id, status: 'running' }],
    });
    const kev = await h.call('analystA', {
      method: 'GET',
      url: `${URL}?kind=intel&status=success&source=${tag}-kev`,
    });
    expect(kev.json().items).toEqual([
      expect.objectContaining({
        id: globalRun.id,
        tenantId: null,
        label: 'initial_load',
        recordsFetched: 10,
        recordsInserted: 7,
        completedAt: expect.any(String),
      }),
    ]);
    const onlyGlobal = await h.call('viewerA', { method: 'GET', url: `${URL}?global=true&limit=500` });
    expect(ids(onlyGlobal)).toContain(globalRun.id);
    expect(ids(onlyGlobal)).not.toContain(runA.id);
    const onlyOwn = await h.call('viewerA', { method: 'GET', url: `${URL}?global=false&limit=500` });
    expect(ids(onlyOwn)).toEqual([runA.id]);
  });

  it('gets a global run or an own one', async () => {
    const g = await h.call('viewerA', { method: 'GET', url: `${URL}/${globalRun.id}` });
    expect(g.statusCode).toBe(200);
    expect(g.json()).toMatchObject({ id: globalRun.id, source: `${tag}-kev`, kind: 'intel' });
    const own = await h.call('viewerA', { method: 'GET', url: `${URL}/${runA.id}` });
    expect(own.json()).toMatchObject({ id: runA.id, tenantId: h.tenantA.id, kind: 'logs' });
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${UNKNOWN}` })).statusCode).toBe(404);
  });

  it('names each invalid field', async () => {
    const r = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?status=sleeping&kind=x&tenantId=${h.tenantB.id}`,
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'kind',
      'status',
      'tenantId',
    ]);
    const id = await h.call('viewerA', { method: 'GET', url: `${URL}/42` });
    expect(id.statusCode).toBe(400);
    expect(id.json().errors).toEqual([{ path: 'id', message: expect.any(String) }]);
  });

  it('requires credentials (401) and the ingestion_runs:read permission (403)', async () => {
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'GET', url: `${URL}/${runA.id}` })).statusCode).toBe(401);
    const key = await h.call('apiKeyA', { method: 'GET', url: URL });
    expect(key.statusCode).toBe(403);
    expect(key.json()).toMatchObject({
      code: 'forbidden',
      detail: expect.stringContaining('ingestion_runs:read'),
    });
    expect((await h.call('apiKeyA', { method: 'GET', url: `${URL}/${runA.id}` })).statusCode).toBe(403);
    // Tenant data: a caller without a tenant must choose one.
    expect((await h.call('sre', { method: 'GET', url: URL })).statusCode).toBe(400);
  });

  it('keeps tenants apart: B cannot see or list A’s runs', async () => {
    for (const who of ['viewerB', 'adminB'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${runA.id}` })).statusCode, who).toBe(404);
      const list = await h.call(who, { method: 'GET', url: `${URL}?limit=500` });
      expect(ids(list)).not.toContain(runA.id);
      expect(ids(list)).toContain(runB.id);
      expect(ids(list)).toContain(globalRun.id);
    }
    const sre = await h.call('sre', {
      method: 'GET',
      url: `${URL}/${runA.id}`,
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(sre.statusCode).toBe(200);
    const sreInB = await h.call('sre', {
      method: 'GET',
      url: `${URL}/${runA.id}`,
      headers: { 'x-tenant': h.tenantB.slug },
    });
    expect(sreInB.statusCode).toBe(404);
    for (const method of ['POST', 'PATCH', 'DELETE'] as const) {
      expect((await h.call('adminA', { method, url: `${URL}/${runA.id}`, payload: {} })).statusCode).toBe(
        404,
      );
    }
  });
});
