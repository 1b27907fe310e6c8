/**
 * Members of a tenant, managed by its admins: list, set a user's role (adding the user when not yet a
 * member), remove. A tenant always keeps at least one admin: demoting or removing the last one is a
 * Conflict. Every change is audited in the same transaction (audited.service.ts), keyed by the user id.
 */
import type { Database } from '../db/client.ts';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import type { MembershipRole } from '../domain/enums.ts';
import type { MembershipFilters } from '../domain/schemas/membership.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { Member, Membership, MembershipRepository } from '../repositories/membership.repository.ts';
import { audited, type Actor } from './audited.service.ts';

const RESOURCE = 'membership';

export class MembershipService {
  constructor(
    private readonly db: Database,
    private readonly memberships: MembershipRepository,
    private readonly auditLogs: AuditLogRepository,
  ) {}

  list(tenantId: string, opts: ListOptions<MembershipFilters> = {}): Promise<Page<Member>> {
    return this.memberships.list(tenantId, opts);
  }

  /**
   * Give `userId` the role in the tenant: changes a member's role, or adds the user as a member.
   * An unknown user is NotFound.
   */
  setRole(tenantId: string, userId: string, role: MembershipRole, actor: Actor): Promise<Membership> {
    return this.db.tenant(tenantId, async () => {
      const before = await this.memberships.get(tenantId, userId);
      if (!before) {
        return audited(
          this.db,
          this.auditLogs,
          tenantId,
          actor.principal,
          actor.meta,
          { action: 'create', resourceType: RESOURCE, resourceId: userId },
          async () => {
            const row = await this.memberships.add(tenantId, userId, role).catch((e: unknown) => {
              if (e instanceof ValidationError && e.issues.some((i) => i.path === 'userId')) {
                throw new NotFoundError('user', userId);
              }
              throw e;
            });
            return { result: row, after: row };
          },
        );
      }
      return audited(
        this.db,
        this.auditLogs,
        tenantId,
        actor.principal,
        actor.meta,
        { action: 'update', resourceType: RESOURCE, resourceId: userId },
        async () => {
          if (before.role === 'admin' && role !== 'admin') await this.#keepAnAdmin(tenantId);
          const after = await this.memberships.updateRole(tenantId, userId, role);
          return { result: after, before, after };
        },
      );
    });
  }

  /** Removes a member; an unknown one (or another tenant's) is NotFound. */
  remove(tenantId: string, userId: string, actor: Actor): Promise<void> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'delete', resourceType: RESOURCE, resourceId: userId },
      async () => {
        const before = await this.memberships.get(tenantId, userId);
        if (!before) throw new NotFoundError(RESOURCE, userId);
        if (before.role === 'admin') await this.#keepAnAdmin(tenantId);
        await this.memberships.remove(tenantId, userId);
        return { result: undefined, before };
      },
    );
  }

  /** Refuses a change that would leave the tenant without an admin. */
  async #keepAnAdmin(tenantId: string): Promise<void> {
    const admins = await this.memberships.list(tenantId, { filters: { role: 'admin' }, limit: 2 });
    if (admins.total <= 1) {
      throw new ConflictError('a tenant keeps at least one admin: make another member admin first', 'role');
    }
  }
}
