/**
 * Indicator value normalisation (pure): one canonical text per indicator so that the same IOC from two feeds
 * lands on the same `indicators (tenant_id, type, value, source)` identity and matches log values exactly.
 *
 * Rules (documented here because feeds disagree):
 * - defanged forms are restored first (`hxxp://`, `[.]`, `(.)`, `[dot]`, `[:]`, `[@]`, `[at]`, ...);
 * - IPv4: strict dotted quad of decimal octets; a leading zero (`010.0.0.1`) is rejected, because inet_aton
 *   reads it as octal and other parsers as decimal, so the feed's intent is unknowable;
 * - IPv6: RFC 5952 text (lower case, no leading zeros, longest zero run compressed, IPv4-mapped kept dotted);
 *   zone ids (`%eth0`) are rejected;
 * - CIDR: network address + prefix (`10.1.2.3/8` -> `10.0.0.0/8`); the prefix must be plain decimal;
 * - domain: lower-cased, trailing dot removed; internationalised names are kept as given (Unicode or
 *   `xn--` punycode, not converted either way); at least two labels, labels of 1..63 characters;
 * - URL: scheme and host lower-cased (IP hosts canonical); userinfo, port, path, query, fragment as given;
 * - hashes: lower-case hex of the exact length of the algorithm;
 * - email: domain part normalised like a domain, local part kept as given (it is case-sensitive by RFC 5321).
 */
import { isIPv6 } from 'node:net';
import type { IndicatorType } from '../../domain/enums.ts';
import { compressIpv6Groups } from '../../domain/ipv6.ts';

export type NormalizeResult =
  { ok: true; type: IndicatorType; value: string; refanged: boolean } | { ok: false; reason: string };

/** Types this module can normalise; the others of INDICATOR_TYPES are refused by `normalizeIndicator`. */
export const NORMALIZABLE_TYPES = [
  'ip',
  'cidr',
  'domain',
  'url',
  'md5',
  'sha1',
  'sha256',
  'sha512',
  'email',
] as const satisfies readonly IndicatorType[];
export type NormalizableType = (typeof NORMALIZABLE_TYPES)[number];

export const HASH_LENGTHS = { md5: 32, sha1: 40, sha256: 64, sha512: 128 } as const;

const REFANG_RULES: [RegExp, string][] = [
  [/^\s*h(?:xx|XX|Xx|xX|\*\*)p(s?)(?:\[:\/\/\]|\[?:\]?\/\/)/, 'http$1://'],
  [/^\s*f[xX]p(?:\[:\/\/\]|\[?:\]?\/\/)/, 'ftp://'],
  [/\[:\/\/\]/g, '://'],
  [/\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\}|\\\./gi, '.'],
  [/\[\s*:\s*\]/g, ':'],
  [/\[\s*\/\s*\]/g, '/'],
  [/\[\s*(?:@|at)\s*\]|\(\s*(?:@|at)\s*\)|\{\s*(?:@|at)\s*\}/gi, '@'],
];

/** Restore the usual defanged forms; returns the input unchanged when nothing was defanged. */
export function refang(raw: string): string {
  let v = raw;
  for (const [re, to] of REFANG_RULES) v = v.replace(re, to);
  return v;
}

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

// ---------------------------------------------------------------------------------------------- IP addresses

/** Parse a strict dotted-quad IPv4 address into 4 octets, or return the reason it is not one. */
function parseIPv4(text: string): number[] | string {
  const parts = text.split('.');
  if (parts.length !== 4) return `"${text}" is not a dotted-quad IPv4 address`;
  const octets: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return `"${text}" has a non-decimal octet "${p}"`;
    if (p.length > 1 && p.startsWith('0'))
      return `"${text}" has a leading zero in octet "${p}" (octal or decimal?)`;
    const n = Number(p);
    if (n > 255) return `"${text}" has an octet above 255`;
    octets.push(n);
  }
  return octets;
}

/** Parse any valid IPv6 text (incl. `::` and an embedded IPv4 tail) into 8 16-bit groups. */
function parseIPv6(text: string): number[] | string {
  if (text.includes('%')) return `"${text}" has an IPv6 zone id, which is host-local`;
  if (!isIPv6(text)) return `"${text}" is not a valid IPv6 address`;
  let head = text;
  const lastColon = head.lastIndexOf(':');
  const last = head.slice(lastColon + 1);
  if (last.includes('.')) {
    // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups
    const v4 = parseIPv4(last);
    if (typeof v4 === 'string') return v4;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    head = `${head.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const want = 8;
  const halves = head.split('::');
  const toGroups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  let groups: number[];
  if (halves.length === 2) {
    const a = toGroups(halves[0] ?? '');
    const b = toGroups(halves[1] ?? '');
    groups = [...a, ...new Array<number>(want - a.length - b.length).fill(0), ...b];
  } else {
    groups = toGroups(head);
  }
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) {
    return `"${text}" is not a valid IPv6 address`;
  }
  return groups;
}

function formatIPv6(groups: number[]): string {
  // IPv4-mapped (::ffff:0:0/96): RFC 5952 section 5 keeps the dotted quad.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] ?? 0;
    const lo = groups[7] ?? 0;
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  return compressIpv6Groups(groups);
}

export function normalizeIp(raw: string): NormalizeResult {
  const text = refang(raw).trim();
  const refanged = text !== raw.trim();
  if (text === '') return fail('empty IP address');
  if (text.includes('/')) return fail(`"${text}" is a network (CIDR), not a single IP address`);
  if (text.includes(':')) {
    const g = parseIPv6(text.replace(/^\[(.*)\]$/, '$1'));
    return typeof g === 'string' ? fail(g) : { ok: true, type: 'ip', value: formatIPv6(g), refanged };
  }
  const o = parseIPv4(text);
  return typeof o === 'string' ? fail(o) : { ok: true, type: 'ip', value: o.join('.'), refanged };
}

export function normalizeCidr(raw: string): NormalizeResult {
  const text = refang(raw).trim();
  const refanged = text !== raw.trim();
  const slash = text.indexOf('/');
  if (slash < 0) return fail(`"${text}" has no "/prefix"`);
  const addr = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText)) return fail(`"${text}" has an invalid prefix "${prefixText}"`);
  const prefix = Number(prefixText);
  if (addr.includes(':')) {
    const g = parseIPv6(addr);
    if (typeof g === 'string') return fail(g);
    if (prefix > 128) return fail(`"${text}" has an IPv6 prefix above 128`);
    let n = g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n);
    const hostBits = BigInt(128 - prefix);
    n = (n >> hostBits) << hostBits;
    const out: number[] = [];
    for (let i = 7; i >= 0; i--) out.push(Number((n >> BigInt(i * 16)) & 0xffffn));
    return { ok: true, type: 'cidr', value: `${formatIPv6(out)}/${prefix}`, refanged };
  }
  const o = parseIPv4(addr);
  if (typeof o === 'string') return fail(o);
  if (prefix > 32) return fail(`"${text}" has an IPv4 prefix above 32`);
  const n = o.reduce((acc, x) => acc * 256 + x, 0);
  const size = 2 ** (32 - prefix);
  const net = Math.floor(n / size) * size;
  const value = [net >>> 24, (net >>> 16) & 0xff, (net >>> 8) & 0xff, net & 0xff].join('.');
  return { ok: true, type: 'cidr', value: `${value}/${prefix}`, refanged };
}

// ---------------------------------------------------------------------------------------------- names

const LABEL = /^(?!-)[\p{L}\p{M}\p{N}_-]{1,63}$/u;

/** Shared by domains, URL hosts and email domains; returns the reason when invalid. */
function checkDomain(text: string, minLabels: number): string | undefined {
  if (text === '') return 'empty domain';
  if (/\s/.test(text)) return `"${text}" contains whitespace`;
  if (text.length > 253) return `"${text}" is longer than 253 characters`;
  const labels = text.split('.');
  if (labels.length < minLabels) return `"${text}" has fewer than ${minLabels} labels`;
  for (const l of labels) {
    if (l === '') return `"${text}" has an empty label`;
    if (!LABEL.test(l)) return `"${text}" has an invalid label "${l}"`;
  }
  if (labels.every((l) => /^\d+$/.test(l))) return `"${text}" is an IP address, not a domain`;
  const tld = labels[labels.length - 1] ?? '';
  if (/^\d+$/.test(tld)) return `"${text}" has an all-numeric top-level label`;
  return undefined;
}

export function normalizeDomain(raw: string): NormalizeResult {
  const text = refang(raw).trim();
  const refanged = text !== raw.trim();
  const value = text.toLowerCase().replace(/\.$/, '');
  if (value.includes('/') || value.includes(':')) return fail(`"${text}" looks like a URL, not a domain`);
  const why = checkDomain(value, 2);
  return why ? fail(why) : { ok: true, type: 'domain', value, refanged };
}

export function normalizeEmail(raw: string): NormalizeResult {
  const text = refang(raw)
    .trim()
    .replace(/^mailto:/i, '');
  const refanged = text !== raw.trim();
  const at = text.lastIndexOf('@');
  if (at <= 0) return fail(`"${text}" has no local part and "@"`);
  const local = text.slice(0, at);
  const domain = text
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  if (local.length > 64) return fail(`"${text}" has a local part longer than 64 characters`);
  if (/[\s@<>(),;:"[\]\\]/.test(local)) return fail(`"${text}" has an invalid character in its local part`);
  const why = checkDomain(domain, 2);
  return why
    ? fail(`email domain: ${why}`)
    : { ok: true, type: 'email', value: `${local}@${domain}`, refanged };
}

export function normalizeUrl(raw: string): NormalizeResult {
  const text = refang(raw).trim();
  const refanged = text !== raw.trim();
  if (/\s/.test(text) || [...text].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) {
    return fail('URL contains whitespace or control characters');
  }
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(text);
  if (!m) return fail(`"${text.slice(0, 200)}" is not an absolute URL (scheme://host...)`);
  const scheme = (m[1] ?? '').toLowerCase();
  const authority = m[2] ?? '';
  const rest = m[3] ?? '';
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at + 1) : '';
  const hostPort = authority.slice(at + 1);
  let host: string;
  let port = '';
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) return fail(`URL host "${hostPort}" has an unclosed IPv6 bracket`);
    const ip = normalizeIp(hostPort.slice(1, close));
    if (!ip.ok) return fail(`URL host: ${ip.reason}`);
    host = `[${ip.value}]`;
    port = hostPort.slice(close + 1);
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    port = colon >= 0 ? hostPort.slice(colon) : '';
    if (host === '') return fail('URL has an empty host');
    if (/^[\d.]+$/.test(host)) {
      const ip = normalizeIp(host);
      if (!ip.ok) return fail(`URL host: ${ip.reason}`);
      host = ip.value;
    } else {
      host = host.toLowerCase().replace(/\.$/, '');
      const why = checkDomain(host, 1);
      if (why) return fail(`URL host: ${why}`);
    }
  }
  if (port !== '' && !/^:\d{1,5}$/.test(port)) return fail(`URL has an invalid port "${port}"`);
  if (port !== '' && Number(port.slice(1)) > 65535) return fail(`URL port ${port.slice(1)} is above 65535`);
  return { ok: true, type: 'url', value: `${scheme}://${userinfo}${host}${port}${rest}`, refanged };
}

export function normalizeHash(type: keyof typeof HASH_LENGTHS, raw: string): NormalizeResult {
  const value = raw.trim().toLowerCase();
  const want = HASH_LENGTHS[type];
  if (!/^[0-9a-f]*$/.test(value)) return fail(`${type} "${raw.trim()}" is not hexadecimal`);
  if (value.length !== want) return fail(`${type} must be ${want} hex characters, got ${value.length}`);
  return { ok: true, type, value, refanged: false };
}

/** Normalise `raw` as an indicator of `type`; types outside NORMALIZABLE_TYPES are refused. */
export function normalizeIndicator(type: IndicatorType, raw: string): NormalizeResult {
  switch (type) {
    case 'ip':
      return normalizeIp(raw);
    case 'cidr':
      return normalizeCidr(raw);
    case 'domain':
      return normalizeDomain(raw);
    case 'url':
      return normalizeUrl(raw);
    case 'email':
      return normalizeEmail(raw);
    case 'md5':
    case 'sha1':
    case 'sha256':
    case 'sha512':
      return normalizeHash(type, raw);
    default:
      return fail(`indicator type "${type}" has no normaliser`);
  }
}

/** An IP or a network: `1.2.3.4` -> ip, `1.2.3.0/24` -> cidr (feeds such as FireHOL and STIX mix both). */
export function normalizeIpOrCidr(raw: string): NormalizeResult {
  return refang(raw).includes('/') ? normalizeCidr(raw) : normalizeIp(raw);
}
