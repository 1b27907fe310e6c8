import { describe, expect, it } from 'vitest';
import { kevToPartial, parseCsv, parseKevCsv, parseKevJson, parseKevJsonText, type KevEntry } from './kev.ts';
import { hasVulnData, readVuln } from './test-data.ts';

const DIR = 'kev';
const present = hasVulnData(DIR);

describe.runIf(present)('CISA KEV on the real catalog', () => {
  const json = present
    ? parseKevJsonText(readVuln(DIR, 'known_exploited_vulnerabilities.json'), { file: 'kev.json' })
    : undefined;
  const csv = present
    ? parseKevCsv(readVuln(DIR, 'known_exploited_vulnerabilities.csv'), { file: 'kev.csv' })
    : undefined;
  const entries = (c: typeof json): KevEntry[] => (c?.results ?? []).flatMap((r) => (r.ok ? [r.record] : []));

  it('JSON: every entry parsed, as many as the catalog count', () => {
    expect(json?.error).toBeUndefined();
    expect(json?.results.filter((r) => !r.ok)).toEqual([]);
    expect(json?.catalogVersion).toBe('2025.08.25');
    expect(entries(json)).toHaveLength(json?.count ?? -1);
    expect(entries(json)).toHaveLength(1404);
  });

  it('CSV: every row parsed and identical to the JSON edition', () => {
    expect(csv?.error).toBeUndefined();
    expect(csv?.results.filter((r) => !r.ok)).toEqual([]);
    const byId = new Map(entries(json).map((e) => [e.cveID, e]));
    const rows = entries(csv);
    expect(rows).toHaveLength(byId.size);
    for (const row of rows) expect(row).toEqual(byId.get(row.cveID));
  });

  it('known entries: dates, ransomware use, CWEs', () => {
    const git = entries(csv).find((e) => e.cveID === 'CVE-2025-48384');
    expect(git).toMatchObject({
      vendorProject: 'Git',
      dateAdded: '2025-08-25',
      dueDate: '2025-09-15',
      cwes: ['CWE-436', 'CWE-59'],
    });
    const dante = entries(json).find((e) => e.cveID === 'CVE-2022-23748');
    expect(dante).toMatchObject({
      vendorProject: 'Audinate',
      product: 'Dante Discovery',
      dateAdded: '2025-02-06',
      dueDate: '2025-02-27',
      knownRansomwareCampaignUse: 'Unknown',
    });
    const known = entries(json).filter((e) => e.knownRansomwareCampaignUse === 'Known').length;
    expect(known).toBeGreaterThan(0);
    expect(known).toBeLessThan(1404);
  });
});

describe('KEV rules (synthetic)', () => {
  const good = {
    cveID: 'CVE-2024-1234',
    vendorProject: 'V',
    product: 'P',
    vulnerabilityName: 'N',
    dateAdded: '2024-01-02',
    shortDescription: 'D',
    requiredAction: 'A',
    dueDate: '2024-01-23',
    knownRansomwareCampaignUse: 'Known',
    notes: '',
    cwes: ['CWE-79'],
  };

  it('reports each bad entry with its index and reason, keeping the others', () => {
    const cat = parseKevJson(
      {
        vulnerabilities: [
          good,
          { ...good, cveID: 'CVE-XX' },
          { ...good, dueDate: '01/02/2024' },
          { ...good, product: '' },
          7,
        ],
      },
      { file: 'k.json' },
    );
    expect(cat.results.map((r) => (r.ok ? r.record.cveID : `${r.where}: ${r.reason}`))).toEqual([
      'CVE-2024-1234',
      'k.json#vulnerabilities[1] (CVE-XX): invalid cveID "CVE-XX"',
      'k.json#vulnerabilities[2] (CVE-2024-1234): invalid dueDate "01/02/2024"',
      'k.json#vulnerabilities[3] (CVE-2024-1234): missing or empty "product"',
      'k.json#vulnerabilities[4]: entry is not an object',
    ]);
  });

  it('CSV: quoted commas, quotes and line breaks; wrong field counts reported by line', () => {
    const text = [
      'cveID,vendorProject,product,vulnerabilityName,dateAdded,shortDescription,requiredAction,dueDate,knownRansomwareCampaignUse,notes,cwes',
      'CVE-2024-1234,V,P,"Name, with ""quotes""",2024-01-02,"two',
      'lines",A,2024-01-23,Known,,"CWE-79, CWE-20"',
      'CVE-2024-1235,V,P',
      '',
    ].join('\r\n');
    const cat = parseKevCsv(text, { file: 'k.csv' });
    const [first, second] = cat.results;
    expect(first?.ok && first.record).toMatchObject({
      vulnerabilityName: 'Name, with "quotes"',
      shortDescription: 'two\r\nlines',
      cwes: ['CWE-20', 'CWE-79'],
      notes: null,
    });
    expect(second).toEqual({ ok: false, where: 'k.csv:4', reason: 'expected 11 fields, found 3' });
    expect(parseKevCsv('a,b\n1,2').error).toMatch(/no header row/);
  });

  it('parseCsv keeps empty trailing fields', () => {
    expect(parseCsv('a,,\n"x",y,').map((r) => r.fields)).toEqual([
      ['a', '', ''],
      ['x', 'y', ''],
    ]);
  });

  it('kevToPartial carries the exploitation facts under source kev', () => {
    const r = parseKevJson({ vulnerabilities: [good] }).results[0];
    if (!r?.ok) throw new Error('expected ok');
    const p = kevToPartial(r.record);
    expect(p.kev).toEqual({
      value: { dateAdded: '2024-01-02', dueDate: '2024-01-23', requiredAction: 'A', ransomwareUse: 'Known' },
      source: 'kev',
    });
    expect(p.title).toEqual({ value: 'N', source: 'kev' });
  });
});
