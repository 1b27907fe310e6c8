/**
 * Seed 002's LogEntry helpers (`get_timestamp`, `get_source_ip`, `get_user`) over a stored-event-like object:
 * normalised fields first, then patterns in the message, then in the raw record.
 */
import { asIp, findSourceIp, findUser } from './normalize.ts';
import { parseTimestamp, readCtime, readIso, readRfc3164, YearInference } from './timestamp.ts';

export interface StoredEventLike {
  timestamp?: Date | string | number | null;
  normalized?: Record<string, unknown> | null;
  message?: string | null;
  raw?: string | null;
}

/** A timestamp at the start of a text (after an optional `<PRI>` or `[`), or null. */
function leadingTimestamp(text: string, reference: Date): Date | null {
  let s = text.trimStart();
  if (s.charCodeAt(0) === 60) {
    const gt = s.indexOf('>');
    if (gt > 0 && gt < 5) s = s.slice(s.charCodeAt(gt + 1) === 49 ? gt + 3 : gt + 1);
  }
  if (s.charCodeAt(0) === 91) s = s.slice(1);
  const c = s.charCodeAt(0);
  if (c >= 48 && c <= 57) return readIso(s, 0, 'UTC')?.date ?? null;
  const ctime = readCtime(s, 0, 'UTC');
  if (ctime) return ctime.date;
  const p = readRfc3164(s, 0);
  return p ? new YearInference(reference, 'UTC').resolve(p) : null;
}

/** The event time: `timestamp`, else `normalized.timestamp`, else a timestamp leading the message or raw. */
export function getTimestamp(event: StoredEventLike, reference = new Date()): Date | null {
  const direct = parseTimestamp(event.timestamp ?? undefined, 'UTC');
  if (direct) return direct;
  const n = event.normalized;
  const fromNormalized = n ? parseTimestamp(n.timestamp ?? n['@timestamp'], 'UTC') : null;
  if (fromNormalized) return fromNormalized;
  for (const text of [event.message, event.raw]) {
    if (text) {
      const t = leadingTimestamp(text, reference);
      if (t) return t;
    }
  }
  return null;
}

/** The source IP: normalized src_ip (or a few common aliases), else an IP found in the message or raw. */
export function getSourceIp(event: StoredEventLike): string | null {
  const n = event.normalized;
  if (n) {
    for (const k of ['src_ip', 'source_ip', 'client_ip', 'ip']) {
      const ip = asIp(n[k]);
      if (ip) return ip;
    }
  }
  for (const text of [event.message, event.raw]) {
    if (text) {
      const ip = findSourceIp(text);
      if (ip) return ip;
    }
  }
  return null;
}

/** The user: normalized user (or aliases), else a user named in the message or raw. */
export function getUser(event: StoredEventLike): string | null {
  const n = event.normalized;
  if (n) {
    for (const k of ['user', 'username', 'user_name', 'src_user']) {
      const v = n[k];
      if (typeof v === 'string' && v !== '') return v;
    }
  }
  for (const text of [event.message, event.raw]) {
    if (text) {
      const u = findUser(text);
      if (u) return u;
    }
  }
  return null;
}
