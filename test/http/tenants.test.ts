/**
 * /api/v1/tenants: an sre sees and manages every tenant; a user sees the tenants it is a member of; an API
 * key its own. Create and update are audited in the affected tenant; a delete is logged (its audit trail
 * goes with it). Validation, permissions, visibility (404), one audit row per change.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/tenants';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(engines())('/api/v1/tenants on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  let n = 0;
  const body = (extra: Record<string, unknown> = {}) => {
    n += 1;
    return { slug: `tn-${n}-${Math.random().toString(36).slice(2, 8)}`, name: `Tenant ${n}`, ...extra };
  };
  const create = async (extra: Record<string, unknown> = {}) => {
    const r = await h.call('sre', { method: 'POST', url: URL, payload: body(extra) });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; slug: string; name: string };
  };
  const ids = (items: { id: string }[]) => items.map((t) => t.id);

  it('lets an sre create, read, list, change and delete a tenant', async () => {
    const b = body({ description: 'A new customer' });
    const r = await h.call('sre', { method: 'POST', url: URL, payload: b });
    expect(r.statusCode, r.body).toBe(201);
    const t = r.json();
    expect(t).toMatchObject({
      slug: b.slug,
      name: b.name,
      description: 'A new customer',
      status: 'active',
      userCount: 0,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(r.headers.location).toBe(`${URL}/${t.id}`);

    const got = await h.call('sre', { method: 'GET', url: `${URL}/${t.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ id: t.id, slug: b.slug });

    const list = await h.call('sre', { method: 'GET', url: `${URL}?limit=500` });
    expect(list.statusCode).toBe(200);
    expect(ids(list.json().items)).toEqual(expect.arrayContaining([t.id, h.tenantA.id, h.tenantB.id]));
    const q = await h.call('sre', { method: 'GET', url: `${URL}?q=${b.slug}` });
    expect(q.json()).toMatchObject({ total: 1, items: [{ id: t.id }] });

    const patched = await h.call('sre', {
      method: 'PATCH',
      url: `${URL}/${t.id}`,
      payload: { name: 'Renamed', status: 'suspended' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ id: t.id, name: 'Renamed', status: 'suspended' });

    const del = await h.call('sre', { method: 'DELETE', url: `${URL}/${t.id}` });
    expect(del.statusCode, del.body).toBe(204);
    expect(del.body).toBe('');
    expect(await h.container.repos.tenants.get(t.id)).toBeUndefined();
    expect((await h.call('sre', { method: 'GET', url: `${URL}/${t.id}` })).statusCode).toBe(404);
    expect((await h.call('sre', { method: 'DELETE', url: `${URL}/${t.id}` })).statusCode).toBe(404);
    expect(
      (await h.call('sre', { method: 'PATCH', url: `${URL}/${UNKNOWN}`, payload: { name: 'x' } })).statusCode,
    ).toBe(404);
  });

  it('shows a user only its own tenants, and an API key its own tenant', async () => {
    const other = await create();
    for (const who of ['adminA', 'analystA', 'viewerA'] as const) {
      const r = await h.call(who, { method: 'GET', url: URL });
      expect(r.statusCode, who).toBe(200);
      expect(r.json()).toMatchObject({ total: 1, items: [{ id: h.tenantA.id, slug: h.tenantA.slug }] });
      expect((await h.call(who, { method: 'GET', url: `${URL}/${h.tenantA.id}` })).statusCode).toBe(200);
      expect((await h.call(who, { method: 'GET', url: `${URL}/${h.tenantB.id}` })).statusCode).toBe(404);
      expect((await h.call(who, { method: 'GET', url: `${URL}/${other.id}` })).statusCode).toBe(404);
    }
    const b = await h.call('viewerB', { method: 'GET', url: URL });
    expect(ids(b.json().items)).toEqual([h.tenantB.id]);

    const key = await h.call('apiKeyA', { method: 'GET', url: URL });
    expect(key.statusCode).toBe(200);
    expect(ids(key.json().items)).toEqual([h.tenantA.id]);
    expect((await h.call('apiKeyA', { method: 'GET', url: `${URL}/${h.tenantA.id}` })).statusCode).toBe(200);
    expect((await h.call('apiKeyA', { method: 'GET', url: `${URL}/${h.tenantB.id}` })).statusCode).toBe(404);

    // A second membership shows up; filters apply to the caller's own tenants.
    await h.container.repos.memberships.add(other.id, h.userIds.viewerA, 'viewer');
    const two = await h.call('viewerA', { method: 'GET', url: `${URL}?limit=1` });
    expect(two.json()).toMatchObject({ total: 2, limit: 1 });
    const filtered = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${other.slug}` });
    expect(ids(filtered.json().items)).toEqual([other.id]);
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${other.id}` })).statusCode).toBe(200);
    await h.container.repos.memberships.remove(other.id, h.userIds.viewerA);
  });

  it('names each invalid field, and answers 409 on a taken slug', async () => {
    const r = await h.call('sre', {
      method: 'POST',
      url: URL,
      payload: { slug: 'Not A Slug', name: '', colour: 1 },
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'colour',
      'name',
      'slug',
    ]);
    const missing = await h.call('sre', { method: 'POST', url: URL, payload: { name: 'x' } });
    expect(missing.json().errors).toEqual([{ path: 'slug', message: expect.any(String) }]);
    const patch = await h.call('sre', {
      method: 'PATCH',
      url: `${URL}/${h.tenantA.id}`,
      payload: { status: 'gone' },
    });
    expect(patch.json().errors).toEqual([{ path: 'status', message: expect.any(String) }]);
    const id = await h.call('sre', { method: 'GET', url: `${URL}/42` });
    expect(id.json().errors).toEqual([{ path: 'id', message: expect.any(String) }]);

    const dup = await h.call('sre', { method: 'POST', url: URL, payload: body({ slug: h.tenantA.slug }) });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'conflict' });
    const t = await create();
    const rename = await h.call('sre', {
      method: 'PATCH',
      url: `${URL}/${t.id}`,
      payload: { slug: h.tenantB.slug },
    });
    expect(rename.statusCode).toBe(409);
  });

  it('requires credentials (401) and tenants:write for changes (403)', async () => {
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'GET', url: `${URL}/${h.tenantA.id}` })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: URL, payload: body() })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'DELETE', url: `${URL}/${h.tenantA.id}` })).statusCode).toBe(401);
    for (const who of ['adminA', 'analystA', 'viewerA', 'adminB', 'apiKeyA'] as const) {
      const post = await h.call(who, { method: 'POST', url: URL, payload: body() });
      expect(post.statusCode, who).toBe(403);
      expect(post.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('tenants:write'),
      });
      expect(
        (await h.call(who, { method: 'PATCH', url: `${URL}/${h.tenantA.id}`, payload: { name: 'x' } }))
          .statusCode,
        who,
      ).toBe(403);
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${h.tenantA.id}` })).statusCode, who).toBe(
        403,
      );
    }
    expect(await h.container.repos.tenants.get(h.tenantA.id)).toMatchObject({ name: h.tenantA.name });
  });

  it('audits create and update in the affected tenant; a delete leaves other trails alone', async () => {
    const beforeA = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const t = await create({ description: 'audited' });
    let rows = await h.auditRows(t.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      action: 'create',
      resourceType: 'tenant',
      resourceId: t.id,
      userId: h.userIds.sre,
      actor: expect.stringMatching(/^sre-/),
      details: { after: { slug: t.slug, name: t.name, description: 'audited' }, crossTenant: true },
    });

    await h.call('sre', { method: 'PATCH', url: `${URL}/${t.id}`, payload: { name: 'Changed' } });
    rows = await h.auditRows(t.id);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({
      action: 'update',
      resourceId: t.id,
      details: { before: { name: t.name }, after: { name: 'Changed' } },
    });

    // Unchanged, refused, invalid: no row.
    await h.call('sre', { method: 'PATCH', url: `${URL}/${t.id}`, payload: { name: 'Changed' } });
    await h.call('adminA', { method: 'PATCH', url: `${URL}/${t.id}`, payload: { name: 'Nope' } });
    await h.call('sre', { method: 'PATCH', url: `${URL}/${t.id}`, payload: { status: 'gone' } });
    expect(await h.auditRows(t.id)).toHaveLength(2);

    // An sre acting from tenant A audits the change in the tenant it changed, not in A.
    await h.call('sre', {
      method: 'PATCH',
      url: `${URL}/${t.id}`,
      payload: { description: 'from A' },
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(await h.auditRows(t.id)).toHaveLength(3);

    const warn = vi.spyOn(h.container.logger, 'warn');
    try {
      expect((await h.call('sre', { method: 'DELETE', url: `${URL}/${t.id}` })).statusCode).toBe(204);
      expect(warn).toHaveBeenCalledWith(
        expect.objectContaining({ event: 'tenant_deleted', tenantId: t.id, userId: h.userIds.sre }),
        expect.stringContaining(t.slug),
      );
    } finally {
      warn.mockRestore();
    }
    expect(await h.auditRows(t.id)).toHaveLength(0);
    expect((await h.auditRows(h.tenantA.id)).length).toBe(beforeA);
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
