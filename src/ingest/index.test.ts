import { describe, expect, it } from 'vitest';
import { createStreamParser, type LogFormat } from './index.ts';

const REF = new Date('2025-11-22T00:00:00Z');

describe('createStreamParser', () => {
  it('returns empty for blank records', () => {
    const p = createStreamParser({ format: 'auto' });
    expect(p.parse('')).toEqual({ ok: false, reason: 'empty' });
    expect(p.parse(' \t\r')).toEqual({ ok: false, reason: 'empty' });
  });

  it('validates its options', () => {
    expect(() => createStreamParser({ format: 'nope' as LogFormat })).toThrow('unknown log format: nope');
    expect(() => createStreamParser({ format: 'auto', timezone: 'Mars/Olympus' })).toThrow(
      'unknown time zone: Mars/Olympus',
    );
  });

  it('detects per record in auto mode', () => {
    const p = createStreamParser({ format: 'auto', referenceTime: REF });
    const types = [
      'Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186',
      '<165>1 2003-10-11T22:14:15.003Z mymachine app - - - msg',
      '[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok',
      '{"EventID":4624,"Channel":"Security","Hostname":"h"}',
      '{"msg":"hi"}',
      'type=LOGIN msg=audit(1642723741.076:377): pid=10125 uid=0 old-auid=4294967295 auid=0 res=1',
      'CEF:0|a|b|c|d|e|5|src=1.2.3.4',
      'just words',
    ].map((r) => {
      const res = p.parse(r);
      return res.ok ? res.event.sourceType : res.reason;
    });
    expect(types).toEqual([
      'syslog_rfc3164',
      'syslog_rfc5424',
      'apache_error',
      'windows_event',
      'json',
      'auditd',
      'cef',
      'text',
    ]);
  });

  it('forced formats reject what is not theirs', () => {
    const cases: [LogFormat, string, string][] = [
      ['syslog', 'just words', 'rfc3164: no timestamp at column 1'],
      ['json', 'just words', 'invalid_json: at position 0 (line 1, column 1): '],
      ['auditd', 'just words', 'auditd: missing type='],
      ['cef', 'just words', 'cef: no CEF:Version|Vendor|Product|Version|ID|Name|Severity| header'],
      ['apache_error', 'just words', 'apache_error: record does not start with ['],
      ['rfc5424', '<13>Dec 10 06:55:46 h a: b', 'rfc5424: version is not 1'],
    ];
    for (const [format, record, reason] of cases) {
      const r = createStreamParser({ format, referenceTime: REF }).parse(record);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.reason.startsWith(reason)).toBe(true);
    }
    expect(createStreamParser({ format: 'text' }).parse('{not json')).toMatchObject({
      ok: true,
      event: { sourceType: 'text', message: '{not json' },
    });
  });

  it('keeps year inference across the records of one stream', () => {
    const p = createStreamParser({ format: 'syslog', referenceTime: new Date('2025-01-03T00:00:00Z') });
    const times = ['Dec 31 23:59:59 h a: x', 'Jan  1 00:00:01 h a: y'].map((r) => {
      const res = p.parse(r);
      return res.ok ? res.event.timestamp?.toISOString() : res.reason;
    });
    expect(times).toEqual(['2024-12-31T23:59:59.000Z', '2025-01-01T00:00:01.000Z']);
  });
});
