/**
 * Shared types of the vulnerability-intelligence parsers (issue 6).
 * Pure: no I/O, no store. Every parser returns `ParseResult`s so one bad record never stops the others.
 */
import { type VulnSeverity } from '../../domain/enums.ts';

export type { VulnSeverity };

/** Where a value came from. `cve` = CNA container, `cisa-adp` = CISA Vulnrichment ADP, `cve-adp` = CVE Program ADP. */
export type VulnSource = 'cve' | 'cisa-adp' | 'cve-adp' | 'nvd' | 'kev' | 'epss';

export type CvssVersion = '4.0' | '3.1' | '3.0' | '2.0';

/** Higher is preferred: CVSS 4.0 > 3.1 > 3.0 > 2.0. */
export const CVSS_VERSION_RANK: Record<CvssVersion, number> = { '4.0': 4, '3.1': 3, '3.0': 2, '2.0': 1 };

export interface CvssMetric {
  version: CvssVersion;
  score: number;
  vector: string | null;
  /** Base severity as given by the source (lower-cased), or derived from the score bands. */
  severity: VulnSeverity;
  source: VulnSource;
  /** NVD: `Primary` or `Secondary`; CVE records: undefined. */
  nvdType?: string;
  /** NVD: the scoring organisation (`nvd@nist.gov`, a CNA e-mail, ...). */
  scorer?: string;
}

export interface AffectedProduct {
  vendor: string;
  product: string;
  source: VulnSource;
}

export interface KevFacts {
  dateAdded: string | null;
  dueDate: string | null;
  requiredAction: string | null;
  ransomwareUse: string | null;
}

export interface EpssFacts {
  score: number;
  percentile: number | null;
  date: string | null;
}

/** A value together with the source that supplied it. */
export interface Sourced<T> {
  value: T;
  source: VulnSource;
}

/**
 * What one source says about one CVE. Every field is optional and carries its source, so that one
 * CVE JSON 5 record can contribute fields from several containers (CNA, CISA ADP, CVE ADP).
 */
export interface PartialVulnerability {
  cveId: string;
  /** The sources that contributed at least one field of this record. */
  sources: VulnSource[];
  title?: Sourced<string>;
  description?: Sourced<string>;
  /** Every CVSS metric found (all versions, all containers); `cvss` is the preferred one. */
  cvssMetrics: CvssMetric[];
  cvss?: CvssMetric;
  cweIds?: Sourced<string[]>[];
  ssvc?: Sourced<Record<string, unknown>>;
  affected?: AffectedProduct[];
  references?: Sourced<string[]>[];
  publishedAt?: Sourced<string>;
  lastModifiedAt?: Sourced<string>;
  isRejected?: Sourced<boolean>;
  /** KEV facts (from the KEV catalog, or the `kev` marker of the CISA ADP: date added only). */
  kev?: Sourced<KevFacts>;
  epss?: Sourced<EpssFacts>;
}

export type ParseResult<T> = { ok: true; record: T } | { ok: false; reason: string; where: string };

export function fail<T>(where: string, reason: string): ParseResult<T> {
  return { ok: false, reason, where };
}
