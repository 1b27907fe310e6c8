import { describe, expect, it } from 'vitest';
import { correlationFields, evaluateCorrelation, type BaseMatch } from './correlation.ts';
import { parseSigma } from './parser.ts';
import type { SigmaCorrelation } from './model.ts';
import { correlationDoc } from './testing.ts';

const corr = (over: Parameters<typeof correlationDoc>[0]) => correlationDoc(over, 'test correlation');

const T0 = Date.parse('2024-05-01T10:00:00Z');
let seq = 0;
/** A match of `rule` at T0 + `sec` seconds. */
function m(rule: string, sec: number, fields: Record<string, string | null> = {}, id?: string): BaseMatch {
  seq += 1;
  return { rule, id: id ?? `e${String(seq).padStart(4, '0')}`, timestamp: new Date(T0 + sec * 1000), fields };
}
const at = (sec: number) => new Date(T0 + sec * 1000);

describe('correlationFields', () => {
  it('names the group-by fields through aliases and the value_count field, once each', () => {
    const c = corr({
      type: 'value_count',
      rules: ['a', 'b'],
      groupBy: ['ip', 'Computer'],
      condition: { op: 'gte', value: 3, field: 'TargetUserName' },
      aliases: { ip: { a: 'IpAddress', b: 'SourceAddress' } },
    });
    expect(correlationFields(c, 'a')).toEqual(['IpAddress', 'Computer', 'TargetUserName']);
    expect(correlationFields(c, 'b')).toEqual(['SourceAddress', 'Computer', 'TargetUserName']);
  });

  it('asks no value field of an event_count and de-duplicates', () => {
    const c = corr({
      type: 'event_count',
      rules: ['a'],
      groupBy: ['User', 'User'],
      condition: { op: 'gte', value: 1 },
    });
    expect(correlationFields(c, 'a')).toEqual(['User']);
  });

  it('reads the alias name itself for a rule the alias leaves out', () => {
    const c = corr({
      type: 'temporal',
      rules: ['a', 'b'],
      groupBy: ['host'],
      aliases: { host: { a: 'Computer' } },
    });
    expect(correlationFields(c, 'a')).toEqual(['Computer']);
    expect(correlationFields(c, 'b')).toEqual(['host']);
  });

  it('works on a parsed correlation', () => {
    const doc = parseSigma(
      `title: c
correlation:
  type: value_count
  rules: [failed]
  group-by: [IpAddress]
  timespan: 5m
  condition: { field: TargetUserName, gte: 3 }
`,
      { file: 'c.yml' },
    ).documents[0] as SigmaCorrelation;
    expect(doc.correlation.timespanSeconds).toBe(300);
    expect(correlationFields(doc, 'failed')).toEqual(['IpAddress', 'TargetUserName']);
  });
});

describe('event_count', () => {
  const c = corr({
    type: 'event_count',
    rules: ['failed'],
    groupBy: ['User'],
    timespanSeconds: 60,
    condition: { op: 'gte', value: 3 },
  });

  it('counts the events of each group in the timespan', () => {
    const bob = [
      m('failed', 0, { User: 'bob' }),
      m('failed', 20, { User: 'bob' }),
      m('failed', 40, { User: 'bob' }),
    ];
    const alice = [m('failed', 5, { User: 'alice' }), m('failed', 25, { User: 'alice' })];
    const hits = evaluateCorrelation(c, [...alice, ...bob]);
    expect(hits).toEqual([
      { group: { User: 'bob' }, first: at(0), last: at(40), count: 3, eventIds: bob.map((x) => x.id) },
    ]);
  });

  it('finds a burst that straddles where fixed windows would cut (the window slides)', () => {
    const ev = [0, 50, 55, 61, 62, 63].map((s) => m('failed', s, { User: 'bob' }));
    const hits = evaluateCorrelation(
      { ...c, correlation: { ...c.correlation, condition: { op: 'gte', value: 5 } } },
      ev,
    );
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ first: at(50), last: at(63), count: 5 });
    expect(hits[0]!.eventIds).toEqual(ev.slice(1).map((x) => x.id));
  });

  it('reports a burst once per timespan, without overlapping hits', () => {
    const ev = Array.from({ length: 16 }, (_, k) => m('failed', k * 10, { User: 'bob' })); // 0..150s
    const hits = evaluateCorrelation(c, ev);
    expect(hits.map((h) => [h.first, h.last, h.count])).toEqual([
      [at(0), at(60), 7],
      [at(70), at(130), 7],
    ]);
    const all = hits.flatMap((h) => h.eventIds);
    expect(new Set(all).size).toBe(all.length);
  });

  it('includes an event exactly timespan after the first, not one a second later', () => {
    const two = corr({ ...c.correlation, condition: { op: 'gte', value: 2 } });
    expect(
      evaluateCorrelation(two, [m('failed', 0, { User: 'bob' }), m('failed', 60, { User: 'bob' })]),
    ).toHaveLength(1);
    expect(
      evaluateCorrelation(two, [m('failed', 0, { User: 'bob' }), m('failed', 61, { User: 'bob' })]),
    ).toEqual([]);
  });

  it('uses gt strictly', () => {
    const gt = corr({ ...c.correlation, condition: { op: 'gt', value: 3 } });
    const three = [0, 1, 2].map((s) => m('failed', s, { User: 'bob' }));
    expect(evaluateCorrelation(gt, three)).toEqual([]);
    expect(evaluateCorrelation(gt, [...three, m('failed', 3, { User: 'bob' })])).toHaveLength(1);
  });

  it('ignores events whose group-by value is null or absent', () => {
    const ev = [
      m('failed', 0, { User: null }),
      m('failed', 1, { User: null }),
      m('failed', 2, {}),
      m('failed', 3, { User: 'bob' }),
      m('failed', 4, { User: 'bob' }),
    ];
    expect(evaluateCorrelation(c, ev)).toEqual([]);
    const hits = evaluateCorrelation(c, [...ev, m('failed', 5, { User: 'bob' })]);
    expect(hits.map((h) => [h.group, h.count])).toEqual([[{ User: 'bob' }, 3]]);
  });

  it('puts every event in one group when there is no group-by', () => {
    const none = corr({ ...c.correlation, groupBy: [] });
    const hits = evaluateCorrelation(none, [
      m('failed', 0, { User: 'bob' }),
      m('failed', 1, { User: 'alice' }),
      m('failed', 2),
    ]);
    expect(hits.map((h) => [h.group, h.count])).toEqual([[{}, 3]]);
  });

  it('counts an event matched by two referenced rules once', () => {
    const two = corr({ ...c.correlation, rules: ['failed', 'other'] });
    const same = [m('failed', 0, { User: 'bob' }, 'x1'), m('other', 0, { User: 'bob' }, 'x1')];
    expect(evaluateCorrelation(two, [...same, m('failed', 1, { User: 'bob' }, 'x2')])).toEqual([]);
    const hits = evaluateCorrelation(two, [
      ...same,
      m('failed', 1, { User: 'bob' }, 'x2'),
      m('other', 2, { User: 'bob' }, 'x3'),
    ]);
    expect(hits.map((h) => [h.count, h.eventIds])).toEqual([[3, ['x1', 'x2', 'x3']]]);
  });

  it('ignores matches of rules the correlation does not reference', () => {
    const ev = [0, 1, 2].map((s) => m('unrelated', s, { User: 'bob' }));
    expect(evaluateCorrelation(c, [...ev, m('failed', 3, { User: 'bob' })])).toEqual([]);
  });

  it('tests lt, lte, eq and neq on consecutive windows starting at the first event', () => {
    const ev = [0, 1, 2].map((s) => m('failed', s, { User: 'bob' }));
    const late = m('failed', 1000, { User: 'bob' });
    const withOp = (op: 'lt' | 'lte' | 'eq' | 'neq', value: number) =>
      evaluateCorrelation(corr({ ...c.correlation, condition: { op, value } }), [...ev, late]).map((h) => [
        h.first,
        h.count,
      ]);
    // Windows: [0s, 60s] with 3 events, [1000s, 1060s] with 1. A sliding window would also see the tails
    // (the window at 2s holds one event).
    expect(withOp('lt', 2)).toEqual([[at(1000), 1]]);
    expect(withOp('lte', 3)).toEqual([
      [at(0), 3],
      [at(1000), 1],
    ]);
    expect(withOp('eq', 3)).toEqual([[at(0), 3]]);
    expect(withOp('neq', 3)).toEqual([[at(1000), 1]]);
  });

  it('orders hits by time, then group, whatever the input order', () => {
    const ev = [
      m('failed', 100, { User: 'zed' }),
      m('failed', 101, { User: 'zed' }),
      m('failed', 102, { User: 'zed' }),
      m('failed', 0, { User: 'bob' }),
      m('failed', 1, { User: 'bob' }),
      m('failed', 2, { User: 'bob' }),
      m('failed', 0, { User: 'amy' }),
      m('failed', 1, { User: 'amy' }),
      m('failed', 2, { User: 'amy' }),
    ];
    const expected = [{ User: 'amy' }, { User: 'bob' }, { User: 'zed' }];
    expect(evaluateCorrelation(c, ev).map((h) => h.group)).toEqual(expected);
    expect(evaluateCorrelation(c, [...ev].reverse()).map((h) => h.group)).toEqual(expected);
    expect(evaluateCorrelation(c, [...ev].reverse())).toEqual(evaluateCorrelation(c, ev));
  });
});

describe('value_count', () => {
  const c = corr({
    type: 'value_count',
    rules: ['failed'],
    groupBy: ['IpAddress'],
    timespanSeconds: 300,
    condition: { op: 'gte', value: 3, field: 'TargetUserName' },
  });

  it('counts distinct values of the field per group', () => {
    const spray = ['bob', 'alice', 'bob', 'carol'].map((u, k) =>
      m('failed', k * 10, { IpAddress: '10.0.0.5', TargetUserName: u }),
    );
    const single = [0, 1, 2, 3, 4].map((k) =>
      m('failed', k, { IpAddress: '10.0.0.9', TargetUserName: 'bob' }),
    );
    const hits = evaluateCorrelation(c, [...single, ...spray]);
    expect(hits).toEqual([
      {
        group: { IpAddress: '10.0.0.5' },
        first: at(0),
        last: at(30),
        count: 4,
        eventIds: spray.map((x) => x.id),
        distinct: 3,
      },
    ]);
  });

  it('does not count absent values, nor values outside the timespan', () => {
    const ev = [
      m('failed', 0, { IpAddress: '10.0.0.5', TargetUserName: 'bob' }),
      m('failed', 1, { IpAddress: '10.0.0.5', TargetUserName: null }),
      m('failed', 2, { IpAddress: '10.0.0.5' }),
      m('failed', 3, { IpAddress: '10.0.0.5', TargetUserName: 'alice' }),
      m('failed', 400, { IpAddress: '10.0.0.5', TargetUserName: 'carol' }),
    ];
    expect(evaluateCorrelation(c, ev)).toEqual([]);
  });

  it('compares values as exact text', () => {
    const ev = ['bob', 'Bob', 'BOB'].map((u, k) =>
      m('failed', k, { IpAddress: '10.0.0.5', TargetUserName: u }),
    );
    expect(evaluateCorrelation(c, ev).map((h) => h.distinct)).toEqual([3]);
  });
});

describe('temporal', () => {
  const c = corr({ type: 'temporal', rules: ['a', 'b'], groupBy: ['User'], timespanSeconds: 60 });

  it('hits when every referenced rule matched in the window, in any order', () => {
    const ev = [m('b', 0, { User: 'bob' }), m('a', 30, { User: 'bob' })];
    expect(evaluateCorrelation(c, ev)).toEqual([
      { group: { User: 'bob' }, first: at(0), last: at(30), count: 2, eventIds: ev.map((x) => x.id) },
    ]);
  });

  it('does not hit when a rule is missing, too late, or in another group', () => {
    expect(evaluateCorrelation(c, [m('a', 0, { User: 'bob' }), m('a', 1, { User: 'bob' })])).toEqual([]);
    expect(evaluateCorrelation(c, [m('a', 0, { User: 'bob' }), m('b', 61, { User: 'bob' })])).toEqual([]);
    expect(evaluateCorrelation(c, [m('a', 0, { User: 'bob' }), m('b', 1, { User: 'alice' })])).toEqual([]);
  });

  it('hits at exactly the timespan', () => {
    expect(evaluateCorrelation(c, [m('a', 0, { User: 'bob' }), m('b', 60, { User: 'bob' })])).toHaveLength(1);
  });

  it('groups through aliases: different field names of two rules', () => {
    const aliased = corr({
      type: 'temporal',
      rules: ['logon', 'proc'],
      groupBy: ['user'],
      timespanSeconds: 60,
      aliases: { user: { logon: 'TargetUserName', proc: 'SubjectUserName' } },
    });
    const hits = evaluateCorrelation(aliased, [
      m('logon', 0, { TargetUserName: 'bob' }),
      m('proc', 10, { SubjectUserName: 'bob' }),
      m('logon', 20, { TargetUserName: 'alice' }),
      // alice's process reads the logon rule's field name: not alice's SubjectUserName
      m('proc', 30, { TargetUserName: 'alice', SubjectUserName: 'carol' }),
    ]);
    expect(hits.map((h) => [h.group, h.count])).toEqual([[{ user: 'bob' }, 2]]);
  });
});

describe('temporal_ordered', () => {
  const c = corr({
    type: 'temporal_ordered',
    rules: ['failed', 'success'],
    groupBy: ['User'],
    timespanSeconds: 600,
  });

  it('hits when the rules matched in the listed order', () => {
    const ev = [m('failed', 0, { User: 'bob' }), m('success', 120, { User: 'bob' })];
    expect(evaluateCorrelation(c, ev).map((h) => [h.group, h.first, h.last])).toEqual([
      [{ User: 'bob' }, at(0), at(120)],
    ]);
  });

  it('does not hit when they matched in the other order', () => {
    const ev = [m('success', 0, { User: 'bob' }), m('failed', 120, { User: 'bob' })];
    expect(evaluateCorrelation(c, ev)).toEqual([]);
    // the unordered correlation does
    expect(evaluateCorrelation(corr({ ...c.correlation, type: 'temporal' }), ev)).toHaveLength(1);
  });

  it('finds the order among out-of-order events', () => {
    const ev = [
      m('success', 0, { User: 'bob' }),
      m('failed', 10, { User: 'bob' }),
      m('success', 20, { User: 'bob' }),
    ];
    const hits = evaluateCorrelation(c, ev);
    expect(hits).toHaveLength(1);
    expect(hits[0]!.eventIds).toEqual(ev.map((x) => x.id));
  });

  it('counts equal timestamps as in order', () => {
    expect(
      evaluateCorrelation(c, [m('success', 5, { User: 'bob' }), m('failed', 5, { User: 'bob' })]),
    ).toHaveLength(1);
  });

  it('needs three steps in order for three rules', () => {
    const three = corr({ ...c.correlation, rules: ['a', 'b', 'c'] });
    const u = { User: 'bob' };
    expect(evaluateCorrelation(three, [m('a', 0, u), m('c', 1, u), m('b', 2, u)])).toEqual([]);
    expect(evaluateCorrelation(three, [m('a', 0, u), m('c', 1, u), m('b', 2, u), m('c', 3, u)])).toHaveLength(
      1,
    );
  });

  it('does not hit when the second step is beyond the timespan', () => {
    const ev = [m('failed', 0, { User: 'bob' }), m('success', 601, { User: 'bob' })];
    expect(evaluateCorrelation(c, ev)).toEqual([]);
  });
});
