/** Sources (log-producing assets) of a tenant: audited CRUD (tenant-crud.service.ts). */
import type { Database } from '../db/client.ts';
import type { SourceCreate, SourceFilters, SourceUpdate } from '../domain/schemas/source.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { Source, SourceRepository } from '../repositories/source.repository.ts';
import { TenantCrudService } from './tenant-crud.service.ts';

export class SourceService extends TenantCrudService<Source, SourceCreate, SourceUpdate, SourceFilters> {
  constructor(db: Database, sources: SourceRepository, auditLogs: AuditLogRepository) {
    super(db, sources, auditLogs, 'source');
  }
}
