/**
 * A correlation evaluated window after window (scheduled detection), so that each result is found once and
 * is the same as evaluating all the matches at once would give, even when its matches straddle windows.
 * Pure: the caller reads each window's new matches, keeps the state between windows (with its watermark,
 * in the same transaction), and raises the hits.
 *
 * The model: evaluateCorrelation (correlation.ts) scans each group's matches in time order and decides, for
 * each window of `timespan` it anchors at a match, whether the condition holds. Here that scan is carried
 * over the stream:
 *
 * - `pending`: matches that are in no decided window yet. Each step adds the window's new matches and runs
 *   evaluateCorrelation over the pending ones only, so a burst whose first matches came in an earlier window
 *   is counted whole, and an event that already contributed to a hit never counts again.
 * - `closed`: the decided windows `[from, until]` (until = from + timespan) of each group. A hit closes its
 *   window; a new match that falls inside a closed window of its group joins that decided result (it is
 *   "absorbed": no new hit; the caller may add it to the hit's alert) instead of starting a new one. Without
 *   this, the matches just after a hit would be read as the start of another burst that evaluating
 *   everything at once would not report.
 * - Event time, per group: `groups` holds each group's latest match time (its horizon). Matches of one
 *   group (one user, one host...) come from the same few sources and arrive roughly in time order, while
 *   sources lag each other, so completeness is judged per group: a window of a group that ends before the
 *   group's horizon is complete. A source may lag the latest match of all groups (`horizon`) by up to
 *   LATENESS (one hour): past that, a quiet group's windows count as complete too.
 *   - Conditions that more matches can only make true (monotone: gt/gte counts, temporal, temporal_ordered)
 *     are decided as soon as they hold. A pending match whose own window is complete
 *     (t < group horizon - timespan) has had every chance to anchor a hit, so it is dropped.
 *   - The others (lt, lte, eq, neq: "fewer than") can only be decided on a complete window: a window
 *     `[a, a + timespan]` is decided once it ends before the group's horizon, or LATENESS before `horizon`
 *     or the clock (so a quiet source still gets its windows decided), or at once with
 *     `final` (a backtest). Consecutive windows start, as in evaluateCorrelation, at the group's first
 *     undecided match.
 * - Closed windows are forgotten once no match of their group can reach them; a group's horizon is kept
 *   while the group has pending matches or closed windows.
 *
 * For matches that arrive in time order within each group this gives exactly the hits of one
 * evaluateCorrelation over all of them (same groups, same first match), each once, in the step whose matches
 * complete it (correlation-stream.test.ts checks it on random streams). A late match (older than its group's
 * horizon - timespan when it arrives) is still evaluated with the pending matches and the other matches of
 * its own window, but cannot reach matches already dropped. A match time more than an hour past `now` does
 * not move a horizon (one source's clock far in the future must not close everyone's windows).
 */
import {
  evaluateCorrelation,
  groupOf,
  hitGroup,
  isMonotone,
  type BaseMatch,
  type CorrelationHit,
} from './correlation.ts';
import type { SigmaCorrelation } from './model.ts';

/** A window of a group that is decided: matches of the group inside it belong to that decision. */
export interface ClosedSpan {
  /** The group key (correlation.ts groupOf). */
  group: string;
  /** Epoch ms, inclusive. */
  from: number;
  until: number;
  /** The caller's handle on the result (scheduled detection: the alert's dedup key); absent: no hit. */
  tag?: string;
}

export interface CorrelationState<M extends BaseMatch> {
  /** Latest match time seen (epoch ms), null before the first match. */
  horizon: number | null;
  /** Latest match time per group (group key -> epoch ms). */
  groups: Record<string, number>;
  pending: M[];
  closed: ClosedSpan[];
}

export interface StepOptions {
  /** The clock (epoch ms). */
  now: number;
  /** Decide every window now (nothing more will come: a backtest). */
  final?: boolean;
  /** More pending matches than this is an error (the state is kept with the watermark). */
  maxPending?: number;
}

export interface StepResult<M extends BaseMatch> {
  state: CorrelationState<M>;
  /** New results, in evaluateCorrelation's order, with their matches and their (new) closed window. */
  hits: { hit: CorrelationHit; matches: M[]; span: ClosedSpan }[];
  /** New matches inside a window of their group decided earlier, by window. */
  absorbed: { span: ClosedSpan; matches: M[] }[];
  /** New matches that belong to no group (a group-by value absent), or were already pending. */
  ignored: number;
}

/** Future match times past now + this do not move a horizon. */
const MAX_CLOCK_SKEW_MS = 3_600_000;

/** How far a group's matches may lag the tenant's latest match (or the clock) and still be waited for. */
export const LATENESS_MS = 3_600_000;

export const emptyState = <M extends BaseMatch>(): CorrelationState<M> => ({
  horizon: null,
  groups: {},
  pending: [],
  closed: [],
});

const matchKey = (m: BaseMatch) => `${m.rule}\u0000${m.id}`;

/** One step: the state before, the window's new matches -> the state after and the new results. */
export function stepCorrelation<M extends BaseMatch>(
  c: SigmaCorrelation,
  before: CorrelationState<M>,
  fresh: readonly M[],
  opts: StepOptions,
): StepResult<M> {
  const span = c.correlation.timespanSeconds * 1000;
  const monotone = isMonotone(c);
  let horizon = before.horizon;
  const groups = new Map(Object.entries(before.groups));
  let pending = [...before.pending];
  const closed = before.closed.map((s) => ({ ...s }));
  const closedBy = new Map<string, ClosedSpan[]>();
  const addClosed = (s: ClosedSpan) => {
    const list = closedBy.get(s.group) ?? [];
    list.push(s);
    closedBy.set(s.group, list);
  };
  closed.forEach(addClosed);

  const known = new Set(pending.map(matchKey));
  const absorbed = new Map<ClosedSpan, M[]>();
  let ignored = 0;
  for (const m of fresh) {
    const t = m.timestamp.getTime();
    const plausible = t <= opts.now + MAX_CLOCK_SKEW_MS;
    if (plausible) horizon = horizon === null ? t : Math.max(horizon, t);
    const group = groupOf(c, m);
    if (group === undefined || known.has(matchKey(m))) {
      ignored += 1;
      continue;
    }
    if (plausible) groups.set(group, Math.max(groups.get(group) ?? t, t));
    const s = closedBy.get(group)?.find((x) => x.from <= t && t <= x.until);
    if (s) {
      const list = absorbed.get(s) ?? [];
      list.push(m);
      absorbed.set(s, list);
      continue;
    }
    known.add(matchKey(m));
    pending.push(m);
  }

  /** The time before which a group's windows are complete. */
  const complete = (group: string): number => {
    if (opts.final) return Number.POSITIVE_INFINITY;
    const tenant = horizon === null ? Number.NEGATIVE_INFINITY : horizon - LATENESS_MS;
    const own = groups.get(group) ?? Number.NEGATIVE_INFINITY;
    return Math.max(own, tenant, monotone ? Number.NEGATIVE_INFINITY : opts.now - LATENESS_MS);
  };

  const hits: StepResult<M>['hits'] = [];
  const byGroup = new Map<string, M[]>();
  for (const m of pending) {
    const g = groupOf(c, m)!;
    const list = byGroup.get(g) ?? [];
    list.push(m);
    byGroup.set(g, list);
  }
  const inWindow = (group: string, from: number, until: number) =>
    (byGroup.get(group) ?? []).filter((m) => {
      const t = m.timestamp.getTime();
      return t >= from && t <= until;
    });

  if (monotone) {
    // Every pending match is a candidate anchor; a hit takes its whole window (evaluateCorrelation's own).
    const taken = new Set<M>();
    for (const hit of evaluateCorrelation(c, pending)) {
      const group = hitGroup(c, hit);
      const from = hit.first.getTime();
      const s: ClosedSpan = { group, from, until: from + span };
      const matches = inWindow(group, s.from, s.until);
      matches.forEach((m) => taken.add(m));
      closed.push(s);
      addClosed(s);
      hits.push({ hit, matches, span: s });
    }
    // A match whose window is complete has had every chance to anchor a hit.
    pending = pending.filter(
      (m) => !taken.has(m) && m.timestamp.getTime() + span >= complete(groupOf(c, m)!),
    );
  } else {
    // Only complete windows are decided: consecutive windows from each group's first pending match.
    const decided = new Set<M>();
    const spans = new Map<string, ClosedSpan>();
    for (const [group, list] of byGroup) {
      const before = complete(group);
      const sorted = [...list].sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime());
      let i = 0;
      while (i < sorted.length) {
        const from = sorted[i]!.timestamp.getTime();
        if (from + span >= before) break;
        const s: ClosedSpan = { group, from, until: from + span };
        while (i < sorted.length && sorted[i]!.timestamp.getTime() <= s.until) decided.add(sorted[i++]!);
        closed.push(s);
        addClosed(s);
        spans.set(`${group}\u0000${from}`, s);
      }
    }
    const decidedMatches = pending.filter((m) => decided.has(m));
    for (const hit of evaluateCorrelation(c, decidedMatches)) {
      const group = hitGroup(c, hit);
      const s = spans.get(`${group}\u0000${hit.first.getTime()}`)!;
      hits.push({ hit, matches: inWindow(group, s.from, s.until), span: s });
    }
    pending = pending.filter((m) => !decided.has(m));
  }

  // Forget closed windows no match of their group can reach any more (ended a timespan before the group's
  // complete time), and the horizons of groups with nothing pending or closed (a new match sets it again).
  const keptClosed = opts.final ? closed : closed.filter((s) => s.until + span >= complete(s.group));
  const live = new Set(keptClosed.map((s) => s.group));
  for (const m of pending) live.add(groupOf(c, m)!);
  const state: CorrelationState<M> = {
    horizon,
    groups: Object.fromEntries([...groups].filter(([g]) => live.has(g))),
    pending,
    closed: keptClosed,
  };
  if (opts.maxPending !== undefined && pending.length > opts.maxPending)
    throw new Error(
      `${pending.length} matches are waiting within the correlation's timespan, more than ${opts.maxPending}`,
    );
  return {
    state,
    hits,
    absorbed: [...absorbed].map(([span, matches]) => ({ span, matches })),
    ignored,
  };
}
