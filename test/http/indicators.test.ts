/**
 * /api/v1/indicators: global feed indicators plus a tenant's private ones. CRUD on own indicators, lookup,
 * validation, permissions, global rows read-only (404 to writes), tenant isolation, one audit row per write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type Caller, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/indicators';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(engines())('/api/v1/indicators on %s', (engine) => {
  let h: HttpFixture;
  const tag = `ioc${Date.now().toString(36)}`;
  let n = 0;
  let global: { id: string; value: string };
  beforeAll(async () => {
    h = await createHttpFixture(engine);
    global = await h.container.repos.indicators.createGlobal({
      type: 'domain',
      value: `${tag}-feed.example`,
      source: 'urlhaus',
      confidence: 0.9,
    });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  const body = (extra: Record<string, unknown> = {}) => {
    n += 1;
    return { type: 'domain', value: `${tag}-${n}.example`, source: 'analyst', ...extra };
  };
  const create = async (extra: Record<string, unknown> = {}, who: Caller = 'analystA') => {
    const r = await h.call(who, { method: 'POST', url: URL, payload: body(extra) });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Record<string, unknown> & { id: string; value: string };
  };

  it('creates, reads, changes and deletes a private indicator', async () => {
    const created = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: { type: 'domain', value: `WWW.${tag}-Evil[.]example`, source: 'analyst', tags: ['phish'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const s = created.json();
    expect(created.headers.location).toBe(`${URL}/${s.id}`);
    expect(s).toMatchObject({
      tenantId: h.tenantA.id,
      type: 'domain',
      value: `www.${tag}-evil.example`,
      source: 'analyst',
      status: 'active',
      tags: ['phish'],
      sightings: 0,
    });
    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${s.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(s);

    const patched = await h.call('analystA', {
      method: 'PATCH',
      url: `${URL}/${s.id}`,
      payload: { confidence: 0.5, status: 'inactive' },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ id: s.id, confidence: 0.5, status: 'inactive' });

    const del = await h.call('analystA', { method: 'DELETE', url: `${URL}/${s.id}` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${s.id}` })).statusCode).toBe(404);
    expect((await h.call('analystA', { method: 'DELETE', url: `${URL}/${s.id}` })).statusCode).toBe(404);
  });

  it('lists global and own indicators with filters; global ones are read-only (404)', async () => {
    const own = await create({ type: 'ip', value: '203.0.113.77', threatType: 'c2' });
    const list = await h.call('viewerA', { method: 'GET', url: `${URL}?limit=500&sort=value` });
    expect(list.statusCode).toBe(200);
    const ids = list.json().items.map((x: { id: string }) => x.id);
    expect(ids).toContain(global.id);
    expect(ids).toContain(own.id);
    const ips = await h.call('viewerA', { method: 'GET', url: `${URL}?type=ip&threatType=c2` });
    expect(ips.json().items.map((x: { id: string }) => x.id)).toEqual([own.id]);
    const q = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}-feed&minConfidence=0.8` });
    expect(q.json()).toMatchObject({ total: 1, items: [{ id: global.id, tenantId: null }] });

    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${global.id}` })).statusCode).toBe(200);
    const patch = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${global.id}`,
      payload: { confidence: 0 },
    });
    expect(patch.statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${global.id}` })).statusCode).toBe(404);
    expect(
      (await h.call('viewerA', { method: 'GET', url: `${URL}/${global.id}` })).json().confidence,
    ).toBeCloseTo(0.9);
  });

  it('looks values up against global and own live indicators', async () => {
    const net = await create({ type: 'cidr', value: '198.51.100.0/24' });
    await create({ type: 'domain', value: `${tag}-gone.example`, status: 'inactive' });
    const r = await h.call('viewerA', {
      method: 'POST',
      url: `${URL}/lookup`,
      payload: { values: [`${tag}-FEED.example`, '198.51.100.9', `${tag}-gone.example`, 'nothing'] },
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(
      r
        .json()
        .matches.map((x: { id: string }) => x.id)
        .sort(),
    ).toEqual([global.id, net.id].sort());
    const inB = await h.call('viewerB', {
      method: 'POST',
      url: `${URL}/lookup`,
      payload: { values: ['198.51.100.9'] },
    });
    expect(inB.json()).toEqual({ matches: [] });
  });

  it('names each invalid field', async () => {
    const r = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: { type: 'toaster', confidence: 2, colour: 'red' },
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'colour',
      'confidence',
      'source',
      'type',
      'value',
    ]);
    const value = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: body({ type: 'ip', value: 'x' }),
    });
    expect(value.statusCode).toBe(400);
    expect(value.json().errors).toEqual([{ path: 'value', message: expect.any(String) }]);

    const s = await create();
    const patch = await h.call('analystA', {
      method: 'PATCH',
      url: `${URL}/${s.id}`,
      payload: { value: 'other.example', status: 'gone' },
    });
    expect(patch.statusCode).toBe(400);
    expect((patch.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'status',
      'value',
    ]);
    const lookup = await h.call('viewerA', {
      method: 'POST',
      url: `${URL}/lookup`,
      payload: { values: 'x' },
    });
    expect(lookup.statusCode).toBe(400);
    expect(lookup.json().errors).toEqual([{ path: 'values', message: expect.any(String) }]);
    const filter = await h.call('viewerA', { method: 'GET', url: `${URL}?minConfidence=7` });
    expect(filter.json().errors).toEqual([{ path: 'minConfidence', message: expect.any(String) }]);
  });

  it('answers 409 for a duplicate indicator', async () => {
    const s = await create();
    const dup = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: { type: 'domain', value: s.value, source: 'analyst' },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'conflict' });
  });

  it('requires credentials (401) and the indicators permissions (403)', async () => {
    const s = await create();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: URL, payload: body() })).statusCode).toBe(401);
    expect(
      (await h.call(null, { method: 'POST', url: `${URL}/lookup`, payload: { values: [] } })).statusCode,
    ).toBe(401);
    const post = await h.call('viewerA', { method: 'POST', url: URL, payload: body() });
    expect(post.statusCode).toBe(403);
    expect(post.json()).toMatchObject({
      code: 'forbidden',
      detail: expect.stringContaining('indicators:write'),
    });
    expect(
      (await h.call('viewerA', { method: 'PATCH', url: `${URL}/${s.id}`, payload: { confidence: 0 } }))
        .statusCode,
    ).toBe(403);
    expect((await h.call('viewerA', { method: 'DELETE', url: `${URL}/${s.id}` })).statusCode).toBe(403);
    expect(
      (await h.call('viewerA', { method: 'POST', url: URL, payload: { nonsense: true } })).statusCode,
    ).toBe(403);
    const key = await h.call('apiKeyA', { method: 'GET', url: URL });
    expect(key.statusCode).toBe(403);
    expect(key.json().detail).toContain('indicators:read');
    expect(
      (await h.call('apiKeyA', { method: 'POST', url: `${URL}/lookup`, payload: { values: ['x'] } }))
        .statusCode,
    ).toBe(403);
    expect((await h.call('analystA', { method: 'GET', url: `${URL}/${s.id}` })).json().confidence).toBeNull();
  });

  it('keeps tenants apart: B cannot see, list, change or delete A’s indicators', async () => {
    const s = await create({ value: `${tag}-secret.example` });
    for (const who of ['viewerB', 'adminB'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${s.id}` })).statusCode, who).toBe(404);
      const list = await h.call(who, { method: 'GET', url: `${URL}?q=${tag}&limit=500` });
      expect(list.statusCode).toBe(200);
      const ids = list.json().items.map((x: { id: string }) => x.id);
      expect(ids).not.toContain(s.id);
      expect(ids).toContain(global.id);
    }
    const patch = await h.call('adminB', {
      method: 'PATCH',
      url: `${URL}/${s.id}`,
      payload: { confidence: 0 },
    });
    expect(patch.statusCode).toBe(404);
    expect((await h.call('adminB', { method: 'DELETE', url: `${URL}/${s.id}` })).statusCode).toBe(404);
    const intoA = await h.call('adminB', {
      method: 'DELETE',
      url: `${URL}/${s.id}`,
      headers: { 'x-tenant': h.tenantA.id },
    });
    expect(intoA.statusCode).toBe(403);
    // The same value in B is B's own indicator, not a conflict.
    const sameInB = await h.call('adminB', {
      method: 'POST',
      url: URL,
      payload: { type: 'domain', value: s.value, source: 'analyst' },
    });
    expect(sameInB.statusCode).toBe(201);
    expect(sameInB.json().tenantId).toBe(h.tenantB.id);
    expect((await h.call('analystA', { method: 'GET', url: `${URL}/${s.id}` })).statusCode).toBe(200);
  });

  it('writes exactly one audit row per change, in the same tenant', async () => {
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const s = await create({ value: `${tag}-audited.example` });
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'indicator',
      resourceId: s.id,
      actor: expect.stringMatching(/^analysta-/),
      userId: h.userIds.analystA,
      success: true,
      details: { after: { type: 'domain', value: `${tag}-audited.example`, source: 'analyst' } },
    });

    await h.call('analystA', { method: 'PATCH', url: `${URL}/${s.id}`, payload: { threatType: 'phishing' } });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceId: s.id,
      details: { before: { threatType: null }, after: { threatType: 'phishing' } },
    });

    // Unchanged, refused, unknown, global, duplicate, lookup: no row.
    await h.call('analystA', { method: 'PATCH', url: `${URL}/${s.id}`, payload: { threatType: 'phishing' } });
    await h.call('analystA', { method: 'PATCH', url: `${URL}/${UNKNOWN}`, payload: { confidence: 1 } });
    await h.call('analystA', { method: 'DELETE', url: `${URL}/${global.id}` });
    await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: { type: 'domain', value: s.value, source: 'analyst' },
    });
    await h.call('viewerA', { method: 'DELETE', url: `${URL}/${s.id}` });
    await h.call('viewerA', { method: 'POST', url: `${URL}/lookup`, payload: { values: [s.value] } });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 2);

    await h.call('analystA', { method: 'DELETE', url: `${URL}/${s.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 3);
    expect(rows.at(-1)).toMatchObject({
      action: 'delete',
      resourceId: s.id,
      details: { before: { value: s.value, threatType: 'phishing' } },
    });
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
