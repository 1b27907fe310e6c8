/**
 * Alerts of a tenant and their links to incidents: audited CRUD (tenant-crud.service.ts) plus acknowledging,
 * which records who (the acting principal's name) and when (AlertRepository.acknowledge), and linking, which
 * is audited as a change of the alert's `incidentIds`, so a link that already exists (or an acknowledgement
 * repeated) leaves no row.
 */
import type { Database } from '../db/client.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { AlertCreate, AlertFilters, AlertUpdate } from '../domain/schemas/alert.schema.ts';
import type { Alert, AlertIncidentLink, AlertRepository } from '../repositories/alert.repository.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { IncidentRepository } from '../repositories/incident.repository.ts';
import type { Actor } from './audited.service.ts';
import { TenantCrudService } from './tenant-crud.service.ts';

export class AlertService extends TenantCrudService<Alert, AlertCreate, AlertUpdate, AlertFilters> {
  constructor(
    db: Database,
    private readonly alerts: AlertRepository,
    private readonly incidents: IncidentRepository,
    auditLogs: AuditLogRepository,
  ) {
    super(db, alerts, auditLogs, 'alert');
  }

  /** The alerts linked to an incident, newest first. Throws NotFoundError for an unknown incident. */
  async listForIncident(tenantId: string, incidentId: string): Promise<Alert[]> {
    if (!(await this.incidents.get(tenantId, incidentId))) throw new NotFoundError('incident', incidentId);
    return this.alerts.listIncidentAlerts(tenantId, incidentId);
  }

  /** Acknowledged by the acting principal; acknowledging again changes nothing. */
  acknowledge(tenantId: string, id: string, actor: Actor): Promise<Alert> {
    return this.audit(
      tenantId,
      actor,
      'update',
      id,
      async () => {
        const before = await this.get(tenantId, id);
        const after = await this.alerts.acknowledge(tenantId, id, actor.principal.name);
        return { result: after, before, after };
      },
      'acknowledged',
    );
  }

  /** Link an alert to an incident of the same tenant (NotFound for either unknown); idempotent. */
  linkIncident(
    tenantId: string,
    alertId: string,
    incidentId: string,
    actor: Actor,
  ): Promise<AlertIncidentLink> {
    return this.audit(
      tenantId,
      actor,
      'update',
      alertId,
      async () => {
        const before = await this.#incidentIds(tenantId, alertId);
        const link = await this.alerts.linkIncident(tenantId, alertId, incidentId, actor.principal.name);
        const after = await this.#incidentIds(tenantId, alertId);
        return { result: link, before: { incidentIds: before }, after: { incidentIds: after } };
      },
      'linked to incident',
    );
  }

  /** Remove a link; NotFound for an unknown alert or when the alert is not linked to that incident. */
  unlinkIncident(tenantId: string, alertId: string, incidentId: string, actor: Actor): Promise<void> {
    return this.audit(
      tenantId,
      actor,
      'update',
      alertId,
      async () => {
        const before = await this.#incidentIds(tenantId, alertId);
        await this.alerts.unlinkIncident(tenantId, alertId, incidentId);
        const after = before.filter((i) => i !== incidentId);
        return { result: undefined, before: { incidentIds: before }, after: { incidentIds: after } };
      },
      'unlinked from incident',
    );
  }

  /** The ids of the incidents an alert is linked to (NotFound for an unknown alert). */
  async #incidentIds(tenantId: string, alertId: string): Promise<string[]> {
    await this.get(tenantId, alertId);
    const linked = await this.alerts.listAlertIncidents(tenantId, alertId);
    return linked.map((i) => i.id).sort();
  }
}
