import { describe, expect, it } from 'vitest';
import { parseOne } from './testing.ts';

describe('text', () => {
  it('accepts any line with heuristics', () => {
    const e = parseOne('2024-05-01T12:00:00Z login attempt for user=admin from 203.0.113.9 rejected');
    expect(e).toMatchObject({
      sourceType: 'text',
      message: '2024-05-01T12:00:00Z login attempt for user=admin from 203.0.113.9 rejected',
      original: null,
    });
    expect(e.timestamp?.toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(e.normalized).toEqual({ src_ip: '203.0.113.9', user: 'admin' });
    expect(parseOne('LICENSE OF LOGHUB')).toMatchObject({
      sourceType: 'text',
      timestamp: null,
      normalized: {},
    });
  });

  it('reads the Cisco IOS shape (SigmaHQ .raw regression file)', () => {
    const e = parseOne(
      '172.16.5.10 6705: Feb 17 13:40:03.673: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin  logged command:no access-session port-control',
    );
    expect(e).toMatchObject({
      sourceType: 'text',
      host: '172.16.5.10',
      appname: 'PARSER',
      message: 'User:admin  logged command:no access-session port-control',
    });
    expect(e.timestamp?.toISOString()).toBe('2025-02-17T13:40:03.673Z');
    expect(e.normalized).toEqual({ level: 'notice', msgid: 'CFGLOG_LOGGEDCMD', user: 'admin' });
  });
});
