/**
 * /api/v1/notifications: create, read, mark read (one and all), delete, lists, validation, permissions,
 * tenant isolation, one audit row per write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/notifications';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

const body = (extra: Record<string, unknown> = {}) => ({
  message: `msg-${Math.random().toString(36).slice(2, 8)}`,
  ...extra,
});

describe.each(engines())('/api/v1/notifications on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  const create = async (extra: Record<string, unknown> = {}) => {
    const r = await h.call('adminA', { method: 'POST', url: URL, payload: body(extra) });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Record<string, unknown> & { id: string; message: string };
  };

  it('creates, reads, marks read and deletes a notification', async () => {
    const created = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: body({ title: 'Disk', severity: 'warning', userId: h.userIds.viewerA, metadata: { a: 1 } }),
    });
    expect(created.statusCode, created.body).toBe(201);
    const n = created.json();
    expect(created.headers.location).toBe(`${URL}/${n.id}`);
    expect(n).toMatchObject({
      title: 'Disk',
      severity: 'warning',
      userId: h.userIds.viewerA,
      isRead: false,
      readAt: null,
      metadata: { a: 1 },
      tenantId: h.tenantA.id,
    });
    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${n.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(n);

    const read = await h.call('analystA', { method: 'POST', url: `${URL}/${n.id}/read` });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toMatchObject({ id: n.id, isRead: true, readAt: expect.any(String) });
    const again = await h.call('analystA', { method: 'POST', url: `${URL}/${n.id}/read`, payload: {} });
    expect(again.json().readAt).toBe(read.json().readAt);

    const del = await h.call('adminA', { method: 'DELETE', url: `${URL}/${n.id}` });
    expect(del.statusCode).toBe(204);
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${n.id}` })).statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'POST', url: `${URL}/${n.id}/read` })).statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${n.id}` })).statusCode).toBe(404);
  });

  it('lists with filters, and marks the caller’s inbox read', async () => {
    const mine = await create({ userId: h.userIds.analystA, severity: 'critical' });
    const everyone = await create({ severity: 'critical' });
    const other = await create({ userId: h.userIds.viewerA, severity: 'critical' });

    const inbox = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?userId=${h.userIds.analystA}&isRead=false&severity=critical`,
    });
    expect(inbox.statusCode, inbox.body).toBe(200);
    const ids = inbox.json().items.map((x: { id: string }) => x.id);
    expect(ids).toEqual(expect.arrayContaining([mine.id, everyone.id]));
    expect(ids).not.toContain(other.id);
    const page = await h.call('viewerA', { method: 'GET', url: `${URL}?limit=1` });
    expect(page.json()).toMatchObject({ limit: 1, offset: 0, items: [{ id: other.id }] });

    const all = await h.call('analystA', { method: 'POST', url: `${URL}/read-all` });
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json().updated).toBeGreaterThanOrEqual(2);
    const state = async (id: string) =>
      (await h.call('viewerA', { method: 'GET', url: `${URL}/${id}` })).json().isRead;
    expect(await state(mine.id)).toBe(true);
    expect(await state(everyone.id)).toBe(true);
    expect(await state(other.id)).toBe(false);
    expect(
      (await h.call('analystA', { method: 'POST', url: `${URL}/read-all`, payload: {} })).json(),
    ).toEqual({
      updated: 0,
    });
  });

  it('names each invalid field', async () => {
    const r = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: { severity: 'loud', userId: 'nobody', colour: 'red' },
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'colour',
      'message',
      'severity',
      'userId',
    ]);
    // The addressee must be a member of the tenant.
    const outsider = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: body({ userId: h.userIds.adminB }),
    });
    expect(outsider.statusCode).toBe(400);
    expect(outsider.json().errors).toEqual([{ path: 'userId', message: expect.any(String) }]);
    const readAll = await h.call('adminA', {
      method: 'POST',
      url: `${URL}/read-all`,
      payload: { userId: UNKNOWN },
    });
    expect(readAll.statusCode).toBe(400);
    expect(readAll.json().errors).toEqual([{ path: 'userId', message: 'unknown field' }]);
    const filter = await h.call('viewerA', { method: 'GET', url: `${URL}?severity=loud` });
    expect(filter.statusCode).toBe(400);
    expect(filter.json().errors).toEqual([{ path: 'severity', message: expect.any(String) }]);
  });

  it('requires credentials (401) and the notifications:write permission (403)', async () => {
    const n = await create();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: `${URL}/read-all` })).statusCode).toBe(401);
    for (const who of ['viewerA', 'apiKeyA'] as const) {
      const post = await h.call(who, { method: 'POST', url: URL, payload: body() });
      expect(post.statusCode, who).toBe(403);
      expect(post.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('notifications:write'),
      });
      expect((await h.call(who, { method: 'POST', url: `${URL}/${n.id}/read` })).statusCode).toBe(403);
      expect((await h.call(who, { method: 'POST', url: `${URL}/read-all` })).statusCode).toBe(403);
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${n.id}` })).statusCode).toBe(403);
    }
    expect((await h.call('apiKeyA', { method: 'GET', url: URL })).statusCode).toBe(403);
    expect((await h.call('adminA', { method: 'GET', url: `${URL}/${n.id}` })).json().isRead).toBe(false);
  });

  it('keeps tenants apart: B cannot see, list, mark or delete A’s notifications', async () => {
    const n = await create();
    for (const who of ['viewerB', 'adminB'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${n.id}` })).statusCode, who).toBe(404);
      const list = await h.call(who, { method: 'GET', url: `${URL}?limit=500` });
      expect(list.statusCode).toBe(200);
      expect(list.json().items.some((x: { id: string }) => x.id === n.id)).toBe(false);
    }
    expect((await h.call('adminB', { method: 'POST', url: `${URL}/${n.id}/read` })).statusCode).toBe(404);
    await h.call('adminB', { method: 'POST', url: `${URL}/read-all` });
    expect((await h.call('adminB', { method: 'DELETE', url: `${URL}/${n.id}` })).statusCode).toBe(404);
    const after = await h.call('adminA', { method: 'GET', url: `${URL}/${n.id}` });
    expect(after.json()).toMatchObject({ message: n.message, isRead: false });
  });

  it('writes exactly one audit row per change, in the same tenant', async () => {
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const n = await create({ userId: h.userIds.adminA });
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'notification',
      resourceId: n.id,
      userId: h.userIds.adminA,
      details: { after: { message: n.message } },
    });

    await h.call('adminA', { method: 'POST', url: `${URL}/${n.id}/read` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceId: n.id,
      details: { before: { isRead: false }, after: { isRead: true } },
    });

    await create();
    await h.call('adminA', { method: 'POST', url: `${URL}/read-all` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 4);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceType: 'notification',
      details: { after: { markedRead: expect.any(Number) } },
    });

    // Nothing changed, unknown, refused: no rows.
    await h.call('adminA', { method: 'POST', url: `${URL}/${n.id}/read` });
    await h.call('adminA', { method: 'POST', url: `${URL}/read-all` });
    await h.call('adminA', { method: 'POST', url: `${URL}/${UNKNOWN}/read` });
    await h.call('viewerA', { method: 'DELETE', url: `${URL}/${n.id}` });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 4);

    await h.call('adminA', { method: 'DELETE', url: `${URL}/${n.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 5);
    expect(rows.at(-1)).toMatchObject({
      action: 'delete',
      resourceId: n.id,
      details: { before: { message: n.message } },
    });
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
