/**
 * IntelSetupService (seed 004's setup script): what each file is, from its content; then a directory of
 * real feeds (links to ../shared/data files, never copies) loaded as one ingestion run per kind, on PGlite
 * and, with TEST_DATABASE_URL, PostgreSQL. The real-data part is skipped with a warning when
 * ../shared/data is absent.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { count, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasVulnData, VULN_DATA } from '../../src/intel/vuln/test-data.ts';
import { indicators as indicatorsTable } from '../../src/db/schema/index.ts';
import { IndicatorRepository } from '../../src/repositories/indicator.repository.ts';
import { IngestionRunRepository } from '../../src/repositories/ingestion-run.repository.ts';
import { TechniqueRepository } from '../../src/repositories/technique.repository.ts';
import { VulnerabilityRepository } from '../../src/repositories/vulnerability.repository.ts';
import { IntelFeedService } from '../../src/services/intel-feed.service.ts';
import { classifyIntelFile, IntelSetupService } from '../../src/services/intel-setup.service.ts';
import { VulnImportService } from '../../src/services/vuln-import.service.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';

const SHARED = join(VULN_DATA, '..');

describe('classifyIntelFile', () => {
  it('tells each feed kind from its content, whatever its name or key order', () => {
    const cve = JSON.stringify({
      containers: { cna: {} },
      cveMetadata: { cveId: 'CVE-2024-1' },
      dataType: 'CVE_RECORD',
    });
    expect(classifyIntelFile('x/any-name.json', cve)).toEqual({ kind: 'cve' });
    expect(
      classifyIntelFile('p.json', '{"resultsPerPage":1,"format":"NVD_CVE","vulnerabilities":[]}'),
    ).toEqual({
      kind: 'nvd',
    });
    expect(classifyIntelFile('k.json', '{"title":"CISA","catalogVersion":"1","vulnerabilities":[]}')).toEqual(
      {
        kind: 'kev',
      },
    );
    expect(classifyIntelFile('k.csv', 'cveID,vendorProject,product\nCVE-2021-1,a,b\n')).toEqual({
      kind: 'kev',
    });
    const stixAttack =
      '{"type":"bundle","objects":[{"type":"attack-pattern","external_references":[{"source_name":"mitre-attack"}]}]}';
    expect(classifyIntelFile('a.json', stixAttack)).toEqual({ kind: 'attack' });
    expect(classifyIntelFile('i.json', '{"type":"bundle","objects":[{"type":"indicator"}]}')).toEqual({
      kind: 'stix',
    });
    expect(classifyIntelFile('e.json', '{"Event":{"Attribute":[]}}')).toEqual({ kind: 'misp' });
    expect(classifyIntelFile('feodo_blocklist.csv', '# Feodo Tracker\n"first_seen_utc","dst_ip"\n')).toEqual({
      kind: 'csv',
      note: 'feodo',
    });
    expect(classifyIntelFile('level1.netset', '# FireHOL\n1.2.3.0/24\n')).toEqual({
      kind: 'csv',
      note: 'firehol',
    });
  });

  it('loads EPSS only with a score date, from the file or the caller', () => {
    const dated =
      '#model_version:v1,score_date:2025-03-20T00:00:00+0000\ncve,epss,percentile\nCVE-2020-1,0.1,0.5\n';
    expect(classifyIntelFile('e.csv', dated)).toEqual({ kind: 'epss' });
    const undated = 'CVE-2020-9999;0.076320000;0.940390000\n';
    expect(classifyIntelFile('y.csv', undated)).toEqual({ skip: expect.stringMatching(/--score-date/) });
    expect(classifyIntelFile('y.csv', undated, { scoreDate: '2026-08-16' })).toMatchObject({ kind: 'epss' });
  });

  it('skips what is not a feed, with the reason', () => {
    const skip = (file: string, text: string) => (classifyIntelFile(file, text) as { skip: string }).skip;
    expect(skip('LICENSE', 'MIT')).toMatch(/licence or documentation/);
    expect(skip('README.md', '# x')).toMatch(/licence or documentation/);
    expect(skip('notes.md', '# x')).toMatch(/extension \.md/);
    expect(
      skip(
        's.json',
        '{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"catalogVersion":{}}}',
      ),
    ).toMatch(/JSON Schema/);
    expect(skip('h.json', '{"format":"NVD_CVEHistory","cveChanges":[]}')).toMatch(/NVD_CVEHistory/);
    expect(skip('b.json', '{"type":"bundle","objects":[{"type":"campaign"}]}')).toMatch(/neither indicators/);
    expect(skip('o.json', '{"hello":1}')).toMatch(/unrecognised JSON/);
    expect(skip('INDEX.csv', 'cveId,path,state\nCVE-1,a,b\n')).toMatch(/unrecognised CSV.*cveId,path/);
  });
});

const present =
  hasVulnData('kev') &&
  hasVulnData('epss') &&
  hasVulnData('cve_json5_vulnrichment') &&
  hasVulnData('nvd_api_2.0');

describe.skipIf(!present).each(engines())('IntelSetupService on %s (real feeds)', (engine) => {
  let t: TestDb;
  let setup: IntelSetupService;
  let runs: IngestionRunRepository;
  let vulns: VulnerabilityRepository;
  let indicators: IndicatorRepository;
  let techniques: TechniqueRepository;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-setup-'));

  beforeAll(async () => {
    const link = (src: string, ...to: string[]) => {
      mkdirSync(join(dir, ...to.slice(0, -1)), { recursive: true });
      symlinkSync(join(SHARED, src), join(dir, ...to));
    };
    link('vuln/cve_json5_vulnrichment/2011/0xxx/CVE-2011-0611.json', 'cves', 'CVE-2011-0611.json');
    link('vuln/nvd_api_2.0/cves-CVE-2023-0001.json', 'nvd', 'page.json');
    link('vuln/nvd_api_2.0/sources-20.json', 'nvd', 'sources.json');
    link('vuln/kev/known_exploited_vulnerabilities.csv', 'kev.csv');
    link('vuln/kev/known_exploited_vulnerabilities_schema.json', 'kev-schema.json');
    link('vuln/epss/emba_per_year/CVE_1999_EPSS.csv', 'epss', 'CVE_1999_EPSS.csv');
    link('attack/ics-attack_v18.1_stix2.1.json', 'attack.json');
    link('ioc/abusech/feodotracker_ipblocklist_2024-04-04.csv', 'feeds', 'feodo.csv');
    link('ioc/firehol/firehol_level1_2021-06-28.netset', 'feeds', 'level1.netset');
    link('ioc/stix2.1/oasis_cti_examples/indicator-for-c2-ip-address.json', 'stix.json');
    link(
      'ioc/misp/circl_osint_events_via_pymisp_tests/5a3c2fcd-8328-42bb-a95e-4f4402de0b81.json',
      'misp.json',
    );
    writeFileSync(join(dir, 'LICENSE'), 'terms');
    t = await createTestDb(engine);
    runs = new IngestionRunRepository(t.db);
    vulns = new VulnerabilityRepository(t.db);
    indicators = new IndicatorRepository(t.db);
    techniques = new TechniqueRepository(t.db);
    setup = new IntelSetupService({
      vulnImport: new VulnImportService(vulns, runs),
      intelFeed: new IntelFeedService({ indicators, techniques, runs }),
    });
  }, 60_000);
  afterAll(async () => {
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plans every file: the feeds by kind in load order, the rest skipped with reasons', async () => {
    const plan = await setup.plan([dir]);
    expect(plan.groups.map((g) => [g.kind, g.files.length])).toEqual([
      ['cve', 1],
      ['nvd', 1],
      ['kev', 1],
      ['attack', 1],
      ['stix', 1],
      ['misp', 1],
      ['csv', 2],
    ]);
    const reasons = Object.fromEntries(plan.skipped.map((s) => [s.file.slice(dir.length + 1), s.reason]));
    expect(Object.keys(reasons).sort()).toEqual([
      'LICENSE',
      'epss/CVE_1999_EPSS.csv',
      'kev-schema.json',
      'nvd/sources.json',
    ]);
    expect(reasons['epss/CVE_1999_EPSS.csv']).toMatch(/--score-date/);
    await expect(setup.plan([join(dir, 'nope')])).rejects.toThrow(/no such file or directory/);
    await expect(setup.plan([dir], { scoreDate: '20-08-2026' })).rejects.toThrow(/invalid score date/);
  });

  it('loads each kind as one successful ingestion run; a rerun inserts nothing', async () => {
    const s = await setup.run([dir], { scoreDate: '2026-08-16', label: 'initial_load' });
    expect(s.runs.map((r) => [r.kind, r.status])).toEqual([
      ['cve', 'success'],
      ['nvd', 'success'],
      ['kev', 'success'],
      ['epss', 'success'],
      ['attack', 'success'],
      ['stix', 'success'],
      ['misp', 'success'],
      ['csv', 'success'],
    ]);
    for (const r of s.runs) {
      const run = await runs.get(r.runId!);
      expect(run).toMatchObject({
        kind: 'intel',
        status: 'success',
        label: 'initial_load',
        recordsFetched: r.fetched,
      });
      expect(r.fetched).toBeGreaterThan(0);
    }
    const by = Object.fromEntries(s.runs.map((r) => [r.kind, r]));
    expect(by.kev).toMatchObject({ fetched: 1404, failed: 0 });
    expect(by.epss).toMatchObject({ fetched: 1540, failed: 0 });
    // In the CVE set and in KEV: one record, merged.
    const flash = await vulns.getByCveId('CVE-2011-0611');
    expect(flash).toMatchObject({ exploitedInTheWild: true, kevDateAdded: expect.any(String) });
    expect(flash?.description).toBeTruthy();
    expect((await techniques.list({ filters: { includeRevoked: true }, limit: 1 })).total).toBe(
      by.attack!.inserted,
    );
    expect(by.csv!.inserted).toBeGreaterThan(0);
    const globalIndicators = await t.db.platform((tx) =>
      tx.select({ n: count() }).from(indicatorsTable).where(isNull(indicatorsTable.tenantId)),
    );
    expect(globalIndicators[0]!.n).toBe(by.stix!.inserted + by.misp!.inserted + by.csv!.inserted);

    const again = await setup.run([dir], { scoreDate: '2026-08-16' });
    expect(again.runs.every((r) => r.status === 'success' && r.inserted === 0)).toBe(true);
  }, 120_000);
});
