/**
 * Raw log retention per tenant (`tenants.retention_days`, default 90): events older than that, by event
 * time, and quarantined records received before it are deleted from the log store. Run by the retention job
 * and by the CLI.
 *
 * Every tenant is purged, whatever its status: retention is a promise about how long data is kept, and an
 * inactive or suspended tenant's logs age like any other's. One tenant's failure does not stop the others.
 */
import type { Logger } from '../config/logger.ts';
import type { LogStore } from '../logstore/log-store.ts';
import type { Tenant, TenantRepository } from '../repositories/tenant.repository.ts';
import { NotFoundError } from '../domain/errors.ts';

const DAY_MS = 86_400_000;
const TENANT_PAGE = 500;

export interface TenantPurgeResult {
  tenantId: string;
  slug: string;
  retentionDays: number;
  /** Events with a timestamp before this were deleted. */
  before: Date;
  events: number;
  quarantined: number;
}

export interface RetentionRunResult {
  tenants: number;
  events: number;
  quarantined: number;
  purged: TenantPurgeResult[];
  failures: { tenantId: string; slug: string; error: string }[];
  /** Whole partitions dropped first (PostgreSQL store: days past every tenant's retention). */
  partitionsDropped?: string[];
}

/** The cut-off for a retention of `days` days at `now`: exactly `days` × 24 h earlier. */
export function retentionCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * DAY_MS);
}

export class LogRetentionService {
  constructor(
    private readonly logStore: LogStore,
    private readonly tenants: TenantRepository,
    private readonly logger: Logger,
  ) {}

  /** Purge one tenant's expired logs. */
  async purgeTenant(tenantId: string, now: Date = new Date()): Promise<TenantPurgeResult> {
    const tenant = await this.tenants.get(tenantId);
    if (!tenant) throw new NotFoundError('tenant', tenantId);
    return this.#purge(tenant, now);
  }

  /** Purge every tenant's expired logs; failures are collected, not thrown. */
  async purgeAll(now: Date = new Date(), signal?: AbortSignal): Promise<RetentionRunResult> {
    const result: RetentionRunResult = { tenants: 0, events: 0, quarantined: 0, purged: [], failures: [] };
    // Days past every tenant's retention go first, whole (a partition drop, not a row-by-row delete).
    if (this.logStore.dropExpiredPartitions) {
      try {
        const { dropped } = await this.logStore.dropExpiredPartitions(now);
        result.partitionsDropped = dropped;
        if (dropped.length) this.logger.info({ dropped }, 'dropped expired log partitions');
      } catch (err) {
        this.logger.error({ err }, 'dropping expired log partitions failed; purging row by row');
      }
    }
    for (let offset = 0; ; offset += TENANT_PAGE) {
      const page = await this.tenants.list({ limit: TENANT_PAGE, offset });
      for (const tenant of page.items) {
        if (signal?.aborted) return result;
        result.tenants += 1;
        try {
          const r = await this.#purge(tenant, now);
          result.events += r.events;
          result.quarantined += r.quarantined;
          if (r.events > 0 || r.quarantined > 0) result.purged.push(r);
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          result.failures.push({ tenantId: tenant.id, slug: tenant.slug, error });
          this.logger.error({ err, tenantId: tenant.id, slug: tenant.slug }, 'log retention purge failed');
        }
      }
      if (page.items.length < TENANT_PAGE) return result;
    }
  }

  async #purge(tenant: Tenant, now: Date): Promise<TenantPurgeResult> {
    const before = retentionCutoff(now, tenant.retentionDays);
    const { events, quarantined } = await this.logStore.purge(tenant.id, before);
    const r: TenantPurgeResult = {
      tenantId: tenant.id,
      slug: tenant.slug,
      retentionDays: tenant.retentionDays,
      before,
      events,
      quarantined,
    };
    if (events > 0 || quarantined > 0) this.logger.info(r, 'purged expired logs');
    else this.logger.debug(r, 'no expired logs');
    return r;
  }
}
