import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { mapDbError } from '../db/errors.ts';
import { sessions } from '../db/schema/index.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  sessionCreateSchema,
  sessionFiltersSchema,
  sessionUpdateSchema,
  type SessionCreate,
  type SessionFilters,
  type SessionUpdate,
} from '../domain/schemas/session.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, listPage, planList, type ListOptions, type Page } from './base.ts';

/** Seed 003 session: a user's working session in one tenant (LangGraph thread, context). */
export type Session = typeof sessions.$inferSelect;

/** A missing user is a bad `userId`, named as the caller spelled it. */
function sessionError(e: unknown, userId: string): unknown {
  const mapped = mapDbError(e);
  if (mapped instanceof ValidationError && mapped.issues.some((i) => i.path === 'user_id')) {
    return new ValidationError(`user ${userId} does not exist`, [
      { path: 'userId', message: 'referenced row does not exist' },
    ]);
  }
  return mapped;
}

/** `is_active = false` exactly when `ended_at` is set: the first end wins, later ends keep its time. */
const endedNow = sql`coalesce(${sessions.endedAt}, now())`;

export class SessionRepository {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, id: string): Promise<Session | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(sessions)
        .where(and(eq(sessions.tenantId, tenantId), eq(sessions.id, id)));
      return row;
    });
  }

  async list(tenantId: string, opts: ListOptions<SessionFilters> = {}): Promise<Page<Session>> {
    const f = parseInput(sessionFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        created_at: sessions.createdAt,
        updated_at: sessions.updatedAt,
        ended_at: sessions.endedAt,
        title: sessions.title,
      },
      '-created_at',
      sessions.id,
    );
    return this.db.tenant(tenantId, (tx) =>
      listPage<Session>(
        tx,
        sessions,
        allOf(
          eq(sessions.tenantId, tenantId),
          f.userId && eq(sessions.userId, f.userId),
          f.isActive !== undefined && eq(sessions.isActive, f.isActive),
          f.threadId && eq(sessions.threadId, f.threadId),
        ),
        plan,
      ),
    );
  }

  async create(tenantId: string, input: SessionCreate): Promise<Session> {
    const v = parseInput(sessionCreateSchema, input, 'session');
    try {
      return await this.db.tenant(tenantId, async (tx) => {
        const [row] = await tx
          .insert(sessions)
          .values({ ...v, tenantId })
          .returning();
        return row!;
      });
    } catch (e) {
      throw sessionError(e, v.userId);
    }
  }

  /** `isActive: false` ends the session (as `end` does); `isActive: true` reopens it. */
  async update(tenantId: string, id: string, patch: SessionUpdate): Promise<Session> {
    const v = definedOnly(parseInput(sessionUpdateSchema, patch, 'session'));
    if (!isUuid(id)) throw new NotFoundError('session', id);
    return this.db.tenant(tenantId, async (tx) => {
      if (Object.keys(v).length === 0) {
        const current = await this.get(tenantId, id);
        if (!current) throw new NotFoundError('session', id);
        return current;
      }
      const endedAt = v.isActive === undefined ? undefined : v.isActive ? null : endedNow;
      const [row] = await tx
        .update(sessions)
        .set(endedAt === undefined ? v : { ...v, endedAt })
        .where(and(eq(sessions.tenantId, tenantId), eq(sessions.id, id)))
        .returning();
      if (!row) throw new NotFoundError('session', id);
      return row;
    });
  }

  /** Ends a session. Idempotent: ending an ended session changes nothing and returns it as it is. */
  async end(tenantId: string, id: string): Promise<Session> {
    if (!isUuid(id)) throw new NotFoundError('session', id);
    return this.db.tenant(tenantId, async (tx) => {
      const [ended] = await tx
        .update(sessions)
        .set({ isActive: false, endedAt: endedNow })
        .where(and(eq(sessions.tenantId, tenantId), eq(sessions.id, id), eq(sessions.isActive, true)))
        .returning();
      if (ended) return ended;
      const current = await this.get(tenantId, id);
      if (!current) throw new NotFoundError('session', id);
      return current;
    });
  }

  /** Ends every active session of one user in this tenant (logout everywhere); returns how many. */
  async endAllForUser(tenantId: string, userId: string): Promise<number> {
    if (!isUuid(userId)) return 0;
    return this.db.tenant(tenantId, async (tx) => {
      const ended = await tx
        .update(sessions)
        .set({ isActive: false, endedAt: endedNow })
        .where(and(eq(sessions.tenantId, tenantId), eq(sessions.userId, userId), eq(sessions.isActive, true)))
        .returning({ id: sessions.id });
      return ended.length;
    });
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('session', id);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(sessions)
        .where(and(eq(sessions.tenantId, tenantId), eq(sessions.id, id)))
        .returning({ id: sessions.id });
      if (gone.length === 0) throw new NotFoundError('session', id);
    });
  }
}
