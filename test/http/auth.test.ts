/**
 * /api/v1/auth against a fake AuthApi: what the HTTP layer passes in and what it answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { API_KEY_A_PERMISSIONS, createHttpFixture, PASSWORD, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/auth';

describe.each(engines())('/api/v1/auth on %s', (engine) => {
  let h: HttpFixture;
  let adminName: string;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
    adminName = (await h.call('adminA', { method: 'GET', url: `${URL}/me` })).json().name;
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('logs in with a username and password, passing address, user agent and tenant', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: `${URL}/login`,
      headers: { 'user-agent': 'console/2' },
      payload: { login: adminName, password: PASSWORD, tenant: h.tenantA.slug },
    });
    expect(r.statusCode).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.json()).toMatchObject({
      tokenType: 'Bearer',
      accessToken: 'token-admin-a',
      refreshToken: 'refresh-token-admin-a',
      expiresIn: 900,
      user: { id: h.userIds.adminA, username: adminName, platformRole: 'user' },
      tenant: { id: h.tenantA.id, slug: h.tenantA.slug, role: 'admin' },
    });
    expect(h.auth.calls.at(-1)).toMatchObject({
      method: 'login',
      credential: adminName,
      meta: { ip: '127.0.0.1', userAgent: 'console/2', tenant: h.tenantA.slug },
    });
    // The token works.
    const me = await h.app.inject({
      method: 'GET',
      url: `${URL}/me`,
      headers: { authorization: `Bearer ${r.json().accessToken}` },
    });
    expect(me.statusCode).toBe(200);
  });

  it('refuses a wrong password (401) and names missing or unknown fields (400)', async () => {
    const wrong = await h.app.inject({
      method: 'POST',
      url: `${URL}/login`,
      payload: { login: adminName, password: 'nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ code: 'unauthorized' });
    const missing = await h.app.inject({
      method: 'POST',
      url: `${URL}/login`,
      payload: { login: adminName, pass: 'x' },
    });
    expect(missing.statusCode).toBe(400);
    expect((missing.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'pass',
      'password',
    ]);
    const huge = await h.app.inject({
      method: 'POST',
      url: `${URL}/login`,
      payload: { login: adminName, password: 'x'.repeat(2000) },
    });
    expect(huge.statusCode).toBe(400);
    expect(huge.json().errors).toEqual([{ path: 'password', message: expect.any(String) }]);
  });

  it('refreshes with a refresh token, and refuses a bad one', async () => {
    const r = await h.app.inject({
      method: 'POST',
      url: `${URL}/refresh`,
      payload: { refreshToken: 'refresh-token-viewer-a' },
    });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({
      tokenType: 'Bearer',
      accessToken: 'token-viewer-a',
      expiresIn: 900,
      refreshToken: 'refresh-token-viewer-a',
      refreshExpiresIn: 604800,
    });
    const bad = await h.app.inject({
      method: 'POST',
      url: `${URL}/refresh`,
      payload: { refreshToken: 'stolen' },
    });
    expect(bad.statusCode).toBe(401);
    const none = await h.app.inject({ method: 'POST', url: `${URL}/refresh`, payload: {} });
    expect(none.statusCode).toBe(400);
    expect(none.json().errors).toEqual([{ path: 'refreshToken', message: expect.any(String) }]);
  });

  it('logs out the caller (204), with or without ending its sessions', async () => {
    expect((await h.call(null, { method: 'POST', url: `${URL}/logout` })).statusCode).toBe(401);
    const plain = await h.call('analystA', { method: 'POST', url: `${URL}/logout` });
    expect(plain.statusCode).toBe(204);
    expect(h.auth.calls.at(-1)).toMatchObject({
      method: 'logout',
      principal: { id: h.userIds.analystA, sessionFamily: 'family-token-analyst-a' },
      opts: { endSessions: false },
    });
    const all = await h.call('analystA', {
      method: 'POST',
      url: `${URL}/logout`,
      payload: { endSessions: true },
    });
    expect(all.statusCode).toBe(204);
    expect(h.auth.calls.at(-1)).toMatchObject({ method: 'logout', opts: { endSessions: true } });
    const bad = await h.call('analystA', {
      method: 'POST',
      url: `${URL}/logout`,
      payload: { endSessions: 'yes' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ path: 'endSessions', message: expect.any(String) }]);
  });

  it('tells the caller who it is in the request tenant', async () => {
    expect((await h.call(null, { method: 'GET', url: `${URL}/me` })).statusCode).toBe(401);
    const viewer = await h.call('viewerA', { method: 'GET', url: `${URL}/me` });
    expect(viewer.json()).toMatchObject({
      kind: 'user',
      id: h.userIds.viewerA,
      platformRole: 'user',
      tenantId: h.tenantA.id,
      role: 'viewer',
      crossTenant: false,
    });
    expect(viewer.json().permissions).toContain('sources:read');
    expect(viewer.json().permissions).not.toContain('sources:write');
    expect(viewer.json()).not.toHaveProperty('sessionFamily');
    const key = await h.call('apiKeyA', { method: 'GET', url: `${URL}/me` });
    expect(key.json()).toMatchObject({
      kind: 'api_key',
      name: 'api-key:ci',
      tenantId: h.tenantA.id,
      role: null,
    });
    expect(key.json().permissions).toEqual([...API_KEY_A_PERMISSIONS].sort());
    const sre = await h.call('sre', { method: 'GET', url: `${URL}/me` });
    expect(sre.json()).toMatchObject({ platformRole: 'sre', tenantId: null, crossTenant: false });
  });
});
