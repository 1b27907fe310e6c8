/** Choosing one CVSS metric among many: the same rule in the parsers and in `merge.ts`. */
import { CVSS_VERSION_RANK, type CvssMetric, type VulnSource } from './types.ts';
import { cmp } from './util.ts';

/**
 * For equal CVSS versions: the CNA (the vendor knows its product) first, then CISA's ADP, then NVD.
 * Within NVD, `Primary` (NVD's own analysis) beats `Secondary` (a CNA's score republished by NVD).
 */
export const CVSS_SOURCE_RANK: Record<VulnSource, number> = {
  cve: 0,
  'cisa-adp': 1,
  'cve-adp': 2,
  nvd: 3,
  kev: 4,
  epss: 5,
};

/** Negative when `a` is preferred. Total order, so the choice never depends on input order. */
export function compareCvss(a: CvssMetric, b: CvssMetric): number {
  return (
    CVSS_VERSION_RANK[b.version] - CVSS_VERSION_RANK[a.version] ||
    CVSS_SOURCE_RANK[a.source] - CVSS_SOURCE_RANK[b.source] ||
    nvdTypeRank(a) - nvdTypeRank(b) ||
    b.score - a.score ||
    cmp(a.vector ?? '', b.vector ?? '') ||
    cmp(a.scorer ?? '', b.scorer ?? '')
  );
}

function nvdTypeRank(m: CvssMetric): number {
  return m.nvdType === undefined || m.nvdType === 'Primary' ? 0 : 1;
}

export function pickCvss(metrics: readonly CvssMetric[]): CvssMetric | undefined {
  return [...metrics].sort(compareCvss)[0];
}
