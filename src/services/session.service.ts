/**
 * Working sessions (seed 003) of the calling user: a caller sees and changes only its OWN sessions in the
 * tenant (another user's session is a 404, as if it did not exist). API keys have no user, so no sessions:
 * a 403. Every write is audited in the same transaction (audited.service.ts).
 */
import type { Database } from '../db/client.ts';
import { ForbiddenError, NotFoundError } from '../domain/errors.ts';
import type { Principal } from '../domain/permissions.ts';
import type { SessionFilters, SessionUpdate } from '../domain/schemas/session.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { Session, SessionRepository } from '../repositories/session.repository.ts';
import { audited, type Actor } from './audited.service.ts';

const RESOURCE = 'session';

/** What a caller may set on create: the owner is always the caller. */
export interface OwnSessionCreate {
  threadId?: string | null | undefined;
  context?: Record<string, unknown> | null | undefined;
  title?: string | null | undefined;
}

/** The user id behind a principal; API keys have none and own no sessions. */
function ownerOf(principal: Principal): string {
  if (principal.kind !== 'user') throw new ForbiddenError('sessions belong to users: an API key has none');
  return principal.id;
}

export class SessionService {
  constructor(
    private readonly db: Database,
    private readonly sessions: SessionRepository,
    private readonly auditLogs: AuditLogRepository,
  ) {}

  /** The caller's sessions in the tenant (a `userId` filter is replaced by the caller's own id). */
  list(
    tenantId: string,
    principal: Principal,
    opts: ListOptions<Omit<SessionFilters, 'userId'>> = {},
  ): Promise<Page<Session>> {
    const userId = ownerOf(principal);
    return this.sessions.list(tenantId, { ...opts, filters: { ...opts.filters, userId } });
  }

  /** Throws NotFoundError for an unknown id, another tenant's, or another user's. */
  async get(tenantId: string, principal: Principal, id: string): Promise<Session> {
    const userId = ownerOf(principal);
    const row = await this.sessions.get(tenantId, id);
    if (!row || row.userId !== userId) throw new NotFoundError(RESOURCE, id);
    return row;
  }

  create(tenantId: string, input: OwnSessionCreate, actor: Actor): Promise<Session> {
    const userId = ownerOf(actor.principal);
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'create', resourceType: RESOURCE },
      async () => {
        const row = await this.sessions.create(tenantId, { ...input, userId });
        return { result: row, after: row };
      },
    );
  }

  update(tenantId: string, id: string, patch: SessionUpdate, actor: Actor): Promise<Session> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'update', resourceType: RESOURCE, resourceId: id },
      async () => {
        const before = await this.get(tenantId, actor.principal, id);
        const after = await this.sessions.update(tenantId, id, patch);
        return { result: after, before, after };
      },
    );
  }

  /** Ends the session; ending an ended one changes nothing (and writes no audit row). */
  end(tenantId: string, id: string, actor: Actor): Promise<Session> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'update', resourceType: RESOURCE, resourceId: id, description: 'ended session' },
      async () => {
        const before = await this.get(tenantId, actor.principal, id);
        const after = await this.sessions.end(tenantId, id);
        return { result: after, before, after };
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
        const before = await this.get(tenantId, actor.principal, id);
        await this.sessions.delete(tenantId, id);
        return { result: undefined, before };
      },
    );
  }
}
