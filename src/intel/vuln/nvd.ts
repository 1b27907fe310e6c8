/**
 * Parse an NVD CVE API 2.0 response page (`{ vulnerabilities: [{ cve }] }`) into
 * `PartialVulnerability` records, source `nvd`. One result per element, so a bad element is
 * reported with its index and never hides the good ones.
 */
import { englishText } from './cve-json5.ts';
import { pickCvss } from './cvss.ts';
import {
  type AffectedProduct,
  type CvssMetric,
  type CvssVersion,
  type ParseResult,
  type PartialVulnerability,
  fail,
} from './types.ts';
import {
  CVE_ID_RE,
  asArray,
  asString,
  isRecord,
  normaliseCwe,
  normaliseSeverity,
  toIsoTimestamp,
  uniqueSorted,
} from './util.ts';

const METRIC_KEYS = [
  ['cvssMetricV40', '4.0'],
  ['cvssMetricV31', '3.1'],
  ['cvssMetricV30', '3.0'],
  ['cvssMetricV2', '2.0'],
] as const satisfies readonly (readonly [string, CvssVersion])[];

export interface NvdPage {
  /** Page-level problems (not an object, no `vulnerabilities` array): nothing could be read. */
  error?: string;
  totalResults?: number;
  startIndex?: number;
  timestamp?: string;
  results: ParseResult<PartialVulnerability>[];
}

export function parseNvdPage(doc: unknown, opts: { file?: string } = {}): NvdPage {
  const file = opts.file ?? '<nvd page>';
  if (!isRecord(doc)) return { error: `${file}: page is not a JSON object`, results: [] };
  if (!Array.isArray(doc.vulnerabilities))
    return { error: `${file}: page has no "vulnerabilities" array`, results: [] };
  const page: NvdPage = {
    results: doc.vulnerabilities.map((v, i) => parseNvdCve(v, `${file}#vulnerabilities[${i}]`)),
  };
  if (typeof doc.totalResults === 'number') page.totalResults = doc.totalResults;
  if (typeof doc.startIndex === 'number') page.startIndex = doc.startIndex;
  const ts = toIsoTimestamp(doc.timestamp);
  if (ts) page.timestamp = ts;
  return page;
}

export function parseNvdPageText(text: string, opts: { file?: string } = {}): NvdPage {
  try {
    return parseNvdPage(JSON.parse(text), opts);
  } catch (err) {
    return { error: `${opts.file ?? '<nvd page>'}: invalid JSON: ${(err as Error).message}`, results: [] };
  }
}

/** One element of `vulnerabilities[]` (`{ cve: {...} }`) or a bare `cve` object. */
export function parseNvdCve(item: unknown, where0 = '<nvd cve>'): ParseResult<PartialVulnerability> {
  const cve = isRecord(item) && 'cve' in item ? item.cve : isRecord(item) && 'id' in item ? item : undefined;
  if (!isRecord(cve)) return fail(where0, 'element has no "cve" object');
  const cveId = asString(cve.id)?.trim().toUpperCase();
  const where = cveId ? `${where0} (${cveId})` : where0;
  if (!cveId || !CVE_ID_RE.test(cveId)) return fail(where, `invalid cve.id ${JSON.stringify(cve.id)}`);
  const status = asString(cve.vulnStatus);
  if (!status) return fail(where, 'missing cve.vulnStatus');
  if (cve.metrics !== undefined && !isRecord(cve.metrics)) return fail(where, 'cve.metrics is not an object');

  const rec: PartialVulnerability = { cveId, sources: ['nvd'], cvssMetrics: [] };
  rec.isRejected = { value: status === 'Rejected', source: 'nvd' };
  const description = englishText(cve.descriptions);
  if (description) rec.description = { value: description, source: 'nvd' };
  const published = toIsoTimestamp(cve.published);
  if (published) rec.publishedAt = { value: published, source: 'nvd' };
  const modified = toIsoTimestamp(cve.lastModified);
  if (modified) rec.lastModifiedAt = { value: modified, source: 'nvd' };

  const metrics = isRecord(cve.metrics) ? cve.metrics : {};
  for (const [key, version] of METRIC_KEYS) {
    for (const m of asArray(metrics[key])) {
      const parsed = isRecord(m) ? nvdMetric(m, version) : undefined;
      if (parsed) rec.cvssMetrics.push(parsed);
    }
  }
  rec.cvss = pickCvss(rec.cvssMetrics);

  const cwes: string[] = [];
  for (const w of asArray(cve.weaknesses)) {
    if (!isRecord(w)) continue;
    for (const d of asArray(w.description)) {
      const id = isRecord(d) ? normaliseCwe(d.value) : undefined;
      if (id) cwes.push(id);
    }
  }
  if (cwes.length) rec.cweIds = [{ value: uniqueSorted(cwes), source: 'nvd' }];

  const affected = cpeProducts(cve.configurations);
  if (affected.length) rec.affected = affected;
  const refs = uniqueSorted(
    asArray(cve.references)
      .filter(isRecord)
      .map((r) => asString(r.url)?.trim())
      .filter((u): u is string => u !== undefined),
  );
  if (refs.length) rec.references = [{ value: refs, source: 'nvd' }];
  // NVD copies CISA KEV into `cisaExploitAdd` and friends.
  const kevAdded = asString(cve.cisaExploitAdd);
  if (kevAdded) {
    rec.kev = {
      value: {
        dateAdded: kevAdded.slice(0, 10),
        dueDate: asString(cve.cisaActionDue)?.slice(0, 10) ?? null,
        requiredAction: asString(cve.cisaRequiredAction) ?? null,
        ransomwareUse: null,
      },
      source: 'nvd',
    };
  }
  return { ok: true, record: rec };
}

function nvdMetric(m: Record<string, unknown>, version: CvssVersion): CvssMetric | undefined {
  const data = m.cvssData;
  if (!isRecord(data) || typeof data.baseScore !== 'number') return undefined;
  const score = data.baseScore;
  if (!(score >= 0 && score <= 10)) return undefined;
  // v2 keeps baseSeverity beside cvssData, v3/v4 inside it.
  const severity = normaliseSeverity(data.baseSeverity ?? m.baseSeverity, score, version);
  const metric: CvssMetric = {
    version,
    score,
    vector: asString(data.vectorString) ?? null,
    severity,
    source: 'nvd',
  };
  const type = asString(m.type);
  if (type) metric.nvdType = type;
  const scorer = asString(m.source);
  if (scorer) metric.scorer = scorer;
  return metric;
}

/** Vendor and product of every vulnerable CPE match (`cpe:2.3:part:vendor:product:...`). */
function cpeProducts(configurations: unknown): AffectedProduct[] {
  const out: AffectedProduct[] = [];
  const seen = new Set<string>();
  for (const conf of asArray(configurations)) {
    if (!isRecord(conf)) continue;
    for (const node of asArray(conf.nodes)) {
      if (!isRecord(node)) continue;
      for (const match of asArray(node.cpeMatch)) {
        if (!isRecord(match) || match.vulnerable === false) continue;
        const parts = splitCpe(asString(match.criteria) ?? '');
        const vendor = parts[3];
        const product = parts[4];
        if (parts[0] !== 'cpe' || !vendor || !product || vendor === '*' || product === '*') continue;
        const key = `${vendor}\u0000${product}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ vendor: unescapeCpe(vendor), product: unescapeCpe(product), source: 'nvd' });
      }
    }
  }
  return out;
}

/** Split on `:` not escaped by a backslash. */
function splitCpe(cpe: string): string[] {
  return cpe.split(/(?<!\\):/);
}

function unescapeCpe(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}
