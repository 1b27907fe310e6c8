/**
 * /api/v1/logs: ingest NDJSON and JSON arrays, read back with filters, counts, top values, histograms, the
 * SQL console and the quarantine; permissions and tenant isolation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../helpers/db.ts';
import { createHttpFixture, type HttpFixture } from '../helpers/http.ts';

const URL = '/api/v1/logs';

describe.each(engines())('/api/v1/logs on %s', (engine) => {
  let h: HttpFixture;
  beforeAll(async () => {
    h = await createHttpFixture(engine);
  });
  afterAll(async () => h?.dispose());

  const ndjson = [
    '{"@timestamp":"2026-02-01T10:00:00Z","host":"web1","event":{"action":"login"},"user":"alice","source":{"ip":"203.0.113.7"},"message":"login ok"}',
    '{"@timestamp":"2026-02-01T10:05:00Z","host":"web1","user":"bob","source":{"ip":"203.0.113.8"},"message":"login failed"}',
    '{"@timestamp":"2026-02-01T11:00:00Z","host":"web2","user":"alice","message":"logout"}',
    '{"@timestamp": oops',
  ].join('\n');

  it('ingests NDJSON: each line an event or a quarantined record; a retry adds nothing', async () => {
    const r = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: ndjson,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ read: 4, accepted: 3, rejected: 1, duplicates: 0 });
    const again = await h.call('adminA', {
      method: 'POST',
      url: URL,
      payload: ndjson,
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(again.json()).toMatchObject({ read: 4, accepted: 0, duplicates: 3, rejected: 1 });
    const q = await h.call('viewerA', { method: 'GET', url: `${URL}/quarantine?runId=${r.json().runId}` });
    expect(q.statusCode).toBe(200);
    expect(q.json().items).toHaveLength(1);
    expect(q.json().items[0]).toMatchObject({
      reason: expect.stringMatching(/^invalid_json/),
      rawText: '{"@timestamp": oops',
    });
  });

  it('answers a bad format or time zone with a 400 naming it, and opens no run', async () => {
    const before = (await h.call('adminA', { method: 'GET', url: '/api/v1/ingestion-runs?kind=logs' })).json()
      .total;
    const tz = await h.call('adminA', {
      method: 'POST',
      url: `${URL}?timezone=Mars/Olympus`,
      payload: ['x'],
    });
    expect(tz.statusCode).toBe(400);
    expect(tz.json().errors).toEqual([expect.objectContaining({ path: 'timezone' })]);
    const fmt = await h.call('adminA', { method: 'POST', url: `${URL}?format=xml`, payload: ['x'] });
    expect(fmt.statusCode).toBe(400);
    const after = (await h.call('adminA', { method: 'GET', url: '/api/v1/ingestion-runs?kind=logs' })).json()
      .total;
    expect(after).toBe(before);
  });

  it('ingests a JSON array of objects and raw lines', async () => {
    const r = await h.call('analystA', {
      method: 'POST',
      url: URL,
      payload: [
        { '@timestamp': '2026-02-01T12:00:00Z', host: 'db1', message: 'checkpoint' },
        'Feb  1 12:00:01 db1 sshd[42]: Accepted publickey for carol from 198.51.100.4 port 50000 ssh2',
      ],
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ read: 2, accepted: 2, rejected: 0 });
  });

  it('reads back with time range, filters, text, count, top values and histogram', async () => {
    const page = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z&limit=2`,
    });
    expect(page.statusCode, page.body).toBe(200);
    expect(page.json().items).toHaveLength(2);
    expect(page.json().nextCursor).toEqual(expect.any(String));
    const next = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}?from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z&limit=10&cursor=${encodeURIComponent(page.json().nextCursor)}`,
    });
    const seen = [...page.json().items, ...next.json().items].map((e: { id: string }) => e.id);
    expect(new Set(seen).size).toBe(5);

    const count = await h.call('viewerA', { method: 'GET', url: `${URL}/count?filter=host:web1` });
    expect(count.json()).toEqual({ count: 2 });
    const text = await h.call('viewerA', { method: 'GET', url: `${URL}/count?text=LOGIN` });
    expect(text.json().count).toBe(2);
    const top = await h.call('viewerA', { method: 'GET', url: `${URL}/top?field=host&limit=3` });
    expect(top.json().items).toEqual(
      expect.arrayContaining([
        { value: 'web1', count: 2 },
        { value: 'db1', count: 2 },
        { value: 'web2', count: 1 },
      ]),
    );
    expect(top.json().items.at(-1)).toEqual({ value: 'web2', count: 1 });
    const hist = await h.call('viewerA', {
      method: 'GET',
      url: `${URL}/histogram?interval=1h&from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z`,
    });
    expect(hist.json().buckets).toEqual([
      { start: '2026-02-01T10:00:00.000Z', count: 2 },
      { start: '2026-02-01T11:00:00.000Z', count: 1 },
      { start: '2026-02-01T12:00:00.000Z', count: 2 },
    ]);
    const bad = await h.call('viewerA', { method: 'GET', url: `${URL}/top?field=password_hash` });
    expect(bad.statusCode).toBe(400);
  });

  it('runs read-only SQL over the tenant’s events and refuses everything else, audited', async () => {
    const ok = await h.call('viewerA', {
      method: 'POST',
      url: `${URL}/query`,
      payload: { sql: 'select host, count(*) as n from logs group by host order by n desc, host' },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().rows).toEqual([
      ['db1', 2],
      ['web1', 2],
      ['web2', 1],
    ]);
    for (const sql of [
      'delete from logs',
      'select 1; drop table logs',
      'select * from users',
      "select * from read_csv('/etc/passwd')",
    ]) {
      const r = await h.call('viewerA', { method: 'POST', url: `${URL}/query`, payload: { sql } });
      expect(r.statusCode, sql).toBe(400);
    }
    const rows = await h.auditRows(h.tenantA.id);
    expect(rows.some((r) => r.resourceType === 'log_query' && r.description?.includes('group by host'))).toBe(
      true,
    );
  });

  it('takes events from an API key holding logs:write, into the key’s own tenant only', async () => {
    h.auth.addKey('vgk_shipper', {
      id: '00000000-0000-4000-8000-00000000c0de',
      name: 'shipper',
      tenant: h.tenantB,
      permissions: new Set(['logs:write']),
    });
    const r = await h.app.inject({
      method: 'POST',
      url: URL,
      headers: { authorization: 'ApiKey vgk_shipper', 'content-type': 'application/x-ndjson' },
      payload: '{"@timestamp":"2026-02-02T00:00:00Z","host":"b1","message":"from the shipper"}\n',
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ accepted: 1 });
    const readWithKey = await h.app.inject({
      method: 'GET',
      url: `${URL}/count`,
      headers: { authorization: 'ApiKey vgk_shipper' },
    });
    expect(readWithKey.statusCode).toBe(403);
    const asB = await h.call('viewerB', { method: 'GET', url: `${URL}/count?text=shipper` });
    expect(asB.json()).toEqual({ count: 1 });
    const asA = await h.call('viewerA', { method: 'GET', url: `${URL}/count?text=shipper` });
    expect(asA.json()).toEqual({ count: 0 });
    // Invalid UTF-8 in an NDJSON line is quarantined, the next line still goes in.
    const mixed = await h.app.inject({
      method: 'POST',
      url: URL,
      headers: { authorization: 'ApiKey vgk_shipper', 'content-type': 'application/x-ndjson' },
      payload: Buffer.concat([
        Buffer.from('{"message":"bad \xff"}\n', 'latin1'),
        Buffer.from('{"@timestamp":"2026-02-02T00:00:01Z","message":"good é"}\n', 'utf8'),
      ]),
    });
    expect(mixed.json()).toMatchObject({
      read: 2,
      accepted: 1,
      rejected: 1,
      rejectReasons: { invalid_utf8: 1 },
    });
  });

  it('keeps tenants apart and checks permissions', async () => {
    const b = await h.call('viewerB', { method: 'GET', url: `${URL}/count?text=login` });
    expect(b.json()).toEqual({ count: 0 });
    const bq = await h.call('adminB', {
      method: 'POST',
      url: `${URL}/query`,
      payload: { sql: "select count(*) from logs where host in ('web1', 'web2', 'db1')" },
    });
    expect(bq.json().rows).toEqual([[0]]);
    const viewerWrite = await h.call('viewerA', { method: 'POST', url: URL, payload: [{ message: 'x' }] });
    expect(viewerWrite.statusCode).toBe(403);
    const anon = await h.call(null, { method: 'GET', url: `${URL}/count` });
    expect(anon.statusCode).toBe(401);
  });

  it('stores ?logsource= on each event as metadata.logsource; a bad value is a 400 and opens no run', async () => {
    const r = await h.call('adminA', {
      method: 'POST',
      url: `${URL}?logsource=product=macos,category=process_creation`,
      payload: [{ '@timestamp': '2026-02-03T00:00:00Z', host: 'mbp9', Image: '/usr/bin/osascript' }],
    });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ accepted: 1 });
    const got = await h.call('viewerA', { method: 'GET', url: `${URL}?filter=host:mbp9` });
    expect(got.json().items.map((e: { metadata: Record<string, unknown> }) => e.metadata.logsource)).toEqual([
      { product: 'macos', category: 'process_creation' },
    ]);
    const before = (await h.call('adminA', { method: 'GET', url: '/api/v1/ingestion-runs?kind=logs' })).json()
      .total;
    for (const bad of ['product=Mac OS', 'vendor=apple', 'macos']) {
      const res = await h.call('adminA', {
        method: 'POST',
        url: `${URL}?logsource=${encodeURIComponent(bad)}`,
        payload: [{ message: 'x' }],
      });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().errors).toEqual([expect.objectContaining({ path: 'logsource' })]);
    }
    const after = (await h.call('adminA', { method: 'GET', url: '/api/v1/ingestion-runs?kind=logs' })).json()
      .total;
    expect(after).toBe(before);
  });
});
