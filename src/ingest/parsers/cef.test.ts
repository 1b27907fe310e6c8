import { describe, expect, it } from 'vitest';
import { readExtension } from './cef.ts';
import { parseOne, parseResult } from './testing.ts';

describe('CEF', () => {
  it('parses header and extension with escapes', () => {
    const e = parseOne(
      'CEF:0|Security|threatmanager|1.0|100|detected a \\| in message|10|src=10.0.0.1 act=blocked a \\= dst=2.1.2.2 spt=1232 dpt=22 suser=alice duser=root msg=multi word\\nline outcome=failure rt=1577836800000',
    );
    expect(e).toMatchObject({
      sourceType: 'cef',
      appname: 'threatmanager',
      message: 'multi word\nline',
    });
    expect(e.timestamp?.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(e.normalized).toMatchObject({
      cef_version: '0',
      cef_vendor: 'Security',
      cef_product: 'threatmanager',
      cef_device_version: '1.0',
      cef_signature_id: '100',
      cef_name: 'detected a | in message',
      cef_severity: 10,
      src_ip: '10.0.0.1',
      dst_ip: '2.1.2.2',
      src_port: 1232,
      dst_port: 22,
      user: 'root',
      src_user: 'alice',
      action: 'blocked a =',
      outcome: 'failure',
    });
  });

  it('parses CEF after a syslog header', () => {
    const e = parseOne(
      'Sep 19 08:26:10 host CEF:0|Vendor|Product|1.2|4000|Login failed|High|suser=bob src=192.0.2.1 dhost=web.example.com',
    );
    expect(e).toMatchObject({ sourceType: 'cef', host: 'host', message: 'Login failed' });
    expect(e.timestamp?.toISOString()).toBe('2025-09-19T08:26:10.000Z');
    expect(e.normalized).toMatchObject({
      cef_severity: 'High',
      user: 'bob',
      src_ip: '192.0.2.1',
      dst_host: 'web.example.com',
    });
  });

  it('reads extension keys, keeps = inside values', () => {
    expect(readExtension('cs1Label=url cs1=http://x/?a=b&c=d request=GET /')).toEqual({
      cs1Label: 'url',
      cs1: 'http://x/?a=b&c=d',
      request: 'GET /',
    });
  });

  it('rejects a short header when forced', () => {
    expect(parseResult('CEF:0|a|b|c', 'cef')).toEqual({ ok: false, reason: 'cef: header has 4 of 7 fields' });
    expect(parseResult('Sep 19 08:26:10 host sshd: hi', 'cef')).toMatchObject({ ok: false });
  });
});
