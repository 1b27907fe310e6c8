import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateCorrelation, groupOf, hitGroup, type BaseMatch } from './correlation.ts';
import { emptyState, LATENESS_MS, stepCorrelation, type CorrelationState } from './correlation-stream.ts';
import type { CorrelationCondition, SigmaCorrelation } from './model.ts';
import { correlationDoc } from './testing.ts';

const corr = (over: Parameters<typeof correlationDoc>[0]) => correlationDoc(over, 'stream test');

const T0 = Date.parse('2026-11-01T10:00:00Z');
let n = 0;
function m(rule: string, sec: number, fields: Record<string, string | null> = {}): BaseMatch {
  n += 1;
  return { rule, id: `e${String(n).padStart(5, '0')}`, timestamp: new Date(T0 + sec * 1000), fields };
}

/**
 * The matches (in time order) reordered by `keys` (random), except that the matches of each group keep
 * their time order: each group's matches fill, in order, the positions the shuffle gave the group.
 */
function interleave<T>(sorted: T[], keys: number[], groupOf: (x: T) => string): T[] {
  const shuffled = sorted
    .map((x, i) => ({ x, k: keys[i % keys.length]! }))
    .sort((a, b) => a.k - b.k)
    .map((e) => e.x);
  const queues = new Map<string, T[]>();
  for (const x of sorted) {
    const q = queues.get(groupOf(x)) ?? [];
    q.push(x);
    queues.set(groupOf(x), q);
  }
  return shuffled.map((x) => queues.get(groupOf(x))!.shift()!);
}

/** Steps over the windows (in order), then a final step; the hits with what each absorbed later. */
function stream(c: SigmaCorrelation, windows: BaseMatch[][], now = T0) {
  let state: CorrelationState<BaseMatch> = emptyState();
  const hits: { group: string; first: number; ids: Set<string>; step: number }[] = [];
  const bySpan = new Map<object, (typeof hits)[number]>();
  const steps = [...windows.map((w) => ({ w, final: false })), { w: [] as BaseMatch[], final: true }];
  steps.forEach(({ w, final }, step) => {
    const r = stepCorrelation(c, state, w, { now, final });
    for (const h of r.hits) {
      const out = {
        group: hitGroup(c, h.hit),
        first: h.hit.first.getTime(),
        ids: new Set(h.matches.map((x) => x.id)),
        step,
      };
      hits.push(out);
      bySpan.set(h.span, out);
    }
    for (const a of r.absorbed) {
      const h = [...bySpan].find(([s]) => {
        const x = s as { group: string; from: number };
        return x.group === a.span.group && x.from === a.span.from;
      });
      if (h) for (const x of a.matches) h[1].ids.add(x.id);
    }
    state = r.state;
  });
  return { hits, state };
}

describe('stepCorrelation', () => {
  const burst = corr({
    type: 'event_count',
    rules: ['a', 'b'],
    groupBy: ['User'],
    condition: { op: 'gte', value: 3 },
  });

  it('counts a burst that straddles two windows once, in the window that completes it', () => {
    const w1 = [m('a', 0, { User: 'alice' }), m('b', 10, { User: 'alice' })];
    const w2 = [m('a', 20, { User: 'alice' })];
    const s1 = stepCorrelation(burst, emptyState(), w1, { now: T0 });
    expect(s1.hits).toEqual([]);
    expect(s1.state.pending).toHaveLength(2);
    const s2 = stepCorrelation(burst, s1.state, w2, { now: T0 });
    expect(s2.hits).toHaveLength(1);
    expect(s2.hits[0]!.hit).toMatchObject({ group: { User: 'alice' }, count: 3 });
    expect(s2.hits[0]!.matches.map((x) => x.id)).toEqual([...w1, ...w2].map((x) => x.id));
    // Nothing new: nothing more.
    const s3 = stepCorrelation(burst, s2.state, [], { now: T0 });
    expect(s3.hits).toEqual([]);
    // A match inside the decided window joins it; it does not start another burst with the next ones.
    const s4 = stepCorrelation(
      burst,
      s3.state,
      [m('a', 30, { User: 'alice' }), m('a', 70, { User: 'alice' }), m('a', 75, { User: 'alice' })],
      { now: T0 },
    );
    expect(s4.hits).toEqual([]);
    expect(s4.absorbed.map((a) => a.matches.length)).toEqual([1]);
  });

  it('keeps groups apart and stays below the threshold', () => {
    const r = stepCorrelation(
      burst,
      emptyState(),
      [m('a', 0, { User: 'alice' }), m('a', 1, { User: 'bob' }), m('a', 2, { User: 'alice' }), m('a', 3, {})],
      { now: T0 },
    );
    expect(r.hits).toEqual([]);
    expect(r.ignored).toBe(1);
  });

  it('drops pending matches whose window ended a timespan before the horizon', () => {
    const s1 = stepCorrelation(burst, emptyState(), [m('a', 0, { User: 'u' }), m('a', 10, { User: 'u' })], {
      now: T0,
    });
    const s2 = stepCorrelation(burst, s1.state, [m('a', 100, { User: 'u' })], { now: T0 });
    expect(s2.hits).toEqual([]);
    expect(s2.state.pending.map((x) => x.timestamp.getTime() - T0)).toEqual([100_000]);
  });

  it('decides a "fewer than" window only when it is complete', () => {
    const few = corr({ type: 'event_count', rules: ['a'], condition: { op: 'lt', value: 3 } });
    const s1 = stepCorrelation(few, emptyState(), [m('a', 0), m('a', 10)], { now: T0 });
    expect(s1.hits).toEqual([]); // the window [0, 60] may still fill up
    const s2 = stepCorrelation(few, s1.state, [m('a', 61)], { now: T0 });
    expect(s2.hits.map((h) => h.hit.count)).toEqual([2]);
    // The clock decides a window nobody adds to any more (now past its end by LATENESS).
    const s3a = stepCorrelation(few, s2.state, [], { now: T0 + 121_000 + LATENESS_MS });
    expect(s3a.hits).toEqual([]);
    const s3 = stepCorrelation(few, s2.state, [], { now: T0 + 122_000 + LATENESS_MS });
    expect(s3.hits.map((h) => h.hit.count)).toEqual([1]);
  });

  it('refuses to carry more than maxPending matches', () => {
    expect(() =>
      stepCorrelation(burst, emptyState(), [m('a', 0, { User: 'u' }), m('a', 1, { User: 'v' })], {
        now: T0,
        maxPending: 1,
      }),
    ).toThrow(/more than 1/);
  });

  it('a future-dated match does not close everyone else’s windows', () => {
    const s1 = stepCorrelation(burst, emptyState(), [m('a', 0, { User: 'u' })], { now: T0 });
    const s2 = stepCorrelation(burst, s1.state, [m('a', 10 * 86_400, { User: 'x' })], { now: T0 });
    expect(s2.state.horizon).toBe(T0);
    const s3 = stepCorrelation(burst, s2.state, [m('a', 5, { User: 'u' }), m('a', 6, { User: 'u' })], {
      now: T0,
    });
    expect(s3.hits).toHaveLength(1);
  });

  // For matches that arrive in time order, any split into windows gives the hits of one evaluation over all.
  const conditions: (CorrelationCondition | undefined)[] = [
    { op: 'gte', value: 3 },
    { op: 'gt', value: 1 },
    { op: 'lt', value: 3 },
    { op: 'lte', value: 2 },
    { op: 'eq', value: 2 },
    { op: 'neq', value: 1 },
  ];
  const spec = fc.record({
    type: fc.constantFrom('event_count', 'value_count', 'temporal', 'temporal_ordered'),
    cond: fc.constantFrom(...conditions),
    grouped: fc.boolean(),
    span: fc.constantFrom(10, 30, 60),
  });
  const events = fc.array(
    fc.record({
      rule: fc.constantFrom('a', 'b'),
      sec: fc.integer({ min: 0, max: 150 }),
      user: fc.constantFrom('u1', 'u2', null),
      value: fc.constantFrom('x', 'y', 'z'),
    }),
    { maxLength: 60 },
  );
  it('matches evaluateCorrelation over the whole stream, for every split into windows', () => {
    fc.assert(
      fc.property(
        spec,
        events,
        fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 12 }),
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        (s, evs, cuts, shuffle) => {
          const temporal = s.type === 'temporal' || s.type === 'temporal_ordered';
          const c = corr({
            type: s.type,
            rules: ['a', 'b'],
            groupBy: s.grouped ? ['User'] : [],
            timespanSeconds: s.span,
            ...(temporal
              ? {}
              : {
                  condition: { ...s.cond!, ...(s.type === 'value_count' ? { field: 'Value' } : {}) },
                }),
          });
          // Each group's matches in time order; the groups interleaved at random (sources lag each other).
          const sorted = evs
            .map((e) => m(e.rule, e.sec, { User: e.user, Value: e.value }))
            .sort((x, y) => x.timestamp.getTime() - y.timestamp.getTime());
          const all = interleave(sorted, shuffle, (x) => groupOf(c, x) ?? '');
          const at = [...new Set(cuts.map((k) => Math.min(k, all.length)))].sort((x, y) => x - y);
          const windows: BaseMatch[][] = [];
          let prev = 0;
          for (const k of [...at, all.length]) {
            windows.push(all.slice(prev, k));
            prev = k;
          }
          const want = evaluateCorrelation(c, all).map((h) => ({
            group: hitGroup(c, h),
            first: h.first.getTime(),
            ids: [...h.eventIds].sort(),
          }));
          const got = stream(c, windows).hits.map((h) => ({
            group: h.group,
            first: h.first,
            ids: [...h.ids].sort(),
          }));
          const order = (a: { first: number; group: string }, b: { first: number; group: string }) =>
            a.first - b.first || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0);
          expect(got.sort(order)).toEqual(want.sort(order));
        },
      ),
      { numRuns: 600 },
    );
  });
});
