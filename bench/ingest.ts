/**
 * `npm run bench:ingest`: the log pipeline's figures, measured side by side in one run.
 *
 *   1. generate N realistic lines from the real Loghub templates (bench/lib/loghub-generator.ts);
 *   2. ingest them (frame + parse + normalise + id + store) into DuckDB, and the same file into PostgreSQL;
 *   3. append the very rows DuckDB stored through a raw DuckDB appender (data chunks), the baseline; and
 *      store them with DuckDB alone (from Parquet, no JavaScript): what storing costs whatever the pipeline;
 *   4. grow the DuckDB table to --count-rows events and time a count with a text filter;
 *   5. report peak RSS while ingesting (bounded memory: streaming), optionally on a multi-gigabyte file.
 *
 * Options: --events N (default 1,000,000)  --count-rows N (default 10,000,000)  --big-gb G (default 0: skip)
 *          --batch N (logs.batchSize: events per store write; default the configuration's)
 *          --pg URL (default TEST_DATABASE_URL, DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres)
 * Needs ../shared/data/logs/loghub beside the project.
 */
import { randomUUID } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { once } from 'node:events';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import duckdb from '@duckdb/node-api';
import pg from 'pg';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/config/logger.ts';
import { createContainer, type Container } from '../src/container.ts';
import { Database } from '../src/db/client.ts';
import { Migrator } from '../src/db/migrator.ts';
import { DuckDbLogStore } from '../src/logstore/duckdb/duckdb-log-store.ts';
import { EventIdChain } from '../src/ingest/event-id.ts';
import { frameBatches } from '../src/ingest/framing.ts';
import { createStreamParser, type StreamParser } from '../src/ingest/index.ts';
import { RecordBatcher } from '../src/ingest/record-batcher.ts';
import { createEventSink } from '../src/logstore/encoding.ts';
import { WORKER_PART_SIZE } from '../src/services/ingest-worker.ts';
import type { LogEventRow } from '../src/domain/log-event.ts';
import { generateLines, loadTemplates } from './lib/loghub-generator.ts';
import { withPeakRss } from './lib/rss.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    'count-rows': { type: 'string', default: '10000000' },
    'big-gb': { type: 'string', default: '0' },
    pg: { type: 'string' },
    batch: { type: 'string' },
  },
});
const N = Number(args.events);
const COUNT_ROWS = Number(args['count-rows']);
const BIG_GB = Number(args['big-gb']);
const PG_URL =
  args.pg ??
  process.env.TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';

const LOGHUB = resolve(import.meta.dirname, '../../shared/data/logs/loghub');
if (!existsSync(LOGHUB)) {
  console.error(`bench:ingest needs the Loghub samples at ${LOGHUB}`);
  process.exit(2);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
const results: Record<string, string> = {};
const say = (k: string, v: string) => {
  results[k] = v;
  console.log(`${k.padEnd(44)} ${v}`);
};

async function writeLines(path: string, n: number, seed: number) {
  const pools = loadTemplates(LOGHUB);
  const out = createWriteStream(path, { highWaterMark: 1 << 20 });
  let buf = '';
  for (const line of generateLines(pools, n, seed)) {
    buf += line + '\n';
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.write(buf);
  out.end();
  await once(out, 'close');
  return pools.length;
}

async function containerFor(store: 'duckdb' | 'postgres', db: Database, dataDir: string): Promise<Container> {
  // --batch N overrides logs.batchSize (events per store write) through a config file, as a user would.
  let file: string | undefined;
  if (args.batch) {
    file = join(dir, `vigil-${store}.yaml`);
    writeFileSync(file, `logs:\n  batchSize: ${Number(args.batch)}\n`);
  }
  const config = loadConfig({
    env: { LOG_LEVEL: 'warn', VIGIL_DATA_DIR: dataDir, VIGIL_LOG_STORE: store, DATABASE_URL: '' },
    ...(file ? { file } : {}),
  });
  return createContainer(config, createLogger(config), db);
}

async function main() {
  console.log(`vigil bench:ingest — ${N.toLocaleString()} events; scratch ${dir}`);
  const file = join(dir, 'loghub-generated.log');
  let t0 = performance.now();
  const templates = await writeLines(file, N, 42);
  const size = statSync(file).size;
  say(
    'generated',
    `${fmt(N)} lines from ${templates} real templates, ${mb(size)} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  // --- the worker's JavaScript alone, on this thread, first (a fresh heap): with the real parser and with
  // none (every line one fixed event), what framing, ids and encoding cost whatever the parser; reported below.
  const scratchTenant = randomUUID();
  const parsed = await workerShare(file, scratchTenant, false);
  const unparsed = await workerShare(file, scratchTenant, true);

  // --- DuckDB pipeline -------------------------------------------------------------------------------
  const rel = await Database.open({});
  await new Migrator(rel).migrate();
  const c = await containerFor('duckdb', rel, join(dir, 'duck'));
  const tenant = await c.repos.tenants.create({ slug: 'bench', name: 'Bench' });
  await c.logStore();
  const cpu0 = process.cpuUsage();
  const {
    result: duck,
    peak,
    start,
  } = await withPeakRss(() => c.services.logIngest.ingestFile({ tenant: tenant.slug }, file));
  const cpu = process.cpuUsage(cpu0);
  const duckRate = (duck.accepted * 1000) / duck.elapsedMs;
  say(
    'DuckDB pipeline (parse+normalise+store)',
    `${fmt(duckRate)} events/s (${fmt(duck.accepted)} accepted, ${fmt(duck.rejected)} rejected in ${(duck.elapsedMs / 1000).toFixed(2)} s)`,
  );
  // CPU of every thread of the process (JavaScript and DuckDB's): the rate no scheduling could beat here.
  const cpuPerEvent = (cpu.user + cpu.system) / duck.accepted;
  say(
    '  CPU per event (all threads)',
    `${cpuPerEvent.toFixed(1)} µs; ${availableParallelism()} cores bound it at ${fmt((availableParallelism() * 1e6) / cpuPerEvent)} events/s`,
  );
  say('  peak RSS while ingesting', `${mb(peak)} (start ${mb(start)}; input ${mb(size)})`);

  // --- raw appender baseline: the same rows, already built, straight into DuckDB ---------------------
  const store = await c.logStore();
  const rows: LogEventRow[] = [];
  for (let seq = 0; ;) {
    const page = await store.readSince(tenant.id, seq, 10_000);
    if (!page.length) break;
    rows.push(...page);
    seq = page.at(-1)!.seq;
  }
  const baseline = await rawAppender(rows, join(dir, 'raw.duckdb'));
  say('raw DuckDB appender (same rows, baseline)', `${fmt(baseline)} rows/s`);
  say('  ratio pipeline / raw appender', `${(duckRate / baseline).toFixed(2)} (target >= 0.5)`);
  rows.length = 0;
  // What DuckDB alone costs to store these rows (no JavaScript at all), and the whole budget per event at
  // 200,000 events/s on this machine's cores: the pipeline cannot get below the first, nor go faster than
  // the budget allows.
  const floor = await duckdbAlone(
    join(dir, 'raw.duckdb'),
    join(dir, 'alone.duckdb'),
    join(dir, 'rows.parquet'),
  );
  say(
    'DuckDB alone (same rows from Parquet, no JS)',
    `${fmt(floor.rate)} rows/s; ${floor.cpuPerRow.toFixed(1)} µs CPU per row`,
  );
  say(
    'JS of the worker (frame, parse, id, encode)',
    `${parsed.toFixed(1)} µs CPU per event on one thread; without parsing ${unparsed.toFixed(1)}`,
  );
  say(
    '  CPU per event at 200,000 events/s',
    `${((availableParallelism() * 1e6) / 200_000).toFixed(1)} µs on ${availableParallelism()} cores, of which DuckDB alone takes ${floor.cpuPerRow.toFixed(1)}; the pipeline uses ${cpuPerEvent.toFixed(1)}`,
  );

  // --- count with a text filter over COUNT_ROWS events ----------------------------------------------
  await c.close();
  const grown = await growDuck(join(dir, 'duck', 'logs.duckdb'), COUNT_ROWS);
  const rel2 = await Database.open({});
  await new Migrator(rel2).migrate();
  const c2 = await containerFor('duckdb', rel2, join(dir, 'duck'));
  const store2 = await c2.logStore();
  const times: number[] = [];
  let n = 0;
  for (let i = 0; i < 5; i++) {
    t0 = performance.now();
    n = await store2.count(tenant.id, { text: 'failed password' });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  say(
    `count(text 'failed password') over ${fmt(grown)}`,
    `${times[2]!.toFixed(0)} ms median of 5 (min ${times[0]!.toFixed(0)} ms; ${fmt(n)} matches; target < 1000 ms)`,
  );
  t0 = performance.now();
  const all = await store2.count(tenant.id);
  say('  plain count(*) baseline', `${(performance.now() - t0).toFixed(0)} ms (${fmt(all)} rows)`);
  await c2.close();

  // --- PostgreSQL pipeline ---------------------------------------------------------------------------
  const pgName = `vigil_bench_${process.pid}`;
  let pgReady = false;
  try {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create database ${pgName}`);
    await admin.end();
    pgReady = true;
  } catch (e) {
    say('PostgreSQL pipeline', `skipped: cannot reach ${PG_URL} (${(e as Error).message})`);
  }
  if (pgReady) {
    const u = new URL(PG_URL);
    u.pathname = `/${pgName}`;
    const pdb = await Database.open({ url: u.toString(), pool: { max: 4 } });
    try {
      await new Migrator(pdb).migrate();
      const pc = await containerFor('postgres', pdb, join(dir, 'pg'));
      const pt = await pc.repos.tenants.create({ slug: 'bench', name: 'Bench' });
      await pc.logStore();
      const r = await pc.services.logIngest.ingestFile({ tenant: pt.slug }, file);
      say(
        'PostgreSQL pipeline (parse+normalise+store)',
        `${fmt((r.accepted * 1000) / r.elapsedMs)} events/s (${fmt(r.accepted)} in ${(r.elapsedMs / 1000).toFixed(2)} s; target >= 50,000)`,
      );
    } finally {
      await pdb.close();
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`drop database if exists ${pgName} with (force)`);
      await admin.end();
    }
  }

  // --- bounded memory on a multi-gigabyte file -------------------------------------------------------
  if (BIG_GB > 0) {
    const big = join(dir, 'big.log');
    const lines = Math.round((BIG_GB * 1024 ** 3) / (size / N));
    await writeLines(big, lines, 7);
    const rel3 = await Database.open({});
    await new Migrator(rel3).migrate();
    const c3 = await containerFor('duckdb', rel3, join(dir, 'big'));
    const t3 = await c3.repos.tenants.create({ slug: 'bench', name: 'Bench' });
    await c3.logStore();
    const {
      result,
      peak: p3,
      start: s3,
      quarters,
    } = await withPeakRss(() => c3.services.logIngest.ingestFile({ tenant: t3.slug }, big));
    say(
      `multi-GB file (${mb(statSync(big).size)})`,
      `${fmt(result.eventsPerSecond)} events/s, peak RSS ${mb(p3)} (start ${mb(s3)})`,
    );
    say('  peak RSS by quarter of the run', quarters.map(mb).join(', '));
    await c3.close();
  } else {
    say('multi-GB file', 'skipped (pass --big-gb 2 to run it)');
  }
  rmSync(dir, { recursive: true, force: true });
}

/** The baseline: build data chunks from finished rows and append them; rows/s. */
async function rawAppender(rows: LogEventRow[], path: string): Promise<number> {
  const { DuckDBInstance, DuckDBDataChunk, VARCHAR, BIGINT, INTEGER } = duckdb;
  // The store's own table (its init creates it), so the baseline writes exactly the same schema.
  const empty = new DuckDbLogStore(path);
  await empty.init();
  await empty.close();
  const inst = await DuckDBInstance.create(path);
  const conn = await inst.connect();
  // The same columns, in this order, as the appender takes them: text for uuid, json and timestamps (cast by
  // one INSERT ... SELECT, as any store must), numbers for seq and procid.
  const names = [
    'tenant_id',
    'id',
    'seq',
    'raw',
    'appname',
    'file',
    'host',
    'hostname',
    'message',
    'procid',
    'source_type',
    'normalized',
    'metadata',
    'source_id',
    'original',
    'timestamp',
    'ingestion_time',
  ];
  const sqlType = (n: string) => (n === 'seq' ? 'bigint' : n === 'procid' ? 'integer' : 'varchar');
  const types = names.map((n) => (n === 'seq' ? BIGINT : n === 'procid' ? INTEGER : VARCHAR));
  await conn.run(`create temp table stage (${names.map((n) => `"${n}" ${sqlType(n)}`).join(', ')})`);
  const t0 = performance.now();
  const ap = await conn.createAppender('stage', 'main', 'temp');
  const CH = 2048;
  for (let off = 0; off < rows.length; off += CH) {
    const n = Math.min(CH, rows.length - off);
    const cols: unknown[][] = types.map(() => new Array(n));
    for (let j = 0; j < n; j++) {
      const r = rows[off + j]!;
      cols[0]![j] = r.tenantId;
      cols[1]![j] = r.id;
      cols[2]![j] = BigInt(r.seq);
      cols[3]![j] = r.raw;
      cols[4]![j] = r.appname;
      cols[5]![j] = r.file;
      cols[6]![j] = r.host;
      cols[7]![j] = r.hostname;
      cols[8]![j] = r.message;
      cols[9]![j] = r.procid;
      cols[10]![j] = r.sourceType;
      cols[11]![j] = JSON.stringify(r.normalized);
      cols[12]![j] = JSON.stringify(r.metadata);
      cols[13]![j] = r.sourceId;
      cols[14]![j] = r.original === null ? null : JSON.stringify(r.original);
      cols[15]![j] = r.timestamp.toISOString();
      cols[16]![j] = r.ingestionTime.toISOString();
    }
    const chunk = DuckDBDataChunk.create(types, n);
    chunk.setColumns(cols as never);
    ap.appendDataChunk(chunk);
  }
  ap.closeSync();
  await conn.run('insert into log_events by name select * from stage');
  const rate = (rows.length * 1000) / (performance.now() - t0);
  conn.closeSync();
  inst.closeSync();
  return rate;
}

/**
 * DuckDB's own cost of storing the rows the pipeline stored, with no JavaScript in the way: the rows go to an
 * uncompressed Parquet file (DuckDB's fastest reader), then one INSERT ... SELECT into a fresh copy of the
 * store's table (the same schema, JSON validation and compression). CPU of every thread of the process.
 */
async function duckdbAlone(
  from: string,
  to: string,
  parquet: string,
): Promise<{ rate: number; cpuPerRow: number }> {
  const src = await duckdb.DuckDBInstance.create(from);
  const sc = await src.connect();
  await sc.run(
    `copy (select * from log_events order by seq) to '${parquet}' (format parquet, compression uncompressed)`,
  );
  const n = Number((await sc.runAndReadAll('select count(*) from log_events')).getRows()[0]![0]);
  sc.closeSync();
  src.closeSync();
  const empty = new DuckDbLogStore(to);
  await empty.init();
  await empty.close();
  const inst = await duckdb.DuckDBInstance.create(to);
  const conn = await inst.connect();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await conn.run(`insert into log_events select * from read_parquet('${parquet}')`);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  conn.closeSync();
  inst.closeSync();
  return { rate: (n * 1000) / ms, cpuPerRow: (cpu.user + cpu.system) / n };
}

/**
 * CPU per event of what the ingest worker does (frame, parse, give ids, encode parts for DuckDB), run here on
 * one thread over the file. With `noParser`, every line becomes one fixed event (its text as the message):
 * the cost of everything but the parser.
 */
async function workerShare(path: string, tenantId: string, noParser: boolean): Promise<number> {
  const fixed: StreamParser = {
    parse: (raw) => ({
      ok: true,
      event: {
        timestamp: new Date(0),
        appname: null,
        host: null,
        message: raw,
        procid: null,
        sourceType: 'text',
        normalized: {},
        original: null,
      },
    }),
  };
  const batcher = new RecordBatcher({
    tenantId,
    sourceId: null,
    input: 'bench',
    runId: randomUUID(),
    quarantineMaxBytes: 4096,
    batchSize: WORKER_PART_SIZE,
    ids: EventIdChain.start(tenantId, 'bench', path),
    parser: noParser ? fixed : createStreamParser({ format: 'auto' }),
    sink: createEventSink('duckdb', tenantId),
  });
  const fallback = new Date();
  let events = 0;
  const cpu0 = process.cpuUsage();
  const source = createReadStream(path, { highWaterMark: 1 << 20 });
  for await (const records of frameBatches(source, { mode: 'lines', maxRecordBytes: 1 << 20 })) {
    for (const r of records) {
      if (r.error === 'blank') batcher.blank(r.end);
      else batcher.record(r, fallback, null);
      if (batcher.full) events += batcher.take().events.given;
    }
  }
  events += batcher.take().events.given;
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / events;
}

/** Copy the stored events until the table holds `target` rows (new ids and seqs); returns the row count. */
async function growDuck(path: string, target: number): Promise<number> {
  const inst = await duckdb.DuckDBInstance.create(path);
  const conn = await inst.connect();
  const count = async () =>
    Number((await conn.runAndReadAll('select count(*) from log_events')).getRows()[0]![0]);
  let n = await count();
  const base = n;
  while (n < target) {
    const take = Math.min(base, target - n);
    await conn.run(
      `insert into log_events by name select * replace (uuid() as id, seq + ${n} as seq) from log_events where seq <= ${take}`,
    );
    n = await count();
  }
  conn.closeSync();
  inst.closeSync();
  return n;
}

main().catch((e: unknown) => {
  console.error(e);
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
});
