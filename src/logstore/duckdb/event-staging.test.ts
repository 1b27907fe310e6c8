import { describe, expect, it } from 'vitest';
import type { LogEventInput } from '../../domain/log-event.ts';
import { clusterKey, planBatch } from './event-staging.ts';

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

describe('planBatch', () => {
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
