/**
 * Sigma correlation rules (specification v2), evaluated over the matches of the rules they reference. Pure:
 * the caller runs the referenced rules (asking each for the fields `correlationFields` names) and hands the
 * matches over; this module groups, windows and counts.
 *
 * Semantics (where the specification leaves room, the choice is stated here):
 *
 * - Fields. A group-by name (or the value_count `field`) that is an alias reads, in each referenced rule's
 *   events, the field the alias gives for that rule (the alias name itself when the alias leaves the rule
 *   out); any other name is read as is in every rule's events.
 * - Groups. Matches are grouped by their group-by values, compared as exact text. A match whose group-by
 *   value is absent (null) belongs to no group and is ignored, as `stats ... by field` ignores it in the
 *   backends pySigma converts to: an absent value cannot tie events together. With no group-by, all
 *   matches form one group.
 * - value_count: a match whose counted field is absent is ignored (it adds no value); the count is the
 *   number of distinct texts.
 * - Events. A match is one (rule, event) pair; `count` and `eventIds` count an event once even when it
 *   matched several referenced rules.
 * - Windows. `timespan` is inclusive: events at t and t + timespan are in the same window. Within a group,
 *   matches are taken in time order (ties: the order of `rules`, then event id).
 *   - Conditions that more events can only make true (event_count/value_count with gt or gte, temporal,
 *     temporal_ordered) use a window that slides over the events: anchored at each match in turn, it holds
 *     every match of [anchor, anchor + timespan]. The first anchor whose window satisfies the condition gives
 *     a hit holding that whole window, and the scan resumes after the window: hits never overlap, an event
 *     is in at most one hit, and a long burst gives one hit per timespan it covers.
 *   - The other conditions (lt, lte, eq, neq) would be met by any sparse tail of a sliding window, so they
 *     use consecutive windows instead: the first starts at the group's first match, each next one at the
 *     first match after the previous window; each window is tested once.
 * - temporal: every referenced rule matched at least once in the window. temporal_ordered: additionally
 *   there are matches of the rules in the order `rules` lists them, each at or after the previous one (equal
 *   timestamps count as in order: logs with second precision cannot order them).
 * - Output: hits ordered by first time, then group values, then last time.
 */
import type { CorrelationCondition, SigmaCorrelation } from './model.ts';

/** One event a referenced rule matched. */
export interface BaseMatch {
  /** The referenced rule's ref as written in correlation.rules. */
  rule: string;
  /** The event's id. */
  id: string;
  timestamp: Date;
  /** The rule's event fields the correlation reads (correlationFields), by field name; null when absent. */
  fields: Record<string, string | null>;
}

/** One window of one group in which the correlation's condition holds. */
export interface CorrelationHit {
  /** Group-by name (alias or field) -> value. */
  group: Record<string, string | null>;
  /** Time of the window's first and last match. */
  first: Date;
  last: Date;
  /** Distinct events in the window. */
  count: number;
  /** The window's events, in time order, each once. */
  eventIds: string[];
  /** value_count only: distinct values of the condition's field in the window. */
  distinct?: number;
}

/** The field of `ruleRef`'s events that a correlation name (group-by entry or value_count field) reads. */
export function fieldFor(c: SigmaCorrelation, name: string, ruleRef: string): string {
  const alias = Object.hasOwn(c.correlation.aliases, name) ? c.correlation.aliases[name] : undefined;
  return alias && Object.hasOwn(alias, ruleRef) ? alias[ruleRef]! : name;
}

/** The fields each referenced rule must return: group-by fields (through aliases) and the value_count field. */
export function correlationFields(c: SigmaCorrelation, ruleRef: string): string[] {
  const names = [...c.correlation.groupBy];
  if (c.correlation.type === 'value_count' && c.correlation.condition?.field !== undefined)
    names.push(c.correlation.condition.field);
  return [...new Set(names.map((n) => fieldFor(c, n, ruleRef)))];
}

/**
 * The group a match belongs to, as a key (the JSON text of its group-by values in `groupBy` order), or
 * undefined when it belongs to none: a group-by value, or the value_count field, is absent. Two matches
 * are in the same group exactly when evaluateCorrelation groups them together.
 */
export function groupOf(c: SigmaCorrelation, m: BaseMatch): string | undefined {
  const values: string[] = [];
  for (const g of c.correlation.groupBy) {
    const v = m.fields[fieldFor(c, g, m.rule)] ?? null;
    if (v === null) return undefined;
    values.push(v);
  }
  const { type, condition } = c.correlation;
  if (type === 'value_count' && condition?.field !== undefined) {
    if ((m.fields[fieldFor(c, condition.field, m.rule)] ?? null) === null) return undefined;
  }
  return JSON.stringify(values);
}

/** The group key (as groupOf gives it) of a hit. */
export function hitGroup(c: SigmaCorrelation, hit: CorrelationHit): string {
  return JSON.stringify(c.correlation.groupBy.map((g) => hit.group[g]));
}

/**
 * True when more matches in a window can only keep its condition true (event_count and value_count with gt
 * or gte, temporal, temporal_ordered): evaluateCorrelation slides its windows over such correlations, and
 * uses consecutive windows for the others.
 */
export function isMonotone(c: SigmaCorrelation): boolean {
  const { type, condition } = c.correlation;
  return (
    type === 'temporal' || type === 'temporal_ordered' || condition!.op === 'gt' || condition!.op === 'gte'
  );
}

export function compareCount(n: number, cond: CorrelationCondition): boolean {
  switch (cond.op) {
    case 'gt':
      return n > cond.value;
    case 'gte':
      return n >= cond.value;
    case 'lt':
      return n < cond.value;
    case 'lte':
      return n <= cond.value;
    case 'eq':
      return n === cond.value;
    case 'neq':
      return n !== cond.value;
  }
}

interface Entry {
  readonly ref: string;
  /** Position of the ref in correlation.rules (tie order). */
  readonly order: number;
  readonly id: string;
  readonly t: number;
  /** value_count: the counted value. */
  readonly value: string | null;
}

/** Counts of a window's contents, kept up to date as matches enter and leave it. */
class WindowCounts {
  readonly events = new Map<string, number>();
  readonly values = new Map<string, number>();
  readonly refs = new Map<string, number>();

  add(e: Entry): void {
    bump(this.events, e.id, 1);
    bump(this.refs, e.ref, 1);
    if (e.value !== null) bump(this.values, e.value, 1);
  }
  remove(e: Entry): void {
    bump(this.events, e.id, -1);
    bump(this.refs, e.ref, -1);
    if (e.value !== null) bump(this.values, e.value, -1);
  }
  clear(): void {
    this.events.clear();
    this.values.clear();
    this.refs.clear();
  }
}

function bump(m: Map<string, number>, k: string, d: number): void {
  const v = (m.get(k) ?? 0) + d;
  if (v === 0) m.delete(k);
  else m.set(k, v);
}

/** Evaluates a correlation over the referenced rules' matches (matches of other rules are ignored). */
export function evaluateCorrelation(c: SigmaCorrelation, matches: readonly BaseMatch[]): CorrelationHit[] {
  const { type, rules, groupBy, timespanSeconds, condition } = c.correlation;
  const spanMs = timespanSeconds * 1000;
  const order = new Map<string, number>();
  rules.forEach((r, i) => {
    if (!order.has(r)) order.set(r, i);
  });
  const countField = type === 'value_count' ? condition?.field : undefined;

  // Group the matches.
  const groups = new Map<string, { group: Record<string, string | null>; entries: Entry[] }>();
  for (const m of matches) {
    const o = order.get(m.rule);
    if (o === undefined) continue;
    const values: string[] = [];
    for (const g of groupBy) {
      const v = m.fields[fieldFor(c, g, m.rule)] ?? null;
      if (v === null) break;
      values.push(v);
    }
    if (values.length < groupBy.length) continue;
    let value: string | null = null;
    if (countField !== undefined) {
      value = m.fields[fieldFor(c, countField, m.rule)] ?? null;
      if (value === null) continue;
    }
    const key = JSON.stringify(values);
    let g = groups.get(key);
    if (!g) {
      g = { group: Object.fromEntries(groupBy.map((name, i) => [name, values[i]!])), entries: [] };
      groups.set(key, g);
    }
    g.entries.push({ ref: m.rule, order: o, id: m.id, t: m.timestamp.getTime(), value });
  }

  const holds = (w: WindowCounts, entries: readonly Entry[], from: number, to: number): boolean => {
    switch (type) {
      case 'event_count':
        return compareCount(w.events.size, condition!);
      case 'value_count':
        return compareCount(w.values.size, condition!);
      case 'temporal':
        return rules.every((r) => w.refs.has(r));
      case 'temporal_ordered':
        return rules.every((r) => w.refs.has(r)) && inOrder(rules, entries, from, to);
    }
  };
  const monotone = isMonotone(c);

  const hits: { key: string; hit: CorrelationHit }[] = [];
  for (const [key, { group, entries }] of groups) {
    entries.sort((a, b) => a.t - b.t || a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const emit = (from: number, to: number, w: WindowCounts) => {
      const ids: string[] = [];
      const seen = new Set<string>();
      for (let k = from; k < to; k++) {
        const id = entries[k]!.id;
        if (!seen.has(id)) {
          seen.add(id);
          ids.push(id);
        }
      }
      hits.push({
        key,
        hit: {
          group: { ...group },
          first: new Date(entries[from]!.t),
          last: new Date(entries[to - 1]!.t),
          count: ids.length,
          eventIds: ids,
          ...(type === 'value_count' ? { distinct: w.values.size } : {}),
        },
      });
    };
    const w = new WindowCounts();
    const n = entries.length;
    if (monotone) {
      let i = 0;
      let j = 0;
      while (i < n) {
        while (j < n && entries[j]!.t - entries[i]!.t <= spanMs) w.add(entries[j++]!);
        if (holds(w, entries, i, j)) {
          emit(i, j, w);
          w.clear();
          i = j;
        } else {
          w.remove(entries[i]!);
          i += 1;
        }
      }
    } else {
      let i = 0;
      while (i < n) {
        w.clear();
        let j = i;
        while (j < n && entries[j]!.t - entries[i]!.t <= spanMs) w.add(entries[j++]!);
        if (holds(w, entries, i, j)) emit(i, j, w);
        i = j;
      }
    }
  }
  hits.sort(
    (a, b) =>
      a.hit.first.getTime() - b.hit.first.getTime() ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) ||
      a.hit.last.getTime() - b.hit.last.getTime(),
  );
  return hits.map((h) => h.hit);
}

/**
 * True when entries[from, to) (in time order) hold matches of `rules` in that order, each at or after the
 * previous one. Greedy: each step takes the earliest match it can; matches with equal timestamps may serve
 * consecutive steps in any order (each match serves one step).
 */
function inOrder(rules: readonly string[], entries: readonly Entry[], from: number, to: number): boolean {
  let step = 0;
  let a = from;
  while (a < to && step < rules.length) {
    let b = a;
    const avail = new Map<string, number>();
    while (b < to && entries[b]!.t === entries[a]!.t) bump(avail, entries[b++]!.ref, 1);
    while (step < rules.length && avail.has(rules[step]!)) bump(avail, rules[step++]!, -1);
    a = b;
  }
  return step === rules.length;
}
