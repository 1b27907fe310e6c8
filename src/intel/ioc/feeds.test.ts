import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  parseFeedDate,
  parseFeodoCsv,
  parseFireholNetset,
  parseMalwareBazaarCsv,
  parseMispEvent,
  parseSslblCsv,
  parseStixIndicators,
  parseStixPattern,
  parseThreatfoxIps,
  parseUrlhausCsv,
  splitCsvLine,
  type FeedResult,
} from './feeds.ts';
import { normalizeIpOrCidr } from './normalize.ts';

const DATA = resolve(import.meta.dirname, '../../../../shared/data/ioc');
const have = existsSync(DATA);
if (!have) console.warn(`[intel/ioc] ${DATA} is absent: the real-feed tests are skipped`);
const read = (p: string): string => readFileSync(resolve(DATA, p), 'utf8');
const MISP_DIR = 'misp/circl_osint_events_via_pymisp_tests';
const AS_OF = new Date('2026-11-30T00:00:00Z');

/** The accounting invariant and the shape of every record, for any feed. */
function checkInvariants(r: FeedResult): void {
  expect(r.read).toBe(r.records.length + r.rejections.length + r.duplicates);
  for (const x of r.rejections) {
    expect(x.reason.length).toBeGreaterThan(0);
    expect(x.location.length).toBeGreaterThan(0);
  }
  for (const rec of r.records) {
    if (rec.confidence !== undefined) expect(rec.confidence).toBeGreaterThanOrEqual(0);
    if (rec.confidence !== undefined) expect(rec.confidence).toBeLessThanOrEqual(1);
    expect(['active', 'inactive', 'expired']).toContain(rec.status);
  }
}

describe('helpers', () => {
  it('splits CSV lines with quotes, doubled quotes and ", " separators', () => {
    expect(splitCsvLine('"a","b,c",d')).toEqual(['a', 'b,c', 'd']);
    expect(splitCsvLine('"a", "say ""hi""", "" ')).toEqual(['a', 'say "hi"', '']);
    expect(splitCsvLine('a,,b')).toEqual(['a', '', 'b']);
    expect(splitCsvLine('"open')).toBeUndefined();
  });

  it('reads the date forms feeds use', () => {
    expect(parseFeedDate('2024-02-08 19:20:49')?.toISOString()).toBe('2024-02-08T19:20:49.000Z');
    expect(parseFeedDate('2024-04-01')?.toISOString()).toBe('2024-04-01T00:00:00.000Z');
    expect(parseFeedDate('1472480394')?.toISOString()).toBe('2016-08-29T14:19:54.000Z');
    expect(parseFeedDate('2014-05-08T09:00:00.000000Z')?.toISOString()).toBe('2014-05-08T09:00:00.000Z');
    expect(parseFeedDate('2020-01-01T02:00:00+02:00')?.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(parseFeedDate('n/a')).toBeUndefined();
    expect(parseFeedDate('yesterday')).toBeUndefined();
  });
});

describe('malformed input is rejected with a reason, the rest goes through', () => {
  it('URLhaus rows', () => {
    const text = [
      'id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter',
      '"1","2025-04-21 12:35:06","hxxp://Evil[.]Example/a.sh","offline","2025-04-21 12:40:00","malware_download","elf,Mozi","https://urlhaus.abuse.ch/url/1/","x"',
      '"2","2025-04-21 12:35:06","not a url","online","","malware_download","","https://urlhaus.abuse.ch/url/2/","x"',
      '"3","2025-04-21 12:35:06","http://short.example/","online"',
      '"4","2025-04-21 12:35:06","http://evil.example/a.sh","online","","malware_download","","",""',
      '# a trailing comment',
    ].join('\n');
    const r = parseUrlhausCsv(text);
    checkInvariants(r);
    expect(r.records.map((x) => [x.value, x.status])).toEqual([['http://evil.example/a.sh', 'inactive']]);
    expect(r.records[0]?.metadata.refanged_from).toBe('hxxp://Evil[.]Example/a.sh');
    expect(r.rejections.map((x) => [x.line, x.reason])).toEqual([
      [3, expect.stringMatching(/whitespace/)],
      [4, 'expected 9 CSV fields, got 4'],
    ]);
    expect(r.duplicates).toBe(1);
    expect(r.skipped).toEqual({ header: 1, comment: 1 });
  });

  it('a CSV without its header rejects the data lines', () => {
    const r = parseFeodoCsv('1.2.3.4,80\n');
    expect(r.records).toHaveLength(0);
    expect(r.rejections.map((x) => x.reason)).toEqual([
      expect.stringMatching(/data before the header/),
      expect.stringMatching(/no header/),
    ]);
  });

  it('IP lists and netsets', () => {
    const r = parseFireholNetset('# mylist\n#\n10.1.2.3/8\n192.0.2.1\n300.1.1.1\n1.2.3.4/40\n\n192.0.2.1\n');
    checkInvariants(r);
    expect(r.source).toBe('mylist');
    expect(r.records.map((x) => `${x.type}:${x.value}`)).toEqual(['cidr:10.0.0.0/8', 'ip:192.0.2.1']);
    expect(r.rejections.map((x) => x.line)).toEqual([5, 6]);
    expect(r.duplicates).toBe(1);
  });

  it('MISP documents that are not events, and attributes without values', () => {
    expect(parseMispEvent('{').rejections[0]?.reason).toMatch(/invalid JSON/);
    expect(parseMispEvent('{"foo":1}').rejections[0]?.reason).toMatch(/not a MISP event/);
    const r = parseMispEvent({
      Event: {
        uuid: 'e1',
        date: '2020-01-02',
        Tag: [{ name: 'tlp:white' }],
        Attribute: [
          { uuid: 'a1', type: 'ip-dst', value: '198.51.100.7', to_ids: true },
          { uuid: 'a2', type: 'domain|ip', value: 'Evil.Example|198.51.100.8', to_ids: true },
          { uuid: 'a3', type: 'md5', value: 123, to_ids: true },
          { uuid: 'a4', type: 'link', value: 'https://ref.example/' },
          { uuid: 'a5', type: 'sha1', value: 'abc', to_ids: true },
          { uuid: 'a6', type: 'url', value: 'http://x.example/', to_ids: false },
          { uuid: 'a7', type: 'ip-dst|port', value: '198.51.100.9|443', to_ids: true, deleted: true },
        ],
      },
    });
    checkInvariants(r);
    expect(r.source).toBe('misp:event-e1');
    expect(r.records.map((x) => `${x.type}:${x.value}`)).toEqual([
      'ip:198.51.100.7',
      'domain:evil.example',
      'ip:198.51.100.8',
    ]);
    expect(r.records[0]).toMatchObject({ tags: ['tlp:white'], reference: 'a1' });
    expect(r.records[0]?.firstSeen?.toISOString()).toBe('2020-01-02T00:00:00.000Z');
    expect(r.rejections.map((x) => [x.location, x.reason])).toEqual([
      ['attribute a3', 'md5 attribute without a string value'],
      ['attribute a5', 'sha1 must be 40 hex characters, got 3'],
    ]);
    expect(r.skipped).toEqual({
      'MISP type link is not an indicator': 1,
      'to_ids false (context, not for detection)': 1,
      'deleted attribute': 1,
    });
  });
});

describe('STIX patterns', () => {
  it('parses equality comparisons joined by OR', () => {
    expect(parseStixPattern("[ipv4-addr:value = '198.51.100.1']")).toEqual({
      ok: true,
      comparisons: [{ path: 'ipv4-addr:value', type: 'ip', value: '198.51.100.1' }],
    });
    const p = parseStixPattern(
      "[domain-name:value = 'a.example' OR (url:value='http://b.example/it''s' OR email-addr:value = 'x@c.example')] OR [file:hashes.'SHA-256' = 'AB']",
    );
    expect(p.ok).toBe(false); // '' is not a STIX escape (\' is): the literal ends early and the rest no longer parses
    const q = parseStixPattern(
      "[domain-name:value = 'a.example' OR (url:value='http://b.example/it\\'s' OR email-addr:value = 'x@c.example')] OR [file:hashes.'SHA-256' = 'AB'] OR [file:hashes.MD5 = 'cd' OR ipv6-addr:value = '2001:db8::1']",
    );
    expect(q.ok && q.comparisons.map((c) => `${c.type}=${c.value}`)).toEqual([
      'domain=a.example',
      "url=http://b.example/it's",
      'email=x@c.example',
      'sha256=AB',
      'md5=cd',
      'ip=2001:db8::1',
    ]);
  });

  it.each([
    ["[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'a.example']", /AND is not supported/],
    ["[ipv4-addr:value != '1.2.3.4']", /operator != .* not supported/],
    ["[url:value MATCHES '^http']", /operator MATCHES/],
    ["[ipv4-addr:value IN ('1.2.3.4')]", /operator IN/],
    ["[ipv4-addr:value NOT = '1.2.3.4']", /negated/],
    ["[file:name = 'a.exe']", /unsupported object path file:name/],
    ["[file:hashes.'SSDEEP' = 'x']", /unsupported hash algorithm "SSDEEP"/],
    ["[ipv4-addr:value = '1.2.3.4'] WITHIN 300 SECONDS", /qualifier WITHIN/],
    ["[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '1.2.3.5']", /FOLLOWEDBY/],
    ["[ipv4-addr:value = '1.2.3.4'", /expected "\]"/],
    ["[ipv4-addr:value = '1.2.3.4]", /unterminated/],
    ['ipv4-addr:value = 1', /expected "\["/],
  ])('refuses %s', (pattern, why) => {
    const r = parseStixPattern(pattern);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(why);
  });

  it('maps indicator properties: validity, revocation, confidence, networks', () => {
    const base = {
      type: 'indicator',
      spec_version: '2.1',
      pattern_type: 'stix',
      valid_from: '2020-01-01T00:00:00Z',
    };
    const r = parseStixIndicators(
      {
        type: 'bundle',
        objects: [
          { ...base, id: 'indicator--1', pattern: "[ipv4-addr:value = '10.1.0.0/16']", confidence: 85 },
          { ...base, id: 'indicator--2', pattern: "[domain-name:value = 'a.example']", revoked: true },
          {
            ...base,
            id: 'indicator--3',
            pattern: "[url:value = 'http://a.example/']",
            valid_until: '2021-01-01T00:00:00Z',
          },
          { ...base, id: 'indicator--4', pattern: "[ipv4-addr:value = '1.2.3.4']", confidence: 250 },
          { ...base, id: 'indicator--5', pattern: 'rule x { condition: true }', pattern_type: 'yara' },
          { ...base, id: 'indicator--6', pattern: "[ipv4-addr:value = '1.2.3.4']", valid_from: 'soon' },
          { type: 'malware', id: 'malware--1' },
          42,
        ],
      },
      { asOf: AS_OF, source: 'test' },
    );
    checkInvariants(r);
    expect(r.records.map((x) => [x.type, x.value, x.status, x.confidence])).toEqual([
      ['cidr', '10.1.0.0/16', 'active', 0.85],
      ['domain', 'a.example', 'inactive', undefined],
      ['url', 'http://a.example/', 'expired', undefined],
    ]);
    expect(r.records[2]?.expiresAt?.toISOString()).toBe('2021-01-01T00:00:00.000Z');
    expect(r.rejections.map((x) => [x.location, x.reason])).toEqual([
      ['indicator--4', 'confidence 250 is not a number in 0..100'],
      ['indicator--5', 'pattern_type "yara" is not supported (only stix)'],
      ['indicator--6', 'valid_from "soon" is not a timestamp'],
      ['object', 'not a STIX object (no type)'],
    ]);
    expect(r.skipped).toEqual({ 'STIX malware': 1 });
  });
});

describe.skipIf(!have)('real feeds (shared/data/ioc)', () => {
  it('URLhaus recent: 11,125 URLs, all parsed, all online, tags and links kept', () => {
    const r = parseUrlhausCsv(read('abusech/urlhaus_recent_2025-04-21.csv'));
    checkInvariants(r);
    expect([r.read, r.records.length, r.rejections.length, r.duplicates]).toEqual([11125, 11125, 0, 0]);
    expect(r.skipped).toEqual({ header: 1, 'blank line': 1 });
    expect(r.records.every((x) => x.type === 'url' && x.status === 'active')).toBe(true);
    expect(r.records[0]).toMatchObject({
      value: 'http://117.209.87.242:60905/bin.sh',
      threatType: 'malware_download',
      tags: ['32-bit', 'elf', 'mips', 'Mozi'],
      reference: 'https://urlhaus.abuse.ch/url/3520667/',
    });
    expect(r.records[0]?.firstSeen?.toISOString()).toBe('2025-04-21T12:35:06.000Z');
    expect(r.records.filter((x) => x.value.startsWith('https://'))).toHaveLength(4623);
  });

  it('Feodo Tracker: 28 C2 IPs, 4 online and 24 offline', () => {
    const r = parseFeodoCsv(read('abusech/feodotracker_ipblocklist_2024-04-04.csv'));
    checkInvariants(r);
    expect([r.records.length, r.rejections.length]).toEqual([28, 0]);
    expect(r.records.filter((x) => x.status === 'active')).toHaveLength(4);
    expect(r.records.filter((x) => x.status === 'inactive')).toHaveLength(24);
    expect(r.records[0]).toMatchObject({
      type: 'ip',
      value: '192.9.135.73',
      tags: ['Pikabot'],
      metadata: { port: 1194 },
    });
    expect(r.records[0]?.lastSeen?.toISOString()).toBe('2024-04-01T00:00:00.000Z');
  });

  it('SSLBL: 285 then 287 certificate SHA-1s; the second snapshot removes 4 and adds 6', () => {
    const a = parseSslblCsv(read('abusech/sslbl_sslblacklist_1.csv'));
    const b = parseSslblCsv(read('abusech/sslbl_sslblacklist_2.csv'));
    checkInvariants(a);
    checkInvariants(b);
    expect([a.records.length, a.rejections.length, b.records.length, b.rejections.length]).toEqual([
      285, 0, 287, 0,
    ]);
    const sa = new Set(a.records.map((x) => x.value));
    const sb = new Set(b.records.map((x) => x.value));
    expect([...sa].filter((x) => !sb.has(x))).toHaveLength(4);
    expect([...sb].filter((x) => !sa.has(x))).toHaveLength(6);
    expect(a.records[0]).toMatchObject({
      type: 'sha1',
      value: '854c68ab7ad70b6f95f76ec64b8a46c145997629',
      tags: ['AsyncRAT'],
      metadata: { hash_of: 'x509-certificate' },
    });
  });

  it('MalwareBazaar: 39 samples give 117 hashes (sha256, md5, sha1)', () => {
    const r = parseMalwareBazaarCsv(read('abusech/malwarebazaar_dump_20260226.csv'));
    checkInvariants(r);
    expect([r.records.length, r.rejections.length]).toEqual([117, 0]);
    expect(r.skipped).toEqual({ comment: 8, header: 1 });
    const byType = (t: string): number => r.records.filter((x) => x.type === t).length;
    expect([byType('sha256'), byType('md5'), byType('sha1')]).toEqual([39, 39, 39]);
    expect(r.records.find((x) => x.value === '9363fa2625198beb1fcce0ef07f558ff')).toMatchObject({
      type: 'md5',
      metadata: {
        sha256: '19d854caf81bc884c677bd941abc50b33716e188fa723991820b0ffa3ea7e93e',
        file_name: 'pm68k',
      },
    });
  });

  it('ThreatFox IPs: 19,863 IPv4 addresses', () => {
    const r = parseThreatfoxIps(read('abusech/threatfox_ioc_ips.txt'));
    checkInvariants(r);
    expect([r.records.length, r.rejections.length, r.duplicates]).toEqual([19863, 0, 0]);
    expect(r.records[0]).toMatchObject({ type: 'ip', value: '1.7.147.211', source: 'threatfox' });
  });

  it('FireHOL level1: 2,892 entries (2,490 networks, 402 addresses), already canonical', () => {
    const text = read('firehol/firehol_level1_2021-06-28.netset');
    const r = parseFireholNetset(text);
    checkInvariants(r);
    expect(r.source).toBe('firehol_level1');
    expect([r.records.length, r.rejections.length]).toEqual([2892, 0]);
    expect(/Entries\s*:\s*(\d+) subnets/.exec(text)?.[1]).toBe(String(r.records.length));
    expect(r.records.filter((x) => x.type === 'cidr')).toHaveLength(2490);
    expect(r.records.filter((x) => x.type === 'ip')).toHaveLength(402);
    expect(r.records.slice(0, 2).map((x) => x.value)).toEqual(['0.0.0.0/8', '1.10.16.0/20']);
    const entries = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(r.records.map((x) => x.value)).toEqual(entries); // canonical input stays byte-identical
    for (const x of r.records) expect(normalizeIpOrCidr(x.value)).toMatchObject({ ok: true, value: x.value });
    expect(r.records[0]?.tags).toEqual(['attacks']);
  });

  it('MISP CIRCL events: per-event figures, every rejection a scheme-less "url"', () => {
    const files = readdirSync(resolve(DATA, MISP_DIR)).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(12);
    const figures: Record<string, [number, number, number]> = {};
    const rejected: string[] = [];
    for (const f of files) {
      const r = parseMispEvent(read(`${MISP_DIR}/${f}`));
      checkInvariants(r);
      expect(r.source).toBe(`misp:event-${f.replace(/\.json$/, '')}`);
      figures[f.slice(0, 8)] = [r.records.length, r.rejections.length, r.duplicates];
      for (const x of r.rejections) {
        expect(x.reason).toMatch(/is not an absolute URL/);
        rejected.push(x.record);
      }
    }
    expect(figures).toEqual({
      '56e12e66': [3, 1, 0],
      '57153590': [227, 11, 12],
      '57c4445b': [3, 0, 0],
      '5a0a9aa9': [50, 0, 0],
      '5a0ac036': [58, 0, 0],
      '5a0d5bf4': [105, 0, 8],
      '5a3c2fcd': [66, 0, 2],
      '5abf6421': [26, 0, 9],
      '5acc88e9': [3, 0, 1],
      '5c066053': [17, 0, 0],
      '5c0661f7': [14, 0, 0],
      '5c706a30': [31, 0, 10],
    });
    expect(rejected).toContain('decrypttozxybarc.onion');
    expect(rejected).toContain('www.whitewall.top');
    const ev = parseMispEvent(read(`${MISP_DIR}/57c4445b-c548-4654-af0b-4be3950d210f.json`));
    expect(ev.records.map((x) => `${x.type}:${x.value}`)).toEqual([
      'md5:0749bae92ca336a02c83d126e04ec628',
      'sha1:77b0c41b7d340b8a3d903f21347bbf06aa766b5b',
      'sha256:b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68',
    ]);
    expect(ev.records[0]?.tags).toContain('tlp:white');
    expect(ev.records[0]?.description).toBe('Ransomware - Xorist');
  });

  it('STIX 2.1 bundles: feeds2stix and OASIS examples', () => {
    const figures: Record<string, [number, number, number]> = {};
    const reasons: string[] = [];
    for (const dir of ['stix2.1/feeds2stix_bundles', 'stix2.1/oasis_cti_examples']) {
      for (const f of readdirSync(resolve(DATA, dir)).filter((x) => x.endsWith('.json'))) {
        const r = parseStixIndicators(read(`${dir}/${f}`), { asOf: AS_OF });
        checkInvariants(r);
        figures[f] = [r.records.length, r.rejections.length, r.duplicates];
        for (const x of r.rejections) reasons.push(`${x.location}: ${x.reason}`);
      }
    }
    expect(figures).toEqual({
      'cinsscore_bundle.json': [3, 0, 0],
      'ipsum_level_8.json': [58, 0, 0],
      'sslblacklist_BRAT.json': [1, 0, 0],
      'sslblacklist_BazarCall.json': [5, 0, 0],
      'vxvault_bundle.json': [101, 0, 0],
      'indicator-for-c2-ip-address.json': [1, 0, 0],
      'indicator-to-campaign-relationship.json': [1, 0, 0],
      'indicators-for-C2-with-COA.json': [2, 0, 0],
      'infrastructure.json': [0, 0, 0],
      'interop-objectmarking-test.json': [0, 0, 0],
      'malicious-email-indicator-with-attachment.json': [0, 2, 0],
      'threat-reports_apt1.json': [10, 2, 0],
      'threat-reports_poisonivy.json': [42, 3, 22],
    });
    expect(reasons.sort()).toEqual([
      'indicator--0b71628d-31dd-4eb8-baee-39f19c0a14b0: unsupported object path file:name',
      'indicator--137acf67-cedc-4a07-8719-72759174de3a: unsupported object path file:name',
      'indicator--2e17f6fe-3a4d-438a-911a-e509ba1b9933: operator MATCHES on email-message:body_multipart[*].body_raw_ref.name is not supported (only =)',
      'indicator--4e4c4ad7-4909-456a-b6fa-e24a6f682a40: "domain autuo.xicp.net" contains whitespace',
      'indicator--8cf9236f-1b96-493d-98be-0c1c1e8b62d7: operator MATCHES on email-message:subject is not supported (only =)',
      'indicator--b3b6b540-d838-41e2-853b-005056c00008: unsupported object path x509-certificate:issuer',
      'indicator--b3b7035e-d838-41e2-8d38-005056c00008: unsupported object path x509-certificate:issuer',
    ]);

    const apt1 = parseStixIndicators(read('stix2.1/oasis_cti_examples/threat-reports_apt1.json'), {
      asOf: AS_OF,
    });
    expect(apt1.records.filter((x) => x.type === 'cidr').map((x) => x.value)).toEqual([
      '223.166.0.0/15',
      '58.246.0.0/15',
      '112.64.0.0/15',
      '139.226.0.0/15',
    ]);
    const ipsum = parseStixIndicators(read('stix2.1/feeds2stix_bundles/ipsum_level_8.json'), { asOf: AS_OF });
    expect(ipsum.records.every((x) => x.confidence === 1)).toBe(true);
    expect(ipsum.records.find((x) => x.value === '45.148.10.151')?.firstSeen?.toISOString()).toBe(
      '2026-02-24T14:45:29.000Z',
    );
    const brat = parseStixIndicators(read('stix2.1/feeds2stix_bundles/sslblacklist_BRAT.json'), {
      asOf: AS_OF,
    });
    expect(brat.records[0]).toMatchObject({
      type: 'sha1',
      value: '5336e04495132330a766b2332013eff8bd9481e6',
      metadata: { hash_of: 'x509-certificate' },
    });
    const coa = parseStixIndicators(read('stix2.1/oasis_cti_examples/indicators-for-C2-with-COA.json'), {
      asOf: AS_OF,
    });
    expect(coa.records.map((x) => `${x.type}:${x.value}`)).toEqual([
      'ip:10.0.0.0',
      'sha256:ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c',
    ]);
    // Poison Ivy: OR patterns give one record per comparison; shared C2 IPs repeat across indicators.
    const pi = parseStixIndicators(read('stix2.1/oasis_cti_examples/threat-reports_poisonivy.json'), {
      asOf: AS_OF,
    });
    expect(pi.records.filter((x) => x.value === '113.10.246.30')).toHaveLength(1);
    expect(pi.records.some((x) => x.type === 'domain' && x.value === 'www.webserver.dynssl.com')).toBe(true);
  });
});
