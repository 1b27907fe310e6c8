/** The audit trail's integrity: verify each tenant's hash chain. */
import { NotFoundError } from '../domain/errors.ts';
import type { AuditLogRepository, ChainVerification } from '../repositories/audit-log.repository.ts';
import type { TenantRepository } from '../repositories/tenant.repository.ts';

export class AuditService {
  constructor(
    private readonly tenants: TenantRepository,
    private readonly auditLogs: AuditLogRepository,
  ) {}

  /** Verify one tenant (by id or slug), or every tenant when none is named. */
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
