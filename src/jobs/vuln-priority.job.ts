/**
 * The vulnerability priority job: recomputes `priority_score` of every CVE for today (its recency term
 * moves with time, docs/priority.md) and writes the scores that changed (VulnPriorityService). Daily by
 * default: the recency term changes by 0.05 / 365 a day, about one unit of the stored 4th decimal.
 * The scheduler has intervals, not wall-clock times; a node that restarts runs it at start, so a score is
 * never more than a day (plus the jitter) behind.
 */
import type { VulnPriorityService } from '../services/vuln-priority.service.ts';
import type { JobContext, Scheduler } from './scheduler.ts';

export const VULN_PRIORITY_JOB = 'vuln-priority';
export const VULN_PRIORITY_INTERVAL_MS = 86_400_000;

export interface VulnPriorityJobOptions {
  /** Default 86,400,000 ms (daily). */
  intervalMs?: number;
  /** Random extra wait per tick, default 10 minutes (capped at the interval). */
  jitterMs?: number;
  /** Also run once as the scheduler starts (default true). */
  runOnStart?: boolean;
  /** Clock, for tests. */
  now?: () => Date;
}

export async function runVulnPriorityTick(
  priorities: VulnPriorityService,
  ctx: JobContext,
  now: () => Date = () => new Date(),
): Promise<void> {
  const r = await priorities.recomputePriorities({ now: now(), signal: ctx.signal });
  ctx.logger.info(r, 'vulnerability priority recompute');
}

export function scheduleVulnPriority(
  scheduler: Scheduler,
  priorities: VulnPriorityService,
  opts: VulnPriorityJobOptions = {},
): void {
  const intervalMs = opts.intervalMs ?? VULN_PRIORITY_INTERVAL_MS;
  scheduler.every(VULN_PRIORITY_JOB, intervalMs, (ctx) => runVulnPriorityTick(priorities, ctx, opts.now), {
    jitterMs: opts.jitterMs ?? Math.min(600_000, intervalMs),
    runOnStart: opts.runOnStart ?? true,
  });
}
