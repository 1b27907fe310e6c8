/**
 * The shape every tenant-scoped resource service shares: reads go to the repository, and every write runs
 * through `audited` so the change and its audit row commit (or roll back) together. A resource's service
 * extends this and adds only what is its own (acknowledge, link, versions...), using `this.audit(...)`.
 */
import type { Database } from '../db/client.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import { audited, type Actor, type AuditedOperation, type AuditedOutcome } from './audited.service.ts';

/** What a tenant-scoped repository offers; `actor` is passed to those that record who changed a row. */
export interface TenantCrudRepository<Row, Create, Update, Filters> {
  get(tenantId: string, id: string): Promise<Row | undefined>;
  list(tenantId: string, opts?: ListOptions<Filters>): Promise<Page<Row>>;
  create(tenantId: string, input: Create, actor: string): Promise<Row>;
  update(tenantId: string, id: string, patch: Update, actor: string): Promise<Row>;
  delete(tenantId: string, id: string): Promise<void>;
}

export class TenantCrudService<Row extends object, Create, Update, Filters> {
  constructor(
    protected readonly db: Database,
    protected readonly repo: TenantCrudRepository<Row, Create, Update, Filters>,
    protected readonly auditLogs: AuditLogRepository,
    /** The audit rows' resource_type, and the name in not-found errors. */
    protected readonly resource: string,
  ) {}

  list(tenantId: string, opts: ListOptions<Filters> = {}): Promise<Page<Row>> {
    return this.repo.list(tenantId, opts);
  }

  /** Throws NotFoundError for an unknown id (or another tenant's). */
  async get(tenantId: string, id: string): Promise<Row> {
    const row = await this.repo.get(tenantId, id);
    if (!row) throw new NotFoundError(this.resource, id);
    return row;
  }

  create(tenantId: string, input: Create, actor: Actor): Promise<Row> {
    return this.audit(tenantId, actor, 'create', undefined, async () => {
      const row = await this.repo.create(tenantId, input, actor.principal.name);
      return { result: row, after: row };
    });
  }

  update(tenantId: string, id: string, patch: Update, actor: Actor): Promise<Row> {
    return this.audit(tenantId, actor, 'update', id, async () => {
      const before = await this.get(tenantId, id);
      const after = await this.repo.update(tenantId, id, patch, actor.principal.name);
      return { result: after, before, after };
    });
  }

  delete(tenantId: string, id: string, actor: Actor): Promise<void> {
    return this.audit(tenantId, actor, 'delete', id, async () => {
      const before = await this.get(tenantId, id);
      await this.repo.delete(tenantId, id);
      return { result: undefined, before };
    });
  }

  /** Run a write of this resource with its audit row, in one transaction. */
  protected audit<T>(
    tenantId: string,
    actor: Actor,
    action: AuditedOperation['action'],
    resourceId: string | undefined,
    fn: () => Promise<AuditedOutcome<T>>,
    description?: string,
  ): Promise<T> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      {
        action,
        resourceType: this.resource,
        ...(resourceId ? { resourceId } : {}),
        ...(description ? { description } : {}),
      },
      fn,
    );
  }
}
