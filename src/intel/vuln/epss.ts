/**
 * EPSS CSV, line by line (the full file holds ~300k rows: feed it a line at a time from a stream).
 * Layouts:
 *  - official: `#model_version:v2025.03.14,score_date:2025-03-20T00:00:00+0000`, then
 *    `cve,epss,percentile`, then rows;
 *  - per-year dumps (EMBA): `CVE-2021-1234;0.00120;0.0216`, no header, no score date.
 * Without a `score_date` in the comment line the caller's `scoreDate` is used; without either the
 * score date is null and `meta.scoreDateMissing` says so (the caller must not invent one).
 */
import { type ParseResult, type PartialVulnerability, fail } from './types.ts';
import { CVE_ID_RE, toIsoDate } from './util.ts';

export interface EpssScore {
  cveId: string;
  epss: number;
  percentile: number | null;
  /** YYYY-MM-DD, or null when neither the file nor the caller gave one. */
  scoreDate: string | null;
}

export interface EpssMeta {
  layout: 'official' | 'semicolon' | 'unknown';
  modelVersion: string | null;
  /** From the comment line, else the caller's, else null. */
  scoreDate: string | null;
  scoreDateSource: 'file' | 'caller' | null;
  scoreDateMissing: boolean;
  /** Every `key:value` of the comment line, as found. */
  comment: Record<string, string>;
  lines: number;
  accepted: number;
  rejected: number;
}

export interface EpssLineParser {
  /** Feed one line (without its terminator); returns a result for a data row, undefined otherwise. */
  line(text: string): ParseResult<EpssScore> | undefined;
  readonly meta: EpssMeta;
}

export function createEpssParser(opts: { file?: string; scoreDate?: string } = {}): EpssLineParser {
  const file = opts.file ?? '<epss>';
  const callerDate = opts.scoreDate === undefined ? undefined : toIsoDate(opts.scoreDate);
  if (opts.scoreDate !== undefined && !callerDate)
    throw new Error(`invalid scoreDate ${JSON.stringify(opts.scoreDate)}`);
  const meta: EpssMeta = {
    layout: 'unknown',
    modelVersion: null,
    scoreDate: callerDate ?? null,
    scoreDateSource: callerDate ? 'caller' : null,
    scoreDateMissing: !callerDate,
    comment: {},
    lines: 0,
    accepted: 0,
    rejected: 0,
  };
  let columns: { cve: number; epss: number; percentile: number } | undefined;
  let delimiter = ',';

  function reject(where: string, reason: string): ParseResult<EpssScore> {
    meta.rejected++;
    return fail(where, reason);
  }

  return {
    meta,
    line(raw: string) {
      meta.lines++;
      const text = raw
        .replace(/^\uFEFF/, '')
        .replace(/\r$/, '')
        .trim();
      const where = `${file}:${meta.lines}`;
      if (text === '') return undefined;
      if (text.startsWith('#')) {
        // Values may hold commas (`#source:a, b,commit_date:...`): split only before a `key:`.
        for (const part of text.slice(1).split(/,(?=\s*[A-Za-z_][\w-]*:)/)) {
          const idx = part.indexOf(':');
          if (idx > 0) meta.comment[part.slice(0, idx).trim()] = part.slice(idx + 1).trim();
        }
        if (meta.comment.model_version) meta.modelVersion = meta.comment.model_version;
        const fileDate = toIsoDate(meta.comment.score_date);
        if (fileDate) {
          meta.scoreDate = fileDate;
          meta.scoreDateSource = 'file';
          meta.scoreDateMissing = false;
        }
        return undefined;
      }
      if (columns === undefined) {
        delimiter = text.includes(';') && !text.includes(',') ? ';' : ',';
        const head = text.split(delimiter).map((h) => h.trim().toLowerCase());
        if (head.includes('cve') && head.includes('epss')) {
          columns = {
            cve: head.indexOf('cve'),
            epss: head.indexOf('epss'),
            percentile: head.indexOf('percentile'),
          };
          meta.layout = delimiter === ';' ? 'semicolon' : 'official';
          return undefined;
        }
        // No header: the per-year layout `cve;epss;percentile`.
        columns = { cve: 0, epss: 1, percentile: 2 };
        meta.layout = delimiter === ';' ? 'semicolon' : 'unknown';
      }
      const cells = text.split(delimiter).map((c) => c.trim());
      const cveId = cells[columns.cve]?.toUpperCase() ?? '';
      if (!CVE_ID_RE.test(cveId))
        return reject(where, `invalid CVE id ${JSON.stringify(cells[columns.cve] ?? '')}`);
      const epss = toProbability(cells[columns.epss]);
      if (epss === undefined)
        return reject(
          `${where} (${cveId})`,
          `epss ${JSON.stringify(cells[columns.epss] ?? '')} is not a number in 0..1`,
        );
      let percentile: number | null = null;
      if (
        columns.percentile >= 0 &&
        cells[columns.percentile] !== undefined &&
        cells[columns.percentile] !== ''
      ) {
        const p = toProbability(cells[columns.percentile]);
        if (p === undefined)
          return reject(
            `${where} (${cveId})`,
            `percentile ${JSON.stringify(cells[columns.percentile])} is not a number in 0..1`,
          );
        percentile = p;
      }
      meta.accepted++;
      return { ok: true, record: { cveId, epss, percentile, scoreDate: meta.scoreDate } };
    },
  };
}

function toProbability(s: string | undefined): number | undefined {
  if (s === undefined || !/^[0-9.eE+-]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
}

/** Whole-text convenience for small inputs and tests. */
export function parseEpssText(
  text: string,
  opts: { file?: string; scoreDate?: string } = {},
): { meta: EpssMeta; results: ParseResult<EpssScore>[] } {
  const parser = createEpssParser(opts);
  const results: ParseResult<EpssScore>[] = [];
  for (const line of text.split('\n')) {
    const r = parser.line(line);
    if (r) results.push(r);
  }
  return { meta: parser.meta, results };
}

/** An EPSS score as merge input (source `epss`). */
export function epssToPartial(s: EpssScore): PartialVulnerability {
  return {
    cveId: s.cveId,
    sources: ['epss'],
    cvssMetrics: [],
    epss: { value: { score: s.epss, percentile: s.percentile, date: s.scoreDate }, source: 'epss' },
  };
}
