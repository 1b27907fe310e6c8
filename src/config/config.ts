/**
 * Configuration (seed 002's ConfigManager): defaults <- YAML file <- environment, validated once at start
 * into one typed, frozen Config object. A bad value fails with a message naming the key and where it came from.
 *
 * Environment:
 *   PORT, HOST                 server.port / server.host
 *   DATABASE_URL               database.url (unset: embedded PGlite in database.dataDir)
 *   DATABASE_ECHO=true         database.echo (log SQL)
 *   VIGIL_DATA_DIR             data directory (default ./data): PGlite in <dir>/pg, DuckDB in <dir>/logs.duckdb
 *   LOG_LEVEL, LOG_FORMAT      logging.level, logging.format (json | pretty)
 *   REDIS_URL                  cache.redisUrl
 *   VIGIL_LOG_STORE            logs.store (duckdb | postgres)
 *   LOG_TIMEZONE               logs.timezone (IANA zone for offset-less log timestamps)
 *   VIGIL_CONFIG               path of the YAML file (default ./vigil.yaml when it exists)
 *   VIGIL__SECTION__KEY=value  any other key, e.g. VIGIL__DATABASE__POOL__MAX=20
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, type FieldIssue } from '../domain/errors.ts';

const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v)),
]);
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const configSchema = z
  .object({
    env: z.enum(['development', 'production', 'test']).default('development'),
    dataDir: z.string().min(1).default('./data'),
    server: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: int(0, 65535).default(8080),
        bodyLimitBytes: int(1024, 1024 * 1024 * 1024).default(10 * 1024 * 1024),
        corsOrigins: z.array(z.string()).default([]),
        trustProxy: bool.default(false),
        shutdownGraceMs: int(0, 600_000).default(10_000),
      })
      .strict()
      .prefault({}),
    database: z
      .object({
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
          .optional(),
        /** PGlite data directory; default <dataDir>/pg. `memory://` keeps it in memory. */
        dataDir: z.string().min(1).optional(),
        echo: bool.default(false),
        /**
         * The non-owner role application transactions switch to, so row-level security applies to them.
         * `none` when the login role itself owns no table (a dedicated application login).
         */
        appRole: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a PostgreSQL role name, or none')
          .default('vigil_app'),
        pool: z
          .object({
            max: int(1, 1000).default(10),
            idleTimeoutMs: int(0, 3_600_000).default(30_000),
            maxLifetimeSeconds: int(0, 86_400).default(300),
            connectionTimeoutMs: int(0, 600_000).default(10_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** json in production, pretty (human-readable) in development. */
        format: z.enum(['json', 'pretty']).optional(),
      })
      .strict()
      .prefault({}),
    auth: z
      .object({
        /**
         * HMAC secret for access tokens (at least 32 characters). Unset: a random one is generated on first
         * start and kept in <dataDir>/jwt-secret (mode 0600).
         */
        jwtSecret: z.string().min(32, 'at least 32 characters').optional(),
        accessTtlSeconds: int(60, 86_400).default(900),
        refreshTtlSeconds: int(300, 90 * 86_400).default(7 * 86_400),
        /** Failed logins for one account before it is locked for lockoutSeconds. */
        maxFailedLogins: int(1, 1000).default(5),
        lockoutSeconds: int(1, 86_400).default(900),
        /** Failed logins from one IP address within ipWindowSeconds before that address is refused. */
        maxFailedLoginsPerIp: int(1, 100_000).default(20),
        ipWindowSeconds: int(1, 86_400).default(600),
      })
      .strict()
      .prefault({}),
    logs: z
      .object({
        /** Where events live: the embedded DuckDB file, or the relational PostgreSQL/PGlite database. */
        store: z.enum(['duckdb', 'postgres']).default('duckdb'),
        /** DuckDB file; default <dataDir>/logs.duckdb. */
        path: z.string().min(1).optional(),
        /**
         * DuckDB's memory limit (its buffer pool), e.g. `1GB`: bounds the store's memory whatever the input size.
         * DuckDB's own default is 80% of RAM.
         */
        memoryLimit: z
          .string()
          .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 512MB or 2GB')
          .default('1GB'),
        /** IANA time zone for timestamps that carry no offset (RFC 3164, Apache). */
        timezone: z
          .string()
          .min(1)
          .refine((tz) => {
            try {
              new Intl.DateTimeFormat('en-US', { timeZone: tz });
              return true;
            } catch {
              return false;
            }
          }, 'an IANA time zone such as UTC or Europe/Paris')
          .default('UTC'),
        /**
         * Events per store transaction for files and stdin; unset: the store's preferred size (DuckDB 122,880,
         * one row group; PostgreSQL 20,000).
         */
        batchSize: int(1, 200_000).optional(),
        /**
         * Parse files on a worker thread (frame, parse, normalise, id, encode), so the main thread only stores:
         * the two halves of the pipeline run on two cores. Files smaller than workerMinBytes are parsed in place
         * (a worker takes a few hundred milliseconds to start).
         */
        workerThread: bool.default(true),
        workerMinBytes: int(0, Number.MAX_SAFE_INTEGER).default(4 * 1024 * 1024),
        /** Records per part the worker posts; the main thread joins parts into batches of batchSize. */
        workerPartSize: int(1, 200_000).default(20_480),
        /** A longer record is quarantined as `oversized`. */
        maxRecordBytes: int(256, 64 * 1024 * 1024).default(1024 * 1024),
        /** Bytes of a rejected record kept in the quarantine (its real size is kept too). */
        quarantineMaxBytes: int(0, 16 * 1024 * 1024).default(64 * 1024),
        console: z
          .object({
            maxRows: int(1, 1_000_000).default(1000),
            timeoutMs: int(100, 600_000).default(10_000),
          })
          .strict()
          .prefault({}),
        /** The periodic fetcher (seed 002): hands new events to consumers (detection) every interval. */
        fetcher: z
          .object({
            enabled: bool.default(true),
            intervalSeconds: int(1, 86_400).default(60),
            batchSize: int(1, 1_000_000).default(10_000),
          })
          .strict()
          .prefault({}),
        /** The retention purge job: deletes each tenant's events older than its retention_days. */
        retention: z
          .object({
            enabled: bool.default(true),
            intervalSeconds: int(60, 7 * 86_400).default(3600),
          })
          .strict()
          .prefault({}),
        /** Syslog receiver (RFC 5426 UDP, RFC 6587 TCP); off by default. */
        syslog: z
          .object({
            enabled: bool.default(false),
            host: z.string().min(1).default('0.0.0.0'),
            /** 0 picks a free port; unset disables that transport. */
            udpPort: int(0, 65535).optional(),
            tcpPort: int(0, 65535).optional(),
            /** Tenant (slug or id) that received messages belong to. */
            tenant: z.string().min(1).default('default'),
            /** Source (name or id) of that tenant to attribute messages to. */
            source: z.string().min(1).optional(),
            format: z.enum(['auto', 'syslog', 'rfc3164', 'rfc5424', 'cef', 'json', 'text']).default('auto'),
            maxMessageBytes: int(256, 16 * 1024 * 1024).default(64 * 1024),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** The detection engine (Sigma and the other rule types), scheduled over the log store. */
    detection: z
      .object({
        /** Run enabled rules over new events every interval (started by `vigil serve`). */
        enabled: bool.default(true),
        intervalSeconds: int(1, 86_400).default(60),
        /** Events one rule evaluates in one run at most (a backlog is caught up over several runs). */
        maxEventsPerRun: int(1, 100_000_000).default(1_000_000),
        /** Matched events kept on one alert. */
        maxEventIdsPerAlert: int(1, 10_000).default(100),
        /** Alerts of one rule with the same entities within this window are grouped (count, last_seen). */
        suppressionWindowSeconds: int(0, 30 * 86_400).default(3600),
        /** Consecutive failures of one rule's range before it is recorded as a gap and skipped. */
        maxAttempts: int(1, 100).default(3),
        /** Values of Sigma `expand` placeholders: `%Admins_Workstations%` -> a list of values. */
        placeholders: z
          .record(z.string().min(1).max(128), z.array(z.string().max(4096)).max(10_000))
          .default({}),
      })
      .strict()
      .prefault({}),
    cache: z
      .object({
        redisUrl: z
          .string()
          .regex(/^rediss?:\/\//, 'must be a redis:// URL')
          .optional(),
        /** Seconds a cached search result is served (seed 004 search_cache; Redis EX). */
        searchTtlSeconds: int(1, 86_400 * 30).default(300),
        /** Namespace of the search cache keys in Redis: <prefix>:gen and <prefix>:<gen>:<sha256>. */
        redisPrefix: z
          .string()
          .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, colon, underscore, dash (at most 64)')
          .default('vigil:search'),
        /** Bound on connecting to Redis and on each cache command; past it the search goes to the database. */
        redisTimeoutMs: int(10, 60_000).default(500),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema> & {
  /** Where each key's value came from, for messages: `env PORT`, `vigil.yaml`. */
  readonly origin: Readonly<Record<string, string>>;
  /** Dot-notation access: config.get('database.pool.max'). */
  get(path: string): unknown;
};

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string[], value: unknown) {
  let cur = tree;
  for (const k of path.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k] as Tree;
  }
  cur[path.at(-1)!] = value;
}

function flatten(tree: unknown, prefix = '', out: string[] = []): string[] {
  if (tree && typeof tree === 'object' && !Array.isArray(tree)) {
    for (const [k, v] of Object.entries(tree)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out.push(prefix);
  return out;
}

const camel = (s: string) => s.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

const ENV_KEYS: Record<string, string> = {
  NODE_ENV: 'env',
  PORT: 'server.port',
  HOST: 'server.host',
  DATABASE_URL: 'database.url',
  DATABASE_ECHO: 'database.echo',
  VIGIL_DATA_DIR: 'dataDir',
  LOG_LEVEL: 'logging.level',
  LOG_FORMAT: 'logging.format',
  REDIS_URL: 'cache.redisUrl',
  VIGIL_JWT_SECRET: 'auth.jwtSecret',
  CORS_ORIGINS: 'server.corsOrigins',
  VIGIL_LOG_STORE: 'logs.store',
  LOG_TIMEZONE: 'logs.timezone',
};

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Explicit YAML path (--config). */
  file?: string | undefined;
  /** Values that win over everything (CLI flags). */
  overrides?: Tree;
  cwd?: string;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const raw: Tree = {};
  const origin: Record<string, string> = {};

  const file =
    opts.file ?? env.VIGIL_CONFIG ?? (existsSync(resolve(cwd, 'vigil.yaml')) ? 'vigil.yaml' : undefined);
  if (file) {
    const path = resolve(cwd, file);
    if (!existsSync(path))
      throw new ConfigError(`config file ${file} does not exist`, [{ path: 'config', message: 'not found' }]);
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new ConfigError(`config file ${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    if (doc !== null && doc !== undefined) {
      if (typeof doc !== 'object' || Array.isArray(doc))
        throw new ConfigError(`config file ${file} must hold a mapping`);
      for (const k of flatten(doc)) origin[k] = file;
      Object.assign(raw, doc);
    }
  }

  const fromEnv = (name: string, path: string, value: string) => {
    const val =
      path === 'server.corsOrigins'
        ? value
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : value;
    setPath(raw, path.split('.'), val);
    origin[path] = `env ${name}`;
  };
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (name.startsWith('VIGIL__')) {
      fromEnv(name, name.slice(7).split('__').map(camel).join('.'), value);
    }
  }
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv(name, path, value);
  }
  for (const k of flatten(opts.overrides ?? {})) origin[k] = 'command line';
  if (opts.overrides) deepMerge(raw, opts.overrides);

  const r = configSchema.safeParse(raw);
  if (!r.success) {
    const issues: FieldIssue[] = r.error.issues.map((i) => {
      const path = i.path.map(String).join('.');
      let message = i.message;
      if (i.code === 'unrecognized_keys') message = `unknown key(s): ${i.keys.join(', ')}`;
      const from = origin[path] ? ` (from ${origin[path]})` : '';
      return { path, message: `${message}${from}` };
    });
    const list = issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${list}`, issues);
  }
  const data = r.data;
  if (!data.database.dataDir) data.database.dataDir = resolve(cwd, data.dataDir, 'pg');
  if (!data.logs.path) data.logs.path = resolve(cwd, data.dataDir, 'logs.duckdb');
  if (!data.logging.format) data.logging.format = data.env === 'production' ? 'json' : 'pretty';
  const cfg = {
    ...data,
    origin,
    get(path: string): unknown {
      return path
        .split('.')
        .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Tree)[k] : undefined), cfg);
    },
  } as Config;
  return Object.freeze(cfg);
}

function deepMerge(into: Tree, from: Tree) {
  for (const [k, v] of Object.entries(from)) {
    if (v && typeof v === 'object' && !Array.isArray(v) && into[k] && typeof into[k] === 'object') {
      deepMerge(into[k] as Tree, v as Tree);
    } else if (v !== undefined) into[k] = v;
  }
}

/** The config as printable JSON, with secrets (passwords in URLs) redacted. */
export function redactedConfig(cfg: Config): Record<string, unknown> {
  const redact = (u: string | undefined) => u?.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
  const { get: _get, origin: _origin, ...rest } = cfg;
  return {
    ...rest,
    database: { ...rest.database, url: redact(rest.database.url) },
    cache: { ...rest.cache, redisUrl: redact(rest.cache.redisUrl) },
    auth: { ...rest.auth, jwtSecret: rest.auth.jwtSecret ? '***' : undefined },
  };
}
