/**
 * What `vigil serve` runs beside the API: the scheduler with the periodic log fetcher, scheduled detection,
 * the retention purge and the daily vulnerability priority recompute, and the syslog receiver when it is
 * enabled. Stopped before the stores close.
 */
import type { Container } from '../container.ts';
import { scheduleDetection } from './detection.job.ts';
import { scheduleLogFetcher } from './log-fetcher.job.ts';
import { scheduleRetention } from './retention.job.ts';
import { Scheduler } from './scheduler.ts';
import { scheduleVulnPriority } from './vuln-priority.job.ts';
import { startSyslog, type RunningSyslog } from './syslog.job.ts';

export interface Background {
  scheduler: Scheduler;
  syslog: RunningSyslog | null;
  stop(): Promise<void>;
}

export async function startBackground(c: Container): Promise<Background> {
  const { config, logger } = c;
  const logs = config.logs;
  const { fetcher, retention } = await c.logJobs();
  const scheduler = new Scheduler(logger);
  if (logs.fetcher.enabled)
    scheduleLogFetcher(scheduler, fetcher, { intervalMs: logs.fetcher.intervalSeconds * 1000 });
  if (logs.retention.enabled)
    scheduleRetention(scheduler, retention, { intervalMs: logs.retention.intervalSeconds * 1000 });
  if (config.detection.enabled)
    scheduleDetection(scheduler, c.services.detection, {
      intervalMs: config.detection.intervalSeconds * 1000,
    });
  // Always on: it only rewrites scores that changed, and stale scores mislead (no config key yet).
  scheduleVulnPriority(scheduler, c.services.vulnPriority);
  scheduler.start();
  let syslog: RunningSyslog | null = null;
  try {
    if (logs.syslog.enabled) syslog = await startSyslog(logs.syslog, c.services.logIngest, logger);
  } catch (e) {
    await scheduler.stop();
    throw e;
  }
  return {
    scheduler,
    syslog,
    async stop() {
      await syslog?.close();
      await scheduler.stop();
    },
  };
}
