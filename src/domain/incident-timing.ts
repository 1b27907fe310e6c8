/**
 * The clock of an incident, as pure functions: which timestamps and durations a status change (or an edit
 * of occurred_at / detected_at) sets, so the repository only writes what this module decides.
 *
 * - time_to_detect  = detected_at - occurred_at   (when occurred_at is known)
 * - time_to_respond = responded_at - detected_at  (responded_at: the first move out of `open`, never moved again)
 * - time_to_resolve = resolved_at - detected_at   (resolved_at: entering a terminal status; a reopen clears it)
 *
 * Durations are in seconds (fractions kept).
 */
import { INCIDENT_TERMINAL_STATUSES, type IncidentStatus } from './enums.ts';
import { ValidationError } from './errors.ts';

/** The parts of an incident its clock depends on. */
export interface IncidentClock {
  status: IncidentStatus;
  detectedAt: Date;
  occurredAt: Date | null;
  respondedAt: Date | null;
  resolvedAt: Date | null;
}

/** What a change asks for; `undefined` leaves a value as it is, `occurredAt: null` forgets it. */
export interface IncidentClockChange {
  status?: IncidentStatus | undefined;
  detectedAt?: Date | undefined;
  occurredAt?: Date | null | undefined;
}

/** Only the keys present are to be written. */
export interface IncidentTimingFields {
  respondedAt?: Date | null;
  resolvedAt?: Date | null;
  timeToDetect?: number | null;
  timeToRespond?: number | null;
  timeToResolve?: number | null;
}

export interface StatusChangeEntry {
  /** ISO 8601, as it is stored in the JSON timeline. */
  at: string;
  type: 'status_change';
  from: IncidentStatus;
  to: IncidentStatus;
  by: string;
}

export interface IncidentTiming {
  set: IncidentTimingFields;
  /** Present when the status changes. */
  entry?: StatusChangeEntry;
}

export function isTerminalStatus(status: IncidentStatus): boolean {
  return INCIDENT_TERMINAL_STATUSES.includes(status);
}

/** Seconds from `from` to `to` (negative when `to` is earlier). */
export function secondsBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / 1000;
}

const sameInstant = (a: Date | null, b: Date | null) =>
  a === null || b === null ? a === b : a.getTime() === b.getTime();

function notAfter(earlier: Date | null, later: Date | null, path: string, message: string): void {
  if (earlier && later && earlier.getTime() > later.getTime())
    throw new ValidationError(`${path} ${message}`, [{ path, message }]);
}

/**
 * The fields to set when `current` receives `change` at `now` by `by`.
 * Throws a ValidationError when the change would put occurred_at after detected_at, or detected_at after
 * the incident was already responded to or resolved.
 */
export function incidentTiming(
  current: IncidentClock,
  change: IncidentClockChange,
  now: Date,
  by: string,
): IncidentTiming {
  const from = current.status;
  const to = change.status ?? from;
  const detectedAt = change.detectedAt ?? current.detectedAt;
  const occurredAt = change.occurredAt === undefined ? current.occurredAt : change.occurredAt;
  const detectedChanged = !sameInstant(detectedAt, current.detectedAt);
  const occurredChanged = !sameInstant(occurredAt, current.occurredAt);

  const set: IncidentTimingFields = {};
  let entry: StatusChangeEntry | undefined;
  let respondedAt = current.respondedAt;
  let resolvedAt = current.resolvedAt;

  if (from !== to) {
    if (from === 'open' && respondedAt === null) {
      respondedAt = now;
      set.respondedAt = now;
    }
    const wasTerminal = isTerminalStatus(from);
    const isTerminal = isTerminalStatus(to);
    if (isTerminal && !wasTerminal) {
      resolvedAt = now;
      set.resolvedAt = now;
    } else if (wasTerminal && !isTerminal) {
      resolvedAt = null;
      set.resolvedAt = null;
      set.timeToResolve = null;
    }
    entry = { at: now.toISOString(), type: 'status_change', from, to, by };
  }

  if (occurredChanged || detectedChanged) {
    notAfter(occurredAt, detectedAt, 'occurredAt', 'must not be after detectedAt');
    set.timeToDetect = occurredAt ? secondsBetween(occurredAt, detectedAt) : null;
  }
  if (detectedChanged) {
    notAfter(detectedAt, respondedAt, 'detectedAt', 'must not be after respondedAt');
    notAfter(detectedAt, resolvedAt, 'detectedAt', 'must not be after resolvedAt');
  }
  if (respondedAt && (detectedChanged || set.respondedAt !== undefined))
    set.timeToRespond = secondsBetween(detectedAt, respondedAt);
  if (resolvedAt && (detectedChanged || set.resolvedAt !== undefined))
    set.timeToResolve = secondsBetween(detectedAt, resolvedAt);

  return entry ? { set, entry } : { set };
}

/**
 * The clock of a new incident. It is born `open`; created in another status, it counts as moved there at
 * `now` (responded, and resolved when the status is terminal).
 */
export function initialIncidentTiming(
  created: { status: IncidentStatus; detectedAt: Date; occurredAt: Date | null },
  now: Date,
): IncidentTimingFields & { timeToDetect: number | null } {
  notAfter(created.occurredAt, created.detectedAt, 'occurredAt', 'must not be after detectedAt');
  const { set } = incidentTiming(
    {
      status: 'open',
      detectedAt: created.detectedAt,
      occurredAt: created.occurredAt,
      respondedAt: null,
      resolvedAt: null,
    },
    { status: created.status },
    now,
    '',
  );
  return {
    ...set,
    timeToDetect: created.occurredAt ? secondsBetween(created.occurredAt, created.detectedAt) : null,
  };
}
