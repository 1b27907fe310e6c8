import { describe, expect, it } from 'vitest';
import { createStreamParser } from './index.ts';
import { getSourceIp, getTimestamp, getUser, type StoredEventLike } from './helpers.ts';
import type { LogFormat } from './types.ts';

const REF = new Date('2025-11-22T00:00:00Z');

/** Parses `raw` and shapes it as a stored event (what the log store hands back). */
function stored(raw: string, format: LogFormat = 'auto'): StoredEventLike {
  const r = createStreamParser({ format, referenceTime: REF }).parse(raw);
  if (!r.ok) throw new Error(r.reason);
  return { timestamp: r.event.timestamp, normalized: r.event.normalized, message: r.event.message, raw };
}

describe('helpers on every format', () => {
  it.each<[string, string, string | null, string | null, string | null]>([
    [
      'rfc3164',
      'Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2',
      '2024-12-10T06:55:48.000Z',
      '173.234.31.186',
      'webmaster',
    ],
    [
      'rfc5424',
      '<86>1 2024-03-01T10:00:00.000+01:00 bastion sshd 4242 - - Accepted publickey for deploy from 10.1.2.3 port 50522 ssh2',
      '2024-03-01T09:00:00.000Z',
      '10.1.2.3',
      'deploy',
    ],
    [
      'apache_error',
      '[Sun Dec 04 20:47:17 2005] [error] [client 81.199.21.119] Directory index forbidden by rule: /var/www/html/',
      '2005-12-04T20:47:17.000Z',
      '81.199.21.119',
      null,
    ],
    [
      'json',
      '{"@timestamp":"2020-09-14T00:44:23.000Z","sourceIPAddress":"1.2.3.4","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","userIdentity":{"userName":"pedro"}}',
      '2020-09-14T00:44:23.000Z',
      '1.2.3.4',
      'pedro',
    ],
    [
      'windows_event',
      '{"TimeCreated":"2020-10-19 12:28:44.333","SourceName":"Microsoft-Windows-Security-Auditing","EventID":4625,"Channel":"Security","Hostname":"WORKSTATION5","TargetUserName":"pgustavo","IpAddress":"172.18.39.5","IpPort":"51234"}',
      '2020-10-19T12:28:44.333Z',
      '172.18.39.5',
      'pgustavo',
    ],
    [
      'auditd',
      `type=USER_LOGIN msg=audit(1642761574.840:683): pid=14362 uid=0 auid=1002 ses=100 msg='op=login acct="jhall" exe="/usr/sbin/sshd" hostname=172.19.131.174 addr=172.19.131.174 terminal=/dev/pts/0 res=success'`,
      '2022-01-21T10:39:34.840Z',
      '172.19.131.174',
      'jhall',
    ],
    [
      'cef',
      'CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 suser=alice rt=1577836800000',
      '2020-01-01T00:00:00.000Z',
      '10.0.0.1',
      'alice',
    ],
    [
      'text',
      '2024-05-01T12:00:00Z login attempt for user=admin from 203.0.113.9 rejected',
      '2024-05-01T12:00:00.000Z',
      '203.0.113.9',
      'admin',
    ],
  ])('%s', (_format, raw, time, ip, user) => {
    const e = stored(raw);
    expect(getTimestamp(e)?.toISOString() ?? null).toBe(time);
    expect(getSourceIp(e)).toBe(ip);
    expect(getUser(e)).toBe(user);
  });

  it('csv rows', () => {
    const p = createStreamParser({ format: 'auto', referenceTime: REF });
    expect(p.parse('time,name,ip,host,short,time_label,event_label')).toMatchObject({ skip: true });
    const r = p.parse(
      '1642723347,Wazuh: ClamAV database update,172.19.130.4,mail,W-Sys-Cav,false_positive,-',
    );
    if (!r.ok) throw new Error(r.reason);
    const e = { timestamp: r.event.timestamp, normalized: r.event.normalized, message: r.event.message };
    expect(getTimestamp(e)?.toISOString()).toBe('2022-01-21T00:02:27.000Z');
    expect(getSourceIp(e)).toBe('172.19.130.4');
    expect(getUser(e)).toBeNull();
  });

  it('fall back to message and raw when normalized is empty', () => {
    const e: StoredEventLike = {
      normalized: {},
      message:
        'pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.36.59.76 user=root',
      raw: 'Dec 10 07:02:47 LabSZ sshd[24203]: pam_unix(sshd:auth): authentication failure; rhost=5.36.59.76 user=root',
    };
    expect(getSourceIp(e)).toBe('5.36.59.76');
    expect(getUser(e)).toBe('root');
    expect(getTimestamp(e, REF)?.toISOString()).toBe('2024-12-10T07:02:47.000Z');
    expect(getTimestamp({ timestamp: '2020-10-22T01:54:20.493Z' })?.toISOString()).toBe(
      '2020-10-22T01:54:20.493Z',
    );
    expect(getSourceIp({ raw: '[Sun Dec 04 20:47:17 2005] [error] [client 81.199.21.119] x' })).toBe(
      '81.199.21.119',
    );
    expect(getUser({ message: 'Invalid user webmaster from 173.234.31.186' })).toBe('webmaster');
    expect(getSourceIp({ message: 'nothing here' })).toBeNull();
    expect(getUser({})).toBeNull();
    expect(getTimestamp({ message: 'no time' })).toBeNull();
  });
});
