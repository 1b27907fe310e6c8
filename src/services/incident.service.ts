/**
 * Incidents of a tenant: audited CRUD (tenant-crud.service.ts). Status changes go through
 * IncidentRepository.update, which derives the response and resolution times and appends the timeline
 * entry; the acting principal's name is the timeline's actor.
 */
import type { Database } from '../db/client.ts';
import type { IncidentCreate, IncidentFilters, IncidentUpdate } from '../domain/schemas/incident.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { Incident, IncidentRepository } from '../repositories/incident.repository.ts';
import { TenantCrudService } from './tenant-crud.service.ts';

export class IncidentService extends TenantCrudService<
  Incident,
  IncidentCreate,
  IncidentUpdate,
  IncidentFilters
> {
  constructor(db: Database, incidents: IncidentRepository, auditLogs: AuditLogRepository) {
    super(db, incidents, auditLogs, 'incident');
  }
}
