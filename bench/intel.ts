/**
 * `npm run bench:intel`: vulnerability intelligence at scale, measured side by side in one run.
 *
 * Per engine (PostgreSQL, then PGlite):
 *   1. import the shared CVE JSON 5 records, NVD pages and KEV catalog (records/s per kind);
 *   2. grow the table to --records (default 300,000) with the real CVE ids of the shared EPSS file that no
 *      source described, each given a title and description recombined from the real records' text
 *      (vendor, product, weakness; deterministic), upserted in batches (records/s);
 *   3. import the shared EPSS scores (one score per CVE, re-merging the records they score; rows/s);
 *   4. fuzzy search (VulnerabilityRepository.search, no cache): misspelled titles of real KEV records, CVE ids,
 *      partial ids and vendor words, with and without filters: p50 / p95 / p99 latency, and how often the
 *      expected CVE of a misspelled title is in the top 10;
 *   5. the baseline: the same words, correctly spelled, as a sequential ILIKE over title and description
 *      (index scans off): p50 / p95.
 * Then the indicator lookup rate: `bench/intel-lookup.ts` (100,000 values against 1,000,000 indicators).
 *
 * Options: --records N  --pg URL (server to create a scratch database on; default TEST_DATABASE_URL or
 *          postgres://postgres@127.0.0.1:5432/postgres; "none" skips PostgreSQL)  --no-pglite
 *          --rounds N (times each query is run; default 5)  --no-lookup
 *          --keep NAME (PostgreSQL: build into the database NAME, created on the server, and leave it there
 *          with the bench's queries in a table `bench_intel_queries`)  --reuse NAME (PostgreSQL: skip steps
 *          1 to 3 and search the database a `--keep NAME` run left, after applying any pending migration; the
 *          queries are the same, so runs of search variants compare side by side). Drop it with
 *          `dropdb NAME` when done.
 * Targets (issue 6): fuzzy search p95 under 30 ms on PostgreSQL at 300,000 CVEs; lookups >= 200,000 values/s.
 * Needs ../shared/data/vuln beside the project.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import type { VulnerabilityUpsert } from '../src/domain/schemas/vulnerability.schema.ts';
import type { PartialVulnerability } from '../src/intel/vuln/types.ts';
import { Database } from '../src/db/client.ts';
import { Migrator } from '../src/db/migrator.ts';
import { IngestionRunRepository } from '../src/repositories/ingestion-run.repository.ts';
import { VulnerabilityRepository, type Vulnerability } from '../src/repositories/vulnerability.repository.ts';
import { VulnImportService } from '../src/services/vuln-import.service.ts';
import { rng } from './lib/rng.ts';
import { openScratchDb, type ScratchDb } from './lib/scratch-db.ts';

const { values: args } = parseArgs({
  options: {
    records: { type: 'string', default: '300000' },
    pg: { type: 'string' },
    'no-pglite': { type: 'boolean', default: false },
    'no-lookup': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '5' },
    keep: { type: 'string' },
    reuse: { type: 'string' },
  },
});
const N = Number(args.records);
const ROUNDS = Math.max(1, Number(args.rounds));
const PG = args.pg ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const VULN = resolve(import.meta.dirname, '../../shared/data/vuln');
const CVE_DIR = join(VULN, 'cve_json5_vulnrichment');
const NVD_DIR = join(VULN, 'nvd_api_2.0');
const KEV = join(VULN, 'kev/known_exploited_vulnerabilities.json');
/** The NVD CVE API pages (the folder also holds other NVD responses: sources, CPE match, history). */
const NVD_PAGES = ['cves-1999.json', 'cves-2023.json', 'cves-CVE-2023-0001.json'].map((f) =>
  join(NVD_DIR, f),
);
const EPSS = join(VULN, 'epss/epss_scores_combined_from_EMBA.csv');
const EPSS_DATE = '2026-08-16'; // the snapshot's commit date (MANIFEST.md): the file carries no score date
for (const p of [CVE_DIR, NVD_DIR, KEV, EPSS]) {
  if (!existsSync(p)) {
    console.error(`bench:intel needs ${p}`);
    process.exit(2);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => `${n.toFixed(1)} ms`;
const say = (k: string, v: string) => console.log(`  ${k.padEnd(46)} ${v}`);

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** One character dropped from the longest word of 5+ letters (a typo), deterministic. */
function misspell(text: string, rand: () => number): string {
  const words = text.split(/\s+/);
  let at = -1;
  for (let i = 0; i < words.length; i++)
    if (/^[a-z]{5,}$/i.test(words[i]!) && (at < 0 || words[i]!.length > words[at]!.length)) at = i;
  if (at < 0) return text;
  const w = words[at]!;
  const k = 1 + Math.floor(rand() * (w.length - 2));
  words[at] = w.slice(0, k) + w.slice(k + 1);
  return words.join(' ');
}

/** The EPSS file's CVE ids, in file order. */
async function epssIds(): Promise<string[]> {
  const { createReadStream } = await import('node:fs');
  const { createInterface } = await import('node:readline');
  const out: string[] = [];
  for await (const line of createInterface({ input: createReadStream(EPSS) })) {
    const m = /^(CVE-\d{4}-\d{4,}),/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/** Records for CVE ids no source described: text recombined from the real records. */
function synthesize(ids: string[], real: Vulnerability[], rand: () => number): VulnerabilityUpsert[] {
  const withText = real.filter((r) => r.description && r.vendors.length > 0);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const kinds = [
    'Remote Code Execution Vulnerability',
    'SQL Injection',
    'Cross-Site Scripting',
    'Improper Authentication',
    'Buffer Overflow',
    'Path Traversal',
    'Privilege Escalation',
    'Denial of Service',
    'Use-After-Free',
    'Server-Side Request Forgery',
  ];
  const severities = ['low', 'medium', 'high', 'critical'] as const;
  return ids.map((cveId) => {
    const a = pick(withText);
    const b = pick(withText);
    const vendor = pick(a.vendors);
    const product = pick(b.products.length ? b.products : b.vendors);
    const kind = pick(kinds);
    const cvss = Math.round(rand() * 100) / 10;
    const year = Number(cveId.slice(4, 8));
    const title = `${vendor} ${product} ${kind}`;
    const description = `${kind} in ${vendor} ${product}. ${b.description!.slice(0, 400)}`;
    const severity = severities[Math.min(3, Math.floor(cvss / 2.5))]!;
    const publishedAt = new Date(
      Date.UTC(Math.max(1999, Math.min(year, 2026)), Math.floor(rand() * 12), 1 + Math.floor(rand() * 28)),
    );
    // The same facts as a source partial (as an NDJSON import of a flat record keeps them): the EPSS import
    // re-merges every record from its partials, and a record without any would lose its title and text.
    const partial: PartialVulnerability = {
      cveId,
      sources: ['cve'],
      title: { value: title, source: 'cve' },
      description: { value: description, source: 'cve' },
      cvssMetrics: [{ version: '3.1', score: cvss, vector: null, severity, source: 'cve' }],
      affected: [{ vendor, product, source: 'cve' }],
      publishedAt: { value: publishedAt.toISOString(), source: 'cve' },
    };
    return {
      cveId,
      title,
      description,
      cvssScore: cvss,
      severity,
      vendors: [vendor],
      products: [product],
      publishedAt,
      sources: ['cve'],
      sourceRecords: { ndjson: partial },
    };
  });
}

interface Query {
  q: string;
  /** The correctly spelled words (the ILIKE baseline searches them). */
  plain: string;
  expect?: string;
  filters?: Record<string, unknown>;
}

/** Steps 1 to 3 and the queries of step 4 (the queries depend on the real records and the random stream). */
async function build(s: ScratchDb): Promise<Query[]> {
  const vulns = new VulnerabilityRepository(s.db);
  const runs = new IngestionRunRepository(s.db);
  const importer = new VulnImportService(vulns, runs);
  const rand = rng(7);

  // 1. the shared records
  for (const [kind, path] of [
    ['cve', [CVE_DIR]],
    ['nvd', NVD_PAGES],
    ['kev', [KEV]],
  ] as const) {
    const r = await importer.import(kind, [...path]);
    say(
      `import ${kind}`,
      `${fmt(r.fetched)} records in ${(r.elapsedMs / 1000).toFixed(1)} s (${fmt(r.recordsPerSecond)}/s), ${r.failed} failed`,
    );
  }
  const real: Vulnerability[] = [];
  for (let after: string | null = null; ;) {
    const page = await vulns.listAfter(after, 1000);
    if (page.length === 0) break;
    real.push(...page);
    after = page[page.length - 1]!.cveId;
  }

  // 2. grow to N
  const known = new Set(real.map((r) => r.cveId));
  const ids = (await epssIds()).filter((id) => !known.has(id)).slice(0, Math.max(0, N - real.length));
  const t0 = performance.now();
  for (let i = 0; i < ids.length; i += 5000)
    await vulns.upsertMany(synthesize(ids.slice(i, i + 5000), real, rand));
  const secs = (performance.now() - t0) / 1000;
  // As autovacuum would after a bulk load: without statistics the planner takes the table for a small one.
  await s.db.exec('analyze vulnerabilities'); // as the owner (the platform scope may not analyze)
  const total = (await vulns.stats()).total;
  say(
    'grow (synthetic records, upsertMany)',
    `${fmt(ids.length)} in ${secs.toFixed(1)} s (${fmt(ids.length / secs)}/s); table: ${fmt(total)} records`,
  );

  // 3. EPSS
  const e = await importer.import('epss', [EPSS], { scoreDate: EPSS_DATE });
  say(
    'import epss',
    `${fmt(e.fetched)} rows in ${(e.elapsedMs / 1000).toFixed(1)} s (${fmt(e.recordsPerSecond)}/s), ${fmt(e.recordsRefreshed ?? 0)} records re-merged`,
  );
  // The EPSS import rewrote every record: vacuum as autovacuum would (it may be off on a bench server), so the
  // searches do not wade through 300,000 dead row versions still in the indexes.
  await s.db.exec('vacuum analyze vulnerabilities');

  // 4. queries
  const titled = real.filter((r) => r.exploitedInTheWild && r.title && r.title.split(/\s+/).length >= 3);
  const queries: Query[] = [];
  for (let i = 0; i < 24 && titled.length; i++) {
    const r = titled[Math.floor(rand() * titled.length)]!;
    const plain = r
      .title!.replace(/\bvulnerability\b/gi, '')
      .replace(/\s+/g, ' ')
      .trim();
    queries.push({ q: misspell(plain, rand), plain, expect: r.cveId });
  }
  for (const r of real.slice(0, 400).filter((_, i) => i % 50 === 0))
    queries.push({ q: r.cveId, plain: r.cveId, expect: r.cveId });
  queries.push({ q: '44228', plain: '44228' }, { q: 'cve-2021-4422', plain: 'CVE-2021-4422' });
  for (const w of ['microsoft exchange', 'apache struts', 'cisco ios', 'remote code execution', 'fortios'])
    queries.push({ q: w, plain: w });
  const filtered: Query[] = queries.slice(0, 12).map((q, i) => ({
    ...q,
    filters: [
      { exploited: true },
      { severity: 'critical' },
      { minCvss: 7 },
      { publishedFrom: new Date('2015-01-01') },
    ][i % 4]!,
  }));
  return [...queries, ...filtered];
}

async function runEngine(s: ScratchDb, reuse: boolean): Promise<void> {
  console.log(`\n${s.engine}${reuse ? ' (reused database)' : ''}`);
  const vulns = new VulnerabilityRepository(s.db);
  let all: Query[];
  if (reuse) {
    const [row] = await s.db.query<{ doc: Query[] }>('select doc from bench_intel_queries');
    if (!row) throw new Error('no bench_intel_queries in this database: build it with --keep NAME');
    all = row.doc.map((q) =>
      q.filters?.publishedFrom
        ? { ...q, filters: { ...q.filters, publishedFrom: new Date(q.filters.publishedFrom as string) } }
        : q,
    );
    say('table', `${fmt((await vulns.stats()).total)} records`);
  } else {
    all = await build(s);
    if (args.keep) {
      await s.db.exec('create table bench_intel_queries (doc jsonb not null)');
      await s.db.query('insert into bench_intel_queries (doc) values ($1)', [JSON.stringify(all)]);
    }
  }

  const lat: number[] = [];
  let found = 0;
  let expected = 0;
  const misses: string[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const q of all) {
      const t = performance.now();
      const hits = await vulns.search({ q: q.q, limit: 10, ...(q.filters ?? {}) });
      lat.push(performance.now() - t);
      if (round === 0 && q.expect && !q.filters) {
        expected++;
        if (hits.some((h) => h.cveId === q.expect)) found++;
        else misses.push(`${q.q} (${q.expect})`);
      }
    }
  }
  lat.sort((a, b) => a - b);
  say(
    `fuzzy search (${fmt(all.length)} queries x ${ROUNDS})`,
    `p50 ${ms(quantile(lat, 0.5))}, p95 ${ms(quantile(lat, 0.95))}, p99 ${ms(quantile(lat, 0.99))}${s.engine === 'postgres' ? ' (target p95 < 30 ms)' : ''}`,
  );
  say('  expected CVE in the top 10', `${found} of ${expected} (misspelled titles and ids)`);
  for (const m of misses.slice(0, 5)) say('    missed', m);

  // 5. the baseline: sequential ILIKE
  const base: number[] = [];
  const sample = all.filter((q) => !q.filters).slice(0, 20);
  for (const q of sample) {
    const pattern = `%${q.plain.replace(/[\\%_]/g, '\\$&')}%`;
    const t = performance.now();
    await s.db.tx(async (tx) => {
      await tx.execute(
        sql`select set_config('enable_bitmapscan', 'off', true), set_config('enable_indexscan', 'off', true)`,
      );
      await tx.execute(
        sql`select cve_id from vulnerabilities where cve_id ilike ${pattern} or title ilike ${pattern} or description ilike ${pattern}
            order by priority_score desc nulls last limit 10`,
      );
    });
    base.push(performance.now() - t);
  }
  base.sort((a, b) => a - b);
  say(
    `sequential ILIKE baseline (${sample.length} queries)`,
    `p50 ${ms(quantile(base, 0.5))}, p95 ${ms(quantile(base, 0.95))}; fuzzy p50 is ${(quantile(base, 0.5) / quantile(lat, 0.5)).toFixed(1)}x faster`,
  );
}

/** --keep NAME / --reuse NAME: a database left on the server between runs (never dropped by the bench). */
async function openNamedDb(serverUrl: string, name: string, create: boolean): Promise<ScratchDb> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name))
    throw new Error(`--keep/--reuse: ${name} is not a plain database name`);
  if (create) {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(`create database ${name}`);
    } finally {
      await c.end();
    }
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const db = await Database.open({ url: u.toString(), pool: { max: 4 } });
  await new Migrator(db).migrate(); // a reused database gets the migrations added since it was built
  return { db, engine: 'postgres', url: u.toString(), dispose: () => db.close() };
}

async function main() {
  console.log(`vigil bench:intel — ${fmt(N)} vulnerability records`);
  const engines: (() => Promise<ScratchDb>)[] = [];
  const named = args.reuse ?? args.keep;
  if (PG !== 'none')
    engines.push(() => (named ? openNamedDb(PG, named, !args.reuse) : openScratchDb(PG, 'intel')));
  if (!args['no-pglite']) engines.push(() => openScratchDb());
  for (const open of engines) {
    let s: ScratchDb;
    try {
      s = await open();
    } catch (e) {
      console.log(`\npostgres: skipped, cannot create a scratch database on ${PG}: ${(e as Error).message}`);
      continue;
    }
    try {
      await runEngine(s, s.engine === 'postgres' && args.reuse !== undefined);
    } finally {
      await s.dispose();
    }
  }
  if (!args['no-lookup']) {
    console.log('\nindicator lookups (bench/intel-lookup.ts)');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'intel-lookup.ts'), '--baseline', '0'],
      {
        stdio: 'inherit',
      },
    );
    if (r.status !== 0) process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
