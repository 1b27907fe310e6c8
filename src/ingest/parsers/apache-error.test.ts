import { describe, expect, it } from 'vitest';
import { parseOne, parseResult } from './testing.ts';

describe('Apache error log', () => {
  it('parses a Loghub 2.2 line with a client', () => {
    const e = parseOne(
      '[Sun Dec 04 20:47:17 2005] [error] [client 81.199.21.119] Directory index forbidden by rule: /var/www/html/\r',
    );
    expect(e).toMatchObject({
      sourceType: 'apache_error',
      appname: 'apache',
      message: 'Directory index forbidden by rule: /var/www/html/',
    });
    expect(e.timestamp?.toISOString()).toBe('2005-12-04T20:47:17.000Z');
    expect(e.normalized).toEqual({ level: 'error', src_ip: '81.199.21.119' });
  });

  it('parses a notice without client', () => {
    const e = parseOne(
      '[Sun Dec 04 04:51:08 2005] [notice] jk2_init() Found child 6725 in scoreboard slot 10',
    );
    expect(e.normalized).toEqual({ level: 'notice' });
    expect(e.message).toBe('jk2_init() Found child 6725 in scoreboard slot 10');
  });

  it('parses the 2.4 form with module, pid and client port', () => {
    const e = parseOne(
      '[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187:51234] File does not exist: /usr/local/apache2/htdocs/favicon.ico',
    );
    expect(e.procid).toBe(35708);
    expect(e.timestamp?.toISOString()).toBe('2000-10-11T14:32:52.123Z');
    expect(e.normalized).toEqual({ module: 'core', level: 'error', src_ip: '72.15.99.187', src_port: 51234 });
  });

  it('rejects a bad date when forced', () => {
    expect(parseResult('[Sun Foo 04 20:47:17 2005] [error] x', 'apache_error')).toEqual({
      ok: false,
      reason: 'apache_error: invalid timestamp in [...]',
    });
  });
});
