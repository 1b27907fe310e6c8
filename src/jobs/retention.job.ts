/**
 * The log retention job: purges every tenant's logs older than its `retention_days` (LogRetentionService,
 * which the CLI also calls). Hourly by default: purging is by age, so a run finds at most an hour's worth.
 */
import type { LogRetentionService } from '../services/log-retention.service.ts';
import type { JobContext, Scheduler } from './scheduler.ts';

export const RETENTION_JOB = 'log-retention';

export interface RetentionJobOptions {
  /** Default 3,600,000 ms (hourly). */
  intervalMs?: number;
  /** Random extra wait per tick, default 5 minutes (capped at the interval). */
  jitterMs?: number;
  /** Also run once as the scheduler starts (default true): a node that restarts often still purges. */
  runOnStart?: boolean;
  /** Clock, for tests. */
  now?: () => Date;
}

export async function runRetentionTick(
  retention: LogRetentionService,
  ctx: JobContext,
  now: () => Date = () => new Date(),
): Promise<void> {
  const r = await retention.purgeAll(now(), ctx.signal);
  const summary = {
    tenants: r.tenants,
    events: r.events,
    quarantined: r.quarantined,
    failed: r.failures.length,
  };
  ctx.logger[r.failures.length > 0 ? 'warn' : 'info'](summary, 'log retention run');
  if (r.failures.length > 0 && r.failures.length === r.tenants) {
    // Every tenant failed: most likely the log store itself; let the scheduler count a failed run.
    throw new Error(`log retention failed for every tenant: ${r.failures[0]?.error ?? ''}`);
  }
}

export function scheduleRetention(
  scheduler: Scheduler,
  retention: LogRetentionService,
  opts: RetentionJobOptions = {},
): void {
  const intervalMs = opts.intervalMs ?? 3_600_000;
  scheduler.every(RETENTION_JOB, intervalMs, (ctx) => runRetentionTick(retention, ctx, opts.now), {
    jitterMs: opts.jitterMs ?? Math.min(300_000, intervalMs),
    runOnStart: opts.runOnStart ?? true,
  });
}
