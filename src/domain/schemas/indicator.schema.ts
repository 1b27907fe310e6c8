import { isIP } from 'node:net';
import { z } from 'zod';
import { INDICATOR_STATUSES, INDICATOR_TYPES, type IndicatorType } from '../enums.ts';
import { jsonObject, stringList } from './common.schema.ts';

const flag = z.union([z.boolean(), z.stringbool()]);

/** An IPv4 or IPv6 address PostgreSQL's `inet` accepts (no zone index), or undefined. */
export function canonicalIp(raw: string): string | undefined {
  const s = raw.trim();
  if (s.includes('%')) return undefined;
  const v = isIP(s);
  if (v === 4) return s;
  if (v === 6) return new URL(`http://[${s}]`).hostname.slice(1, -1); // RFC 5952 form, lower-case
  return undefined;
}

/**
 * The same address in the other form: `a.b.c.d` <-> `::ffff:a.b.c.d` (canonical, `::ffff:xxxx:yyyy`), or
 * undefined for an IPv6 address that is not IPv4-mapped. `ip` is canonical (canonicalIp).
 */
export function mappedCounterpart(ip: string): string | undefined {
  if (!ip.includes(':')) return canonicalIp(`::ffff:${ip}`);
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (!m) return undefined;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function ipv4ToBig(a: string): bigint {
  return a.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function bigToIpv4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join('.');
}

/** `canonical` is already RFC 5952 (embedded IPv4 rewritten as hex groups). */
function ipv6ToBig(canonical: string): bigint {
  const [head = '', tail] = canonical.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function bigToIpv6(n: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  return canonicalIp(groups.join(':'))!;
}

/**
 * `203.0.113.7/24` -> `203.0.113.0/24` (host bits cleared, as PostgreSQL's `cidr` requires);
 * an address without a prefix is a single-host network. Undefined when it is not a network.
 */
export function canonicalCidr(raw: string): string | undefined {
  const s = raw.trim();
  const slash = s.indexOf('/');
  const addr = canonicalIp(slash < 0 ? s : s.slice(0, slash));
  if (!addr) return undefined;
  const v6 = addr.includes(':');
  const bits = v6 ? 128 : 32;
  let prefix = bits;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > bits) return undefined;
  }
  const all = (1n << BigInt(bits)) - 1n;
  const mask = prefix === 0 ? 0n : (all >> BigInt(bits - prefix)) << BigInt(bits - prefix);
  const net = (v6 ? ipv6ToBig(addr) : ipv4ToBig(addr)) & mask;
  return `${v6 ? bigToIpv6(net) : bigToIpv4(net)}/${prefix}`;
}

/** Undo the usual defanging of feeds and reports: `hxxp://evil[.]com` -> `http://evil.com`. */
export function refang(s: string): string {
  return s
    .replace(/\[\.\]|\(\.\)|\{\.\}|\[dot\]/gi, '.')
    .replace(/\[:\]/g, ':')
    .replace(/\[@\]|\[at\]/gi, '@')
    .replace(/^hxxp(s?):\/\//i, 'http$1://')
    .replace(/^fxp:\/\//i, 'ftp://');
}

const HASH_LENGTHS: Partial<Record<IndicatorType, number>> = { md5: 32, sha1: 40, sha256: 64, sha512: 128 };

/** Types whose stored value is lower-case, so a lookup may compare them case-insensitively. */
export const CASE_INSENSITIVE_INDICATOR_TYPES = [
  'domain',
  'email',
  'md5',
  'sha1',
  'sha256',
  'sha512',
  'ja3',
] as const satisfies readonly IndicatorType[];

/**
 * The one normal form of an indicator value, so that the same indicator from two feeds is one row and a
 * lookup compares like with like: canonical IPs and networks, lower-case domains, e-mails and hashes,
 * refanged URLs and domains. Returns an error message for values that cannot be of that type.
 */
export function normalizeIndicatorValue(
  type: IndicatorType,
  raw: string,
): { value: string } | { error: string } {
  const s = raw.trim();
  switch (type) {
    case 'ip': {
      const ip = canonicalIp(s);
      return ip ? { value: ip } : { error: 'must be an IPv4 or IPv6 address' };
    }
    case 'cidr': {
      const net = canonicalCidr(s);
      return net ? { value: net } : { error: 'must be a network such as 203.0.113.0/24 or 2001:db8::/32' };
    }
    case 'domain': {
      const d = refang(s).toLowerCase().replace(/\.$/, '');
      return /^[^\s/:@]+\.[^\s/:@]+$/u.test(d) ? { value: d } : { error: 'must be a domain name' };
    }
    case 'url': {
      const u = refang(s);
      return /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(u) ? { value: u } : { error: 'must be an absolute URL' };
    }
    case 'email': {
      const e = refang(s).toLowerCase();
      return /^[^\s@]+@[^\s@]+$/.test(e) ? { value: e } : { error: 'must be an e-mail address' };
    }
    case 'md5':
    case 'sha1':
    case 'sha256':
    case 'sha512': {
      const h = s.toLowerCase();
      const len = HASH_LENGTHS[type]!;
      return new RegExp(`^[0-9a-f]{${len}}$`).test(h)
        ? { value: h }
        : { error: `must be ${len} hexadecimal characters` };
    }
    case 'ja3':
      return { value: s.toLowerCase() };
    default:
      return { value: s };
  }
}

const dateish = z.coerce.date();

const indicatorFields = {
  type: z.enum(INDICATOR_TYPES),
  value: z.string().trim().min(1).max(4096),
  threatType: z.string().trim().min(1).max(64).nullish(),
  /** 0..1 (seed 002 and 004). */
  confidence: z.number().min(0).max(1).nullish(),
  status: z.enum(INDICATOR_STATUSES).optional(),
  /** Feed or author, e.g. `urlhaus`, `misp:event-123`, `analyst`. */
  source: z.string().trim().min(1).max(128),
  description: z.string().max(10_000).nullish(),
  tags: stringList.optional(),
  metadata: jsonObject.optional(),
  firstSeen: dateish.nullish(),
  lastSeen: dateish.nullish(),
  expiresAt: dateish.nullish(),
};

export const indicatorCreateSchema = z.object(indicatorFields).transform((v, ctx) => {
  const n = normalizeIndicatorValue(v.type, v.value);
  if ('error' in n) {
    ctx.addIssue({ code: 'custom', path: ['value'], message: n.error });
    return z.NEVER;
  }
  return { ...v, value: n.value };
});
export type IndicatorCreate = z.input<typeof indicatorCreateSchema>;

/**
 * `type`, `value` and `source` are the indicator's identity and do not change: a different value is a
 * different indicator.
 */
export const indicatorUpdateSchema = z
  .object(indicatorFields)
  .omit({ type: true, value: true, source: true })
  .partial();
export type IndicatorUpdate = z.input<typeof indicatorUpdateSchema>;

export const indicatorFiltersSchema = z.object({
  type: z.enum(INDICATOR_TYPES).optional(),
  status: z.enum(INDICATOR_STATUSES).optional(),
  source: z.string().trim().min(1).max(128).optional(),
  threatType: z.string().trim().min(1).max(64).optional(),
  /** Case-insensitive substring of the value. */
  q: z.string().max(4096).optional(),
  minConfidence: z.coerce.number().min(0).max(1).optional(),
  /** Default false: hide indicators whose status is `expired` or whose `expires_at` has passed. */
  includeExpired: flag.optional(),
});
export type IndicatorFilters = z.input<typeof indicatorFiltersSchema>;

/** At most this many values per lookup, which keeps the one query under PostgreSQL's parameter limit. */
export const LOOKUP_MAX_VALUES = 5000;
export const indicatorLookupSchema = z.array(z.string().max(4096)).max(LOOKUP_MAX_VALUES);
