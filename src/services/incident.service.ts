/**
 * Incidents of a tenant. Status changes go through IncidentRepository.update, which derives the response and
 * resolution times and appends the timeline entry; the acting principal's name is the timeline's actor.
 * Every write is audited in the same transaction (audited.service.ts).
 */
import type { Database } from '../db/client.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { IncidentCreate, IncidentFilters, IncidentUpdate } from '../domain/schemas/incident.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { Incident, IncidentRepository } from '../repositories/incident.repository.ts';
import { audited, type Actor } from './audited.service.ts';

const RESOURCE = 'incident';

export class IncidentService {
  constructor(
    private readonly db: Database,
    private readonly incidents: IncidentRepository,
    private readonly auditLogs: AuditLogRepository,
  ) {}

  list(tenantId: string, opts: ListOptions<IncidentFilters> = {}): Promise<Page<Incident>> {
    return this.incidents.list(tenantId, opts);
  }

  /** Throws NotFoundError for an unknown id (or another tenant's). */
  async get(tenantId: string, id: string): Promise<Incident> {
    const row = await this.incidents.get(tenantId, id);
    if (!row) throw new NotFoundError(RESOURCE, id);
    return row;
  }

  create(tenantId: string, input: IncidentCreate, actor: Actor): Promise<Incident> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'create', resourceType: RESOURCE },
      async () => {
        const row = await this.incidents.create(tenantId, input, actor.principal.name);
        return { result: row, after: row };
      },
    );
  }

  update(tenantId: string, id: string, patch: IncidentUpdate, actor: Actor): Promise<Incident> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'update', resourceType: RESOURCE, resourceId: id },
      async () => {
        const before = await this.get(tenantId, id);
        const after = await this.incidents.update(tenantId, id, patch, actor.principal.name);
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
        await this.incidents.delete(tenantId, id);
        return { result: undefined, before };
      },
    );
  }
}
