/**
 * The detection job: every interval, each enabled rule of each active tenant runs over the events stored
 * since its watermark (DetectionService.runOnce, which the CLI's `vigil detect run` also calls): Sigma rules
 * with the filters that name them, Sigma correlation and threshold rules with the matches they carry from
 * the previous window, ioc_match and query rules.
 */
import type { DetectionService } from '../services/detection.service.ts';
import type { JobContext, Scheduler } from './scheduler.ts';

export const DETECTION_JOB = 'detection';

export async function runDetectionTick(detection: DetectionService, ctx: JobContext): Promise<void> {
  const r = await detection.runOnce({ signal: ctx.signal });
  const { unsupported, ...summary } = r;
  ctx.logger[r.failed > 0 ? 'warn' : 'info'](
    { ...summary, unsupported: Object.keys(unsupported).length },
    'detection run',
  );
}

export function scheduleDetection(
  scheduler: Scheduler,
  detection: DetectionService,
  opts: { intervalMs: number },
): void {
  scheduler.every(DETECTION_JOB, opts.intervalMs, (ctx) => runDetectionTick(detection, ctx), {
    jitterMs: Math.min(5_000, opts.intervalMs / 10),
    runOnStart: true,
  });
}
