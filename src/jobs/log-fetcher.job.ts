/**
 * The periodic log fetcher job (seed 002: every 60 s by default): one LogFetcherService pass per tick.
 * A pass stops at its per-run cap; when a consumer is still behind, the next pass follows at once instead
 * of one interval later, until caught up.
 */
import type { LogFetcherService } from '../services/log-fetcher.service.ts';
import type { JobContext, Scheduler } from './scheduler.ts';

export const LOG_FETCHER_JOB = 'log-fetcher';

export interface LogFetcherJobOptions {
  /** Default 60,000 ms (seed 002's interval_seconds=60). */
  intervalMs?: number;
  /** Random extra wait per tick, default 10% of the interval. */
  jitterMs?: number;
  /** Passes in a row while consumers are behind (default 10): bounds one tick's length. */
  maxPassesPerTick?: number;
}

/** One tick: fetch passes until nobody is capped, the pass limit is hit, or the scheduler stops. */
export async function runLogFetcherTick(
  fetcher: LogFetcherService,
  ctx: JobContext,
  maxPasses = 10,
): Promise<{ passes: number; delivered: number; failed: number; conflicts: number; behind: boolean }> {
  const total = { passes: 0, delivered: 0, failed: 0, conflicts: 0, behind: false };
  for (;;) {
    const r = await fetcher.runOnce({ signal: ctx.signal });
    total.passes += 1;
    total.delivered += r.delivered;
    total.failed += r.failed;
    total.conflicts += r.conflicts;
    total.behind = r.capped > 0;
    if (!total.behind || r.aborted || ctx.signal.aborted || total.passes >= maxPasses) break;
  }
  const level = total.failed > 0 ? 'warn' : total.delivered > 0 ? 'info' : 'debug';
  ctx.logger[level](total, 'log fetcher tick');
  return total;
}

export function scheduleLogFetcher(
  scheduler: Scheduler,
  fetcher: LogFetcherService,
  opts: LogFetcherJobOptions = {},
): void {
  const intervalMs = opts.intervalMs ?? 60_000;
  scheduler.every(
    LOG_FETCHER_JOB,
    intervalMs,
    (ctx) => runLogFetcherTick(fetcher, ctx, opts.maxPassesPerTick),
    {
      jitterMs: opts.jitterMs ?? Math.floor(intervalMs / 10),
    },
  );
}
