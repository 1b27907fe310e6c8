import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.ts';
import { cacheKey, SearchCacheRepository } from '../../src/repositories/search-cache.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let seq = 0;
const key = () => cacheKey({ test: ++seq, pid: process.pid });

describe.each(engines())('SearchCacheRepository on %s', (engine) => {
  let t: TestDb;
  let repo: SearchCacheRepository;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new SearchCacheRepository(t.db);
  });
  afterAll(async () => t?.dispose());

  const hitCount = async (k: string) =>
    (
      await t.db.query<{ hit_count: number }>('select hit_count from search_cache where cache_key = $1', [k])
    )[0]?.hit_count;

  it('stores results and counts hits', async () => {
    const params = { q: 'log4j', severity: 'critical' };
    const k = cacheKey(params);
    const entry = await repo.set(k, params, { items: ['CVE-2021-44228'], total: 1 }, 60);
    expect(entry).toMatchObject({ cacheKey: k, queryParams: params, hitCount: 0 });
    expect(entry.expiresAt.getTime() - entry.createdAt.getTime()).toBeCloseTo(60_000, -2);

    expect(await repo.get(k)).toEqual({ items: ['CVE-2021-44228'], total: 1 });
    expect(await repo.get<{ total: number }>(k)).toMatchObject({ total: 1 });
    expect(await hitCount(k)).toBe(2);
    expect(await repo.get(cacheKey({ q: 'other' }))).toBeUndefined();
  });

  it('replaces an entry on set, restarting its hit count', async () => {
    const k = key();
    await repo.set(k, { v: 1 }, [1], 60);
    await repo.get(k);
    const again = await repo.set(k, { v: 2 }, [2], 120);
    expect(again).toMatchObject({ queryParams: { v: 2 }, results: [2], hitCount: 0 });
    expect(await repo.get(k)).toEqual([2]);
    const rows = await t.db.query<{ n: number }>(
      'select count(*)::int as n from search_cache where cache_key = $1',
      [k],
    );
    expect(rows[0]?.n).toBe(1);
  });

  it('stores falsy results and tells them from a miss', async () => {
    const k = key();
    await repo.set(k, {}, [], 60);
    expect(await repo.get(k)).toEqual([]);
    const z = key();
    await repo.set(z, {}, 0, 60);
    expect(await repo.get(z)).toBe(0);
  });

  it('does not return an expired entry, nor count a hit on it', async () => {
    const k = key();
    await repo.set(k, {}, { stale: true }, 0.05);
    await sleep(150);
    expect(await repo.get(k)).toBeUndefined();
    expect(await hitCount(k)).toBe(0);
  });

  it('purges expired entries only', async () => {
    const stale = key();
    const fresh = key();
    await repo.set(stale, {}, 1, 0.05);
    await repo.set(fresh, {}, 2, 3600);
    await sleep(150);
    expect(await repo.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await hitCount(stale)).toBeUndefined();
    expect(await repo.get(fresh)).toBe(2);
    expect(await repo.purgeExpired()).toBe(0);
    // a clock two hours ahead sees the fresh one expired too
    expect(await repo.purgeExpired(new Date(Date.now() + 7_200_000))).toBeGreaterThanOrEqual(1);
    expect(await hitCount(fresh)).toBeUndefined();
  });

  it('deletes one entry, or all of them', async () => {
    const k1 = key();
    const k2 = key();
    await repo.set(k1, {}, 1, 60);
    await repo.set(k2, {}, 2, 60);
    expect(await repo.delete(k1)).toBe(true);
    expect(await repo.delete(k1)).toBe(false);
    expect(await repo.get(k1)).toBeUndefined();
    const before = (await t.db.query<{ n: number }>('select count(*)::int as n from search_cache'))[0]!.n;
    expect(before).toBeGreaterThanOrEqual(1);
    expect(await repo.invalidateAll()).toBe(before);
    expect(await repo.get(k2)).toBeUndefined();
    expect(await repo.invalidateAll()).toBe(0);
  });

  it('rejects bad input with the field named', async () => {
    const bad = repo.set(key(), {}, 1, 0);
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ issues: [{ path: 'ttlSeconds' }] });
    await expect(repo.set('x'.repeat(65), {}, 1, 60)).rejects.toMatchObject({ issues: [{ path: 'key' }] });
    await expect(repo.set(key(), {}, undefined, 60)).rejects.toMatchObject({ issues: [{ path: 'results' }] });
    await expect(repo.get('')).rejects.toBeInstanceOf(ValidationError);
  });
});
