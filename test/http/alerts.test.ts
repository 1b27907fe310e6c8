/**
 * /api/v1/alerts: CRUD, acknowledgement, incident links, lists, validation, permissions, tenant isolation,
 * one audit row per write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/alerts';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

const alertBody = (extra: Record<string, unknown> = {}) => ({
  title: `alert-${Math.random().toString(36).slice(2, 8)}`,
  alertType: 'brute_force',
  detectionMethod: 'heuristic',
  ...extra,
});

describe.each(engines())('/api/v1/alerts on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  const create = async (extra: Record<string, unknown> = {}) => {
    const r = await h.call('adminA', { method: 'POST', url: URL, payload: alertBody(extra) });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Record<string, unknown> & { id: string; title: string };
  };
  const incident = async (who: 'adminA' | 'adminB' = 'adminA') => {
    const r = await h.call(who, { method: 'POST', url: '/api/v1/incidents', payload: { title: 'inc' } });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as { id: string };
  };

  it('creates, reads, changes, acknowledges and deletes an alert', async () => {
    const created = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: alertBody({
        severity: 'high',
        sourceIp: '192.0.2.7',
        priorityScore: 0.8,
        techniques: ['t1110'],
      }),
    });
    expect(created.statusCode, created.body).toBe(201);
    const a = created.json();
    expect(created.headers.location).toBe(`${URL}/${a.id}`);
    expect(a).toMatchObject({
      alertType: 'brute_force',
      severity: 'high',
      status: 'new',
      acknowledged: false,
      acknowledgedBy: null,
      sourceIp: '192.0.2.7',
      priorityScore: 0.8,
      techniques: ['T1110'],
      count: 1,
      tenantId: h.tenantA.id,
    });

    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${a.id}` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(a);

    const patched = await h.call('analystA', {
      method: 'PATCH',
      url: `${URL}/${a.id}`,
      payload: { severity: 'critical', host: 'web-1' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ id: a.id, severity: 'critical', host: 'web-1' });

    const ack = await h.call('analystA', { method: 'POST', url: `${URL}/${a.id}/acknowledge` });
    expect(ack.statusCode, ack.body).toBe(200);
    expect(ack.json()).toMatchObject({
      acknowledged: true,
      status: 'acknowledged',
      acknowledgedBy: expect.stringMatching(/^analysta-/),
      acknowledgedAt: expect.any(String),
    });
    const again = await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/acknowledge`, payload: {} });
    expect(again.statusCode).toBe(200);
    expect(again.json().acknowledgedBy).toBe(ack.json().acknowledgedBy);

    const del = await h.call('adminA', { method: 'DELETE', url: `${URL}/${a.id}` });
    expect(del.statusCode).toBe(204);
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${a.id}` })).statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'DELETE', url: `${URL}/${a.id}` })).statusCode).toBe(404);
    expect((await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/acknowledge` })).statusCode).toBe(
      404,
    );
  });

  it('links an alert to an incident and unlinks it', async () => {
    const a = await create();
    const inc = await incident();
    const link = await h.call('analystA', { method: 'POST', url: `${URL}/${a.id}/incidents/${inc.id}` });
    expect(link.statusCode, link.body).toBe(200);
    expect(link.json()).toMatchObject({
      alertId: a.id,
      incidentId: inc.id,
      linkedBy: expect.stringMatching(/^analysta-/),
    });
    const twice = await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/incidents/${inc.id}` });
    expect(twice.json()).toEqual(link.json());

    const linked = await h.call('viewerA', { method: 'GET', url: `/api/v1/incidents/${inc.id}/alerts` });
    expect(linked.statusCode, linked.body).toBe(200);
    expect(linked.json().items.map((x: { id: string }) => x.id)).toEqual([a.id]);
    const none = await h.call('viewerA', { method: 'GET', url: `/api/v1/incidents/${UNKNOWN}/alerts` });
    expect(none.statusCode).toBe(404);
    const fromB = await h.call('viewerB', { method: 'GET', url: `/api/v1/incidents/${inc.id}/alerts` });
    expect(fromB.statusCode).toBe(404);

    const unknownIncident = await h.call('adminA', {
      method: 'POST',
      url: `${URL}/${a.id}/incidents/${UNKNOWN}`,
    });
    expect(unknownIncident.statusCode).toBe(404);
    const unknownAlert = await h.call('adminA', {
      method: 'POST',
      url: `${URL}/${UNKNOWN}/incidents/${inc.id}`,
    });
    expect(unknownAlert.statusCode).toBe(404);
    const bad = await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/incidents/nope` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ path: 'incidentId', message: expect.any(String) }]);

    const unlink = await h.call('analystA', { method: 'DELETE', url: `${URL}/${a.id}/incidents/${inc.id}` });
    expect(unlink.statusCode).toBe(204);
    const after = await h.call('viewerA', { method: 'GET', url: `/api/v1/incidents/${inc.id}/alerts` });
    expect(after.json().items).toEqual([]);
    const gone = await h.call('analystA', { method: 'DELETE', url: `${URL}/${a.id}/incidents/${inc.id}` });
    expect(gone.statusCode).toBe(404);
  });

  it('lists with filters and paging', async () => {
    const host = `h-${Date.now().toString(36)}`;
    const first = await create({ host, severity: 'low' });
    await create({ host, severity: 'critical' });
    await create({ host, severity: 'critical' });
    await h.call('adminA', { method: 'POST', url: `${URL}/${first.id}/acknowledge` });

    const all = await h.call('viewerA', { method: 'GET', url: `${URL}?host=${host}` });
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json()).toMatchObject({ total: 3, limit: 50, offset: 0 });
    const critical = await h.call('viewerA', { method: 'GET', url: `${URL}?host=${host}&severity=critical` });
    expect(critical.json().total).toBe(2);
    const acked = await h.call('viewerA', { method: 'GET', url: `${URL}?host=${host}&acknowledged=true` });
    expect(acked.json().items.map((x: { id: string }) => x.id)).toEqual([first.id]);
    const page = await h.call('viewerA', { method: 'GET', url: `${URL}?host=${host}&limit=1&offset=2` });
    expect(page.json()).toMatchObject({ total: 3, limit: 1, offset: 2, items: [{ id: first.id }] });
  });

  it('names each invalid field', async () => {
    const r = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: { alertType: 'x', sourceIp: 'not-an-ip', priorityScore: 2, colour: 'red' },
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'colour',
      'detectionMethod',
      'priorityScore',
      'sourceIp',
    ]);
    const a = await create();
    const patch = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${a.id}`,
      payload: { status: 'sleeping', acknowledged: true },
    });
    expect(patch.statusCode).toBe(400);
    expect((patch.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'acknowledged',
      'status',
    ]);
    const ack = await h.call('adminA', {
      method: 'POST',
      url: `${URL}/${a.id}/acknowledge`,
      payload: { x: 1 },
    });
    expect(ack.statusCode).toBe(400);
    expect(ack.json().errors).toEqual([{ path: 'x', message: 'unknown field' }]);
    const rule = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: alertBody({ ruleId: UNKNOWN }),
    });
    expect(rule.statusCode).toBe(400);
    expect(rule.json().errors).toEqual([{ path: 'ruleId', message: expect.any(String) }]);
    const filter = await h.call('viewerA', { method: 'GET', url: `${URL}?minPriority=5` });
    expect(filter.statusCode).toBe(400);
    expect(filter.json().errors).toEqual([{ path: 'minPriority', message: expect.any(String) }]);
  });

  it('requires credentials (401) and the alerts:write permission (403)', async () => {
    const a = await create();
    const inc = await incident();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'POST', url: `${URL}/${a.id}/acknowledge` })).statusCode).toBe(401);
    for (const who of ['viewerA', 'apiKeyA'] as const) {
      const post = await h.call(who, { method: 'POST', url: URL, payload: alertBody() });
      expect(post.statusCode, who).toBe(403);
      expect(post.json()).toMatchObject({
        code: 'forbidden',
        detail: expect.stringContaining('alerts:write'),
      });
      const patch = await h.call(who, { method: 'PATCH', url: `${URL}/${a.id}`, payload: { host: 'x' } });
      expect(patch.statusCode).toBe(403);
      expect((await h.call(who, { method: 'POST', url: `${URL}/${a.id}/acknowledge` })).statusCode).toBe(403);
      const link = await h.call(who, { method: 'POST', url: `${URL}/${a.id}/incidents/${inc.id}` });
      expect(link.statusCode).toBe(403);
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${a.id}` })).statusCode).toBe(403);
    }
    expect((await h.call('apiKeyA', { method: 'GET', url: URL })).statusCode).toBe(403);
    expect((await h.call('adminA', { method: 'GET', url: `${URL}/${a.id}` })).json().acknowledged).toBe(
      false,
    );
  });

  it('keeps tenants apart: B cannot see, list, change, link or delete A’s alerts', async () => {
    const host = `secret-${Date.now()}`;
    const a = await create({ host });
    const incA = await incident('adminA');
    const incB = await incident('adminB');
    for (const who of ['viewerB', 'adminB'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${a.id}` })).statusCode, who).toBe(404);
      const list = await h.call(who, { method: 'GET', url: `${URL}?host=${host}` });
      expect(list.statusCode).toBe(200);
      expect(list.json().total).toBe(0);
    }
    expect(
      (await h.call('adminB', { method: 'PATCH', url: `${URL}/${a.id}`, payload: { host: 'x' } })).statusCode,
    ).toBe(404);
    expect((await h.call('adminB', { method: 'POST', url: `${URL}/${a.id}/acknowledge` })).statusCode).toBe(
      404,
    );
    expect(
      (await h.call('adminB', { method: 'POST', url: `${URL}/${a.id}/incidents/${incB.id}` })).statusCode,
    ).toBe(404);
    // Nor can A link its alert to B's incident.
    expect(
      (await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/incidents/${incB.id}` })).statusCode,
    ).toBe(404);
    await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/incidents/${incA.id}` });
    expect(
      (await h.call('adminB', { method: 'DELETE', url: `${URL}/${a.id}/incidents/${incA.id}` })).statusCode,
    ).toBe(404);
    expect((await h.call('adminB', { method: 'DELETE', url: `${URL}/${a.id}` })).statusCode).toBe(404);
    const after = await h.call('adminA', { method: 'GET', url: `${URL}/${a.id}` });
    expect(after.json()).toMatchObject({ host, acknowledged: false });
  });

  it('writes exactly one audit row per change, in the same tenant', async () => {
    const before = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const inc = await incident();
    const a = await create();
    let rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 2);
    expect(rows.at(-1)).toMatchObject({
      action: 'create',
      resourceType: 'alert',
      resourceId: a.id,
      userId: h.userIds.adminA,
      details: { after: { title: a.title, alertType: 'brute_force' } },
    });

    await h.call('adminA', { method: 'PATCH', url: `${URL}/${a.id}`, payload: { severity: 'low' } });
    await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/acknowledge` });
    await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/incidents/${inc.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 5);
    expect(rows.slice(-3)).toMatchObject([
      {
        action: 'update',
        resourceId: a.id,
        details: { before: { severity: 'medium' }, after: { severity: 'low' } },
      },
      {
        action: 'update',
        resourceId: a.id,
        details: { after: { acknowledged: true, status: 'acknowledged' } },
      },
      {
        action: 'update',
        resourceId: a.id,
        details: { before: { incidentIds: [] }, after: { incidentIds: [inc.id] } },
      },
    ]);

    // Repeats and refusals: no rows.
    await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/acknowledge` });
    await h.call('adminA', { method: 'POST', url: `${URL}/${a.id}/incidents/${inc.id}` });
    await h.call('adminA', { method: 'PATCH', url: `${URL}/${UNKNOWN}`, payload: { host: 'x' } });
    await h.call('viewerA', { method: 'DELETE', url: `${URL}/${a.id}` });
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before + 5);

    await h.call('adminA', { method: 'DELETE', url: `${URL}/${a.id}/incidents/${inc.id}` });
    await h.call('adminA', { method: 'DELETE', url: `${URL}/${a.id}` });
    rows = await h.auditRows(h.tenantA.id);
    expect(rows.length).toBe(before + 7);
    expect(rows.slice(-2)).toMatchObject([
      { action: 'update', resourceId: a.id, details: { after: { incidentIds: [] } } },
      { action: 'delete', resourceType: 'alert', resourceId: a.id, details: { before: { title: a.title } } },
    ]);
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
