/**
 * Pure parsers for indicator feeds: text in, normalised indicator records and explained rejections out.
 *
 * Accounting (DESIGN.md "bad input never loses good input"): every candidate value a feed offers ends as
 * exactly one of a record, a rejection (with its line or object and reason) or a duplicate of an earlier
 * record of the same feed, so `read = records + rejections + duplicates` holds for every result. Lines and
 * objects that carry no candidate at all (comments, headers, blank lines, non-indicator STIX objects, MISP
 * attribute types that are not indicators) are counted in `skipped` by reason.
 */
import type { IndicatorStatus, IndicatorType } from '../../domain/enums.ts';
import {
  normalizeCidr,
  normalizeDomain,
  normalizeEmail,
  normalizeHash,
  normalizeIndicator,
  normalizeIp,
  normalizeIpOrCidr,
  normalizeUrl,
  type NormalizeResult,
} from './normalize.ts';

export interface IndicatorRecord {
  type: IndicatorType;
  /** Normalised value (see normalize.ts). */
  value: string;
  /** 0..1 when the feed states it. */
  confidence?: number;
  firstSeen?: Date;
  lastSeen?: Date;
  expiresAt?: Date;
  status: IndicatorStatus;
  threatType?: string;
  description?: string;
  tags: string[];
  /** Feed name, e.g. `urlhaus`, `misp:event-<uuid>`, `stix`. */
  source: string;
  /** Link or id that points back to the feed entry. */
  reference?: string;
  metadata: Record<string, unknown>;
}

export interface FeedRejection {
  /** `line 12` or a STIX / MISP object id. */
  location: string;
  line?: number;
  /** The offending line or value (truncated to 300 characters). */
  record: string;
  reason: string;
}

export interface FeedResult {
  source: string;
  records: IndicatorRecord[];
  rejections: FeedRejection[];
  /** Candidate values equal (type and value) to an earlier record of the same feed; the first one is kept. */
  duplicates: number;
  /** Candidate values seen: records + rejections + duplicates. */
  read: number;
  /** Lines or objects that carry no candidate, by reason. */
  skipped: Record<string, number>;
}

// ------------------------------------------------------------------------------------------ shared helpers

class Collector {
  readonly records: IndicatorRecord[] = [];
  readonly rejections: FeedRejection[] = [];
  readonly skipped: Record<string, number> = {};
  private readonly seen = new Set<string>();
  duplicates = 0;

  constructor(readonly source: string) {}

  skip(reason: string, n = 1): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + n;
  }

  reject(location: string, record: string, reason: string, line?: number): void {
    this.rejections.push({ location, ...(line === undefined ? {} : { line }), record: clip(record), reason });
  }

  /** Add the normalised value, or reject it with the normaliser's reason. */
  add(
    n: NormalizeResult,
    raw: string,
    location: string,
    rest: Omit<IndicatorRecord, 'type' | 'value' | 'source' | 'status' | 'tags' | 'metadata'> &
      Partial<Pick<IndicatorRecord, 'status' | 'tags' | 'metadata' | 'source'>>,
    line?: number,
  ): void {
    if (!n.ok) {
      this.reject(location, raw, n.reason, line);
      return;
    }
    const source = rest.source ?? this.source;
    const key = `${n.type}\u0000${n.value}\u0000${source}`;
    if (this.seen.has(key)) {
      this.duplicates++;
      return;
    }
    this.seen.add(key);
    const metadata = { ...(rest.metadata ?? {}) };
    if (n.refanged) metadata.refanged_from = raw;
    this.records.push(
      dropUndefined({
        ...rest,
        type: n.type,
        value: n.value,
        source,
        status: rest.status ?? 'active',
        tags: rest.tags ?? [],
        metadata,
      }),
    );
  }

  result(): FeedResult {
    return {
      source: this.source,
      records: this.records,
      rejections: this.rejections,
      duplicates: this.duplicates,
      read: this.records.length + this.rejections.length + this.duplicates,
      skipped: this.skipped,
    };
  }
}

function clip(s: string): string {
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Split text into lines (LF or CRLF), numbered from 1. */
function lines(text: string): { n: number; text: string }[] {
  return text.split(/\r?\n/).map((t, i) => ({ n: i + 1, text: t }));
}

/**
 * One CSV line into fields: RFC 4180 quoting (`""` inside quotes), spaces around fields ignored (MalwareBazaar
 * writes `", "`). Returns undefined on an unterminated quote.
 */
export function splitCsvLine(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ') i++;
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) return undefined;
        const c = line[i];
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      while (line[i] === ' ') i++;
    } else {
      const j = line.indexOf(',', i);
      field = (j < 0 ? line.slice(i) : line.slice(i, j)).trim();
      i = j < 0 ? line.length : j;
    }
    out.push(field);
    if (i >= line.length) return out;
    if (line[i] !== ',') return undefined;
    i++;
  }
}

/** `2024-02-08 19:20:49` (UTC, abuse.ch), `2024-04-01`, ISO 8601, or epoch seconds; undefined otherwise. */
export function parseFeedDate(s: string | undefined | null): Date | undefined {
  if (s === undefined || s === null) return undefined;
  const t = String(s).trim();
  if (t === '' || /^(n\/a|none|null)$/i.test(t)) return undefined;
  let iso: string;
  if (/^\d{9,11}$/.test(t)) return new Date(Number(t) * 1000);
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) iso = `${t}T00:00:00Z`;
  else if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(t)) iso = `${t.replace(' ', 'T')}Z`;
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(t)) iso = t;
  else return undefined;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

interface CsvSpec {
  /** Columns a header must contain. */
  required: string[];
}

/**
 * Walk a CSV feed: `#` comment lines are skipped unless they hold the header (abuse.ch comments it out:
 * `# "first_seen_utc","sha256_hash",...`); blank lines are skipped; rows are handed out by column name.
 */
function walkCsv(
  text: string,
  c: Collector,
  spec: CsvSpec,
  onRow: (row: Record<string, string>, line: number, raw: string) => void,
): void {
  let header: string[] | undefined;
  for (const { n, text: raw } of lines(text)) {
    const t = raw.trim();
    if (t === '') {
      c.skip('blank line');
      continue;
    }
    const body = t.startsWith('#') ? t.replace(/^#\s*/, '') : t;
    if (!header) {
      const cols = splitCsvLine(body)?.map((h) => h.toLowerCase());
      if (cols && spec.required.every((r) => cols.includes(r))) {
        header = cols;
        c.skip('header');
        continue;
      }
      if (t.startsWith('#')) {
        c.skip('comment');
        continue;
      }
      c.reject(`line ${n}`, raw, `data before the header (expected columns ${spec.required.join(', ')})`, n);
      continue;
    }
    if (t.startsWith('#')) {
      c.skip('comment');
      continue;
    }
    const fields = splitCsvLine(t);
    if (!fields) {
      c.reject(`line ${n}`, raw, 'unterminated quote in CSV line', n);
      continue;
    }
    if (fields.length !== header.length) {
      c.reject(`line ${n}`, raw, `expected ${header.length} CSV fields, got ${fields.length}`, n);
      continue;
    }
    const row: Record<string, string> = {};
    header.forEach((h, i) => (row[h] = fields[i] ?? ''));
    onRow(row, n, raw);
  }
  if (!header) c.reject('file', text.slice(0, 100), `no header with columns ${spec.required.join(', ')}`);
}

const na = (s: string | undefined): string | undefined =>
  s === undefined || s === '' || /^(n\/a|none|null)$/i.test(s) ? undefined : s;

function onlineStatus(s: string | undefined): IndicatorStatus {
  return s?.toLowerCase() === 'offline' ? 'inactive' : 'active';
}

// ------------------------------------------------------------------------------------------ abuse.ch

/** URLhaus CSV (`csv_recent` / `csv_online`): one malware URL per row. */
export function parseUrlhausCsv(text: string, source = 'urlhaus'): FeedResult {
  const c = new Collector(source);
  walkCsv(text, c, { required: ['url', 'url_status'] }, (row, n) => {
    const tags = (row.tags ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '' && t !== 'None');
    c.add(
      normalizeUrl(row.url ?? ''),
      row.url ?? '',
      `line ${n}`,
      {
        status: onlineStatus(row.url_status),
        firstSeen: parseFeedDate(row.dateadded),
        lastSeen: parseFeedDate(row.last_online),
        threatType: na(row.threat),
        tags,
        reference: na(row.urlhaus_link),
        metadata: dropUndefined({ urlhaus_id: na(row.id), reporter: na(row.reporter) }),
      },
      n,
    );
  });
  return c.result();
}

/** Feodo Tracker botnet C2 IP blocklist CSV. */
export function parseFeodoCsv(text: string, source = 'feodotracker'): FeedResult {
  const c = new Collector(source);
  walkCsv(text, c, { required: ['dst_ip'] }, (row, n) => {
    const ip = row.dst_ip ?? '';
    const malware = na(row.malware);
    c.add(
      normalizeIp(ip),
      ip,
      `line ${n}`,
      {
        status: onlineStatus(row.c2_status),
        firstSeen: parseFeedDate(row.first_seen_utc),
        lastSeen: parseFeedDate(row.last_online),
        threatType: 'botnet_cc',
        tags: malware ? [malware] : [],
        reference: `https://feodotracker.abuse.ch/browse/host/${ip.trim()}/`,
        metadata: dropUndefined({ port: row.dst_port ? Number(row.dst_port) : undefined, malware }),
      },
      n,
    );
  });
  return c.result();
}

/** SSLBL SSL certificate blacklist: SHA-1 fingerprints of X.509 certificates used by C2 servers. */
export function parseSslblCsv(text: string, source = 'sslbl'): FeedResult {
  const c = new Collector(source);
  walkCsv(text, c, { required: ['sha1', 'listingreason'] }, (row, n) => {
    const sha1 = row.sha1 ?? '';
    const reason = na(row.listingreason);
    const family = reason?.replace(/\s+C&C$/i, '');
    c.add(
      normalizeHash('sha1', sha1),
      sha1,
      `line ${n}`,
      {
        firstSeen: parseFeedDate(row.listingdate),
        threatType: 'botnet_cc',
        description: reason,
        tags: family ? [family] : [],
        reference: `https://sslbl.abuse.ch/ssl-certificates/sha1/${sha1.trim().toLowerCase()}/`,
        metadata: { hash_of: 'x509-certificate' },
      },
      n,
    );
  });
  return c.result();
}

/** MalwareBazaar CSV dump: each row offers three candidates (sha256, md5, sha1) for one sample. */
export function parseMalwareBazaarCsv(text: string, source = 'malwarebazaar'): FeedResult {
  const c = new Collector(source);
  walkCsv(text, c, { required: ['sha256_hash', 'md5_hash', 'sha1_hash'] }, (row, n) => {
    const sha256 = row.sha256_hash ?? '';
    const signature = na(row.signature);
    const fileType = na(row.file_type_guess);
    const vt = na(row.vtpercent);
    const common = {
      firstSeen: parseFeedDate(row.first_seen_utc),
      threatType: 'payload',
      tags: [signature, fileType].filter((t): t is string => t !== undefined),
      reference: `https://bazaar.abuse.ch/sample/${sha256.trim().toLowerCase()}/`,
      metadata: dropUndefined({
        sha256: sha256.trim().toLowerCase(),
        file_name: na(row.file_name),
        file_type: fileType,
        mime_type: na(row.mime_type),
        signature,
        reporter: na(row.reporter),
        imphash: na(row.imphash),
        ssdeep: na(row.ssdeep),
        tlsh: na(row.tlsh),
        vt_percent: vt === undefined ? undefined : Number(vt),
      }),
    };
    c.add(normalizeHash('sha256', sha256), sha256, `line ${n}`, common, n);
    c.add(normalizeHash('md5', row.md5_hash ?? ''), row.md5_hash ?? '', `line ${n}`, common, n);
    c.add(normalizeHash('sha1', row.sha1_hash ?? ''), row.sha1_hash ?? '', `line ${n}`, common, n);
  });
  return c.result();
}

/**
 * Plain lists, one IP or CIDR per line (ThreatFox IPs, FireHOL `.netset` / `.ipset`): `#` comments and blank
 * lines skipped; an entry with `/` is a network (`cidr`), one without is an `ip`.
 */
export function parseIpList(text: string, source: string, defaults: { tags?: string[] } = {}): FeedResult {
  const c = new Collector(source);
  for (const { n, text: raw } of lines(text)) {
    const t = raw.replace(/\s+#.*$/, '').trim();
    if (t === '') {
      c.skip('blank line');
      continue;
    }
    if (t.startsWith('#') || t.startsWith(';')) {
      c.skip('comment');
      continue;
    }
    c.add(normalizeIpOrCidr(t), t, `line ${n}`, { tags: defaults.tags ?? [] }, n);
  }
  return c.result();
}

/** FireHOL netset: the list name and category come from its header (`# firehol_level1`, `# Category : attacks`). */
export function parseFireholNetset(text: string, source?: string): FeedResult {
  const head = text.slice(0, 4000);
  const name = /^#\s*([a-z0-9_]+)\s*$/m.exec(head)?.[1];
  const category = /^#\s*Category\s*:\s*(\S+)/m.exec(head)?.[1];
  return parseIpList(text, source ?? name ?? 'firehol', { tags: category ? [category] : [] });
}

/** ThreatFox IOC IPs, one per line. */
export function parseThreatfoxIps(text: string, source = 'threatfox'): FeedResult {
  return parseIpList(text, source, { tags: [] });
}

// ------------------------------------------------------------------------------------------ MISP

/** MISP attribute types that are indicators, and how to normalise their value (composites split on `|`). */
const MISP_TYPES: Record<
  string,
  (v: string) => { n: NormalizeResult; raw: string; extra?: Record<string, unknown> }[]
> = {
  'ip-dst': (v) => [{ n: normalizeIpOrCidr(v), raw: v }],
  'ip-src': (v) => [{ n: normalizeIpOrCidr(v), raw: v }],
  'ip-dst|port': (v) => splitIpPort(v),
  'ip-src|port': (v) => splitIpPort(v),
  domain: (v) => [{ n: normalizeDomain(v), raw: v }],
  hostname: (v) => [{ n: normalizeDomain(v), raw: v }],
  'domain|ip': (v) => {
    const [d = '', ip = ''] = v.split('|');
    return [
      { n: normalizeDomain(d), raw: d },
      { n: normalizeIpOrCidr(ip), raw: ip },
    ];
  },
  url: (v) => [{ n: normalizeUrl(v), raw: v }],
  uri: (v) => [{ n: normalizeUrl(v), raw: v }],
  md5: (v) => [{ n: normalizeHash('md5', v), raw: v }],
  sha1: (v) => [{ n: normalizeHash('sha1', v), raw: v }],
  sha256: (v) => [{ n: normalizeHash('sha256', v), raw: v }],
  sha512: (v) => [{ n: normalizeHash('sha512', v), raw: v }],
  'filename|md5': (v) => splitFileHash('md5', v),
  'filename|sha1': (v) => splitFileHash('sha1', v),
  'filename|sha256': (v) => splitFileHash('sha256', v),
  'filename|sha512': (v) => splitFileHash('sha512', v),
  'email-src': (v) => [{ n: normalizeEmail(v), raw: v }],
  'email-dst': (v) => [{ n: normalizeEmail(v), raw: v }],
  email: (v) => [{ n: normalizeEmail(v), raw: v }],
};

function splitIpPort(v: string): { n: NormalizeResult; raw: string; extra?: Record<string, unknown> }[] {
  const bar = v.lastIndexOf('|');
  const ip = bar < 0 ? v : v.slice(0, bar);
  const port = bar < 0 ? undefined : Number(v.slice(bar + 1));
  return [{ n: normalizeIpOrCidr(ip), raw: ip, extra: port === undefined ? {} : { port } }];
}

function splitFileHash(
  algo: 'md5' | 'sha1' | 'sha256' | 'sha512',
  v: string,
): { n: NormalizeResult; raw: string; extra?: Record<string, unknown> }[] {
  const bar = v.lastIndexOf('|');
  const hash = v.slice(bar + 1);
  return [{ n: normalizeHash(algo, hash), raw: hash, extra: bar < 0 ? {} : { file_name: v.slice(0, bar) } }];
}

interface MispAttribute {
  type?: unknown;
  value?: unknown;
  uuid?: unknown;
  id?: unknown;
  to_ids?: unknown;
  deleted?: unknown;
  timestamp?: unknown;
  first_seen?: unknown;
  last_seen?: unknown;
  category?: unknown;
  comment?: unknown;
  Tag?: unknown;
}

const tagNames = (t: unknown): string[] =>
  Array.isArray(t)
    ? t.map((x) => (x && typeof x === 'object' ? (x as { name?: unknown }).name : undefined)).filter(isString)
    : [];
const isString = (x: unknown): x is string => typeof x === 'string' && x !== '';

/**
 * One MISP event (core JSON format, `{"Event": {...}}` or the bare event): attributes and object attributes.
 * Attributes with `to_ids: false` are context (links, comments, analysis notes) and are skipped, as MISP's own
 * IDS exports do; deleted attributes are skipped; types that are not indicators are skipped by type.
 */
export function parseMispEvent(json: string | unknown, source?: string): FeedResult {
  let doc: unknown = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (e) {
      const c = new Collector(source ?? 'misp');
      c.reject('file', json.slice(0, 100), `invalid JSON: ${(e as Error).message}`);
      return c.result();
    }
  }
  const ev = (
    doc && typeof doc === 'object' && 'Event' in doc ? (doc as { Event: unknown }).Event : doc
  ) as Record<string, unknown>;
  const eventId = isString(ev?.uuid) ? ev.uuid : isString(ev?.id) ? ev.id : undefined;
  const c = new Collector(source ?? (eventId ? `misp:event-${eventId}` : 'misp'));
  if (!ev || typeof ev !== 'object' || (!Array.isArray(ev.Attribute) && !Array.isArray(ev.Object))) {
    c.reject('file', JSON.stringify(doc).slice(0, 100), 'not a MISP event: no Attribute or Object array');
    return c.result();
  }
  const eventTags = tagNames(ev.Tag);
  const eventDate = parseFeedDate(isString(ev.date) ? ev.date : undefined);
  const info = isString(ev.info) ? ev.info : undefined;
  const all: { a: MispAttribute; object?: string }[] = [];
  for (const a of (ev.Attribute as MispAttribute[] | undefined) ?? []) all.push({ a });
  for (const o of (ev.Object as Record<string, unknown>[] | undefined) ?? []) {
    const attrs = Array.isArray(o?.Attribute) ? (o.Attribute as MispAttribute[]) : [];
    if (attrs.length === 0) c.skip('MISP object without attributes');
    for (const a of attrs) all.push({ a, object: isString(o.name) ? o.name : 'object' });
  }
  for (const { a, object } of all) {
    const id = isString(a.uuid) ? a.uuid : String(a.id ?? '?');
    const type = typeof a.type === 'string' ? a.type : '';
    if (a.deleted === true) {
      c.skip('deleted attribute');
      continue;
    }
    const map = MISP_TYPES[type];
    if (!map) {
      c.skip(`MISP type ${type || '(none)'} is not an indicator`);
      continue;
    }
    if (a.to_ids === false || a.to_ids === '0') {
      c.skip('to_ids false (context, not for detection)');
      continue;
    }
    if (typeof a.value !== 'string') {
      c.reject(`attribute ${id}`, JSON.stringify(a.value) ?? '', `${type} attribute without a string value`);
      continue;
    }
    const lastSeen =
      parseFeedDate(typeof a.last_seen === 'string' ? a.last_seen : undefined) ??
      parseFeedDate(typeof a.timestamp === 'string' ? a.timestamp : undefined);
    for (const { n, raw, extra } of map(a.value)) {
      c.add(n, raw, `attribute ${id}`, {
        firstSeen: parseFeedDate(typeof a.first_seen === 'string' ? a.first_seen : undefined) ?? eventDate,
        lastSeen,
        description: info,
        tags: [...new Set([...eventTags, ...tagNames(a.Tag)])],
        reference: id,
        metadata: dropUndefined({
          misp_event: eventId,
          misp_type: type,
          category: isString(a.category) ? a.category : undefined,
          comment: isString(a.comment) ? a.comment : undefined,
          object,
          ...extra,
        }),
      });
    }
  }
  return c.result();
}

// ------------------------------------------------------------------------------------------ STIX 2.1

/** One comparison of a supported STIX pattern, as an indicator type and raw value. */
export interface StixComparison {
  path: string;
  type: IndicatorType;
  value: string;
}

export type StixPatternResult = { ok: true; comparisons: StixComparison[] } | { ok: false; reason: string };

type Tok =
  | { k: 'lbr' | 'rbr' | 'lpar' | 'rpar' | 'eq' }
  | { k: 'str'; v: string }
  | { k: 'path'; v: string }
  | { k: 'word'; v: string }
  | { k: 'other'; v: string };

function tokenize(p: string): Tok[] | string {
  const out: Tok[] = [];
  let i = 0;
  while (i < p.length) {
    const ch = p[i] ?? '';
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '[') {
      out.push({ k: 'lbr' });
      i++;
    } else if (ch === ']') {
      out.push({ k: 'rbr' });
      i++;
    } else if (ch === '(') {
      out.push({ k: 'lpar' });
      i++;
    } else if (ch === ')') {
      out.push({ k: 'rpar' });
      i++;
    } else if (ch === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= p.length) return 'unterminated string literal';
        const c = p[i];
        if (c === '\\') {
          const nx = p[i + 1];
          if (nx !== "'" && nx !== '\\') return `invalid escape \\${nx ?? ''} in string literal`;
          v += nx;
          i += 2;
        } else if (c === "'") {
          i++;
          break;
        } else {
          v += c;
          i++;
        }
      }
      out.push({ k: 'str', v });
    } else if (ch === '=') {
      out.push({ k: 'eq' });
      i++;
    } else if (/[a-z0-9_-]/i.test(ch)) {
      // object path `type:prop.sub.'quoted'[*]` or a keyword (AND, OR, MATCHES, WITHIN ...)
      const m = /^[a-z0-9_-]+:(?:[a-z0-9_-]+|'[^']*'|\[(?:\*|\d+)\]|\.)+/i.exec(p.slice(i));
      if (m) {
        out.push({ k: 'path', v: m[0] });
        i += m[0].length;
      } else {
        const w = /^[a-z0-9_.-]+/i.exec(p.slice(i))?.[0] ?? ch;
        out.push({ k: 'word', v: w });
        i += w.length;
      }
    } else {
      const w = /^(!=|<=|>=|[<>]|[^\s[\]()'])/.exec(p.slice(i))?.[0] ?? ch;
      out.push({ k: 'other', v: w });
      i += w.length;
    }
  }
  return out;
}

const STIX_HASHES: Record<string, 'md5' | 'sha1' | 'sha256' | 'sha512'> = {
  md5: 'md5',
  'sha-1': 'sha1',
  sha1: 'sha1',
  'sha-256': 'sha256',
  sha256: 'sha256',
  'sha-512': 'sha512',
  sha512: 'sha512',
};

function pathType(path: string): IndicatorType | string {
  const [obj = '', prop = ''] = path.split(/:(.*)/s);
  const simple: Record<string, IndicatorType> = {
    'ipv4-addr': 'ip',
    'ipv6-addr': 'ip',
    'domain-name': 'domain',
    url: 'url',
    'email-addr': 'email',
  };
  if (simple[obj] && prop === 'value') return simple[obj];
  if (obj === 'file' || obj === 'x509-certificate' || obj === 'artifact') {
    const m = /^hashes\.(?:'([^']+)'|([a-z0-9_-]+))$/i.exec(prop);
    const algo = m ? (m[1] ?? m[2] ?? '').toLowerCase() : '';
    const t = STIX_HASHES[algo];
    if (t) return t;
    if (m) return `unsupported hash algorithm "${m[1] ?? m[2]}" in ${path}`;
  }
  return `unsupported object path ${path}`;
}

/**
 * Parse a STIX 2.x pattern made of equality comparisons on the supported object paths, joined by OR, inside
 * one or more observation expressions `[...]` also joined by OR; parentheses group. Anything else (AND,
 * `!=`, MATCHES, LIKE, IN, comparisons on other paths, FOLLOWEDBY, WITHIN/REPEATS/START qualifiers) is refused
 * with the reason: such patterns need a pattern matcher, not an indicator lookup.
 */
export function parseStixPattern(pattern: string): StixPatternResult {
  const toks = tokenize(pattern);
  if (typeof toks === 'string') return { ok: false, reason: toks };
  let i = 0;
  const comps: StixComparison[] = [];
  const peek = (): Tok | undefined => toks[i];
  const isWord = (t: Tok | undefined, w: string): boolean =>
    t !== undefined && t.k === 'word' && t.v.toUpperCase() === w;

  const comparison = (): string | undefined => {
    const p = peek();
    if (p?.k === 'lpar') {
      i++;
      const err = orOf(comparison);
      if (err) return err;
      if (peek()?.k !== 'rpar') return 'missing ")"';
      i++;
      return undefined;
    }
    if (p?.k !== 'path') return `expected an object path, got ${describe(p)}`;
    i++;
    if (isWord(peek(), 'NOT')) return `negated comparison on ${p.v} is not supported`;
    const op = peek();
    if (op?.k !== 'eq') return `operator ${describe(op)} on ${p.v} is not supported (only =)`;
    i++;
    const v = peek();
    if (v?.k !== 'str') return `expected a string literal after ${p.v} =, got ${describe(v)}`;
    i++;
    const t = pathType(p.v);
    if (!isIndicatorType(t)) return t;
    comps.push({ path: p.v, type: t, value: v.v });
    return undefined;
  };

  const orOf = (item: () => string | undefined): string | undefined => {
    for (;;) {
      const err = item();
      if (err) return err;
      const nx = peek();
      if (isWord(nx, 'OR')) {
        i++;
        continue;
      }
      if (isWord(nx, 'AND')) return 'AND is not supported (an indicator lookup matches one value)';
      return undefined;
    }
  };

  const observation = (): string | undefined => {
    const p = peek();
    if (p?.k === 'lpar') {
      i++;
      const err = orOf(observation);
      if (err) return err;
      if (peek()?.k !== 'rpar') return 'missing ")"';
      i++;
      return undefined;
    }
    if (p?.k !== 'lbr') return `expected "[", got ${describe(p)}`;
    i++;
    const err = orOf(comparison);
    if (err) return err;
    if (peek()?.k !== 'rbr') return `expected "]", got ${describe(peek())}`;
    i++;
    const q = peek();
    if (q?.k === 'word' && /^(WITHIN|REPEATS|START|STOP)$/i.test(q.v)) {
      return `qualifier ${q.v.toUpperCase()} is not supported`;
    }
    return undefined;
  };

  const err = orOf(observation);
  if (err) return { ok: false, reason: err };
  if (i < toks.length) {
    const t = peek();
    if (t?.k === 'word' && /^FOLLOWEDBY$/i.test(t.v))
      return { ok: false, reason: 'FOLLOWEDBY is not supported' };
    return { ok: false, reason: `unexpected ${describe(t)} after the pattern` };
  }
  return { ok: true, comparisons: comps };
}

const INDICATOR_TYPE_SET = new Set<string>([
  'ip',
  'domain',
  'url',
  'email',
  'md5',
  'sha1',
  'sha256',
  'sha512',
]);
const isIndicatorType = (t: string): t is IndicatorType => INDICATOR_TYPE_SET.has(t);

function describe(t: Tok | undefined): string {
  if (!t) return 'end of pattern';
  if ('v' in t) return t.k === 'str' ? `'${t.v}'` : t.v;
  return { lbr: '"["', rbr: '"]"', lpar: '"("', rpar: '")"', eq: '"="' }[t.k];
}

export interface StixOptions {
  /** Source name for the records; default `stix`. */
  source?: string;
  /** Reference time for `valid_until` expiry; default now. */
  asOf?: Date;
}

/**
 * STIX 2.1 (and 2.0) bundle or single object: `indicator` objects with `pattern_type` stix become records,
 * one per comparison of the pattern. `valid_from` -> firstSeen, `valid_until` -> expiresAt, `revoked` ->
 * inactive, `valid_until` before `asOf` -> expired, `confidence` 0..100 -> 0..1, `indicator_types` and
 * `labels` -> tags. Other object types are skipped by type.
 */
export function parseStixIndicators(json: string | unknown, opts: StixOptions = {}): FeedResult {
  const c = new Collector(opts.source ?? 'stix');
  const asOf = opts.asOf ?? new Date();
  let doc: unknown = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (e) {
      c.reject('file', json.slice(0, 100), `invalid JSON: ${(e as Error).message}`);
      return c.result();
    }
  }
  const d = doc as Record<string, unknown> | null;
  const objects: unknown[] =
    d && typeof d === 'object' && d.type === 'bundle'
      ? Array.isArray(d.objects)
        ? d.objects
        : []
      : Array.isArray(doc)
        ? doc
        : [doc];
  for (const obj of objects) {
    const o = obj as Record<string, unknown> | null;
    if (!o || typeof o !== 'object' || typeof o.type !== 'string') {
      c.reject('object', JSON.stringify(obj)?.slice(0, 100) ?? String(obj), 'not a STIX object (no type)');
      continue;
    }
    if (o.type !== 'indicator') {
      c.skip(`STIX ${o.type}`);
      continue;
    }
    const id = typeof o.id === 'string' ? o.id : 'indicator (no id)';
    const patternType = o.pattern_type ?? 'stix'; // STIX 2.0 has no pattern_type: always STIX patterning
    if (patternType !== 'stix') {
      c.reject(
        id,
        String(o.pattern ?? ''),
        `pattern_type "${String(patternType)}" is not supported (only stix)`,
      );
      continue;
    }
    if (typeof o.pattern !== 'string') {
      c.reject(id, JSON.stringify(o.pattern) ?? '', 'indicator without a pattern');
      continue;
    }
    const parsed = parseStixPattern(o.pattern);
    if (!parsed.ok) {
      c.reject(id, o.pattern, parsed.reason);
      continue;
    }
    let confidence: number | undefined;
    if (o.confidence !== undefined) {
      if (typeof o.confidence !== 'number' || o.confidence < 0 || o.confidence > 100) {
        c.reject(id, o.pattern, `confidence ${JSON.stringify(o.confidence)} is not a number in 0..100`);
        continue;
      }
      confidence = o.confidence / 100;
    }
    const validFrom = parseFeedDate(typeof o.valid_from === 'string' ? o.valid_from : undefined);
    const validUntil = parseFeedDate(typeof o.valid_until === 'string' ? o.valid_until : undefined);
    if (o.valid_from !== undefined && !validFrom) {
      c.reject(id, o.pattern, `valid_from ${JSON.stringify(o.valid_from)} is not a timestamp`);
      continue;
    }
    if (o.valid_until !== undefined && !validUntil) {
      c.reject(id, o.pattern, `valid_until ${JSON.stringify(o.valid_until)} is not a timestamp`);
      continue;
    }
    const status: IndicatorStatus =
      o.revoked === true ? 'inactive' : validUntil && validUntil <= asOf ? 'expired' : 'active';
    const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter(isString) : []);
    const tags = [...new Set([...strings(o.indicator_types), ...strings(o.labels)])];
    const name = isString(o.name) ? o.name : undefined;
    const description = isString(o.description) ? o.description : name;
    for (const cmp of parsed.comparisons) {
      // ipv4-addr / ipv6-addr values may be networks
      const n =
        cmp.type === 'ip' && cmp.value.includes('/')
          ? normalizeCidr(cmp.value)
          : normalizeIndicator(cmp.type, cmp.value);
      c.add(n, cmp.value, id, {
        confidence,
        firstSeen: validFrom,
        expiresAt: validUntil,
        status,
        description,
        tags,
        reference: id,
        metadata: dropUndefined({
          stix_path: cmp.path,
          hash_of: cmp.path.startsWith('x509-certificate:') ? 'x509-certificate' : undefined,
          created_by_ref: isString(o.created_by_ref) ? o.created_by_ref : undefined,
          modified: isString(o.modified) ? o.modified : undefined,
        }),
      });
    }
  }
  return c.result();
}
