import { and, eq, gte, lt } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { mapDbError } from '../db/errors.ts';
import { auditLogs } from '../db/schema/index.ts';
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
 * `seq`, `prev_hash` and `row_hash` (the per-tenant hash chain) are left NULL until the chain is built.
 */
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
}
