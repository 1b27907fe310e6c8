import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database, DrizzleTx } from '../db/client.ts';
import { ingestionRuns } from '../db/schema/index.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  ingestionRunFiltersSchema,
  ingestionRunFinishSchema,
  ingestionRunStartSchema,
  type IngestionRunFilters,
  type IngestionRunFinish,
  type IngestionRunStart,
} from '../domain/schemas/ingestion-run.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, listPage, planList, type ListOptions, type Page } from './base.ts';

export type IngestionRun = typeof ingestionRuns.$inferSelect;

/**
 * Ingestion runs (seed 004): one row per feed or log ingestion, opened `running` and closed with its
 * counters. Runs of global intel feeds have no tenant; a tenant's log ingestion runs carry its id.
 * This is an operator's view: reads are not tenant-scoped.
 */
export class IngestionRunRepository {
  constructor(private readonly db: Database) {}

  async start(input: IngestionRunStart): Promise<IngestionRun> {
    const v = parseInput(ingestionRunStartSchema, input, 'ingestion run');
    const insert = async (tx: DrizzleTx) => {
      const [row] = await tx
        .insert(ingestionRuns)
        .values({ ...v, tenantId: v.tenantId ?? null, status: 'running' })
        .returning();
      return row!;
    };
    return v.tenantId ? this.db.tenant(v.tenantId, insert) : this.db.platform(insert);
  }

  /**
   * Close a running run: its outcome, counters, `completed_at` and `duration_seconds`.
   * Finishing a run that is no longer running is a Conflict.
   */
  async finish(id: string, outcome: IngestionRunFinish): Promise<IngestionRun> {
    const v = parseInput(ingestionRunFinishSchema, outcome, 'ingestion run outcome');
    if (!isUuid(id)) throw new NotFoundError('ingestion run', id);
    // Runs are bookkeeping of system jobs: read and closed in the platform scope.
    return this.db.platform(async (tx) => {
      const [row] = await tx
        .update(ingestionRuns)
        .set({
          ...v,
          completedAt: sql`now()`,
          durationSeconds: sql`greatest(0, extract(epoch from (now() - ${ingestionRuns.startedAt})))::float8`,
        })
        .where(and(eq(ingestionRuns.id, id), eq(ingestionRuns.status, 'running')))
        .returning();
      if (row) return row;
      const [existing] = await tx
        .select({ status: ingestionRuns.status })
        .from(ingestionRuns)
        .where(eq(ingestionRuns.id, id));
      if (!existing) throw new NotFoundError('ingestion run', id);
      throw new ConflictError(`ingestion run ${id} already finished (${existing.status})`, 'status');
    });
  }

  /**
   * Close, as failed, the runs of a kind still `running` that started before `before`: runs whose process
   * ended without finishing them (killed, crashed). Returns their ids.
   */
  async abandon(kind: IngestionRunStart['kind'], before: Date, message: string): Promise<string[]> {
    return this.db.platform(async (tx) => {
      const rows = await tx
        .update(ingestionRuns)
        .set({
          status: 'failed',
          errorMessage: message,
          completedAt: sql`now()`,
          durationSeconds: sql`greatest(0, extract(epoch from (now() - ${ingestionRuns.startedAt})))::float8`,
        })
        .where(
          and(
            eq(ingestionRuns.kind, kind),
            eq(ingestionRuns.status, 'running'),
            sql`${ingestionRuns.startedAt} < ${before.toISOString()}::timestamptz`,
          ),
        )
        .returning({ id: ingestionRuns.id });
      return rows.map((r) => r.id);
    });
  }

  async get(id: string): Promise<IngestionRun | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.platform((tx) =>
      tx.select().from(ingestionRuns).where(eq(ingestionRuns.id, id)),
    );
    return row;
  }

  /** Seed 004 "recent ingestion runs": newest first by default. */
  async list(opts: ListOptions<IngestionRunFilters> = {}): Promise<Page<IngestionRun>> {
    const f = parseInput(ingestionRunFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        started_at: ingestionRuns.startedAt,
        completed_at: ingestionRuns.completedAt,
        duration_seconds: ingestionRuns.durationSeconds,
        source: ingestionRuns.source,
        records_inserted: ingestionRuns.recordsInserted,
      },
      '-started_at',
      ingestionRuns.id,
    );
    const read = <T>(fn: (tx: DrizzleTx) => Promise<T>) =>
      f.tenantId ? this.db.tenant(f.tenantId, fn) : this.db.platform(fn);
    return read((tx) =>
      listPage<IngestionRun>(
        tx,
        ingestionRuns,
        allOf(
          f.source && eq(ingestionRuns.source, f.source),
          f.status && eq(ingestionRuns.status, f.status),
          f.kind && eq(ingestionRuns.kind, f.kind),
          f.tenantId === null && isNull(ingestionRuns.tenantId),
          f.tenantId && eq(ingestionRuns.tenantId, f.tenantId),
        ),
        plan,
      ),
    );
  }
}
