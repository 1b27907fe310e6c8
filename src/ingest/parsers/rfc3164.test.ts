import { describe, expect, it } from 'vitest';
import { parseOne, parseResult } from './testing.ts';

describe('RFC 3164', () => {
  it('parses a Loghub OpenSSH line (CRLF tolerated)', () => {
    const e = parseOne('Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186\r');
    expect(e).toMatchObject({
      sourceType: 'syslog_rfc3164',
      host: 'LabSZ',
      appname: 'sshd',
      procid: 24200,
      message: 'Invalid user webmaster from 173.234.31.186',
      original: null,
    });
    expect(e.timestamp?.toISOString()).toBe('2024-12-10T06:55:46.000Z');
    expect(e.normalized).toEqual({
      action: 'ssh_login',
      outcome: 'failure',
      reason: 'invalid_user',
      invalid_user: true,
      user: 'webmaster',
      src_ip: '173.234.31.186',
    });
  });

  it('reads PRI into facility and level, and the configured time zone', () => {
    const e = parseOne(
      '<38>Oct 11 22:14:15 mymachine su[230]: session opened for user root by (uid=0)',
      'auto',
      'America/New_York',
    );
    expect(e.timestamp?.toISOString()).toBe('2025-10-12T02:14:15.000Z');
    expect(e.normalized).toMatchObject({
      facility: 'auth',
      level: 'info',
      action: 'session_open',
      outcome: 'success',
      user: 'root',
      service: 'su',
    });
  });

  it('handles Linux quirks: padded day, tag with spaces, pam tags, no pid', () => {
    const root = parseOne('Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2');
    expect(root).toMatchObject({
      host: 'combo',
      appname: '-- root',
      procid: 2421,
      message: 'ROOT LOGIN ON tty2',
    });
    expect(root.normalized).toMatchObject({ action: 'login', outcome: 'success', user: 'root' });
    expect(root.timestamp?.toISOString()).toBe('2025-07-07T08:06:15.000Z');

    const sys = parseOne('Jun 19 04:09:11 combo syslogd 1.4.1: restart.');
    expect(sys).toMatchObject({ appname: 'syslogd 1.4.1', procid: null, message: 'restart.' });

    const pam = parseOne(
      'Jun 15 02:04:59 combo sshd(pam_unix)[20882]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=220-135-151-1.hinet-ip.hinet.net  user=root',
    );
    expect(pam.appname).toBe('sshd(pam_unix)');
    expect(pam.normalized).toEqual({
      action: 'pam_auth',
      outcome: 'failure',
      reason: 'authentication_failure',
      service: 'sshd',
      uid: 0,
      src_host: '220-135-151-1.hinet-ip.hinet.net',
      user: 'root',
    });
  });

  it('accepts a line without HOST and without TAG', () => {
    expect(parseOne('Dec 10 06:55:46 sshd[1]: hello')).toMatchObject({
      host: null,
      appname: 'sshd',
      procid: 1,
    });
    expect(parseOne('Dec 10 06:55:46 host just words here and more')).toMatchObject({
      host: 'host',
      appname: null,
      message: 'just words here and more',
    });
  });

  it('falls back to text in auto mode, rejects when forced', () => {
    const line = 'Feb 17 13:40:03.673: %SYS-5-CONFIG_I: Configured from console';
    expect(parseOne(line).sourceType).toBe('text');
    expect(parseResult('hello there', 'rfc3164')).toEqual({
      ok: false,
      reason: 'rfc3164: no timestamp at column 1',
    });
    expect(parseResult('<999>Dec 10 06:55:46 h a: b', 'rfc3164')).toEqual({
      ok: false,
      reason: 'rfc3164: invalid PRI',
    });
    expect(parseResult(line, 'syslog')).toEqual({
      ok: false,
      reason: 'rfc3164: expected a space after the timestamp at column 20',
    });
  });
});
