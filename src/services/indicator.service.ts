/**
 * Indicators of compromise as a tenant sees them: the global feed indicators plus its own private ones.
 * A tenant creates private indicators and changes or deletes only those (a global one is NotFound for
 * writes). Every write is audited in the same transaction (audited.service.ts).
 *
 * Every successful write drops the tenant's cached matcher index (`IndicatorMatcherCache`, the
 * IntelFeedService), after the transaction commits, so the detection engine's next ioc_match run sees the
 * change at once rather than after the matcher's TTL. A tenant's writes touch only its own indicators, so
 * the global (feed) index, which is large and costly to rebuild, is kept.
 */
import type { Database } from '../db/client.ts';
import { NotFoundError } from '../domain/errors.ts';
import type {
  IndicatorCreate,
  IndicatorFilters,
  IndicatorUpdate,
} from '../domain/schemas/indicator.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { Indicator, IndicatorRepository } from '../repositories/indicator.repository.ts';
import { audited, type Actor } from './audited.service.ts';

const RESOURCE = 'indicator';

/** The matcher's cache of indexes (IntelFeedService): what a write must drop. */
export interface IndicatorMatcherCache {
  /** Drop the cached index of one tenant's own indicators (`null`: the global index; none: all). */
  invalidateMatcher(tenantId?: string | null): void;
}

export class IndicatorService {
  constructor(
    private readonly db: Database,
    private readonly indicators: IndicatorRepository,
    private readonly auditLogs: AuditLogRepository,
    private readonly matcher?: IndicatorMatcherCache,
  ) {}

  /** Drop the tenant's matcher index once a write has committed (also when it failed: nothing to keep). */
  async #invalidating<T>(tenantId: string, write: Promise<T>): Promise<T> {
    try {
      return await write;
    } finally {
      this.matcher?.invalidateMatcher(tenantId);
    }
  }

  /** Global and own indicators. */
  list(tenantId: string, opts: ListOptions<IndicatorFilters> = {}): Promise<Page<Indicator>> {
    return this.indicators.list(tenantId, opts);
  }

  /** A global or own indicator; throws NotFoundError for an unknown id or another tenant's. */
  async get(tenantId: string, id: string): Promise<Indicator> {
    const row = await this.indicators.get(tenantId, id);
    if (!row) throw new NotFoundError(RESOURCE, id);
    return row;
  }

  /** The tenant's own indicator: global ones are not the tenant's to change (NotFoundError). */
  async #own(tenantId: string, id: string): Promise<Indicator> {
    const row = await this.get(tenantId, id);
    if (row.tenantId !== tenantId) throw new NotFoundError(RESOURCE, id);
    return row;
  }

  /** The live indicators (global or own) matching any of the values. */
  async lookup(tenantId: string, values: readonly string[]): Promise<{ matches: Indicator[] }> {
    return { matches: await this.indicators.lookup(tenantId, values) };
  }

  /** A private indicator of the tenant. */
  create(tenantId: string, input: IndicatorCreate, actor: Actor): Promise<Indicator> {
    return this.#invalidating(
      tenantId,
      audited(
        this.db,
        this.auditLogs,
        tenantId,
        actor.principal,
        actor.meta,
        { action: 'create', resourceType: RESOURCE },
        async () => {
          const row = await this.indicators.create(tenantId, input);
          return { result: row, after: row };
        },
      ),
    );
  }

  update(tenantId: string, id: string, patch: IndicatorUpdate, actor: Actor): Promise<Indicator> {
    return this.#invalidating(
      tenantId,
      audited(
        this.db,
        this.auditLogs,
        tenantId,
        actor.principal,
        actor.meta,
        { action: 'update', resourceType: RESOURCE, resourceId: id },
        async () => {
          const before = await this.#own(tenantId, id);
          const after = await this.indicators.update(tenantId, id, patch);
          return { result: after, before, after };
        },
      ),
    );
  }

  delete(tenantId: string, id: string, actor: Actor): Promise<void> {
    return this.#invalidating(
      tenantId,
      audited(
        this.db,
        this.auditLogs,
        tenantId,
        actor.principal,
        actor.meta,
        { action: 'delete', resourceType: RESOURCE, resourceId: id },
        async () => {
          const before = await this.#own(tenantId, id);
          await this.indicators.delete(tenantId, id);
          return { result: undefined, before };
        },
      ),
    );
  }
}
