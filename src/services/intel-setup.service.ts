/**
 * Seed 004's setup script, as one service: walk a directory of intelligence files, tell what each file is
 * from its content (never from where it sits), and load every kind as one ingestion run, in an order where
 * later kinds enrich earlier ones: CVE records, NVD pages, KEV, EPSS (which re-merges the CVEs it scores),
 * then ATT&CK, then indicator feeds (STIX, MISP, CSV / plain lists).
 *
 * A file that is not a feed this platform reads (a licence, a README, a JSON Schema, an NVD response of
 * another kind, an index) is skipped with its reason, so the summary accounts for every file found. One
 * kind's failed run does not stop the others; its error is in the summary and in its ingestion run.
 * The caller migrates the database first (`vigil intel setup` does).
 */
import { open, readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { ValidationError } from '../domain/errors.ts';
import { detectCsvFeed, type IntelFeedService } from './intel-feed.service.ts';
import type { VulnImportService } from './vuln-import.service.ts';

/** The import kinds, in the order setup loads them. */
export const SETUP_KINDS = ['cve', 'nvd', 'kev', 'epss', 'attack', 'stix', 'misp', 'csv'] as const;
export type SetupKind = (typeof SETUP_KINDS)[number];

export type Classification = { kind: SetupKind; note?: string } | { skip: string };

/** One kind's run in a setup: the ingestion run's counts and its listed failures. */
export interface SetupRunSummary {
  kind: SetupKind;
  /** The ingestion run id; absent when the run could not start. */
  runId?: string;
  /** The ingestion run's source (`cve`, `csv`, ...). */
  source: string;
  status: 'success' | 'failed';
  files: number;
  fetched: number;
  inserted: number;
  updated: number;
  failed: number;
  /** The first failures (every one is counted in `failed` and recorded on the run). */
  failures: { where: string; reason: string }[];
  elapsedMs: number;
  /** Why the run failed as a whole. */
  error?: string;
}

export interface SetupPlan {
  /** Files per kind, in load order; kinds with no file are absent. */
  groups: { kind: SetupKind; files: string[] }[];
  skipped: { file: string; reason: string }[];
}

export interface IntelSetupSummary extends SetupPlan {
  runs: SetupRunSummary[];
  elapsedMs: number;
}

export interface IntelSetupOptions {
  /** Label of every ingestion run of this setup (default `setup`). */
  label?: string;
  /** EPSS: the score date (YYYY-MM-DD) of files that carry none; without it such files are skipped. */
  scoreDate?: string;
  /** Plan only: classify the files, load nothing. */
  dryRun?: boolean;
  onProgress?: (p: { kind: SetupKind; fetched: number; failed: number; elapsedMs: number }) => void;
}

/** Bytes read from a CSV / text file to tell what it is. */
const SNIFF_BYTES = 64 * 1024;
/** JSON files larger than this are not read whole to be classified (the importers' own limit is lower). */
const MAX_JSON_BYTES = 512 * 1024 * 1024;
const TEXT_EXTENSIONS = new Set(['.csv', '.txt', '.netset', '.ipset', '.list']);
const NOT_A_FEED = /^(license|readme|notice|copying|changelog)/i;

/**
 * What an intelligence file is, from its name and text (a JSON file whole, the head of a text file).
 * `hasScoreDate`-style facts that decide whether a file can load are reported as a skip reason.
 */
export function classifyIntelFile(
  file: string,
  text: string,
  opts: { scoreDate?: string } = {},
): Classification {
  const name = basename(file);
  const ext = extname(name).toLowerCase();
  if (NOT_A_FEED.test(name)) return { skip: 'not a feed file (licence or documentation)' };
  if (ext === '.json') return classifyJson(text);
  if (!TEXT_EXTENSIONS.has(ext))
    return {
      skip: `not a feed file (extension ${ext || 'none'}; feeds are .json, .csv, .txt, .netset, .ipset)`,
    };

  const lines = text.split(/\r?\n/, 50);
  const comment = lines.filter((l) => l.startsWith('#')).join('\n');
  const data = lines.filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const first = (data[0] ?? '').trim();
  if (/^"?cveID"?,"?vendorProject"?/i.test(first)) return { kind: 'kev' };
  if (/^cve,epss(,percentile)?\s*$/i.test(first) || /^CVE-\d{4}-\d{4,};[\d.eE-]+;[\d.eE-]+\s*$/.test(first)) {
    if (/score_date\s*:/.test(comment)) return { kind: 'epss' };
    if (opts.scoreDate) return { kind: 'epss', note: `score date ${opts.scoreDate} (given)` };
    return {
      skip: 'EPSS scores without a score date in the file: pass --score-date YYYY-MM-DD to load them',
    };
  }
  const feed = detectCsvFeed(file, text);
  if (feed) return { kind: 'csv', note: feed };
  return { skip: `unrecognised CSV or text feed (first line: ${JSON.stringify(first.slice(0, 80))})` };
}

function classifyJson(text: string): Classification {
  const head = text.slice(0, 4096);
  // Key order is free: a CVE record written with sorted keys has `dataType` after its containers.
  if (/"dataType"\s*:\s*"CVE_RECORD"/.test(text) && /"cveMetadata"\s*:/.test(text)) return { kind: 'cve' };
  const nvd = /"format"\s*:\s*"(NVD_[A-Za-z]+)"/.exec(head);
  if (nvd) {
    if (nvd[1] === 'NVD_CVE') return { kind: 'nvd' };
    return { skip: `an NVD API response of another kind (${nvd[1]}), not a CVE page` };
  }
  if (/^\s*\{\s*"\$schema"\s*:/.test(head) && /"properties"\s*:/.test(text))
    return { skip: 'a JSON Schema, not data' };
  if (/"catalogVersion"\s*:/.test(head) && /"vulnerabilities"\s*:/.test(text)) return { kind: 'kev' };
  const types = new Set<string>();
  for (const m of text.matchAll(/"type"\s*:\s*"(attack-pattern|indicator|bundle|x-mitre-[a-z-]+)"/g))
    types.add(m[1]!);
  if (types.has('attack-pattern') && /"(x_mitre_[a-z_]+|mitre-attack)"/.test(text)) return { kind: 'attack' };
  if (types.has('indicator')) return { kind: 'stix' };
  if (types.has('bundle')) return { skip: 'a STIX bundle with neither indicators nor ATT&CK techniques' };
  if (/"Event"\s*:\s*\{/.test(text)) return { kind: 'misp' };
  return {
    skip: 'unrecognised JSON (not a CVE record, NVD CVE page, KEV catalog, STIX bundle or MISP event)',
  };
}

async function readHead(file: string, bytes: number): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (p: string): Promise<void> => {
    const st = await stat(p);
    if (st.isDirectory()) {
      for (const n of (await readdir(p)).sort()) if (!n.startsWith('.')) await visit(join(p, n));
    } else if (st.isFile()) out.push(p);
  };
  await visit(dir);
  return out;
}

export class IntelSetupService {
  constructor(private readonly deps: { vulnImport: VulnImportService; intelFeed: IntelFeedService }) {}

  /** Classify every file under `dirs`: what loads, as which kind, and what is skipped and why. */
  async plan(dirs: readonly string[], opts: { scoreDate?: string } = {}): Promise<SetupPlan> {
    if (dirs.length === 0)
      throw new ValidationError('no directory given', [{ path: 'dir', message: 'required' }]);
    if (opts.scoreDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(opts.scoreDate))
      throw new ValidationError(`invalid score date ${JSON.stringify(opts.scoreDate)}`, [
        { path: 'scoreDate', message: 'expected YYYY-MM-DD' },
      ]);
    const files: string[] = [];
    for (const d of dirs) {
      const exists = await stat(d).then(
        () => true,
        () => false,
      );
      if (!exists)
        throw new ValidationError(`no such file or directory: ${d}`, [{ path: 'dir', message: d }]);
      files.push(...(await listTree(d)));
    }
    const byKind = new Map<SetupKind, string[]>();
    const skipped: SetupPlan['skipped'] = [];
    for (const file of files) {
      const ext = extname(file).toLowerCase();
      let c: Classification;
      if (ext === '.json') {
        const size = (await stat(file)).size;
        c =
          size > MAX_JSON_BYTES
            ? { skip: `JSON file over ${MAX_JSON_BYTES / 1024 / 1024} MiB` }
            : classifyIntelFile(file, await readHead(file, size), opts);
      } else {
        c = classifyIntelFile(file, TEXT_EXTENSIONS.has(ext) ? await readHead(file, SNIFF_BYTES) : '', opts);
      }
      if ('skip' in c) skipped.push({ file, reason: c.skip });
      else byKind.set(c.kind, [...(byKind.get(c.kind) ?? []), file]);
    }
    return {
      groups: SETUP_KINDS.filter((k) => byKind.has(k)).map((kind) => ({ kind, files: byKind.get(kind)! })),
      skipped,
    };
  }

  /** Plan, then load each kind as one ingestion run (unless `dryRun`). */
  async run(dirs: readonly string[], opts: IntelSetupOptions = {}): Promise<IntelSetupSummary> {
    const started = performance.now();
    const plan = await this.plan(dirs, opts.scoreDate ? { scoreDate: opts.scoreDate } : {});
    const runs: SetupRunSummary[] = [];
    if (!opts.dryRun) {
      for (const g of plan.groups) runs.push(await this.#load(g.kind, g.files, opts));
    }
    return { ...plan, runs, elapsedMs: Math.round(performance.now() - started) };
  }

  async #load(kind: SetupKind, files: string[], opts: IntelSetupOptions): Promise<SetupRunSummary> {
    const started = performance.now();
    const label = opts.label ?? 'setup';
    const report = (fetched: number, failed: number) =>
      opts.onProgress?.({ kind, fetched, failed, elapsedMs: performance.now() - started });
    try {
      if (kind === 'cve' || kind === 'nvd' || kind === 'kev' || kind === 'epss') {
        const s = await this.deps.vulnImport.import(kind, files, {
          label,
          ...(opts.scoreDate ? { scoreDate: opts.scoreDate } : {}),
          onProgress: (p) => report(p.fetched, p.failed),
        });
        return {
          kind,
          runId: s.runId,
          source: s.source,
          status: s.status,
          files: s.files,
          fetched: s.fetched,
          inserted: s.inserted,
          updated: s.updated,
          failed: s.failed,
          failures: s.failures,
          elapsedMs: s.elapsedMs,
        };
      }
      const common = {
        label,
        onProgress: (p: { fetched: number; failed: number }) => report(p.fetched, p.failed),
      };
      const s =
        kind === 'attack'
          ? await this.deps.intelFeed.importAttack(files, common)
          : await this.deps.intelFeed.importIndicators(kind, files, common);
      return {
        kind,
        runId: s.runId,
        source: s.source,
        status: 'success',
        files: s.files,
        fetched: s.fetched,
        inserted: s.inserted,
        updated: s.updated,
        failed: s.failed,
        failures: s.rejections.map((r) => ({ where: `${r.file}: ${r.location}`, reason: r.reason })),
        elapsedMs: s.elapsedMs,
      };
    } catch (e) {
      // The import recorded its own failed ingestion run; this kind fails alone.
      return {
        kind,
        source: kind,
        status: 'failed',
        files: files.length,
        fetched: 0,
        inserted: 0,
        updated: 0,
        failed: 0,
        failures: [],
        elapsedMs: Math.round(performance.now() - started),
        error: (e as Error)?.message ?? String(e),
      };
    }
  }
}
