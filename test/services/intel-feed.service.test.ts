/**
 * IntelFeedService on the real shared feeds (../shared/data/ioc, ../shared/data/attack), on PGlite and, with
 * TEST_DATABASE_URL, PostgreSQL. The shared-data tests skip with a warning when the data is absent.
 */
import { existsSync } from 'node:fs';
import { BlockList } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.ts';
import { IndicatorRepository, type LiveIndicator } from '../../src/repositories/indicator.repository.ts';
import { IngestionRunRepository } from '../../src/repositories/ingestion-run.repository.ts';
import { TechniqueRepository } from '../../src/repositories/technique.repository.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import { IntelFeedService, detectCsvFeed } from '../../src/services/intel-feed.service.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const SHARED = join(import.meta.dirname, '../../../shared/data');
const IOC = join(SHARED, 'ioc');
const ATTACK = join(SHARED, 'attack');
const haveIoc = existsSync(join(IOC, 'abusech'));
const haveAttack = existsSync(join(ATTACK, 'enterprise-attack_v18.1_stix2.0_assembled_from_mitre-cti.json'));
if (!haveIoc) console.warn(`intel-feed tests: ${IOC} is absent; the indicator feed tests are skipped`);
if (!haveAttack) console.warn(`intel-feed tests: ${ATTACK} is absent; the ATT&CK import tests are skipped`);

/** Facts of the shared abuse.ch files (counted from the files themselves). */
const ABUSECH = {
  urlhaus: 11125,
  feodotracker: 28,
  sslbl1: 285,
  sslbl2: 287,
  malwarebazaar: 117,
  threatfox: 19863,
};
const ABUSECH_READ = Object.values(ABUSECH).reduce((a, b) => a + b, 0);
/** sslbl_sslblacklist_2.csv says: "LAST 4 ENTRIES REMOVED, 6 NEW ENTRIES ADDED". */
const SSLBL_NEW = 6;
const SSLBL_REMOVED = 4;

describe('detectCsvFeed', () => {
  it('tells the feed from the file name, else from the banner, else nothing', () => {
    expect(detectCsvFeed('/x/urlhaus_recent.csv', '')).toBe('urlhaus');
    expect(detectCsvFeed('/x/level1.netset', '')).toBe('firehol');
    expect(detectCsvFeed('/x/list.csv', '# abuse.ch SSLBL SSL Certificate Blacklist\n')).toBe('sslbl');
    expect(detectCsvFeed('/x/list.csv', '"first_seen_utc","dst_ip","dst_port"\n')).toBe('feodo');
    expect(detectCsvFeed('/x/list.csv', '1.2.3.4\n')).toBeUndefined();
  });
});

describe('matchIndicators (in-memory index, repository faked)', () => {
  const rows: LiveIndicator[] = [
    ['cidr', '10.0.0.0/8'],
    ['cidr', '192.168.1.128/25'],
    ['cidr', '203.0.113.7/32'],
    ['cidr', '255.255.255.254/31'],
    ['cidr', '128.0.0.0/1'],
    ['cidr', '2001:db8::/32'],
    ['cidr', '2001:db8:1:2::/64'],
    ['cidr', '2001:db8:1:2:3:4:5:6/128'],
    ['cidr', 'fe80::/10'],
    ['ip', '198.51.100.1'],
    ['ip', '2001:db8::1'],
    ['sha256', 'a'.repeat(64)],
    ['url', 'http://x.example/A'],
  ].map(([type, value], i) => ({
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    type: type as LiveIndicator['type'],
    value: value!,
    source: 'unit',
    confidence: null,
    threatType: null,
    expiresAt: null,
  }));
  rows.push({
    ...rows[9]!,
    id: '00000000-0000-4000-8000-000000000099',
    value: '198.51.100.2',
    expiresAt: new Date(Date.now() - 1000),
  });
  const repo = {
    listLivePage: async (tenantId: string | null, after: string | undefined) =>
      tenantId === null && after === undefined ? rows : [],
  } as unknown as IndicatorRepository;
  const svc = new IntelFeedService({
    indicators: repo,
    techniques: {} as TechniqueRepository,
    runs: {} as IngestionRunRepository,
  });
  const values = async (v: string) =>
    ((await svc.matchIndicators('00000000-0000-4000-8000-00000000abcd', [v])).get(v) ?? [])
      .map((h) => h.value)
      .sort();

  it('matches exact values, case rules, networks of every prefix length, and skips expired rows', async () => {
    expect(await values('10.255.0.1')).toEqual(['10.0.0.0/8']);
    expect(await values('192.168.1.200')).toEqual(['128.0.0.0/1', '192.168.1.128/25']);
    expect(await values('192.168.1.127')).toEqual(['128.0.0.0/1']);
    expect(await values('203.0.113.7')).toEqual(['128.0.0.0/1', '203.0.113.7/32']);
    expect(await values('203.0.113.8')).toEqual(['128.0.0.0/1']);
    expect(await values('255.255.255.255')).toEqual(['128.0.0.0/1', '255.255.255.254/31']);
    expect(await values('9.9.9.9')).toEqual([]);
    expect(await values(' 198.51.100.1 ')).toEqual(['128.0.0.0/1', '198.51.100.1']);
    expect(await values('198.51.100.2')).toEqual(['128.0.0.0/1']); // its own row expired
    expect(await values('2001:DB8:0::1')).toEqual(['2001:db8::/32', '2001:db8::1']);
    expect(await values('2001:db8:1:2:ffff::')).toEqual(['2001:db8:1:2::/64', '2001:db8::/32']);
    expect(await values('2001:db8:1:2:3:4:5:6')).toEqual([
      '2001:db8:1:2:3:4:5:6/128',
      '2001:db8:1:2::/64',
      '2001:db8::/32',
    ]);
    expect(await values('2001:db9::1')).toEqual([]);
    expect(await values('FE80::1')).toEqual(['fe80::/10']);
    expect(await values('A'.repeat(64))).toEqual(['a'.repeat(64)]);
    expect(await values('http://x.example/A')).toEqual(['http://x.example/A']);
    expect(await values('HTTP://X.EXAMPLE/A')).toEqual([]); // URLs are not case-insensitive
  });

  it('agrees with node:net BlockList on random IPv4 addresses', async () => {
    const nets = rows.filter((r) => r.type === 'cidr' && !r.value.includes(':'));
    const lists = nets.map((n) => {
      const [addr, bits] = n.value.split('/');
      const bl = new BlockList();
      bl.addSubnet(addr!, Number(bits), 'ipv4');
      return { value: n.value, bl };
    });
    let x = 12345;
    const batch: string[] = [];
    for (let i = 0; i < 2000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      batch.push([x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255].join('.'));
    }
    const m = await svc.matchIndicators('00000000-0000-4000-8000-00000000abcd', batch);
    for (const ip of batch) {
      const want = lists
        .filter((l) => l.bl.check(ip, 'ipv4'))
        .map((l) => l.value)
        .sort();
      const got = (m.get(ip) ?? [])
        .filter((h) => h.type === 'cidr')
        .map((h) => h.value)
        .sort();
      expect(got, ip).toEqual(want);
    }
  });
});

describe.each(engines())('IntelFeedService on %s', (engine) => {
  let t: TestDb;
  let svc: IntelFeedService;
  let runs: IngestionRunRepository;
  let techniques: TechniqueRepository;
  let indicators: IndicatorRepository;
  let tenant: Tenant;
  let tmp: string;

  beforeAll(async () => {
    t = await createTestDb(engine);
    indicators = new IndicatorRepository(t.db);
    techniques = new TechniqueRepository(t.db);
    runs = new IngestionRunRepository(t.db);
    svc = new IntelFeedService({ indicators, techniques, runs });
    tenant = await makeTenant(t.db, 'Acme');
    tmp = await mkdtemp(join(tmpdir(), 'vigil-intel-'));
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it.skipIf(!haveIoc)(
    'imports the abuse.ch directory, delists what the newer SSLBL snapshot dropped, and re-imports idempotently',
    async () => {
      const progress: string[] = [];
      const first = await svc.importIndicators('csv', [join(IOC, 'abusech')], {
        label: 'initial_load',
        onProgress: (p) => progress.push(p.file),
      });
      expect(first.files).toBe(6); // the LICENSE file is not a feed
      expect(progress).toHaveLength(6);
      expect(first.fetched).toBe(ABUSECH_READ);
      expect(first.failed).toBe(0);
      expect(first.rejections).toEqual([]);
      // sslbl_2 repeats 281 fingerprints of sslbl_1 (updated), adds 6 (inserted) and drops 4 (delisted).
      expect(first.inserted).toBe(ABUSECH_READ - ABUSECH.sslbl2 + SSLBL_NEW);
      expect(first.updated).toBe(ABUSECH.sslbl2 - SSLBL_NEW);
      expect(first.delisted).toBe(SSLBL_REMOVED);
      expect(first.fetched).toBe(first.inserted + first.updated + first.failed + first.duplicates);
      expect(first.sources).toMatchObject({
        urlhaus: ABUSECH.urlhaus,
        feodotracker: ABUSECH.feodotracker,
        threatfox: ABUSECH.threatfox,
        malwarebazaar: ABUSECH.malwarebazaar,
      });

      const run = await runs.get(first.runId);
      expect(run).toMatchObject({
        kind: 'intel',
        source: 'csv',
        label: 'initial_load',
        status: 'success',
        tenantId: null,
        recordsFetched: first.fetched,
        recordsInserted: first.inserted,
        recordsUpdated: first.updated,
        recordsFailed: 0,
      });
      expect(run!.completedAt).not.toBeNull();
      expect(run!.durationSeconds).toBeGreaterThanOrEqual(0);

      const inactive = await indicators.list(tenant.id, {
        filters: { source: 'sslbl', status: 'inactive' },
        limit: 50,
      });
      expect(inactive.total).toBe(SSLBL_REMOVED);
      const dropped = inactive.items[0]!.value;
      expect((await svc.matchIndicators(tenant.id, [dropped])).size).toBe(0);

      const again = await svc.importIndicators('csv', [join(IOC, 'abusech')]);
      expect(again.inserted).toBe(0);
      expect(again.updated).toBe(ABUSECH_READ);
      // The snapshots replay in order: sslbl_1 delists the 6 that sslbl_2 added, sslbl_2 lists them again
      // and delists its 4; the end state is the same as after the first import.
      expect(again.delisted).toBe(SSLBL_NEW + SSLBL_REMOVED);
      const stillInactive = await indicators.list(tenant.id, {
        filters: { source: 'sslbl', status: 'inactive' },
        limit: 50,
      });
      expect(stillInactive.items.map((i) => i.value).sort()).toEqual(
        inactive.items.map((i) => i.value).sort(),
      );
      expect(again.runId).not.toBe(first.runId);
      const total = await indicators.list(tenant.id, { filters: { includeExpired: true }, limit: 1 });
      expect(total.total).toBeGreaterThanOrEqual(ABUSECH_READ - ABUSECH.sslbl2 + SSLBL_NEW);
    },
    240_000,
  );

  it.skipIf(!haveIoc)(
    'matches an IP inside a FireHOL network, and exact values of several types',
    async () => {
      const s = await svc.importIndicators('csv', [join(IOC, 'firehol')], { feed: 'firehol' });
      expect(s.source).toBe('csv:firehol');
      expect(s.fetched).toBe(2892);
      expect(s.failed).toBe(0);
      expect(s.sources).toEqual({ firehol_level1: 2892 });

      const inside = '1.10.20.5'; // in 1.10.16.0/20
      const outside = '1.10.32.5'; // just past it
      const m = await svc.matchIndicators(tenant.id, [inside, outside, 'not-an-indicator.example']);
      expect(m.get(inside)?.map((h) => [h.type, h.value, h.source])).toContainEqual([
        'cidr',
        '1.10.16.0/20',
        'firehol_level1',
      ]);
      expect(m.get(outside)?.some((h) => h.value === '1.10.16.0/20') ?? false).toBe(false);
      expect(m.has('not-an-indicator.example')).toBe(false);

      // The matcher and the repository's lookup agree on the FireHOL network.
      const viaRepo = await indicators.lookup(tenant.id, [inside]);
      expect(viaRepo.map((i) => i.value)).toContain('1.10.16.0/20');
    },
  );

  it('restores defanged values, matches IPv6 networks, and honours expiry and confidence', async () => {
    const misp = join(tmp, 'defanged-event.json');
    await writeFile(
      misp,
      JSON.stringify({
        Event: {
          uuid: '11111111-2222-4333-8444-555555555555',
          info: 'defanged test event',
          Attribute: [
            {
              type: 'url',
              value: 'hxxp://bad-site[.]example/payload.jar',
              to_ids: true,
              category: 'Network activity',
            },
            { type: 'domain', value: 'C2[.]Evil-Example[.]COM', to_ids: true, category: 'Network activity' },
            { type: 'ip-dst', value: '2001:DB8:0:0::7', to_ids: true, category: 'Network activity' },
            { type: 'url', value: 'not a url', to_ids: true, category: 'Network activity' },
          ],
        },
      }),
    );
    const s = await svc.importIndicators('misp', [misp]);
    expect(s.inserted).toBe(3);
    expect(s.failed).toBe(1);
    expect(s.rejections).toHaveLength(1);
    expect(s.rejections[0]).toMatchObject({ file: misp });
    expect(s.rejections[0]!.reason).toMatch(/URL/i);
    const m = await svc.matchIndicators(tenant.id, [
      'http://bad-site.example/payload.jar',
      'c2.evil-example.com',
      'C2.EVIL-EXAMPLE.COM',
      '2001:db8::7',
    ]);
    expect(m.get('http://bad-site.example/payload.jar')?.[0]).toMatchObject({ type: 'url' });
    expect(m.get('c2.evil-example.com')?.[0]).toMatchObject({
      type: 'domain',
      value: 'c2.evil-example.com',
      source: 'misp:event-11111111-2222-4333-8444-555555555555',
    });
    expect(m.get('C2.EVIL-EXAMPLE.COM')?.[0]?.value).toBe('c2.evil-example.com');
    expect(m.get('2001:db8::7')?.[0]?.value).toBe('2001:db8::7');

    const list = join(tmp, 'nets.txt');
    await writeFile(list, '# my nets\n2001:db8:abcd::/48\n198.51.100.0/24\nbogus\n');
    const n = await svc.importIndicators('csv', [list], { feed: 'iplist' });
    expect(n).toMatchObject({ fetched: 3, inserted: 2, failed: 1 });
    expect(n.rejections[0]).toMatchObject({ file: list, location: 'line 4' });
    const v6 = await svc.matchIndicators(tenant.id, [
      '2001:DB8:ABCD:1::99',
      '2001:db8:abce::1',
      '198.51.100.77',
    ]);
    expect(v6.get('2001:DB8:ABCD:1::99')?.map((h) => h.value)).toEqual(['2001:db8:abcd::/48']);
    expect(v6.has('2001:db8:abce::1')).toBe(false);
    // (FireHOL level 1 lists this documentation network among its bogons too.)
    expect(v6.get('198.51.100.77')?.map((h) => [h.value, h.source])).toContainEqual([
      '198.51.100.0/24',
      'iplist:nets',
    ]);

    // A STIX indicator past valid_until is stored expired and never matches; confidence is kept (0..1).
    const stix = join(tmp, 'bundle.json');
    const indicator = (id: string, pattern: string, extra: object) => ({
      type: 'indicator',
      spec_version: '2.1',
      id: `indicator--${id}`,
      created: '2024-01-01T00:00:00Z',
      modified: '2024-01-01T00:00:00Z',
      pattern,
      pattern_type: 'stix',
      valid_from: '2024-01-01T00:00:00Z',
      ...extra,
    });
    await writeFile(
      stix,
      JSON.stringify({
        type: 'bundle',
        id: 'bundle--00000000-0000-4000-8000-000000000000',
        objects: [
          indicator('00000000-0000-4000-8000-000000000001', "[ipv4-addr:value = '203.0.113.9']", {
            confidence: 85,
          }),
          indicator('00000000-0000-4000-8000-000000000002', "[domain-name:value = 'old.example']", {
            valid_until: '2024-06-01T00:00:00Z',
          }),
        ],
      }),
    );
    const st = await svc.importIndicators('stix', [stix], { asOf: new Date('2025-01-01T00:00:00Z') });
    expect(st).toMatchObject({ inserted: 2, failed: 0, sources: { 'stix:bundle': 2 } });
    const sm = await svc.matchIndicators(tenant.id, ['203.0.113.9', 'old.example']);
    expect(sm.get('203.0.113.9')?.[0]?.confidence).toBeCloseTo(0.85, 5);
    expect(sm.has('old.example')).toBe(false);
  });

  it.skipIf(!haveIoc)('imports the STIX and MISP directories with every rejection explained', async () => {
    const stix = await svc.importIndicators('stix', [join(IOC, 'stix2.1')]);
    expect(stix.fetched).toBe(168 + 85);
    expect(stix.failed).toBe(7);
    expect(stix.rejections).toHaveLength(7);
    for (const r of stix.rejections) {
      expect(r.file).toMatch(/oasis_cti_examples/);
      expect(r.reason.length).toBeGreaterThan(5);
    }
    expect(stix.rejectionsByReason).toMatchObject({ 'unsupported object path file:name': 2 });
    expect(stix.fetched).toBe(stix.inserted + stix.updated + stix.failed + stix.duplicates);

    const misp = await svc.importIndicators('misp', [join(IOC, 'misp')], { label: 'circl' });
    expect(misp.files).toBe(12);
    expect(misp.fetched).toBe(657);
    expect(misp.failed).toBe(12);
    expect(misp.rejections.every((r) => /not an absolute URL/.test(r.reason))).toBe(true);
    expect(misp.fetched).toBe(misp.inserted + misp.updated + misp.failed + misp.duplicates);
    const again = await svc.importIndicators('misp', [join(IOC, 'misp')], { label: 'circl' });
    expect(again.inserted).toBe(0);
    expect(again.updated).toBe(misp.inserted + misp.updated);

    const listed = await runs.list({ filters: { kind: 'intel', source: 'misp' }, limit: 100 });
    const circl = listed.items.filter((r) => r.label === 'circl');
    expect(circl.map((r) => [r.status, r.recordsFetched, r.recordsFailed])).toEqual([
      ['success', 657, 12],
      ['success', 657, 12],
    ]);
    expect(circl[0]!.details).toMatchObject({ files: 12 });
  });

  it("matches global and the tenant's own indicators, never another tenant's, and leaves out inactive ones", async () => {
    const own = await makeTenant(t.db, 'Own');
    const other = await makeTenant(t.db, 'Other');
    const m = new IntelFeedService({ indicators, techniques, runs }, { matcherTtlMs: 3_600_000 });
    await indicators.createGlobal({ type: 'cidr', value: '100.64.0.0/10', source: 'scope-test' });
    const shared = await indicators.createGlobal({ type: 'domain', value: 'scoped.example', source: 'g' });
    await indicators.create(own.id, { type: 'cidr', value: '100.64.1.0/24', source: 'scope-test' });
    await indicators.create(own.id, { type: 'domain', value: 'scoped.example', source: 'own' });
    await indicators.create(other.id, { type: 'ip', value: '100.64.1.1', source: 'scope-test' });
    const dead = await indicators.create(own.id, {
      type: 'ip',
      value: '100.64.1.2',
      source: 'scope-test',
      status: 'inactive',
    });
    // (Only this test's sources: the FireHOL list imported above has 100.64.0.0/10 too.)
    const mine = new Set(['scope-test', 'g', 'own']);
    const seen = async (tenantId: string, v: string) =>
      ((await m.matchIndicators(tenantId, [v])).get(v) ?? [])
        .filter((h) => mine.has(h.source))
        .map((h) => `${h.value} ${h.source}`)
        .sort();

    expect(await seen(own.id, '100.64.1.1')).toEqual([
      '100.64.0.0/10 scope-test',
      '100.64.1.0/24 scope-test',
    ]);
    expect(await seen(own.id, '100.64.1.2')).toEqual([
      '100.64.0.0/10 scope-test',
      '100.64.1.0/24 scope-test',
    ]);
    expect(await seen(other.id, '100.64.1.1')).toEqual(['100.64.0.0/10 scope-test', '100.64.1.1 scope-test']);
    expect(await seen(other.id, '100.64.1.2')).toEqual(['100.64.0.0/10 scope-test']);
    expect(await seen(own.id, 'SCOPED.example')).toEqual(['scoped.example g', 'scoped.example own']);
    expect(await seen(other.id, 'scoped.example')).toEqual(['scoped.example g']);
    expect((await m.matchIndicators(own.id, ['scoped.example'])).get('scoped.example')?.[0]?.id).toBe(
      shared.id,
    );

    // Writes made behind the cache are seen after invalidateMatcher (IndicatorService calls it), not before.
    await indicators.update(own.id, dead.id, { status: 'active' });
    expect(await seen(own.id, '100.64.1.2')).not.toContain('100.64.1.2 scope-test');
    m.invalidateMatcher(own.id);
    expect(await seen(own.id, '100.64.1.2')).toContain('100.64.1.2 scope-test');
  });

  it('fails the run, naming the feeds, when a CSV feed cannot be told', async () => {
    const f = join(tmp, 'mystery.csv');
    await writeFile(f, '1.2.3.4\n5.6.7.8\n');
    const err = await svc.importIndicators('csv', [f]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(
      /urlhaus, feodo, sslbl, malwarebazaar, threatfox, firehol, iplist/,
    );
    const failed = await runs.list({ filters: { kind: 'intel', status: 'failed' } });
    expect(failed.items[0]).toMatchObject({ source: 'csv', status: 'failed' });
    expect(failed.items[0]!.errorMessage).toMatch(/cannot tell which feed/);
    await expect(svc.importIndicators('csv', [join(tmp, 'missing.csv')])).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it.skipIf(!haveAttack)(
    'imports ATT&CK (enterprise 2.0, ICS and mobile 2.1): sub-techniques with parent and tactics; re-import updates',
    async () => {
      const paths = [
        join(ATTACK, 'enterprise-attack_v18.1_stix2.0_assembled_from_mitre-cti.json'),
        join(ATTACK, 'ics-attack_v18.1_stix2.1.json'),
        join(ATTACK, 'mobile-attack_v17.1_stix2.1.json'),
      ];
      const s = await svc.importAttack(paths, { label: 'attack-v18' });
      expect(s.failed).toBe(0);
      expect(s.inserted).toBeGreaterThan(1000);
      expect(s.fetched).toBe(s.inserted + s.updated + s.failed + s.duplicates);

      const ps = await techniques.getByTechniqueId('T1059.001');
      expect(ps).toMatchObject({
        techniqueId: 'T1059.001',
        name: 'PowerShell',
        isSubtechnique: true,
        parentTechniqueId: 'T1059',
        tactics: ['execution'],
        revoked: false,
      });
      expect(ps!.platforms).toContain('Windows');
      expect(ps!.description).toMatch(/PowerShell/);
      expect(ps!.dataSources.length).toBeGreaterThan(0);
      const parent = await techniques.getByTechniqueId('T1059');
      expect(parent).toMatchObject({ name: 'Command and Scripting Interpreter', isSubtechnique: false });
      const all = await techniques.list({ filters: { includeRevoked: true }, limit: 1 });
      expect(all.total).toBe(s.inserted);
      const revoked = await techniques.list({ filters: { includeRevoked: true, q: '' }, limit: 500 });
      expect(revoked.items.some((x) => x.revoked || x.deprecated)).toBe(true);

      // The whole directory: the index and other non-bundle JSON files are rejections, not failures of the run.
      const dir = await svc.importAttack([ATTACK]);
      expect(dir.inserted).toBe(0);
      expect(dir.rejections.every((r) => /not a STIX bundle/.test(r.reason))).toBe(true);
      expect(dir.fetched).toBe(dir.inserted + dir.updated + dir.failed + dir.duplicates);

      const again = await svc.importAttack(paths);
      expect(again.inserted).toBe(0);
      expect(again.updated).toBe(s.inserted);
      expect((await runs.get(again.runId))?.status).toBe('success');
      expect((await runs.get(s.runId))?.label).toBe('attack-v18');
    },
    240_000,
  );
});
