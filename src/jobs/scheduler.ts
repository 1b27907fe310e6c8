/**
 * A small in-process interval scheduler for background jobs (log fetcher, retention, feeds).
 *
 * - `every(name, intervalMs, fn)`: the job starts about every `intervalMs`, measured from the start of its
 *   previous run; a run that takes longer than the interval is followed by the next one at once, never
 *   overlapped by it (one run per job at a time, including `runNow`).
 * - A run that throws or rejects is logged and counted; the job keeps its schedule.
 * - Timers are unref'd: a scheduler alone never keeps the process alive.
 * - `stop()` cancels the timers, aborts the runs' signal and waits for the runs in progress to finish.
 * - Optional jitter adds a random delay in [0, jitterMs) to every wait, so that several nodes or jobs
 *   started together do not hit the databases in step.
 *
 * Why not a library: croner (cron expressions, `protect` against overruns) and toad-scheduler
 * (`preventOverrun`) are well kept, but neither waits for the running job on stop nor hands it an abort
 * signal, neither has jitter, and our jobs are plain intervals; this is about a hundred lines with no
 * dependency. If a job ever needs wall-clock schedules ("daily at 03:00"), croner is the one to add.
 *
 * Several nodes each run their own scheduler; the jobs themselves must be safe to run concurrently on
 * several nodes (the log fetcher's watermark compare-and-set makes it so).
 */
import type { Logger } from '../config/logger.ts';

export interface JobContext {
  /** Aborted when the scheduler stops: a long run should return at its next safe point. */
  signal: AbortSignal;
  /** The scheduler's logger, bound to `job: <name>`. */
  logger: Logger;
}

export type JobFn = (ctx: JobContext) => Promise<unknown> | unknown;

export interface JobOptions {
  /** Add a random delay in [0, jitterMs) to every wait (default 0). */
  jitterMs?: number;
  /** Run as soon as the scheduler starts (plus jitter) rather than one interval later (default false). */
  runOnStart?: boolean;
}

export interface JobStatus {
  name: string;
  intervalMs: number;
  running: boolean;
  runs: number;
  failures: number;
  lastStartedAt: Date | null;
  lastFinishedAt: Date | null;
  lastDurationMs: number | null;
  lastError: string | null;
}

interface Job {
  name: string;
  intervalMs: number;
  jitterMs: number;
  runOnStart: boolean;
  fn: JobFn;
  logger: Logger;
  timer: NodeJS.Timeout | undefined;
  current: Promise<void> | undefined;
  status: JobStatus;
}

/** setTimeout's largest delay (about 24.8 days); longer ones would fire at once. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class Scheduler {
  readonly #jobs = new Map<string, Job>();
  readonly #random: () => number;
  #controller = new AbortController();
  #started = false;

  constructor(
    private readonly logger: Logger,
    opts: { random?: () => number } = {},
  ) {
    this.#random = opts.random ?? Math.random;
  }

  get started(): boolean {
    return this.#started;
  }

  /** Add a job. Added to a started scheduler, it is scheduled at once. */
  every(name: string, intervalMs: number, fn: JobFn, opts: JobOptions = {}): this {
    if (this.#jobs.has(name)) throw new Error(`job ${name} is already scheduled`);
    if (!Number.isFinite(intervalMs) || intervalMs <= 0 || intervalMs > MAX_DELAY_MS) {
      throw new RangeError(`job ${name}: interval must be between 1 and ${MAX_DELAY_MS} ms`);
    }
    const jitterMs = opts.jitterMs ?? 0;
    if (!Number.isFinite(jitterMs) || jitterMs < 0 || intervalMs + jitterMs > MAX_DELAY_MS) {
      throw new RangeError(`job ${name}: jitter must be between 0 and ${MAX_DELAY_MS - intervalMs} ms`);
    }
    const job: Job = {
      name,
      intervalMs,
      jitterMs,
      runOnStart: opts.runOnStart ?? false,
      fn,
      logger: this.logger.child({ job: name }),
      timer: undefined,
      current: undefined,
      status: {
        name,
        intervalMs,
        running: false,
        runs: 0,
        failures: 0,
        lastStartedAt: null,
        lastFinishedAt: null,
        lastDurationMs: null,
        lastError: null,
      },
    };
    this.#jobs.set(name, job);
    if (this.#started) this.#schedule(job, job.runOnStart ? 0 : job.intervalMs);
    return this;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    if (this.#controller.signal.aborted) this.#controller = new AbortController();
    for (const job of this.#jobs.values()) this.#schedule(job, job.runOnStart ? 0 : job.intervalMs);
    this.logger.debug({ jobs: [...this.#jobs.keys()] }, 'scheduler started');
  }

  /** Cancel the timers, abort the running jobs' signal and wait for them to finish. */
  async stop(): Promise<void> {
    this.#started = false;
    for (const job of this.#jobs.values()) {
      clearTimeout(job.timer);
      job.timer = undefined;
    }
    this.#controller.abort();
    const running = [...this.#jobs.values()].flatMap((j) => (j.current ? [j.current] : []));
    await Promise.allSettled(running);
    this.logger.debug('scheduler stopped');
  }

  /**
   * Run a job now (a CLI command, a test) and wait for it. If it is already running, wait for that run
   * instead of starting a second one. Errors are logged and counted as for a scheduled run, not thrown.
   */
  async runNow(name: string): Promise<void> {
    const job = this.#jobs.get(name);
    if (!job) throw new Error(`no job named ${name}`);
    await this.#run(job);
  }

  status(): JobStatus[] {
    return [...this.#jobs.values()].map((j) => ({ ...j.status }));
  }

  #schedule(job: Job, delayMs: number): void {
    clearTimeout(job.timer);
    const jitter = job.jitterMs > 0 ? Math.floor(this.#random() * job.jitterMs) : 0;
    job.timer = setTimeout(() => void this.#tick(job), Math.min(MAX_DELAY_MS, delayMs + jitter));
    job.timer.unref();
  }

  async #tick(job: Job): Promise<void> {
    job.timer = undefined;
    if (!this.#started) return;
    await this.#run(job);
    if (!this.#started || job.timer) return;
    const took = job.status.lastDurationMs ?? 0;
    this.#schedule(job, Math.max(0, job.intervalMs - took));
  }

  #run(job: Job): Promise<void> {
    if (job.current) return job.current;
    const signal = this.#controller.signal;
    const run = async (): Promise<void> => {
      const started = performance.now();
      job.status.running = true;
      job.status.lastStartedAt = new Date();
      job.status.runs += 1;
      try {
        await job.fn({ signal, logger: job.logger });
        job.status.lastError = null;
      } catch (err) {
        job.status.failures += 1;
        job.status.lastError = err instanceof Error ? err.message : String(err);
        job.logger.error({ err }, 'job failed');
      } finally {
        job.status.running = false;
        job.status.lastFinishedAt = new Date();
        job.status.lastDurationMs = Math.round(performance.now() - started);
      }
    };
    // Cleared in a callback, which always runs after this assignment (a job that throws synchronously
    // would otherwise finish inside run() and leave a stale promise behind).
    const current = run().finally(() => {
      job.current = undefined;
    });
    job.current = current;
    return current;
  }
}
