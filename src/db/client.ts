/**
 * The relational client: one code path over PGlite (embedded, in-process PostgreSQL) and PostgreSQL (pg pool).
 *
 * Transactions and the tenant context travel with the async call chain (AsyncLocalStorage): a repository
 * method calls `db.tenant(tenantId, fn)` or `db.tx(fn)`, and if a service already opened a transaction for
 * the same tenant, the repository joins it. That is how a change and its audit row commit together.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { btree_gin } from '@electric-sql/pglite/contrib/btree_gin';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { sql, type Logger as DrizzleLogger } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import pg from 'pg';
import type { ExtractTablesWithRelations } from 'drizzle-orm';
import { ValidationError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import * as schema from './schema/index.ts';
import { mapDbError } from './errors.ts';

export type Schema = typeof schema;
export type DrizzleDb = PgDatabase<PgQueryResultHKT, Schema>;
export type DrizzleTx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** What repositories build queries on: the ambient transaction, or the database itself. */
export type Executor = DrizzleDb | DrizzleTx;

export type Engine = 'pglite' | 'postgres';

export interface DatabaseOptions {
  /** postgres://... selects PostgreSQL; undefined selects PGlite. */
  url?: string | undefined;
  /** PGlite data directory; `memory://` (or undefined) keeps it in memory. */
  dataDir?: string | undefined;
  /** Log every SQL statement (DATABASE_ECHO). */
  echo?: boolean;
  logger?: { debug: (obj: object, msg?: string) => void; info: (obj: object, msg?: string) => void };
  pool?: {
    max?: number;
    idleTimeoutMs?: number;
    /** Recycle connections after this many seconds (seed 001: pool_recycle=300). */
    maxLifetimeSeconds?: number;
    connectionTimeoutMs?: number;
  };
  applicationName?: string;
  /**
   * The non-owner role that application transactions run as, so row-level security applies (migration 0005).
   * Set to null when the login role itself owns nothing (a dedicated application login).
   */
  appRole?: string | null;
}

/** A connection (or transaction) for raw SQL: parameterised queries, or parameterless scripts. */
export interface RawQueryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  exec(text: string): Promise<void>;
}

type Echo = (text: string, params?: unknown[]) => void;

interface TxContext {
  tx: DrizzleTx;
  tenantId: string | null;
  platform: boolean;
}

export interface HealthInfo {
  ok: boolean;
  engine: Engine;
  serverVersion: string;
  database: string;
  tableCount: number;
  latencyMs: number;
  pool?: { total: number; idle: number; waiting: number; max: number };
  error?: string;
}

export class Database {
  readonly #als = new AsyncLocalStorage<TxContext>();
  #closed = false;
  /** Whether the app role exists and has been granted this schema (undefined: not checked yet). */
  #roleReady: boolean | undefined;
  #appRole: string | null = 'vigil_app';

  private constructor(
    readonly engine: Engine,
    readonly db: DrizzleDb,
    private readonly closeFn: () => Promise<void>,
    private readonly rawQuery: (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
    private readonly rawExec: (text: string) => Promise<void>,
    private readonly rawTx: <T>(fn: (q: RawQueryable) => Promise<T>) => Promise<T>,
    readonly pool?: pg.Pool,
    private readonly echo?: Echo,
  ) {}

  static async open(opts: DatabaseOptions = {}): Promise<Database> {
    const database = await Database.#connect(opts);
    if (opts.appRole !== undefined) database.#appRole = opts.appRole;
    return database;
  }

  static async #connect(opts: DatabaseOptions): Promise<Database> {
    // DATABASE_ECHO: every statement is logged, from drizzle and from the raw paths (migrations, health).
    const log = opts.logger;
    const echo: Echo | undefined = opts.echo
      ? (text, params) =>
          log ? log.info({ sql: text, params }, 'sql') : console.error('[sql]', text, params ?? [])
      : undefined;
    const drizzleLogger: DrizzleLogger | undefined = echo ? { logQuery: (q, p) => echo(q, p) } : undefined;

    if (opts.url) {
      const p = opts.pool ?? {};
      const pool = new pg.Pool({
        connectionString: opts.url,
        max: p.max ?? 10,
        idleTimeoutMillis: p.idleTimeoutMs ?? 30_000,
        maxLifetimeSeconds: p.maxLifetimeSeconds ?? 300,
        connectionTimeoutMillis: p.connectionTimeoutMs ?? 10_000,
        application_name: opts.applicationName ?? 'vigil',
        keepAlive: true,
      });
      // An idle client that dies (server restart, network) is dropped by the pool; log instead of crashing.
      pool.on('error', (err) => opts.logger?.debug({ err }, 'idle database connection error'));
      const db = drizzleNodePg(pool, { schema, logger: drizzleLogger }) as unknown as DrizzleDb;
      const database = new Database(
        'postgres',
        db,
        () => pool.end(),
        async (text, params) => (await pool.query(text, params as unknown[])).rows,
        async (text) => {
          await pool.query(text);
        },
        async (fn) => {
          const conn = await pool.connect();
          try {
            await conn.query('begin');
            const result = await fn({
              query: async <R>(text: string, params?: unknown[]) =>
                (await conn.query(text, params as unknown[])).rows as R[],
              exec: async (text: string) => {
                await conn.query(text);
              },
            });
            await conn.query('commit');
            return result;
          } catch (e) {
            await conn.query('rollback').catch(() => undefined);
            throw e;
          } finally {
            conn.release();
          }
        },
        pool,
        echo,
      );
      // Fail fast with a clear message when the server is unreachable.
      await database.ping();
      return database;
    }

    const dataDir = opts.dataDir && opts.dataDir !== 'memory://' ? opts.dataDir : undefined;
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    const client = await PGlite.create(dataDir ?? 'memory://', { extensions: { pg_trgm, btree_gin } });
    const db = drizzlePglite(client, { schema, logger: drizzleLogger }) as unknown as DrizzleDb;
    return new Database(
      'pglite',
      db,
      () => client.close(),
      async (text, params) => (await client.query<Record<string, unknown>>(text, params as unknown[])).rows,
      async (text) => {
        await client.exec(text);
      },
      (fn) =>
        client.transaction((t) =>
          fn({
            query: async <R>(text: string, params?: unknown[]) =>
              (await t.query<R>(text, params as unknown[])).rows,
            exec: async (text: string) => {
              await t.exec(text);
            },
          }),
        ),
      undefined,
      echo,
    );
  }

  /** The ambient transaction if any, else the database. */
  get executor(): Executor {
    return this.#als.getStore()?.tx ?? this.db;
  }

  /** The tenant of the ambient transaction, if one is set. */
  get currentTenant(): string | null {
    return this.#als.getStore()?.tenantId ?? null;
  }

  /** Run `fn` in a transaction: joins the ambient one, or starts a new one. */
  async tx<T>(fn: (tx: DrizzleTx) => Promise<T>): Promise<T> {
    const ctx = this.#als.getStore();
    if (ctx) return this.#joined(() => fn(ctx.tx));
    return this.#run(null, false, fn);
  }

  /**
   * Run `fn` in the platform scope: system jobs (feed imports, expiry) that write global intel data.
   * Never used for a request: row-level security lets only this scope write vulnerabilities, techniques,
   * EPSS scores and global indicators.
   */
  async platform<T>(fn: (tx: DrizzleTx) => Promise<T>): Promise<T> {
    const ctx = this.#als.getStore();
    if (!ctx) return this.#run(null, true, fn);
    if (ctx.platform) return this.#joined(() => fn(ctx.tx));
    await this.#setScope(ctx.tx, ctx.tenantId, true);
    ctx.platform = true;
    try {
      return await this.#joined(() => fn(ctx.tx));
    } finally {
      await this.#setScope(ctx.tx, ctx.tenantId, false);
      ctx.platform = false;
    }
  }

  /**
   * Run `fn` in a transaction bound to one tenant: `vigil.tenant_id` is set for the transaction, which the
   * row-level security policies read. Joins an ambient transaction of the same tenant; refuses to mix tenants.
   */
  async tenant<T>(tenantId: string, fn: (tx: DrizzleTx) => Promise<T>): Promise<T> {
    if (!isUuid(tenantId))
      throw new ValidationError(`invalid tenant id: ${tenantId}`, [
        { path: 'tenantId', message: 'must be a UUID' },
      ]);
    const ctx = this.#als.getStore();
    if (ctx) {
      if (ctx.tenantId === tenantId) return this.#joined(() => fn(ctx.tx));
      if (ctx.tenantId === null) {
        await this.#setScope(ctx.tx, tenantId, ctx.platform);
        ctx.tenantId = tenantId;
        try {
          return await this.#joined(() => fn(ctx.tx));
        } finally {
          await this.#setScope(ctx.tx, null, ctx.platform);
          ctx.tenantId = null;
        }
      }
      throw new Error(`transaction already bound to tenant ${ctx.tenantId}, cannot switch to ${tenantId}`);
    }
    return this.#run(tenantId, false, fn);
  }

  /** Inside an ambient transaction: driver errors still reach the caller as domain errors. */
  async #joined<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw mapDbError(e);
    }
  }

  /** Role, tenant and scope of the current transaction, in one statement. */
  async #setScope(
    tx: DrizzleTx,
    tenantId: string | null,
    platform: boolean,
    withRole = false,
  ): Promise<void> {
    const role = withRole && (await this.#useRole(tx)) ? this.#appRole : null;
    await tx.execute(
      role
        ? sql`select set_config('role', ${role}, true), set_config('vigil.tenant_id', ${tenantId ?? ''}, true),
                     set_config('vigil.platform', ${platform ? 'on' : ''}, true)`
        : sql`select set_config('vigil.tenant_id', ${tenantId ?? ''}, true),
                     set_config('vigil.platform', ${platform ? 'on' : ''}, true)`,
    );
  }

  /**
   * Whether to switch to the app role. Asked through the running transaction when there is one: on PGlite a
   * query on the client from inside a transaction would wait for that very transaction.
   */
  async #useRole(tx?: DrizzleTx): Promise<boolean> {
    if (!this.#appRole) return false;
    if (this.#roleReady === undefined) {
      const role = this.#appRole;
      const check = sql`select (to_regclass('tenants') is not null
                and exists (select 1 from pg_roles where rolname = ${role})
                and has_table_privilege(${role}, 'tenants', 'SELECT')) as ready`;
      const rows = tx
        ? ((await tx.execute(check)) as unknown as { rows: { ready: boolean }[] }).rows
        : ((await this.db.execute(check)) as unknown as { rows: { ready: boolean }[] }).rows;
      this.#roleReady = rows[0]?.ready === true;
    }
    return this.#roleReady;
  }

  /** Forget what was learnt about the app role (after migrations ran). */
  schemaChanged(): void {
    this.#roleReady = undefined;
  }

  /** The role application transactions run as, or null when they run as the login role. */
  async effectiveAppRole(): Promise<string | null> {
    return (await this.#useRole()) ? this.#appRole : null;
  }

  async #run<T>(tenantId: string | null, platform: boolean, fn: (tx: DrizzleTx) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(async (tx) => {
        await this.#setScope(tx as DrizzleTx, tenantId, platform, true);
        return this.#als.run({ tx: tx as DrizzleTx, tenantId, platform }, () => fn(tx as DrizzleTx));
      });
    } catch (e) {
      throw mapDbError(e);
    }
  }

  /**
   * A raw parameterised query as the login role (the table owner in the embedded and test setups): for
   * tooling only (migrations, health, tests that inspect or tamper). Joins no transaction and is not subject
   * to row-level security; application code goes through `tenant`, `tx` or `platform`.
   */
  async query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]> {
    this.echo?.(text, params);
    try {
      return (await this.rawQuery(text, params)) as T[];
    } catch (e) {
      throw mapDbError(e);
    }
  }

  /**
   * Run raw statements on one connection inside one transaction (migrations). Joins no ambient context.
   */
  async rawTransaction<T>(fn: (q: RawQueryable) => Promise<T>): Promise<T> {
    const echo = this.echo;
    if (!echo) return this.rawTx(fn);
    return this.rawTx((q) =>
      fn({
        query: (text, params) => (echo(text, params), q.query(text, params)),
        exec: (text) => (echo(text), q.exec(text)),
      }),
    );
  }

  /** Execute a script of one or more statements with no parameters (migrations). */
  async exec(text: string): Promise<void> {
    this.echo?.(text);
    await this.rawExec(text);
  }

  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.rawQuery('select 1');
    return performance.now() - t0;
  }

  async health(): Promise<HealthInfo> {
    const info: HealthInfo = {
      ok: false,
      engine: this.engine,
      serverVersion: '',
      database: '',
      tableCount: 0,
      latencyMs: 0,
    };
    if (this.pool) {
      info.pool = {
        total: this.pool.totalCount,
        idle: this.pool.idleCount,
        waiting: this.pool.waitingCount,
        max: this.pool.options.max ?? 10,
      };
    }
    try {
      info.latencyMs = Math.round((await this.ping()) * 100) / 100;
      const [row] = await this.rawQuery(
        `select current_setting('server_version') as version, current_database() as db,
                (select count(*)::int from information_schema.tables
                  where table_schema = current_schema() and table_type = 'BASE TABLE') as tables`,
      );
      info.serverVersion = String(row?.version ?? '');
      info.database = String(row?.db ?? '');
      info.tableCount = Number(row?.tables ?? 0);
      info.ok = true;
    } catch (e) {
      info.error = e instanceof Error ? e.message : String(e);
    }
    return info;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.closeFn();
  }
}
