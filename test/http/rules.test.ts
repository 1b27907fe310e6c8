/**
 * /api/v1/rules: CRUD, version history, lists, validation, permissions, tenant isolation, one audit row per
 * write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/rules';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

let n = 0;
const ruleBody = (extra: Record<string, unknown> = {}) => {
  n += 1;
  return { name: `rule-${n}-${Math.random().toString(36).slice(2, 6)}`, ruleType: 'query', ...extra };
};

describe.each(engines())('/api/v1/rules on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  const create = async (extra: Record<string, unknown> = {}) => {
    const r = await h.call('adminA', { method: 'POST', url: URL, payload: ruleBody(extra) });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Record<string, unknown> & { id: string; name: string };
  };

  it('creates, reads, changes (bumping the version) and deletes a rule', async () => {
    const created = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: ruleBody({ name: 'ssh-brute', severity: 'high', tags: ['ssh'], techniques: ['t1110'] }),
    });
    expect(created.statusCode, created.body).toBe(201);
    const r = created.json();
    expect(created.headers.location).toBe(`${URL}/${r.id}`);
    expect(r).toMatchObject({
      name: 'ssh-brute',
      ruleType: 'query',
      severity: 'high',
      status: 'active',
      enabled: true,
      tags: ['ssh'],
      techniques: ['T1110'],
      version: 1,
      ruleNumber: expect.stringMatching(/^RULE-\d{6}$/),
      tenantId: h.tenantA.id,
      createdBy: expect.stringMatching(/^analysta-/),
    });

    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${r.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(r);

    const patched = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${r.id}`,
      payload: { severity: 'critical', enabled: false },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ id: r.id, severity: 'critical', enabled: false, version: 2 });

    const versions = await h.call('viewerA', { method: 'GET', url: `${URL}/${r.id}/versions` });
    expect(versions.statusCode, versions.body).toBe(200);
    expect(versions.json().items).toHaveLength(1);
    expect(versions.json().items[0]).toMatchObject({
      ruleId: r.id,
      version: 1,
      snapshot: { severity: 'high', enabled: true },
      changedBy: expect.stringMatching(/^admina-/),
    });

    const del = await h.call('adminA', { method: 'DELETE', url: `${URL}/${r.id}` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${r.id}` })).statusCode).toBe(404);
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${r.id}/versions` })).statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${r.id}` })).statusCode).toBe(404);
  });

  it('lists with filters and paging', async () => {
    const tag = `list${Date.now().toString(36)}`;
    await create({ name: `${tag}-a`, severity: 'low', tags: [tag] });
    await create({ name: `${tag}-b`, severity: 'critical', ruleType: 'sigma', tags: [tag] });
    await create({ name: `${tag}-c`, severity: 'critical', enabled: false, tags: [tag] });

    const all = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}&sort=name` });
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json()).toMatchObject({ total: 3, limit: 50, offset: 0 });
    expect(all.json().items.map((x: { name: string }) => x.name)).toEqual([
      `${tag}-a`,
      `${tag}-b`,
      `${tag}-c`,
    ]);
    const critical = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?tag=${tag}&severity=critical&enabled=true`,
    });
    expect(critical.json().items.map((x: { name: string }) => x.name)).toEqual([`${tag}-b`]);
    const sigma = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}&ruleType=sigma` });
    expect(sigma.json().total).toBe(1);
    const page = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}&sort=-name&limit=1` });
    expect(page.json()).toMatchObject({ total: 3, limit: 1, items: [{ name: `${tag}-c` }] });
  });

  it('names each invalid field', async () => {
    const r = await h.call('adminA', { method: 'POST', url: URL, payload: { ruleType: 'magic', x: 1 } });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'name',
      'ruleType',
      'x',
    ]);
    const rule = await create();
    const patch = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${rule.id}`,
      payload: { severity: 'extreme', ruleNumber: 'RULE-000001' },
    });
    expect(patch.statusCode).toBe(400);
    expect((patch.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'ruleNumber',
      'severity',
    ]);
    const filter = await h.call('viewerA', { method: 'GET', url: `${URL}?status=sleeping` });
    expect(filter.statusCode).toBe(400);
    expect(filter.json().errors).toEqual([{ path: 'status', message: expect.any(String) }]);
    const parent = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: ruleBody({ parentRuleId: UNKNOWN }),
    });
    expect(parent.statusCode).toBe(400);
    expect(parent.json().errors).toEqual([{ path: 'parentRuleId', message: expect.any(String) }]);
  });

  it('requires credentials (401) and the rules:write permission (403)', async () => {
    const rule = await create();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'GET', url: `${URL}/${rule.id}/versions` })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: URL, payload: ruleBody() })).statusCode).toBe(401);
    for (const who of ['viewerA', 'apiKeyA'] as const) {
      const post = await h.call(who, { method: 'POST', url: URL, payload: ruleBody() });
      expect(post.statusCode, who).toBe(403);
      expect(post.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('rules:write'),
      });
      const patch = await h.call(who, { method: 'PATCH', url: `${URL}/${rule.id}`, payload: { name: 'x' } });
      expect(patch.statusCode).toBe(403);
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${rule.id}` })).statusCode).toBe(403);
      expect((await h.call(who, { method: 'POST', url: URL, payload: { nonsense: 1 } })).statusCode).toBe(
        403,
      );
    }
    // The API key has no rules:read either.
    expect((await h.call('apiKeyA', { method: 'GET', url: URL })).statusCode).toBe(403);
    expect((await h.call('adminA', { method: 'GET', url: `${URL}/${rule.id}` })).json().version).toBe(1);
  });

  it('keeps tenants apart: B cannot see, list, change or delete A’s rules', async () => {
    const rule = await create({ name: `secret-${Date.now()}` });
    for (const who of ['viewerB', 'adminB'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${rule.id}` })).statusCode, who).toBe(404);
      expect((await h.call(who, { method: 'GET', url: `${URL}/${rule.id}/versions` })).statusCode).toBe(404);
      const list = await h.call(who, { method: 'GET', url: `${URL}?q=secret-` });
      expect(list.statusCode).toBe(200);
      expect(list.json().items.some((x: { id: string }) => x.id === rule.id)).toBe(false);
    }
    const patch = await h.call('adminB', {
      method: 'PATCH',
      url: `${URL}/${rule.id}`,
      payload: { name: 'x' },
    });
    expect(patch.statusCode).toBe(404);
    expect((await h.call('adminB', { method: 'DELETE', url: `${URL}/${rule.id}` })).statusCode).toBe(404);
    const intoA = await h.call('adminB', {
      method: 'DELETE',
      url: `${URL}/${rule.id}`,
      headers: { 'x-tenant': h.tenantA.id },
    });
    expect(intoA.statusCode).toBe(403);
    const after = await h.call('adminA', { method: 'GET', url: `${URL}/${rule.id}` });
    expect(after.json()).toMatchObject({ name: rule.name, version: 1 });
  });

  it('writes exactly one audit row per change, in the same tenant', async () => {
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const rule = await create({ name: `audited-${Date.now()}` });
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'rule',
      resourceId: rule.id,
      userId: h.userIds.adminA,
      details: { after: { name: rule.name, ruleType: 'query' } },
    });

    await h.call('adminA', { method: 'PATCH', url: `${URL}/${rule.id}`, payload: { severity: 'low' } });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceType: 'rule',
      resourceId: rule.id,
      details: { before: { severity: 'medium', version: 1 }, after: { severity: 'low', version: 2 } },
    });

    // Nothing changed, unknown, refused: no rows.
    await h.call('adminA', { method: 'PATCH', url: `${URL}/${rule.id}`, payload: {} });
    await h.call('adminA', { method: 'PATCH', url: `${URL}/${UNKNOWN}`, payload: { name: 'x' } });
    await h.call('viewerA', { method: 'DELETE', url: `${URL}/${rule.id}` });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 2);

    await h.call('adminA', { method: 'DELETE', url: `${URL}/${rule.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 3);
    expect(rows.at(-1)).toMatchObject({
      action: 'delete',
      resourceId: rule.id,
      details: { before: { name: rule.name } },
    });
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
