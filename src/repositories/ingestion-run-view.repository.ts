/**
 * Ingestion runs as one tenant sees them: its own runs plus the global feed runs (tenant_id null), never
 * another tenant's. Read inside the tenant's scope, where row-level security allows exactly those rows.
 */
import { eq, isNull, or } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { ingestionRuns } from '../db/schema/index.ts';
import {
  ingestionRunFiltersSchema,
  type IngestionRunFilters,
} from '../domain/schemas/ingestion-run.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, listPage, planList, type ListOptions, type Page } from './base.ts';
import type { IngestionRun } from './ingestion-run.repository.ts';

/** The filters of a tenant's view (the tenant is the caller's). */
export type VisibleIngestionRunFilters = Omit<IngestionRunFilters, 'tenantId'> & {
  /** true: global feed runs only; false: the tenant's own runs only; absent: both. */
  global?: boolean | undefined;
};

const filtersSchema = ingestionRunFiltersSchema.omit({ tenantId: true });

export class IngestionRunViewRepository {
  constructor(private readonly db: Database) {}

  /** The tenant's own runs and the global ones, newest first by default. */
  async listVisible(
    tenantId: string,
    opts: ListOptions<VisibleIngestionRunFilters> = {},
  ): Promise<Page<IngestionRun>> {
    const { global, ...rest } = opts.filters ?? {};
    const f = parseInput(filtersSchema, rest, 'filters');
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
    const scope =
      global === true
        ? isNull(ingestionRuns.tenantId)
        : global === false
          ? eq(ingestionRuns.tenantId, tenantId)
          : or(isNull(ingestionRuns.tenantId), eq(ingestionRuns.tenantId, tenantId));
    return this.db.tenant(tenantId, (tx) =>
      listPage<IngestionRun>(
        tx,
        ingestionRuns,
        allOf(
          scope,
          f.source && eq(ingestionRuns.source, f.source),
          f.status && eq(ingestionRuns.status, f.status),
          f.kind && eq(ingestionRuns.kind, f.kind),
        ),
        plan,
      ),
    );
  }
}
