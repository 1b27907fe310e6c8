/** A tenant's audit trail: list it, and verify its hash chain. Rows are written by audited.service.ts. */
import type { AuditLogFilters } from '../domain/schemas/audit-log.schema.ts';
import type {
  AuditLog,
  AuditLogRepository,
  ChainVerification,
} from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';

export class AuditLogService {
  constructor(private readonly auditLogs: AuditLogRepository) {}

  list(tenantId: string, opts: ListOptions<AuditLogFilters> = {}): Promise<Page<AuditLog>> {
    return this.auditLogs.list(tenantId, opts);
  }

  verify(tenantId: string): Promise<ChainVerification> {
    return this.auditLogs.verifyChain(tenantId);
  }
}
