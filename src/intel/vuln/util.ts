/** Small pure helpers shared by the vulnerability parsers. */
import { type CvssVersion, type VulnSeverity } from './types.ts';

export const CVE_ID_RE = /^CVE-\d{4}-\d{4,}$/;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function asString(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/**
 * Normalise a timestamp to ISO 8601 UTC. CVE and NVD timestamps often lack a zone
 * (`2019-08-20T00:00:00`, `2022-11-17T04:15:10.857`): both are UTC, so `Z` is assumed.
 */
export function toIsoTimestamp(v: unknown): string | undefined {
  const s = asString(v)?.trim();
  if (s === undefined) return undefined;
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(s);
  const withTime = /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00` : s;
  const ms = Date.parse(hasZone ? withTime : `${withTime}Z`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A `YYYY-MM-DD` date (leading part of a timestamp allowed), or undefined. */
export function toIsoDate(v: unknown): string | undefined {
  const s = asString(v)?.trim();
  const m = s === undefined ? null : /^(\d{4}-\d{2}-\d{2})/.exec(s);
  if (!m?.[1]) return undefined;
  return Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`)) ? undefined : m[1];
}

/** CVSS v3/v4 qualitative bands; v2 has no "critical" nor "none" (NVD: low < 4, medium < 7, high). */
export function severityFromScore(score: number, version: CvssVersion): VulnSeverity {
  if (!Number.isFinite(score) || score < 0 || score > 10) return 'unknown';
  if (version === '2.0') return score < 4 ? 'low' : score < 7 ? 'medium' : 'high';
  if (score === 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

const SEVERITIES = new Set<string>(['critical', 'high', 'medium', 'low', 'none']);

export function normaliseSeverity(v: unknown, score: number, version: CvssVersion): VulnSeverity {
  const s = asString(v)?.toLowerCase();
  return s !== undefined && SEVERITIES.has(s) ? (s as VulnSeverity) : severityFromScore(score, version);
}

export function cvssVersionOf(v: unknown): CvssVersion | undefined {
  const s = typeof v === 'number' ? v.toFixed(1) : asString(v);
  return s === '4.0' || s === '3.1' || s === '3.0' || s === '2.0' ? s : undefined;
}

export function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort(cmp);
}

/** `CWE-79` normalised; anything else (NVD-CWE-Other, NVD-CWE-noinfo, free text) is undefined. */
export function normaliseCwe(v: unknown): string | undefined {
  const s = asString(v)?.trim();
  const m = s === undefined ? null : /^CWE-(\d+)$/i.exec(s);
  return m ? `CWE-${m[1]}` : undefined;
}

/** Code-unit order: the same on every machine and locale (unlike `localeCompare`). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
