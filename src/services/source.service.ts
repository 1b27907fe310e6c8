/**
 * Sources (log-producing assets) of a tenant: reads go straight to the repository, every write is audited in
 * the same transaction (audited.service.ts).
 */
import type { Database } from '../db/client.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { SourceCreate, SourceFilters, SourceUpdate } from '../domain/schemas/source.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { Source, SourceRepository } from '../repositories/source.repository.ts';
import { audited, type Actor } from './audited.service.ts';

const RESOURCE = 'source';

export class SourceService {
  constructor(
    private readonly db: Database,
    private readonly sources: SourceRepository,
    private readonly auditLogs: AuditLogRepository,
  ) {}

  list(tenantId: string, opts: ListOptions<SourceFilters> = {}): Promise<Page<Source>> {
    return this.sources.list(tenantId, opts);
  }

  /** Throws NotFoundError for an unknown id (or another tenant's). */
  async get(tenantId: string, id: string): Promise<Source> {
    const row = await this.sources.get(tenantId, id);
    if (!row) throw new NotFoundError(RESOURCE, id);
    return row;
  }

  create(tenantId: string, input: SourceCreate, actor: Actor): Promise<Source> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'create', resourceType: RESOURCE },
      async () => {
        const row = await this.sources.create(tenantId, input);
        return { result: row, after: row };
      },
    );
  }

  update(tenantId: string, id: string, patch: SourceUpdate, actor: Actor): Promise<Source> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'update', resourceType: RESOURCE, resourceId: id },
      async () => {
        const before = await this.get(tenantId, id);
        const after = await this.sources.update(tenantId, id, patch);
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
        const before = await this.get(tenantId, id);
        await this.sources.delete(tenantId, id);
        return { result: undefined, before };
      },
    );
  }
}
