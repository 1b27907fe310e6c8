/**
 * Vulnerability search (issue 6, seed 004): the fuzzy search of VulnerabilityRepository behind the search
 * cache. Results are cached by the hash of the normalised parameters (`cacheKey`) for `ttlSeconds`, on Redis
 * or the `search_cache` table (SearchCacheStore), and dropped when an import changes the data (`invalidate`,
 * called by VulnImportService). The cache is an optimisation only: when it fails (Redis down), a warning is
 * logged and the search goes to the database.
 */
import type { Logger } from '../config/logger.ts';
import {
  vulnerabilitySearchSchema,
  type VulnerabilitySearchInput,
} from '../domain/schemas/vulnerability.schema.ts';
import { parseInput } from '../domain/validation.ts';
import type { SearchCacheStore } from '../repositories/search-cache.ts';
import { cacheKey } from '../repositories/search-cache.repository.ts';
import type {
  VulnerabilityRepository,
  VulnerabilitySearchHit,
} from '../repositories/vulnerability.repository.ts';

export interface VulnSearchResult {
  results: VulnerabilitySearchHit[];
  /** Whether the results came from the cache. */
  cached: boolean;
}

export interface VulnSearchCacheStats {
  backend: 'database' | 'redis' | 'none';
  hits: number;
  misses: number;
  /** Cache calls that failed (and fell through to the database). */
  errors: number;
}

/** Bumped when the shape of a hit changes, so that old entries are not served. */
const CACHE_VERSION = 1;
/** At most one cache warning per this many milliseconds. */
const WARN_EVERY_MS = 30_000;

export class VulnSearchService {
  readonly #stats: VulnSearchCacheStats;
  #lastWarn = 0;

  constructor(
    private readonly vulnerabilities: VulnerabilityRepository,
    private readonly cache: SearchCacheStore | undefined,
    private readonly opts: { ttlSeconds: number; logger?: Pick<Logger, 'warn'> },
  ) {
    this.#stats = { backend: cache?.backend ?? 'none', hits: 0, misses: 0, errors: 0 };
  }

  /** Ranked matches (VulnerabilityRepository.search), from the cache when an equal search is cached. */
  async search(input: VulnerabilitySearchInput): Promise<VulnSearchResult> {
    const params = parseInput(vulnerabilitySearchSchema, input, 'search');
    const keyParams: Record<string, unknown> = {
      search: 'vulnerabilities',
      version: CACHE_VERSION,
      ...params,
      publishedFrom: params.publishedFrom?.toISOString(),
      publishedTo: params.publishedTo?.toISOString(),
    };
    const key = cacheKey(keyParams);
    if (this.cache) {
      try {
        const hit = await this.cache.get<VulnerabilitySearchHit[]>(key);
        if (hit !== undefined) {
          this.#stats.hits++;
          return { results: hit, cached: true };
        }
      } catch (e) {
        this.#failed('read', e);
      }
    }
    this.#stats.misses++;
    const results = await this.vulnerabilities.search(params);
    if (this.cache) {
      try {
        await this.cache.set(
          key,
          JSON.parse(JSON.stringify(keyParams)) as Record<string, unknown>,
          results,
          this.opts.ttlSeconds,
        );
      } catch (e) {
        this.#failed('write', e);
      }
    }
    return { results, cached: false };
  }

  /** Drop every cached search (the data changed). Never throws: a failure is logged. */
  async invalidate(): Promise<void> {
    if (!this.cache) return;
    try {
      await this.cache.invalidateAll();
    } catch (e) {
      this.#failed('invalidate', e);
    }
  }

  /** Hits, misses and failures since start. */
  cacheStats(): VulnSearchCacheStats {
    return { ...this.#stats };
  }

  #failed(op: string, e: unknown): void {
    this.#stats.errors++;
    const now = Date.now();
    if (now - this.#lastWarn < WARN_EVERY_MS) return;
    this.#lastWarn = now;
    this.opts.logger?.warn(
      { err: e instanceof Error ? e.message : String(e), backend: this.#stats.backend, op },
      'search cache unavailable: searching the database',
    );
  }
}
