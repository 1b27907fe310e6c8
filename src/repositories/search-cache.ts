/**
 * The search cache (seed 004) behind one small interface, with two backends:
 * - `DatabaseSearchCache`: the `search_cache` table (SearchCacheRepository), the default;
 * - `RedisSearchCache` (redis-search-cache.repository.ts): Redis, when `cache.redisUrl` (REDIS_URL) is set.
 * Entries are keyed by `cacheKey(params)` (SHA-256 of the canonical JSON of the search parameters) and expire
 * after a TTL; `invalidateAll` drops every entry when an import changed the data.
 */
import type { SearchCacheRepository } from './search-cache.repository.ts';

export interface SearchCacheStore {
  readonly backend: 'database' | 'redis';
  /** The cached results, or undefined when absent or expired. Throws when the backend is unreachable. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /** Store `results` (JSON-serialisable) under `key` for `ttlSeconds`. */
  set(key: string, params: Record<string, unknown>, results: unknown, ttlSeconds: number): Promise<void>;
  /** Drop every entry. */
  invalidateAll(): Promise<void>;
  close(): Promise<void>;
}

/** The `search_cache` table as a SearchCacheStore: a hit increments the row's `hit_count`. */
export class DatabaseSearchCache implements SearchCacheStore {
  readonly backend = 'database' as const;
  constructor(private readonly repo: SearchCacheRepository) {}

  get<T = unknown>(key: string): Promise<T | undefined> {
    return this.repo.get<T>(key);
  }

  async set(
    key: string,
    params: Record<string, unknown>,
    results: unknown,
    ttlSeconds: number,
  ): Promise<void> {
    await this.repo.set(key, params, results, ttlSeconds);
  }

  async invalidateAll(): Promise<void> {
    await this.repo.invalidateAll();
  }

  async close(): Promise<void> {}
}
