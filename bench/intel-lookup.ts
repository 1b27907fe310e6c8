/**
 * `npx tsx bench/intel-lookup.ts`: indicator lookup rate of the detection engine's matcher.
 *
 *   1. generate N global indicators (default 1,000,000; deterministic): IPv4 and IPv6 addresses, IPv4 and IPv6
 *      networks (/16../30, /32../64), domains, MD5 and SHA-256 hashes, and load them with the repository's
 *      feed upsert (records/s);
 *   2. build the matcher's in-memory index (IntelFeedService.matchIndicators' first call: load time);
 *   3. time M lookups (default 100,000) in batches of 5,000 as the detection engine sends them: a mix of exact
 *      hits, IPs inside networks and misses; prints values/s (target 200,000) and hits;
 *   4. the baseline: the repository's SQL lookup (IndicatorRepository.lookup) over the first 2,000 values (it is slow: ~35 values/s at 1M rows on PostgreSQL).
 *
 * Options: --indicators N  --lookups M  --url postgres://... (a scratch database is created there and
 *          dropped afterwards; default: PGlite in memory)  --baseline N (values for step 4; 0 skips it)
 */
import { parseArgs } from 'node:util';
import type { IndicatorCreate } from '../src/domain/schemas/indicator.schema.ts';
import { IndicatorRepository } from '../src/repositories/indicator.repository.ts';
import { IngestionRunRepository } from '../src/repositories/ingestion-run.repository.ts';
import { TechniqueRepository } from '../src/repositories/technique.repository.ts';
import { IntelFeedService } from '../src/services/intel-feed.service.ts';
import { withPeakRss } from './lib/rss.ts';
import { rng } from './lib/rng.ts';
import { openScratchDb } from './lib/scratch-db.ts';

const { values: args } = parseArgs({
  options: {
    indicators: { type: 'string', default: '1000000' },
    lookups: { type: 'string', default: '100000' },
    url: { type: 'string' },
    baseline: { type: 'string', default: '2000' },
  },
});
const N = Number(args.indicators);
const M = Number(args.lookups);
const BASELINE = Number(args.baseline);
const BATCH = 5000;

const rand = rng(42);
const int = (n: number) => Math.floor(rand() * n);
const hex = (len: number) => {
  let s = '';
  while (s.length < len) s += int(0x100000000).toString(16).padStart(8, '0');
  return s.slice(0, len);
};
const ipv4 = () => `${1 + int(222)}.${int(256)}.${int(256)}.${int(256)}`;
const h16 = () => int(0x10000).toString(16);
/** A global unicast address (2000::/3). */
const ipv6 = () => `${(0x2000 + int(0x2000)).toString(16)}:${h16()}:${h16()}:${h16()}::${h16()}`;
const WORDS = ['cdn', 'update', 'login', 'secure', 'mail', 'api', 'files', 'portal', 'sync', 'cloud'];
const TLDS = ['com', 'net', 'org', 'top', 'xyz', 'ru', 'info'];
const domain = (i: number) => `${WORDS[int(WORDS.length)]}-${i.toString(36)}.${TLDS[int(TLDS.length)]}`;

/** The indicator of index i (types by share: 35% IPv4, 5% IPv6, 8% networks, 27% domains, 25% hashes). */
function indicator(i: number): IndicatorCreate {
  const r = i % 100;
  const source = `bench-${i % 7}`;
  if (r < 35) return { type: 'ip', value: ipv4(), source };
  if (r < 40) return { type: 'ip', value: ipv6(), source };
  if (r < 47) {
    const p = 16 + int(15); // /16 .. /30
    return { type: 'cidr', value: `${ipv4()}/${p}`, source };
  }
  if (r < 48) return { type: 'cidr', value: `${ipv6()}/${32 + int(33)}`, source };
  if (r < 75) return { type: 'domain', value: domain(i), source };
  if (r < 87) return { type: 'md5', value: hex(32), source };
  return { type: 'sha256', value: hex(64), source };
}

/** An IPv4 address inside `net` (a.b.c.d/p). */
function inside(net: string): string {
  const [addr, bits] = net.split('/');
  const base = addr!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  const n = base - (base % size) + int(size);
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main() {
  const { db, engine, dispose } = await openScratchDb(args.url, 'lookup');
  try {
    const indicators = new IndicatorRepository(db);
    const svc = new IntelFeedService(
      { indicators, techniques: new TechniqueRepository(db), runs: new IngestionRunRepository(db) },
      { matcherTtlMs: 3_600_000 },
    );
    const tenant = '00000000-0000-4000-8000-000000000001'; // no own indicators: the global index answers

    // 1. load
    const hits: string[] = [];
    const nets: string[] = [];
    let loaded = 0;
    let t0 = performance.now();
    for (let i = 0; i < N; i += BATCH) {
      const batch: IndicatorCreate[] = [];
      for (let j = i; j < Math.min(N, i + BATCH); j++) batch.push(indicator(j));
      const r = await indicators.upsertGlobal(batch);
      loaded += r.inserted + r.updated;
      for (const b of batch) {
        if (b.type === 'cidr' && !b.value.includes(':')) {
          if (nets.length < 20_000) nets.push(b.value);
        } else if (hits.length < 50_000 && rand() < 0.1)
          hits.push(b.type === 'domain' ? b.value.toUpperCase() : b.value);
      }
      if ((i / BATCH) % 20 === 0) process.stderr.write(`\rloaded ${fmt(loaded)}`);
    }
    const loadS = (performance.now() - t0) / 1000;
    process.stderr.write('\n');
    console.log(
      `engine ${engine}; ${fmt(loaded)} indicators loaded in ${loadS.toFixed(1)} s: ${fmt(loaded / loadS)} records/s`,
    );

    // The lookup mix: 25% exact hits, 10% IPs inside networks, 65% misses of every kind.
    const values: string[] = [];
    for (let i = 0; i < M; i++) {
      const r = i % 20;
      if (r < 5) values.push(hits[int(hits.length)]!);
      else if (r < 7) values.push(inside(nets[int(nets.length)]!));
      else if (r < 13) values.push(ipv4());
      else if (r < 15) values.push(ipv6());
      else if (r < 18) values.push(`miss-${i}.example`);
      else values.push(hex(64));
    }

    // 2. index load
    t0 = performance.now();
    await svc.matchIndicators(tenant, ['warm.example']);
    console.log(`matcher index built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // 3. timed lookups
    let matched = 0;
    const { result: lookupMs, peak: peakRss } = await withPeakRss(async () => {
      const start = performance.now();
      for (let i = 0; i < values.length; i += BATCH) {
        const m = await svc.matchIndicators(tenant, values.slice(i, i + BATCH));
        matched += m.size;
      }
      return performance.now() - start;
    });
    console.log(
      `matchIndicators: ${fmt(values.length)} values in ${lookupMs.toFixed(0)} ms: ${fmt((values.length / lookupMs) * 1000)} values/s ` +
        `(target 200,000); ${fmt(matched)} values matched; peak RSS ${fmt(peakRss / 2 ** 20)} MiB`,
    );

    // 4. baseline: the SQL lookup
    if (BASELINE > 0) {
      const sample = values.slice(0, BASELINE);
      let found = 0;
      const start = performance.now();
      for (let i = 0; i < sample.length; i += BATCH)
        found += (await indicators.lookup(tenant, sample.slice(i, i + BATCH))).length;
      const ms = performance.now() - start;
      console.log(
        `baseline IndicatorRepository.lookup (SQL): ${fmt(sample.length)} values in ${ms.toFixed(0)} ms: ` +
          `${fmt((sample.length / ms) * 1000)} values/s; ${fmt(found)} indicators returned`,
      );
    }
  } finally {
    await dispose();
  }
}

await main();
