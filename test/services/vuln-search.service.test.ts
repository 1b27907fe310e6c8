/**
 * VulnSearchService: the search cache (seed 004). On the search_cache table (PGlite, and PostgreSQL with
 * TEST_DATABASE_URL), on Redis (redis://127.0.0.1:6379, or TEST_REDIS_URL; skipped with a message when
 * unreachable), and the fall-through to the database when the cache fails.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngestionRunRepository } from '../../src/repositories/ingestion-run.repository.ts';
import { RedisSearchCache } from '../../src/repositories/redis-search-cache.repository.ts';
import { DatabaseSearchCache, type SearchCacheStore } from '../../src/repositories/search-cache.ts';
import { SearchCacheRepository } from '../../src/repositories/search-cache.repository.ts';
import { VulnerabilityRepository } from '../../src/repositories/vulnerability.repository.ts';
import { VulnImportService } from '../../src/services/vuln-import.service.ts';
import { VulnSearchService } from '../../src/services/vuln-search.service.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';

const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
const dir = mkdtempSync(join(tmpdir(), 'vigil-vuln-search-'));

function ndjson(name: string, records: Record<string, unknown>[]): string {
  const file = join(dir, name);
  writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

const HEARTBLEED = {
  cve_id: 'CVE-2014-0160',
  title: 'OpenSSL Heartbleed Information Disclosure Vulnerability',
  description: 'The TLS and DTLS implementations in OpenSSL 1.0.1 do not properly handle Heartbeat packets.',
  cvss_score: 7.5,
  exploited_in_the_wild: true,
};
const LOG4SHELL = {
  cve_id: 'CVE-2021-44228',
  title: 'Apache Log4j2 Remote Code Execution Vulnerability (Log4Shell)',
  cvss_score: 10,
  exploited_in_the_wild: true,
};

async function redisReachable(): Promise<boolean> {
  const c = createClient({ url: REDIS_URL, socket: { connectTimeout: 500, reconnectStrategy: false } });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.ping();
    await c.close();
    return true;
  } catch {
    c.destroy();
    return false;
  }
}
const redisUp = await redisReachable();
if (!redisUp)
  console.warn(`[vuln-search] Redis at ${REDIS_URL} is unreachable: the Redis cache tests are skipped`);

/** The same behaviour on each backend. */
function cacheBehaviour(
  name: string,
  makeStore: (t: TestDb) => Promise<SearchCacheStore>,
  engine: 'pglite' | 'postgres',
) {
  describe(`search cache on ${name} (${engine})`, () => {
    let t: TestDb;
    let store: SearchCacheStore;
    let search: VulnSearchService;
    let imports: VulnImportService;

    beforeAll(async () => {
      t = await createTestDb(engine);
      store = await makeStore(t);
      const vulns = new VulnerabilityRepository(t.db);
      search = new VulnSearchService(vulns, store, { ttlSeconds: 60 });
      imports = new VulnImportService(vulns, new IngestionRunRepository(t.db), {
        onDataChanged: () => search.invalidate(),
      });
      await imports.import('ndjson', [ndjson(`${name}-${engine}-1.ndjson`, [HEARTBLEED])]);
    });
    afterAll(async () => {
      await store?.close();
      await t?.dispose();
    });

    it('serves a second identical search from the cache; other parameters miss', async () => {
      const first = await search.search({ q: 'hartbleed' });
      expect(first.cached).toBe(false);
      expect(first.results.map((r) => r.cveId)).toEqual(['CVE-2014-0160']);
      const second = await search.search({ q: '  hartbleed ', limit: 20 }); // the same once normalised
      expect(second).toEqual({ results: first.results, cached: true });
      expect(search.cacheStats()).toMatchObject({ backend: store.backend, hits: 1, misses: 1, errors: 0 });
      expect((await search.search({ q: 'hartbleed', limit: 5 })).cached).toBe(false);
      expect((await search.search({ q: 'hartbleed', exploited: true })).cached).toBe(false);
      expect((await search.search({ q: 'hartbleed', exploited: true })).cached).toBe(true);
      expect(search.cacheStats()).toMatchObject({ hits: 2, misses: 3 });
    });

    it('is invalidated by an import that changes data, not by one that changes nothing', async () => {
      await search.search({ q: 'log4shel' });
      expect((await search.search({ q: 'log4shel' })).cached).toBe(true);
      // unchanged re-import: the cache stays
      const same = await imports.import('ndjson', [ndjson(`${name}-${engine}-2.ndjson`, [HEARTBLEED])]);
      expect(same).toMatchObject({ inserted: 0, updated: 0 });
      expect((await search.search({ q: 'log4shel' })).cached).toBe(true);
      // a new CVE: the cached "no match" would now be wrong
      const added = await imports.import('ndjson', [ndjson(`${name}-${engine}-3.ndjson`, [LOG4SHELL])]);
      expect(added).toMatchObject({ inserted: 1 });
      const after = await search.search({ q: 'log4shel' });
      expect(after.cached).toBe(false);
      expect(after.results[0]?.cveId).toBe('CVE-2021-44228');
    });

    it('honours the expiry', async () => {
      const short = new VulnSearchService(new VulnerabilityRepository(t.db), store, { ttlSeconds: 1 });
      await short.search({ q: 'openssl', limit: 3 });
      expect((await short.search({ q: 'openssl', limit: 3 })).cached).toBe(true);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await short.search({ q: 'openssl', limit: 3 })).cached).toBe(false);
    });
  });
}

for (const engine of engines()) {
  cacheBehaviour(
    'the search_cache table',
    async (t) => new DatabaseSearchCache(new SearchCacheRepository(t.db)),
    engine,
  );
}

const prefix = `vigil:test:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
describe.skipIf(!redisUp)('Redis backend', () => {
  cacheBehaviour('redis', async () => new RedisSearchCache({ url: REDIS_URL, prefix }), 'pglite');

  it('namespaces keys under the prefix with an expiry, and invalidates with a generation counter', async () => {
    const store = new RedisSearchCache({ url: REDIS_URL, prefix: `${prefix}:ns` });
    const c = createClient({ url: REDIS_URL });
    await c.connect();
    try {
      await store.set('abc', {}, [{ cveId: 'CVE-2014-0160' }], 30);
      expect(await c.ttl(`${prefix}:ns:0:abc`)).toBeGreaterThan(0);
      expect(await store.get('abc')).toEqual([{ cveId: 'CVE-2014-0160' }]);
      await store.invalidateAll();
      expect(await c.get(`${prefix}:ns:gen`)).toBe('1');
      expect(await store.get('abc')).toBeUndefined();
    } finally {
      await c.close();
      await store.close();
    }
  });

  afterAll(async () => {
    const c = createClient({ url: REDIS_URL });
    await c.connect();
    for await (const keys of c.scanIterator({ MATCH: `${prefix}:*`, COUNT: 100 }))
      if (keys.length) await c.del(keys);
    await c.close();
  });
});

describe('when the cache fails', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb('pglite');
    await new VulnerabilityRepository(t.db).upsertMany([
      { cveId: 'CVE-2014-0160', title: 'OpenSSL Heartbleed Information Disclosure Vulnerability' },
    ]);
  });
  afterAll(async () => t?.dispose());

  it('searches the database when Redis is unreachable, and logs one warning', async () => {
    const warnings: unknown[] = [];
    // nothing listens on port 1
    const store = new RedisSearchCache({ url: 'redis://127.0.0.1:1', prefix, timeoutMs: 200 });
    const search = new VulnSearchService(new VulnerabilityRepository(t.db), store, {
      ttlSeconds: 60,
      logger: { warn: (...args: unknown[]) => warnings.push(args) },
    });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await search.search({ q: 'hartbleed' });
        expect(r).toMatchObject({ cached: false, results: [{ cveId: 'CVE-2014-0160' }] });
      }
      await search.invalidate(); // never throws
      expect(search.cacheStats()).toMatchObject({ backend: 'redis', hits: 0, misses: 2 });
      expect(search.cacheStats().errors).toBeGreaterThanOrEqual(4);
      expect(warnings).toHaveLength(1);
      expect(JSON.stringify(warnings[0])).toMatch(/search cache unavailable/);
    } finally {
      await store.close();
    }
  });

  it('searches the database when any backend throws', async () => {
    const broken: SearchCacheStore = {
      backend: 'database',
      get: () => Promise.reject(new Error('boom')),
      set: () => Promise.reject(new Error('boom')),
      invalidateAll: () => Promise.reject(new Error('boom')),
      close: () => Promise.resolve(),
    };
    const search = new VulnSearchService(new VulnerabilityRepository(t.db), broken, { ttlSeconds: 60 });
    expect((await search.search({ q: 'heartbleed' })).results[0]?.cveId).toBe('CVE-2014-0160');
    await expect(search.invalidate()).resolves.toBeUndefined();
  });
});
