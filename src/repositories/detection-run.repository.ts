/**
 * Detection runs (table detection_runs): one row per evaluation of a rule over a seq range, and the alert
 * suppressions (table alert_suppressions) that silence a rule's alerts for given entities until they expire.
 */
import { and, desc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { alertSuppressions, detectionRuns } from '../db/schema/index.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';

export type DetectionRun = typeof detectionRuns.$inferSelect;
export type NewDetectionRun = Omit<typeof detectionRuns.$inferInsert, 'tenantId' | 'id'>;
export type AlertSuppression = typeof alertSuppressions.$inferSelect;

/** Entity keys a suppression may match on (the alert's columns of the same meaning). */
export const SUPPRESSION_KEYS = ['host', 'source_ip', 'dest_ip', 'user_name'] as const;
export type SuppressionKey = (typeof SUPPRESSION_KEYS)[number];

const MAX_ERROR = 4000;

export class DetectionRunRepository {
  constructor(private readonly db: Database) {}

  async create(tenantId: string, run: NewDetectionRun): Promise<DetectionRun> {
    const error =
      run.error && run.error.length > MAX_ERROR ? `${run.error.slice(0, MAX_ERROR - 1)}…` : run.error;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .insert(detectionRuns)
        .values({ ...run, error, tenantId })
        .returning();
      return row!;
    });
  }

  /** Newest first; optionally of one rule and/or one status (`failed`, `gap`). */
  async list(
    tenantId: string,
    opts: { ruleId?: string; status?: string; limit?: number } = {},
  ): Promise<DetectionRun[]> {
    if (opts.ruleId !== undefined && !isUuid(opts.ruleId)) return [];
    const limit = Math.min(Math.max(opts.limit ?? 50, 1), 1000);
    return this.db.tenant(tenantId, (tx) =>
      tx
        .select()
        .from(detectionRuns)
        .where(
          and(
            eq(detectionRuns.tenantId, tenantId),
            opts.ruleId ? eq(detectionRuns.ruleId, opts.ruleId) : undefined,
            opts.status ? eq(detectionRuns.status, opts.status) : undefined,
          ),
        )
        .orderBy(desc(detectionRuns.startedAt), desc(detectionRuns.id))
        .limit(limit),
    );
  }

  /** Consecutive failed runs of a rule since its last success or gap (the current attempt count). */
  async failuresSinceSuccess(tenantId: string, ruleId: string, fromSeq: number): Promise<number> {
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(detectionRuns)
        .where(
          and(
            eq(detectionRuns.tenantId, tenantId),
            eq(detectionRuns.ruleId, ruleId),
            eq(detectionRuns.mode, 'scheduled'),
            eq(detectionRuns.status, 'failed'),
            eq(detectionRuns.fromSeq, fromSeq),
          ),
        );
      return Number(row?.n ?? 0);
    });
  }
}

export class AlertSuppressionRepository {
  constructor(private readonly db: Database) {}

  async create(
    tenantId: string,
    input: {
      ruleId: string | null;
      match: Record<string, string>;
      reason: string;
      owner: string;
      expiresAt: Date;
    },
  ): Promise<AlertSuppression> {
    for (const k of Object.keys(input.match)) {
      if (!(SUPPRESSION_KEYS as readonly string[]).includes(k))
        throw new ValidationError(`cannot suppress on ${k}`, [
          { path: `match.${k}`, message: `one of ${SUPPRESSION_KEYS.join(', ')}` },
        ]);
    }
    if (input.ruleId !== null && !isUuid(input.ruleId)) throw new NotFoundError('rule', input.ruleId);
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .insert(alertSuppressions)
        .values({ ...input, tenantId })
        .returning();
      return row!;
    });
  }

  /** Unexpired suppressions that apply to a rule (its own and the tenant-wide ones). */
  async active(tenantId: string, ruleId: string, now: Date): Promise<AlertSuppression[]> {
    return this.db.tenant(tenantId, (tx) =>
      tx
        .select()
        .from(alertSuppressions)
        .where(
          and(
            eq(alertSuppressions.tenantId, tenantId),
            or(isNull(alertSuppressions.ruleId), eq(alertSuppressions.ruleId, ruleId)),
            gt(alertSuppressions.expiresAt, now),
          ),
        ),
    );
  }

  async list(tenantId: string): Promise<AlertSuppression[]> {
    return this.db.tenant(tenantId, (tx) =>
      tx
        .select()
        .from(alertSuppressions)
        .where(eq(alertSuppressions.tenantId, tenantId))
        .orderBy(desc(alertSuppressions.createdAt)),
    );
  }

  async addHits(tenantId: string, id: string, n: number): Promise<void> {
    await this.db.tenant(tenantId, (tx) =>
      tx
        .update(alertSuppressions)
        .set({ hits: sql`${alertSuppressions.hits} + ${n}` })
        .where(and(eq(alertSuppressions.tenantId, tenantId), eq(alertSuppressions.id, id))),
    );
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('suppression', id);
    await this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(alertSuppressions)
        .where(and(eq(alertSuppressions.tenantId, tenantId), eq(alertSuppressions.id, id)))
        .returning({ id: alertSuppressions.id });
      if (gone.length === 0) throw new NotFoundError('suppression', id);
    });
  }
}
