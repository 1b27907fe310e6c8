import { describe, expect, it } from 'vitest';
import {
  fromEpoch,
  monthAt,
  parseTimestamp,
  readAuditStamp,
  readRfc3164,
  wallClockToUtc,
  YearInference,
  zoneOffsetMs,
} from './timestamp.ts';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

describe('parseTimestamp', () => {
  it('reads ISO 8601 with fractions and offsets', () => {
    expect(iso(parseTimestamp('2020-10-22T01:54:20.493Z'))).toBe('2020-10-22T01:54:20.493Z');
    expect(iso(parseTimestamp('2025-11-27T07:40:10.165324Z'))).toBe('2025-11-27T07:40:10.165Z');
    expect(iso(parseTimestamp('2003-10-11T22:14:15.003-07:00'))).toBe('2003-10-12T05:14:15.003Z');
    expect(iso(parseTimestamp('2003-10-11T22:14:15+0130'))).toBe('2003-10-11T20:44:15.000Z');
    expect(iso(parseTimestamp('2003-10-11T22:14:15+02'))).toBe('2003-10-11T20:14:15.000Z');
  });

  it('reads the Windows space-separated form in the configured zone', () => {
    expect(iso(parseTimestamp('2020-10-18 07:50:06.220'))).toBe('2020-10-18T07:50:06.220Z');
    expect(iso(parseTimestamp('2020-10-18 07:50:06.220', 'America/New_York'))).toBe(
      '2020-10-18T11:50:06.220Z',
    );
    expect(iso(parseTimestamp('2020-01-18 07:50:06', 'Europe/Vienna'))).toBe('2020-01-18T06:50:06.000Z');
  });

  it('reads Apache/ctime, CLF and month-day-year forms', () => {
    expect(iso(parseTimestamp('Sun Dec 04 04:47:44 2005'))).toBe('2005-12-04T04:47:44.000Z');
    expect(iso(parseTimestamp('Fri Jun 17 07:07:00 2005', 'Asia/Tokyo'))).toBe('2005-06-16T22:07:00.000Z');
    expect(iso(parseTimestamp('10/Oct/2000:13:55:36 -0700'))).toBe('2000-10-10T20:55:36.000Z');
    expect(iso(parseTimestamp('Sep 19 2019 08:26:10'))).toBe('2019-09-19T08:26:10.000Z');
  });

  it('reads epoch seconds, milliseconds and auditd stamps', () => {
    expect(iso(parseTimestamp('1642723347'))).toBe('2022-01-21T00:02:27.000Z');
    expect(iso(parseTimestamp(1642723347123))).toBe('2022-01-21T00:02:27.123Z');
    expect(iso(parseTimestamp('1642723741.072:375'))).toBe('2022-01-21T00:09:01.072Z');
    expect(iso(parseTimestamp('audit(1642723741.072:375)'))).toBe('2022-01-21T00:09:01.072Z');
    expect(readAuditStamp('audit(1604994496.155:92733)')?.serial).toBe(92733);
    expect(iso(fromEpoch(1_642_723_347_000_000))).toBe('2022-01-21T00:02:27.000Z');
  });

  it('returns null for what is not a timestamp', () => {
    expect(parseTimestamp('hello world')).toBeNull();
    expect(parseTimestamp('2020-13-01T00:00:00Z')).toBeNull();
    expect(parseTimestamp('Dec 10 06:55:46')).toBeNull(); // no year and no inference given
    expect(parseTimestamp({})).toBeNull();
  });
});

describe('time zones', () => {
  it('converts wall-clock times across DST with Intl', () => {
    // Vienna: CET (+1) in January, CEST (+2) in July.
    expect(zoneOffsetMs('Europe/Vienna', Date.UTC(2024, 0, 15))).toBe(3_600_000);
    expect(zoneOffsetMs('Europe/Vienna', Date.UTC(2024, 6, 15))).toBe(7_200_000);
    expect(new Date(wallClockToUtc('Europe/Vienna', 2024, 6, 15, 12, 0, 0, 0)).toISOString()).toBe(
      '2024-07-15T10:00:00.000Z',
    );
  });
});

describe('RFC 3164 year inference', () => {
  const at = (s: string) => {
    const p = readRfc3164(s);
    if (!p) throw new Error(`unreadable ${s}`);
    return p;
  };

  it('takes the reference year, or the year before when that would be in the future', () => {
    const y = new YearInference(new Date('2025-11-22T00:00:00Z'), 'UTC');
    expect(y.resolve(at('Jun 14 15:16:01')).toISOString()).toBe('2025-06-14T15:16:01.000Z');
    const y2 = new YearInference(new Date('2025-11-22T00:00:00Z'), 'UTC');
    expect(y2.resolve(at('Dec 10 06:55:46')).toISOString()).toBe('2024-12-10T06:55:46.000Z');
  });

  it('allows up to a day of clock skew into the future', () => {
    const y = new YearInference(new Date('2025-12-10T00:00:00Z'), 'UTC');
    expect(y.resolve(at('Dec 10 06:55:46')).toISOString()).toBe('2025-12-10T06:55:46.000Z');
  });

  it('rolls forward across Dec -> Jan within a stream', () => {
    const y = new YearInference(new Date('2025-03-01T00:00:00Z'), 'UTC');
    expect(y.resolve(at('Dec 31 23:59:58')).toISOString()).toBe('2024-12-31T23:59:58.000Z');
    expect(y.resolve(at('Jan  1 00:00:01')).toISOString()).toBe('2025-01-01T00:00:01.000Z');
    expect(y.resolve(at('Jan  2 10:00:00')).toISOString()).toBe('2025-01-02T10:00:00.000Z');
  });

  it('never goes more than a day past the reference, even when rolling forward', () => {
    const y = new YearInference(new Date('2025-12-31T12:00:00Z'), 'UTC');
    expect(y.resolve(at('Dec 31 11:00:00')).toISOString()).toBe('2025-12-31T11:00:00.000Z');
    // Jan 5 2026 would be 5 days ahead of the reference: the previous year instead.
    expect(y.resolve(at('Jan  5 00:00:00')).toISOString()).toBe('2025-01-05T00:00:00.000Z');
  });

  it('reads space-padded days and fractions', () => {
    const p = at('Jul  7 08:06:15.250 rest');
    expect([p.month, p.day, p.hour, p.minute, p.second, p.ms, p.end]).toEqual([6, 7, 8, 6, 15, 250, 19]);
    expect(readRfc3164('Foo 10 06:55:46')).toBeNull();
    expect(readRfc3164('Dec 32 06:55:46')).toBeNull();
  });
});

describe('monthAt', () => {
  const names = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

  it('reads a three-letter English month in any case at a position', () => {
    for (const [i, m] of names.entries()) {
      expect(monthAt(m, 0)).toBe(i);
      expect(monthAt(`<13>${m.toUpperCase()} 1`, 4)).toBe(i);
      expect(monthAt(`x${m[0]!.toUpperCase()}${m.slice(1)}`, 1)).toBe(i);
    }
  });

  it('is -1 for anything else, out of range or with characters that are not ASCII letters', () => {
    for (const [s, pos] of [
      ['ja', 0],
      ['jan', 1],
      ['jan', -1],
      ['j@n', 0],
      ['JA\u006e', 1],
      ['\u0000\u6a61n', 0],
      ['\u212aan', 0],
      ['Ja\u00f1', 0],
      ['jun', 3],
    ] as const) {
      expect(monthAt(s, pos), JSON.stringify(s)).toBe(-1);
    }
  });
});
