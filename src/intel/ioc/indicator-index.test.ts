import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalIp } from '../../domain/schemas/indicator.schema.ts';
import {
  combineHits,
  IndicatorIndex,
  MatchQuery,
  parseIpv4,
  parseIpv6,
  type IndicatorHit,
  type IndicatorHits,
} from './indicator-index.ts';

let n = 0;
const hit = (type: IndicatorHit['type'], value: string, expiresAt: Date | null = null): IndicatorHit => ({
  id: `00000000-0000-4000-8000-${String((n += 1)).padStart(12, '0')}`,
  type,
  value,
  source: 'unit',
  confidence: null,
  threatType: null,
  expiresAt,
});

function build(rows: IndicatorHit[]): IndicatorIndex {
  const index = new IndicatorIndex();
  for (const r of rows) index.add(r);
  return index.seal();
}

/** The unexpired hits of `value` over the indexes, as sorted values. */
function match(indexes: IndicatorIndex[], value: string, nowMs = Date.now()): string[] {
  const q = new MatchQuery().set(value);
  const parts: IndicatorHits[] = [];
  for (const i of indexes) i.collect(q, parts);
  return (combineHits(parts, nowMs) ?? []).map((h) => h.value).sort();
}

describe('parseIpv4 / parseIpv6 agree with node:net (and canonicalIp)', () => {
  it('parses what isIP accepts and nothing else', () => {
    const words = new Uint32Array(4);
    const cases = [
      '0.0.0.0',
      '255.255.255.255',
      '256.1.1.1',
      '01.2.3.4',
      '1.2.3',
      '1.2.3.4.',
      '1..2.3',
      '::',
      '::1',
      '1::',
      ':1::',
      '1:::2',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7::',
      '1:2:3:4:5:6:7::8',
      '::ffff:1.2.3.4',
      '::ffff:01.2.3.4',
      '1:2:3:4:5:6:1.2.3.4',
      '1:2:3:4:5:6::1.2.3.4',
      'fe80::1%eth0',
      '12345::',
      'g::1',
      'FE80::ABCD',
      '1:',
    ];
    for (const c of cases) {
      expect(parseIpv4(c) >= 0, c).toBe(isIP(c) === 4);
      expect(parseIpv6(c, words), c).toBe(isIP(c) === 6 && !c.includes('%'));
    }
  });

  it('round-trips random addresses in every text form', () => {
    const words = new Uint32Array(4);
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended()), (ip) => {
        const family = isIP(ip);
        if (family === 4) {
          expect(parseIpv4(ip)).toBe(ip.split('.').reduce((a, o) => a * 256 + Number(o), 0));
        } else if (family === 6) {
          expect(parseIpv6(ip, words)).toBe(true);
          const groups: string[] = [];
          for (const w of words) groups.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
          expect(canonicalIp(groups.join(':'))).toBe(canonicalIp(ip));
        } else {
          expect(parseIpv4(ip)).toBe(-1);
          expect(parseIpv6(ip, words)).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('IndicatorIndex', () => {
  it('matches /0, /32 and /31 IPv4 networks, and /0 and /128 IPv6 ones', () => {
    const index = build([
      hit('cidr', '0.0.0.0/0'),
      hit('cidr', '203.0.113.7/32'),
      hit('cidr', '203.0.113.8/31'),
      hit('cidr', '::/0'),
      hit('cidr', '2001:db8::7/128'),
    ]);
    // ::/0 contains ::ffff:0:0/96, so (IPv4 being IPv4-mapped IPv6) every IPv4 address too.
    expect(match([index], '9.9.9.9')).toEqual(['0.0.0.0/0', '::/0']);
    expect(match([index], '203.0.113.7')).toEqual(['0.0.0.0/0', '203.0.113.7/32', '::/0']);
    expect(match([index], '203.0.113.8')).toEqual(['0.0.0.0/0', '203.0.113.8/31', '::/0']);
    expect(match([index], '203.0.113.9')).toEqual(['0.0.0.0/0', '203.0.113.8/31', '::/0']);
    expect(match([index], '203.0.113.10')).toEqual(['0.0.0.0/0', '::/0']);
    expect(match([index], '2001:DB8:0::7')).toEqual(['2001:db8::7/128', '::/0']);
    expect(match([index], '2001:db8::8')).toEqual(['::/0']);
    expect(match([index], 'not an ip')).toEqual([]);
  });

  it('returns every indicator of overlapping networks and equal values, from every index', () => {
    const global = build([
      hit('cidr', '10.0.0.0/8'),
      hit('cidr', '10.1.0.0/16'),
      hit('cidr', '10.1.2.0/24'),
      hit('cidr', '10.1.2.0/24'), // the same network from a second source
      hit('ip', '10.1.2.3'),
      hit('cidr', '2001:db8::/32'),
      hit('cidr', '2001:db8:1::/48'),
      hit('cidr', '2001:db8:1:2::/64'),
    ]);
    const own = build([hit('cidr', '10.1.2.0/25'), hit('domain', 'evil.example')]);
    expect(match([global, own], '10.1.2.3')).toEqual([
      '10.0.0.0/8',
      '10.1.0.0/16',
      '10.1.2.0/24',
      '10.1.2.0/24',
      '10.1.2.0/25',
      '10.1.2.3',
    ]);
    expect(match([global, own], '10.1.2.200')).toEqual([
      '10.0.0.0/8',
      '10.1.0.0/16',
      '10.1.2.0/24',
      '10.1.2.0/24',
    ]);
    expect(match([global, own], '2001:db8:1:2::5')).toEqual([
      '2001:db8:1:2::/64',
      '2001:db8:1::/48',
      '2001:db8::/32',
    ]);
    expect(match([global, own], 'EVIL.example')).toEqual(['evil.example']);
    expect(match([global], 'evil.example')).toEqual([]); // the tenant's own index holds it
  });

  it('treats an IPv4 address and its IPv4-mapped IPv6 form as one address', () => {
    const index = build([
      hit('ip', '192.0.2.1'),
      hit('cidr', '198.51.100.0/24'),
      hit('ip', '::ffff:c000:202'), // ::ffff:192.0.2.2
      hit('cidr', '::ffff:203.0.113.0/120'), // 203.0.113.0/24
      hit('cidr', '::ffff:0:0/96'), // every IPv4 address
      hit('cidr', '2001:db8::/32'),
    ]);
    expect(match([index], '::ffff:192.0.2.1')).toEqual(['192.0.2.1', '::ffff:0:0/96']);
    expect(match([index], '::FFFF:C000:201')).toEqual(['192.0.2.1', '::ffff:0:0/96']);
    expect(match([index], '192.0.2.2')).toEqual(['::ffff:0:0/96', '::ffff:c000:202']);
    expect(match([index], '::ffff:198.51.100.9')).toEqual(['198.51.100.0/24', '::ffff:0:0/96']);
    expect(match([index], '203.0.113.99')).toEqual(['::ffff:0:0/96', '::ffff:203.0.113.0/120']);
    // Not mapped: ::192.0.2.1 (IPv4-compatible) and 64:ff9b::/96 are other IPv6 addresses.
    expect(match([index], '::192.0.2.1')).toEqual([]);
    expect(match([index], '64:ff9b::c000:201')).toEqual([]);
    expect(match([index], '2001:db8::1')).toEqual(['2001:db8::/32']);
  });

  it('leaves out expired hits, and shares a hit array only when nothing in it expired', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const past = new Date(now - 1000);
    const future = new Date(now + 1000);
    const index = build([
      hit('domain', 'a.example'),
      hit('domain', 'b.example', past),
      hit('domain', 'b.example', future),
      hit('domain', 'c.example', past),
      hit('cidr', '10.0.0.0/8', past),
    ]);
    expect(match([index], 'a.example', now)).toEqual(['a.example']);
    expect(match([index], 'b.example', now)).toEqual(['b.example']);
    expect(match([index], 'c.example', now)).toEqual([]);
    expect(match([index], '10.0.0.1', now)).toEqual([]);
    expect(match([index], 'c.example', now - 2000)).toEqual(['c.example']);

    const q = new MatchQuery().set('a.example');
    const first: IndicatorHits[] = [];
    index.collect(q, first);
    const again: IndicatorHits[] = [];
    index.collect(q, again);
    expect(combineHits(first, now)).toBe(combineHits(again, now)); // shared, not copied
    expect(Object.isFrozen(combineHits(first, now))).toBe(true);
    const b: IndicatorHits[] = [];
    index.collect(new MatchQuery().set('b.example'), b);
    expect(combineHits(b, now)).not.toBe(b[0]); // filtered copy
  });

  it('compares case-insensitive types case-insensitively only, and trims values', () => {
    const index = build([
      hit('sha256', 'a'.repeat(64)),
      hit('url', 'http://x.example/A'),
      hit('ip', '198.51.100.1'),
    ]);
    expect(match([index], 'A'.repeat(64))).toEqual(['a'.repeat(64)]);
    expect(match([index], 'http://x.example/A')).toEqual(['http://x.example/A']);
    expect(match([index], 'HTTP://X.EXAMPLE/A')).toEqual([]);
    expect(match([index], ' 198.51.100.1\t')).toEqual(['198.51.100.1']);
    expect(match([index], '198.051.100.1')).toEqual([]); // a leading zero is no IPv4 address
  });

  it('agrees with a plain containment test on random addresses against many networks (bitsets in front)', () => {
    let x = 987654321;
    const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    const nets: { v: string; base: number; mask: number }[] = [];
    for (let i = 0; i < 1500; i++) {
      const p = 16 + (next() % 15); // /16 .. /30: about 100 per length, so each length gets a bitset
      const mask = (0xffffffff << (32 - p)) >>> 0;
      const base = (next() & mask) >>> 0;
      const v = `${base >>> 24}.${(base >>> 16) & 255}.${(base >>> 8) & 255}.${base & 255}/${p}`;
      nets.push({ v, base, mask });
    }
    const index = build(nets.map((net) => hit('cidr', net.v)));
    for (let i = 0; i < 3000; i++) {
      // Half inside a random network, half anywhere.
      let ip = next();
      if (i % 2 === 0) {
        const net = nets[next() % nets.length]!;
        ip = (net.base + (next() & ~net.mask)) >>> 0;
      }
      const text = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
      const want = nets
        .filter((net) => (ip & net.mask) >>> 0 === net.base)
        .map((net) => net.v)
        .sort();
      expect(match([index], text), text).toEqual(want);
    }
  });
});
