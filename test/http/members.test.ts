/**
 * /api/v1/members: an admin manages the members of the current tenant. Set a role (adding the user when
 * not a member), list, remove; validation, permissions, the last admin stays, tenant isolation, one audit
 * row per change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/members';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(engines())('/api/v1/members on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  let n = 0;
  /** A user of the platform who belongs to no tenant yet. */
  const newUser = async () => {
    n += 1;
    const username = `member-${n}-${Math.random().toString(36).slice(2, 8)}`;
    return h.container.repos.users.create({
      username,
      email: `${username}@example.com`,
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$fake$fake',
      displayName: `Member ${n}`,
    });
  };
  const members = async (who: 'adminA' | 'adminB' | 'viewerA' | 'analystA' = 'adminA', qs = 'limit=500') =>
    (await h.call(who, { method: 'GET', url: `${URL}?${qs}` })).json().items as {
      userId: string;
      role: string;
    }[];

  it('adds a user, changes the role, lists and removes the member', async () => {
    const u = await newUser();
    const added = await h.call('adminA', {
      method: 'PUT',
      url: `${URL}/${u.id}`,
      payload: { role: 'analyst' },
    });
    expect(added.statusCode, added.body).toBe(200);
    expect(added.json()).toMatchObject({ tenantId: h.tenantA.id, userId: u.id, role: 'analyst' });

    const list = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${u.username}` });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ total: 1, limit: 50, offset: 0 });
    expect(list.json().items[0]).toMatchObject({
      userId: u.id,
      role: 'analyst',
      username: u.username,
      email: u.email,
      displayName: u.displayName,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(list.json().items[0].passwordHash).toBeUndefined();

    const changed = await h.call('adminA', {
      method: 'PUT',
      url: `${URL}/${u.id}`,
      payload: { role: 'viewer' },
    });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ userId: u.id, role: 'viewer' });
    const viewers = await members('adminA', 'role=viewer&limit=500');
    expect(viewers.map((m) => m.userId)).toContain(u.id);
    expect(viewers.every((m) => m.role === 'viewer')).toBe(true);

    const del = await h.call('adminA', { method: 'DELETE', url: `${URL}/${u.id}` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await members()).map((m) => m.userId)).not.toContain(u.id);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${u.id}` })).statusCode).toBe(404);
    const unknown = await h.call('adminA', {
      method: 'PUT',
      url: `${URL}/${UNKNOWN}`,
      payload: { role: 'viewer' },
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('keeps at least one admin (409)', async () => {
    const demote = await h.call('adminA', {
      method: 'PUT',
      url: `${URL}/${h.userIds.adminA}`,
      payload: { role: 'viewer' },
    });
    expect(demote.statusCode).toBe(409);
    expect(demote.json()).toMatchObject({ code: 'conflict' });
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${h.userIds.adminA}` })).statusCode).toBe(
      409,
    );

    // With a second admin, the first may step down.
    const u = await newUser();
    await h.call('adminA', { method: 'PUT', url: `${URL}/${u.id}`, payload: { role: 'admin' } });
    const down = await h.call('adminA', {
      method: 'PUT',
      url: `${URL}/${h.userIds.adminA}`,
      payload: { role: 'analyst' },
    });
    expect(down.statusCode).toBe(200);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${u.id}` })).statusCode).toBe(409);
    const back = await h.call('adminA', {
      method: 'PUT',
      url: `${URL}/${h.userIds.adminA}`,
      payload: { role: 'admin' },
    });
    expect(back.json().role).toBe('admin');
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${u.id}` })).statusCode).toBe(204);
  });

  it('names each invalid field', async () => {
    const u = await newUser();
    const r = await h.call('adminA', {
      method: 'PUT',
      url: `${URL}/${u.id}`,
      payload: { role: 'owner', colour: 1 },
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual(['colour', 'role']);
    const missing = await h.call('adminA', { method: 'PUT', url: `${URL}/${u.id}`, payload: {} });
    expect(missing.json().errors).toEqual([{ path: 'role', message: expect.any(String) }]);
    const id = await h.call('adminA', { method: 'PUT', url: `${URL}/42`, payload: { role: 'viewer' } });
    expect(id.statusCode).toBe(400);
    expect(id.json().errors).toEqual([{ path: 'userId', message: expect.any(String) }]);
    const filter = await h.call('adminA', { method: 'GET', url: `${URL}?role=owner` });
    expect(filter.json().errors).toEqual([{ path: 'role', message: expect.any(String) }]);
    expect((await members()).map((m) => m.userId)).not.toContain(u.id);
  });

  it('requires credentials (401) and the memberships permissions (403)', async () => {
    const u = await newUser();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect(
      (await h.call(null, { method: 'PUT', url: `${URL}/${u.id}`, payload: { role: 'viewer' } })).statusCode,
    ).toBe(401);
    expect((await h.call(null, { method: 'DELETE', url: `${URL}/${h.userIds.viewerA}` })).statusCode).toBe(
      401,
    );
    for (const who of ['analystA', 'viewerA'] as const) {
      expect((await h.call(who, { method: 'GET', url: URL })).statusCode, who).toBe(200);
      const put = await h.call(who, { method: 'PUT', url: `${URL}/${u.id}`, payload: { role: 'admin' } });
      expect(put.statusCode, who).toBe(403);
      expect(put.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('memberships:write'),
      });
      expect(
        (await h.call(who, { method: 'PUT', url: `${URL}/${u.id}`, payload: { x: 1 } })).statusCode,
      ).toBe(403);
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${h.userIds.viewerA}` })).statusCode).toBe(
        403,
      );
    }
    const key = await h.call('apiKeyA', { method: 'GET', url: URL });
    expect(key.statusCode).toBe(403);
    expect(key.json().detail).toContain('memberships:read');
    const sre = await h.call('sre', {
      method: 'PUT',
      url: `${URL}/${u.id}`,
      payload: { role: 'admin' },
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(sre.statusCode).toBe(403);
    expect((await members()).map((m) => m.userId)).not.toContain(u.id);
  });

  it('keeps tenants apart: B cannot list, change or remove A’s members', async () => {
    const listB = await members('adminB');
    expect(listB.map((m) => m.userId).sort()).toEqual([h.userIds.adminB, h.userIds.viewerB].sort());
    expect(
      (await h.call('adminB', { method: 'DELETE', url: `${URL}/${h.userIds.viewerA}` })).statusCode,
    ).toBe(404);
    const intoA = await h.call('adminB', {
      method: 'PUT',
      url: `${URL}/${h.userIds.viewerA}`,
      payload: { role: 'admin' },
      headers: { 'x-tenant': h.tenantA.id },
    });
    expect(intoA.statusCode).toBe(403);
    // B's admin acts on B only: whatever B does, A's memberships stay as they were.
    const inA = await members('adminA');
    expect(inA.find((m) => m.userId === h.userIds.viewerA)?.role).toBe('viewer');
    expect(inA.map((m) => m.userId)).not.toContain(h.userIds.adminB);
  });

  it('writes exactly one audit row per change, in the same tenant', async () => {
    const u = await newUser();
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    await h.call('adminA', { method: 'PUT', url: `${URL}/${u.id}`, payload: { role: 'viewer' } });
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'membership',
      resourceId: u.id,
      userId: h.userIds.adminA,
      actor: expect.stringMatching(/^admina-/),
      details: { after: { userId: u.id, role: 'viewer' } },
    });

    await h.call('adminA', { method: 'PUT', url: `${URL}/${u.id}`, payload: { role: 'analyst' } });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceId: u.id,
      details: { before: { role: 'viewer' }, after: { role: 'analyst' } },
    });

    // Unchanged, refused, invalid, unknown, last admin: no row.
    await h.call('adminA', { method: 'PUT', url: `${URL}/${u.id}`, payload: { role: 'analyst' } });
    await h.call('viewerA', { method: 'DELETE', url: `${URL}/${u.id}` });
    await h.call('adminA', { method: 'PUT', url: `${URL}/${u.id}`, payload: { role: 'root' } });
    await h.call('adminA', { method: 'PUT', url: `${URL}/${UNKNOWN}`, payload: { role: 'viewer' } });
    await h.call('adminA', { method: 'DELETE', url: `${URL}/${h.userIds.adminA}` });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 2);

    await h.call('adminA', { method: 'DELETE', url: `${URL}/${u.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 3);
    expect(rows.at(-1)).toMatchObject({
      action: 'delete',
      resourceId: u.id,
      details: { before: { userId: u.id, role: 'analyst' } },
    });
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
