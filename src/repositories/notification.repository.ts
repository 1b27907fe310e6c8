import { and, eq, isNull, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { notifications } from '../db/schema/index.ts';
import { NotFoundError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import { uuidSchema } from '../domain/schemas/common.schema.ts';
import {
  notificationCreateSchema,
  notificationFiltersSchema,
  type NotificationCreate,
  type NotificationFilters,
} from '../domain/schemas/notification.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, listPage, planList, type ListOptions, type Page } from './base.ts';

export type Notification = typeof notifications.$inferSelect;

/** A user's inbox: addressed to them, or to every member of the tenant. */
const inboxOf = (userId: string) => or(eq(notifications.userId, userId), isNull(notifications.userId));

/**
 * Seed 001 notifications. `is_read` is one flag per row: marking a notification addressed to every member
 * read marks it read for all of them (there are no per-user read receipts).
 */
export class NotificationRepository {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, id: string): Promise<Notification | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(notifications)
        .where(and(eq(notifications.tenantId, tenantId), eq(notifications.id, id)));
      return row;
    });
  }

  async list(tenantId: string, opts: ListOptions<NotificationFilters> = {}): Promise<Page<Notification>> {
    const f = parseInput(notificationFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        created_at: notifications.createdAt,
        severity: notifications.severity,
        read_at: notifications.readAt,
      },
      '-created_at',
      notifications.id,
    );
    return this.db.tenant(tenantId, (tx) =>
      listPage<Notification>(
        tx,
        notifications,
        allOf(
          eq(notifications.tenantId, tenantId),
          f.severity && eq(notifications.severity, f.severity),
          f.isRead !== undefined && eq(notifications.isRead, f.isRead),
          f.userId && inboxOf(f.userId),
        ),
        plan,
      ),
    );
  }

  async create(tenantId: string, input: NotificationCreate): Promise<Notification> {
    const v = parseInput(notificationCreateSchema, input, 'notification');
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .insert(notifications)
        .values({ ...v, tenantId })
        .returning();
      return row!;
    });
  }

  /** Mark one notification read; the first read time is kept. */
  async markRead(tenantId: string, id: string): Promise<Notification> {
    if (!isUuid(id)) throw new NotFoundError('notification', id);
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .update(notifications)
        .set({ isRead: true, readAt: sql`coalesce(${notifications.readAt}, now())` })
        .where(and(eq(notifications.tenantId, tenantId), eq(notifications.id, id)))
        .returning();
      if (!row) throw new NotFoundError('notification', id);
      return row;
    });
  }

  /** Mark every unread notification of the tenant (or of one user's inbox) read; returns how many. */
  async markAllRead(tenantId: string, userId?: string): Promise<number> {
    const user = userId === undefined ? undefined : parseInput(uuidSchema, userId, 'user id');
    return this.db.tenant(tenantId, async (tx) => {
      const changed = await tx
        .update(notifications)
        .set({ isRead: true, readAt: sql`now()` })
        .where(
          allOf(eq(notifications.tenantId, tenantId), eq(notifications.isRead, false), user && inboxOf(user)),
        )
        .returning({ id: notifications.id });
      return changed.length;
    });
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('notification', id);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(notifications)
        .where(and(eq(notifications.tenantId, tenantId), eq(notifications.id, id)))
        .returning({ id: notifications.id });
      if (gone.length === 0) throw new NotFoundError('notification', id);
    });
  }
}
