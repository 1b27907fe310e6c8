import { describe, expect, it } from 'vitest';
import { createEpssParser, epssToPartial, parseEpssText } from './epss.ts';
import { hasVulnData, readVuln } from './test-data.ts';

const DIR = 'epss';
const present = hasVulnData(DIR);

describe.runIf(present)('EPSS on the real files', () => {
  it('combined file: official layout, no score date in it (commit_date is not one), every row read', () => {
    const text = readVuln(DIR, 'epss_scores_combined_from_EMBA.csv');
    const { meta, results } = parseEpssText(text, { file: 'combined.csv' });
    const dataLines = text.split('\n').filter((l) => l.startsWith('CVE-')).length;
    expect(meta.layout).toBe('official');
    expect(meta.scoreDate).toBeNull();
    expect(meta.scoreDateMissing).toBe(true);
    expect(meta.comment.commit_date).toBe('2026-08-16');
    expect(meta.comment.source).toMatch(/header added\)$/);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(meta.accepted).toBe(dataLines);
    expect(meta.accepted).toBe(360_142);
    const log4shell = results.find((r) => r.ok && r.record.cveId === 'CVE-2021-44228');
    expect(log4shell).toEqual({
      ok: true,
      record: { cveId: 'CVE-2021-44228', epss: 0.99999, percentile: 1, scoreDate: null },
    });
  });

  it('per-year file: ;-separated, no header; the caller supplies the score date', () => {
    const text = readVuln(DIR, 'emba_per_year', 'CVE_2021_EPSS.csv');
    const { meta, results } = parseEpssText(text, { file: 'CVE_2021_EPSS.csv', scoreDate: '2026-08-16' });
    expect(meta).toMatchObject({
      layout: 'semicolon',
      scoreDate: '2026-08-16',
      scoreDateSource: 'caller',
      scoreDateMissing: false,
      rejected: 0,
    });
    expect(meta.accepted).toBe(text.trim().split('\n').length);
    const first = results[0];
    expect(first).toEqual({
      ok: true,
      record: { cveId: 'CVE-2021-47987', epss: 0.0012, percentile: 0.02168, scoreDate: '2026-08-16' },
    });
  });
});

describe('EPSS rules (synthetic)', () => {
  it('reads model version and score date from the official comment line (the date beats the caller)', () => {
    const parser = createEpssParser({ scoreDate: '2000-01-01' });
    const lines = [
      '#model_version:v2025.03.14,score_date:2025-03-20T00:00:00+0000',
      'cve,epss,percentile',
      'CVE-2025-0001,0.00043,0.1234',
    ];
    const out = lines.map((l) => parser.line(l));
    expect(out.slice(0, 2)).toEqual([undefined, undefined]);
    expect(out[2]).toEqual({
      ok: true,
      record: { cveId: 'CVE-2025-0001', epss: 0.00043, percentile: 0.1234, scoreDate: '2025-03-20' },
    });
    expect(parser.meta).toMatchObject({
      layout: 'official',
      modelVersion: 'v2025.03.14',
      scoreDateSource: 'file',
    });
  });

  it('bad rows are reported with file:line and reason, the rest continue', () => {
    const { meta, results } = parseEpssText(
      'cve,epss,percentile\nCVE-1,0.1,0.2\nCVE-2024-1000,1.5,0.2\nCVE-2024-1001,abc,\nCVE-2024-1002,0.5,\r\n',
      {
        file: 'e.csv',
      },
    );
    expect(results.map((r) => (r.ok ? r.record : `${r.where}: ${r.reason}`))).toEqual([
      'e.csv:2: invalid CVE id "CVE-1"',
      'e.csv:3 (CVE-2024-1000): epss "1.5" is not a number in 0..1',
      'e.csv:4 (CVE-2024-1001): epss "abc" is not a number in 0..1',
      { cveId: 'CVE-2024-1002', epss: 0.5, percentile: null, scoreDate: null },
    ]);
    expect(meta).toMatchObject({ accepted: 1, rejected: 3, scoreDateMissing: true });
  });

  it('rejects an invalid caller date up front', () => {
    expect(() => createEpssParser({ scoreDate: 'yesterday' })).toThrow(/invalid scoreDate/);
  });

  it('epssToPartial', () => {
    expect(
      epssToPartial({ cveId: 'CVE-2024-1000', epss: 0.5, percentile: 0.9, scoreDate: '2025-01-01' }).epss,
    ).toEqual({
      value: { score: 0.5, percentile: 0.9, date: '2025-01-01' },
      source: 'epss',
    });
  });
});
