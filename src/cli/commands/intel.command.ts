/**
 * `vigil intel import|export` and `vigil vuln show|stats|search`: vulnerability intelligence (issue 6).
 * Thin: every command calls a service from the container.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import type { Container } from '../../container.ts';
import { VULN_SEVERITIES, type VulnSeverity } from '../../domain/enums.ts';
import { ValidationError } from '../../domain/errors.ts';
import { VULN_SEARCH_MAX_LIMIT } from '../../domain/schemas/vulnerability.schema.ts';
import type { VulnImportProgress, VulnImportSummary } from '../../services/vuln-import.service.ts';
import {
  CSV_FEEDS,
  type CsvFeed,
  type ImportProgress as FeedImportProgress,
  type IndicatorImportKind,
} from '../../services/intel-feed.service.ts';
import type { CliContext } from '../context.ts';
import { intOption, printJson, printTable, println } from '../output.ts';

interface ImportOptions {
  json?: boolean;
  label?: string;
  scoreDate?: string;
  feed?: CsvFeed;
}

/** Progress of any import, as the progress line shows it. */
type Progress = Omit<VulnImportProgress, 'kind'> & { kind: string };

/** What `vigil intel import <kind>` runs: one entry per kind, each returning the run summary. */
type Importer = {
  description: string;
  run: (
    c: Container,
    paths: string[],
    o: ImportOptions,
    onProgress: (p: Progress) => void,
  ) => Promise<ImportSummaryLike>;
};

/** The common shape of import summaries printed by this command (VulnImportSummary, and the intel feeds'). */
type ImportSummaryLike = Pick<
  VulnImportSummary,
  'runId' | 'fetched' | 'inserted' | 'updated' | 'failed' | 'failures' | 'elapsedMs'
> & { source: string } & Partial<
    Pick<VulnImportSummary, 'unchanged' | 'recordsPerSecond' | 'label' | 'recordsRefreshed'>
  >;

const vuln =
  (kind: 'cve' | 'nvd' | 'kev' | 'epss' | 'ndjson'): Importer['run'] =>
  (c, paths, o, onProgress) =>
    c.services.vulnImport.import(kind, paths, {
      ...(o.label ? { label: o.label } : {}),
      ...(o.scoreDate ? { scoreDate: o.scoreDate } : {}),
      onProgress,
    });

/** An IntelFeedService import (indicators or ATT&CK) in the shape this command prints. */
const feed =
  (kind: IndicatorImportKind | 'attack'): Importer['run'] =>
  async (c, paths, o, onProgress) => {
    const started = performance.now();
    const progress = (p: FeedImportProgress) =>
      onProgress({
        kind,
        fetched: p.fetched,
        failed: p.failed,
        elapsedMs: performance.now() - started,
      });
    const common = { ...(o.label ? { label: o.label } : {}), onProgress: progress };
    const s =
      kind === 'attack'
        ? await c.services.intelFeed.importAttack(paths, common)
        : await c.services.intelFeed.importIndicators(kind, paths, {
            ...common,
            ...(o.feed ? { feed: o.feed } : {}),
          });
    return {
      ...s,
      failures: s.rejections.map((r) => ({ where: `${r.file}: ${r.location}`, reason: r.reason })),
    };
  };

/** The import kinds: vulnerability data (VulnImportService) and threat intelligence (IntelFeedService). */
const importers: Record<string, Importer> = {
  cve: { description: 'CVE JSON 5 records (files or directories of *.json)', run: vuln('cve') },
  nvd: { description: 'NVD CVE API 2.0 response pages', run: vuln('nvd') },
  kev: { description: 'CISA KEV catalog, JSON or CSV', run: vuln('kev') },
  epss: { description: 'EPSS scores CSV (--score-date when the file has none)', run: vuln('epss') },
  ndjson: { description: "Vigil's merged records (vigil intel export vulns)", run: vuln('ndjson') },
  attack: { description: 'MITRE ATT&CK STIX 2.0 / 2.1 bundles', run: feed('attack') },
  stix: { description: 'STIX 2.1 indicator bundles', run: feed('stix') },
  misp: { description: 'MISP events (JSON)', run: feed('misp') },
  csv: {
    description: `CSV / plain indicator feeds (--feed ${CSV_FEEDS.join('|')}, else detected)`,
    run: feed('csv'),
  },
};

function feedOption(value: string): CsvFeed {
  if (!(CSV_FEEDS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`--feed must be one of ${CSV_FEEDS.join(', ')}.`);
  return value as CsvFeed;
}

interface SearchOptions {
  json?: boolean;
  severity?: VulnSeverity;
  minCvss?: number;
  maxCvss?: number;
  exploited?: boolean;
  vendor?: string;
  publishedFrom?: string;
  publishedTo?: string;
  limit: number;
}

function choiceOption<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidArgumentError(`--${name} must be one of ${choices.join(', ')}.`);
    return value as T;
  };
}

function numberOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`--${name} must be a number from ${min} to ${max}.`);
    return n;
  };
}

function isoDateOption(name: string) {
  return (value: string): string => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value)))
      throw new InvalidArgumentError(`--${name} must be a date YYYY-MM-DD.`);
    return value;
  };
}

export function dateOption(value: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value)))
    throw new InvalidArgumentError('--score-date must be a date YYYY-MM-DD.');
  return value;
}

/** A progress line on stderr, at most once a second: redrawn on a terminal, one line per update otherwise. */
export function progressLine() {
  const tty = process.stderr.isTTY === true;
  let shown = false;
  return {
    update(p: Progress) {
      const rate = Math.round((p.fetched * 1000) / Math.max(1, p.elapsedMs));
      const text = `${p.kind}: ${p.fetched} read, ${p.failed} failed, ${rate}/s`;
      shown = true;
      process.stderr.write(tty ? `\r${text}  ` : `${text}\n`);
    },
    done() {
      if (tty && shown) process.stderr.write('\n');
    },
  };
}

export function registerIntel(program: Command, ctx: CliContext): void {
  const intel = program.command('intel').description('threat and vulnerability intelligence feeds');

  intel
    .command('import')
    .description(
      `import intelligence files (kinds: ${Object.keys(importers).join(', ')}) as one ingestion run`,
    )
    .argument('<kind>', `one of ${Object.keys(importers).join(', ')}`)
    .argument('<path...>', 'files or directories')
    .option('--json', 'print the run summary as one JSON object')
    .option('--label <label>', 'label of the ingestion run, e.g. initial_load')
    .option('--score-date <date>', 'EPSS: score date of files without one (YYYY-MM-DD)', dateOption)
    .option(
      '--feed <feed>',
      `csv: the feed (${CSV_FEEDS.join(', ')}); detected from the file when absent`,
      feedOption,
    )
    .action(async (kind: string, paths: string[], o: ImportOptions) => {
      const importer = importers[kind];
      if (!importer)
        throw new ValidationError(
          `unknown import kind ${kind}: one of ${Object.keys(importers).join(', ')}`,
          [{ path: 'kind', message: `one of ${Object.keys(importers).join(', ')}` }],
        );
      const c = await ctx.container();
      const bar = progressLine();
      let s: ImportSummaryLike;
      try {
        s = await importer.run(c, paths, o, (p) => bar.update(p));
      } finally {
        bar.done();
      }
      if (o.json) return printJson(s);
      println(
        `${s.source}${s.label ? ` (${s.label})` : ''}: ${s.fetched} read, ${s.inserted} inserted, ${s.updated} updated, ${s.unchanged ?? 0} unchanged, ${s.failed} failed in ${(s.elapsedMs / 1000).toFixed(1)} s${s.recordsPerSecond !== undefined ? ` (${s.recordsPerSecond}/s)` : ''}; run ${s.runId}`,
      );
      if (s.recordsRefreshed)
        println(`  ${s.recordsRefreshed} vulnerability records re-merged with a newer EPSS score`);
      for (const f of s.failures) println(`  failed: ${f.where}: ${f.reason}`);
      if (s.failed > s.failures.length) println(`  ... and ${s.failed - s.failures.length} more`);
    });

  const exp = intel.command('export').description("export Vigil's merged intelligence records");
  exp
    .command('vulns')
    .description('every merged vulnerability record as NDJSON (re-import with `intel import ndjson`)')
    .option('--out <file>', 'write to FILE instead of standard output')
    .option('--json', 'with --out: print {"file", "records"} when done')
    .action(async (o: { out?: string; json?: boolean }) => {
      const c = await ctx.container();
      const out = o.out ? createWriteStream(o.out) : process.stdout;
      let records = 0;
      for await (const line of c.services.vulnImport.exportNdjson()) {
        records++;
        if (!out.write(`${line}\n`)) await once(out, 'drain');
      }
      if (o.out) {
        out.end();
        await once(out, 'finish');
        if (o.json) printJson({ file: o.out, records });
        else process.stderr.write(`${records} records written to ${o.out}\n`);
      }
    });

  const v = program.command('vuln').description('merged vulnerability records (CVE, NVD, KEV, EPSS)');

  v.command('show')
    .description('one merged record with the source of each field and its EPSS history')
    .argument('<cve>', 'CVE id, e.g. CVE-2021-44228')
    .option('--json', 'machine-readable output')
    .action(async (cve: string, o: { json?: boolean }) => {
      const c = await ctx.container();
      const { vulnerability: r, epssHistory } = await c.services.vulnerabilities.show(cve);
      if (o.json) {
        const { sourceRecords: _s, ...record } = r;
        return printJson({ ...record, epssHistory });
      }
      const fs = r.fieldSources;
      const field = (label: string, value: unknown, column: string) => {
        if (value === null || value === undefined || (Array.isArray(value) && value.length === 0)) return;
        const text =
          value instanceof Date
            ? value.toISOString()
            : Array.isArray(value)
              ? value.join(', ')
              : String(value);
        println(`${label.padEnd(20)} ${text}${fs[column] ? `  [${fs[column]}]` : ''}`);
      };
      println(`${r.cveId}${r.isRejected ? ' (REJECTED)' : ''}`);
      field('title', r.title, 'title');
      field('severity', r.severity, 'severity');
      field(
        'cvss',
        r.cvssScore === null ? null : `${r.cvssScore} (v${r.cvssVersion}) ${r.cvssVector ?? ''}`,
        'cvss_score',
      );
      field('priority', r.priorityScore, '');
      field('exploited', r.exploitedInTheWild ? 'yes' : null, 'exploited_in_the_wild');
      field('kev added', r.kevDateAdded, 'kev_date_added');
      field('kev due', r.kevDueDate, 'kev_due_date');
      field('kev action', r.kevRequiredAction, 'kev_required_action');
      field('ransomware use', r.kevRansomwareUse, 'kev_ransomware_use');
      field(
        'epss',
        r.epssScore === null ? null : `${r.epssScore} (percentile ${r.epssPercentile}) on ${r.epssDate}`,
        'epss_score',
      );
      field('published', r.publishedAt, 'published_at');
      field('last modified', r.lastModifiedAt, 'last_modified_at');
      field('vendors', r.vendors, 'vendors');
      field('products', r.products, 'products');
      field('cwe', r.cweIds, 'cwe_ids');
      field('sources', r.sources, '');
      field('description', r.description, 'description');
      if (epssHistory.length) {
        println('epss history:');
        printTable(epssHistory, ['scoreDate', 'epss', 'percentile']);
      }
    });

  v.command('search')
    .description('fuzzy search (typos tolerated) over CVE id, title and description, best match first')
    .argument('<query>', 'e.g. log4shell, "apache struts", CVE-2021-44228')
    .option('--json', 'print {"results": [{"cve_id", "title", "score", ...}]}')
    .option(
      '--severity <severity>',
      `one of ${VULN_SEVERITIES.join(', ')}`,
      choiceOption('severity', VULN_SEVERITIES),
    )
    .option('--min-cvss <n>', 'CVSS score at least N (0-10)', numberOption('min-cvss', 0, 10))
    .option('--max-cvss <n>', 'CVSS score at most N (0-10)', numberOption('max-cvss', 0, 10))
    .option('--exploited', 'only vulnerabilities exploited in the wild (KEV)')
    .option('--vendor <vendor>', 'only this vendor (exact, as in `vuln show`)')
    .option(
      '--published-from <date>',
      'published on or after DATE (YYYY-MM-DD)',
      isoDateOption('published-from'),
    )
    .option('--published-to <date>', 'published before DATE (YYYY-MM-DD)', isoDateOption('published-to'))
    .option('--limit <n>', `how many results (1-${VULN_SEARCH_MAX_LIMIT})`, intOption('limit'), 20)
    .action(async (query: string, o: SearchOptions) => {
      const c = await ctx.container();
      const { results } = await c.services.vulnSearch.search({
        q: query,
        limit: o.limit,
        ...(o.severity ? { severity: o.severity } : {}),
        ...(o.minCvss !== undefined ? { minCvss: o.minCvss } : {}),
        ...(o.maxCvss !== undefined ? { maxCvss: o.maxCvss } : {}),
        ...(o.exploited ? { exploited: true } : {}),
        ...(o.vendor ? { vendor: o.vendor } : {}),
        ...(o.publishedFrom ? { publishedFrom: o.publishedFrom } : {}),
        ...(o.publishedTo ? { publishedTo: o.publishedTo } : {}),
      });
      if (o.json)
        return printJson({
          results: results.map((r) => ({
            cve_id: r.cveId,
            title: r.title,
            score: r.score,
            matched_on: r.matchedOn,
            priority_score: r.priorityScore,
            severity: r.severity,
            cvss_score: r.cvssScore,
            exploited: r.exploitedInTheWild,
            epss_score: r.epssScore,
            published_at: r.publishedAt,
            vendors: r.vendors,
          })),
        });
      if (results.length === 0) return println('no match');
      printTable(
        results.map((r) => ({
          cve_id: r.cveId,
          title: r.title && r.title.length > 70 ? `${r.title.slice(0, 69)}…` : r.title,
          similarity: r.score.toFixed(3),
          priority_score: r.priorityScore?.toFixed(3) ?? '',
          severity: r.severity,
        })),
        ['cve_id', 'similarity', 'priority_score', 'severity', 'title'],
      );
    });

  v.command('stats')
    .description(
      "seed 004's queries: counts, exploited, by severity, top by priority and vendors, recent runs",
    )
    .option('--top <n>', 'how many entries in the top lists', intOption('top'), 10)
    .option('--json', 'machine-readable output')
    .action(async (o: { top: number; json?: boolean }) => {
      const c = await ctx.container();
      const s = await c.services.vulnerabilities.stats(o.top);
      if (o.json) return printJson(s);
      println(`${s.total} vulnerabilities, ${s.exploited} exploited in the wild`);
      println('\nby severity:');
      printTable(s.bySeverity, ['severity', 'count']);
      println('\ntop by priority:');
      printTable(s.topByPriority, ['cveId', 'priorityScore', 'cvssScore', 'exploitedInTheWild', 'title']);
      println('\ntop vendors:');
      printTable(s.topVendors, ['vendor', 'count']);
      println('\nrecent ingestion runs:');
      printTable(s.recentRuns, [
        'startedAt',
        'source',
        'label',
        'status',
        'recordsFetched',
        'recordsInserted',
        'recordsUpdated',
        'recordsFailed',
        'durationSeconds',
      ]);
    });
}
