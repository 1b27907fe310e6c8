/**
 * Tenants as the API shows them: an sre sees every tenant; a user sees the tenants it is a member of; an API
 * key sees its own tenant. Creating, changing and deleting tenants are platform operations (tenants:write):
 * create and update are audited in the affected tenant (the new one, for a create), in the same transaction;
 * a delete takes the tenant's audit trail with it, so it is logged with the application logger instead.
 */
import type { Logger } from '../config/logger.ts';
import type { Database } from '../db/client.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import type { Principal } from '../domain/permissions.ts';
import type { TenantCreate, TenantFilters, TenantUpdate } from '../domain/schemas/tenant.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { MembershipRepository } from '../repositories/membership.repository.ts';
import type { Tenant, TenantRepository } from '../repositories/tenant.repository.ts';
import { audited, type Actor } from './audited.service.ts';

const RESOURCE = 'tenant';

export class TenantService {
  constructor(
    private readonly db: Database,
    private readonly tenants: TenantRepository,
    private readonly memberships: MembershipRepository,
    private readonly auditLogs: AuditLogRepository,
    private readonly logger: Logger,
  ) {}

  /** Every tenant for an sre; otherwise the caller's own tenants, filtered and paged here. */
  async list(principal: Principal, opts: ListOptions<TenantFilters> = {}): Promise<Page<Tenant>> {
    if (principal.platformRole === 'sre') return this.tenants.list(opts);
    const limit = Number(opts.limit ?? 50);
    const offset = Number(opts.offset ?? 0);
    const { status, q } = opts.filters ?? {};
    const needle = q?.toLowerCase();
    const own = (await this.#visibleIds(principal)).map((id) => this.tenants.get(id));
    const rows = (await Promise.all(own))
      .filter((t): t is Tenant => !!t)
      .filter((t) => !status || t.status === status)
      .filter(
        (t) => !needle || t.slug.toLowerCase().includes(needle) || t.name.toLowerCase().includes(needle),
      )
      .sort((a, b) => a.slug.localeCompare(b.slug));
    return { items: rows.slice(offset, offset + limit), total: rows.length, limit, offset };
  }

  /** A tenant the caller may see; any other is NotFound. */
  async get(principal: Principal, id: string): Promise<Tenant> {
    const visible = principal.platformRole === 'sre' || (await this.#visibleIds(principal)).includes(id);
    const row = visible ? await this.tenants.get(id) : undefined;
    if (!row) throw new NotFoundError(RESOURCE, id);
    return row;
  }

  /** Creates a tenant; audited in the new tenant. A taken slug is a Conflict. */
  create(input: TenantCreate, actor: Actor): Promise<Tenant> {
    return this.db.tx(async () => {
      if (await this.tenants.getBySlug(input.slug)) {
        throw new ConflictError(`tenant slug ${input.slug} is taken`, 'slug');
      }
      const row = await this.tenants.create(input);
      return audited(
        this.db,
        this.auditLogs,
        row.id,
        platformActor(actor.principal, row.id),
        actor.meta,
        { action: 'create', resourceType: RESOURCE, resourceId: row.id },
        async () => ({ result: row, after: row }),
      );
    });
  }

  /** Changes a tenant; audited in that tenant. */
  update(id: string, patch: TenantUpdate, actor: Actor): Promise<Tenant> {
    return this.db.tx(async () => {
      const before = await this.tenants.get(id);
      if (!before) throw new NotFoundError(RESOURCE, id);
      if (patch.slug && patch.slug !== before.slug && (await this.tenants.getBySlug(patch.slug))) {
        throw new ConflictError(`tenant slug ${patch.slug} is taken`, 'slug');
      }
      return audited(
        this.db,
        this.auditLogs,
        id,
        platformActor(actor.principal, id),
        actor.meta,
        { action: 'update', resourceType: RESOURCE, resourceId: id },
        async () => {
          const after = await this.tenants.update(id, patch);
          return { result: after, before, after };
        },
      );
    });
  }

  /** Deletes a tenant and everything it owns (its audit trail too): logged, not audited. */
  async delete(id: string, actor: Actor): Promise<void> {
    const before = await this.tenants.get(id);
    if (!before) throw new NotFoundError(RESOURCE, id);
    await this.tenants.delete(id);
    this.logger.warn(
      {
        event: 'tenant_deleted',
        tenantId: id,
        slug: before.slug,
        actor: actor.principal.name,
        userId: actor.principal.kind === 'user' ? actor.principal.id : null,
        ip: actor.meta.ip ?? null,
      },
      `tenant ${before.slug} deleted by ${actor.principal.name}`,
    );
  }

  /** Ids of the tenants a non-sre caller may see: an API key its own, a user its memberships. */
  async #visibleIds(principal: Principal): Promise<string[]> {
    if (principal.kind === 'api_key') return principal.tenantId ? [principal.tenantId] : [];
    return (await this.memberships.listForUser(principal.id)).map((m) => m.tenantId);
  }
}

/** The caller, acting on `tenantId` as a platform operation: what the tenant's audit row records. */
function platformActor(principal: Principal, tenantId: string): Principal {
  return {
    ...principal,
    tenantId,
    crossTenant: principal.crossTenant || principal.tenantId !== tenantId,
  };
}
