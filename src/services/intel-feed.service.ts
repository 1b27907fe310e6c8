/**
 * Indicator feeds and MITRE ATT&CK import, and the batch indicator matcher of the detection engine.
 *
 *   new IntelFeedService(
 *     repos: { indicators: IndicatorRepository; techniques: TechniqueRepository; runs: IngestionRunRepository },
 *     opts?: { matcherTtlMs?: number; now?: () => Date },
 *   )
 *
 *   importIndicators(kind: 'stix' | 'misp' | 'csv', paths: string[], opts?: IndicatorImportOptions)
 *     -> Promise<ImportSummary>
 *   importAttack(paths: string[], opts?: { label?: string; onProgress? }) -> Promise<ImportSummary>
 *   matchIndicators(tenantId: string, values: readonly string[]) -> Promise<Map<string, readonly IndicatorHit[]>>
 *   invalidateMatcher(tenantId?: string | null): void
 *
 * Imports. Files are read whole (the shared feeds are at most a few MB; ATT&CK enterprise is 37 MB of JSON,
 * which JSON.parse holds comfortably); directories are walked in name order (so dated snapshots load oldest
 * first), skipping LICENSE and README files. Every import is one ingestion run (kind `intel`): opened
 * `running`, closed `success` with its counters, or `failed` with the error text when the import could not
 * go on (unreadable path, unknown CSV feed, database error). A malformed record fails alone: it is a
 * rejection with its file, location and reason, and the run still succeeds. Accounting per run:
 * `fetched = inserted + updated + failed + duplicates` (parser duplicates within a file, and identities
 * repeated within one upsert batch).
 *
 * Feed data is global (tenant_id null): the feeds are not any tenant's data. Sources: CSV feeds use the
 * parser's name (`urlhaus`, `feodotracker`, `sslbl`, `malwarebazaar`, `threatfox`, the FireHOL list name
 * such as `firehol_level1`, `iplist:<file stem>`), MISP `misp:event-<uuid>`, STIX `stix:<file stem>`.
 *
 * Snapshot semantics (chosen): the feeds that publish their complete current list (Feodo, SSLBL, ThreatFox
 * IPs, FireHOL netsets, plain IP lists) are snapshots. After each such file loads, the active indicators of
 * that same source which the file no longer lists are marked `inactive` (with `metadata.delisted_at`); they
 * are kept, not deleted, so history and sightings survive, and a later snapshot listing them again makes
 * them active again (the upsert writes the feed's status). URLhaus "recent" and MalwareBazaar dumps are
 * windows, not snapshots, as are STIX bundles and MISP events: nothing is delisted for them.
 * `opts.snapshot` overrides the default per import.
 *
 * Matching. `matchIndicators` answers from in-memory indexes (src/intel/ioc/indicator-index.ts) of the live
 * indicators (status active, not past expiry; expiry is re-checked at match time): exact values in one hash
 * map, IPv4 networks in one map per prefix length present (with a bitset in front of the large ones), IPv6
 * networks likewise, each value parsed once without allocating. The global index is shared by every tenant,
 * each tenant's own indicators have a small index of their own. Indexes are loaded through the repository
 * in keyset pages and dropped after `matcherTtlMs` (default 60 s), after an import of this service (the
 * global one), or through `invalidateMatcher`, which IndicatorService calls after each write of a tenant's
 * indicators; the TTL stays as the safety net for writes of other processes. Why not a query per batch: the
 * detection engine looks up tens of thousands of values per pass, and the repository's `lookup` (an index
 * probe per value plus a containment test against every network) is far below the 200,000 values/s target
 * (see bench/intel-lookup.ts and docs/intel.md, "Matching").
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { IndicatorCreate } from '../domain/schemas/indicator.schema.ts';
import type { TechniqueUpsert } from '../domain/schemas/technique.schema.ts';
import { ValidationError } from '../domain/errors.ts';
import { parseAttackBundle, type TechniqueRecord } from '../intel/attack/stix.ts';
import {
  parseFeodoCsv,
  parseFireholNetset,
  parseIpList,
  parseMalwareBazaarCsv,
  parseMispEvent,
  parseSslblCsv,
  parseStixIndicators,
  parseThreatfoxIps,
  parseUrlhausCsv,
  type FeedResult,
  type IndicatorRecord,
} from '../intel/ioc/feeds.ts';
import {
  combineHits,
  IndicatorIndex,
  MatchQuery,
  type IndicatorHit,
  type IndicatorHits,
} from '../intel/ioc/indicator-index.ts';
import type { IndicatorRepository } from '../repositories/indicator.repository.ts';
import type { IngestionRunRepository } from '../repositories/ingestion-run.repository.ts';
import type { TechniqueRepository } from '../repositories/technique.repository.ts';

export const CSV_FEEDS = [
  'urlhaus',
  'feodo',
  'sslbl',
  'malwarebazaar',
  'threatfox',
  'firehol',
  'iplist',
] as const;
export type CsvFeed = (typeof CSV_FEEDS)[number];
export type IndicatorImportKind = 'stix' | 'misp' | 'csv';

/** Feeds that publish their whole current list: what a file no longer lists is delisted. */
const SNAPSHOT_FEEDS = new Set<CsvFeed>(['feodo', 'sslbl', 'threatfox', 'firehol', 'iplist']);

/** At most this many rejections are listed in a summary (all are counted, by reason, in the run details). */
export const MAX_LISTED_REJECTIONS = 200;
/** Records per upsert call. */
const UPSERT_BATCH = 5000;

export interface ImportRejection {
  file: string;
  /** `line 12`, a STIX / MISP object id, `record 3`, or `file`. */
  location: string;
  reason: string;
}

export interface ImportProgress {
  file: string;
  /** Files done so far, and in all. */
  filesDone: number;
  files: number;
  fetched: number;
  inserted: number;
  updated: number;
  failed: number;
}

export interface IndicatorImportOptions {
  /** CSV only: which feed the files are; detected from the file name or its banner when absent. */
  feed?: CsvFeed;
  /** Ingestion run label, e.g. `initial_load`. */
  label?: string;
  /** Reference time for STIX `valid_until` expiry; default now. */
  asOf?: Date;
  /** Delist what a file of a snapshot feed no longer lists (default: true for snapshot feeds only). */
  snapshot?: boolean;
  onProgress?: (p: ImportProgress) => void;
}

export interface ImportSummary {
  runId: string;
  /** The ingestion run's source (`stix`, `misp`, `csv`, `csv:<feed>`, `attack`). */
  source: string;
  files: number;
  fetched: number;
  inserted: number;
  updated: number;
  failed: number;
  duplicates: number;
  /** Indicators marked inactive because a snapshot feed no longer lists them. */
  delisted: number;
  /** The first MAX_LISTED_REJECTIONS rejections. */
  rejections: ImportRejection[];
  /** Every rejection, counted by reason. */
  rejectionsByReason: Record<string, number>;
  /** Per source written: records loaded. */
  sources: Record<string, number>;
  elapsedMs: number;
}

/** A live indicator matching a looked-up value. */
export type { IndicatorHit };

export interface IntelFeedRepos {
  indicators: IndicatorRepository;
  techniques: TechniqueRepository;
  runs: IngestionRunRepository;
}

// ------------------------------------------------------------------------------------------ files

const SKIP_FILE = /^(license|readme|notice|copying)/i;
const EXTENSIONS: Record<IndicatorImportKind | 'attack', Set<string>> = {
  stix: new Set(['.json']),
  misp: new Set(['.json']),
  attack: new Set(['.json']),
  csv: new Set(['.csv', '.txt', '.netset', '.ipset', '.list', '']),
};

async function walk(paths: readonly string[], exts: Set<string>): Promise<string[]> {
  if (paths.length === 0) throw new ValidationError('no file or directory given');
  const out: string[] = [];
  const visit = async (p: string, explicit: boolean): Promise<void> => {
    let st;
    try {
      st = await stat(p);
    } catch {
      throw new ValidationError(`no such file or directory: ${p}`, [{ path: 'paths', message: p }]);
    }
    if (st.isDirectory()) {
      const names = (await readdir(p)).sort();
      for (const n of names) if (!n.startsWith('.')) await visit(join(p, n), false);
    } else if (explicit || (!SKIP_FILE.test(basename(p)) && exts.has(extname(p).toLowerCase()))) {
      out.push(p);
    }
  };
  for (const p of paths) await visit(p, true);
  return out;
}

/** The CSV feed a file is, from its name, else from its banner and header lines. */
export function detectCsvFeed(file: string, text: string): CsvFeed | undefined {
  const name = basename(file).toLowerCase();
  if (name.includes('urlhaus')) return 'urlhaus';
  if (name.includes('feodo')) return 'feodo';
  if (name.includes('sslbl') || name.includes('sslblacklist')) return 'sslbl';
  if (name.includes('malwarebazaar') || name.includes('bazaar')) return 'malwarebazaar';
  if (name.includes('threatfox')) return 'threatfox';
  if (name.includes('firehol') || name.endsWith('.netset') || name.endsWith('.ipset')) return 'firehol';
  const head = text.slice(0, 4000);
  if (/urlhaus|\burl_status\b/i.test(head)) return 'urlhaus';
  if (/feodo tracker|"?dst_ip"?\s*,/i.test(head)) return 'feodo';
  if (/\bSSLBL\b|listingreason/i.test(head)) return 'sslbl';
  if (/malwarebazaar|sha256_hash/i.test(head)) return 'malwarebazaar';
  if (/threatfox/i.test(head)) return 'threatfox';
  if (/firehol|hash:net ipset/i.test(head)) return 'firehol';
  return undefined;
}

function parseCsvFeed(feed: CsvFeed, file: string, text: string): FeedResult {
  switch (feed) {
    case 'urlhaus':
      return parseUrlhausCsv(text);
    case 'feodo':
      return parseFeodoCsv(text);
    case 'sslbl':
      return parseSslblCsv(text);
    case 'malwarebazaar':
      return parseMalwareBazaarCsv(text);
    case 'threatfox':
      return parseThreatfoxIps(text);
    case 'firehol':
      return parseFireholNetset(text);
    case 'iplist':
      return parseIpList(text, `iplist:${stem(file)}`);
  }
}

const stem = (file: string) => basename(file, extname(file));

function toCreate(r: IndicatorRecord): IndicatorCreate {
  const metadata = r.reference ? { ...r.metadata, reference: r.reference } : r.metadata;
  return {
    type: r.type,
    value: r.value,
    source: r.source,
    status: r.status,
    confidence: r.confidence ?? null,
    threatType: r.threatType ? r.threatType.slice(0, 64) : null,
    description: r.description ? r.description.slice(0, 10_000) : null,
    tags: r.tags,
    metadata,
    firstSeen: r.firstSeen ?? null,
    lastSeen: r.lastSeen ?? null,
    expiresAt: r.expiresAt ?? null,
  };
}

function toTechnique(t: TechniqueRecord): TechniqueUpsert {
  return {
    techniqueId: t.techniqueId,
    stixId: t.stixId,
    name: t.name,
    description: t.description ?? null,
    tactics: t.tactics,
    platforms: t.platforms,
    dataSources: t.dataSources,
    url: t.url ?? null,
    revoked: t.revoked,
    deprecated: t.deprecated,
    version: t.version ?? null,
    modifiedAt: t.modifiedAt ?? null,
  };
}

/** Of two records with one ATT&CK id, the one to keep: current over revoked/deprecated, then the newer. */
function better(a: TechniqueRecord, b: TechniqueRecord): TechniqueRecord {
  const live = (t: TechniqueRecord) => (t.revoked || t.deprecated ? 0 : 1);
  if (live(a) !== live(b)) return live(a) > live(b) ? a : b;
  return (b.modifiedAt?.getTime() ?? 0) >= (a.modifiedAt?.getTime() ?? 0) ? b : a;
}

/** Summary bookkeeping shared by both imports. */
class Tally {
  fetched = 0;
  inserted = 0;
  updated = 0;
  failed = 0;
  duplicates = 0;
  delisted = 0;
  readonly rejections: ImportRejection[] = [];
  readonly byReason: Record<string, number> = {};
  readonly sources: Record<string, number> = {};

  reject(file: string, location: string, reason: string): void {
    this.failed += 1;
    // Count by the reason's general form: values quoted in it would make every reason unique.
    const key = reason.replace(/"[^"]*"|'[^']*'/g, '…').slice(0, 200);
    this.byReason[key] = (this.byReason[key] ?? 0) + 1;
    if (this.rejections.length < MAX_LISTED_REJECTIONS) this.rejections.push({ file, location, reason });
  }
}

const progress = (file: string, filesDone: number, files: number, t: Tally): ImportProgress => ({
  file,
  filesDone,
  files,
  fetched: t.fetched,
  inserted: t.inserted,
  updated: t.updated,
  failed: t.failed,
});

// ------------------------------------------------------------------------------------------ matcher

/**
 * Match each value against the indexes (global, then the tenant's own): the map holds the values (as given)
 * that matched at least one unexpired indicator. One parse per distinct value, no promise per value.
 */
export function matchAll(
  indexes: readonly IndicatorIndex[],
  values: readonly string[],
  nowMs: number,
): Map<string, IndicatorHits> {
  const out = new Map<string, IndicatorHits>();
  const q = new MatchQuery();
  const parts: IndicatorHits[] = [];
  let last: string | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === last) continue; // a value repeated later is matched again: same answer, no probe of `out`
    last = v;
    q.set(v);
    parts.length = 0;
    for (let k = 0; k < indexes.length; k++) indexes[k]!.collect(q, parts);
    if (parts.length === 0) continue;
    const hits = combineHits(parts, nowMs);
    if (hits !== undefined) out.set(v, hits);
  }
  return out;
}

interface CachedIndex {
  loadedAt: number;
  index: Promise<IndicatorIndex>;
}

/** Rows per page when loading a matcher index. */
const LOAD_PAGE = 50_000;

// ------------------------------------------------------------------------------------------ service

export class IntelFeedService {
  readonly #ttlMs: number;
  readonly #now: () => Date;
  #global: CachedIndex | undefined;
  readonly #own = new Map<string, CachedIndex>();

  constructor(
    private readonly repos: IntelFeedRepos,
    opts: { matcherTtlMs?: number; now?: () => Date } = {},
  ) {
    this.#ttlMs = opts.matcherTtlMs ?? 60_000;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Import indicator files (STIX bundles, MISP events or CSV/plain feeds) as one ingestion run. */
  async importIndicators(
    kind: IndicatorImportKind,
    paths: string[],
    opts: IndicatorImportOptions = {},
  ): Promise<ImportSummary> {
    if (!['stix', 'misp', 'csv'].includes(kind)) {
      throw new ValidationError(
        `unknown indicator import kind "${String(kind)}": expected stix, misp or csv`,
      );
    }
    if (opts.feed !== undefined && !CSV_FEEDS.includes(opts.feed)) {
      throw new ValidationError(
        `unknown feed "${String(opts.feed)}": expected one of ${CSV_FEEDS.join(', ')}`,
      );
    }
    const source = kind === 'csv' && opts.feed ? `csv:${opts.feed}` : kind;
    const started = performance.now();
    const run = await this.repos.runs.start({ source, kind: 'intel', label: opts.label ?? null });
    const t = new Tally();
    try {
      const files = await walk(paths, EXTENSIONS[kind]);
      let filesDone = 0;
      for (const file of files) {
        const text = await readFile(file, 'utf8');
        let parsed: FeedResult;
        let snapshot = false;
        if (kind === 'csv') {
          const feed = opts.feed ?? detectCsvFeed(file, text);
          if (!feed) {
            throw new ValidationError(
              `cannot tell which feed ${file} is: name it with feed (one of ${CSV_FEEDS.join(', ')})`,
              [{ path: 'feed', message: `one of ${CSV_FEEDS.join(', ')}` }],
            );
          }
          parsed = parseCsvFeed(feed, file, text);
          snapshot = opts.snapshot ?? SNAPSHOT_FEEDS.has(feed);
        } else if (kind === 'misp') {
          parsed = parseMispEvent(text);
          snapshot = opts.snapshot ?? false;
        } else {
          parsed = parseStixIndicators(text, {
            source: `stix:${stem(file)}`,
            asOf: opts.asOf ?? this.#now(),
          });
          snapshot = opts.snapshot ?? false;
        }
        await this.#load(file, parsed, snapshot, t);
        filesDone += 1;
        opts.onProgress?.(progress(file, filesDone, files.length, t));
      }
      return await this.#finish(run.id, source, files.length, t, started);
    } catch (e) {
      await this.#fail(run.id, t, e);
      throw e;
    } finally {
      // Feed data is global; a failed import may have written some batches too.
      this.invalidateMatcher(null);
    }
  }

  /** Import MITRE ATT&CK bundles (STIX 2.0 or 2.1): techniques and sub-techniques, upserted by id. */
  async importAttack(
    paths: string[],
    opts: { label?: string; onProgress?: (p: ImportProgress) => void } = {},
  ): Promise<ImportSummary> {
    const started = performance.now();
    const run = await this.repos.runs.start({ source: 'attack', kind: 'intel', label: opts.label ?? null });
    const t = new Tally();
    try {
      const files = await walk(paths, EXTENSIONS.attack);
      // One record per ATT&CK id over all files (a technique can appear in several bundles, or revoked
      // beside its current form): current beats revoked/deprecated, then the newer wins.
      const byId = new Map<string, { rec: TechniqueRecord; file: string }>();
      let filesDone = 0;
      for (const file of files) {
        const parsed = parseAttackBundle(await readFile(file, 'utf8'));
        // A file that is no bundle at all is one rejection, counted as read too so fetched adds up.
        t.fetched += Math.max(parsed.read, parsed.techniques.length + parsed.rejections.length);
        for (const r of parsed.rejections) t.reject(file, r.stixId, r.reason);
        for (const rec of parsed.techniques) {
          const prev = byId.get(rec.techniqueId);
          if (prev) {
            t.duplicates += 1;
            if (better(prev.rec, rec) === prev.rec) continue;
          }
          byId.set(rec.techniqueId, { rec, file });
        }
        filesDone += 1;
        opts.onProgress?.(progress(file, filesDone, files.length, t));
      }
      const list = [...byId.values()];
      const res = await this.repos.techniques.upsertMany(list.map((x) => toTechnique(x.rec)));
      t.inserted += res.inserted;
      t.updated += res.updated;
      for (const e of res.errors) t.reject(list[e.index]!.file, list[e.index]!.rec.techniqueId, e.message);
      t.sources.attack = res.inserted + res.updated;
      return await this.#finish(run.id, 'attack', files.length, t, started);
    } catch (e) {
      await this.#fail(run.id, t, e);
      throw e;
    }
  }

  /**
   * Which live indicators (global feed data and the tenant's own) match each value: equal values (IPs in
   * canonical form, case-insensitive types case-insensitively) and networks containing an IP value (IPv4
   * and IPv6). The map holds the values (as given) that matched at least one indicator.
   */
  async matchIndicators(
    tenantId: string,
    values: readonly string[],
  ): Promise<Map<string, readonly IndicatorHit[]>> {
    const [global, own] = await Promise.all([this.#index(null), this.#index(tenantId)]);
    return matchAll([global, own], values, this.#now().getTime());
  }

  /**
   * Drop cached matcher indexes so the next match reloads them: one tenant's own (`tenantId`), the global
   * one (`null`), or all (no argument). IndicatorService calls it after each write of a tenant's indicator,
   * the imports after they wrote global ones; the TTL covers writes of other processes.
   */
  invalidateMatcher(tenantId?: string | null): void {
    if (tenantId === undefined) {
      this.#global = undefined;
      this.#own.clear();
    } else if (tenantId === null) this.#global = undefined;
    else this.#own.delete(tenantId);
  }

  async #index(tenantId: string | null): Promise<IndicatorIndex> {
    const nowMs = Date.now();
    const cached = tenantId === null ? this.#global : this.#own.get(tenantId);
    if (cached && nowMs - cached.loadedAt < this.#ttlMs) return cached.index;
    const entry: CachedIndex = { loadedAt: nowMs, index: this.#load_index(tenantId) };
    if (tenantId === null) this.#global = entry;
    else this.#own.set(tenantId, entry);
    entry.index.catch(() => {
      // Drop the failed load (only if it is still the cached one), so the next match retries.
      if (tenantId === null ? this.#global === entry : this.#own.get(tenantId) === entry)
        this.invalidateMatcher(tenantId);
    });
    return entry.index;
  }

  async #load_index(tenantId: string | null): Promise<IndicatorIndex> {
    const index = new IndicatorIndex();
    let after: string | undefined;
    for (;;) {
      const page = await this.repos.indicators.listLivePage(tenantId, after, LOAD_PAGE);
      for (const row of page) index.add(row); // the row itself: no copy per indicator
      if (page.length < LOAD_PAGE) break;
      after = page[page.length - 1]!.id;
    }
    return index.seal();
  }

  async #load(file: string, parsed: FeedResult, snapshot: boolean, t: Tally): Promise<void> {
    t.fetched += parsed.read;
    t.duplicates += parsed.duplicates;
    for (const r of parsed.rejections) t.reject(file, r.location, r.reason);
    const records = parsed.records;
    for (let i = 0; i < records.length; i += UPSERT_BATCH) {
      const batch = records.slice(i, i + UPSERT_BATCH);
      const res = await this.repos.indicators.upsertGlobal(batch.map(toCreate));
      t.inserted += res.inserted;
      t.updated += res.updated;
      t.duplicates += res.duplicates;
      for (const e of res.errors) {
        const rec = batch[e.index]!;
        const detail = e.issues.map((x) => `${x.path}: ${x.message}`).join('; ');
        t.reject(
          file,
          `record ${i + e.index + 1} (${rec.type} ${rec.value.slice(0, 100)})`,
          detail || e.message,
        );
      }
    }
    const bySource = new Map<string, { type: string; value: string }[]>();
    for (const r of records) {
      const list = bySource.get(r.source);
      if (list) list.push({ type: r.type, value: r.value });
      else bySource.set(r.source, [{ type: r.type, value: r.value }]);
    }
    for (const [src, keep] of bySource) t.sources[src] = (t.sources[src] ?? 0) + keep.length;
    // A snapshot that rejected everything (or an empty file) says nothing about what was delisted.
    if (snapshot && records.length > 0) {
      for (const [src, keep] of bySource)
        t.delisted += await this.repos.indicators.deactivateMissing(src, keep);
    }
  }

  async #finish(
    runId: string,
    source: string,
    files: number,
    t: Tally,
    started: number,
  ): Promise<ImportSummary> {
    await this.repos.runs.finish(runId, {
      status: 'success',
      recordsFetched: t.fetched,
      recordsInserted: t.inserted,
      recordsUpdated: t.updated,
      recordsFailed: t.failed,
      recordsDuplicate: t.duplicates,
      details: {
        files,
        delisted: t.delisted,
        sources: t.sources,
        rejections_by_reason: t.byReason,
        rejections_sample: t.rejections.slice(0, 20),
      },
    });
    return {
      runId,
      source,
      files,
      fetched: t.fetched,
      inserted: t.inserted,
      updated: t.updated,
      failed: t.failed,
      duplicates: t.duplicates,
      delisted: t.delisted,
      rejections: t.rejections,
      rejectionsByReason: t.byReason,
      sources: t.sources,
      elapsedMs: Math.round(performance.now() - started),
    };
  }

  async #fail(runId: string, t: Tally, e: unknown): Promise<void> {
    try {
      await this.repos.runs.finish(runId, {
        status: 'failed',
        recordsFetched: t.fetched,
        recordsInserted: t.inserted,
        recordsUpdated: t.updated,
        recordsFailed: t.failed,
        recordsDuplicate: t.duplicates,
        errorMessage: e instanceof Error ? e.message : String(e),
        details: { rejections_by_reason: t.byReason },
      });
    } catch {
      // The original error matters more than the bookkeeping one.
    }
  }
}
