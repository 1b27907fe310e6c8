/**
 * /api/v1/sessions: a user's own working sessions. CRUD and end, validation, permissions, ownership (another
 * user's session is a 404), tenant isolation, API keys refused, and one audit row per write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type Caller, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/sessions';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(engines())('/api/v1/sessions on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  const create = async (extra: Record<string, unknown> = {}, who: Caller = 'analystA') => {
    const r = await h.call(who, { method: 'POST', url: URL, payload: { title: 'triage', ...extra } });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Record<string, unknown> & { id: string; title: string };
  };

  it('opens, reads, changes, ends and deletes a session of the caller', async () => {
    const created = await h.call('viewerA', {
      method: 'POST',
      url: URL,
      payload: { threadId: 'thread-1', context: { step: 1 }, title: 'hunt' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const s = created.json();
    expect(created.headers.location).toBe(`${URL}/${s.id}`);
    expect(s).toMatchObject({
      tenantId: h.tenantA.id,
      userId: h.userIds.viewerA,
      threadId: 'thread-1',
      context: { step: 1 },
      title: 'hunt',
      isActive: true,
      endedAt: null,
    });

    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${s.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(s);

    const patched = await h.call('viewerA', {
      method: 'PATCH',
      url: `${URL}/${s.id}`,
      payload: { title: 'hunt 2', context: { step: 2 } },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ id: s.id, title: 'hunt 2', context: { step: 2 }, isActive: true });

    const ended = await h.call('viewerA', { method: 'POST', url: `${URL}/${s.id}/end` });
    expect(ended.statusCode, ended.body).toBe(200);
    expect(ended.json()).toMatchObject({ id: s.id, isActive: false, endedAt: expect.any(String) });
    const again = await h.call('viewerA', { method: 'POST', url: `${URL}/${s.id}/end`, payload: {} });
    expect(again.statusCode).toBe(200);
    expect(again.json().endedAt).toBe(ended.json().endedAt);

    const reopened = await h.call('viewerA', {
      method: 'PATCH',
      url: `${URL}/${s.id}`,
      payload: { isActive: true },
    });
    expect(reopened.json()).toMatchObject({ isActive: true, endedAt: null });

    const del = await h.call('viewerA', { method: 'DELETE', url: `${URL}/${s.id}` });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${s.id}` })).statusCode).toBe(404);
    expect((await h.call('viewerA', { method: 'DELETE', url: `${URL}/${s.id}` })).statusCode).toBe(404);
  });

  it('lists only the caller’s own sessions, with filters and paging', async () => {
    const thread = `t-${Date.now().toString(36)}`;
    const a = await create({ threadId: thread, title: 'a' });
    const b = await create({ threadId: thread, title: 'b' });
    await h.call('analystA', { method: 'POST', url: `${URL}/${a.id}/end` });
    const other = await create({ threadId: thread }, 'adminA');

    const mine = await h.call('analystA', { method: 'GET', url: `${URL}?threadId=${thread}&sort=title` });
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ total: 2, limit: 50, offset: 0 });
    expect(mine.json().items.map((s: { id: string }) => s.id)).toEqual([a.id, b.id]);

    const open = await h.call('analystA', { method: 'GET', url: `${URL}?threadId=${thread}&isActive=true` });
    expect(open.json().items.map((s: { id: string }) => s.id)).toEqual([b.id]);
    const closed = await h.call('analystA', {
      method: 'GET',
      url: `${URL}?threadId=${thread}&isActive=false`,
    });
    expect(closed.json().items.map((s: { id: string }) => s.id)).toEqual([a.id]);

    const page = await h.call('analystA', {
      method: 'GET',
      url: `${URL}?threadId=${thread}&sort=-title&limit=1&offset=1`,
    });
    expect(page.json()).toMatchObject({ total: 2, limit: 1, offset: 1, items: [{ id: a.id }] });

    const admin = await h.call('adminA', { method: 'GET', url: `${URL}?threadId=${thread}` });
    expect(admin.json().items.map((s: { id: string }) => s.id)).toEqual([other.id]);
    // The owner is never chosen by the caller.
    const byUser = await h.call('adminA', { method: 'GET', url: `${URL}?userId=${h.userIds.analystA}` });
    expect(byUser.statusCode).toBe(400);
    expect(byUser.json().errors).toEqual([{ path: 'userId', message: 'unknown field' }]);
  });

  it('names each invalid field', async () => {
    const r = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: { threadId: '', title: 'x'.repeat(300), userId: h.userIds.adminA },
    });
    expect(r.statusCode).toBe(400);
    const paths = (r.json().errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(['threadId', 'title', 'userId']);

    const s = await create();
    const patch = await h.call('analystA', {
      method: 'PATCH',
      url: `${URL}/${s.id}`,
      payload: { isActive: 'no', context: [1], userId: UNKNOWN },
    });
    expect(patch.statusCode).toBe(400);
    expect((patch.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'context',
      'isActive',
      'userId',
    ]);

    const filter = await h.call('analystA', { method: 'GET', url: `${URL}?isActive=maybe` });
    expect(filter.statusCode).toBe(400);
    expect(filter.json().errors).toEqual([{ path: 'isActive', message: expect.any(String) }]);
    const end = await h.call('analystA', { method: 'POST', url: `${URL}/${s.id}/end`, payload: { now: 1 } });
    expect(end.statusCode).toBe(400);
    expect((await h.call('analystA', { method: 'GET', url: `${URL}/42` })).statusCode).toBe(400);
  });

  it('requires credentials (401), a user (403 for API keys) and the permissions (403)', async () => {
    const s = await create();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'GET', url: `${URL}/${s.id}` })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: URL, payload: {} })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: `${URL}/${s.id}/end` })).statusCode).toBe(401);

    for (const r of [
      await h.call('apiKeyA', { method: 'GET', url: URL }),
      await h.call('apiKeyA', { method: 'POST', url: URL, payload: {} }),
      await h.call('apiKeyA', { method: 'DELETE', url: `${URL}/${s.id}` }),
    ]) {
      expect(r.statusCode).toBe(403);
      expect(r.json()).toMatchObject({ code: 'forbidden' });
    }

    // The sre reads across tenants, but never writes; it owns no sessions in A.
    const sreList = await h.call('sre', { method: 'GET', url: URL, headers: { 'x-tenant': h.tenantA.slug } });
    expect(sreList.statusCode).toBe(200);
    expect(sreList.json().total).toBe(0);
    const sreWrite = await h.call('sre', {
      method: 'POST',
      url: URL,
      payload: {},
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(sreWrite.statusCode).toBe(403);
    expect(sreWrite.json()).toMatchObject({
      code: 'forbidden',
      detail: expect.stringContaining('sessions:write'),
    });
    const sreEnd = await h.call('sre', {
      method: 'POST',
      url: `${URL}/${s.id}/end`,
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(sreEnd.statusCode).toBe(403);
    expect((await h.call('analystA', { method: 'GET', url: `${URL}/${s.id}` })).json().isActive).toBe(true);
  });

  it('keeps users apart: another member of the tenant gets 404 for my session', async () => {
    const s = await create({ title: 'private' });
    for (const who of ['adminA', 'viewerA'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${s.id}` })).statusCode, who).toBe(404);
      const list = await h.call(who, { method: 'GET', url: URL });
      expect(list.json().items.some((x: { id: string }) => x.id === s.id)).toBe(false);
    }
    const patch = await h.call('adminA', { method: 'PATCH', url: `${URL}/${s.id}`, payload: { title: 'x' } });
    expect(patch.statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'POST', url: `${URL}/${s.id}/end` })).statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${s.id}` })).statusCode).toBe(404);
    const after = await h.call('analystA', { method: 'GET', url: `${URL}/${s.id}` });
    expect(after.json()).toMatchObject({ title: 'private', isActive: true });
  });

  it('keeps tenants apart: B cannot see, list, change, end or delete A’s sessions', async () => {
    const s = await create();
    for (const who of ['viewerB', 'adminB'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${s.id}` })).statusCode, who).toBe(404);
      const list = await h.call(who, { method: 'GET', url: URL });
      expect(list.statusCode).toBe(200);
      expect(list.json().items.some((x: { id: string }) => x.id === s.id)).toBe(false);
    }
    const patch = await h.call('adminB', { method: 'PATCH', url: `${URL}/${s.id}`, payload: { title: 'x' } });
    expect(patch.statusCode).toBe(404);
    expect((await h.call('adminB', { method: 'POST', url: `${URL}/${s.id}/end` })).statusCode).toBe(404);
    expect((await h.call('adminB', { method: 'DELETE', url: `${URL}/${s.id}` })).statusCode).toBe(404);
    const intoA = await h.call('adminB', {
      method: 'DELETE',
      url: `${URL}/${s.id}`,
      headers: { 'x-tenant': h.tenantA.id },
    });
    expect(intoA.statusCode).toBe(403);
    const after = await h.call('analystA', { method: 'GET', url: `${URL}/${s.id}` });
    expect(after.json()).toMatchObject({ title: 'triage', isActive: true });
  });

  it('writes exactly one audit row per change, in the same tenant', async () => {
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const s = await create({ title: 'audited', context: { apiKey: 'hunter2' } });
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 1);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'session',
      resourceId: s.id,
      actor: expect.stringMatching(/^analysta-/),
      userId: h.userIds.analystA,
      ipAddress: '127.0.0.1',
      success: true,
      details: { after: { title: 'audited', userId: h.userIds.analystA, context: { apiKey: '[redacted]' } } },
    });

    await h.call('analystA', { method: 'PATCH', url: `${URL}/${s.id}`, payload: { title: 'renamed' } });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceId: s.id,
      details: { before: { title: 'audited' }, after: { title: 'renamed' } },
    });

    await h.call('analystA', { method: 'POST', url: `${URL}/${s.id}/end` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 3);
    expect(rows.at(-1)).toMatchObject({
      action: 'update',
      resourceId: s.id,
      description: 'ended session',
      details: { before: { isActive: true }, after: { isActive: false } },
    });

    // Nothing changed, refused, or not found: no row.
    await h.call('analystA', { method: 'POST', url: `${URL}/${s.id}/end` });
    await h.call('analystA', { method: 'PATCH', url: `${URL}/${s.id}`, payload: { title: 'renamed' } });
    await h.call('analystA', { method: 'PATCH', url: `${URL}/${UNKNOWN}`, payload: { title: 'x' } });
    await h.call('adminA', { method: 'DELETE', url: `${URL}/${s.id}` });
    await h.call('apiKeyA', { method: 'DELETE', url: `${URL}/${s.id}` });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 3);

    await h.call('analystA', { method: 'DELETE', url: `${URL}/${s.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 4);
    expect(rows.at(-1)).toMatchObject({
      action: 'delete',
      resourceId: s.id,
      details: { before: { title: 'renamed', isActive: false } },
    });
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
