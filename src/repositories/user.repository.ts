import { count, eq, getTableColumns, ilike, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { Database, DrizzleTx } from '../db/client.ts';
import { mapDbError } from '../db/errors.ts';
import { memberships, users } from '../db/schema/index.ts';
import { NotFoundError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  userCreateSchema,
  userFiltersSchema,
  userUpdateSchema,
  type UserCreate,
  type UserFilters,
  type UserUpdate,
} from '../domain/schemas/user.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, likeEscape, planList, type ListOptions, type Page } from './base.ts';

/** A user row as stored, password hash included: only for the authentication path. */
export type User = typeof users.$inferSelect;
/** A user without the password hash: what lists, creates and updates return, and what may leave the process. */
export type PublicUser = Omit<User, 'passwordHash'>;

/** Strip the password hash (and anything else secret) from a user row. */
export function toPublicUser(u: User): PublicUser {
  const { passwordHash: _hash, ...rest } = u;
  return rest;
}

const { passwordHash: _passwordHash, ...publicColumns } = getTableColumns(users);

/** Case-insensitive equality that the `lower(...)` unique indexes serve. */
const lowerEq = (col: typeof users.username | typeof users.email, value: string): SQL =>
  sql`lower(${col}) = lower(${value})`;

/** Users are a platform-level aggregate (like tenants): access to a tenant is a `membership`. */
export class UserRepository {
  constructor(private readonly db: Database) {}

  async get(id: string): Promise<User | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.tx((tx) => tx.select().from(users).where(eq(users.id, id)));
    return row;
  }

  async getByUsername(username: string): Promise<User | undefined> {
    const [row] = await this.db.tx((tx) =>
      tx.select().from(users).where(lowerEq(users.username, username.trim())),
    );
    return row;
  }

  async getByEmail(email: string): Promise<User | undefined> {
    const [row] = await this.db.tx((tx) => tx.select().from(users).where(lowerEq(users.email, email.trim())));
    return row;
  }

  /** What a login form accepts: a username or an email, case-insensitively. */
  async getByLogin(login: string): Promise<User | undefined> {
    const v = login.trim();
    if (!v) return undefined;
    return v.includes('@') ? this.getByEmail(v) : this.getByUsername(v);
  }

  /** Never selects the password hash. */
  async list(opts: ListOptions<UserFilters> = {}): Promise<Page<PublicUser>> {
    const f = parseInput(userFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        username: users.username,
        email: users.email,
        display_name: users.displayName,
        created_at: users.createdAt,
        last_login: users.lastLogin,
      },
      'username',
      users.id,
    );
    const q = f.q && `%${likeEscape(f.q)}%`;
    const page = async (tx: DrizzleTx): Promise<Page<PublicUser>> => {
      const where = allOf(
        f.isActive !== undefined && eq(users.isActive, f.isActive),
        f.platformRole && eq(users.platformRole, f.platformRole),
        q && or(ilike(users.username, q), ilike(users.email, q), ilike(users.displayName, q)),
        f.tenantId &&
          inArray(
            users.id,
            tx
              .select({ id: memberships.userId })
              .from(memberships)
              .where(eq(memberships.tenantId, f.tenantId)),
          ),
      );
      const [items, totals] = await Promise.all([
        tx
          .select(publicColumns)
          .from(users)
          .where(where)
          .orderBy(...plan.order)
          .limit(plan.limit)
          .offset(plan.offset),
        tx.select({ n: count() }).from(users).where(where),
      ]);
      return { items, total: Number(totals[0]?.n ?? 0), limit: plan.limit, offset: plan.offset };
    };
    // Members of one tenant: read inside that tenant's context (memberships are tenant-scoped).
    return f.tenantId ? this.db.tenant(f.tenantId, page) : this.db.tx(page);
  }

  async create(input: UserCreate): Promise<PublicUser> {
    const v = parseInput(userCreateSchema, input, 'user');
    try {
      return await this.db.tx(async (tx) => {
        const [row] = await tx.insert(users).values(v).returning(publicColumns);
        return row!;
      });
    } catch (e) {
      // `ux_users_username` / `ux_users_email` (unique on lower(...)) become a ConflictError naming the
      // field; mapped here too so a caller inside an ambient transaction gets the domain error.
      throw mapDbError(e);
    }
  }

  /** A new `passwordHash` also stamps `password_changed_at`. */
  async update(id: string, patch: UserUpdate): Promise<PublicUser> {
    const v = definedOnly(parseInput(userUpdateSchema, patch, 'user'));
    if (!isUuid(id)) throw new NotFoundError('user', id);
    try {
      return await this.db.tx(async (tx) => {
        const [row] = Object.keys(v).length
          ? await tx
              .update(users)
              .set(v.passwordHash ? { ...v, passwordChangedAt: sql`now()` } : v)
              .where(eq(users.id, id))
              .returning(publicColumns)
          : await tx.select(publicColumns).from(users).where(eq(users.id, id));
        if (!row) throw new NotFoundError('user', id);
        return row;
      });
    } catch (e) {
      // `ux_users_username` / `ux_users_email` (unique on lower(...)) become a ConflictError naming the
      // field; mapped here too so a caller inside an ambient transaction gets the domain error.
      throw mapDbError(e);
    }
  }

  /** Deletes the user; by cascade its memberships and sessions. Audit rows keep `user_id` NULL. */
  async delete(id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('user', id);
    return this.db.tx(async (tx) => {
      const gone = await tx.delete(users).where(eq(users.id, id)).returning({ id: users.id });
      if (gone.length === 0) throw new NotFoundError('user', id);
    });
  }

  /** A successful login: stamps `last_login`, clears the failure count and any lock. */
  async recordLogin(id: string, at: Date = new Date()): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('user', id);
    return this.db.tx(async (tx) => {
      const done = await tx
        .update(users)
        .set({ lastLogin: at, failedLoginCount: 0, lockedUntil: null })
        .where(eq(users.id, id))
        .returning({ id: users.id });
      if (done.length === 0) throw new NotFoundError('user', id);
    });
  }

  /** A failed login: increments `failed_login_count` atomically and returns the new count. */
  async recordFailedLogin(id: string): Promise<number> {
    if (!isUuid(id)) throw new NotFoundError('user', id);
    return this.db.tx(async (tx) => {
      const [row] = await tx
        .update(users)
        .set({ failedLoginCount: sql`${users.failedLoginCount} + 1` })
        .where(eq(users.id, id))
        .returning({ n: users.failedLoginCount });
      if (!row) throw new NotFoundError('user', id);
      return row.n;
    });
  }
}
