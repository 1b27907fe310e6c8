/**
 * /api/v1/audit-logs: the tenant's trail (audit:read) and its hash-chain verification (audit:verify).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, sourceBody, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/audit-logs';

describe.each(engines())('/api/v1/audit-logs on %s', (engine) => {
  let h: HttpFixture;
  let sourceId: string;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
    const s = await h.call('adminA', { method: 'POST', url: '/api/v1/sources', payload: sourceBody() });
    sourceId = s.json().id;
    await h.call('adminA', { method: 'PATCH', url: `/api/v1/sources/${sourceId}`, payload: { port: 9 } });
    await h.call('analystA', { method: 'POST', url: '/api/v1/incidents', payload: { title: 'x' } });
    await h.call('adminB', { method: 'POST', url: '/api/v1/sources', payload: sourceBody() });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it("lists the tenant's own rows, newest first, with filters", async () => {
    const r = await h.call('adminA', { method: 'GET', url: URL });
    expect(r.statusCode).toBe(200);
    const page = r.json();
    expect(page.total).toBe(3);
    expect(
      page.items.map((a: { action: string; resourceType: string }) => `${a.action} ${a.resourceType}`),
    ).toEqual(['create incident', 'update source', 'create source']);
    expect(page.items.every((a: { tenantId: string }) => a.tenantId === h.tenantA.id)).toBe(true);
    expect(page.items[1]).toMatchObject({
      resourceId: sourceId,
      userId: h.userIds.adminA,
      ipAddress: '127.0.0.1',
      success: true,
      details: { before: { port: 514 }, after: { port: 9 } },
      timestamp: expect.stringMatching(/Z$/),
      rowHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    const filtered = await h.call('analystA', {
      method: 'GET',
      url: `${URL}?resourceType=source&action=create&success=true&sort=timestamp`,
    });
    expect(filtered.json()).toMatchObject({ total: 1, items: [{ resourceId: sourceId, action: 'create' }] });
    const byResource = await h.call('analystA', { method: 'GET', url: `${URL}?resourceId=${sourceId}` });
    expect(byResource.json().total).toBe(2);

    const b = await h.call('adminB', { method: 'GET', url: URL });
    expect(b.json().total).toBe(1);
    expect(b.json().items[0].tenantId).toBe(h.tenantB.id);
  });

  it('names invalid filters', async () => {
    const r = await h.call('adminA', {
      method: 'GET',
      url: `${URL}?action=hack&ipAddress=999.1.1.1&success=perhaps`,
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'action',
      'ipAddress',
      'success',
    ]);
    const range = await h.call('adminA', {
      method: 'GET',
      url: `${URL}?since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z`,
    });
    expect(range.statusCode).toBe(400);
    expect(range.json().errors).toEqual([{ path: 'until', message: 'since must not be after until' }]);
  });

  it('requires audit:read (viewers and API keys lack it); an sre reads any tenant it names', async () => {
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call('viewerA', { method: 'GET', url: URL })).statusCode).toBe(403);
    expect((await h.call('apiKeyA', { method: 'GET', url: URL })).statusCode).toBe(403);
    const sre = await h.call('sre', { method: 'GET', url: URL, headers: { 'x-tenant': h.tenantB.id } });
    expect(sre.statusCode).toBe(200);
    expect(sre.json().total).toBe(1);
  });

  it('verifies the hash chain of the tenant, and finds an edited row', async () => {
    const ok = await h.call('adminA', { method: 'GET', url: `${URL}/verify` });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      tenantId: h.tenantA.id,
      ok: true,
      checked: 3,
      head: { seq: 3, rowHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
      firstBroken: null,
    });
    expect((await h.call('analystA', { method: 'GET', url: `${URL}/verify` })).statusCode).toBe(403);
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/verify` })).statusCode).toBe(403);
    const sre = await h.call('sre', {
      method: 'GET',
      url: `${URL}/verify`,
      headers: { 'x-tenant': h.tenantA.slug },
    });
    expect(sre.json()).toMatchObject({ ok: true, checked: 3 });

    // Tamper as the table owner (the application role cannot): the chain breaks at that row.
    await h.t.db.query(`update audit_logs set actor = 'mallory' where tenant_id = $1 and seq = 2`, [
      h.tenantA.id,
    ]);
    const broken = await h.call('adminA', { method: 'GET', url: `${URL}/verify` });
    expect(broken.json()).toMatchObject({
      ok: false,
      firstBroken: { seq: 2, reason: expect.stringContaining('edited') },
    });
    const other = await h.call('adminB', { method: 'GET', url: `${URL}/verify` });
    expect(other.json()).toMatchObject({ tenantId: h.tenantB.id, ok: true, checked: 1 });
  });
});
