/**
 * Vulnerability intelligence import (issue 6): CVE JSON 5 records, NVD API 2.0 pages, the CISA KEV catalog
 * (JSON or CSV), EPSS scores (CSV, line by line) and Vigil's own NDJSON export, into one record per CVE.
 *
 * - Each importer's partial record of a CVE is kept in `vulnerabilities.source_records` under its kind
 *   (`cve`, `nvd`, `kev`, `ndjson`). Every import replaces its own partial, then merges all partials of the
 *   CVE, plus its newest EPSS score, with `mergeVulnerability` (src/intel/vuln/merge.ts: field by field,
 *   order-independent) and sets `priority_score` (src/intel/vuln/priority.ts, docs/priority.md). So the
 *   order of imports never matters, and a re-import of an unchanged source changes nothing.
 * - EPSS is a time series in `epss_scores` (a score per CVE per date), written thousands of rows per
 *   statement; the CVEs already known get their record re-merged with their newest score.
 * - Every import is an ingestion run (kind `intel`, source = kind): running, then success or failed with
 *   its counts, timings, error text and details. A malformed record (or file) fails alone with its reason;
 *   the others go through. `fetched = inserted + updated + unchanged + failed` (per CVE record, or per
 *   EPSS row), except that a CVE repeated within one import counts once after its first occurrence.
 */
import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { VULN_SEVERITIES, type VulnSeverity } from '../domain/enums.ts';
import { ValidationError } from '../domain/errors.ts';
import {
  vulnerabilityUpsertSchema,
  type VulnerabilityUpsert,
} from '../domain/schemas/vulnerability.schema.ts';
import { parseCveJson5Text } from '../intel/vuln/cve-json5.ts';
import { createEpssParser, epssToPartial } from '../intel/vuln/epss.ts';
import { kevToPartial, parseKevCsv, parseKevJsonText } from '../intel/vuln/kev.ts';
import { mergeVulnerability, type MergedVulnerability } from '../intel/vuln/merge.ts';
import { parseNvdPageText } from '../intel/vuln/nvd.ts';
import { vulnerabilityPriority } from '../intel/vuln/priority.ts';
import type { CvssVersion, ParseResult, PartialVulnerability, VulnSource } from '../intel/vuln/types.ts';
import { CVE_ID_RE, isRecord } from '../intel/vuln/util.ts';
import type { IngestionRunRepository } from '../repositories/ingestion-run.repository.ts';
import type { Vulnerability, VulnerabilityRepository } from '../repositories/vulnerability.repository.ts';

export const VULN_IMPORT_KINDS = ['cve', 'nvd', 'kev', 'epss', 'ndjson'] as const;
export type VulnImportKind = (typeof VULN_IMPORT_KINDS)[number];

export interface VulnImportProgress {
  kind: VulnImportKind;
  fetched: number;
  failed: number;
  elapsedMs: number;
}

export interface VulnImportOptions {
  /** Run label, e.g. `initial_load`. */
  label?: string;
  /** EPSS: the score date (YYYY-MM-DD) of files whose header carries none. */
  scoreDate?: string;
  /** Called about once a second during long imports. */
  onProgress?: (p: VulnImportProgress) => void;
}

export interface VulnImportSummary {
  runId: string;
  source: VulnImportKind;
  label: string | null;
  status: 'success' | 'failed';
  files: number;
  fetched: number;
  inserted: number;
  updated: number;
  unchanged: number;
  failed: number;
  /** The first MAX_FAILURES failures; `failed` counts them all. */
  failures: { where: string; reason: string }[];
  /** EPSS: vulnerability records re-merged with a newer score. */
  recordsRefreshed?: number;
  elapsedMs: number;
  recordsPerSecond: number;
  error?: string;
}

/** One line of `vigil intel export vulns`: the merged record, its per-importer partials. */
export type VulnExportLine = Omit<Vulnerability, 'id' | 'createdAt' | 'updatedAt'>;

const MAX_FAILURES = 100;
/** CVE records merged and written per batch. */
const RECORD_BATCH = 500;
/** EPSS rows per write (the repository splits them into statements of 5,000). */
const EPSS_BATCH = 25_000;
const EXPORT_PAGE = 1000;
const PROGRESS_MS = 1000;

interface Counts {
  files: number;
  fetched: number;
  inserted: number;
  updated: number;
  unchanged: number;
  failed: number;
  refreshed: number;
  failures: { where: string; reason: string }[];
}

export class VulnImportService {
  readonly #now: () => Date;
  readonly #onDataChanged: ((s: VulnImportSummary) => Promise<void> | void) | undefined;

  /**
   * `onDataChanged` is called after a run that inserted, updated or re-merged anything (even one that then
   * failed): the search cache hook (VulnSearchService.invalidate).
   */
  constructor(
    private readonly vulns: VulnerabilityRepository,
    private readonly runs: IngestionRunRepository,
    opts: { now?: () => Date; onDataChanged?: (s: VulnImportSummary) => Promise<void> | void } = {},
  ) {
    this.#now = opts.now ?? (() => new Date());
    this.#onDataChanged = opts.onDataChanged;
  }

  async import(
    kind: VulnImportKind,
    paths: readonly string[],
    opts: VulnImportOptions = {},
  ): Promise<VulnImportSummary> {
    if (!VULN_IMPORT_KINDS.includes(kind))
      throw new ValidationError(`unknown import kind ${JSON.stringify(kind)}`, [
        { path: 'kind', message: `one of ${VULN_IMPORT_KINDS.join(', ')}` },
      ]);
    if (paths.length === 0)
      throw new ValidationError('no input paths', [{ path: 'paths', message: 'required' }]);
    if (opts.scoreDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(opts.scoreDate))
      throw new ValidationError(`invalid score date ${JSON.stringify(opts.scoreDate)}`, [
        { path: 'scoreDate', message: 'expected YYYY-MM-DD' },
      ]);
    const started = Date.now();
    const run = await this.runs.start({ source: kind, kind: 'intel', label: opts.label ?? null });
    const c: Counts = {
      files: 0,
      fetched: 0,
      inserted: 0,
      updated: 0,
      unchanged: 0,
      failed: 0,
      refreshed: 0,
      failures: [],
    };
    let lastProgress = started;
    const progress = () => {
      const now = Date.now();
      if (opts.onProgress && now - lastProgress >= PROGRESS_MS) {
        lastProgress = now;
        opts.onProgress({ kind, fetched: c.fetched, failed: c.failed, elapsedMs: now - started });
      }
    };
    let error: string | undefined;
    let fatal: unknown;
    try {
      const files = listFiles(kind, paths);
      c.files = files.length;
      if (kind === 'epss') await this.#importEpss(files, opts.scoreDate, c, progress);
      else await this.#importRecords(kind, files, c, progress);
    } catch (e) {
      fatal = e;
      error = (e as Error)?.message ?? String(e);
    }
    const elapsedMs = Date.now() - started;
    const recordsPerSecond = elapsedMs > 0 ? Math.round((c.fetched * 1000) / elapsedMs) : c.fetched;
    const status = error === undefined ? 'success' : 'failed';
    await this.runs.finish(run.id, {
      status,
      recordsFetched: c.fetched,
      recordsInserted: c.inserted,
      recordsUpdated: c.updated,
      recordsFailed: c.failed,
      errorMessage: error ?? null,
      details: {
        files: c.files,
        unchanged: c.unchanged,
        refreshed: c.refreshed,
        failures: c.failures,
        elapsedMs,
        recordsPerSecond,
        ...(opts.scoreDate ? { scoreDate: opts.scoreDate } : {}),
      },
    });
    const summary: VulnImportSummary = {
      runId: run.id,
      source: kind,
      label: opts.label ?? null,
      status,
      files: c.files,
      fetched: c.fetched,
      inserted: c.inserted,
      updated: c.updated,
      unchanged: c.unchanged,
      failed: c.failed,
      failures: c.failures,
      ...(kind === 'epss' ? { recordsRefreshed: c.refreshed } : {}),
      elapsedMs,
      recordsPerSecond,
    };
    if (c.inserted + c.updated + c.refreshed > 0) await this.#onDataChanged?.(summary);
    if (fatal) throw fatal;
    return summary;
  }

  /** Every merged record, in `cve_id` order, as NDJSON lines (without the trailing newline). */
  async *exportNdjson(): AsyncGenerator<string> {
    let after: string | null = null;
    for (;;) {
      const page = await this.vulns.listAfter(after, EXPORT_PAGE);
      for (const row of page) {
        const { id: _id, createdAt: _c, updatedAt: _u, ...line } = row;
        yield JSON.stringify(line satisfies VulnExportLine);
      }
      if (page.length < EXPORT_PAGE) return;
      after = page[page.length - 1]!.cveId;
    }
  }

  // ---------------------------------------------------------------- CVE, NVD, KEV, NDJSON

  async #importRecords(
    kind: Exclude<VulnImportKind, 'epss'>,
    files: string[],
    c: Counts,
    progress: () => void,
  ): Promise<void> {
    let batch = new Map<string, Incoming>();
    const flush = async () => {
      if (batch.size === 0) return;
      const current = batch;
      batch = new Map();
      await this.#mergeAndWrite(current, c);
      progress();
    };
    const accept = async (r: ParseResult<Incoming>) => {
      c.fetched++;
      if (!r.ok) return fail(c, r.where, r.reason);
      // The same CVE twice in one import: the later record wins; the earlier one counts as unchanged.
      if (batch.has(r.record.cveId)) c.unchanged++;
      batch.set(r.record.cveId, r.record);
      if (batch.size >= RECORD_BATCH) await flush();
    };
    const asIncoming = (r: ParseResult<PartialVulnerability>): ParseResult<Incoming> =>
      r.ok ? { ok: true, record: { cveId: r.record.cveId, records: { [kind]: r.record } } } : r;
    for (const file of files) {
      if (kind === 'ndjson') {
        let n = 0;
        for await (const line of readLines(file)) {
          n++;
          if (line.trim() === '') continue;
          await accept(parseNdjsonLine(line, `${file}:${n}`));
        }
        continue;
      }
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        failFile(c, file, `cannot read: ${(e as Error).message}`);
        continue;
      }
      if (kind === 'cve') {
        await accept(asIncoming(parseCveJson5Text(text, { file })));
      } else if (kind === 'nvd') {
        const page = parseNvdPageText(text, { file });
        if (page.error) failFile(c, file, page.error);
        for (const r of page.results) await accept(asIncoming(r));
      } else {
        const cat =
          extname(file).toLowerCase() === '.csv'
            ? parseKevCsv(text, { file })
            : parseKevJsonText(text, { file });
        if (cat.error) failFile(c, file, cat.error);
        for (const r of cat.results)
          await accept(asIncoming(r.ok ? { ok: true, record: kevToPartial(r.record) } : r));
      }
    }
    await flush();
  }

  /** Set the incoming partials of each CVE, re-merge all of them with the newest EPSS score, write the changed. */
  async #mergeAndWrite(batch: Map<string, Incoming>, c: Counts): Promise<void> {
    const epssRows = [...batch.values()].flatMap((b) => (b.epss ? [b.epss] : []));
    if (epssRows.length) await this.vulns.writeEpssScores(epssRows);
    const ids = [...batch.keys()];
    const existing = new Map((await this.vulns.getManyByCveIds(ids)).map((v) => [v.cveId, v]));
    const epss = await this.vulns.latestEpss(ids);
    const writes: VulnerabilityUpsert[] = [];
    let unchanged = 0;
    for (const [cveId, incoming] of batch) {
      const old = existing.get(cveId);
      const sourceRecords = { ...(old?.sourceRecords ?? {}), ...incoming.records };
      const row = this.#mergedRow(cveId, sourceRecords, epss.get(cveId));
      if (!row.ok) {
        fail(c, cveId, row.reason);
        continue;
      }
      if (old && sameRecord(row.value, old)) unchanged++;
      else writes.push(row.value);
    }
    const w = await this.vulns.upsertMany(writes);
    c.inserted += w.inserted;
    c.updated += w.updated;
    c.unchanged += unchanged;
  }

  /** The complete row of a CVE from its partials, validated (a record too large for a column fails alone). */
  #mergedRow(
    cveId: string,
    sourceRecords: Record<string, unknown>,
    epss: { scoreDate: string; epss: number; percentile: number | null } | undefined,
  ): { ok: true; value: VulnerabilityUpsert } | { ok: false; reason: string } {
    const parts = Object.values(sourceRecords) as PartialVulnerability[];
    if (epss)
      parts.push(
        epssToPartial({ cveId, epss: epss.epss, percentile: epss.percentile, scoreDate: epss.scoreDate }),
      );
    let merged: MergedVulnerability;
    try {
      merged = mergeVulnerability(parts);
    } catch (e) {
      return { ok: false, reason: `cannot merge: ${(e as Error).message}` };
    }
    const row: VulnerabilityUpsert = {
      ...merged,
      priorityScore: vulnerabilityPriority(merged, this.#now()),
      sourceRecords,
    };
    const parsed = vulnerabilityUpsertSchema.safeParse(row);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { ok: false, reason: `invalid merged record: ${issue?.path.join('.')}: ${issue?.message}` };
    }
    return { ok: true, value: row };
  }

  // ---------------------------------------------------------------- EPSS

  async #importEpss(
    files: string[],
    scoreDate: string | undefined,
    c: Counts,
    progress: () => void,
  ): Promise<void> {
    let rows: { cveId: string; scoreDate: string; epss: number; percentile: number | null }[] = [];
    const flush = async () => {
      if (rows.length === 0) return;
      const chunk = rows;
      rows = [];
      const w = await this.vulns.writeEpssScores(chunk);
      c.inserted += w.inserted;
      c.updated += w.updated;
      c.unchanged += w.unchanged;
      await this.#refreshEpss(
        chunk.map((r) => r.cveId),
        c,
      );
      progress();
    };
    for (const file of files) {
      const parser = createEpssParser({ file, ...(scoreDate ? { scoreDate } : {}) });
      let seen = 0;
      for await (const line of readLines(file)) {
        const r = parser.line(line);
        if (!r) continue;
        c.fetched++;
        seen++;
        if (!r.ok) {
          fail(c, r.where, r.reason);
          continue;
        }
        if (!r.record.scoreDate)
          throw new ValidationError(
            `${file}: the file gives no score date (no "#...score_date:" line): pass --score-date YYYY-MM-DD`,
            [{ path: 'scoreDate', message: 'required for this file' }],
          );
        rows.push({ ...r.record, scoreDate: r.record.scoreDate });
        if (rows.length >= EPSS_BATCH) await flush();
      }
      if (seen === 0) failFile(c, file, 'no EPSS rows');
    }
    await flush();
  }

  /** Re-merge the known CVEs among `cveIds` with their newest EPSS score. */
  async #refreshEpss(cveIds: string[], c: Counts): Promise<void> {
    const known = await this.vulns.getManyByCveIds(cveIds);
    if (known.length === 0) return;
    const epss = await this.vulns.latestEpss(known.map((v) => v.cveId));
    const writes: VulnerabilityUpsert[] = [];
    for (const old of known) {
      const row = this.#mergedRow(old.cveId, old.sourceRecords, epss.get(old.cveId));
      if (row.ok && !sameRecord(row.value, old)) writes.push(row.value);
    }
    const w = await this.vulns.upsertMany(writes);
    c.refreshed += w.updated + w.inserted;
  }
}

// ---------------------------------------------------------------- helpers

/** A whole file that yields no record (unreadable, not a page or catalog) counts as one failed record. */
function failFile(c: Counts, file: string, reason: string): void {
  c.fetched++;
  fail(c, file, reason.startsWith(`${file}: `) ? reason.slice(file.length + 2) : reason);
}

function fail(c: Counts, where: string, reason: string): void {
  c.failed++;
  if (c.failures.length < MAX_FAILURES) c.failures.push({ where, reason });
}

const EXTENSIONS: Record<VulnImportKind, string[]> = {
  cve: ['.json'],
  nvd: ['.json'],
  kev: ['.json', '.csv'],
  epss: ['.csv'],
  ndjson: ['.ndjson', '.jsonl'],
};

/** Files named directly are taken as they are; directories are walked for the kind's extensions. */
function listFiles(kind: VulnImportKind, paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (EXTENSIONS[kind].includes(extname(name).toLowerCase()) && !/schema/i.test(basename(name)))
        out.push(p);
    }
  };
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new ValidationError(`${p}: no such file or directory`, [{ path: 'paths', message: p }]);
    }
    if (st.isDirectory()) walk(p);
    else out.push(p);
  }
  return out;
}

async function* readLines(file: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  try {
    for await (const line of rl) yield line;
  } finally {
    rl.close();
  }
}

const SOURCES: readonly VulnSource[] = ['cve', 'cisa-adp', 'cve-adp', 'nvd', 'kev', 'epss'];

/** What one import says about one CVE: partials by importer, and (NDJSON) an EPSS score to record. */
interface Incoming {
  cveId: string;
  records: Record<string, PartialVulnerability>;
  epss?: { cveId: string; scoreDate: string; epss: number; percentile: number | null };
}

/**
 * One NDJSON line: Vigil's export (its `sourceRecords` are restored as they were, and its EPSS score is
 * recorded for its date) or a flat merged record without them (camelCase or snake_case keys, as seed 004's
 * `deduplicated_cves.ndjson`), whose fields become one partial (`ndjson`) attributed to the sources its
 * `fieldSources` names (`cve` when it names none).
 */
function parseNdjsonLine(line: string, where: string): ParseResult<Incoming> {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (e) {
    return { ok: false, where, reason: `invalid JSON: ${(e as Error).message}` };
  }
  if (!isRecord(doc)) return { ok: false, where, reason: 'line is not a JSON object' };
  const o = Object.fromEntries(
    Object.entries(doc).map(([k, v]) => [k.replace(/_([a-z])/g, (_m, ch: string) => ch.toUpperCase()), v]),
  );
  const cveId = typeof o.cveId === 'string' ? o.cveId.trim().toUpperCase() : '';
  if (!CVE_ID_RE.test(cveId)) return { ok: false, where, reason: `invalid cveId ${JSON.stringify(o.cveId)}` };
  const at = `${where} (${cveId})`;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const epssScore = num(o.epssScore);
  const epssDate = str(o.epssDate);
  if (epssScore !== undefined && (epssScore < 0 || epssScore > 1))
    return { ok: false, where: at, reason: `epssScore ${epssScore} is not in 0..1` };
  const epss =
    epssScore !== undefined && epssDate && /^\d{4}-\d{2}-\d{2}$/.test(epssDate)
      ? { cveId, scoreDate: epssDate, epss: epssScore, percentile: num(o.epssPercentile) ?? null }
      : undefined;
  if (isRecord(o.sourceRecords) && Object.keys(o.sourceRecords).length > 0) {
    for (const [k, p] of Object.entries(o.sourceRecords)) {
      if (!isRecord(p) || p.cveId !== cveId || !Array.isArray(p.cvssMetrics) || !Array.isArray(p.sources))
        return { ok: false, where: at, reason: `sourceRecords.${k} is not a partial record of ${cveId}` };
    }
    const records = o.sourceRecords as Record<string, PartialVulnerability>;
    return { ok: true, record: { cveId, records, ...(epss ? { epss } : {}) } };
  }
  const fs = isRecord(o.fieldSources) ? o.fieldSources : {};
  const src = (column: string): VulnSource => {
    const s = String(fs[column] ?? '').split(',')[0] as VulnSource;
    return SOURCES.includes(s) ? s : 'cve';
  };
  const p: PartialVulnerability = { cveId, sources: [], cvssMetrics: [] };
  const title = str(o.title);
  if (title) p.title = { value: title, source: src('title') };
  const description = str(o.description);
  if (description) p.description = { value: description, source: src('description') };
  const cvssScore = num(o.cvssScore);
  const cvssVersion = str(o.cvssVersion);
  if (cvssScore !== undefined && cvssVersion && ['4.0', '3.1', '3.0', '2.0'].includes(cvssVersion)) {
    const severity = str(o.severity);
    p.cvssMetrics = [
      {
        version: cvssVersion as CvssVersion,
        score: cvssScore,
        vector: str(o.cvssVector) ?? null,
        severity: VULN_SEVERITIES.includes(severity as VulnSeverity) ? (severity as VulnSeverity) : 'unknown',
        source: src('cvss_score'),
      },
    ];
  }
  const published = str(o.publishedAt);
  if (published) p.publishedAt = { value: published, source: src('published_at') };
  const modified = str(o.lastModifiedAt);
  if (modified) p.lastModifiedAt = { value: modified, source: src('last_modified_at') };
  if (typeof o.isRejected === 'boolean') p.isRejected = { value: o.isRejected, source: src('is_rejected') };
  const list = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  if (list(o.cweIds).length) p.cweIds = [{ value: list(o.cweIds), source: src('cwe_ids') }];
  if (list(o.references).length) p.references = [{ value: list(o.references), source: src('references') }];
  if (isRecord(o.ssvc)) p.ssvc = { value: o.ssvc, source: 'cisa-adp' };
  const affected = Array.isArray(o.affectedProducts) ? o.affectedProducts.filter(isRecord) : [];
  const pairs = affected.filter(
    (a): a is { vendor: string; product: string } =>
      typeof a.vendor === 'string' && typeof a.product === 'string',
  );
  if (pairs.length)
    p.affected = pairs.map((a) => ({
      vendor: a.vendor,
      product: a.product,
      source: src('affected_products'),
    }));
  if (o.exploitedInTheWild === true || str(o.kevDateAdded)) {
    p.kev = {
      value: {
        dateAdded: str(o.kevDateAdded) ?? null,
        dueDate: str(o.kevDueDate) ?? null,
        requiredAction: str(o.kevRequiredAction) ?? null,
        ransomwareUse: str(o.kevRansomwareUse) ?? null,
      },
      source: 'kev',
    };
  }
  if (epssScore !== undefined && !epss)
    p.epss = {
      value: { score: epssScore, percentile: num(o.epssPercentile) ?? null, date: null },
      source: 'epss',
    };
  p.sources = [
    ...new Set(
      [p.title, p.description, p.publishedAt, p.isRejected, p.kev, p.epss, p.ssvc, ...p.cvssMetrics]
        .filter((x) => x !== undefined)
        .map((x) => x.source),
    ),
  ].sort();
  return { ok: true, record: { cveId, records: { ndjson: p }, ...(epss ? { epss } : {}) } };
}

/** Compare a new row with the stored one on every column the import owns. */
function sameRecord(row: VulnerabilityUpsert, old: Vulnerability): boolean {
  const o = old as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(row)) {
    if (canonical(v) !== canonical(o[k])) return false;
  }
  return true;
}

function canonical(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, val: unknown) => {
    if (typeof val === 'number') return Math.fround(val);
    if (val instanceof Date) return val.toISOString();
    if (typeof val === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(val)) {
      const t = Date.parse(val);
      return Number.isNaN(t) ? val : new Date(t).toISOString();
    }
    if (val && typeof val === 'object' && !Array.isArray(val))
      return Object.fromEntries(
        Object.entries(val as Record<string, unknown>)
          .filter(([, x]) => x !== undefined)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
    return val;
  });
}
