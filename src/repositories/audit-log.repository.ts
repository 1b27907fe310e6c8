import { and, asc, eq, gt, gte, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { mapDbError } from '../db/errors.ts';
import { auditLogs, tenantCounters } from '../db/schema/index.ts';
import { ValidationError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  auditLogCreateSchema,
  auditLogFiltersSchema,
  type AuditLogCreate,
  type AuditLogFilters,
} from '../domain/schemas/audit-log.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, listPage, planList, type ListOptions, type Page } from './base.ts';

/** Seed 003 audit log entry, tenant-scoped. */
export type AuditLog = typeof auditLogs.$inferSelect;

/**
 * The audit trail is append-only: this repository has no update and no delete. Rows go away only with
 * their tenant (cascade); a deleted user leaves its rows with `user_id` NULL and `actor` intact.
 * `seq`, `prev_hash` and `row_hash` (the per-tenant hash chain) are computed by the database on insert
 * (migration 0006); `verifyChain` recomputes them.
 */
export interface ChainBreak {
  seq: number;
  id: string | null;
  reason: string;
}

export interface ChainVerification {
  tenantId: string;
  ok: boolean;
  /** Rows checked. */
  checked: number;
  /** The newest row: publish or store this hash elsewhere to anchor the chain's end. */
  head: { seq: number; rowHash: string } | null;
  firstBroken: ChainBreak | null;
}

export class AuditLogRepository {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, id: string): Promise<AuditLog | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(auditLogs)
        .where(and(eq(auditLogs.tenantId, tenantId), eq(auditLogs.id, id)));
      return row;
    });
  }

  async create(tenantId: string, entry: AuditLogCreate): Promise<AuditLog> {
    const v = parseInput(auditLogCreateSchema, entry, 'audit log entry');
    try {
      return await this.db.tenant(tenantId, async (tx) => {
        const [row] = await tx
          .insert(auditLogs)
          .values({ ...v, tenantId })
          .returning();
        return row!;
      });
    } catch (e) {
      const mapped = mapDbError(e);
      if (mapped instanceof ValidationError && mapped.issues.some((i) => i.path === 'user_id')) {
        throw new ValidationError(`user ${v.userId} does not exist`, [
          { path: 'userId', message: 'referenced row does not exist' },
        ]);
      }
      throw mapped;
    }
  }

  /** Newest first by default; `since` is inclusive, `until` exclusive. */
  async list(tenantId: string, opts: ListOptions<AuditLogFilters> = {}): Promise<Page<AuditLog>> {
    const f = parseInput(auditLogFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        timestamp: auditLogs.timestamp,
        action: auditLogs.action,
        actor: auditLogs.actor,
        resource_type: auditLogs.resourceType,
      },
      '-timestamp',
      auditLogs.id,
    );
    return this.db.tenant(tenantId, (tx) =>
      listPage<AuditLog>(
        tx,
        auditLogs,
        allOf(
          eq(auditLogs.tenantId, tenantId),
          f.action && eq(auditLogs.action, f.action),
          f.userId && eq(auditLogs.userId, f.userId),
          f.success !== undefined && eq(auditLogs.success, f.success),
          f.resourceType && eq(auditLogs.resourceType, f.resourceType),
          f.resourceId && eq(auditLogs.resourceId, f.resourceId),
          f.ipAddress && eq(auditLogs.ipAddress, f.ipAddress),
          f.since && gte(auditLogs.timestamp, f.since),
          f.until && lt(auditLogs.timestamp, f.until),
        ),
        plan,
      ),
    );
  }

  /**
   * Walk the tenant's chain in order and name the first row that does not hold: a gap in `seq` (a deleted
   * row), a `prev_hash` that is not the previous row's hash (a row removed or re-linked), or a `row_hash`
   * that the database does not recompute from the row (an edited row). Rows past the newest one the
   * tenant's counter has handed out are reported as deleted too.
   */
  async verifyChain(tenantId: string, opts: { batchSize?: number } = {}): Promise<ChainVerification> {
    const batch = opts.batchSize ?? 5000;
    return this.db.tenant(tenantId, async (tx) => {
      let checked = 0;
      let expectedSeq = 1;
      let prevHash: string | null = null;
      let head: ChainVerification['head'] = null;
      const broken = (b: ChainBreak): ChainVerification => ({
        tenantId,
        ok: false,
        checked,
        head,
        firstBroken: b,
      });
      for (;;) {
        const rows = await tx
          .select({
            seq: auditLogs.seq,
            id: auditLogs.id,
            prevHash: auditLogs.prevHash,
            rowHash: auditLogs.rowHash,
            expected: sql<string>`vigil_audit_hash(${auditLogs})`,
          })
          .from(auditLogs)
          .where(and(eq(auditLogs.tenantId, tenantId), gt(auditLogs.seq, expectedSeq - 1)))
          .orderBy(asc(auditLogs.seq))
          .limit(batch);
        for (const r of rows) {
          if (r.seq !== expectedSeq) {
            return broken({ seq: expectedSeq, id: null, reason: `row ${expectedSeq} is missing (deleted)` });
          }
          if ((r.prevHash ?? null) !== prevHash) {
            return broken({ seq: r.seq, id: r.id, reason: 'prev_hash does not match the previous row' });
          }
          if (r.rowHash !== r.expected) {
            return broken({ seq: r.seq, id: r.id, reason: 'row_hash does not match the row (edited)' });
          }
          checked++;
          prevHash = r.rowHash;
          head = { seq: r.seq, rowHash: r.rowHash };
          expectedSeq++;
        }
        if (rows.length < batch) break;
      }
      const [counter] = await tx
        .select({ value: tenantCounters.value })
        .from(tenantCounters)
        .where(and(eq(tenantCounters.tenantId, tenantId), eq(tenantCounters.name, 'audit')));
      const issued = Number(counter?.value ?? 0);
      if (issued > checked) {
        return broken({
          seq: checked + 1,
          id: null,
          reason: `rows ${checked + 1}..${issued} are missing (deleted)`,
        });
      }
      return { tenantId, ok: true, checked, head, firstBroken: null };
    });
  }
}
