import { describe, expect, it } from 'vitest';
import { createStreamParser } from '../index.ts';
import { looksLikeCsvHeader, splitCsv } from './csv.ts';
import { REF } from './testing.ts';

describe('CSV', () => {
  it('splits RFC 4180 fields', () => {
    expect(splitCsv('a,"b,c","d ""e""",')).toEqual(['a', 'b,c', 'd "e"', '']);
    expect(splitCsv('a,"b')).toBe('csv: unterminated quoted field at column 3');
  });

  it('recognises plausible headers only', () => {
    expect(looksLikeCsvHeader('time,name,ip,host,short,time_label,event_label')).toBe(true);
    expect(looksLikeCsvHeader('LineId,Date,Day,Time,Component,Pid,Content,EventId,EventTemplate')).toBe(true);
    expect(looksLikeCsvHeader('Hello, world')).toBe(false);
    expect(looksLikeCsvHeader('# AIT Alert Data Set (AIT-ADS)')).toBe(false);
    expect(looksLikeCsvHeader('a,a')).toBe(false);
  });

  it('skips the header and turns rows into objects (Loghub structured OpenSSH)', () => {
    const p = createStreamParser({ format: 'auto', referenceTime: REF });
    expect(p.parse('LineId,Date,Day,Time,Component,Pid,Content,EventId,EventTemplate\r')).toEqual({
      ok: false,
      reason: 'csv_header',
      skip: true,
    });
    const r = p.parse(
      '2,Dec,10,06:55:46,LabSZ,24200,Invalid user webmaster from 173.234.31.186,E13,Invalid user <*> from <*>',
    );
    if (!r.ok) throw new Error(r.reason);
    expect(r.event).toMatchObject({
      sourceType: 'csv',
      appname: 'LabSZ',
      procid: 24200,
      message: 'Invalid user webmaster from 173.234.31.186',
      original: { LineId: '2', Date: 'Dec', Day: '10', EventId: 'E13' },
    });
    expect(r.event.timestamp?.toISOString()).toBe('2024-12-10T06:55:46.000Z');
    expect(r.event.normalized).toEqual({ src_ip: '173.234.31.186', user: 'webmaster' });
    expect(p.parse('3,Dec,10,06:55:46')).toEqual({ ok: false, reason: 'csv: expected 9 fields, got 4' });
  });

  it('reads epoch time columns, quoted cells and forced csv', () => {
    const p = createStreamParser({ format: 'csv', referenceTime: REF });
    expect(p.parse('LineId,Type,Time,Content')).toMatchObject({ skip: true });
    const r = p.parse(`0,USER_ACCT,1642723741.072:375,"pid=10125 msg='op=PAM:accounting acct=""root""'"`);
    if (!r.ok) throw new Error(r.reason);
    expect(r.event.timestamp?.toISOString()).toBe('2022-01-21T00:09:01.072Z');
    expect(r.event.message).toBe(`pid=10125 msg='op=PAM:accounting acct="root"'`);
    expect(r.event.normalized).toEqual({ user: 'root' });
  });

  it('is not auto-detected after the first record', () => {
    const p = createStreamParser({ format: 'auto', referenceTime: REF });
    expect(p.parse('hello')).toMatchObject({ ok: true, event: { sourceType: 'text' } });
    expect(p.parse('a,b,c')).toMatchObject({ ok: true, event: { sourceType: 'text' } });
  });
});
