import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCveJson5Text } from './cve-json5.ts';
import { epssToPartial, parseEpssText } from './epss.ts';
import { kevToPartial, parseKevJsonText } from './kev.ts';
import { mergeVulnerability } from './merge.ts';
import { vulnerabilityPriority } from './priority.ts';
import { cve5, epss, kev, nvd, realDataPresent } from './real-records.ts';
import { readVuln, VULN_DATA, walkFiles } from './test-data.ts';
import { type PartialVulnerability } from './types.ts';

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

function expectOrderFreeAndIdempotent(parts: PartialVulnerability[]): void {
  const reference = mergeVulnerability(parts);
  for (const p of permutations(parts)) expect(mergeVulnerability(p)).toEqual(reference);
  expect(mergeVulnerability([...parts, ...parts].reverse())).toEqual(reference);
  expect(mergeVulnerability(parts)).toEqual(reference);
}

describe.runIf(realDataPresent)('merge on real records', () => {
  it('CVE-1999-0084 (CVE 5 + NVD + EPSS): CISA ADP CVSS 3.1 beats NVD 2.0; CNA dates; CPE names unified', () => {
    const c = cve5('CVE-1999-0084');
    const n = nvd('cves-1999.json', 'CVE-1999-0084');
    const parts = [c, n, epss('CVE-1999-0084')];
    const m = mergeVulnerability(parts);
    expect(m).toMatchObject({
      cvssScore: 8.4,
      cvssVersion: '3.1',
      severity: 'high',
      cweIds: ['CWE-269'],
      exploitedInTheWild: false,
    });
    expect(m.cvssVector).toBe('CVSS:3.1/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H');
    expect(m.fieldSources).toMatchObject({
      cvss_score: 'cisa-adp',
      description: 'cve',
      published_at: 'cve',
      cwe_ids: 'cisa-adp',
      epss_score: 'epss',
    });
    expect(m.publishedAt).toBe(c.publishedAt?.value);
    expect(m.publishedAt).not.toBe(n.publishedAt?.value);
    // The latest modification of any source: the CVE record (2024) is newer than NVD's (2017).
    expect(m.lastModifiedAt).toBe(c.lastModifiedAt?.value);
    expect(m.affectedProducts).toEqual([{ vendor: 'sun', product: 'nfs', sources: ['cisa-adp', 'nvd'] }]);
    expect(m).toMatchObject({ epssScore: 0.00415, epssPercentile: 0.34597, epssDate: null });
    expect(m.sources).toEqual(['cisa-adp', 'cve', 'cve-adp', 'epss', 'nvd']);
    expect(m.references).toEqual(['https://exchange.xforce.ibmcloud.com/vulnerabilities/78']);
    expectOrderFreeAndIdempotent(parts);
  });

  it('CVE-2022-23748 (NVD + KEV + EPSS): KEV title and dates, NVD description and CVSS, CWE union', () => {
    const parts = [nvd('cves-2023.json', 'CVE-2022-23748'), kev('CVE-2022-23748'), epss('CVE-2022-23748')];
    const m = mergeVulnerability(parts);
    expect(m).toMatchObject({
      title: 'Dante Discovery Process Control Vulnerability',
      cvssScore: 7.8,
      cvssVersion: '3.1',
      exploitedInTheWild: true,
      kevDateAdded: '2025-02-06',
      kevDueDate: '2025-02-27',
      kevRansomwareUse: 'Unknown',
      cweIds: ['CWE-114', 'CWE-426'],
      vendors: ['Audinate'],
      products: ['Dante Discovery', 'dante_application_library'],
    });
    expect(m.description).toMatch(/^mDNSResponder\.exe is vulnerable/);
    expect(m.fieldSources).toMatchObject({
      title: 'kev',
      description: 'nvd',
      cvss_score: 'nvd',
      kev_date_added: 'kev',
      exploited_in_the_wild: 'kev',
      cwe_ids: 'kev,nvd',
      vendors: 'kev,nvd',
    });
    expectOrderFreeAndIdempotent(parts);
  });

  it('CVE-2011-0611 (CVE 5 + KEV + EPSS): KEV catalog beats the ADP marker; exploitation from both', () => {
    const parts = [cve5('CVE-2011-0611'), kev('CVE-2011-0611'), epss('CVE-2011-0611')];
    const m = mergeVulnerability(parts);
    expect(m).toMatchObject({
      title: 'Adobe Flash Player Remote Code Execution Vulnerability',
      cvssScore: 8.8,
      kevDateAdded: '2022-03-03',
      kevDueDate: '2022-03-24',
      kevRequiredAction: 'The impacted product is end-of-life and should be disconnected if still in use.',
      exploitedInTheWild: true,
      cweIds: ['CWE-843'],
    });
    expect(m.fieldSources).toMatchObject({
      kev_date_added: 'kev',
      exploited_in_the_wild: 'cisa-adp,kev',
      ssvc: 'cisa-adp',
      cvss_score: 'cisa-adp',
    });
    expect(m.vendors).toEqual(['Adobe']);
    expect(m.products).toContain('Flash Player');
    expect(m.products).not.toContain('flash_player');
    expectOrderFreeAndIdempotent(parts);
  });
});

describe.runIf(realDataPresent)('merge of every real CVE 5 record with its KEV and EPSS entries', () => {
  it('KEV catalog beats the ADP marker, exploitation covers KEV, priorities stay in 0..1', () => {
    const kevById = new Map(
      parseKevJsonText(readVuln('kev', 'known_exploited_vulnerabilities.json')).results.flatMap((r) =>
        r.ok ? [[r.record.cveID, r.record] as const] : [],
      ),
    );
    const epssById = new Map(
      parseEpssText(readVuln('epss', 'epss_scores_combined_from_EMBA.csv')).results.flatMap((r) =>
        r.ok ? [[r.record.cveId, r.record] as const] : [],
      ),
    );
    const now = new Date('2025-11-22T00:00:00Z');
    let markers = 0;
    let inKev = 0;
    const mismatched: string[] = [];
    for (const f of walkFiles(join(VULN_DATA, 'cve_json5_vulnrichment')).filter((x) =>
      /CVE-\d{4}-\d+\.json$/.test(x),
    )) {
      const r = parseCveJson5Text(readFileSync(f, 'utf8'), { file: f });
      if (!r.ok) throw new Error(`${r.where}: ${r.reason}`);
      const c = r.record;
      const k = kevById.get(c.cveId);
      const e = epssById.get(c.cveId);
      const m = mergeVulnerability([c, ...(k ? [kevToPartial(k)] : []), ...(e ? [epssToPartial(e)] : [])]);
      if (c.kev) {
        markers++;
        expect(k, `${c.cveId} has a CISA ADP KEV marker but is not in the catalog`).toBeDefined();
        if (k && k.dateAdded !== c.kev.value.dateAdded) mismatched.push(c.cveId);
      }
      if (k) {
        inKev++;
        expect(m).toMatchObject({
          exploitedInTheWild: true,
          kevDateAdded: k.dateAdded,
          kevDueDate: k.dueDate,
        });
        expect(m.fieldSources.kev_date_added).toBe('kev');
      }
      const priority = vulnerabilityPriority(m, now);
      expect(priority).toBeGreaterThanOrEqual(0);
      expect(priority).toBeLessThanOrEqual(1);
      if (m.isRejected) expect(priority).toBe(0);
    }
    expect(markers).toBeGreaterThan(0);
    expect(inKev).toBeGreaterThanOrEqual(markers);
    // The one record whose ADP marker disagrees with the catalog (2024-09-18 vs 2022-03-15).
    expect(mismatched).toEqual(['CVE-2019-1069']);
  });
});

describe('merge rules (synthetic)', () => {
  const p = (extra: Partial<PartialVulnerability>): PartialVulnerability => ({
    cveId: 'CVE-2024-1000',
    sources: [],
    cvssMetrics: [],
    ...extra,
  });

  it('the highest CVSS version from any source; equal versions: CNA before NVD', () => {
    const m = mergeVulnerability([
      p({
        cvssMetrics: [
          {
            version: '3.1',
            score: 9.8,
            vector: 'a',
            severity: 'critical',
            source: 'nvd',
            nvdType: 'Primary',
          },
        ],
      }),
      p({
        cvssMetrics: [
          {
            version: '4.0',
            score: 5.3,
            vector: 'b',
            severity: 'medium',
            source: 'nvd',
            nvdType: 'Secondary',
          },
        ],
      }),
      p({ cvssMetrics: [{ version: '3.1', score: 7.5, vector: 'c', severity: 'high', source: 'cve' }] }),
    ]);
    expect(m).toMatchObject({ cvssScore: 5.3, cvssVersion: '4.0', severity: 'medium' });
    const m2 = mergeVulnerability([
      p({ cvssMetrics: [{ version: '3.1', score: 9.8, vector: 'a', severity: 'critical', source: 'nvd' }] }),
      p({ cvssMetrics: [{ version: '3.1', score: 7.5, vector: 'c', severity: 'high', source: 'cve' }] }),
    ]);
    expect(m2).toMatchObject({ cvssScore: 7.5, fieldSources: { cvss_score: 'cve', severity: 'cve' } });
  });

  it('no CVSS: severity unknown; SSVC "active" alone marks exploitation', () => {
    const m = mergeVulnerability([
      p({ ssvc: { value: { options: [{ Exploitation: 'active' }] }, source: 'cisa-adp' } }),
    ]);
    expect(m).toMatchObject({
      severity: 'unknown',
      cvssScore: null,
      exploitedInTheWild: true,
      fieldSources: { exploited_in_the_wild: 'cisa-adp' },
    });
  });

  it('EPSS: the latest dated score wins, undated last', () => {
    const e = (score: number, date: string | null): PartialVulnerability =>
      p({ epss: { value: { score, percentile: null, date }, source: 'epss' } });
    expect(mergeVulnerability([e(0.9, null), e(0.1, '2025-01-02'), e(0.5, '2025-01-01')])).toMatchObject({
      epssScore: 0.1,
      epssDate: '2025-01-02',
    });
  });

  it('refuses empty input and mixed CVEs', () => {
    expect(() => mergeVulnerability([])).toThrow(/no input/);
    expect(() => mergeVulnerability([p({}), { ...p({}), cveId: 'CVE-2024-1001' }])).toThrow(/different CVEs/);
  });
});
