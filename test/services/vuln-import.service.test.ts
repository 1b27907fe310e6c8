/**
 * VulnImportService on the real shared data (../shared/data/vuln: CVE JSON 5 with CISA vulnrichment, KEV,
 * NVD pages, a slice of EPSS), on PGlite and, with TEST_DATABASE_URL, PostgreSQL. Skipped with a warning
 * when the data sets are absent.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.ts';
import { hasVulnData, VULN_DATA } from '../../src/intel/vuln/test-data.ts';
import { IngestionRunRepository } from '../../src/repositories/ingestion-run.repository.ts';
import { VulnerabilityRepository } from '../../src/repositories/vulnerability.repository.ts';
import { VulnImportService } from '../../src/services/vuln-import.service.ts';
import { VulnerabilityService } from '../../src/services/vulnerability.service.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';

const present = ['cve_json5_vulnrichment', 'kev', 'epss', 'nvd_api_2.0'].every((d) => hasVulnData(d));
const NOW = new Date('2026-11-30T00:00:00Z');
const CVE_DIR = join(VULN_DATA, 'cve_json5_vulnrichment');
const KEV_JSON = join(VULN_DATA, 'kev', 'known_exploited_vulnerabilities.json');
const KEV_CSV = join(VULN_DATA, 'kev', 'known_exploited_vulnerabilities.csv');
const NVD_DIR = join(VULN_DATA, 'nvd_api_2.0');
const EPSS = join(VULN_DATA, 'epss', 'epss_scores_combined_from_EMBA.csv');
/** In the CVE JSON 5 set (CNA + CISA ADP), in KEV and in EPSS. */
const KEV_CVE = 'CVE-2011-0611';
const EPSS_ROWS = 5000;

const tmp = mkdtempSync(join(tmpdir(), 'vigil-vuln-import-'));

/** The EPSS file's comment and header, its first EPSS_ROWS rows and the KEV_CVE row (no score date). */
function epssSlice(): { file: string; rows: number } {
  const lines = present ? readFileSync(EPSS, 'utf8').split('\n') : [];
  const head = lines.slice(0, 2);
  const rows = lines.slice(2, 2 + EPSS_ROWS);
  const extra = lines.find((l) => l.startsWith(`${KEV_CVE},`));
  if (extra && !rows.includes(extra)) rows.push(extra);
  const file = join(tmp, 'epss-slice.csv');
  writeFileSync(file, [...head, ...rows].join('\n') + '\n');
  return { file, rows: rows.length };
}

function services(db: TestDb['db']) {
  const vulns = new VulnerabilityRepository(db);
  const runs = new IngestionRunRepository(db);
  return {
    vulns,
    runs,
    importer: new VulnImportService(vulns, runs, { now: () => NOW }),
    reader: new VulnerabilityService(vulns, runs),
  };
}

async function exportLines(s: VulnImportService): Promise<string[]> {
  const out: string[] = [];
  for await (const line of s.exportNdjson()) out.push(line);
  return out;
}

describe.skipIf(!present).each(engines())('VulnImportService on %s (real data)', (engine) => {
  let t: TestDb;
  let s: ReturnType<typeof services>;
  let cveCount: number;

  beforeAll(async () => {
    t = await createTestDb(engine);
    s = services(t.db);
  });
  afterAll(async () => t?.dispose());

  it('imports every CVE JSON 5 record of the shared set as one successful ingestion run', async () => {
    const r = await s.importer.import('cve', [CVE_DIR]);
    cveCount = r.files;
    expect(r.files).toBe(1469);
    expect(r).toMatchObject({
      source: 'cve',
      fetched: 1469,
      inserted: 1469,
      updated: 0,
      unchanged: 0,
      failed: 0,
    });
    expect((await s.vulns.stats()).total).toBe(1469);
    const run = await s.runs.get(r.runId);
    expect(run).toMatchObject({
      kind: 'intel',
      source: 'cve',
      status: 'success',
      recordsFetched: 1469,
      recordsInserted: 1469,
      recordsFailed: 0,
      errorMessage: null,
    });
    expect(run?.completedAt).toBeInstanceOf(Date);
    expect(run?.durationSeconds).toBeGreaterThanOrEqual(0);
  });

  it('merges the KEV catalog into the CVE records field by field, with each field source', async () => {
    const before = (await s.reader.show(KEV_CVE)).vulnerability;
    expect(before.exploitedInTheWild).toBe(true); // CISA ADP's KEV marker already says so
    expect(before.kevDueDate).toBeNull();

    const r = await s.importer.import('kev', [KEV_JSON]);
    expect(r).toMatchObject({ fetched: 1404, failed: 0 });
    expect(r.inserted + r.updated + r.unchanged).toBe(1404);
    const stats = await s.vulns.stats();
    expect(stats.total).toBe(cveCount + r.inserted);
    expect(stats.exploited).toBeGreaterThanOrEqual(1404);

    const v = (await s.reader.show(KEV_CVE)).vulnerability;
    expect(v).toMatchObject({
      exploitedInTheWild: true,
      kevDateAdded: '2022-03-03',
      kevDueDate: '2022-03-24',
      kevRansomwareUse: 'Unknown',
      title: 'Adobe Flash Player Remote Code Execution Vulnerability',
      cvssScore: 8.8,
      cvssVersion: '3.1',
      severity: 'high',
    });
    expect(v.kevRequiredAction).toMatch(/end-of-life/);
    expect(v.description).toMatch(/^Adobe Flash Player/);
    expect(v.fieldSources).toMatchObject({
      kev_date_added: 'kev',
      kev_due_date: 'kev',
      title: 'kev', // the CNA record has no title: KEV's vulnerabilityName is next in line
      description: 'cve',
      cvss_score: 'cisa-adp',
      published_at: 'cve',
    });
    expect(v.sources).toEqual(expect.arrayContaining(['cve', 'cisa-adp', 'kev']));
    expect(Object.keys(v.sourceRecords).sort()).toEqual(['cve', 'kev']);
  });

  it('the CSV edition of KEV changes nothing after the JSON one', async () => {
    const r = await s.importer.import('kev', [KEV_CSV]);
    expect(r).toMatchObject({ fetched: 1404, inserted: 0, updated: 0, unchanged: 1404, failed: 0 });
  });

  it('imports NVD pages and explains every file that is not a page', async () => {
    const r = await s.importer.import('nvd', [NVD_DIR]);
    expect(r.failed).toBe(3);
    expect(r.failures.map((f) => f.where.replace(/.*\//, '')).sort()).toEqual([
      'cpematch-CVE-2022-32223.json',
      'cvehistory-CVE-2019-1010218.json',
      'sources-20.json',
    ]);
    for (const f of r.failures) expect(f.reason).toBe('page has no "vulnerabilities" array');
    expect(r.inserted + r.updated + r.unchanged + r.failed).toBe(r.fetched);
    expect(r.inserted).toBeGreaterThan(300);
  });

  it('refuses an EPSS file without a score date, and records the failed run', async () => {
    const { file } = epssSlice();
    const err = await s.importer.import('epss', [file]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toMatch(/no score date.*--score-date/);
    const { items } = await s.runs.list({ filters: { source: 'epss' }, limit: 1 });
    expect(items[0]).toMatchObject({ status: 'failed', recordsInserted: 0 });
    expect(items[0]?.errorMessage).toMatch(/--score-date/);
  });

  it('records EPSS as a time series with the latest score on the record and in the priority', async () => {
    const { file, rows } = epssSlice();
    const r = await s.importer.import('epss', [file], { scoreDate: '2026-08-16' });
    expect(r).toMatchObject({ fetched: rows, inserted: rows, updated: 0, failed: 0 });
    expect(r.recordsRefreshed).toBeGreaterThan(0);
    let v = (await s.reader.show(KEV_CVE)).vulnerability;
    expect(v).toMatchObject({ epssScore: 0.94197, epssPercentile: 0.9984, epssDate: '2026-08-16' });
    expect(v.fieldSources.epss_score).toBe('epss');
    // docs/priority.md: 0.40 * 8.8/10 + 0.25 * 0.94197 + 0.25 * 1 (KEV) + 0 (ransomware unknown) + 0 (old)
    expect(v.priorityScore).toBeCloseTo(0.8375, 4);

    // a jump the next day: the history keeps both, the record shows the newer
    const next = join(tmp, 'epss-next.csv');
    writeFileSync(
      next,
      `#model_version:v2025.03.14,score_date:2026-08-17T00:00:00+0000\ncve,epss,percentile\n${KEV_CVE},0.2,0.9\n`,
    );
    const j = await s.importer.import('epss', [next]);
    expect(j).toMatchObject({ fetched: 1, inserted: 1, recordsRefreshed: 1 });
    const shown = await s.reader.show(KEV_CVE);
    v = shown.vulnerability;
    expect(v).toMatchObject({ epssScore: 0.2, epssDate: '2026-08-17' });
    expect(v.priorityScore).toBeCloseTo(0.4 * 0.88 + 0.25 * 0.2 + 0.25, 4);
    expect(shown.epssHistory.map((h) => [h.scoreDate, h.epss])).toEqual([
      ['2026-08-16', 0.94197],
      ['2026-08-17', 0.2],
    ]);
  });

  it('re-imports change nothing and never duplicate', async () => {
    const total = (await s.vulns.stats()).total;
    const c = await s.importer.import('cve', [CVE_DIR]);
    expect(c).toMatchObject({ fetched: 1469, inserted: 0, updated: 0, unchanged: 1469, failed: 0 });
    const { file, rows } = epssSlice();
    const e = await s.importer.import('epss', [file], { scoreDate: '2026-08-16' });
    expect(e).toMatchObject({ fetched: rows, inserted: 0, updated: 0, unchanged: rows });
    expect((await s.vulns.stats()).total).toBe(total);
  });

  it('a malformed record fails alone, with its file and reason', async () => {
    const dir = join(tmp, 'mixed');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(CVE_DIR, '2011', '0xxx', `${KEV_CVE}.json`), join(dir, 'good.json'));
    writeFileSync(join(dir, 'broken.json'), '{"dataType": "CVE_RECORD", ');
    writeFileSync(join(dir, 'wrong-type.json'), JSON.stringify({ dataType: 'NOPE', dataVersion: '5.1' }));
    const r = await s.importer.import('cve', [dir], { label: 'mixed' });
    expect(r).toMatchObject({ fetched: 3, unchanged: 1, inserted: 0, failed: 2, label: 'mixed' });
    const byFile = Object.fromEntries(r.failures.map((f) => [f.where.replace(/.*\//, ''), f.reason]));
    expect(byFile['broken.json']).toMatch(/JSON/i);
    expect(byFile['wrong-type.json']).toMatch(/dataType is "NOPE"/);
    const run = await s.runs.get(r.runId);
    expect(run).toMatchObject({ status: 'success', recordsFetched: 3, recordsFailed: 2, label: 'mixed' });
    expect((run?.details as { failures: unknown[] }).failures).toHaveLength(2);
  });

  it('exports NDJSON that re-imports into an empty database as the same records', async () => {
    const lines = await exportLines(s.importer);
    expect(lines).toHaveLength((await s.vulns.stats()).total);
    const file = join(tmp, 'vulns.ndjson');
    writeFileSync(file, lines.join('\n') + '\n');

    const other = await createTestDb(engine);
    try {
      const o = services(other.db);
      const r = await o.importer.import('ndjson', [file], { label: 'initial_load' });
      expect(r).toMatchObject({
        fetched: lines.length,
        inserted: lines.length,
        failed: 0,
        label: 'initial_load',
      });
      expect(await exportLines(o.importer)).toEqual(lines);
      expect((await o.runs.get(r.runId))?.label).toBe('initial_load');
      const again = await o.importer.import('ndjson', [file]);
      expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: lines.length });
    } finally {
      await other.dispose();
    }
  });

  it('gives the same record whatever the order of the imports', async () => {
    const other = await createTestDb(engine);
    try {
      const o = services(other.db);
      await o.importer.import('kev', [KEV_JSON]);
      await o.importer.import('cve', [join(CVE_DIR, '2011')]);
      const a = (await o.reader.show(KEV_CVE)).vulnerability;
      const b = (await s.reader.show(KEV_CVE)).vulnerability;
      const pick = (v: typeof a) => ({
        title: v.title,
        cvssScore: v.cvssScore,
        kevDueDate: v.kevDueDate,
        fieldSources: Object.fromEntries(
          Object.entries(v.fieldSources).filter(([k]) => !k.startsWith('epss')),
        ),
        vendors: v.vendors,
        cweIds: v.cweIds,
      });
      expect(pick(a)).toEqual(pick(b));
    } finally {
      await other.dispose();
    }
  });

  it("answers seed 004's queries, with the recent ingestion runs", async () => {
    const st = await s.reader.stats(5);
    expect(st.total).toBeGreaterThan(2500);
    expect(st.bySeverity.reduce((n, x) => n + x.count, 0)).toBe(st.total);
    expect(st.topByPriority).toHaveLength(5);
    expect(st.topByPriority.every((p) => p.exploitedInTheWild)).toBe(true);
    expect(st.topVendors[0]?.vendor).toBe('Microsoft');
    expect(st.recentRuns.map((r) => r.source)).toEqual(['cve', 'epss', 'cve', 'epss', 'epss']);
  });
});
