/**
 * Merge what several sources say about ONE CVE into the fields of the `vulnerabilities` table,
 * field by field, with a fixed source precedence. Every choice is a total order over the
 * candidates (rank, then value), so the result does not depend on the order of the inputs and
 * merging the same inputs again (or with duplicates) gives the same record.
 *
 * Precedence (first wins; "union" = all sources, de-duplicated and sorted):
 *
 * | field | rule |
 * |---|---|
 * | title | cve (CNA) > cisa-adp > cve-adp > nvd > kev (`vulnerabilityName`) |
 * | description | cve > nvd > kev (`shortDescription`) > cisa-adp > cve-adp |
 * | cvss_score/vector/version | highest CVSS version from any source (4.0 > 3.1 > 3.0 > 2.0); same version: cve > cisa-adp > cve-adp > nvd (Primary > Secondary), then higher score |
 * | severity | the chosen CVSS metric's base severity (or its score band), else `unknown` |
 * | kev_* | kev catalog > nvd (`cisaExploitAdd`...) > cisa-adp (`kev` marker: date added only); per field, first non-null |
 * | exploited_in_the_wild | true when any source lists the CVE in KEV, or CISA's SSVC says `Exploitation: active` |
 * | epss_* | the most recent score date (undated scores last), then the higher score |
 * | ssvc | cisa-adp (latest `timestamp`) |
 * | published_at | cve > nvd |
 * | last_modified_at | the latest of all sources |
 * | is_rejected | cve > nvd |
 * | cwe_ids, references | union |
 * | affected_products, vendors, products | union; names equal after lower-casing and `_`->space are one, spelled as the best-ranked source (cve > kev > cisa-adp > nvd: human names before CPE-style ones) |
 */
import { compareCvss } from './cvss.ts';
import {
  type AffectedProduct,
  type CvssMetric,
  type EpssFacts,
  type KevFacts,
  type PartialVulnerability,
  type Sourced,
  type VulnSeverity,
  type VulnSource,
} from './types.ts';
import { cmp, uniqueSorted } from './util.ts';

export interface MergedVulnerability {
  cveId: string;
  title: string | null;
  description: string | null;
  cvssScore: number | null;
  cvssVector: string | null;
  cvssVersion: string | null;
  severity: VulnSeverity;
  exploitedInTheWild: boolean;
  kevDateAdded: string | null;
  kevDueDate: string | null;
  kevRequiredAction: string | null;
  kevRansomwareUse: string | null;
  epssScore: number | null;
  epssPercentile: number | null;
  epssDate: string | null;
  sources: string[];
  /** Column name (snake_case, as stored) -> source; union fields list their sources comma-separated. */
  fieldSources: Record<string, string>;
  affectedProducts: { vendor: string; product: string; sources: string[] }[];
  vendors: string[];
  products: string[];
  references: string[];
  cweIds: string[];
  ssvc: Record<string, unknown> | null;
  isRejected: boolean;
  publishedAt: string | null;
  lastModifiedAt: string | null;
}

type Order = readonly VulnSource[];
const TITLE: Order = ['cve', 'cisa-adp', 'cve-adp', 'nvd', 'kev'];
const DESCRIPTION: Order = ['cve', 'nvd', 'kev', 'cisa-adp', 'cve-adp'];
const KEV: Order = ['kev', 'nvd', 'cisa-adp'];
const PUBLISHED: Order = ['cve', 'nvd'];
const REJECTED: Order = ['cve', 'nvd'];
const SSVC: Order = ['cisa-adp'];
const NAMES: Order = ['cve', 'kev', 'cisa-adp', 'nvd', 'cve-adp'];

function rank(order: Order, s: VulnSource): number {
  const i = order.indexOf(s);
  return i < 0 ? order.length : i;
}

/** Deterministic key for tie-breaks between equal-ranked values. */
function stable(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => cmp(a, b)))
      : val,
  );
}

function pick<T>(candidates: (Sourced<T> | undefined)[], order: Order): Sourced<T> | undefined {
  return candidates
    .filter((c): c is Sourced<T> => c !== undefined && order.includes(c.source))
    .sort(
      (a, b) => rank(order, a.source) - rank(order, b.source) || cmp(stable(a.value), stable(b.value)),
    )[0];
}

export function mergeVulnerability(parts: readonly PartialVulnerability[]): MergedVulnerability {
  const first = parts[0];
  if (!first) throw new Error('mergeVulnerability: no input records');
  const cveId = first.cveId;
  const other = parts.find((p) => p.cveId !== cveId);
  if (other) throw new Error(`mergeVulnerability: records of different CVEs (${cveId}, ${other.cveId})`);

  const fieldSources: Record<string, string> = {};
  const used = new Set<VulnSource>();
  const note = (field: string, sources: Iterable<VulnSource>): void => {
    const list = uniqueSorted(sources);
    if (list.length === 0) return;
    fieldSources[field] = list.join(',');
    for (const s of list) used.add(s as VulnSource);
  };

  const title = pick(
    parts.map((p) => p.title),
    TITLE,
  );
  if (title) note('title', [title.source]);
  const description = pick(
    parts.map((p) => p.description),
    DESCRIPTION,
  );
  if (description) note('description', [description.source]);

  const metrics: CvssMetric[] = parts.flatMap((p) => p.cvssMetrics);
  const cvss = [...metrics].sort(compareCvss)[0];
  if (cvss) {
    for (const f of ['cvss_score', 'cvss_vector', 'cvss_version', 'severity']) note(f, [cvss.source]);
  }

  const kevCandidates = parts.map((p) => p.kev).filter((k): k is Sourced<KevFacts> => k !== undefined);
  const kevField = <K extends keyof KevFacts>(key: K, column: string): string | null => {
    const best = pick(
      kevCandidates.map((k) =>
        k.value[key] === null ? undefined : { value: k.value[key], source: k.source },
      ),
      KEV,
    );
    if (best) note(column, [best.source]);
    return best ? (best.value as string) : null;
  };
  const kevDateAdded = kevField('dateAdded', 'kev_date_added');
  const kevDueDate = kevField('dueDate', 'kev_due_date');
  const kevRequiredAction = kevField('requiredAction', 'kev_required_action');
  const kevRansomwareUse = kevField('ransomwareUse', 'kev_ransomware_use');

  const ssvcBest = parts
    .map((p) => p.ssvc)
    .filter((s): s is Sourced<Record<string, unknown>> => s !== undefined && SSVC.includes(s.source))
    .sort(
      (a, b) =>
        rank(SSVC, a.source) - rank(SSVC, b.source) ||
        cmp(String(b.value.timestamp ?? ''), String(a.value.timestamp ?? '')) ||
        cmp(stable(a.value), stable(b.value)),
    )[0];
  if (ssvcBest) note('ssvc', [ssvcBest.source]);

  const activeBy = ssvcBest && ssvcExploitation(ssvcBest.value) === 'active' ? [ssvcBest.source] : [];
  const exploitedBy = [...kevCandidates.map((k) => k.source), ...activeBy];
  if (exploitedBy.length) note('exploited_in_the_wild', exploitedBy);

  const epss = parts
    .map((p) => p.epss)
    .filter((e): e is Sourced<EpssFacts> => e !== undefined)
    .sort(
      (a, b) =>
        cmp(b.value.date ?? '', a.value.date ?? '') ||
        b.value.score - a.value.score ||
        (b.value.percentile ?? -1) - (a.value.percentile ?? -1),
    )[0];
  if (epss) for (const f of ['epss_score', 'epss_percentile', 'epss_date']) note(f, [epss.source]);

  const published = pick(
    parts.map((p) => p.publishedAt),
    PUBLISHED,
  );
  if (published) note('published_at', [published.source]);
  const modifiedAll = parts
    .map((p) => p.lastModifiedAt)
    .filter((m): m is Sourced<string> => m !== undefined)
    .sort((a, b) => cmp(b.value, a.value) || cmp(a.source, b.source));
  const modified = modifiedAll[0];
  if (modified) note('last_modified_at', [modified.source]);
  const rejected = pick(
    parts.map((p) => p.isRejected),
    REJECTED,
  );
  if (rejected) note('is_rejected', [rejected.source]);

  const cweLists = parts.flatMap((p) => p.cweIds ?? []);
  const cweIds = uniqueSorted(cweLists.flatMap((c) => c.value));
  if (cweIds.length)
    note(
      'cwe_ids',
      cweLists.map((c) => c.source),
    );
  const refLists = parts.flatMap((p) => p.references ?? []);
  const references = uniqueSorted(refLists.flatMap((r) => r.value));
  if (references.length)
    note(
      'references',
      refLists.map((r) => r.source),
    );

  const affected = parts.flatMap((p) => p.affected ?? []);
  const affectedProducts = mergeAffected(affected);
  if (affected.length) {
    for (const f of ['affected_products', 'vendors', 'products'])
      note(
        f,
        affected.map((a) => a.source),
      );
  }
  const vendors = mergeNames(affected.map((a) => ({ name: a.vendor, source: a.source })));
  const products = mergeNames(affected.map((a) => ({ name: a.product, source: a.source })));

  return {
    cveId,
    title: title?.value ?? null,
    description: description?.value ?? null,
    cvssScore: cvss?.score ?? null,
    cvssVector: cvss?.vector ?? null,
    cvssVersion: cvss?.version ?? null,
    severity: cvss?.severity ?? 'unknown',
    exploitedInTheWild: exploitedBy.length > 0,
    kevDateAdded,
    kevDueDate,
    kevRequiredAction,
    kevRansomwareUse,
    epssScore: epss?.value.score ?? null,
    epssPercentile: epss?.value.percentile ?? null,
    epssDate: epss?.value.date ?? null,
    sources: [...used].sort(),
    fieldSources: Object.fromEntries(Object.entries(fieldSources).sort(([a], [b]) => cmp(a, b))),
    affectedProducts,
    vendors,
    products,
    references,
    cweIds,
    ssvc: ssvcBest?.value ?? null,
    isRejected: rejected?.value ?? false,
    publishedAt: published?.value ?? null,
    lastModifiedAt: modified?.value ?? null,
  };
}

/** `Exploitation` decision point of a CISA SSVC object (`none` | `poc` | `active`), lower-cased. */
export function ssvcExploitation(ssvc: Record<string, unknown> | null | undefined): string | undefined {
  const options = ssvc?.options;
  if (!Array.isArray(options)) return undefined;
  for (const o of options) {
    if (o && typeof o === 'object' && 'Exploitation' in o) {
      const v = (o as Record<string, unknown>).Exploitation;
      return typeof v === 'string' ? v.toLowerCase() : undefined;
    }
  }
  return undefined;
}

/** Names equal after `nameKey` are one; the best-ranked source's spelling is kept. */
function mergeNames(list: readonly { name: string; source: VulnSource }[]): string[] {
  const best = new Map<string, { name: string; source: VulnSource }>();
  for (const n of list) {
    const key = nameKey(n.name);
    const cur = best.get(key);
    if (
      !cur ||
      rank(NAMES, n.source) - rank(NAMES, cur.source) < 0 ||
      (n.source === cur.source && cmp(n.name, cur.name) < 0)
    ) {
      best.set(key, n);
    }
  }
  return [...best.values()].map((n) => n.name).sort(cmp);
}

function nameKey(s: string): string {
  return s.toLowerCase().replace(/_/g, ' ').replace(/\s+/g, ' ').trim();
}

function mergeAffected(list: readonly AffectedProduct[]): MergedVulnerability['affectedProducts'] {
  const groups = new Map<string, AffectedProduct[]>();
  for (const a of list) {
    const key = `${nameKey(a.vendor)}\u0000${nameKey(a.product)}`;
    groups.set(key, [...(groups.get(key) ?? []), a]);
  }
  const out = [...groups.values()].map((g) => {
    const best = [...g].sort(
      (a, b) =>
        rank(NAMES, a.source) - rank(NAMES, b.source) || cmp(a.vendor, b.vendor) || cmp(a.product, b.product),
    )[0] as AffectedProduct;
    return { vendor: best.vendor, product: best.product, sources: uniqueSorted(g.map((a) => a.source)) };
  });
  return out.sort(
    (a, b) => cmp(nameKey(a.vendor), nameKey(b.vendor)) || cmp(nameKey(a.product), nameKey(b.product)),
  );
}
