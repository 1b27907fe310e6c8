/**
 * The real authentication path over HTTP, with the container wired as in production (no fake auth):
 * first admin from SetupService, login, bearer tokens, expiry, logout, refresh reuse, deactivation,
 * API keys and lockout.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { buildApp } from '../../src/http/app.ts';
import { createEmptyDb, engines, type TestDb } from '../helpers/db.ts';

const SECRET = 'e2e-test-secret-that-is-long-enough-0123456789';

describe.each(engines())('authentication end to end over HTTP on %s', (engine) => {
  let t: TestDb;
  let c: Container;
  let app: FastifyInstance;
  let adminPassword: string;

  const json = { 'content-type': 'application/json' };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const login = (loginName: string, password: string, ip = '198.51.100.1') =>
    app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: json,
      payload: { login: loginName, password },
      remoteAddress: ip,
    });

  beforeAll(async () => {
    t = await createEmptyDb(engine);
    const config = loadConfig({
      env: {
        LOG_LEVEL: 'silent',
        VIGIL_JWT_SECRET: SECRET,
        VIGIL_DATA_DIR: mkdtempSync(join(tmpdir(), 'vigil-e2e-')),
      },
    });
    c = await createContainer(config, createLogger(config), t.db);
    const init = await c.services.setup.init();
    adminPassword = init.password!;
    app = await buildApp({ container: c, logger: false });
  });
  afterAll(async () => {
    await app?.close();
    await t?.dispose();
  });

  it('a new user logs in with the printed password and lists incidents', async () => {
    const r = await login('admin', adminPassword);
    expect(r.statusCode).toBe(200);
    const { accessToken } = r.json();
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/incidents',
      headers: { ...json, ...bearer(accessToken) },
      payload: { title: 'Suspicious Login Activity', severity: 'high' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.json().incidentNumber).toBe('INC-000001');
    const list = await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: bearer(accessToken) });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ total: 1, items: [{ title: 'Suspicious Login Activity' }] });
  });

  it('refuses missing, forged and expired tokens with 401 problems', async () => {
    expect((await app.inject({ method: 'GET', url: '/api/v1/incidents' })).statusCode).toBe(401);
    const r = await login('admin', adminPassword);
    const { accessToken } = r.json();
    const forged = accessToken.slice(0, -4) + (accessToken.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(
      (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: bearer(forged) })).statusCode,
    ).toBe(401);
    const payload = JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString());
    const expired = await new SignJWT({ sid: payload.sid })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(payload.sub)
      .setIssuer('vigil')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(SECRET));
    const res = await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: bearer(expired) });
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('logout revokes at once; a reused refresh token revokes the whole login', async () => {
    const a = (await login('admin', adminPassword)).json();
    const out = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { ...json, ...bearer(a.accessToken) },
      payload: {},
    });
    expect(out.statusCode).toBe(204);
    expect(
      (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: bearer(a.accessToken) }))
        .statusCode,
    ).toBe(401);

    const b = (await login('admin', adminPassword)).json();
    const rotated = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      headers: json,
      payload: { refreshToken: b.refreshToken },
    });
    expect(rotated.statusCode).toBe(200);
    const reuse = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      headers: json,
      payload: { refreshToken: b.refreshToken },
    });
    expect(reuse.statusCode).toBe(401);
    const newAccess = rotated.json().accessToken;
    expect(
      (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: bearer(newAccess) })).statusCode,
    ).toBe(401);
  });

  it('deactivating a user cuts their access at once; API keys act only in their tenant', async () => {
    const admin = (await login('admin', adminPassword)).json();
    const h = { ...json, ...bearer(admin.accessToken) };
    const made = await app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: h,
      payload: { username: 'analyst1', email: 'analyst1@example.com', role: 'analyst' },
    });
    expect(made.statusCode).toBe(201);
    const { password, id } = made.json();
    const analyst = (await login('analyst1', password)).json();
    expect(
      (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: bearer(analyst.accessToken) }))
        .statusCode,
    ).toBe(200);
    // an analyst may not manage sources
    const src = { name: 'fw', type: 'firewall', ip: '192.0.2.1', port: 514, protocol: 'SYSLOG' };
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/api/v1/sources',
          headers: { ...json, ...bearer(analyst.accessToken) },
          payload: src,
        })
      ).statusCode,
    ).toBe(403);
    const off = await app.inject({
      method: 'PATCH',
      url: `/api/v1/users/${id}`,
      headers: h,
      payload: { isActive: false },
    });
    expect(off.statusCode).toBe(200);
    expect(
      (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: bearer(analyst.accessToken) }))
        .statusCode,
    ).toBe(401);

    const key = await app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: h,
      payload: { name: 'shipper', permissions: ['sources:read', 'sources:write'] },
    });
    expect(key.statusCode).toBe(201);
    const apiKey = key.json().key as string;
    const viaKey = await app.inject({
      method: 'POST',
      url: '/api/v1/sources',
      headers: { ...json, authorization: `ApiKey ${apiKey}` },
      payload: src,
    });
    expect(viaKey.statusCode).toBe(201);
    expect(
      (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { 'x-api-key': apiKey } }))
        .statusCode,
    ).toBe(403);
    const other = await app.inject({
      method: 'GET',
      url: '/api/v1/sources',
      headers: { 'x-api-key': apiKey, 'x-tenant': 'some-other-tenant' },
    });
    expect([403, 404]).toContain(other.statusCode);
  });

  it('locks an account after repeated failures, even for the right password', async () => {
    for (let i = 0; i < 5; i++)
      expect((await login('admin', `wrong-password-${i}`, `203.0.113.${i}`)).statusCode).toBe(401);
    const locked = await login('admin', adminPassword, '203.0.113.200');
    expect([401, 429]).toContain(locked.statusCode);
    expect(locked.json().detail).toMatch(/locked/);
  });
});
