import { describe, expect, it } from 'vitest';
import { mergeVulnerability } from './merge.ts';
import { priorityBreakdown, vulnerabilityPriority, type PriorityInput } from './priority.ts';
import { cve5, epss, kev, nvd, realDataPresent } from './real-records.ts';

const NOW = new Date('2025-11-22T00:00:00Z');

describe.runIf(realDataPresent)('priority pinned on real records (docs/priority.md)', () => {
  it('CVE-2011-0611: CVSS 8.8, EPSS 0.94197, in KEV -> 0.8375', () => {
    const m = mergeVulnerability([cve5('CVE-2011-0611'), kev('CVE-2011-0611'), epss('CVE-2011-0611')]);
    const b = priorityBreakdown(m, NOW);
    expect(b).toMatchObject({ epss: 0.94197, exploitation: 1, ransomware: 0, recency: 0, priority: 0.8375 });
    expect(b.cvss).toBeCloseTo(0.88, 12);
  });

  it('CVE-2022-23748: CVSS 7.8, EPSS 0.08533, in KEV -> 0.5833', () => {
    const m = mergeVulnerability([
      nvd('cves-2023.json', 'CVE-2022-23748'),
      kev('CVE-2022-23748'),
      epss('CVE-2022-23748'),
    ]);
    expect(vulnerabilityPriority(m, NOW)).toBe(0.5833);
  });

  it('CVE-1999-0084: CVSS 8.4, EPSS 0.00415, SSVC exploitation none -> 0.337', () => {
    const m = mergeVulnerability([
      cve5('CVE-1999-0084'),
      nvd('cves-1999.json', 'CVE-1999-0084'),
      epss('CVE-1999-0084'),
    ]);
    expect(vulnerabilityPriority(m, NOW)).toBe(0.337);
  });
});

describe('priority formula (synthetic)', () => {
  const base: PriorityInput = {
    cvssScore: 10,
    epssScore: 1,
    exploitedInTheWild: true,
    kevRansomwareUse: 'Known',
    ssvc: null,
    publishedAt: NOW.toISOString(),
    isRejected: false,
  };

  it('every factor at its maximum gives 1; a rejected CVE gives 0', () => {
    expect(vulnerabilityPriority(base, NOW)).toBe(1);
    expect(vulnerabilityPriority({ ...base, isRejected: true }, NOW)).toBe(0);
  });

  it('unknown CVSS counts as 0.5; SSVC "poc" is half the exploitation weight; recency decays over a year', () => {
    const r: PriorityInput = {
      ...base,
      cvssScore: null,
      epssScore: null,
      exploitedInTheWild: false,
      kevRansomwareUse: null,
    };
    const halfYear = new Date(NOW.getTime() + 182.5 * 86_400_000);
    expect(vulnerabilityPriority({ ...r, ssvc: { options: [{ Exploitation: 'poc' }] } }, halfYear)).toBe(
      0.35,
    ); // 0.40*0.5 + 0.25*0.5 + 0.05*0.5
    expect(vulnerabilityPriority({ ...r, publishedAt: null }, NOW)).toBe(0.2);
    // Published in the future (clock skew): age 0, not a bonus above 1.
    expect(priorityBreakdown({ ...r, publishedAt: '2030-01-01T00:00:00Z' }, NOW).recency).toBe(1);
  });

  it('is monotonic in each factor', () => {
    const low: PriorityInput = {
      ...base,
      cvssScore: 5,
      epssScore: 0.1,
      exploitedInTheWild: false,
      kevRansomwareUse: null,
      publishedAt: null,
    };
    const p = (x: Partial<PriorityInput>): number => vulnerabilityPriority({ ...low, ...x }, NOW);
    expect(p({ cvssScore: 6 })).toBeGreaterThan(p({}));
    expect(p({ epssScore: 0.2 })).toBeGreaterThan(p({}));
    expect(p({ exploitedInTheWild: true })).toBeGreaterThan(p({}));
    expect(p({ kevRansomwareUse: 'Known' })).toBeGreaterThan(p({}));
    expect(p({ publishedAt: NOW.toISOString() })).toBeGreaterThan(p({}));
  });
});
