/**
 * Ingestion runs as a tenant sees them: its own log ingestion runs plus the runs of the global intel feeds,
 * never another tenant's. Read-only for requests; jobs open and close runs.
 */
import type { Database } from '../db/client.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import {
  IngestionRunViewRepository,
  type VisibleIngestionRunFilters,
} from '../repositories/ingestion-run-view.repository.ts';
import type { IngestionRun, IngestionRunRepository } from '../repositories/ingestion-run.repository.ts';

export class IngestionRunService {
  readonly #view: IngestionRunViewRepository;

  constructor(
    db: Database,
    private readonly runs: IngestionRunRepository,
  ) {
    this.#view = new IngestionRunViewRepository(db);
  }

  /** The tenant's own runs and the global ones, newest first by default. */
  list(tenantId: string, opts: ListOptions<VisibleIngestionRunFilters> = {}): Promise<Page<IngestionRun>> {
    return this.#view.listVisible(tenantId, opts);
  }

  /** A global run or one of the tenant's; another tenant's run is NotFound. */
  async get(tenantId: string, id: string): Promise<IngestionRun> {
    const row = await this.runs.get(id);
    if (!row || (row.tenantId !== null && row.tenantId !== tenantId)) {
      throw new NotFoundError('ingestion run', id);
    }
    return row;
  }
}
