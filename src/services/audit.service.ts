/** A tenant's audit trail: list it and verify its hash chain (rows are written by audited.service.ts). */
import { NotFoundError } from '../domain/errors.ts';
import type { AuditLogFilters } from '../domain/schemas/audit-log.schema.ts';
import type {
  AuditLog,
  AuditLogRepository,
  ChainVerification,
} from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { TenantRepository } from '../repositories/tenant.repository.ts';

export class AuditService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly auditLogs: AuditLogRepository,
  ) {}

  list(tenantId: string, opts: ListOptions<AuditLogFilters> = {}): Promise<Page<AuditLog>> {
    return this.auditLogs.list(tenantId, opts);
  }

  /** Verify the chain of the tenant a request acts in. */
  verifyTenant(tenantId: string): Promise<ChainVerification> {
    return this.auditLogs.verifyChain(tenantId);
  }

  /** Verify one tenant (by id or slug), or every tenant when none is named (CLI). */
  async verify(tenantRef?: string): Promise<(ChainVerification & { tenantSlug: string })[]> {
    const targets = [];
    if (tenantRef) {
      const t = await this.tenants.getByRef(tenantRef);
      if (!t) throw new NotFoundError('tenant', tenantRef);
      targets.push(t);
    } else {
      for (let offset = 0; ; offset += 500) {
        const page = await this.tenants.list({ limit: 500, offset, sort: 'slug' });
        targets.push(...page.items);
        if (offset + page.items.length >= page.total) break;
      }
    }
    const out = [];
    for (const t of targets) out.push({ ...(await this.auditLogs.verifyChain(t.id)), tenantSlug: t.slug });
    return out;
  }
}
