import { and, count, eq, getTableColumns, ilike, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { apiKeys } from '../db/schema/index.ts';
import { NotFoundError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  apiKeyFiltersSchema,
  apiKeyRecordSchema,
  type ApiKeyFilters,
  type ApiKeyRecord,
} from '../domain/schemas/auth.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, likeEscape, planList, type ListOptions, type Page } from './base.ts';

/** An API key row as stored, hash included: only for the authentication path. */
export type ApiKey = typeof apiKeys.$inferSelect;
/** An API key without its hash: what lists, creates and revokes return. */
export type ApiKeyPublic = Omit<ApiKey, 'keyHash'>;

const { keyHash: _keyHash, ...publicColumns } = getTableColumns(apiKeys);

const HASH_RE = /^[0-9a-f]{64}$/;

/** `last_used_at` is written at most once per this interval per key: authentication is a read path. */
export const TOUCH_INTERVAL_MS = 60_000;

/** Machine credentials of a tenant. Tenant-scoped under row-level security: every method runs in db.tenant. */
export class ApiKeyRepository {
  constructor(private readonly db: Database) {}

  async create(tenantId: string, input: ApiKeyRecord): Promise<ApiKeyPublic> {
    const v = parseInput(apiKeyRecordSchema, input, 'API key');
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .insert(apiKeys)
        .values({ ...v, tenantId })
        .returning(publicColumns);
      return row!;
    });
  }

  async get(tenantId: string, id: string): Promise<ApiKeyPublic | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select(publicColumns)
        .from(apiKeys)
        .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id)));
      return row;
    });
  }

  /** Never selects the key hash. Newest first by default; revoked keys only with `includeRevoked`. */
  async list(tenantId: string, opts: ListOptions<ApiKeyFilters> = {}): Promise<Page<ApiKeyPublic>> {
    const f = parseInput(apiKeyFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        name: apiKeys.name,
        created_at: apiKeys.createdAt,
        expires_at: apiKeys.expiresAt,
        last_used_at: apiKeys.lastUsedAt,
      },
      '-created_at',
      apiKeys.id,
    );
    const where = allOf(
      eq(apiKeys.tenantId, tenantId),
      !f.includeRevoked && isNull(apiKeys.revokedAt),
      f.q && ilike(apiKeys.name, `%${likeEscape(f.q)}%`),
    );
    return this.db.tenant(tenantId, async (tx) => {
      const [items, totals] = await Promise.all([
        tx
          .select(publicColumns)
          .from(apiKeys)
          .where(where)
          .orderBy(...plan.order)
          .limit(plan.limit)
          .offset(plan.offset),
        tx.select({ n: count() }).from(apiKeys).where(where),
      ]);
      return { items, total: Number(totals[0]?.n ?? 0), limit: plan.limit, offset: plan.offset };
    });
  }

  /** The authentication path: the key whose SHA-256 is `hash`, in this tenant only, whatever its state. */
  async getByHash(tenantId: string, hash: string): Promise<ApiKey | undefined> {
    if (!HASH_RE.test(hash)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(apiKeys)
        .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.keyHash, hash)));
      return row;
    });
  }

  /**
   * Stamp `last_used_at`, at most once a minute per key (a busy log shipper does not write on every request).
   * Returns whether the row was written.
   */
  async touch(tenantId: string, id: string, at: Date = new Date()): Promise<boolean> {
    if (!isUuid(id)) return false;
    const before = new Date(at.getTime() - TOUCH_INTERVAL_MS);
    return this.db.tenant(tenantId, async (tx) => {
      const done = await tx
        .update(apiKeys)
        .set({ lastUsedAt: at })
        .where(
          and(
            eq(apiKeys.tenantId, tenantId),
            eq(apiKeys.id, id),
            or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, before)),
          ),
        )
        .returning({ id: apiKeys.id });
      return done.length === 1;
    });
  }

  /** Revoke a key: it stops working at once. Idempotent: revoking a revoked key keeps its first time. */
  async revoke(tenantId: string, id: string): Promise<ApiKeyPublic> {
    if (!isUuid(id)) throw new NotFoundError('api_key', id);
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .update(apiKeys)
        .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
        .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id)))
        .returning(publicColumns);
      if (!row) throw new NotFoundError('api_key', id);
      return row;
    });
  }
}
