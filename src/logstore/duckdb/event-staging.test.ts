import { describe, expect, it } from 'vitest';
import type { LogEventInput } from '../../domain/log-event.ts';
import { randomUUID } from 'node:crypto';
import {
  BatchOrder,
  clusterKey,
  concatDuckDbEvents,
  DuckDbEventEncoder,
  encodeDuckDbEvents,
  FIELD_SEPARATOR,
  packEvent,
  PACKED_FIELDS,
  UuidIndex,
} from './event-staging.ts';

const T0 = Date.parse('2024-05-01T00:00:00Z');
const TENANT = '0190a000-0000-7000-8000-000000000001';

function win(i: number, channel: string, eventId: number, at = i): LogEventInput {
  return {
    tenantId: TENANT,
    id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    timestamp: new Date(T0 + at * 1000),
    raw: `event ${i}`,
    appname: null,
    file: null,
    host: 'ws1',
    hostname: 'ws1',
    message: null,
    procid: null,
    sourceType: 'windows_event',
    normalized: { channel, event_id: eventId, n: i },
    metadata: {},
    sourceId: null,
    original: null,
  };
}

const SYSMON = 'Microsoft-Windows-Sysmon/Operational';
const SECURITY = 'Security';

describe('clusterKey', () => {
  it('tells logsources apart by source type, channel, EventID and app name', () => {
    const a = win(1, SYSMON, 1);
    expect(clusterKey(a)).toBe(clusterKey(win(2, SYSMON, 1)));
    expect(clusterKey(a)).not.toBe(clusterKey(win(3, SYSMON, 3)));
    expect(clusterKey(a)).not.toBe(clusterKey(win(4, SECURITY, 1)));
    expect(clusterKey(a)).not.toBe(clusterKey({ ...a, sourceType: 'json' }));
    expect(clusterKey(a)).not.toBe(clusterKey({ ...a, appname: 'sysmon' }));
  });

  it('reads only scalar channel and EventID values (any JSON shape is accepted)', () => {
    const odd = { ...win(1, SYSMON, 1), normalized: { channel: { nested: true }, event_id: [4688] } };
    expect(clusterKey(odd)).toBe(clusterKey({ ...odd, normalized: {} }));
    expect(clusterKey({ ...odd, normalized: null as never })).toBe(clusterKey({ ...odd, normalized: {} }));
  });
});

/** The plan of a whole batch given at once. */
function planBatch(events: readonly LogEventInput[]) {
  const o = new BatchOrder();
  for (const e of events) o.add(e);
  return o.plan();
}

describe('BatchOrder', () => {
  it('clusters interleaved logsources in the order of their first event, time order within each', () => {
    // Sysmon 1, Security 4624, Sysmon 3 interleaved, given out of time order.
    const events = [
      win(0, SYSMON, 1, 5),
      win(1, SECURITY, 4624, 1),
      win(2, SYSMON, 3, 2),
      win(3, SYSMON, 1, 0),
      win(4, SECURITY, 4624, 4),
      win(5, SYSMON, 3, 3),
    ];
    const plan = planBatch(events);
    // Time order: 3 (t0, S1), 1 (t1, 4624), 2 (t2, S3), 5 (t3, S3), 4 (t4, 4624), 0 (t5, S1).
    expect(plan.order).toEqual([3, 0, 1, 4, 2, 5]);
    expect(plan.minMs).toBe(T0);
    expect(plan.maxMs).toBe(T0 + 5000);
  });

  it('keeps the earliest event of a repeated id, whatever its cluster', () => {
    const first = win(7, SYSMON, 1, 1);
    const again = { ...win(7, SECURITY, 4688, 0), raw: 'earlier copy' };
    const plan = planBatch([first, win(8, SYSMON, 1, 2), again]);
    expect(plan.order).toEqual([2, 1]);
  });

  it('leaves a single-logsource batch in time order, same-time events as given', () => {
    const events = [win(0, SYSMON, 1, 2), win(1, SYSMON, 1, 1), win(2, SYSMON, 1, 1)];
    expect(planBatch(events).order).toEqual([1, 2, 0]);
  });
});

describe('UuidIndex', () => {
  it('maps ids case-insensitively, as a Map of lower-cased ids would, through several growths', () => {
    const index = new UuidIndex();
    const reference = new Map<string, number>();
    const ids = Array.from({ length: 20_000 }, () => randomUUID());
    // Every id twice, the second time in upper case half the time, then a few new ones.
    const given = [
      ...ids,
      ...ids.map((id, i) => (i % 2 ? id.toUpperCase() : id)),
      randomUUID(),
      randomUUID(),
    ];
    for (const [i, id] of given.entries()) {
      const slot = index.find(id);
      const had = index.at(slot);
      expect(had).toBe(reference.get(id.toLowerCase()) ?? -1);
      if (had < 0 || i % 3 === 0) {
        index.put(slot, i);
        reference.set(id.toLowerCase(), i);
      }
    }
    expect(index.size).toBe(reference.size);
    expect([...index.values()]).toEqual([...reference.values()]);
  });

  it('tells apart ids that differ in one hex digit anywhere', () => {
    const base = '0190a000-0000-7000-8000-000000000000';
    const index = new UuidIndex();
    const variants: string[] = [];
    for (let i = 0; i < base.length; i++) {
      if (base[i] === '-') continue;
      variants.push(`${base.slice(0, i)}f${base.slice(i + 1)}`);
    }
    for (const [i, id] of [base, ...variants].entries()) index.put(index.find(id), i);
    expect(index.size).toBe(33);
    for (const [i, id] of [base, ...variants].entries()) expect(index.at(index.find(id))).toBe(i);
  });
});

describe('DuckDbEventEncoder', () => {
  it('gives what encoding the whole batch at once gives, and starts empty after take()', () => {
    const events = [
      win(0, SYSMON, 1, 5),
      win(1, SECURITY, 4624, 1),
      win(2, SYSMON, 3, 2),
      { ...win(1, SECURITY, 4624, 0), raw: 'earlier copy' },
      win(4, SECURITY, 4624, 4),
      { ...win(5, SYSMON, 3, 3), message: 'nul \u0000 inside' },
    ];
    const encoder = new DuckDbEventEncoder(TENANT);
    for (const e of events) encoder.add(e);
    expect(encoder.size).toBe(6);
    const batch = encoder.take();
    expect(batch).toEqual(encodeDuckDbEvents(TENANT, events));
    expect(batch.given).toBe(6);
    expect(batch.count).toBe(5);
    expect(batch.unpacked.map((u) => u.event.id)).toEqual([events[5]!.id]);
    expect(batch.p.some((p) => p.includes('earlier copy'))).toBe(true);
    expect(encoder.size).toBe(0);
    encoder.add(win(9, SYSMON, 1));
    const next = encoder.take();
    expect(next.given).toBe(1);
    expect(next.ord).toEqual([1]);
  });

  it('refuses an event of another tenant or with a malformed id when it is added', () => {
    const encoder = new DuckDbEventEncoder(TENANT);
    expect(() =>
      encoder.add({ ...win(1, SYSMON, 1), tenantId: '0190a000-0000-7000-8000-000000000002' }),
    ).toThrow(/another tenant/);
    expect(() => encoder.add({ ...win(1, SYSMON, 1), id: 'not-a-uuid' })).toThrow(/not a UUID/);
    expect(() => encoder.add({ ...win(2, SYSMON, 1), normalized: { n: 1n } })).toThrow(TypeError);
    expect(encoder.size).toBe(0);
    encoder.add(win(3, SYSMON, 1));
    expect(encoder.take()).toEqual(encodeDuckDbEvents(TENANT, [win(3, SYSMON, 1)]));
  });
});

describe('packEvent metadata', () => {
  const metadataOf = (metadata: Record<string, unknown>) =>
    packEvent({ ...win(1, SYSMON, 1), metadata })!.packed.split(FIELD_SEPARATOR)[
      PACKED_FIELDS.indexOf('metadata')
    ];

  it('writes the JSON.stringify text for the usual {run, offset, line} and for everything else', () => {
    const run = '0190a000-0000-7000-8000-0000000000ff';
    for (const m of [
      { run, offset: 0, line: 1 },
      { run, offset: 2 ** 53 - 1, line: -0 },
      { run, offset: 1.5, line: 1 },
      { run: 'a "quoted" \\ run', offset: 1, line: 2 },
      { offset: 1, run, line: 2 },
      { run, offset: 1, line: null },
      { run, offset: 1, line: 2, notes: ['x'] },
      { run, offset: 1 },
      {},
    ]) {
      expect(metadataOf(m)).toBe(JSON.stringify(m));
    }
  });
});

describe('concatDuckDbEvents', () => {
  it('joins parts in order, numbering ordinals on from each part, unpacked events included', () => {
    const a = encodeDuckDbEvents(TENANT, [win(0, SYSMON, 1, 3), win(1, SECURITY, 4624, 1)]);
    const empty = encodeDuckDbEvents(TENANT, []);
    const nul = { ...win(3, SYSMON, 1, 7), message: 'nul \u0000 inside' };
    const b = encodeDuckDbEvents(TENANT, [win(2, SYSMON, 1, 9), nul, win(2, SYSMON, 1, 9)]);
    const joined = concatDuckDbEvents([a, empty, b]);
    expect(joined.given).toBe(2 + 0 + 3);
    expect(joined.count).toBe(2 + 2);
    expect(joined.minMs).toBe(T0 + 1000);
    expect(joined.maxMs).toBe(T0 + 9000);
    expect(joined.p).toEqual([...a.p, ...b.p]);
    expect(joined.ms).toEqual([...a.ms, ...b.ms]);
    // Every ordinal once, 1..count, and each part's own order kept.
    const ords = [...joined.ord, ...joined.unpacked.map((u) => u.ord)].sort((x, y) => x - y);
    expect(ords).toEqual([1, 2, 3, 4]);
    expect(joined.ord).toEqual([...a.ord, ...b.ord.map((o) => o + 2)]);
    expect(joined.unpacked).toEqual([{ ord: b.unpacked[0]!.ord + 2, event: nul }]);
    expect(concatDuckDbEvents([empty, empty])).toMatchObject({ given: 0, count: 0, minMs: 0, maxMs: 0 });
  });
});
