import { describe, expect, it } from 'vitest';
import { INCIDENT_STATUSES, INCIDENT_TERMINAL_STATUSES, type IncidentStatus } from './enums.ts';
import { ValidationError } from './errors.ts';
import {
  incidentTiming,
  initialIncidentTiming,
  isTerminalStatus,
  secondsBetween,
  type IncidentClock,
} from './incident-timing.ts';

const T0 = new Date('2024-05-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

const open = (over: Partial<IncidentClock> = {}): IncidentClock => ({
  status: 'open',
  detectedAt: T0,
  occurredAt: null,
  respondedAt: null,
  resolvedAt: null,
  ...over,
});

describe('incidentTiming', () => {
  it('first move out of open sets respondedAt and timeToRespond, and records who and when', () => {
    const r = incidentTiming(open(), { status: 'investigating' }, at(90), 'ana@example.com');
    expect(r.set).toEqual({ respondedAt: at(90), timeToRespond: 90 });
    expect(r.entry).toEqual({
      at: '2024-05-01T10:01:30.000Z',
      type: 'status_change',
      from: 'open',
      to: 'investigating',
      by: 'ana@example.com',
    });
  });

  it('does not move respondedAt again after a reopen', () => {
    const reopened = open({ respondedAt: at(60) });
    const r = incidentTiming(reopened, { status: 'contained' }, at(500), 'x');
    expect(r.set).toEqual({});
    expect(r.entry).toMatchObject({ from: 'open', to: 'contained' });
  });

  it('between two non-terminal statuses only the timeline changes', () => {
    const r = incidentTiming(
      open({ status: 'investigating', respondedAt: at(10) }),
      { status: 'contained' },
      at(99),
      'x',
    );
    expect(r.set).toEqual({});
    expect(r.entry).toMatchObject({ from: 'investigating', to: 'contained' });
  });

  it('entering a terminal status sets resolvedAt and timeToResolve', () => {
    const r = incidentTiming(
      open({ status: 'investigating', respondedAt: at(10) }),
      { status: 'resolved' },
      at(3600),
      'x',
    );
    expect(r.set).toEqual({ resolvedAt: at(3600), timeToResolve: 3600 });
  });

  it('open straight to a terminal status responds and resolves at the same instant', () => {
    const r = incidentTiming(open(), { status: 'false_positive' }, at(42.5), 'x');
    expect(r.set).toEqual({
      respondedAt: at(42.5),
      timeToRespond: 42.5,
      resolvedAt: at(42.5),
      timeToResolve: 42.5,
    });
  });

  it('moving between terminal statuses keeps the first resolution', () => {
    const resolved = open({ status: 'resolved', respondedAt: at(10), resolvedAt: at(100) });
    const r = incidentTiming(resolved, { status: 'closed' }, at(5000), 'x');
    expect(r.set).toEqual({});
    expect(r.entry).toMatchObject({ from: 'resolved', to: 'closed' });
  });

  it('a reopen clears resolvedAt and timeToResolve and keeps respondedAt', () => {
    const resolved = open({ status: 'resolved', respondedAt: at(10), resolvedAt: at(100) });
    const r = incidentTiming(resolved, { status: 'open' }, at(200), 'x');
    expect(r.set).toEqual({ resolvedAt: null, timeToResolve: null });
    expect(r.entry).toMatchObject({ from: 'resolved', to: 'open' });
    const r2 = incidentTiming(resolved, { status: 'investigating' }, at(200), 'x');
    expect(r2.set).toEqual({ resolvedAt: null, timeToResolve: null });
  });

  it('the same status is no change at all', () => {
    const r = incidentTiming(
      open({ status: 'investigating', respondedAt: at(1) }),
      { status: 'investigating' },
      at(9),
      'x',
    );
    expect(r).toEqual({ set: {} });
  });

  it('timeToDetect follows occurredAt and detectedAt edits', () => {
    expect(incidentTiming(open(), { occurredAt: at(-300) }, at(5), 'x').set).toEqual({ timeToDetect: 300 });
    expect(incidentTiming(open({ occurredAt: at(-300) }), { occurredAt: null }, at(5), 'x').set).toEqual({
      timeToDetect: null,
    });
    // unchanged values are not rewritten
    expect(
      incidentTiming(open({ occurredAt: at(-300) }), { occurredAt: at(-300), detectedAt: T0 }, at(5), 'x')
        .set,
    ).toEqual({});
  });

  it('moving detectedAt recomputes every duration measured from it', () => {
    const c = open({ status: 'resolved', occurredAt: at(-100), respondedAt: at(50), resolvedAt: at(500) });
    const r = incidentTiming(c, { detectedAt: at(-50) }, at(9999), 'x');
    expect(r.set).toEqual({ timeToDetect: 50, timeToRespond: 100, timeToResolve: 550 });
    expect(r.entry).toBeUndefined();
  });

  it('rejects occurredAt after detectedAt, and detectedAt after the response', () => {
    expect(() => incidentTiming(open(), { occurredAt: at(1) }, at(5), 'x')).toThrow(ValidationError);
    try {
      incidentTiming(open({ respondedAt: at(10) }), { detectedAt: at(11) }, at(20), 'x');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).issues).toEqual([
        { path: 'detectedAt', message: 'must not be after respondedAt' },
      ]);
    }
  });

  it('holds its invariants for every pair of statuses', () => {
    for (const from of INCIDENT_STATUSES) {
      for (const to of INCIDENT_STATUSES) {
        const cur = open({
          status: from,
          respondedAt: from === 'open' ? null : at(10),
          resolvedAt: isTerminalStatus(from) ? at(20) : null,
        });
        const { set, entry } = incidentTiming(cur, { status: to }, at(1000), 'x');
        expect(entry === undefined, `${from}->${to}`).toBe(from === to);
        const respondedAt = set.respondedAt === undefined ? cur.respondedAt : set.respondedAt;
        const resolvedAt = set.resolvedAt === undefined ? cur.resolvedAt : set.resolvedAt;
        expect(respondedAt === null, `${from}->${to} respondedAt`).toBe(from === 'open' && to === 'open');
        expect(resolvedAt !== null, `${from}->${to} resolvedAt`).toBe(isTerminalStatus(to));
      }
    }
  });
});

describe('initialIncidentTiming', () => {
  it('an open incident has only timeToDetect', () => {
    expect(initialIncidentTiming({ status: 'open', detectedAt: T0, occurredAt: at(-60) }, at(1))).toEqual({
      timeToDetect: 60,
    });
    expect(initialIncidentTiming({ status: 'open', detectedAt: T0, occurredAt: null }, at(1))).toEqual({
      timeToDetect: null,
    });
  });

  it('created already closed counts as responded and resolved at creation', () => {
    expect(initialIncidentTiming({ status: 'closed', detectedAt: T0, occurredAt: null }, at(30))).toEqual({
      respondedAt: at(30),
      timeToRespond: 30,
      resolvedAt: at(30),
      timeToResolve: 30,
      timeToDetect: null,
    });
  });

  it('rejects occurredAt after detectedAt', () => {
    expect(() => initialIncidentTiming({ status: 'open', detectedAt: T0, occurredAt: at(1) }, at(2))).toThrow(
      /occurredAt/,
    );
  });
});

describe('helpers', () => {
  it('terminal statuses are exactly the enum list', () => {
    const terminal = INCIDENT_STATUSES.filter((s: IncidentStatus) => isTerminalStatus(s));
    expect(terminal).toEqual([...INCIDENT_TERMINAL_STATUSES]);
    expect(secondsBetween(T0, at(1.5))).toBe(1.5);
  });
});
