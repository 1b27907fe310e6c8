import { createHash } from 'node:crypto';
import { eq, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../db/client.ts';
import { searchCache } from '../db/schema/index.ts';
import { jsonObject } from '../domain/schemas/common.schema.ts';
import { parseInput } from '../domain/validation.ts';

export type SearchCacheEntry = typeof searchCache.$inferSelect;

/**
 * JSON with object keys sorted (by UTF-16 code unit, as RFC 8785 does) at every depth, so equal parameters
 * serialise identically whatever order their keys were written in. Array order is kept; undefined object
 * members are dropped and undefined array items become null, as in JSON.stringify.
 */
export function canonicalJson(value: unknown): string {
  if (value !== null && typeof value === 'object') {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return canonicalJson((toJSON as () => unknown).call(value));
    if (Array.isArray(value)) {
      return `[${value.map((x) => (x === undefined || typeof x === 'function' ? 'null' : canonicalJson(x))).join(',')}]`;
    }
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function')
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The cache key of a search: SHA-256 (hex) of its parameters' canonical JSON. */
export function cacheKey(params: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(params)).digest('hex');
}

const keySchema = z.string().min(1).max(64);
const setSchema = z.object({
  key: keySchema,
  queryParams: jsonObject,
  results: z.unknown().refine((r) => r !== undefined, 'results are required'),
  /** Seconds until the entry expires; up to a year. */
  ttlSeconds: z
    .number()
    .positive()
    .max(366 * 24 * 3600),
});

/** Seed 004 search_cache: results of expensive searches, by the hash of their parameters. Global. */
export class SearchCacheRepository {
  constructor(private readonly db: Database) {}

  /** The cached results, or undefined when absent or expired; a hit is counted. */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const k = parseInput(keySchema, key, 'cache key');
    const [row] = await this.db.tx((tx) =>
      tx
        .update(searchCache)
        .set({ hitCount: sql`${searchCache.hitCount} + 1` })
        .where(sql`${searchCache.cacheKey} = ${k} and ${searchCache.expiresAt} > now()`)
        .returning({ results: searchCache.results }),
    );
    return row?.results as T | undefined;
  }

  /** Store (or replace) the results for `key`, expiring `ttlSeconds` from now; the hit count restarts. */
  async set(
    key: string,
    queryParams: Record<string, unknown>,
    results: unknown,
    ttlSeconds: number,
  ): Promise<SearchCacheEntry> {
    const v = parseInput(setSchema, { key, queryParams, results, ttlSeconds }, 'cache entry');
    const expiresAt = sql`now() + make_interval(secs => ${v.ttlSeconds})`;
    return this.db.tx(async (tx) => {
      const [row] = await tx
        .insert(searchCache)
        .values({ cacheKey: v.key, queryParams: v.queryParams, results: v.results, expiresAt })
        .onConflictDoUpdate({
          target: searchCache.cacheKey,
          set: {
            queryParams: v.queryParams,
            results: v.results,
            expiresAt,
            hitCount: 0,
            createdAt: sql`now()`,
          },
        })
        .returning();
      return row!;
    });
  }

  /** Drop one entry; returns whether there was one. */
  async delete(key: string): Promise<boolean> {
    const k = parseInput(keySchema, key, 'cache key');
    const gone = await this.db.tx((tx) =>
      tx.delete(searchCache).where(eq(searchCache.cacheKey, k)).returning({ id: searchCache.id }),
    );
    return gone.length > 0;
  }

  /** Empty the cache (after an ingestion changes the data); returns how many entries were dropped. */
  async invalidateAll(): Promise<number> {
    const gone = await this.db.tx((tx) => tx.delete(searchCache).returning({ id: searchCache.id }));
    return gone.length;
  }

  /** Delete the entries that expired by `now`; returns how many. */
  async purgeExpired(now: Date = new Date()): Promise<number> {
    const gone = await this.db.tx((tx) =>
      tx.delete(searchCache).where(lte(searchCache.expiresAt, now)).returning({ id: searchCache.id }),
    );
    return gone.length;
  }
}
