/**
 * /api/v1/techniques: global ATT&CK data, read-only. Lists with filters, lookup by id in any case,
 * validation, permissions, and the same answers in every tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/techniques';

describe.each(engines())('/api/v1/techniques on %s', (engine) => {
  let h: HttpFixture;
  const base = `T${8000 + Math.floor(Math.random() * 1000)}`;
  const tag = `tech-${Date.now().toString(36)}`;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
    const t = h.container.repos.techniques;
    await t.upsert({
      techniqueId: base,
      name: `${tag} Command Interpreter`,
      tactics: ['execution'],
      platforms: ['linux', 'windows'],
    });
    await t.upsert({
      techniqueId: `${base}.001`,
      name: `${tag} PowerShell`,
      tactics: ['execution'],
      platforms: ['windows'],
    });
    await t.upsert({ techniqueId: `${base}.002`, name: `${tag} Old`, tactics: ['execution'], revoked: true });
    await t.upsert({ techniqueId: `${base}.003`, name: `${tag} Evasion`, tactics: ['defense-evasion'] });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('lists with filters, paging and sorting, hiding revoked ones by default', async () => {
    const all = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}` });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toMatchObject({ total: 3, limit: 50, offset: 0 });
    expect(all.json().items.map((t: { techniqueId: string }) => t.techniqueId)).toEqual([
      base,
      `${base}.001`,
      `${base}.003`,
    ]);
    expect(all.json().items[1]).toMatchObject({
      name: `${tag} PowerShell`,
      isSubtechnique: true,
      parentTechniqueId: base,
      platforms: ['windows'],
      revoked: false,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });

    const withRevoked = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?q=${tag}&includeRevoked=true`,
    });
    expect(withRevoked.json().total).toBe(4);
    const execution = await h.call('analystA', {
      method: 'GET',
      url: `${URL}?q=${tag}&tactic=execution&platform=windows&sort=-technique_id`,
    });
    expect(execution.json().items.map((t: { techniqueId: string }) => t.techniqueId)).toEqual([
      `${base}.001`,
      base,
    ]);
    const parents = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}&isSubtechnique=false` });
    expect(parents.json().items.map((t: { techniqueId: string }) => t.techniqueId)).toEqual([base]);
    const page = await h.call('viewerA', { method: 'GET', url: `${URL}?q=${tag}&limit=1&offset=2` });
    expect(page.json()).toMatchObject({
      total: 3,
      limit: 1,
      offset: 2,
      items: [{ techniqueId: `${base}.003` }],
    });
  });

  it('gets a technique by ATT&CK id in any case; the same in every tenant', async () => {
    const got = await h.call('viewerA', { method: 'GET', url: `${URL}/${base.toLowerCase()}.001` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ techniqueId: `${base}.001`, tactics: ['execution'] });
    const inB = await h.call('viewerB', { method: 'GET', url: `${URL}/${base}.001` });
    expect(inB.json()).toEqual(got.json());
    // A platform caller reads global data without choosing a tenant.
    expect((await h.call('sre', { method: 'GET', url: `${URL}/${base}` })).statusCode).toBe(200);
    const unknown = await h.call('viewerA', { method: 'GET', url: `${URL}/T0000.999` });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'not_found' });
  });

  it('names each invalid parameter', async () => {
    const bad = await h.call('viewerA', { method: 'GET', url: `${URL}/T12` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ path: 'techniqueId', message: expect.any(String) }]);
    const filter = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?isSubtechnique=perhaps&colour=red`,
    });
    expect(filter.statusCode).toBe(400);
    expect((filter.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'colour',
      'isSubtechnique',
    ]);
    const sort = await h.call('viewerA', { method: 'GET', url: `${URL}?sort=description` });
    expect(sort.statusCode).toBe(400);
    expect(sort.json().errors).toEqual([{ path: 'sort', message: expect.stringContaining('technique_id') }]);
  });

  it('requires credentials (401) and the techniques:read permission (403); there is nothing to write', async () => {
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
    expect((await h.call(null, { method: 'GET', url: `${URL}/${base}` })).statusCode).toBe(401);
    const key = await h.call('apiKeyA', { method: 'GET', url: URL });
    expect(key.statusCode).toBe(403);
    expect(key.json()).toMatchObject({
      code: 'forbidden',
      detail: expect.stringContaining('techniques:read'),
    });
    expect((await h.call('apiKeyA', { method: 'GET', url: `${URL}/${base}` })).statusCode).toBe(403);
    const before = (await h.auditRows(h.tenantA.id)).length;
    for (const method of ['POST', 'PATCH', 'DELETE'] as const) {
      const r = await h.call('adminA', { method, url: `${URL}/${base}`, payload: {} });
      expect(r.statusCode, method).toBe(404);
    }
    expect((await h.auditRows(h.tenantA.id)).length).toBe(before);
  });
});
