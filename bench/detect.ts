/**
 * `npm run bench:detect`: scheduled detection's figures on DuckDB, measured side by side in one run.
 *
 *   1. read the real Windows events (OTRF security datasets, flat; SigmaHQ regression data, nested) and cycle
 *      them into N events with fresh ids and increasing timestamps, appended to a DuckDB store in batches;
 *   2. load the SigmaHQ rules whose logsource is product windows (the built-in pipeline maps them);
 *   3. time ONE store.detect() of every rule over every event (the scheduler's call): events/s, hits, errors;
 *   4. the baseline: one plain scan of the same events that reads one JSON field of each (ratio to detect);
 *   5. peak RSS while detecting.
 *
 * Options: --events N (default 1,000,000)  --batch N (events per append; default 20,000)
 *          --runs N (detect runs, the best is reported; default 1)  --threads N (DuckDB threads; default cores)
 *          --db FILE (keep the store there; a file that already holds >= N events is reused as is)
 * Needs ../shared/data/sigma_logs and ../shared/data/detection_rules/sigma beside the project.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import duckdb from '@duckdb/node-api';
import { uuidv7 } from '../src/domain/ids.ts';
import type { LogEventInput } from '../src/domain/log-event.ts';
import type { DetectionRuleInput } from '../src/logstore/detect.ts';
import { DuckDbLogStore } from '../src/logstore/duckdb/duckdb-log-store.ts';
import { readEvents, SigmaService } from '../src/services/sigma.service.ts';
import { withPeakRss } from './lib/rss.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '1' },
    threads: { type: 'string' },
    db: { type: 'string' },
  },
});
const N = Number(args.events);
const BATCH = Number(args.batch);
const RUNS = Math.max(1, Number(args.runs));
const THREADS = args.threads === undefined ? undefined : Number(args.threads);

const SHARED = resolve(import.meta.dirname, '../../shared/data');
const OTRF = join(SHARED, 'sigma_logs/otrf_security_datasets');
const REGRESSION = join(SHARED, 'sigma_logs/sigmahq_regression_data');
const RULES = join(SHARED, 'detection_rules/sigma');
for (const p of [OTRF, REGRESSION, RULES]) {
  if (!existsSync(p)) {
    console.error(`bench:detect needs ${p}`);
    process.exit(2);
  }
}

const TENANT = '00000000-0000-4000-8000-00000000be7c';
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-detect-'));
const dbPath = args.db ? resolve(args.db) : join(dir, 'logs.duckdb');
const say = (k: string, v: string) => console.log(`${k.padEnd(44)} ${v}`);

/** Every *.json file under `root`, sorted. */
function jsonFiles(root: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...jsonFiles(p));
    else if (e.name.endsWith('.json')) out.push(p);
  }
  return out;
}

/** The real Windows events of the shared data sets, parsed as ingest parses them. */
async function windowsEvents(): Promise<{ events: LogEventInput[]; files: number }> {
  const events: LogEventInput[] = [];
  const files = [...jsonFiles(OTRF), ...jsonFiles(REGRESSION)];
  for (const f of files) {
    for await (const b of readEvents(f, TENANT, { format: 'auto', timezone: 'UTC' })) {
      for (const e of b.events) if (e.sourceType === 'windows_event') events.push(e);
    }
  }
  return { events, files: files.length };
}

async function build(store: DuckDbLogStore): Promise<number> {
  const have = await store.maxSeq(TENANT);
  if (have >= N) {
    say('events', `${fmt(have)} already in ${dbPath} (reused)`);
    return have;
  }
  if (have > 0) throw new Error(`${dbPath} holds ${have} events, fewer than ${N}: remove it first`);
  const { events: real, files } = await windowsEvents();
  if (real.length === 0) throw new Error('no Windows events in the shared data');
  const t0 = performance.now();
  const base = Date.UTC(2024, 0, 1);
  for (let done = 0; done < N;) {
    const n = Math.min(BATCH, N - done);
    const batch: LogEventInput[] = new Array<LogEventInput>(n);
    for (let i = 0; i < n; i++) {
      const k = done + i;
      const ms = base + k * 10;
      batch[i] = { ...real[k % real.length]!, id: uuidv7(ms), timestamp: new Date(ms) };
    }
    await store.append({ tenantId: TENANT, events: batch, quarantine: [] });
    done += n;
  }
  const ms = performance.now() - t0;
  say(
    'events built (not measured)',
    `${fmt(N)} from ${fmt(real.length)} real Windows events of ${files} files, appended in ${secs(ms)} (${fmt((N * 1000) / ms)} events/s)`,
  );
  return store.maxSeq(TENANT);
}

/** One plain scan: every event's normalized JSON parsed once for its channel, counted. Best of 3, ms. */
async function plainScan(maxSeq: number): Promise<{ ms: number; rows: number }> {
  const config: Record<string, string> = THREADS === undefined ? {} : { threads: String(THREADS) };
  const inst = await duckdb.DuckDBInstance.create(dbPath, config);
  const conn = await inst.connect();
  let best = Infinity;
  let rows = 0;
  try {
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const r = await conn.runAndReadAll(
        `SELECT count(json_extract_string(normalized, '$.channel')) FROM log_events
         WHERE tenant_id = $1::UUID AND seq > 0 AND seq <= $2`,
        [TENANT, BigInt(maxSeq)],
      );
      best = Math.min(best, performance.now() - t0);
      rows = Number(r.getRowsJS()[0]![0]);
    }
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
  return { ms: best, rows };
}

async function main() {
  console.log(
    `vigil bench:detect — ${fmt(N)} events; ${availableParallelism()} cores; DuckDB threads ${THREADS ?? 'default'}; scratch ${dir}`,
  );
  const opts = THREADS === undefined ? {} : { threads: THREADS };
  let store = new DuckDbLogStore(dbPath, opts);
  await store.init();
  const maxSeq = await build(store);
  await store.close();

  // --- the rules ------------------------------------------------------------------------------------
  let t0 = performance.now();
  const set = new SigmaService().load([RULES]);
  const windows = set.rules.filter((r) => r.rule.logsource.product?.toLowerCase() === 'windows');
  const rules: DetectionRuleInput[] = windows.map((r, i) => ({ key: String(i), node: r.node }));
  const mappedOut = set.unsupported.length;
  say(
    'Windows rules loaded',
    `${fmt(rules.length)} mapped (of ${fmt(set.rules.length)} rules; ${fmt(mappedOut)} documents unsupported) in ${secs(performance.now() - t0)}`,
  );

  // --- baseline: one plain scan ---------------------------------------------------------------------
  const scan = await plainScan(maxSeq);
  say('plain scan (one JSON field of each event)', `${secs(scan.ms)} (${fmt(scan.rows)} rows, best of 3)`);

  // --- detect ---------------------------------------------------------------------------------------
  store = new DuckDbLogStore(dbPath, opts);
  await store.init();
  let best:
    { ms: number; hits: number; matched: number; errors: Map<string, string>; scanned: number } | undefined;
  let peak = 0;
  let start = 0;
  for (let run = 0; run < RUNS; run++) {
    t0 = performance.now();
    const m = await withPeakRss(() => store.detect(TENANT, rules, { afterSeq: 0, uptoSeq: maxSeq }));
    const ms = performance.now() - t0;
    peak = Math.max(peak, m.peak);
    start = start || m.start;
    let hits = 0;
    for (const x of m.result.matches.values()) hits += x.count;
    if (!best || ms < best.ms)
      best = { ms, hits, matched: m.result.matches.size, errors: m.result.errors, scanned: m.result.scanned };
    if (RUNS > 1) console.log(`  run ${run + 1}: ${secs(ms)}`);
  }
  await store.close();
  const b = best!;
  say('rules compiled for DuckDB', `${fmt(rules.length - b.errors.size)} of ${fmt(rules.length)}`);
  const rate = (b.scanned * 1000) / b.ms;
  say(
    'detect, all Windows rules',
    `${fmt(rate)} events/s (${fmt(b.scanned)} events in ${secs(b.ms)}${RUNS > 1 ? `, best of ${RUNS}` : ''}; target >= 50,000)`,
  );
  say('  hits', `${fmt(b.hits)} matches of ${fmt(b.matched)} rules`);
  say('  rules that errored', `${fmt(b.errors.size)}`);
  const reasons = new Map<string, number>();
  for (const r of b.errors.values()) {
    const k = r.length > 90 ? `${r.slice(0, 90)}…` : r;
    reasons.set(k, (reasons.get(k) ?? 0) + 1);
  }
  for (const [r, n] of [...reasons].sort((x, y) => y[1] - x[1]).slice(0, 5)) say(`    ${n} ×`, r);
  say('  ratio detect / plain scan', `${(b.ms / scan.ms).toFixed(1)} × the scan's time`);
  say('  peak RSS while detecting', `${mb(peak)} (start ${mb(start)}; max over the run ${mb(maxRss())})`);
  say(
    'anchors (published)',
    'Hayabusa ~12,800 events/s with 3,633 rules (laptop); Zircolite ~3,000 events/s with 765 rules',
  );
  rmSync(dir, { recursive: true, force: true });
}

/** The process's peak resident set so far (bytes). */
function maxRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

main().catch((e: unknown) => {
  console.error(e);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
