import { and, asc, count, eq, getTableColumns, ilike, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { mapDbError } from '../db/errors.ts';
import { memberships, tenants, users } from '../db/schema/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import type { MembershipRole, TenantStatus } from '../domain/enums.ts';
import { isUuid } from '../domain/ids.ts';
import {
  membershipAddSchema,
  membershipFiltersSchema,
  membershipUpdateSchema,
  type MembershipFilters,
} from '../domain/schemas/membership.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, likeEscape, planList, type ListOptions, type Page } from './base.ts';

export type Membership = typeof memberships.$inferSelect;

/** A membership with the member's public identity, as a tenant's member list shows it. */
export interface Member extends Membership {
  username: string;
  email: string;
  displayName: string | null;
}

/** One tenant a user belongs to, as a tenant switcher or the auth service needs it. */
export interface UserTenant {
  tenantId: string;
  slug: string;
  name: string;
  status: TenantStatus;
  role: MembershipRole;
  createdAt: Date;
}

const memberColumns = {
  ...getTableColumns(memberships),
  username: users.username,
  email: users.email,
  displayName: users.displayName,
};

/** A missing user is a bad `userId`, named as the caller spelled it. */
function memberError(e: unknown, userId: string): unknown {
  const mapped = mapDbError(e);
  if (mapped instanceof ValidationError && mapped.issues.some((i) => i.path === 'user_id')) {
    return new ValidationError(`user ${userId} does not exist`, [
      { path: 'userId', message: 'referenced row does not exist' },
    ]);
  }
  return mapped;
}

/** Who belongs to a tenant, with which role. Tenant-scoped, except `listForUser`. */
export class MembershipRepository {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, userId: string): Promise<Membership | undefined> {
    if (!isUuid(userId)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(memberships)
        .where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, userId)));
      return row;
    });
  }

  async list(tenantId: string, opts: ListOptions<MembershipFilters> = {}): Promise<Page<Member>> {
    const f = parseInput(membershipFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        username: users.username,
        email: users.email,
        display_name: users.displayName,
        role: memberships.role,
        created_at: memberships.createdAt,
      },
      'username',
      memberships.userId,
    );
    const q = f.q && `%${likeEscape(f.q)}%`;
    const where = allOf(
      eq(memberships.tenantId, tenantId),
      f.role && eq(memberships.role, f.role),
      q && or(ilike(users.username, q), ilike(users.email, q), ilike(users.displayName, q)),
    );
    return this.db.tenant(tenantId, async (tx) => {
      const [items, totals] = await Promise.all([
        tx
          .select(memberColumns)
          .from(memberships)
          .innerJoin(users, eq(users.id, memberships.userId))
          .where(where)
          .orderBy(...plan.order)
          .limit(plan.limit)
          .offset(plan.offset),
        tx
          .select({ n: count() })
          .from(memberships)
          .innerJoin(users, eq(users.id, memberships.userId))
          .where(where),
      ]);
      return { items, total: Number(totals[0]?.n ?? 0), limit: plan.limit, offset: plan.offset };
    });
  }

  /** Adds a member; an existing membership is a Conflict (change it with `updateRole`). */
  async add(tenantId: string, userId: string, role?: MembershipRole): Promise<Membership> {
    const v = parseInput(membershipAddSchema, { userId, role }, 'membership');
    try {
      return await this.db.tenant(tenantId, async (tx) => {
        // ON CONFLICT DO NOTHING keeps an ambient transaction usable when the member already exists.
        const [row] = await tx
          .insert(memberships)
          .values({ tenantId, userId: v.userId, role: v.role })
          .onConflictDoNothing({ target: [memberships.tenantId, memberships.userId] })
          .returning();
        if (!row) throw new ConflictError(`user ${v.userId} is already a member of this tenant`, 'userId');
        return row;
      });
    } catch (e) {
      throw memberError(e, v.userId);
    }
  }

  async updateRole(tenantId: string, userId: string, role: MembershipRole): Promise<Membership> {
    const v = parseInput(membershipUpdateSchema, { role }, 'membership');
    if (!isUuid(userId)) throw new NotFoundError('membership', userId);
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .update(memberships)
        .set({ role: v.role })
        .where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, userId)))
        .returning();
      if (!row) throw new NotFoundError('membership', userId);
      return row;
    });
  }

  async remove(tenantId: string, userId: string): Promise<void> {
    if (!isUuid(userId)) throw new NotFoundError('membership', userId);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(memberships)
        .where(and(eq(memberships.tenantId, tenantId), eq(memberships.userId, userId)))
        .returning({ userId: memberships.userId });
      if (gone.length === 0) throw new NotFoundError('membership', userId);
    });
  }

  /** The tenants a user belongs to (global: crosses tenants by design), ordered by slug. */
  async listForUser(userId: string): Promise<UserTenant[]> {
    if (!isUuid(userId)) return [];
    return this.db.tx(async (tx) => {
      // Row-level security lets a transaction that names the user see that user's memberships.
      await tx.execute(sql`select set_config('vigil.user_id', ${userId}, true)`);
      return tx
        .select({
          tenantId: memberships.tenantId,
          slug: tenants.slug,
          name: tenants.name,
          status: tenants.status,
          role: memberships.role,
          createdAt: memberships.createdAt,
        })
        .from(memberships)
        .innerJoin(tenants, eq(tenants.id, memberships.tenantId))
        .where(eq(memberships.userId, userId))
        .orderBy(asc(tenants.slug));
    });
  }
}
