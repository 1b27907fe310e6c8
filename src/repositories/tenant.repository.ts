import { eq, ilike, or } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { tenants } from '../db/schema/index.ts';
import { NotFoundError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  tenantCreateSchema,
  tenantFiltersSchema,
  tenantUpdateSchema,
  type TenantCreate,
  type TenantFilters,
  type TenantUpdate,
} from '../domain/schemas/tenant.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, likeEscape, listPage, planList, type ListOptions, type Page } from './base.ts';

export type Tenant = typeof tenants.$inferSelect;

/** Tenants are the one platform-level aggregate: their methods are not tenant-scoped. */
export class TenantRepository {
  constructor(private readonly db: Database) {}

  async get(id: string): Promise<Tenant | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.tx((tx) => tx.select().from(tenants).where(eq(tenants.id, id)));
    return row;
  }

  async getBySlug(slug: string): Promise<Tenant | undefined> {
    const [row] = await this.db.tx((tx) => tx.select().from(tenants).where(eq(tenants.slug, slug)));
    return row;
  }

  /** By id or by slug: what a CLI `--tenant` argument accepts. */
  async getByRef(ref: string): Promise<Tenant | undefined> {
    return isUuid(ref) ? this.get(ref) : this.getBySlug(ref);
  }

  async list(opts: ListOptions<TenantFilters> = {}): Promise<Page<Tenant>> {
    const f = parseInput(tenantFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        slug: tenants.slug,
        name: tenants.name,
        created_at: tenants.createdAt,
        user_count: tenants.userCount,
      },
      'slug',
      tenants.id,
    );
    const q = f.q && `%${likeEscape(f.q)}%`;
    return this.db.tx((tx) =>
      listPage<Tenant>(
        tx,
        tenants,
        allOf(
          f.status && eq(tenants.status, f.status),
          q && or(ilike(tenants.name, q), ilike(tenants.slug, q)),
        ),
        plan,
      ),
    );
  }

  async create(input: TenantCreate): Promise<Tenant> {
    const v = parseInput(tenantCreateSchema, input, 'tenant');
    return this.db.tx(async (tx) => {
      const [row] = await tx.insert(tenants).values(v).returning();
      return row!;
    });
  }

  async update(id: string, patch: TenantUpdate): Promise<Tenant> {
    const v = definedOnly(parseInput(tenantUpdateSchema, patch, 'tenant'));
    return this.db.tx(async (tx) => {
      if (!isUuid(id)) throw new NotFoundError('tenant', id);
      const [row] = Object.keys(v).length
        ? await tx.update(tenants).set(v).where(eq(tenants.id, id)).returning()
        : await tx.select().from(tenants).where(eq(tenants.id, id));
      if (!row) throw new NotFoundError('tenant', id);
      return row;
    });
  }

  /** Deletes the tenant and, by cascade, everything it owns. */
  async delete(id: string): Promise<void> {
    return this.db.tx(async (tx) => {
      if (!isUuid(id)) throw new NotFoundError('tenant', id);
      const gone = await tx.delete(tenants).where(eq(tenants.id, id)).returning({ id: tenants.id });
      if (gone.length === 0) throw new NotFoundError('tenant', id);
    });
  }
}
