/**
 * Security incidents (seed 000). Status changes run through src/domain/incident-timing.ts under a row
 * lock: responded/resolved times and the time_to_* figures are derived, never written by callers, and
 * every status change appends a timeline entry.
 */
import { and, eq, gte, ilike, lt, or, sql } from 'drizzle-orm';
import type { Database, DrizzleTx } from '../db/client.ts';
import { incidents, tenantCounters } from '../db/schema/index.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import { incidentTiming, initialIncidentTiming } from '../domain/incident-timing.ts';
import {
  actorSchema,
  incidentCreateSchema,
  incidentFiltersSchema,
  incidentUpdateSchema,
  type IncidentCreate,
  type IncidentFilters,
  type IncidentUpdate,
} from '../domain/schemas/incident.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, likeEscape, listPage, planList, type ListOptions, type Page } from './base.ts';

export type Incident = typeof incidents.$inferSelect;

export interface IncidentRepositoryOptions {
  /** The clock for detected/responded/resolved times (tests pass a fixed one). */
  now?: () => Date;
}

/** Longest parent chain walked when checking a new parent for cycles. */
const MAX_INCIDENT_DEPTH = 100;

export class IncidentRepository {
  readonly #now: () => Date;

  constructor(
    private readonly db: Database,
    opts: IncidentRepositoryOptions = {},
  ) {
    this.#now = opts.now ?? (() => new Date());
  }

  async get(tenantId: string, id: string): Promise<Incident | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(incidents)
        .where(and(eq(incidents.tenantId, tenantId), eq(incidents.id, id)));
      return row;
    });
  }

  async getByNumber(tenantId: string, incidentNumber: string): Promise<Incident | undefined> {
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(incidents)
        .where(and(eq(incidents.tenantId, tenantId), eq(incidents.incidentNumber, incidentNumber)));
      return row;
    });
  }

  async list(tenantId: string, opts: ListOptions<IncidentFilters> = {}): Promise<Page<Incident>> {
    const f = parseInput(incidentFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        incident_number: incidents.incidentNumber,
        title: incidents.title,
        severity: incidents.severity,
        priority: incidents.priority,
        status: incidents.status,
        detected_at: incidents.detectedAt,
        created_at: incidents.createdAt,
        updated_at: incidents.updatedAt,
        resolved_at: incidents.resolvedAt,
      },
      '-detected_at',
      incidents.id,
    );
    const q = f.q && `%${likeEscape(f.q)}%`;
    return this.db.tenant(tenantId, (tx) =>
      listPage<Incident>(
        tx,
        incidents,
        allOf(
          eq(incidents.tenantId, tenantId),
          f.status && eq(incidents.status, f.status),
          f.severity && eq(incidents.severity, f.severity),
          f.priority && eq(incidents.priority, f.priority),
          f.incidentType && eq(incidents.incidentType, f.incidentType),
          f.assignedTo && eq(incidents.assignedTo, f.assignedTo),
          f.tag && sql`${incidents.tags} @> jsonb_build_array(${f.tag}::text)`,
          q &&
            or(
              ilike(incidents.title, q),
              ilike(incidents.description, q),
              ilike(incidents.incidentNumber, q),
            ),
          f.detectedFrom && gte(incidents.detectedAt, f.detectedFrom),
          f.detectedTo && lt(incidents.detectedAt, f.detectedTo),
        ),
        plan,
      ),
    );
  }

  /**
   * The database assigns the tenant's next INC-nnnnnn unless `incidentNumber` is given (an import); a given
   * number also moves the tenant's counter past it. `detectedAt` defaults to now.
   */
  async create(tenantId: string, input: IncidentCreate, actor: string): Promise<Incident> {
    const v = parseInput(incidentCreateSchema, input, 'incident');
    const by = parseInput(actorSchema, actor, 'actor');
    const now = this.#now();
    const detectedAt = v.detectedAt ?? now;
    const timing = initialIncidentTiming(
      { status: v.status ?? 'open', detectedAt, occurredAt: v.occurredAt ?? null },
      now,
    );
    return this.db.tenant(tenantId, async (tx) => {
      if (v.parentIncidentId) await this.#lockParent(tx, tenantId, v.parentIncidentId);
      if (v.incidentNumber)
        await this.#reserveNumber(tx, tenantId, Number(v.incidentNumber.slice('INC-'.length)));
      const [row] = await tx
        .insert(incidents)
        .values({ ...v, ...timing, detectedAt, tenantId, createdBy: by })
        .returning();
      return row!;
    });
  }

  /**
   * Lock the row, derive the clock fields from the status / detectedAt / occurredAt change, append a
   * timeline entry when the status changes, then write. An empty patch changes nothing.
   */
  async update(tenantId: string, id: string, patch: IncidentUpdate, actor: string): Promise<Incident> {
    const v = definedOnly(parseInput(incidentUpdateSchema, patch, 'incident'));
    const by = parseInput(actorSchema, actor, 'actor');
    if (!isUuid(id)) throw new NotFoundError('incident', id);
    return this.db.tenant(tenantId, async (tx) => {
      const [current] = await tx
        .select()
        .from(incidents)
        .where(and(eq(incidents.tenantId, tenantId), eq(incidents.id, id)))
        .for('update');
      if (!current) throw new NotFoundError('incident', id);
      if (Object.keys(v).length === 0) return current;
      if (v.parentIncidentId) await this.#checkParentChain(tx, tenantId, id, v.parentIncidentId);

      const { set, entry } = incidentTiming(
        current,
        { status: v.status, detectedAt: v.detectedAt, occurredAt: v.occurredAt },
        this.#now(),
        by,
      );
      const [row] = await tx
        .update(incidents)
        .set({
          ...v,
          ...set,
          updatedBy: by,
          ...(entry && {
            timeline: sql`${incidents.timeline} || jsonb_build_array(${JSON.stringify(entry)}::jsonb)`,
          }),
        })
        .where(and(eq(incidents.tenantId, tenantId), eq(incidents.id, id)))
        .returning();
      return row!;
    });
  }

  /** Deletes the incident and its alert links; child incidents stay (parent nulled). */
  async delete(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('incident', id);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(incidents)
        .where(and(eq(incidents.tenantId, tenantId), eq(incidents.id, id)))
        .returning({ id: incidents.id });
      if (gone.length === 0) throw new NotFoundError('incident', id);
    });
  }

  /** The parent must be an incident of this tenant; `FOR KEY SHARE` keeps it until this transaction ends. */
  async #lockParent(tx: DrizzleTx, tenantId: string, parentId: string): Promise<string | null> {
    const [parent] = await tx
      .select({ parentIncidentId: incidents.parentIncidentId })
      .from(incidents)
      .where(and(eq(incidents.tenantId, tenantId), eq(incidents.id, parentId)))
      .for('key share');
    if (!parent)
      throw new ValidationError(`parent incident ${parentId} does not exist`, [
        { path: 'parentIncidentId', message: 'must be an incident of the same tenant' },
      ]);
    return parent.parentIncidentId;
  }

  /** An incident cannot become its own ancestor. */
  async #checkParentChain(tx: DrizzleTx, tenantId: string, id: string, parentId: string): Promise<void> {
    let next: string | null = parentId;
    for (let depth = 0; next !== null && depth < MAX_INCIDENT_DEPTH; depth++) {
      if (next === id)
        throw new ValidationError('an incident cannot be its own ancestor', [
          { path: 'parentIncidentId', message: 'would create a cycle' },
        ]);
      next =
        depth === 0 ? await this.#lockParent(tx, tenantId, next) : await this.#parentOf(tx, tenantId, next);
    }
    if (next !== null)
      throw new ValidationError(`incident hierarchy deeper than ${MAX_INCIDENT_DEPTH}`, [
        { path: 'parentIncidentId', message: 'hierarchy too deep' },
      ]);
  }

  async #parentOf(tx: DrizzleTx, tenantId: string, id: string): Promise<string | null> {
    const [row] = await tx
      .select({ parentIncidentId: incidents.parentIncidentId })
      .from(incidents)
      .where(and(eq(incidents.tenantId, tenantId), eq(incidents.id, id)));
    return row?.parentIncidentId ?? null;
  }

  /** Move the tenant's incident counter to at least `n` (the trigger hands out counter + 1 next). */
  async #reserveNumber(tx: DrizzleTx, tenantId: string, n: number): Promise<void> {
    await tx
      .insert(tenantCounters)
      .values({ tenantId, name: 'incident', value: n })
      .onConflictDoUpdate({
        target: [tenantCounters.tenantId, tenantCounters.name],
        set: { value: sql`greatest(${tenantCounters.value}, excluded.value)` },
      });
  }
}
