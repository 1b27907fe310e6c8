import { describe, expect, it } from 'vitest';
import { parseOne, parseResult } from './testing.ts';

describe('RFC 5424', () => {
  it('parses the RFC example with structured data', () => {
    const e = parseOne(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] \uFEFFAn application event log entry',
    );
    expect(e).toMatchObject({
      sourceType: 'syslog_rfc5424',
      host: 'mymachine.example.com',
      appname: 'evntslog',
      procid: null,
      message: 'An application event log entry',
    });
    expect(e.timestamp?.toISOString()).toBe('2003-10-11T22:14:15.003Z');
    expect(e.normalized).toEqual({
      facility: 'local4',
      level: 'notice',
      msgid: 'ID47',
      sd: {
        'exampleSDID@32473': { iut: '3', eventSource: 'Application', eventID: '1011' },
        'examplePriority@32473': { class: 'high' },
      },
    });
  });

  it('unescapes SD values and applies sshd semantics', () => {
    const e = parseOne(
      '<86>1 2024-03-01T10:00:00+01:00 bastion sshd 4242 - [meta x="a\\"b\\]c"] Failed password for root from 2001:db8::7 port 2201 ssh2',
    );
    expect(e.procid).toBe(4242);
    expect(e.normalized).toMatchObject({
      sd: { meta: { x: 'a"b]c' } },
      action: 'ssh_login',
      outcome: 'failure',
      reason: 'failed_password',
      user: 'root',
      src_ip: '2001:db8::7',
      src_port: 2201,
    });
  });

  it('accepts nil values and rejects malformed headers when forced', () => {
    const e = parseOne('<14>1 - - - - - -');
    expect(e).toMatchObject({ timestamp: null, host: null, appname: null, message: '' });
    expect(parseResult('<14>1 2024-13-01T00:00:00Z h a - - - m', 'rfc5424')).toEqual({
      ok: false,
      reason: 'rfc5424: invalid timestamp at column 7',
    });
    expect(parseResult('<14>1 - h a - - [x y=1] m', 'rfc5424')).toEqual({
      ok: false,
      reason: 'rfc5424: bad SD-PARAM at column 20',
    });
    // In auto mode the same line is kept as text with a note.
    const t = parseOne('<14>1 - h a - - [x y=1] m');
    expect(t.sourceType).toBe('text');
    expect(t.notes).toEqual(['not rfc5424: rfc5424: bad SD-PARAM at column 20']);
  });
});
