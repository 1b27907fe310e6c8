/**
 * Alerts (seed 002 store_alert / store_alerts_batch / fetch_alerts) and their links to incidents.
 *
 * A batch is all or nothing: every item is validated first (issues name the item: `3.priorityScore`),
 * then the rows go in with multi-row inserts inside one transaction.
 */
import { and, desc, eq, getTableColumns, gte, inArray, lt, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { Database, DrizzleTx } from '../db/client.ts';
import { alertIncidents, alerts, incidents, rules } from '../db/schema/index.ts';
import { NotFoundError, ValidationError, type FieldIssue } from '../domain/errors.ts';
import { isUuid, uuidv7 } from '../domain/ids.ts';
import {
  actorSchema,
  alertBatchSchema,
  alertCreateSchema,
  alertFiltersSchema,
  alertUpdateSchema,
  type AlertCreate,
  type AlertFilters,
  type AlertUpdate,
} from '../domain/schemas/alert.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, listPage, planList, type ListOptions, type Page } from './base.ts';

export type Alert = typeof alerts.$inferSelect;
export type AlertIncidentLink = typeof alertIncidents.$inferSelect;
type LinkedIncident = typeof incidents.$inferSelect;
type NewAlert = typeof alerts.$inferInsert;

export interface AlertRepositoryOptions {
  /** The clock for acknowledgements (tests pass a fixed one). */
  now?: () => Date;
}

/** Rows per INSERT statement: ~26 parameters a row stays far below PostgreSQL's 65,535 per statement. */
const INSERT_CHUNK = 1000;

export class AlertRepository {
  readonly #now: () => Date;

  constructor(
    private readonly db: Database,
    opts: AlertRepositoryOptions = {},
  ) {
    this.#now = opts.now ?? (() => new Date());
  }

  async get(tenantId: string, id: string): Promise<Alert | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(alerts)
        .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, id)));
      return row;
    });
  }

  /** Seed 002 fetch_alerts. */
  async list(tenantId: string, opts: ListOptions<AlertFilters> = {}): Promise<Page<Alert>> {
    const f = parseInput(alertFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        created_at: alerts.createdAt,
        updated_at: alerts.updatedAt,
        severity: alerts.severity,
        status: alerts.status,
        priority_score: alerts.priorityScore,
        first_seen: alerts.firstSeen,
        last_seen: alerts.lastSeen,
      },
      '-created_at',
      alerts.id,
    );
    return this.db.tenant(tenantId, (tx) =>
      listPage<Alert>(
        tx,
        alerts,
        allOf(
          eq(alerts.tenantId, tenantId),
          f.severity && eq(alerts.severity, f.severity),
          f.status && eq(alerts.status, f.status),
          f.acknowledged !== undefined && eq(alerts.acknowledged, f.acknowledged),
          f.ruleId && eq(alerts.ruleId, f.ruleId),
          f.sourceIp && eq(alerts.sourceIp, f.sourceIp),
          f.destIp && eq(alerts.destIp, f.destIp),
          f.userName && eq(alerts.userName, f.userName),
          f.host && eq(alerts.host, f.host),
          f.since && gte(alerts.createdAt, f.since),
          f.until && lt(alerts.createdAt, f.until),
          f.minPriority !== undefined && gte(alerts.priorityScore, f.minPriority),
        ),
        plan,
      ),
    );
  }

  /**
   * The open alert a new detection of the same thing (same dedup key) joins instead of raising another:
   * the most recent one raised or grown since `since` that nobody closed. Locked until the transaction ends.
   */
  async findGroup(tenantId: string, dedupKey: string, since: Date): Promise<Alert | undefined> {
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(alerts)
        .where(
          and(
            eq(alerts.tenantId, tenantId),
            eq(alerts.dedupKey, dedupKey),
            // Detection time (the row's last change), not event time: a late or replayed event still groups.
            gte(alerts.updatedAt, since),
            inArray(alerts.status, ['new', 'acknowledged', 'in_progress']),
          ),
        )
        .orderBy(desc(alerts.updatedAt))
        .limit(1)
        .for('update');
      return row;
    });
  }

  /** Add detections to a grouped alert: count, last_seen and (up to `maxEventIds`) the matched event ids. */
  async addToGroup(
    tenantId: string,
    id: string,
    add: { count: number; lastSeen: Date; eventIds: string[]; maxEventIds: number },
  ): Promise<Alert> {
    return this.db.tenant(tenantId, async (tx) => {
      const [cur] = await tx
        .select({ eventIds: alerts.eventIds, lastSeen: alerts.lastSeen })
        .from(alerts)
        .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, id)))
        .for('update');
      if (!cur) throw new NotFoundError('alert', id);
      const ids = [...new Set([...cur.eventIds, ...add.eventIds])].slice(0, add.maxEventIds);
      const lastSeen = add.lastSeen > cur.lastSeen ? add.lastSeen : cur.lastSeen;
      const [row] = await tx
        .update(alerts)
        .set({ count: sql`${alerts.count} + ${add.count}`, lastSeen, eventIds: ids })
        .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, id)))
        .returning();
      return row!;
    });
  }

  /** Seed 002 store_alert. */
  async create(tenantId: string, input: AlertCreate): Promise<Alert> {
    const v = parseInput(alertCreateSchema, input, 'alert');
    return this.db.tenant(tenantId, async (tx) => {
      if (v.ruleId) await this.#lockRules(tx, tenantId, [v.ruleId], () => 'ruleId');
      const [row] = await tx.insert(alerts).values(toRow(tenantId, v)).returning();
      return row!;
    });
  }

  /** Seed 002 store_alerts_batch: all stored, or none (a ValidationError naming every bad item). */
  async createBatch(tenantId: string, inputs: AlertCreate[]): Promise<Alert[]> {
    const items = parseInput(alertBatchSchema, inputs, 'alerts');
    // Ids are given here so the result can be put back in input order whatever order RETURNING uses.
    const rows = items.map((v) => ({ ...toRow(tenantId, v), id: uuidv7() }));
    return this.db.tenant(tenantId, async (tx) => {
      if (rows.length === 0) return [];
      const ruleIds = items.map((v) => v.ruleId ?? null);
      if (ruleIds.some((r) => r !== null)) await this.#lockRules(tx, tenantId, ruleIds, (i) => `${i}.ruleId`);
      const stored = new Map<string, Alert>();
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        const chunk = await tx
          .insert(alerts)
          .values(rows.slice(i, i + INSERT_CHUNK))
          .returning();
        for (const row of chunk) stored.set(row.id, row);
      }
      return rows.map((r) => stored.get(r.id)!);
    });
  }

  async update(tenantId: string, id: string, patch: AlertUpdate): Promise<Alert> {
    const v = definedOnly(parseInput(alertUpdateSchema, patch, 'alert'));
    if (!isUuid(id)) throw new NotFoundError('alert', id);
    return this.db.tenant(tenantId, async (tx) => {
      const [current] = await tx
        .select()
        .from(alerts)
        .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, id)))
        .for('update');
      if (!current) throw new NotFoundError('alert', id);
      if (Object.keys(v).length === 0) return current;
      if (v.ruleId) await this.#lockRules(tx, tenantId, [v.ruleId], () => 'ruleId');
      const firstSeen = v.firstSeen ?? current.firstSeen;
      const lastSeen = v.lastSeen ?? current.lastSeen;
      if (firstSeen.getTime() > lastSeen.getTime())
        throw new ValidationError('lastSeen must not be before firstSeen', [
          { path: v.lastSeen ? 'lastSeen' : 'firstSeen', message: 'firstSeen must not be after lastSeen' },
        ]);
      const [row] = await tx
        .update(alerts)
        .set(v)
        .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, id)))
        .returning();
      return row!;
    });
  }

  /**
   * Mark as seen by `actor`: acknowledged, when and by whom, and status `acknowledged` if it was `new`.
   * Acknowledging again changes nothing (the first acknowledgement is kept).
   */
  async acknowledge(tenantId: string, id: string, actor: string): Promise<Alert> {
    const by = parseInput(actorSchema, actor, 'actor');
    if (!isUuid(id)) throw new NotFoundError('alert', id);
    return this.db.tenant(tenantId, async (tx) => {
      const [current] = await tx
        .select()
        .from(alerts)
        .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, id)))
        .for('update');
      if (!current) throw new NotFoundError('alert', id);
      if (current.acknowledged) return current;
      const [row] = await tx
        .update(alerts)
        .set({
          acknowledged: true,
          acknowledgedAt: this.#now(),
          acknowledgedBy: by,
          ...(current.status === 'new' && { status: 'acknowledged' as const }),
        })
        .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, id)))
        .returning();
      return row!;
    });
  }

  /** Deletes the alert and its incident links. */
  async delete(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('alert', id);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(alerts)
        .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, id)))
        .returning({ id: alerts.id });
      if (gone.length === 0) throw new NotFoundError('alert', id);
    });
  }

  /** Attach an alert to an incident of the same tenant; linking twice returns the first link. */
  async linkIncident(
    tenantId: string,
    alertId: string,
    incidentId: string,
    actor: string,
  ): Promise<AlertIncidentLink> {
    const by = parseInput(actorSchema, actor, 'actor');
    if (!isUuid(alertId)) throw new NotFoundError('alert', alertId);
    if (!isUuid(incidentId)) throw new NotFoundError('incident', incidentId);
    return this.db.tenant(tenantId, async (tx) => {
      // FOR KEY SHARE: neither side can be deleted before the link commits.
      const [alert] = await tx
        .select({ id: alerts.id })
        .from(alerts)
        .where(and(eq(alerts.tenantId, tenantId), eq(alerts.id, alertId)))
        .for('key share');
      if (!alert) throw new NotFoundError('alert', alertId);
      const [incident] = await tx
        .select({ id: incidents.id })
        .from(incidents)
        .where(and(eq(incidents.tenantId, tenantId), eq(incidents.id, incidentId)))
        .for('key share');
      if (!incident) throw new NotFoundError('incident', incidentId);
      const [created] = await tx
        .insert(alertIncidents)
        .values({ tenantId, alertId, incidentId, linkedBy: by })
        .onConflictDoNothing()
        .returning();
      if (created) return created;
      const [existing] = await tx
        .select()
        .from(alertIncidents)
        .where(
          and(
            eq(alertIncidents.tenantId, tenantId),
            eq(alertIncidents.alertId, alertId),
            eq(alertIncidents.incidentId, incidentId),
          ),
        );
      return existing!;
    });
  }

  /** Remove a link; NotFound when there is no such link in this tenant. */
  async unlinkIncident(tenantId: string, alertId: string, incidentId: string): Promise<void> {
    const ref = `${alertId} -> ${incidentId}`;
    if (!isUuid(alertId) || !isUuid(incidentId)) throw new NotFoundError('alert incident link', ref);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(alertIncidents)
        .where(
          and(
            eq(alertIncidents.tenantId, tenantId),
            eq(alertIncidents.alertId, alertId),
            eq(alertIncidents.incidentId, incidentId),
          ),
        )
        .returning({ alertId: alertIncidents.alertId });
      if (gone.length === 0) throw new NotFoundError('alert incident link', ref);
    });
  }

  /** The alerts linked to an incident, newest first; empty for an unknown incident. */
  async listIncidentAlerts(tenantId: string, incidentId: string): Promise<Alert[]> {
    if (!isUuid(incidentId)) return [];
    return this.db.tenant(tenantId, (tx) =>
      tx
        .select(getTableColumns(alerts))
        .from(alertIncidents)
        .innerJoin(
          alerts,
          and(eq(alerts.tenantId, alertIncidents.tenantId), eq(alerts.id, alertIncidents.alertId)),
        )
        .where(and(eq(alertIncidents.tenantId, tenantId), eq(alertIncidents.incidentId, incidentId)))
        .orderBy(desc(alerts.createdAt), desc(alerts.id)),
    );
  }

  /** The incidents an alert is linked to, most recently detected first; empty for an unknown alert. */
  async listAlertIncidents(tenantId: string, alertId: string): Promise<LinkedIncident[]> {
    if (!isUuid(alertId)) return [];
    return this.db.tenant(tenantId, (tx) =>
      tx
        .select(getTableColumns(incidents))
        .from(alertIncidents)
        .innerJoin(
          incidents,
          and(eq(incidents.tenantId, alertIncidents.tenantId), eq(incidents.id, alertIncidents.incidentId)),
        )
        .where(and(eq(alertIncidents.tenantId, tenantId), eq(alertIncidents.alertId, alertId)))
        .orderBy(desc(incidents.detectedAt), desc(incidents.id)),
    );
  }

  /**
   * Every given rule id must be a rule of this tenant; `FOR KEY SHARE` keeps those rules until the alerts
   * commit. `pathOf(i)` names the field of the i-th id in the error.
   */
  async #lockRules(
    tx: DrizzleTx,
    tenantId: string,
    ruleIds: (string | null)[],
    pathOf: (index: number) => string,
  ): Promise<void> {
    const wanted = [...new Set(ruleIds.filter((r): r is string => r !== null))];
    const found = await tx
      .select({ id: rules.id })
      .from(rules)
      .where(and(eq(rules.tenantId, tenantId), inArray(rules.id, wanted)))
      .for('key share');
    const known = new Set(found.map((r) => r.id));
    const issues: FieldIssue[] = [];
    ruleIds.forEach((r, i) => {
      if (r !== null && !known.has(r))
        issues.push({ path: pathOf(i), message: 'must be a rule of the same tenant' });
    });
    if (issues.length) throw new ValidationError(`${issues.length} unknown rule reference(s)`, issues);
  }
}

/** An alert row: firstSeen and lastSeen default to each other when only one is given. */
function toRow(tenantId: string, v: z.output<typeof alertCreateSchema>): NewAlert {
  const firstSeen = v.firstSeen ?? v.lastSeen;
  const lastSeen = v.lastSeen ?? v.firstSeen;
  return { ...v, tenantId, firstSeen, lastSeen };
}
