import { and, eq, ilike } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { sources } from '../db/schema/index.ts';
import { NotFoundError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  sourceCreateSchema,
  sourceFiltersSchema,
  sourceUpdateSchema,
  type SourceCreate,
  type SourceFilters,
  type SourceUpdate,
} from '../domain/schemas/source.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, likeEscape, listPage, planList, type ListOptions, type Page } from './base.ts';

export type Source = typeof sources.$inferSelect;

export class SourceRepository {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, id: string): Promise<Source | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(sources)
        .where(and(eq(sources.tenantId, tenantId), eq(sources.id, id)));
      return row;
    });
  }

  async list(tenantId: string, opts: ListOptions<SourceFilters> = {}): Promise<Page<Source>> {
    const f = parseInput(sourceFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        name: sources.name,
        type: sources.type,
        status: sources.status,
        criticality: sources.criticality,
        created_at: sources.createdAt,
        last_activity: sources.lastActivity,
      },
      'name',
      sources.id,
    );
    return this.db.tenant(tenantId, (tx) =>
      listPage<Source>(
        tx,
        sources,
        allOf(
          eq(sources.tenantId, tenantId),
          f.type && eq(sources.type, f.type),
          f.status && eq(sources.status, f.status),
          f.criticality && eq(sources.criticality, f.criticality),
          f.q && ilike(sources.name, `%${likeEscape(f.q)}%`),
        ),
        plan,
      ),
    );
  }

  async create(tenantId: string, input: SourceCreate): Promise<Source> {
    const v = parseInput(sourceCreateSchema, input, 'source');
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .insert(sources)
        .values({ ...v, tenantId })
        .returning();
      return row!;
    });
  }

  async update(tenantId: string, id: string, patch: SourceUpdate): Promise<Source> {
    const v = definedOnly(parseInput(sourceUpdateSchema, patch, 'source'));
    if (!isUuid(id)) throw new NotFoundError('source', id);
    return this.db.tenant(tenantId, async (tx) => {
      if (Object.keys(v).length === 0) {
        const current = await this.get(tenantId, id);
        if (!current) throw new NotFoundError('source', id);
        return current;
      }
      const [row] = await tx
        .update(sources)
        .set(v)
        .where(and(eq(sources.tenantId, tenantId), eq(sources.id, id)))
        .returning();
      if (!row) throw new NotFoundError('source', id);
      return row;
    });
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('source', id);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(sources)
        .where(and(eq(sources.tenantId, tenantId), eq(sources.id, id)))
        .returning({ id: sources.id });
      if (gone.length === 0) throw new NotFoundError('source', id);
    });
  }
}
