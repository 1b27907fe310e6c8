/**
 * Detection rules of a tenant: audited CRUD (tenant-crud.service.ts). Every edit goes through
 * RuleRepository.update, which keeps the previous row in rule_versions and bumps `version`; the acting
 * principal's name is recorded as the author of the change.
 */
import type { Database } from '../db/client.ts';
import type { RuleCreate, RuleFilters, RuleUpdate } from '../domain/schemas/rule.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { Rule, RuleRepository, RuleVersion } from '../repositories/rule.repository.ts';
import { TenantCrudService } from './tenant-crud.service.ts';

export class RuleService extends TenantCrudService<Rule, RuleCreate, RuleUpdate, RuleFilters> {
  constructor(
    db: Database,
    private readonly rules: RuleRepository,
    auditLogs: AuditLogRepository,
  ) {
    super(db, rules, auditLogs, 'rule');
  }

  /** The saved versions of a rule, newest first. Throws NotFoundError for an unknown rule. */
  async versions(tenantId: string, id: string): Promise<RuleVersion[]> {
    await this.get(tenantId, id);
    return this.rules.listVersions(tenantId, id);
  }
}
