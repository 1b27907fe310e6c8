/**
 * The one behavioural suite every LogStore passes (DuckDB in duckdb.test.ts, PostgreSQL in postgres.test.ts).
 * Tests use fresh tenant ids, so they share one store per file and may run in any order.
 *
 * Conventions the stores share (and this suite pins):
 * - seq is per store, increasing in commit order; a batch's rows get consecutive-in-order seqs;
 * - `quarantined` counts the batch's quarantine rows (stored now, or already stored by an earlier run: rows
 *   are kept once per (tenant, id));
 * - histogram buckets are aligned on the Unix epoch (start = floor(epoch / interval) * interval);
 * - topValues orders by count desc, then value asc;
 * - console errors, like every bad argument, are ValidationErrors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import type { LogEventInput, LogEventRow, QuarantineInput } from '../../src/domain/log-event.ts';
import type { LogStore } from '../../src/logstore/log-store.ts';

export interface OpenedStore {
  store: LogStore;
  dispose(): Promise<void>;
}

const T0 = Date.parse('2024-03-01T00:00:00.000Z');

export function makeEvent(tenantId: string, i: number, over: Partial<LogEventInput> = {}): LogEventInput {
  const user = ['root', 'alice', 'bob'][i % 3]!;
  return {
    tenantId,
    id: uuidv7(T0 + i),
    timestamp: new Date(T0 + i * 10_000),
    raw: `<38>Mar  1 00:00:00 web-${i % 2} sshd[${1000 + (i % 5)}]: ${i % 4 === 0 ? 'Failed password' : 'Accepted publickey'} for ${user}`,
    appname: i % 2 === 0 ? 'sshd' : 'cron',
    file: '/var/log/auth.log',
    host: `web-${i % 2}`,
    hostname: `web-${i % 2}.example`,
    message: `${i % 4 === 0 ? 'Failed password' : 'Accepted publickey'} for ${user} #${i}`,
    procid: 1000 + (i % 5),
    sourceType: 'syslog_rfc3164',
    normalized: { user: { name: user }, outcome: i % 4 === 0 ? 'failure' : 'success', n: i },
    metadata: { run: 'r1', offset: i * 80 },
    sourceId: null,
    original: null,
    ...over,
  };
}

export function makeEvents(tenantId: string, n: number, start = 0): LogEventInput[] {
  return Array.from({ length: n }, (_, k) => makeEvent(tenantId, start + k));
}

export function makeQuarantine(
  tenantId: string,
  position: number,
  over: Partial<QuarantineInput> = {},
): QuarantineInput {
  const raw = new Uint8Array([0xff, 0xfe, 0x41, position % 256]);
  return {
    tenantId,
    id: uuidv7(),
    runId: null,
    sourceId: null,
    input: '/var/log/bad.log',
    position,
    line: position + 1,
    reason: 'invalid_utf8',
    raw,
    rawSize: raw.byteLength,
    ...over,
  };
}

async function expectValidation(p: Promise<unknown>, pattern?: RegExp): Promise<ValidationError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a ValidationError').toBeInstanceOf(ValidationError);
  if (pattern) expect((err as Error).message).toMatch(pattern);
  return err as ValidationError;
}

function ids(rows: LogEventRow[]): string[] {
  return rows.map((r) => r.id);
}

export function describeLogStore(name: string, open: () => Promise<OpenedStore>): void {
  describe(`LogStore contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: LogStore;

    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(async () => {
      await opened?.dispose();
    });

    /** Two tenants with overlapping data: B holds the same events (same ids, same content) as A, and more. */
    async function twoTenants(n = 40) {
      const a = uuidv7();
      const b = uuidv7();
      const evA = makeEvents(a, n);
      const evB = evA.map((e) => ({ ...e, tenantId: b }));
      const extraB = makeEvents(b, 10, 10_000);
      await store.append({ tenantId: a, events: evA, quarantine: [makeQuarantine(a, 1)] });
      await store.append({
        tenantId: b,
        events: [...evB, ...extraB],
        quarantine: [makeQuarantine(b, 1), makeQuarantine(b, 2)],
      });
      return { a, b, evA, nB: n + 10 };
    }

    describe('append', () => {
      it('stores events and reads them back with every field', async () => {
        const t = uuidv7();
        const src = uuidv7();
        const ev = makeEvent(t, 1, {
          sourceId: src,
          original: { EventID: 4625, nested: { a: [1, 2] } },
          normalized: { user: { name: 'alice' }, src_ip: '10.0.0.1' },
          procid: null,
          appname: null,
        });
        const r = await store.append({ tenantId: t, events: [ev], quarantine: [] });
        expect(r).toMatchObject({ inserted: 1, duplicates: 0, quarantined: 0 });
        expect(r.lastSeq).toBeGreaterThan(0);
        const page = await store.fetchLogs(t);
        expect(page.items).toHaveLength(1);
        const row = page.items[0]!;
        expect(row).toMatchObject({
          tenantId: t,
          id: ev.id,
          raw: ev.raw,
          appname: null,
          file: ev.file,
          host: ev.host,
          hostname: ev.hostname,
          message: ev.message,
          procid: null,
          sourceType: 'syslog_rfc3164',
          normalized: ev.normalized,
          metadata: ev.metadata,
          sourceId: src,
          original: ev.original,
          seq: r.lastSeq,
        });
        expect(row.timestamp.toISOString()).toBe(ev.timestamp.toISOString());
        expect(row.ingestionTime).toBeInstanceOf(Date);
      });

      it('is idempotent: the same ids again are counted as duplicates and stored once', async () => {
        const t = uuidv7();
        const events = makeEvents(t, 25);
        const first = await store.append({ tenantId: t, events, quarantine: [] });
        expect(first).toMatchObject({ inserted: 25, duplicates: 0 });
        const again = await store.append({ tenantId: t, events, quarantine: [] });
        expect(again).toEqual({ inserted: 0, duplicates: 25, quarantined: 0, lastSeq: 0 });
        // Half old, half new; and an id twice within one batch.
        const fresh = makeEvents(t, 5, 100);
        const mixed = [...events.slice(0, 10), ...fresh, fresh[0]!];
        const third = await store.append({ tenantId: t, events: mixed, quarantine: [] });
        expect(third).toMatchObject({ inserted: 5, duplicates: 11 });
        expect(await store.count(t)).toBe(30);
      });

      it('dedupes per tenant: the same id under another tenant is a new event', async () => {
        const a = uuidv7();
        const b = uuidv7();
        const events = makeEvents(a, 5);
        await store.append({ tenantId: a, events, quarantine: [] });
        const r = await store.append({
          tenantId: b,
          events: events.map((e) => ({ ...e, tenantId: b })),
          quarantine: [],
        });
        expect(r.inserted).toBe(5);
        expect(await store.count(a)).toBe(5);
        expect(await store.count(b)).toBe(5);
      });

      it('assigns seq increasing in commit order, also for concurrent appends', async () => {
        const t = uuidv7();
        const batches = Array.from({ length: 6 }, (_, k) => makeEvents(t, 20, k * 100));
        const results = await Promise.all(
          batches.map((events) => store.append({ tenantId: t, events, quarantine: [] })),
        );
        for (const r of results) expect(r.inserted).toBe(20);
        const rows = await store.readSince(t, 0, 1000);
        expect(rows).toHaveLength(120);
        const seqs = rows.map((r) => r.seq);
        expect([...seqs].sort((x, y) => x - y)).toEqual(seqs);
        expect(new Set(seqs).size).toBe(120);
        // Each batch's rows are contiguous in seq order (batches do not interleave) and end at lastSeq.
        const batchOf = new Map<string, number>();
        batches.forEach((events, k) => events.forEach((e) => batchOf.set(e.id, k)));
        const order = rows.map((r) => batchOf.get(r.id)!);
        const runs = order.filter((k, i) => i === 0 || order[i - 1] !== k);
        expect(runs).toHaveLength(6);
        results.forEach((r, k) => {
          const last = rows.filter((row) => batchOf.get(row.id) === k).at(-1)!;
          expect(r.lastSeq).toBe(last.seq);
        });
        expect(await store.maxSeq(t)).toBe(Math.max(...results.map((r) => r.lastSeq)));
        // A later append gets higher seqs than everything before.
        const later = await store.append({ tenantId: t, events: makeEvents(t, 1, 9999), quarantine: [] });
        expect(later.lastSeq).toBeGreaterThan(Math.max(...seqs));
      });

      it('commits events, quarantine and checkpoint together, and refuses a bad batch whole', async () => {
        const t = uuidv7();
        const cp = {
          tenantId: t,
          streamKey: 'stream-1',
          offset: 800,
          records: 10,
          path: '/var/log/auth.log',
          firstSeen: new Date(T0),
          chain: 'a'.repeat(64),
          headHash: 'b'.repeat(64),
        };
        const r = await store.append({
          tenantId: t,
          events: makeEvents(t, 9),
          quarantine: [makeQuarantine(t, 400)],
          checkpoint: cp,
        });
        expect(r).toMatchObject({ inserted: 9, quarantined: 1 });
        expect(await store.getCheckpoint(t, 'stream-1')).toMatchObject({ ...cp, firstSeen: new Date(T0) });
        expect(await store.getCheckpoint(t, 'other')).toBeUndefined();

        const next = { ...cp, offset: 1600, records: 20, chain: 'c'.repeat(64) };
        await store.append({ tenantId: t, events: makeEvents(t, 10, 9), quarantine: [], checkpoint: next });
        const saved = await store.getCheckpoint(t, 'stream-1');
        expect(saved).toMatchObject({
          offset: 1600,
          records: 20,
          chain: 'c'.repeat(64),
          headHash: 'b'.repeat(64),
        });
        expect(saved!.updatedAt).toBeInstanceOf(Date);

        // An event of another tenant (or with no valid time) spoils the batch: nothing of it is stored.
        const bad = [...makeEvents(t, 5, 50), makeEvent(uuidv7(), 55)];
        await expect(
          store.append({
            tenantId: t,
            events: bad,
            quarantine: [makeQuarantine(t, 900)],
            checkpoint: { ...cp, offset: 9999 },
          }),
        ).rejects.toThrow();
        const badTime = [...makeEvents(t, 5, 60), makeEvent(t, 65, { timestamp: new Date(NaN) })];
        await expect(
          store.append({ tenantId: t, events: badTime, quarantine: [], checkpoint: { ...cp, offset: 9999 } }),
        ).rejects.toThrow();
        expect(await store.count(t)).toBe(19);
        expect((await store.listQuarantine(t)).total).toBe(1);
        expect(await store.getCheckpoint(t, 'stream-1')).toMatchObject({ offset: 1600 });
      });

      it('appends an empty batch (a checkpoint alone)', async () => {
        const t = uuidv7();
        const r = await store.append({
          tenantId: t,
          events: [],
          quarantine: [],
          checkpoint: {
            tenantId: t,
            streamKey: 'k',
            offset: 5,
            records: 1,
            path: null,
            firstSeen: new Date(T0),
          },
        });
        expect(r).toEqual({ inserted: 0, duplicates: 0, quarantined: 0, lastSeq: 0 });
        expect(await store.getCheckpoint(t, 'k')).toMatchObject({ offset: 5, path: null });
      });
    });

    describe('fetchLogs', () => {
      it('pages newest first with a cursor: pages disjoint and complete, ties on timestamp broken by id', async () => {
        const t = uuidv7();
        // 30 events, 3 per timestamp, so ties straddle page boundaries.
        const events = Array.from({ length: 30 }, (_, i) =>
          makeEvent(t, i, { timestamp: new Date(T0 + Math.floor(i / 3) * 1000) }),
        );
        await store.append({ tenantId: t, events, quarantine: [] });
        const seen: LogEventRow[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.fetchLogs(t, { limit: 7, ...(cursor ? { cursor } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(7);
          seen.push(...page.items);
          cursor = page.nextCursor ?? undefined;
          pages += 1;
        } while (cursor && pages < 20);
        expect(pages).toBe(5);
        expect(new Set(ids(seen)).size).toBe(30);
        const expected = [...events]
          .sort(
            (x, y) =>
              y.timestamp.getTime() - x.timestamp.getTime() || (y.id < x.id ? -1 : y.id > x.id ? 1 : 0),
          )
          .map((e) => e.id);
        expect(ids(seen)).toEqual(expected);
        // Exactly a full last page: no next cursor.
        const all = await store.fetchLogs(t, { limit: 30 });
        expect(all.items).toHaveLength(30);
        expect(all.nextCursor).toBeNull();
      });

      it('filters by time range (from inclusive, to exclusive), columns, lists and normalized keys', async () => {
        const t = uuidv7();
        await store.append({ tenantId: t, events: makeEvents(t, 40), quarantine: [] });
        const range = await store.fetchLogs(t, {
          from: new Date(T0 + 100_000),
          to: new Date(T0 + 200_000),
          limit: 100,
        });
        expect(range.items.map((r) => (r.timestamp.getTime() - T0) / 10_000).sort((x, y) => x - y)).toEqual([
          10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
        ]);
        const sshd = await store.fetchLogs(t, { filters: { appname: 'sshd' }, limit: 100 });
        expect(sshd.items).toHaveLength(20);
        expect(sshd.items.every((r) => r.appname === 'sshd')).toBe(true);
        const hosts = await store.count(t, { filters: { host: ['web-0', 'web-1'] } });
        expect(hosts).toBe(40);
        expect(await store.count(t, { filters: { procid: 1002 } })).toBe(8);
        expect(await store.count(t, { filters: { procid: '1002' } })).toBe(8);
        expect(await store.count(t, { filters: { 'normalized.user.name': 'alice' } })).toBe(13);
        expect(await store.count(t, { filters: { 'normalized.outcome': 'failure', appname: 'sshd' } })).toBe(
          10,
        );
        expect(await store.count(t, { filters: { 'normalized.n': 7 } })).toBe(1);
        expect(await store.count(t, { filters: { 'normalized.missing': 'x' } })).toBe(0);
        const byId = await store.fetchLogs(t, { filters: { id: sshd.items[0]!.id } });
        expect(ids(byId.items)).toEqual([sshd.items[0]!.id]);
      });

      it('matches text case-insensitively in raw (and a structured record’s message), LIKE wildcards literal', async () => {
        const t = uuidv7();
        const json = { sourceType: 'json' };
        await store.append({
          tenantId: t,
          events: [
            makeEvent(t, 1, {
              ...json,
              message: 'Failed PASSWORD for root',
              raw: '{"msg":"Failed PASSWORD\\u0020for root"}',
            }),
            makeEvent(t, 2, { message: 'ok', raw: 'sshd: failed password for bob' }),
            makeEvent(t, 3, { message: 'disk 100% full', raw: 'kernel: disk 100% full' }),
            makeEvent(t, 4, { message: 'disk 1000 full', raw: 'kernel: disk 1000 full' }),
            makeEvent(t, 5, { ...json, message: 'a_b', raw: 'r5' }),
            makeEvent(t, 6, { ...json, message: 'axb', raw: 'r6' }),
            makeEvent(t, 7, { message: null, raw: 'path C:\\temp' }),
            // A text line's message is not searched apart from its raw line.
            makeEvent(t, 8, { message: 'failed password (message only)', raw: 'r8' }),
          ],
          quarantine: [],
        });
        expect(await store.count(t, { text: 'failed password' })).toBe(2);
        expect(await store.count(t, { text: '100%' })).toBe(1);
        expect(await store.count(t, { text: 'a_b' })).toBe(1);
        expect(await store.count(t, { text: 'c:\\temp' })).toBe(1);
        expect(await store.count(t, { text: "'; DROP TABLE logs; --" })).toBe(0);
        expect(await store.count(t, { text: '' })).toBe(8);
      });

      it('fetchRecent returns the last N minutes only', async () => {
        const t = uuidv7();
        const now = Date.now();
        await store.append({
          tenantId: t,
          events: [
            makeEvent(t, 1, { timestamp: new Date(now - 2 * 60_000) }),
            makeEvent(t, 2, { timestamp: new Date(now - 20 * 60_000) }),
            makeEvent(t, 3, { timestamp: new Date(now - 3 * 3600_000) }),
          ],
          quarantine: [],
        });
        expect((await store.fetchRecent(t, 5)).items).toHaveLength(1);
        expect((await store.fetchRecent(t, 60)).items).toHaveLength(2);
        expect((await store.fetchRecent(t, 120, { filters: { appname: 'cron' } })).items).toHaveLength(1);
        await expectValidation(store.fetchRecent(t, 0));
        await expectValidation(store.fetchRecent(t, -5));
      });

      it('refuses unknown fields, bad values, bad limits and forged cursors with a ValidationError', async () => {
        const t = uuidv7();
        await expectValidation(store.fetchLogs(t, { filters: { tenant_id: 'x' } }), /tenant_id/);
        await expectValidation(
          store.fetchLogs(t, { filters: { 'message; DROP TABLE x': 'x' } }),
          /DROP TABLE/,
        );
        await expectValidation(store.count(t, { filters: { 'normalized.a b': 'x' } }), /normalized\.a b/);
        await expectValidation(store.count(t, { filters: { "normalized.a')--": 'x' } }));
        await expectValidation(store.count(t, { filters: { procid: 'abc' } }), /procid/);
        await expectValidation(store.count(t, { filters: { id: 'not-a-uuid' } }), /id/);
        await expectValidation(store.count(t, { filters: { appname: [] } }));
        await expectValidation(store.fetchLogs(t, { limit: 0 }));
        await expectValidation(store.fetchLogs(t, { limit: 10_001 }));
        await expectValidation(store.fetchLogs(t, { cursor: 'garbage' }), /cursor/);
        await expectValidation(
          store.fetchLogs(t, { cursor: Buffer.from('{"v":1,"t":"x","i":"y"}').toString('base64url') }),
          /cursor/,
        );
        await expectValidation(store.fetchLogs(t, { cursor: "'; DROP TABLE logs; --" }), /cursor/);
        await expectValidation(store.fetchLogs(t, { from: new Date(NaN) }));
        await expectValidation(store.fetchLogs('not-a-tenant'));
      });
    });

    describe('aggregates', () => {
      it('count, topValues and histogram honour filters and the time range', async () => {
        const t = uuidv7();
        await store.append({ tenantId: t, events: makeEvents(t, 40), quarantine: [] });
        expect(await store.count(t)).toBe(40);
        expect(await store.count(t, { from: new Date(T0 + 200_000) })).toBe(20);

        expect(await store.topValues(t, 'appname')).toEqual([
          { value: 'cron', count: 20 },
          { value: 'sshd', count: 20 },
        ]);
        expect(await store.topValues(t, 'normalized.user.name', {}, 2)).toEqual([
          { value: 'root', count: 14 },
          { value: 'alice', count: 13 },
        ]);
        expect(await store.topValues(t, 'procid', { filters: { appname: 'sshd' } }, 1)).toEqual([
          { value: '1000', count: 4 },
        ]);
        expect(await store.topValues(t, 'source_id')).toEqual([{ value: null, count: 40 }]);
        await expectValidation(store.topValues(t, 'appname', {}, 0));
        await expectValidation(store.topValues(t, 'appname', {}, 1001));
        await expectValidation(store.topValues(t, 'raw'), /raw/);

        // Events every 10 s from T0 (epoch-aligned): 60 s buckets hold 6 each, 40 events -> 7 buckets.
        const h = await store.histogram(t, 60);
        expect(h.map((b) => b.count)).toEqual([6, 6, 6, 6, 6, 6, 4]);
        expect(h[0]!.start.toISOString()).toBe('2024-03-01T00:00:00.000Z');
        expect(h[1]!.start.toISOString()).toBe('2024-03-01T00:01:00.000Z');
        const hf = await store.histogram(t, 3600, { filters: { appname: 'sshd' } });
        expect(hf).toEqual([{ start: new Date(T0), count: 20 }]);
        // Empty buckets are left out.
        const sparse = uuidv7();
        await store.append({
          tenantId: sparse,
          events: [
            makeEvent(sparse, 1, { timestamp: new Date(T0) }),
            makeEvent(sparse, 2, { timestamp: new Date(T0 + 5 * 3600_000) }),
          ],
          quarantine: [],
        });
        expect((await store.histogram(sparse, 3600)).map((b) => b.start.getTime() - T0)).toEqual([
          0,
          5 * 3600_000,
        ]);
        await expectValidation(store.histogram(t, 0), /interval/i);
        await expectValidation(store.histogram(t, 31 * 86400 + 1), /interval/i);
        await expectValidation(store.histogram(t, 1.5), /interval/i);
      });
    });

    describe('readSince and quarantine', () => {
      it('readSince pages in seq order after a watermark', async () => {
        const t = uuidv7();
        await store.append({ tenantId: t, events: makeEvents(t, 15), quarantine: [] });
        const first = await store.readSince(t, 0, 10);
        expect(first).toHaveLength(10);
        const rest = await store.readSince(t, first.at(-1)!.seq, 10);
        expect(rest).toHaveLength(5);
        expect(new Set([...ids(first), ...ids(rest)]).size).toBe(15);
        expect(await store.readSince(t, rest.at(-1)!.seq, 10)).toEqual([]);
        expect(await store.maxSeq(t)).toBe(rest.at(-1)!.seq);
        expect(await store.maxSeq(uuidv7())).toBe(0);
      });

      it('lists quarantined records newest first with their raw bytes, by run, once per id', async () => {
        const t = uuidv7();
        const run = uuidv7();
        const q1 = makeQuarantine(t, 10, { runId: run, reason: 'invalid_json' });
        const q2 = makeQuarantine(t, 20, { runId: run, reason: 'parse_error: bad header' });
        await store.append({ tenantId: t, events: [], quarantine: [q1] });
        await new Promise((r) => setTimeout(r, 5));
        const r = await store.append({ tenantId: t, events: [], quarantine: [q2, makeQuarantine(t, 30)] });
        expect(r.quarantined).toBe(2);
        const all = await store.listQuarantine(t);
        expect(all.total).toBe(3);
        expect(all.items[all.items.length - 1]).toMatchObject({
          id: q1.id,
          runId: run,
          input: '/var/log/bad.log',
          position: 10,
          line: 11,
          reason: 'invalid_json',
          rawSize: 4,
        });
        expect(Array.from(all.items.at(-1)!.raw)).toEqual(Array.from(q1.raw));
        expect(all.items.at(-1)!.receivedAt).toBeInstanceOf(Date);
        const byRun = await store.listQuarantine(t, { runId: run });
        expect(byRun.total).toBe(2);
        const paged = await store.listQuarantine(t, { limit: 1, offset: 2 });
        expect(paged).toMatchObject({ total: 3 });
        expect(paged.items.map((i) => i.id)).toEqual([q1.id]);
        // Re-ingesting the same input quarantines nothing twice.
        const again = await store.append({ tenantId: t, events: [], quarantine: [q1, q2] });
        expect(again.quarantined).toBe(2);
        expect((await store.listQuarantine(t)).total).toBe(3);
      });
    });

    describe('purge', () => {
      it("deletes the tenant's events and quarantine rows before the date, and no other tenant's", async () => {
        const { a, b, nB } = await twoTenants(40);
        const cut = new Date(T0 + 200_000);
        const r = await store.purge(a, cut);
        expect(r.events).toBe(20);
        expect(await store.count(a)).toBe(20);
        expect(await store.count(a, { to: cut })).toBe(0);
        expect(await store.count(b)).toBe(nB);
        // Quarantine rows are purged by receipt time.
        const q = await store.purge(a, new Date(Date.now() + 60_000));
        expect(q.quarantined).toBe(1);
        expect(q.events).toBe(20);
        expect((await store.listQuarantine(a)).total).toBe(0);
        expect((await store.listQuarantine(b)).total).toBe(2);
        expect(await store.count(b)).toBe(nB);
      });
    });

    describe('tenant isolation', () => {
      it('no read returns or counts another tenant’s rows', async () => {
        const { a, b, evA, nB } = await twoTenants(30);
        const pageA = await store.fetchLogs(a, { limit: 1000 });
        expect(pageA.items).toHaveLength(30);
        expect(pageA.items.every((r) => r.tenantId === a)).toBe(true);
        expect((await store.fetchLogs(b, { limit: 1000 })).items.every((r) => r.tenantId === b)).toBe(true);
        expect((await store.fetchRecent(a, 60 * 24 * 365 * 5, { limit: 1000 })).items).toHaveLength(30);
        expect(await store.count(a)).toBe(30);
        expect(await store.count(b)).toBe(nB);
        expect(await store.count(a, { filters: { id: evA[0]!.id } })).toBe(1);
        const topA = await store.topValues(a, 'host');
        expect(topA.reduce((s, v) => s + v.count, 0)).toBe(30);
        const hA = await store.histogram(a, 86400);
        expect(hA.reduce((s, v) => s + v.count, 0)).toBe(30);
        const sinceA = await store.readSince(a, 0, 1000);
        expect(sinceA).toHaveLength(30);
        expect(sinceA.every((r) => r.tenantId === a)).toBe(true);
        expect(await store.maxSeq(a)).toBeLessThan(await store.maxSeq(b));
        expect((await store.listQuarantine(a)).total).toBe(1);
        expect((await store.listQuarantine(b)).total).toBe(2);
        // A cursor of tenant B's page does not reveal B's rows to A.
        const pageB = await store.fetchLogs(b, { limit: 5 });
        const viaCursor = await store.fetchLogs(a, { cursor: pageB.nextCursor!, limit: 1000 });
        expect(viaCursor.items.every((r) => r.tenantId === a)).toBe(true);
        // Checkpoints too.
        await store.append({
          tenantId: b,
          events: [],
          quarantine: [],
          checkpoint: {
            tenantId: b,
            streamKey: 'shared-key',
            offset: 1,
            records: 1,
            path: null,
            firstSeen: new Date(T0),
          },
        });
        expect(await store.getCheckpoint(a, 'shared-key')).toBeUndefined();
        // The console.
        const c = await store.console(
          a,
          'SELECT count(*) AS n, count(DISTINCT tenant_id) AS tenants FROM logs',
        );
        expect(c.rows).toEqual([[30, 1]]);
        const tenants = await store.console(a, 'SELECT DISTINCT tenant_id FROM logs');
        expect(tenants.rows).toEqual([[a]]);
        const sub = await store.console(
          a,
          'SELECT count(*) FROM (SELECT * FROM logs UNION ALL SELECT * FROM logs) x WHERE x.tenant_id IS NOT NULL',
        );
        expect(sub.rows).toEqual([[60]]);
      });
    });

    describe('console', () => {
      let t: string;
      beforeAll(async () => {
        t = uuidv7();
        await store.append({ tenantId: t, events: makeEvents(t, 40), quarantine: [makeQuarantine(t, 1)] });
        const other = uuidv7();
        await store.append({ tenantId: other, events: makeEvents(other, 40, 500), quarantine: [] });
      });

      it('runs analytics: GROUP BY, window functions, JSON, CTEs, subqueries, ORDER BY and LIMIT', async () => {
        const g = await store.console(
          t,
          'SELECT appname, count(*) AS n FROM logs GROUP BY appname ORDER BY appname',
        );
        expect(g.columns.map((c) => c.name)).toEqual(['appname', 'n']);
        expect(g.rows).toEqual([
          ['cron', 20],
          ['sshd', 20],
        ]);
        expect(g.truncated).toBe(false);
        expect(g.elapsedMs).toBeGreaterThanOrEqual(0);

        const w = await store.console(
          t,
          `SELECT host, message, row_number() OVER (PARTITION BY host ORDER BY "timestamp" DESC) AS rn
           FROM logs ORDER BY host, rn LIMIT 3`,
        );
        expect(w.rows.map((r) => r[2])).toEqual([1, 2, 3]);

        const j = await store.console(
          t,
          `SELECT normalized->>'outcome' AS outcome, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1`,
        );
        expect(j.rows).toEqual([
          ['failure', 10],
          ['success', 30],
        ]);

        const cte = await store.console(
          t,
          `WITH failures AS (SELECT * FROM logs WHERE message LIKE 'Failed%'),
                per_host AS (SELECT host, count(*) AS n FROM failures GROUP BY host)
           SELECT host, n FROM per_host WHERE n > (SELECT min(n) - 1 FROM per_host) ORDER BY n DESC, host`,
        );
        expect(cte.rows).toEqual([['web-0', 10]]);

        const sub = await store.console(
          t,
          `SELECT count(*) FROM logs WHERE procid IN (SELECT procid FROM logs WHERE appname = 'sshd')
             AND EXISTS (SELECT 1 FROM logs l2 WHERE l2.id = logs.id)`,
        );
        expect(sub.rows).toEqual([[40]]);

        const ordered = await store.console(
          t,
          'SELECT "timestamp", seq FROM logs ORDER BY "timestamp" DESC LIMIT 2',
        );
        expect(ordered.rows).toHaveLength(2);
        expect(typeof ordered.rows[0]![0]).toBe('string');
        expect(new Date(ordered.rows[0]![0] as string).getTime()).toBe(T0 + 39 * 10_000);
        expect(typeof ordered.rows[0]![1]).toBe('number');

        const cols = await store.console(t, 'SELECT * FROM logs LIMIT 1');
        expect(cols.columns.map((c) => c.name)).toEqual(
          expect.arrayContaining([
            'tenant_id',
            'id',
            'seq',
            'timestamp',
            'raw',
            'message',
            'normalized',
            'metadata',
            'original',
          ]),
        );
      });

      it('caps the rows and says so', async () => {
        const r = await store.console(t, 'SELECT id FROM logs', { maxRows: 10 });
        expect(r.rows).toHaveLength(10);
        expect(r.truncated).toBe(true);
        const exact = await store.console(t, 'SELECT id FROM logs', { maxRows: 40 });
        expect(exact.rows).toHaveLength(40);
        expect(exact.truncated).toBe(false);
        const big = await store.console(t, 'SELECT a.id FROM logs a CROSS JOIN logs b CROSS JOIN logs c', {
          maxRows: 5,
        });
        expect(big.rows).toHaveLength(5);
        expect(big.truncated).toBe(true);
      });

      it('cancels a query at the time limit', async () => {
        const started = Date.now();
        await expectValidation(
          store.console(
            t,
            `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1000000000000)
             SELECT count(*) FROM r`,
            { timeoutMs: 500 },
          ),
          /time limit/i,
        );
        expect(Date.now() - started).toBeLessThan(8_000);
        // The store is fine afterwards.
        expect((await store.console(t, 'SELECT count(*) FROM logs')).rows).toEqual([[40]]);
      });

      const refused: [string, string, RegExp][] = [
        ['INSERT', `INSERT INTO logs (id) VALUES ('x')`, /SELECT|read-only/i],
        ['UPDATE', `UPDATE logs SET message = 'x'`, /SELECT|read-only/i],
        ['DELETE', `DELETE FROM logs`, /SELECT|read-only/i],
        ['DROP', `DROP TABLE logs`, /SELECT|read-only/i],
        ['CREATE TABLE AS', `CREATE TABLE stolen AS SELECT * FROM logs`, /SELECT|read-only/i],
        ['TRUNCATE', `TRUNCATE logs`, /SELECT|read-only/i],
        ['ALTER', `ALTER TABLE logs ADD COLUMN x INT`, /SELECT|read-only/i],
        ['GRANT', `GRANT SELECT ON logs TO public`, /SELECT|read-only|syntax/i],
        ['SET', `SET search_path = 'main'`, /SELECT|read-only/i],
        ['multiple statements', `SELECT 1; SELECT 2`, /statement/i],
        [
          'a write after a SELECT',
          `SELECT count(*) FROM logs; DELETE FROM logs`,
          /statement|SELECT|read-only/i,
        ],
        [
          'a statement after a comment',
          `SELECT 1 /* harmless */; DROP TABLE logs -- bye`,
          /statement|SELECT|read-only/i,
        ],
        ['another table', `SELECT * FROM log_quarantine`, /logs|not allowed/i],
        ['another table joined', `SELECT * FROM logs JOIN ingest_checkpoints c ON true`, /not allowed/i],
        [
          'another table in a subquery',
          `SELECT (SELECT count(*) FROM log_quarantine) FROM logs`,
          /not allowed/i,
        ],
        ['information_schema', `SELECT * FROM information_schema.tables`, /not allowed/i],
        ['pg_catalog', `SELECT * FROM pg_catalog.pg_class`, /not allowed/i],
        ['a schema-qualified logs', `SELECT * FROM public.logs`, /not allowed/i],
        ['a CTE shadowing logs', `WITH logs AS (SELECT 1 AS x) SELECT * FROM logs`, /logs/i],
        ['parameters', `SELECT * FROM logs WHERE tenant_id = $1`, /parameter/i],
        ['garbage', `SELEC * FRM logs`, /syntax|SELECT/i],
        ['an empty query', `   `, /empty|SELECT|statement/i],
      ];
      for (const [what, sql, pattern] of refused) {
        it(`refuses ${what}`, async () => {
          await expectValidation(store.console(t, sql), pattern);
        });
      }

      it('leaves the data untouched after the attacks', async () => {
        expect(await store.count(t)).toBe(40);
        expect((await store.listQuarantine(t)).total).toBe(1);
      });
    });

    it('detect returns the requested fields of each match as text, null when absent', async () => {
      const t = uuidv7();
      await store.append({ tenantId: t, events: makeEvents(t, 12), quarantine: [] });
      // outcome 'failure' is every 4th event: 0 (root), 4 (alice), 8 (bob).
      const node = {
        kind: 'string',
        field: { kind: 'json', column: 'normalized', paths: [['outcome']] },
        pattern: [{ kind: 'text', text: 'failure' }],
        cased: false,
      } as const;
      const r = await store.detect(
        t,
        [
          {
            key: 'with',
            node,
            fields: [
              { name: 'user', ref: { kind: 'json', column: 'normalized', paths: [['user', 'name']] } },
              { name: 'host', ref: { kind: 'column', column: 'host' } },
              { name: 'procid', ref: { kind: 'column', column: 'procid' } },
              { name: 'n', ref: { kind: 'json', column: 'normalized', paths: [['nope'], ['n']] } },
              { name: 'missing', ref: { kind: 'json', column: 'normalized', paths: [['nope']] } },
            ],
          },
          { key: 'without', node },
        ],
        { afterSeq: 0, uptoSeq: await store.maxSeq(t) },
      );
      expect(r.errors.size).toBe(0);
      expect(r.matches.get('with')!.events.map((e) => e.fields)).toEqual([
        { user: 'root', host: 'web-0', procid: '1000', n: '0', missing: null },
        { user: 'alice', host: 'web-0', procid: '1004', n: '4', missing: null },
        { user: 'bob', host: 'web-0', procid: '1003', n: '8', missing: null },
      ]);
      const without = r.matches.get('without')!;
      expect(without.count).toBe(3);
      expect(without.events.every((e) => e.fields === undefined)).toBe(true);
    });
  });
}
