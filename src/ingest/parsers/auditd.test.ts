import { describe, expect, it } from 'vitest';
import { parseOne, parseResult } from './testing.ts';

describe('auditd', () => {
  it('parses a PAM record with the nested msg', () => {
    const e = parseOne(
      `type=USER_ACCT msg=audit(1642723741.072:375): pid=10125 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:accounting acct="root" exe="/usr/sbin/cron" hostname=? addr=? terminal=cron res=success'`,
    );
    expect(e).toMatchObject({ sourceType: 'auditd', appname: 'auditd', procid: 10125, host: null });
    expect(e.timestamp?.toISOString()).toBe('2022-01-21T00:09:01.072Z');
    expect(e.normalized).toEqual({
      audit_type: 'USER_ACCT',
      audit_serial: 375,
      action: 'user_acct',
      fields: {
        pid: '10125',
        uid: '0',
        auid: '4294967295',
        ses: '4294967295',
        op: 'PAM:accounting',
        acct: 'root',
        exe: '/usr/sbin/cron',
        hostname: '?',
        addr: '?',
        terminal: 'cron',
        res: 'success',
      },
      pid: 10125,
      uid: 0,
      user: 'root',
      process: '/usr/sbin/cron',
      terminal: 'cron',
      outcome: 'success',
      operation: 'PAM:accounting',
    });
  });

  it('decodes hex fields: proctitle, cmd, EXECVE arguments', () => {
    const p = parseOne(
      'type=PROCTITLE msg=audit(1642746582.129:529): proctitle=61707061726D6F725F706172736572002D72002D54',
    );
    expect(p.normalized.command_line).toBe('apparmor_parser -r -T');
    const c = parseOne(
      `type=USER_CMD msg=audit(1642999086.239:2230): pid=27966 uid=1002 auid=4294967295 ses=4294967295 msg='cwd="/var/www" cmd=636174202F6574632F736861646F77 terminal=pts/1 res=success'`,
    );
    expect(c.normalized).toMatchObject({ command_line: 'cat /etc/shadow', uid: 1002, outcome: 'success' });
    const x = parseOne('type=EXECVE msg=audit(1604994496.155:92733): argc=3 a0="ls" a1=2D6C61 a2="/tmp/a b"');
    expect(x.normalized.command_line).toBe('ls -la /tmp/a b');
  });

  it('keeps SYSCALL registers as they are and reads node= and key=(null)', () => {
    const e = parseOne(
      'node=srv1 type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59 success=yes exit=0 a0=558e251634a0 items=2 ppid=29002 pid=1631 auid=1000 uid=1000 tty=pts0 comm="arp" exe="/usr/sbin/arp" key=(null)',
    );
    expect(e.host).toBe('srv1');
    expect(e.normalized).toMatchObject({
      audit_type: 'SYSCALL',
      pid: 1631,
      ppid: 29002,
      uid: 1000,
      auid: 1000,
      process: '/usr/sbin/arp',
      process_name: 'arp',
      outcome: 'success',
    });
    expect((e.normalized.fields as Record<string, unknown>).a0).toBe('558e251634a0');
    expect((e.normalized.fields as Record<string, unknown>).key).toBeNull();
  });

  it('reads the source address of a login', () => {
    const e = parseOne(
      `type=USER_LOGIN msg=audit(1642761574.840:683): pid=14362 uid=0 auid=1002 ses=100 msg='op=login id=1002 exe="/usr/sbin/sshd" hostname=172.19.131.174 addr=172.19.131.174 terminal=/dev/pts/0 res=failed'`,
    );
    expect(e.normalized).toMatchObject({
      src_ip: '172.19.131.174',
      outcome: 'failure',
      action: 'user_login',
    });
  });

  it('rejects malformed records when forced', () => {
    expect(parseResult('type=X msg=audit(abc): a=1', 'auditd')).toEqual({
      ok: false,
      reason: 'auditd: invalid audit(time:serial)',
    });
    expect(parseResult('hello', 'auditd')).toEqual({ ok: false, reason: 'auditd: missing type=' });
  });
});
