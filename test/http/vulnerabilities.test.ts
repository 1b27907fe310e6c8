/**
 * /api/v1/vulnerabilities: global CVE data, read-only over HTTP, readable by every role and without a tenant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { CALLERS, createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/vulnerabilities';

describe.each(engines())('/api/v1/vulnerabilities on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
    const v = h.container.repos.vulnerabilities;
    await v.upsert({
      cveId: 'CVE-2024-3094',
      title: 'xz backdoor',
      cvssScore: 10,
      severity: 'critical',
      exploitedInTheWild: true,
      priorityScore: 0.99,
      vendors: ['tukaani'],
      kevDateAdded: '2024-03-29',
      publishedAt: new Date('2024-03-29T17:15:00Z'),
    });
    await v.upsert({
      cveId: 'CVE-2021-44228',
      title: 'Log4Shell',
      cvssScore: 10,
      severity: 'critical',
      priorityScore: 0.98,
      vendors: ['apache'],
      exploitedInTheWild: true,
    });
    await v.upsert({
      cveId: 'CVE-2023-0001',
      title: 'Minor thing',
      cvssScore: 3.1,
      severity: 'low',
      priorityScore: 0.1,
      vendors: ['acme'],
    });
    await v.upsert({ cveId: 'CVE-2023-0002', title: 'Unscored', severity: 'unknown' });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it('lists by priority (unscored last) with filters and paging', async () => {
    const all = await h.call('viewerA', { method: 'GET', url: URL });
    expect(all.statusCode).toBe(200);
    expect(all.json()).toMatchObject({ total: 4, limit: 50, offset: 0 });
    expect(all.json().items.map((v: { cveId: string }) => v.cveId)).toEqual([
      'CVE-2024-3094',
      'CVE-2021-44228',
      'CVE-2023-0001',
      'CVE-2023-0002',
    ]);
    const kev = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?exploited=true&minCvss=9&sort=cve_id`,
    });
    expect(kev.json().items.map((v: { cveId: string }) => v.cveId)).toEqual([
      'CVE-2021-44228',
      'CVE-2024-3094',
    ]);
    const vendor = await h.call('viewerA', { method: 'GET', url: `${URL}?vendor=acme` });
    expect(vendor.json()).toMatchObject({ total: 1, items: [{ cveId: 'CVE-2023-0001' }] });
    const q = await h.call('viewerA', { method: 'GET', url: `${URL}?q=log4&limit=1` });
    expect(q.json()).toMatchObject({ total: 1, limit: 1, items: [{ title: 'Log4Shell' }] });
    const page = await h.call('viewerA', { method: 'GET', url: `${URL}?limit=2&offset=2` });
    expect(page.json().items.map((v: { cveId: string }) => v.cveId)).toEqual([
      'CVE-2023-0001',
      'CVE-2023-0002',
    ]);
  });

  it('gets one by CVE id, in any case, with dates as ISO strings', async () => {
    const r = await h.call('viewerA', { method: 'GET', url: `${URL}/cve-2024-3094` });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({
      cveId: 'CVE-2024-3094',
      title: 'xz backdoor',
      exploitedInTheWild: true,
      kevDateAdded: '2024-03-29',
      publishedAt: '2024-03-29T17:15:00.000Z',
      vendors: ['tukaani'],
    });
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/CVE-1999-0001` })).statusCode).toBe(404);
  });

  it('names each invalid parameter', async () => {
    const id = await h.call('viewerA', { method: 'GET', url: `${URL}/not-a-cve` });
    expect(id.statusCode).toBe(400);
    expect(id.json().errors).toEqual([{ path: 'cveId', message: 'expected CVE-YYYY-NNNN' }]);
    const q = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?severity=apocalyptic&minCvss=11&exploited=maybe`,
    });
    expect(q.statusCode).toBe(400);
    expect((q.json().errors as { path: string }[]).map((e) => e.path).sort()).toEqual([
      'exploited',
      'minCvss',
      'severity',
    ]);
    const range = await h.call('viewerA', { method: 'GET', url: `${URL}?minCvss=8&maxCvss=2` });
    expect(range.statusCode).toBe(400);
    expect(range.json().errors).toEqual([{ path: 'maxCvss', message: 'must not be below minCvss' }]);
  });

  it('is readable by every role of every tenant and by an sre without a tenant; an API key needs the permission', async () => {
    for (const who of CALLERS) {
      const r = await h.call(who, { method: 'GET', url: `${URL}/CVE-2021-44228` });
      expect(r.statusCode, who).toBe(who === 'apiKeyA' ? 403 : 200);
    }
    expect((await h.call(null, { method: 'GET', url: URL })).statusCode).toBe(401);
  });

  it('is read-only: no write routes', async () => {
    for (const method of ['POST', 'PATCH', 'DELETE'] as const) {
      const r = await h.call('adminA', {
        method,
        url: method === 'POST' ? URL : `${URL}/CVE-2021-44228`,
        ...(method === 'DELETE' ? {} : { payload: { title: 'pwned' } }),
      });
      expect(r.statusCode, method).toBe(404);
    }
    expect((await h.call('viewerA', { method: 'GET', url: `${URL}/CVE-2021-44228` })).json().title).toBe(
      'Log4Shell',
    );
  });
});
