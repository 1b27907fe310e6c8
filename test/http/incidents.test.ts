/**
 * /api/v1/incidents: CRUD, status changes through the repository (derived times, timeline with the caller as
 * actor), validation, permissions, tenant isolation, and one audit row per write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type Caller, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/incidents';
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe.each(engines())('/api/v1/incidents on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => {
    await h?.dispose();
  });

  const open = async (extra: Record<string, unknown> = {}, who: Caller = 'analystA') => {
    const r = await h.call(who, { method: 'POST', url: URL, payload: { title: 'Beaconing host', ...extra } });
    expect(r.statusCode, r.body).toBe(201);
    return r.json() as Record<string, unknown> & { id: string; incidentNumber: string };
  };

  it('opens an incident with the next number and the caller as creator', async () => {
    const r = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: {
        title: 'Phishing wave',
        severity: 'high',
        incidentType: 'phishing',
        tags: ['mail', 'q3'],
        occurredAt: '2024-05-01T10:00:00Z',
        detectedAt: '2024-05-01T10:30:00Z',
      },
    });
    expect(r.statusCode).toBe(201);
    const inc = r.json();
    expect(r.headers.location).toBe(`${URL}/${inc.id}`);
    expect(inc).toMatchObject({
      tenantId: h.tenantA.id,
      incidentNumber: expect.stringMatching(/^INC-\d{6}$/),
      title: 'Phishing wave',
      status: 'open',
      severity: 'high',
      tags: ['mail', 'q3'],
      occurredAt: '2024-05-01T10:00:00.000Z',
      detectedAt: '2024-05-01T10:30:00.000Z',
      timeToDetect: 1800,
      createdBy: expect.stringMatching(/^analysta-/),
      respondedAt: null,
    });
    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${inc.id}` });
    expect(got.json()).toEqual(inc);
  });

  it('applies status changes: derived times and a timeline entry by the caller', async () => {
    const inc = await open({ detectedAt: new Date(Date.now() - 60_000).toISOString() });
    const r = await h.call('analystA', {
      method: 'PATCH',
      url: `${URL}/${inc.id}`,
      payload: { status: 'investigating', assignedTo: 'alice' },
    });
    expect(r.statusCode).toBe(200);
    const v = r.json();
    expect(v).toMatchObject({
      status: 'investigating',
      assignedTo: 'alice',
      updatedBy: expect.stringMatching(/^analysta-/),
    });
    expect(v.respondedAt).toEqual(expect.any(String));
    expect(v.timeToRespond).toBeGreaterThan(0);
    expect(v.timeline).toHaveLength(1);
    expect(JSON.stringify(v.timeline[0])).toContain('investigating');
    expect(JSON.stringify(v.timeline[0])).toMatch(/analysta-/);

    const resolved = await h.call('adminA', {
      method: 'PATCH',
      url: `${URL}/${inc.id}`,
      payload: { status: 'resolved' },
    });
    expect(resolved.json()).toMatchObject({ status: 'resolved', resolvedAt: expect.any(String) });
    expect(resolved.json().timeline).toHaveLength(2);
  });

  it('lists with filters and sorting', async () => {
    const tag = `t${Date.now().toString(36)}`;
    await open({ title: 'one', tags: [tag], severity: 'low', detectedAt: '2024-01-01T00:00:00Z' });
    await open({ title: 'two', tags: [tag], severity: 'critical', detectedAt: '2024-02-01T00:00:00Z' });
    await open({ title: 'three', tags: [tag], severity: 'critical', detectedAt: '2024-03-01T00:00:00Z' });
    const all = await h.call('viewerA', { method: 'GET', url: `${URL}?tag=${tag}` });
    expect(all.json()).toMatchObject({ total: 3 });
    expect(all.json().items.map((i: { title: string }) => i.title)).toEqual(['three', 'two', 'one']);
    const crit = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?tag=${tag}&severity=critical&sort=detected_at&detectedFrom=2024-01-15T00:00:00Z`,
    });
    expect(crit.json().items.map((i: { title: string }) => i.title)).toEqual(['two', 'three']);
    const bad = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?detectedFrom=yesterday&priority=urgent`,
    });
    expect(bad.statusCode).toBe(400);
    expect((bad.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'detectedFrom',
      'priority',
    ]);
  });

  it('names each invalid field', async () => {
    const r = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: { title: '', status: 'panicking', parentIncidentId: 'x', incidentNumber: 'INC-1' },
    });
    expect(r.statusCode).toBe(400);
    expect((r.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'incidentNumber',
      'parentIncidentId',
      'status',
      'title',
    ]);
    const order = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: { title: 'x', occurredAt: '2024-02-01T00:00:00Z', detectedAt: '2024-01-01T00:00:00Z' },
    });
    expect(order.statusCode).toBe(400);
    expect(order.json().errors).toEqual([{ path: 'occurredAt', message: 'must not be after detectedAt' }]);
    const inc = await open();
    const patch = await h.call('analystA', {
      method: 'PATCH',
      url: `${URL}/${inc.id}`,
      payload: { incidentNumber: 'INC-000999', timeline: [] },
    });
    expect(patch.statusCode).toBe(400);
    expect((patch.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'incidentNumber',
      'timeline',
    ]);
    const parent = await h.call('analystA', {
      method: 'PATCH',
      url: `${URL}/${inc.id}`,
      payload: { parentIncidentId: inc.id },
    });
    expect(parent.statusCode).toBe(400);
    expect(parent.json().errors).toEqual([{ path: 'parentIncidentId', message: expect.any(String) }]);
  });

  it('answers 409 for a duplicate number and 404 for unknown ids', async () => {
    const inc = await open();
    const dup = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: { title: 'again', incidentNumber: inc.incidentNumber },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json().code).toBe('conflict');
    for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
      const r = await h.call('adminA', {
        method,
        url: `${URL}/${UNKNOWN}`,
        ...(method === 'PATCH' ? { payload: { title: 'x' } } : {}),
      });
      expect(r.statusCode, method).toBe(404);
    }
  });

  it('requires credentials (401) and incidents:write (403)', async () => {
    const inc = await open();
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect(
      (await h.call(null, { method: 'PATCH', url: `${URL}/${inc.id}`, payload: { title: 'x' } })).statusCode,
    ).toBe(401);
    for (const who of ['viewerA', 'apiKeyA'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${inc.id}` })).statusCode, who).toBe(200);
      expect((await h.call(who, { method: 'POST', url: URL, payload: { title: 'x' } })).statusCode, who).toBe(
        403,
      );
      const patch = await h.call(who, {
        method: 'PATCH',
        url: `${URL}/${inc.id}`,
        payload: { status: 'closed' },
      });
      expect(patch.statusCode, who).toBe(403);
      expect((await h.call(who, { method: 'DELETE', url: `${URL}/${inc.id}` })).statusCode, who).toBe(403);
    }
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/${inc.id}` })).json().status).toBe('open');
  });

  it('keeps tenants apart: B cannot see, list, change or delete A’s incidents', async () => {
    const inc = await open({ title: `secret-${Date.now()}` });
    for (const who of ['viewerB', 'adminB'] as const) {
      expect((await h.call(who, { method: 'GET', url: `${URL}/${inc.id}` })).statusCode).toBe(404);
      const list = await h.call(who, { method: 'GET', url: `${URL}?q=secret-` });
      expect(list.json().items.some((x: { id: string }) => x.id === inc.id)).toBe(false);
    }
    const patch = await h.call('adminB', {
      method: 'PATCH',
      url: `${URL}/${inc.id}`,
      payload: { status: 'closed' },
    });
    expect(patch.statusCode).toBe(404);
    expect((await h.call('adminB', { method: 'DELETE', url: `${URL}/${inc.id}` })).statusCode).toBe(404);
    // A's incident numbers do not collide with B's: each tenant counts its own.
    const inB = await h.call('adminB', {
      method: 'POST',
      url: URL,
      payload: { title: 'b', incidentNumber: inc.incidentNumber },
    });
    expect(inB.statusCode).toBe(201);
    const still = await h.call('adminA', { method: 'GET', url: `${URL}/${inc.id}` });
    expect(still.json()).toMatchObject({ status: 'open', title: inc.title });
  });

  it('writes exactly one audit row per change, in the same tenant', async () => {
    const beforeA = (await h.auditRows(h.tenantA.id)).length;
    const beforeB = (await h.auditRows(h.tenantB.id)).length;
    const inc = await open({ description: 'x'.repeat(2000) });
    const patched = await h.call('analystA', {
      method: 'PATCH',
      url: `${URL}/${inc.id}`,
      payload: { status: 'contained' },
    });
    expect(patched.statusCode).toBe(200);
    await h.call('adminA', { method: 'DELETE', url: `${URL}/${inc.id}` });
    const rows = (await h.auditRows(h.tenantA.id)).slice(beforeA);
    expect(rows.map((r) => [r.action, r.resourceType, r.resourceId])).toEqual([
      ['create', 'incident', inc.id],
      ['update', 'incident', inc.id],
      ['delete', 'incident', inc.id],
    ]);
    expect(rows[0]!.userId).toBe(h.userIds.analystA);
    expect(rows[2]!.userId).toBe(h.userIds.adminA);
    // Long text is shortened in the audit trail.
    expect(String((rows[0]!.details as { after: { description: string } }).after.description)).toMatch(
      /… \(2000 chars\)$/,
    );
    // The status change and what it derived, nothing else.
    const changed = Object.keys((rows[1]!.details as { after: object }).after).sort();
    expect(changed).toEqual(['respondedAt', 'status', 'timeToRespond', 'timeline']);
    expect(rows[1]!.details).toMatchObject({
      before: { status: 'open', respondedAt: null },
      after: { status: 'contained' },
    });
    expect((await h.auditRows(h.tenantB.id)).length).toBe(beforeB);
  });
});
