/**
 * Notifications of a tenant. The addressee, when given, must be a member of the tenant. `is_read` is one
 * flag per row (NotificationRepository): marking read is a change of the notification, audited like one.
 * "Read all" marks the caller's inbox (the notifications addressed to the calling user, or to every member)
 * read; an API key, which has no inbox, marks the whole tenant's. Every write is audited in the same
 * transaction (audited.service.ts); a read-all that finds nothing unread leaves no row.
 */
import type { Database } from '../db/client.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import type { NotificationCreate, NotificationFilters } from '../domain/schemas/notification.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { MembershipRepository } from '../repositories/membership.repository.ts';
import type { Notification, NotificationRepository } from '../repositories/notification.repository.ts';
import { audited, type Actor } from './audited.service.ts';

const RESOURCE = 'notification';

export class NotificationService {
  constructor(
    private readonly db: Database,
    private readonly notifications: NotificationRepository,
    private readonly memberships: MembershipRepository,
    private readonly auditLogs: AuditLogRepository,
  ) {}

  list(tenantId: string, opts: ListOptions<NotificationFilters> = {}): Promise<Page<Notification>> {
    return this.notifications.list(tenantId, opts);
  }

  /** Throws NotFoundError for an unknown id (or another tenant's). */
  async get(tenantId: string, id: string): Promise<Notification> {
    const row = await this.notifications.get(tenantId, id);
    if (!row) throw new NotFoundError(RESOURCE, id);
    return row;
  }

  create(tenantId: string, input: NotificationCreate, actor: Actor): Promise<Notification> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'create', resourceType: RESOURCE },
      async () => {
        if (input.userId && !(await this.memberships.get(tenantId, input.userId))) {
          throw new ValidationError(`user ${input.userId} is not a member of this tenant`, [
            { path: 'userId', message: 'must be a member of the tenant' },
          ]);
        }
        const row = await this.notifications.create(tenantId, input);
        return { result: row, after: row };
      },
    );
  }

  /** Mark one notification read; the first read time is kept (marking again changes nothing). */
  markRead(tenantId: string, id: string, actor: Actor): Promise<Notification> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'update', resourceType: RESOURCE, resourceId: id, description: 'marked read' },
      async () => {
        const before = await this.get(tenantId, id);
        const after = await this.notifications.markRead(tenantId, id);
        return { result: after, before, after };
      },
    );
  }

  /** Mark the caller's inbox read (an API key: the whole tenant's); returns how many changed. */
  markAllRead(tenantId: string, actor: Actor): Promise<number> {
    const userId = actor.principal.kind === 'user' ? actor.principal.id : undefined;
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'update', resourceType: RESOURCE, description: 'marked all read' },
      async () => {
        const count = await this.notifications.markAllRead(tenantId, userId);
        return { result: count, before: { markedRead: 0 }, after: { markedRead: count } };
      },
    );
  }

  delete(tenantId: string, id: string, actor: Actor): Promise<void> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'delete', resourceType: RESOURCE, resourceId: id },
      async () => {
        const before = await this.get(tenantId, id);
        await this.notifications.delete(tenantId, id);
        return { result: undefined, before };
      },
    );
  }
}
