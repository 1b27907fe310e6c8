import { describe, expect, it } from 'vitest';
import { parseNvdPage, parseNvdPageText } from './nvd.ts';
import { hasVulnData, readVuln } from './test-data.ts';
import { type PartialVulnerability } from './types.ts';

const DIR = 'nvd_api_2.0';
const present = hasVulnData(DIR);

function okRecords(file: string): PartialVulnerability[] {
  const page = parseNvdPageText(readVuln(DIR, file), { file });
  return page.results.flatMap((r) => (r.ok ? [r.record] : []));
}

describe.runIf(present)('NVD API 2.0 on real response pages', () => {
  it.each(['cves-1999.json', 'cves-2023.json', 'cves-CVE-2023-0001.json'])(
    '%s: every element parsed; rejected ones flagged as in vulnStatus',
    (file) => {
      const text = readVuln(DIR, file);
      const raw = JSON.parse(text) as {
        totalResults: number;
        vulnerabilities: { cve: { vulnStatus: string } }[];
      };
      const page = parseNvdPageText(text, { file });
      expect(page.error).toBeUndefined();
      expect(page.totalResults).toBe(raw.totalResults);
      expect(page.results.filter((r) => !r.ok)).toEqual([]);
      expect(page.results).toHaveLength(raw.vulnerabilities.length);
      const rejected = page.results.filter((r) => r.ok && r.record.isRejected?.value).length;
      expect(rejected).toBe(raw.vulnerabilities.filter((v) => v.cve.vulnStatus === 'Rejected').length);
    },
  );

  it('counts: 200 + 200 + 1 records, 3 + 1 + 0 rejected', () => {
    const counts = ['cves-1999.json', 'cves-2023.json', 'cves-CVE-2023-0001.json'].map((f) => {
      const recs = okRecords(f);
      return [recs.length, recs.filter((r) => r.isRejected?.value).length];
    });
    expect(counts).toEqual([
      [200, 3],
      [200, 1],
      [1, 0],
    ]);
  });

  it('CVE-1999-0084: CVSS 2.0 with its severity beside cvssData; NVD-CWE-Other is not a CWE; vendor from the CPE', () => {
    const r = okRecords('cves-1999.json').find((x) => x.cveId === 'CVE-1999-0084');
    expect(r?.cvss).toMatchObject({
      version: '2.0',
      score: 7.2,
      severity: 'high',
      vector: 'AV:L/AC:L/Au:N/C:C/I:C/A:C',
    });
    expect(r?.cvss).toMatchObject({ source: 'nvd', nvdType: 'Primary', scorer: 'nvd@nist.gov' });
    expect(r?.cweIds).toBeUndefined();
    expect(r?.affected).toEqual([{ vendor: 'sun', product: 'nfs', source: 'nvd' }]);
    expect(r?.publishedAt).toEqual({ value: '1990-05-01T04:00:00.000Z', source: 'nvd' });
  });

  it('CVE-2022-40881: 3.1 critical, CWE-77, only the vulnerable CPE counts', () => {
    const r = okRecords('cves-2023.json').find((x) => x.cveId === 'CVE-2022-40881');
    expect(r?.cvss).toMatchObject({ version: '3.1', score: 9.8, severity: 'critical' });
    expect(r?.cweIds).toEqual([{ value: ['CWE-77'], source: 'nvd' }]);
    expect(r?.affected).toEqual([{ vendor: 'contec', product: 'solarview_compact_firmware', source: 'nvd' }]);
  });

  it('CVE-2022-23748: CWEs of every weakness source', () => {
    const r = okRecords('cves-2023.json').find((x) => x.cveId === 'CVE-2022-23748');
    expect(r?.cweIds).toEqual([{ value: ['CWE-114', 'CWE-426'], source: 'nvd' }]);
    expect(r?.affected).toEqual([
      { vendor: 'audinate', product: 'dante_application_library', source: 'nvd' },
    ]);
  });
});

describe('NVD rules (synthetic)', () => {
  const metric = (type: string, version: string, baseScore: number, source = 'x@y'): unknown => ({
    source,
    type,
    cvssData: { version, baseScore, vectorString: `${type}-${version}` },
  });

  it('prefers the highest version, then Primary over Secondary', () => {
    const page = parseNvdPage({
      vulnerabilities: [
        {
          cve: {
            id: 'CVE-2024-1',
            vulnStatus: 'Analyzed',
            metrics: {
              cvssMetricV31: [metric('Secondary', '3.1', 9.0), metric('Primary', '3.1', 5.0)],
              cvssMetricV2: [metric('Primary', '2.0', 10)],
            },
          },
        },
      ],
    });
    const r = page.results[0];
    expect(r?.ok).toBe(false); // CVE-2024-1 is not a valid id (4+ digits)
    const page2 = parseNvdPage({
      vulnerabilities: [
        {
          cve: {
            id: 'CVE-2024-1000',
            vulnStatus: 'Analyzed',
            metrics: {
              cvssMetricV31: [metric('Secondary', '3.1', 9.0), metric('Primary', '3.1', 5.0)],
              cvssMetricV2: [metric('Primary', '2.0', 10)],
              cvssMetricV40: [metric('Secondary', '4.0', 6.9)],
            },
          },
        },
      ],
    });
    const r2 = page2.results[0];
    expect(r2?.ok && r2.record.cvss).toMatchObject({ version: '4.0', score: 6.9, nvdType: 'Secondary' });
    expect(r2?.ok && r2.record.cvssMetrics).toHaveLength(4);
    const page3 = parseNvdPage({
      vulnerabilities: [
        {
          cve: {
            id: 'CVE-2024-1000',
            vulnStatus: 'Analyzed',
            metrics: { cvssMetricV31: [metric('Secondary', '3.1', 9.0), metric('Primary', '3.1', 5.0)] },
          },
        },
      ],
    });
    const r3 = page3.results[0];
    expect(r3?.ok && r3.record.cvss).toMatchObject({
      version: '3.1',
      score: 5,
      nvdType: 'Primary',
      severity: 'medium',
    });
  });

  it('a bad element is reported with its index and does not hide the good ones', () => {
    const page = parseNvdPage(
      {
        vulnerabilities: [
          { cve: { id: 'CVE-2024-1000', vulnStatus: 'Rejected' } },
          { nope: 1 },
          { cve: { id: 'CVE-2024-1001' } },
          { cve: { id: 'CVE-2024-1002', vulnStatus: 'Analyzed', metrics: [] } },
        ],
      },
      { file: 'page.json' },
    );
    expect(page.results.map((r) => (r.ok ? r.record.cveId : `${r.where}: ${r.reason}`))).toEqual([
      'CVE-2024-1000',
      'page.json#vulnerabilities[1]: element has no "cve" object',
      'page.json#vulnerabilities[2] (CVE-2024-1001): missing cve.vulnStatus',
      'page.json#vulnerabilities[3] (CVE-2024-1002): cve.metrics is not an object',
    ]);
    const first = page.results[0];
    expect(first?.ok && first.record.isRejected?.value).toBe(true);
  });

  it('page-level errors', () => {
    expect(parseNvdPageText('{', { file: 'p.json' }).error).toMatch(/^p\.json: invalid JSON/);
    expect(parseNvdPage({ products: [] }).error).toMatch(/no "vulnerabilities" array/);
  });
});
