/**
 * The search cache on Redis (`redis` v5). Keys are namespaced under a prefix (default `vigil:search`):
 *   <prefix>:gen            the generation counter (INCR to invalidate: O(1), whatever the number of entries)
 *   <prefix>:<gen>:<hash>   one entry: the results as JSON, SET with EX = the TTL
 * Entries of an older generation are never read again and expire on their own.
 *
 * An outage must not break search: the client never queues commands while disconnected
 * (`disableOfflineQueue`), every call is bounded by `timeoutMs`, and a failure rejects so that the caller can
 * log it and go to the database. The client reconnects in the background.
 */
import { createClient } from 'redis';
import type { SearchCacheStore } from './search-cache.ts';

export interface RedisSearchCacheOptions {
  url: string;
  /** Key namespace, without the trailing colon. */
  prefix?: string;
  /** Bound on connecting and on each command, in milliseconds. */
  timeoutMs?: number;
  /** Connection errors (throttled by the caller if needed). */
  onError?: (err: Error) => void;
}

type Client = ReturnType<typeof createClient>;

export class RedisSearchCache implements SearchCacheStore {
  readonly backend = 'redis' as const;
  readonly prefix: string;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #onError: (err: Error) => void;
  #client: Client | undefined;
  #connecting: Promise<unknown> | undefined;

  constructor(opts: RedisSearchCacheOptions) {
    this.#url = opts.url;
    this.prefix = opts.prefix ?? 'vigil:search';
    this.#timeoutMs = opts.timeoutMs ?? 500;
    this.#onError = opts.onError ?? (() => undefined);
  }

  /** The connected client; connects on first use. Throws when Redis is not reachable within the timeout. */
  async #ready(): Promise<Client> {
    if (!this.#client) {
      const client = createClient({
        url: this.#url,
        disableOfflineQueue: true,
        socket: {
          connectTimeout: this.#timeoutMs,
          reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 5000),
        },
      });
      client.on('error', (err: Error) => this.#onError(err));
      this.#client = client;
      this.#connecting = client.connect().catch((err: unknown) => this.#onError(err as Error));
    }
    const client = this.#client;
    if (!client.isReady) await this.#bounded(this.#connecting!);
    if (!client.isReady) throw new Error(`redis at ${redact(this.#url)} is not reachable`);
    return client;
  }

  #bounded<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`redis did not answer in ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  async #generation(client: Client): Promise<string> {
    return (await this.#bounded(client.get(`${this.prefix}:gen`))) ?? '0';
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const client = await this.#ready();
    const gen = await this.#generation(client);
    const text = await this.#bounded(client.get(`${this.prefix}:${gen}:${key}`));
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  async set(
    key: string,
    _params: Record<string, unknown>,
    results: unknown,
    ttlSeconds: number,
  ): Promise<void> {
    const client = await this.#ready();
    const gen = await this.#generation(client);
    await this.#bounded(
      client.set(`${this.prefix}:${gen}:${key}`, JSON.stringify(results), { EX: Math.ceil(ttlSeconds) }),
    );
  }

  async invalidateAll(): Promise<void> {
    const client = await this.#ready();
    await this.#bounded(client.incr(`${this.prefix}:gen`));
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    if (client.isReady) await client.close().catch(() => client.destroy());
    else client.destroy();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):([^@]+)@/, '//$1:***@');
}
