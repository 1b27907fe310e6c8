import { describe, expect, it } from 'vitest';
import {
  normalizeCidr,
  normalizeDomain,
  normalizeEmail,
  normalizeHash,
  normalizeIndicator,
  normalizeIp,
  normalizeIpOrCidr,
  normalizeUrl,
  refang,
  type NormalizeResult,
} from './normalize.ts';

const ok = (r: NormalizeResult): string => {
  if (!r.ok) throw new Error(`expected ok, got rejection: ${r.reason}`);
  return r.value;
};
const reason = (r: NormalizeResult): string => {
  if (r.ok) throw new Error(`expected a rejection, got ${r.value}`);
  return r.reason;
};

describe('refang', () => {
  it.each([
    ['hxxp://evil[.]com/a', 'http://evil.com/a'],
    ['hXXps[:]//evil(.)com', 'https://evil.com'],
    ['hxxps[://]evil[dot]com', 'https://evil.com'],
    ['user[@]example{.}org', 'user@example.org'],
    ['user(at)example[.]org', 'user@example.org'],
    ['1.2.3[.]4', '1.2.3.4'],
    ['evil\\.com', 'evil.com'],
    ['fxp://files[.]example', 'ftp://files.example'],
    ['http://plain.example/path', 'http://plain.example/path'],
  ])('%s -> %s', (input, want) => expect(refang(input)).toBe(want));
});

describe('IP addresses', () => {
  it('canonicalises IPv4 and rejects ambiguous or invalid forms', () => {
    expect(ok(normalizeIp(' 192.0.2.1 '))).toBe('192.0.2.1');
    expect(ok(normalizeIp('192[.]0[.]2[.]1'))).toBe('192.0.2.1');
    expect(reason(normalizeIp('010.0.0.1'))).toMatch(/leading zero/);
    expect(reason(normalizeIp('1.2.3.256'))).toMatch(/above 255/);
    expect(reason(normalizeIp('1.2.3'))).toMatch(/dotted-quad/);
    expect(reason(normalizeIp('0x7f.0.0.1'))).toMatch(/non-decimal/);
    expect(reason(normalizeIp('10.0.0.0/8'))).toMatch(/CIDR/);
    expect(reason(normalizeIp(''))).toMatch(/empty/);
  });

  it('writes IPv6 in RFC 5952 form', () => {
    expect(ok(normalizeIp('2001:0DB8:0000:0000:0000:0000:0000:0001'))).toBe('2001:db8::1');
    expect(ok(normalizeIp('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1'); // first of equal runs
    expect(ok(normalizeIp('2001:db8:0:1:1:1:1:1'))).toBe('2001:db8:0:1:1:1:1:1'); // one zero group stays
    expect(ok(normalizeIp('0:0:0:0:0:0:0:0'))).toBe('::');
    expect(ok(normalizeIp('::FFFF:192.0.2.1'))).toBe('::ffff:192.0.2.1');
    expect(ok(normalizeIp('::ffff:c000:201'))).toBe('::ffff:192.0.2.1');
    expect(ok(normalizeIp('[2001:db8::1]'))).toBe('2001:db8::1');
    expect(reason(normalizeIp('fe80::1%eth0'))).toMatch(/zone id/);
    expect(reason(normalizeIp('2001:db8::g'))).toMatch(/not a valid IPv6/);
  });
});

describe('CIDR', () => {
  it('masks host bits and validates the prefix', () => {
    expect(ok(normalizeCidr('10.1.2.3/8'))).toBe('10.0.0.0/8');
    expect(ok(normalizeCidr('192.168.1.255/31'))).toBe('192.168.1.254/31');
    expect(ok(normalizeCidr('0.0.0.0/0'))).toBe('0.0.0.0/0');
    expect(ok(normalizeCidr('203.0.113.7/32'))).toBe('203.0.113.7/32');
    expect(ok(normalizeCidr('2001:DB8:1:2::1/32'))).toBe('2001:db8::/32');
    expect(ok(normalizeCidr('2001:db8::1/128'))).toBe('2001:db8::1/128');
    expect(reason(normalizeCidr('1.2.3.4/33'))).toMatch(/above 32/);
    expect(reason(normalizeCidr('1.2.3.4/08'))).toMatch(/invalid prefix/);
    expect(reason(normalizeCidr('2001:db8::/129'))).toMatch(/above 128/);
    expect(reason(normalizeCidr('1.2.3.4'))).toMatch(/no "\/prefix"/);
    expect(normalizeIpOrCidr('1.2.3.4/24')).toMatchObject({ ok: true, type: 'cidr', value: '1.2.3.0/24' });
    expect(normalizeIpOrCidr('1.2.3.4')).toMatchObject({ ok: true, type: 'ip', value: '1.2.3.4' });
  });
});

describe('domains, URLs, emails, hashes', () => {
  it('lower-cases domains, keeps IDN as given, rejects non-domains', () => {
    expect(ok(normalizeDomain('WWW.Example[.]COM.'))).toBe('www.example.com');
    expect(ok(normalizeDomain('Bücher.DE'))).toBe('bücher.de');
    expect(ok(normalizeDomain('xn--bcher-kva.de'))).toBe('xn--bcher-kva.de');
    expect(ok(normalizeDomain('_dmarc.example.org'))).toBe('_dmarc.example.org');
    expect(reason(normalizeDomain('domain autuo.xicp.net'))).toMatch(/whitespace/);
    expect(reason(normalizeDomain('192.0.2.1'))).toMatch(/IP address/);
    expect(reason(normalizeDomain('localhost'))).toMatch(/fewer than 2 labels/);
    expect(reason(normalizeDomain('a..b'))).toMatch(/empty label/);
    expect(reason(normalizeDomain('-bad.example'))).toMatch(/invalid label/);
    expect(reason(normalizeDomain('http://x.example/'))).toMatch(/URL/);
    expect(reason(normalizeDomain(`${'a'.repeat(64)}.example`))).toMatch(/invalid label/);
  });

  it('lower-cases URL scheme and host only, restores defanged URLs', () => {
    expect(ok(normalizeUrl('HTTP://Evil.EXAMPLE:8080/Path/A?Q=B#F'))).toBe(
      'http://evil.example:8080/Path/A?Q=B#F',
    );
    expect(ok(normalizeUrl('hxxps://evil[.]example/x.EXE'))).toBe('https://evil.example/x.EXE');
    expect(normalizeUrl('hxxp://evil[.]example/')).toMatchObject({ ok: true, refanged: true });
    expect(ok(normalizeUrl('http://User:Pw@Host.Example/'))).toBe('http://User:Pw@host.example/');
    expect(ok(normalizeUrl('http://[2001:DB8::1]:80/a'))).toBe('http://[2001:db8::1]:80/a');
    expect(ok(normalizeUrl('http://192.0.2.1:60905/bin.sh'))).toBe('http://192.0.2.1:60905/bin.sh');
    expect(reason(normalizeUrl('www.example.com/a'))).toMatch(/not an absolute URL/);
    expect(reason(normalizeUrl('http://a b.example/'))).toMatch(/whitespace/);
    expect(reason(normalizeUrl('http://host.example:99999/'))).toMatch(/above 65535/);
    expect(reason(normalizeUrl('http://010.0.0.1/'))).toMatch(/leading zero/);
    expect(reason(normalizeUrl('http:///path'))).toMatch(/empty host/);
    expect(reason(normalizeUrl('http://host.example/a\u0000b'))).toMatch(/control characters/);
  });

  it('normalises emails and hashes', () => {
    expect(ok(normalizeEmail('John.Doe[@]Example[.]COM'))).toBe('John.Doe@example.com');
    expect(ok(normalizeEmail('mailto:a@b.example'))).toBe('a@b.example');
    expect(reason(normalizeEmail('no-at.example'))).toMatch(/"@"/);
    expect(reason(normalizeEmail('a@localhost'))).toMatch(/email domain/);
    expect(ok(normalizeHash('md5', ' 0749BAE92CA336A02C83D126E04EC628 '))).toBe(
      '0749bae92ca336a02c83d126e04ec628',
    );
    expect(reason(normalizeHash('sha1', '0749bae92ca336a02c83d126e04ec628'))).toMatch(
      /40 hex characters, got 32/,
    );
    expect(reason(normalizeHash('sha256', 'z'.repeat(64)))).toMatch(/not hexadecimal/);
    expect(reason(normalizeIndicator('filename', 'a.exe'))).toMatch(/no normaliser/);
    expect(normalizeIndicator('sha512', 'A'.repeat(128))).toMatchObject({ ok: true, value: 'a'.repeat(128) });
  });
});
