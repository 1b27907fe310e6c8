/**
 * /api/v1/api-keys: a tenant's API keys, through the real AuthService. Create (the key once), list, revoke,
 * validation, permissions (admins only, never an API key), tenant isolation, one audit row per write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthApi } from '../../src/services/auth.types.ts';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type Caller, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/api-keys';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(engines())('/api/v1/api-keys on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  let n = 0;
  const create = async (extra: Record<string, unknown> = {}, who: Caller = 'adminA') => {
    n += 1;
    const r = await h.call(who, {
      method: 'POST',
      url: URL,
      payload: { name: `ci-${n}-${Date.now().toString(36)}`, permissions: ['sources:read'], ...extra },
    });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; name: string; key: string; prefix: string };
  };
  /** The real AuthService behind the routes resolves the keys it issued. */
  const authenticate = (key: string) =>
    (h.container.services.apiKeys as unknown as AuthApi).authenticateApiKey(key, {});

  it('creates a key (shown once), lists it without the key, and revokes it', async () => {
    const created = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: { name: 'deploy', permissions: ['sources:read', 'incidents:write', 'sources:read'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const k = created.json();
    expect(created.headers.location).toBe(`${URL}/${k.id}`);
    expect(k).toMatchObject({
      name: 'deploy',
      permissions: ['sources:read', 'incidents:write'],
      expiresAt: null,
      key: expect.any(String),
      prefix: expect.any(String),
    });
    expect(k.key.startsWith(k.prefix.slice(0, 4))).toBe(true);
    const principal = await authenticate(k.key);
    expect(principal).toMatchObject({ kind: 'api_key', tenantId: h.tenantA.id });

    const list = await h.call('adminA', { method: 'GET', url: `${URL}?q=deploy` });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ total: 1, limit: 50, offset: 0 });
    const row = list.json().items[0];
    expect(row).toMatchObject({
      id: k.id,
      tenantId: h.tenantA.id,
      name: 'deploy',
      prefix: k.prefix,
      permissions: ['sources:read', 'incidents:write'],
      createdBy: h.userIds.adminA,
      revokedAt: null,
    });
    expect(JSON.stringify(list.json())).not.toContain(k.key);
    expect(row.key).toBeUndefined();
    expect(row.keyHash).toBeUndefined();

    const del = await h.call('adminA', { method: 'DELETE', url: `${URL}/${k.id}` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    await expect(authenticate(k.key)).rejects.toMatchObject({ code: 'unauthorized' });
    expect((await h.call('adminA', { method: 'GET', url: `${URL}?q=deploy` })).json().total).toBe(0);
    const revoked = await h.call('adminA', { method: 'GET', url: `${URL}?q=deploy&includeRevoked=true` });
    expect(revoked.json().items[0]).toMatchObject({ id: k.id, revokedAt: expect.any(String) });
    // Revoking again changes nothing; an unknown key is a 404.
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${k.id}` })).statusCode).toBe(204);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${UNKNOWN}` })).statusCode).toBe(404);
  });

  it('names each invalid field', async () => {
    const r = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: { permissions: ['users:read'], expiresAt: 'soon', colour: 'red' },
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'colour',
      'expiresAt',
      'name',
      'permissions.0',
    ]);
    const empty = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: { name: 'x', permissions: [] },
    });
    expect(empty.json().errors).toEqual([{ path: 'permissions', message: expect.any(String) }]);
    const past = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: { name: 'x', permissions: ['sources:read'], expiresAt: '2001-01-01T00:00:00Z' },
    });
    expect(past.statusCode).toBe(400);
    expect(past.json().errors).toEqual([{ path: 'expiresAt', message: expect.any(String) }]);
    const filter = await h.call('adminA', { method: 'GET', url: `${URL}?includeRevoked=perhaps` });
    expect(filter.json().errors).toEqual([{ path: 'includeRevoked', message: expect.any(String) }]);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/42` })).statusCode).toBe(400);
  });

  it('requires credentials (401) and the api_keys permissions (403); API keys never manage keys', async () => {
    const k = await create();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: URL, payload: {} })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'DELETE', url: `${URL}/${k.id}` })).statusCode).toBe(401);
    for (const who of ['analystA', 'viewerA', 'apiKeyA'] as const) {
      const list = await h.call(who, { method: 'GET', url: URL });
      expect(list.statusCode, who).toBe(403);
      expect(list.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('api_keys:read'),
      });
      const post = await h.call(who, { method: 'POST', url: URL, payload: { nonsense: true } });
      expect(post.statusCode, who).toBe(403);
      expect(post.json().detail).toContain('api_keys:write');
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${k.id}` })).statusCode, who).toBe(403);
    }
    // An sre reads another tenant's keys (X-Tenant) but never creates or revokes them.
    const sre = await h.call('sre', { method: 'GET', url: URL, headers: { 'x-tenant': h.tenantA.slug } });
    expect(sre.statusCode).toBe(200);
    const sreDel = await h.call('sre', {
      method: 'DELETE',
      url: `${URL}/${k.id}`,
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(sreDel.statusCode).toBe(403);
    expect((await authenticate(k.key)).id).toBe(k.id);
  });

  it('keeps tenants apart: B cannot see, list or revoke A’s keys', async () => {
    const k = await create({ name: `secret-${Date.now()}` });
    const list = await h.call('adminB', { method: 'GET', url: `${URL}?includeRevoked=true&limit=500` });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.some((x: { id: string }) => x.id === k.id)).toBe(false);
    expect((await h.call('adminB', { method: 'DELETE', url: `${URL}/${k.id}` })).statusCode).toBe(404);
    const intoA = await h.call('adminB', {
      method: 'DELETE',
      url: `${URL}/${k.id}`,
      headers: { 'x-tenant': h.tenantA.id },
    });
    expect(intoA.statusCode).toBe(403);
    expect((await authenticate(k.key)).id).toBe(k.id);
  });

  it('writes exactly one audit row per change, never with the key', async () => {
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const k = await create();
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'api_key',
      resourceId: k.id,
      userId: h.userIds.adminA,
      actor: expect.stringMatching(/^admina-/),
      success: true,
    });
    expect(JSON.stringify(rows.at(-1))).not.toContain(k.key);

    // Refused or invalid: no row.
    await h.call('adminA', { method: 'POST', url: URL, payload: { name: 'x', permissions: [] } });
    await h.call('viewerA', { method: 'DELETE', url: `${URL}/${k.id}` });
    await h.call('adminB', { method: 'DELETE', url: `${URL}/${k.id}` });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 1);

    await h.call('adminA', { method: 'DELETE', url: `${URL}/${k.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({ action: 'delete', resourceType: 'api_key', resourceId: k.id });
    await h.call('adminA', { method: 'DELETE', url: `${URL}/${k.id}` });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 2);
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
