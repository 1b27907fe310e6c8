/**
 * `vulnerabilityPriority(record, now)`: a reproducible 0..1 score (docs/priority.md).
 *
 *   priority = 0.40·C + 0.25·E + 0.25·X + 0.05·R + 0.05·T   (0 for a rejected CVE)
 *
 *   C = CVSS base score / 10 (no CVSS: 0.5, "unknown" is not "harmless")
 *   E = EPSS probability (0..1; no EPSS: 0)
 *   X = exploitation evidence: 1 in the wild (KEV, or SSVC Exploitation "active"), 0.5 public PoC
 *       (SSVC "poc"), else 0
 *   R = 1 when KEV says known ransomware campaign use, else 0
 *   T = recency: max(0, 1 - age in days / 365) from published_at (unknown date: 0)
 *
 * Rounded to 4 decimals so the value is stable across platforms.
 */
import { type MergedVulnerability, ssvcExploitation } from './merge.ts';

export const PRIORITY_WEIGHTS = {
  cvss: 0.4,
  epss: 0.25,
  exploitation: 0.25,
  ransomware: 0.05,
  recency: 0.05,
} as const;

export type PriorityInput = Pick<
  MergedVulnerability,
  | 'cvssScore'
  | 'epssScore'
  | 'exploitedInTheWild'
  | 'kevRansomwareUse'
  | 'ssvc'
  | 'publishedAt'
  | 'isRejected'
>;

export interface PriorityBreakdown {
  cvss: number;
  epss: number;
  exploitation: number;
  ransomware: number;
  recency: number;
  priority: number;
}

const DAY_MS = 86_400_000;

export function priorityBreakdown(r: PriorityInput, now: Date): PriorityBreakdown {
  const cvss = r.cvssScore === null ? 0.5 : clamp01(r.cvssScore / 10);
  const epss = r.epssScore === null ? 0 : clamp01(r.epssScore);
  const ssvc = ssvcExploitation(r.ssvc);
  const exploitation = r.exploitedInTheWild || ssvc === 'active' ? 1 : ssvc === 'poc' ? 0.5 : 0;
  const ransomware = r.kevRansomwareUse?.toLowerCase() === 'known' ? 1 : 0;
  const published = r.publishedAt === null ? NaN : Date.parse(r.publishedAt);
  const ageDays = Number.isNaN(published) ? Infinity : Math.max(0, (now.getTime() - published) / DAY_MS);
  const recency = Math.max(0, 1 - ageDays / 365);
  const w = PRIORITY_WEIGHTS;
  const raw =
    w.cvss * cvss +
    w.epss * epss +
    w.exploitation * exploitation +
    w.ransomware * ransomware +
    w.recency * recency;
  const priority = r.isRejected ? 0 : Math.round(clamp01(raw) * 10_000) / 10_000;
  return { cvss, epss, exploitation, ransomware, recency, priority };
}

export function vulnerabilityPriority(record: PriorityInput, now: Date): number {
  return priorityBreakdown(record, now).priority;
}

function clamp01(n: number): number {
  return Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 0;
}
