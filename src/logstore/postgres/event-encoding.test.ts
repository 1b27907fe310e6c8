import { describe, expect, it } from 'vitest';
import type { LogEventInput } from '../../domain/log-event.ts';
import { concatPostgresEvents, encodePostgresEvents } from './event-encoding.ts';

const TENANT = '0190a000-0000-7000-8000-000000000001';
const T0 = Date.parse('2024-05-01T23:59:58Z');

function event(i: number): LogEventInput {
  return {
    tenantId: TENANT,
    id: `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    timestamp: new Date(T0 + i * 1000),
    raw: `line "${i}" \\ with quotes`,
    appname: i % 2 ? 'sshd' : null,
    file: '/var/log/auth.log',
    host: 'h',
    hostname: 'h',
    message: `m${i}`,
    procid: i,
    sourceType: 'syslog_rfc3164',
    normalized: { n: i, nul: i === 3 ? 'a\u0000b' : 'x' },
    metadata: { line: i },
    sourceId: null,
    original: null,
  };
}

describe('concatPostgresEvents', () => {
  it('joins parts into what encoding all their events at once gives', () => {
    const events = Array.from({ length: 6 }, (_, i) => event(i));
    const parts = [events.slice(0, 2), [], events.slice(2, 5), events.slice(5)].map((p) =>
      encodePostgresEvents(TENANT, p),
    );
    const joined = concatPostgresEvents(parts);
    const whole = encodePostgresEvents(TENANT, events);
    expect({ ...joined, days: [...joined.days].sort() }).toEqual({ ...whole, days: [...whole.days].sort() });
    // The events span two UTC days: both partitions are asked for.
    expect(joined.days).toHaveLength(2);
    expect(JSON.parse(joined.json)).toHaveLength(6);
  });

  it('keeps the given count of parts that hold nothing new', () => {
    const a = encodePostgresEvents(TENANT, [event(1), event(1)]);
    const joined = concatPostgresEvents([a, encodePostgresEvents(TENANT, [])]);
    expect(joined).toMatchObject({ given: 2, count: 1 });
  });
});
