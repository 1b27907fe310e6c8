/**
 * /api/v1/users: an admin manages the users who are members of the current tenant; an sre reads every
 * user. Create (with a given or generated password), read, change, deactivate, set a password, delete;
 * validation, permissions, tenant isolation, no password hash anywhere, one audit row per change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/services/password.ts';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture, type LightResponse } from '../helpers/http.ts';

const URL = '/api/v1/users';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';
const GOOD_PASSWORD = 'a long enough passphrase';

/** No password hash, in any shape, in a response body. */
const noHash = (r: LightResponse) => {
  expect(r.body).not.toMatch(/passwordHash|password_hash|\$argon2/);
};

describe.each(engines())('/api/v1/users on %s', (engine) => {
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
    const username = `user-${n}-${Math.random().toString(36).slice(2, 8)}`;
    return { username, email: `${username}@example.com`, role: 'analyst', ...extra };
  };
  const create = async (who: 'adminA' | 'adminB' = 'adminA', extra: Record<string, unknown> = {}) => {
    const r = await h.call(who, { method: 'POST', url: URL, payload: body(extra) });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string; username: string; email: string; password?: string };
  };

  it('creates a user with a generated password, returned once, and a membership', async () => {
    const b = body({ displayName: 'Ann Analyst' });
    const r = await h.call('adminA', { method: 'POST', url: URL, payload: b });
    expect(r.statusCode, r.body).toBe(201);
    noHash(r);
    const u = r.json();
    expect(u).toMatchObject({
      username: b.username,
      email: b.email,
      displayName: 'Ann Analyst',
      role: 'analyst',
      isActive: true,
      platformRole: 'user',
      defaultTenantId: h.tenantA.id,
      password: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/),
    });
    expect(r.headers.location).toBe(`${URL}/${u.id}`);
    const stored = await h.container.repos.users.get(u.id);
    expect(stored!.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(u.password, stored!.passwordHash)).toBe(true);
    expect((await h.container.repos.memberships.get(h.tenantA.id, u.id))?.role).toBe('analyst');

    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${u.id}` });
    expect(got.statusCode).toBe(200);
    noHash(got);
    expect(got.json().password).toBeUndefined();
    expect(got.json()).toMatchObject({ id: u.id, username: b.username });

    const list = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${b.username}` });
    expect(list.statusCode).toBe(200);
    noHash(list);
    expect(list.json()).toMatchObject({ total: 1, items: [{ id: u.id }] });
    expect(list.json().items[0].password).toBeUndefined();
  });

  it('creates a user with a given password (policy checked), without returning it', async () => {
    const r = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: body({ password: GOOD_PASSWORD, role: 'viewer' }),
    });
    expect(r.statusCode, r.body).toBe(201);
    noHash(r);
    expect(r.json().password).toBeUndefined();
    const stored = await h.container.repos.users.get(r.json().id);
    expect(await verifyPassword(GOOD_PASSWORD, stored!.passwordHash)).toBe(true);

    const weak = await h.call('adminA', { method: 'POST', url: URL, payload: body({ password: 'short' }) });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().errors).toEqual([{ path: 'password', message: expect.any(String) }]);
  });

  it('lists the members of the tenant only, with q and isActive filters', async () => {
    const a = await create('adminA');
    const b = await create('adminB');
    const listA = (await h.call('adminA', { method: 'GET', url: `${URL}?limit=500` })).json();
    const idsA = listA.items.map((u: { id: string }) => u.id);
    expect(idsA).toContain(a.id);
    expect(idsA).toContain(h.userIds.viewerA);
    expect(idsA).not.toContain(b.id);
    expect(idsA).not.toContain(h.userIds.adminB);
    expect(idsA).not.toContain(h.userIds.sre);

    await h.call('adminA', { method: 'PATCH', url: `${URL}/${a.id}`, payload: { isActive: false } });
    const inactive = (
      await h.call('adminA', { method: 'GET', url: `${URL}?isActive=false&limit=500` })
    ).json();
    expect(inactive.items.map((u: { id: string }) => u.id)).toEqual([a.id]);

    const sre = await h.call('sre', { method: 'GET', url: `${URL}?limit=500` });
    expect(sre.statusCode).toBe(200);
    noHash(sre);
    const all = sre.json().items.map((u: { id: string }) => u.id);
    expect(all).toEqual(expect.arrayContaining([a.id, b.id, h.userIds.adminB, h.userIds.viewerA]));
    expect((await h.call('sre', { method: 'GET', url: `${URL}/${b.id}` })).statusCode).toBe(200);
  });

  it('changes and deactivates a member', async () => {
    const u = await create();
    const r = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${u.id}`,
      payload: { displayName: 'Renamed', isActive: false },
    });
    expect(r.statusCode, r.body).toBe(200);
    noHash(r);
    expect(r.json()).toMatchObject({ id: u.id, displayName: 'Renamed', isActive: false });
    expect((await h.container.repos.users.get(u.id))!.isActive).toBe(false);
    const other = await create();
    const dup = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${u.id}`,
      payload: { email: other.email.toUpperCase() },
    });
    expect(dup.statusCode).toBe(409);
  });

  it('sets a password (policy checked)', async () => {
    const u = await create();
    const r = await h.call('adminA', {
      method: 'POST',
      url: `${URL}/${u.id}/password`,
      payload: { password: GOOD_PASSWORD },
    });
    expect(r.statusCode, r.body).toBe(204);
    const stored = await h.container.repos.users.get(u.id);
    expect(await verifyPassword(GOOD_PASSWORD, stored!.passwordHash)).toBe(true);
    expect(stored!.passwordChangedAt).not.toBeNull();
    const weak = await h.call('adminA', {
      method: 'POST',
      url: `${URL}/${u.id}/password`,
      payload: { password: 'tiny' },
    });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().errors).toEqual([{ path: 'password', message: expect.any(String) }]);
    const missing = await h.call('adminA', { method: 'POST', url: `${URL}/${u.id}/password`, payload: {} });
    expect(missing.json().errors).toEqual([{ path: 'password', message: expect.any(String) }]);
  });

  it('deletes: removes the membership, and the user when it belongs nowhere else', async () => {
    const only = await create();
    const del = await h.call('adminA', { method: 'DELETE', url: `${URL}/${only.id}` });
    expect(del.statusCode, del.body).toBe(204);
    expect(del.body).toBe('');
    expect(await h.container.repos.users.get(only.id)).toBeUndefined();
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${only.id}` })).statusCode).toBe(404);

    const both = await create();
    await h.container.repos.memberships.add(h.tenantB.id, both.id, 'viewer');
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${both.id}` })).statusCode).toBe(204);
    expect(await h.container.repos.users.get(both.id)).toBeDefined();
    expect(await h.container.repos.memberships.get(h.tenantA.id, both.id)).toBeUndefined();
    expect((await h.container.repos.memberships.get(h.tenantB.id, both.id))?.role).toBe('viewer');

    const last = await h.call('adminA', { method: 'DELETE', url: `${URL}/${h.userIds.adminA}` });
    expect(last.statusCode).toBe(409);
  });

  it('answers 409 on a taken username or email', async () => {
    const u = await create();
    const user = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: body({ username: u.username.toUpperCase() }),
    });
    expect(user.statusCode).toBe(409);
    expect(user.json()).toMatchObject({ code: 'conflict' });
    const mail = await h.call('adminB', { method: 'POST', url: URL, payload: body({ email: u.email }) });
    expect(mail.statusCode).toBe(409);
  });

  it('names each invalid field', async () => {
    const r = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: { username: 'bad name!', email: 'nope', role: 'owner', colour: 1 },
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'colour',
      'email',
      'role',
      'username',
    ]);
    const missing = await h.call('adminA', { method: 'POST', url: URL, payload: { username: 'x1' } });
    expect((missing.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'email',
      'role',
    ]);
    const patch = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${h.userIds.viewerA}`,
      payload: { isActive: 'no', passwordHash: '$argon2id$x' },
    });
    expect((patch.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'isActive',
      'passwordHash',
    ]);
    const id = await h.call('adminA', { method: 'GET', url: `${URL}/42` });
    expect(id.json().errors).toEqual([{ path: 'id', message: expect.any(String) }]);
    const filter = await h.call('adminA', { method: 'GET', url: `${URL}?isActive=maybe` });
    expect(filter.json().errors).toEqual([{ path: 'isActive', message: expect.any(String) }]);
  });

  it('requires credentials (401) and the users permissions (403)', async () => {
    const u = await create();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: URL, payload: body() })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'DELETE', url: `${URL}/${u.id}` })).statusCode).toBe(401);
    for (const who of ['analystA', 'viewerA'] as const) {
      expect((await h.call(who, { method: 'GET', url: URL })).statusCode, who).toBe(200);
      const post = await h.call(who, { method: 'POST', url: URL, payload: body() });
      expect(post.statusCode, who).toBe(403);
      expect(post.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('users:write'),
      });
      expect(
        (await h.call(who, { method: 'PATCH', url: `${URL}/${u.id}`, payload: { isActive: false } }))
          .statusCode,
      ).toBe(403);
      expect(
        (
          await h.call(who, {
            method: 'POST',
            url: `${URL}/${u.id}/password`,
            payload: { password: GOOD_PASSWORD },
          })
        ).statusCode,
      ).toBe(403);
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${u.id}` })).statusCode).toBe(403);
    }
    const key = await h.call('apiKeyA', { method: 'GET', url: URL });
    expect(key.statusCode).toBe(403);
    expect(key.json().detail).toContain('users:read');
    const sre = await h.call('sre', {
      method: 'POST',
      url: URL,
      payload: body(),
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(sre.statusCode).toBe(403);
    expect((await h.container.repos.users.get(u.id))!.isActive).toBe(true);
  });

  it('keeps tenants apart: B’s admin cannot see, change or delete A-only users (404)', async () => {
    const u = await create('adminA');
    expect((await h.call('adminB', { method: 'GET', url: `${URL}/${u.id}` })).statusCode).toBe(404);
    const list = (await h.call('adminB', { method: 'GET', url: `${URL}?limit=500` })).json();
    expect(list.items.map((x: { id: string }) => x.id)).not.toContain(u.id);
    expect(
      (await h.call('adminB', { method: 'PATCH', url: `${URL}/${u.id}`, payload: { isActive: false } }))
        .statusCode,
    ).toBe(404);
    expect(
      (
        await h.call('adminB', {
          method: 'POST',
          url: `${URL}/${u.id}/password`,
          payload: { password: GOOD_PASSWORD },
        })
      ).statusCode,
    ).toBe(404);
    expect((await h.call('adminB', { method: 'DELETE', url: `${URL}/${u.id}` })).statusCode).toBe(404);
    const intoA = await h.call('adminB', {
      method: 'DELETE',
      url: `${URL}/${u.id}`,
      headers: { 'x-tenant': h.tenantA.id },
    });
    expect(intoA.statusCode).toBe(403);
    const stored = await h.container.repos.users.get(u.id);
    expect(stored).toMatchObject({ isActive: true });
    expect(await verifyPassword(GOOD_PASSWORD, stored!.passwordHash)).toBe(false);
    expect((await h.container.repos.memberships.get(h.tenantA.id, u.id))?.role).toBe('analyst');
    expect((await h.call('adminB', { method: 'GET', url: `${URL}/${UNKNOWN}` })).statusCode).toBe(404);
  });

  it('writes exactly one audit row per change, in the tenant, without passwords or hashes', async () => {
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const u = await create('adminA', { password: GOOD_PASSWORD });
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'user',
      resourceId: u.id,
      userId: h.userIds.adminA,
      details: { after: { username: u.username, role: 'analyst' } },
    });

    await h.call('adminA', { method: 'PATCH', url: `${URL}/${u.id}`, payload: { displayName: 'New' } });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceId: u.id,
      details: { before: { displayName: null }, after: { displayName: 'New' } },
    });

    await h.call('adminA', {
      method: 'POST',
      url: `${URL}/${u.id}/password`,
      payload: { password: `${GOOD_PASSWORD} 2` },
    });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 3);
    expect(rows.at(-1)).toMatchObject({ action: 'password_change', resourceType: 'user', resourceId: u.id });

    // Unchanged, refused, invalid, unknown: no row.
    await h.call('adminA', { method: 'PATCH', url: `${URL}/${u.id}`, payload: { displayName: 'New' } });
    await h.call('viewerA', { method: 'DELETE', url: `${URL}/${u.id}` });
    await h.call('adminA', { method: 'POST', url: URL, payload: body({ role: 'root' }) });
    await h.call('adminA', { method: 'DELETE', url: `${URL}/${UNKNOWN}` });
    await h.call('adminA', { method: 'POST', url: `${URL}/${u.id}/password`, payload: { password: 'x' } });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 3);

    await h.call('adminA', { method: 'DELETE', url: `${URL}/${u.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 4);
    expect(rows.at(-1)).toMatchObject({
      action: 'delete',
      resourceId: u.id,
      details: { before: { username: u.username, role: 'analyst', deleted: true } },
    });
    const text = JSON.stringify(rows.slice(before));
    expect(text).not.toContain(GOOD_PASSWORD);
    expect(text).not.toMatch(/\$argon2/);
    expect(text).not.toMatch(/passwordHash/);
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
