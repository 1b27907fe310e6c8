/**
 * /api/v1/sources: CRUD, lists, validation, permissions, tenant isolation, and one audit row per write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, sourceBody, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/sources';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(engines())('/api/v1/sources on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  const create = async (extra: Record<string, unknown> = {}, who: 'adminA' | 'apiKeyA' = 'adminA') => {
    const r = await h.call(who, { method: 'POST', url: URL, payload: sourceBody(extra) });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Record<string, unknown> & { id: string; name: string };
  };

  it('creates, reads, changes and deletes a source', async () => {
    const created = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: sourceBody({ name: 'edge-fw', criticality: 'high', notifications: { email: true } }),
    });
    expect(created.statusCode).toBe(201);
    const s = created.json();
    expect(created.headers.location).toBe(`${URL}/${s.id}`);
    expect(s).toMatchObject({
      name: 'edge-fw',
      type: 'firewall',
      ip: '192.0.2.10',
      port: 514,
      status: 'active',
      criticality: 'high',
      notifications: { email: true },
      tenantId: h.tenantA.id,
    });
    expect(s.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${s.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(s);

    const patched = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${s.id}`,
      payload: { status: 'inactive', port: 6514 },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ id: s.id, name: 'edge-fw', status: 'inactive', port: 6514 });

    const del = await h.call('adminA', { method: 'DELETE', url: `${URL}/${s.id}` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${s.id}` })).statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${s.id}` })).statusCode).toBe(404);
  });

  it('lists with filters, paging and sorting', async () => {
    const tag = `list-${Date.now().toString(36)}`;
    await create({ name: `${tag}-b`, type: 'router', criticality: 'low' });
    await create({ name: `${tag}-a`, type: 'router', criticality: 'critical' });
    await create({ name: `${tag}-c`, type: 'endpoint', criticality: 'critical' });

    const all = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}` });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toMatchObject({ total: 3, limit: 50, offset: 0 });
    expect(all.json().items.map((s: { name: string }) => s.name)).toEqual([
      `${tag}-a`,
      `${tag}-b`,
      `${tag}-c`,
    ]);

    const routers = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}&type=router&sort=-name` });
    expect(routers.json().items.map((s: { name: string }) => s.name)).toEqual([`${tag}-b`, `${tag}-a`]);

    const page = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}&limit=1&offset=1` });
    expect(page.json()).toMatchObject({ total: 3, limit: 1, offset: 1, items: [{ name: `${tag}-b` }] });

    const critical = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?q=${tag}&criticality=critical&type=endpoint`,
    });
    expect(critical.json().items.map((s: { name: string }) => s.name)).toEqual([`${tag}-c`]);
  });

  it('names each invalid field', async () => {
    const r = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: { type: 'firewall', port: '514' },
    });
    expect(r.statusCode).toBe(400);
    const paths = (r.json().errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['ip', 'name', 'port', 'protocol']);

    const s = await create();
    const patch = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${s.id}`,
      payload: { criticality: 'extreme', id: UNKNOWN },
    });
    expect(patch.statusCode).toBe(400);
    expect((patch.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'criticality',
      'id',
    ]);

    const filter = await h.call('viewerA', { method: 'GET', url: `${URL}?status=sleeping` });
    expect(filter.statusCode).toBe(400);
    expect(filter.json().errors).toEqual([{ path: 'status', message: expect.any(String) }]);
  });

  it('answers 409 for a duplicate name', async () => {
    const s = await create();
    const dup = await h.call('adminA', { method: 'POST', url: URL, payload: sourceBody({ name: s.name }) });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'conflict', status: 409 });
    const other = await create();
    const rename = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${other.id}`,
      payload: { name: s.name },
    });
    expect(rename.statusCode).toBe(409);
  });

  it('requires credentials (401) and the sources:write permission (403)', async () => {
    const s = await create();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'GET', url: `${URL}/${s.id}` })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: URL, payload: sourceBody() })).statusCode).toBe(401);
    for (const who of ['viewerA', 'analystA'] as const) {
      const post = await h.call(who, { method: 'POST', url: URL, payload: sourceBody() });
      expect(post.statusCode, who).toBe(403);
      expect(post.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('sources:write'),
      });
      const patch = await h.call(who, { method: 'PATCH', url: `${URL}/${s.id}`, payload: { port: 1 } });
      expect(patch.statusCode).toBe(403);
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${s.id}` })).statusCode).toBe(403);
      // Permission is checked before the body: a forbidden caller learns nothing from validation.
      const invalid = await h.call(who, { method: 'POST', url: URL, payload: { nonsense: true } });
      expect(invalid.statusCode).toBe(403);
    }
    expect((await h.call('adminA', { method: 'GET', url: `${URL}/${s.id}` })).json().port).toBe(514);
  });

  it('keeps tenants apart: B cannot see, list, change or delete A’s sources', async () => {
    const s = await create({ name: `secret-${Date.now()}` });
    for (const who of ['viewerB', 'adminB'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${s.id}` })).statusCode, who).toBe(404);
      const list = await h.call(who, { method: 'GET', url: `${URL}?q=secret-` });
      expect(list.statusCode).toBe(200);
      expect(list.json().items.some((x: { id: string }) => x.id === s.id)).toBe(false);
    }
    const patch = await h.call('adminB', { method: 'PATCH', url: `${URL}/${s.id}`, payload: { port: 1 } });
    expect(patch.statusCode).toBe(404);
    const del = await h.call('adminB', { method: 'DELETE', url: `${URL}/${s.id}` });
    expect(del.statusCode).toBe(404);
    // Asking to act in A is refused outright for a member of B only.
    const intoA = await h.call('adminB', {
      method: 'DELETE',
      url: `${URL}/${s.id}`,
      headers: { 'x-tenant': h.tenantA.id },
    });
    expect(intoA.statusCode).toBe(403);
    // An sre reads across tenants (X-Tenant) but never writes.
    const sre = await h.call('sre', {
      method: 'GET',
      url: `${URL}/${s.id}`,
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(sre.statusCode).toBe(200);
    const sreInB = await h.call('sre', {
      method: 'GET',
      url: `${URL}/${s.id}`,
      headers: { 'x-tenant': h.tenantB.slug },
    });
    expect(sreInB.statusCode).toBe(404);
    const sreWrite = await h.call('sre', {
      method: 'DELETE',
      url: `${URL}/${s.id}`,
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(sreWrite.statusCode).toBe(403);

    const after = await h.call('adminA', { method: 'GET', url: `${URL}/${s.id}` });
    expect(after.json()).toMatchObject({ port: 514, name: s.name });
  });

  it('writes exactly one audit row per change, in the same tenant', async () => {
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const s = await create({ name: `audited-${Date.now()}` });
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'source',
      resourceId: s.id,
      actor: expect.stringMatching(/^admina-/),
      userId: h.userIds.adminA,
      ipAddress: '127.0.0.1',
      userAgent: 'lightMyRequest',
      success: true,
      details: { after: { name: s.name, port: 514, type: 'firewall' } },
    });

    await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${s.id}`,
      payload: { port: 1514, protocol: 'syslog' },
    });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceId: s.id,
      details: { before: { port: 514 }, after: { port: 1514 } },
    });
    // Only what changed: protocol was set to the value it had.
    expect(Object.keys((rows.at(-1)!.details as { after: object }).after)).toEqual(['port']);

    // A change that changes nothing leaves no row; a refused one neither.
    await h.call('adminA', { method: 'PATCH', url: `${URL}/${s.id}`, payload: { port: 1514 } });
    await h.call('adminA', { method: 'PATCH', url: `${URL}/${UNKNOWN}`, payload: { port: 1 } });
    await h.call('adminA', { method: 'POST', url: URL, payload: sourceBody({ name: s.name }) });
    await h.call('viewerA', { method: 'DELETE', url: `${URL}/${s.id}` });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 2);

    await h.call('adminA', { method: 'DELETE', url: `${URL}/${s.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 3);
    expect(rows.at(-1)).toMatchObject({
      action: 'delete',
      resourceId: s.id,
      details: { before: { name: s.name, port: 1514 } },
    });
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });

  it('audits an API key as its name, without a user id', async () => {
    const s = await create({}, 'apiKeyA');
    const row = (await h.auditRows(h.tenantA.id)).at(-1)!;
    expect(row).toMatchObject({ action: 'create', resourceId: s.id, actor: 'api-key:ci', userId: null });
  });
});
