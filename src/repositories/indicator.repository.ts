import {
  and,
  eq,
  getTableColumns,
  gte,
  ilike,
  inArray,
  isNull,
  lte,
  ne,
  or,
  sql,
  type SQL,
} from 'drizzle-orm';
import type { Database, DrizzleTx } from '../db/client.ts';
import { indicators } from '../db/schema/index.ts';
import { NotFoundError, ValidationError, type FieldIssue } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  CASE_INSENSITIVE_INDICATOR_TYPES,
  canonicalIp,
  indicatorCreateSchema,
  indicatorFiltersSchema,
  indicatorLookupSchema,
  indicatorUpdateSchema,
  mappedCounterpart,
  type IndicatorCreate,
  type IndicatorFilters,
  type IndicatorUpdate,
} from '../domain/schemas/indicator.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, likeEscape, listPage, planList, type ListOptions, type Page } from './base.ts';

export type Indicator = typeof indicators.$inferSelect;
/** What a match reports of a live indicator. */
export type LiveIndicator = Pick<
  Indicator,
  'id' | 'type' | 'value' | 'source' | 'confidence' | 'threatType' | 'expiresAt'
>;

export interface UpsertError {
  /** Position of the input in the batch. */
  index: number;
  message: string;
  issues: FieldIssue[];
}

export interface UpsertResult {
  inserted: number;
  updated: number;
  /** Inputs repeating the identity of an earlier input of the same batch (the last one wins). */
  duplicates: number;
  failed: number;
  errors: UpsertError[];
}

/** Rows per INSERT: 16 columns each stays far below PostgreSQL's 65,535 parameters. */
const UPSERT_CHUNK = 1000;

/** Global feed rows (tenant_id null) plus the tenant's own. */
const visibleTo = (tenantId: string) => or(isNull(indicators.tenantId), eq(indicators.tenantId, tenantId));
const ownedBy = (tenantId: string) => eq(indicators.tenantId, tenantId);
/** Usable for matching: active, and not past its expiry. */
const live = () =>
  and(
    eq(indicators.status, 'active'),
    or(isNull(indicators.expiresAt), sql`${indicators.expiresAt} > now()`),
  );

/**
 * Indicators of compromise (seed 002 threat_intel merged with seed 004 iocs). A row is either global feed
 * data (tenant_id null, visible to every tenant, written only by feeds) or private to one tenant.
 * Values are stored in the normal form of `normalizeIndicatorValue`.
 */
export class IndicatorRepository {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, id: string): Promise<Indicator | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(indicators)
        .where(and(visibleTo(tenantId), eq(indicators.id, id)));
      return row;
    });
  }

  async list(tenantId: string, opts: ListOptions<IndicatorFilters> = {}): Promise<Page<Indicator>> {
    const f = parseInput(indicatorFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        created_at: indicators.createdAt,
        updated_at: indicators.updatedAt,
        first_seen: indicators.firstSeen,
        last_seen: indicators.lastSeen,
        expires_at: indicators.expiresAt,
        confidence: indicators.confidence,
        sightings: indicators.sightings,
        value: indicators.value,
        type: indicators.type,
      },
      '-created_at',
      indicators.id,
    );
    return this.db.tenant(tenantId, (tx) =>
      listPage<Indicator>(
        tx,
        indicators,
        allOf(
          visibleTo(tenantId),
          f.type && eq(indicators.type, f.type),
          f.status && eq(indicators.status, f.status),
          f.source && eq(indicators.source, f.source),
          f.threatType && eq(indicators.threatType, f.threatType),
          f.q && ilike(indicators.value, `%${likeEscape(f.q)}%`),
          f.minConfidence !== undefined && gte(indicators.confidence, f.minConfidence),
          !f.includeExpired &&
            and(
              ne(indicators.status, 'expired'),
              or(isNull(indicators.expiresAt), sql`${indicators.expiresAt} > now()`),
            ),
        ),
        plan,
      ),
    );
  }

  /** A tenant's private indicator. */
  async create(tenantId: string, input: IndicatorCreate): Promise<Indicator> {
    const v = parseInput(indicatorCreateSchema, input, 'indicator');
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .insert(indicators)
        .values({ ...v, tenantId })
        .returning();
      return row!;
    });
  }

  /** A global (feed) indicator; a second one with the same type, value and source is a Conflict. */
  async createGlobal(input: IndicatorCreate): Promise<Indicator> {
    const v = parseInput(indicatorCreateSchema, input, 'indicator');
    return this.db.platform(async (tx) => {
      const [row] = await tx
        .insert(indicators)
        .values({ ...v, tenantId: null })
        .returning();
      return row!;
    });
  }

  /**
   * Load a feed batch into the global indicators. An indicator already known (same type, value, source)
   * keeps its `first_seen` and gets the new `last_seen` (the later of the two), confidence, threat type,
   * expiry and status (the feed's word: an expired or inactive one it lists again becomes active again). Invalid inputs are reported, not fatal.
   */
  async upsertGlobal(inputs: readonly IndicatorCreate[]): Promise<UpsertResult> {
    const result: UpsertResult = { inserted: 0, updated: 0, duplicates: 0, failed: 0, errors: [] };
    const byIdentity = new Map<string, ReturnType<typeof indicatorCreateSchema.parse>>();
    inputs.forEach((input, index) => {
      try {
        const v = parseInput(indicatorCreateSchema, input, 'indicator');
        const key = `${v.type}\u0000${v.value}\u0000${v.source}`;
        if (byIdentity.has(key)) {
          result.duplicates += 1;
          byIdentity.delete(key); // re-insert so the last occurrence keeps its place
        }
        byIdentity.set(key, v);
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        result.failed += 1;
        result.errors.push({ index, message: e.message, issues: e.issues });
      }
    });
    const rows = [...byIdentity.values()];
    if (rows.length === 0) return result;

    await this.db.platform(async (tx) => {
      for (let i = 0; i < rows.length; i += UPSERT_CHUNK) {
        const now = new Date();
        const chunk = rows.slice(i, i + UPSERT_CHUNK).map((v) => ({
          ...v,
          tenantId: null,
          firstSeen: v.firstSeen ?? v.lastSeen ?? now,
          lastSeen: v.lastSeen ?? now,
        }));
        const written = await tx
          .insert(indicators)
          .values(chunk)
          .onConflictDoUpdate({
            target: [indicators.tenantId, indicators.type, indicators.value, indicators.source],
            set: {
              firstSeen: sql`coalesce(${indicators.firstSeen}, excluded.first_seen)`,
              lastSeen: sql`greatest(${indicators.lastSeen}, excluded.last_seen)`,
              confidence: sql`coalesce(excluded.confidence, ${indicators.confidence})`,
              threatType: sql`coalesce(excluded.threat_type, ${indicators.threatType})`,
              expiresAt: sql`excluded.expires_at`,
              // Global rows belong to their feed: the feed's latest word on the status wins, so an indicator a
              // feed lists again is active again (after expiry, or after a snapshot had dropped it).
              status: sql`excluded.status`,
              description: sql`coalesce(excluded.description, ${indicators.description})`,
              tags: sql`(select coalesce(jsonb_agg(distinct t.tag order by t.tag), '[]'::jsonb)
                           from jsonb_array_elements_text(${indicators.tags} || excluded.tags) as t(tag))`,
              metadata: sql`${indicators.metadata} || excluded.metadata`,
            },
          })
          // xmax is 0 for a freshly inserted row version, the updating transaction's id otherwise.
          .returning({ inserted: sql<boolean>`(xmax = 0)` });
        for (const w of written) {
          if (w.inserted) result.inserted += 1;
          else result.updated += 1;
        }
      }
    });
    return result;
  }

  /** Change a tenant's own indicator; global feed rows are not the tenant's to change (NotFound). */
  async update(tenantId: string, id: string, patch: IndicatorUpdate): Promise<Indicator> {
    const v = definedOnly(parseInput(indicatorUpdateSchema, patch, 'indicator'));
    if (!isUuid(id)) throw new NotFoundError('indicator', id);
    return this.db.tenant(tenantId, async (tx) => {
      const where = and(ownedBy(tenantId), eq(indicators.id, id));
      const [row] = Object.keys(v).length
        ? await tx.update(indicators).set(v).where(where).returning()
        : await tx.select().from(indicators).where(where);
      if (!row) throw new NotFoundError('indicator', id);
      return row;
    });
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('indicator', id);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(indicators)
        .where(and(ownedBy(tenantId), eq(indicators.id, id)))
        .returning({ id: indicators.id });
      if (gone.length === 0) throw new NotFoundError('indicator', id);
    });
  }

  /**
   * Count a sighting (a match in the tenant's data) of a global or own indicator.
   * Note: on a global row the counter is shared by every tenant.
   */
  async recordSighting(tenantId: string, id: string): Promise<Indicator> {
    if (!isUuid(id)) throw new NotFoundError('indicator', id);
    // A sighting of a global (feed) row updates that row: a narrow, system-controlled write done in the
    // platform scope, inside the tenant's transaction so the tenant's own rows stay visible too.
    return this.db.tenant(tenantId, () =>
      this.db.platform(async (tx) => {
        const [row] = await tx
          .update(indicators)
          .set({ sightings: sql`${indicators.sightings} + 1`, lastSeen: sql`now()` })
          .where(and(visibleTo(tenantId), eq(indicators.id, id)))
          .returning();
        if (!row) throw new NotFoundError('indicator', id);
        return row;
      }),
    );
  }

  /**
   * The live indicators (active, unexpired; global or the tenant's own) that match any of `values`:
   * equal values (IPs compared in canonical form; domains, e-mails and hashes case-insensitively), and
   * `cidr` indicators whose network contains a value that is an IP address. One query; at most
   * LOOKUP_MAX_VALUES values.
   */
  async lookup(tenantId: string, values: readonly string[]): Promise<Indicator[]> {
    const given = parseInput(indicatorLookupSchema, values, 'lookup values');
    if (given.length === 0) return [];
    const exact = new Set<string>();
    const lowered = new Set<string>();
    const ips = new Set<string>();
    for (const raw of given) {
      const s = raw.trim();
      if (!s) continue;
      exact.add(s);
      lowered.add(s.toLowerCase());
      const ip = canonicalIp(s);
      // An IPv4 address and its IPv4-mapped IPv6 form are one address (as for ioc_match's index): both forms
      // are looked up, equal and inside networks of either family.
      for (const form of ip ? [ip, mappedCounterpart(ip)] : []) {
        if (form === undefined) continue;
        ips.add(form);
        exact.add(form);
      }
    }
    if (exact.size === 0) return [];

    const matches: (SQL | undefined)[] = [
      inArray(indicators.value, [...exact]),
      and(
        inArray(indicators.type, CASE_INSENSITIVE_INDICATOR_TYPES),
        inArray(indicators.value, [...lowered]),
      ),
    ];
    if (ips.size) {
      const candidates = sql.join(
        [...ips].map((ip) => sql`${ip}::inet`),
        sql`, `,
      );
      // CASE keeps the cast away from values of other types (PostgreSQL may reorder AND operands).
      matches.push(sql`exists (select 1 from unnest(array[${candidates}]) as q(ip)
        where q.ip <<= case when ${indicators.type} = 'cidr' then ${indicators.value}::inet end)`);
    }
    return this.db.tenant(tenantId, (tx) =>
      tx
        .select(getTableColumns(indicators))
        .from(indicators)
        .where(and(visibleTo(tenantId), live(), or(...matches)))
        .orderBy(indicators.type, indicators.value, indicators.id),
    );
  }

  /**
   * A feed snapshot no longer lists them: mark `inactive` the active global indicators of `source` whose
   * (type, value) is not in `keep`. Returns how many changed. One statement; `keep` travels as one JSON
   * parameter, so its size is not bounded by PostgreSQL's parameter limit.
   */
  async deactivateMissing(
    source: string,
    keep: readonly { type: string; value: string }[],
    at: Date = new Date(),
  ): Promise<number> {
    const keys = JSON.stringify(keep.map((k) => `${k.type}\u0001${k.value}`));
    return this.db.platform(async (tx) => {
      const changed = await tx
        .update(indicators)
        .set({
          status: 'inactive',
          metadata: sql`${indicators.metadata} || jsonb_build_object('delisted_at', ${at.toISOString()}::text)`,
        })
        .where(
          and(
            isNull(indicators.tenantId),
            eq(indicators.source, source),
            eq(indicators.status, 'active'),
            sql`(${indicators.type}::text || chr(1) || ${indicators.value}) not in
                  (select jsonb_array_elements_text(${keys}::jsonb))`,
          ),
        )
        .returning({ id: indicators.id });
      return changed.length;
    });
  }

  /**
   * One page (keyset on id) of the live indicators a matcher keeps in memory: the global ones
   * (`tenantId` null) or one tenant's own. Only the columns a match reports.
   */
  async listLivePage(
    tenantId: string | null,
    after: string | undefined,
    limit: number,
  ): Promise<LiveIndicator[]> {
    const page = (tx: DrizzleTx) =>
      tx
        .select({
          id: indicators.id,
          type: indicators.type,
          value: indicators.value,
          source: indicators.source,
          confidence: indicators.confidence,
          threatType: indicators.threatType,
          expiresAt: indicators.expiresAt,
        })
        .from(indicators)
        .where(
          and(
            tenantId === null ? isNull(indicators.tenantId) : ownedBy(tenantId),
            live(),
            after === undefined ? undefined : sql`${indicators.id} > ${after}::uuid`,
          ),
        )
        .orderBy(indicators.id)
        .limit(limit);
    return tenantId === null ? this.db.platform(page) : this.db.tenant(tenantId, page);
  }

  /** Mark every indicator whose expiry has passed `now` as expired (all tenants and global); returns how many. */
  async expireDue(now: Date = new Date()): Promise<number> {
    return this.db.platform(async (tx) => {
      const changed = await tx
        .update(indicators)
        .set({ status: 'expired' })
        .where(and(ne(indicators.status, 'expired'), lte(indicators.expiresAt, now)))
        .returning({ id: indicators.id });
      return changed.length;
    });
  }
}
