import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../config/logger.ts';
import { Scheduler } from './scheduler.ts';

function capture(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, records };
}

async function until(cond: () => boolean, timeoutMs = 2_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('Scheduler', () => {
  const started: Scheduler[] = [];
  const make = (opts?: { random?: () => number }) => {
    const { logger, records } = capture();
    const s = new Scheduler(logger, opts);
    started.push(s);
    return { s, records };
  };
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  });

  it('runs a job about every interval until stopped', async () => {
    const { s } = make();
    let runs = 0;
    s.every('tick', 20, () => void (runs += 1));
    s.start();
    expect(runs).toBe(0); // first run one interval after start
    await until(() => runs >= 3);
    await s.stop();
    const after = runs;
    await sleep(80);
    expect(runs).toBe(after);
    expect(s.status()[0]).toMatchObject({ name: 'tick', runs: after, failures: 0, running: false });
  });

  it('never overlaps two runs of the same job, and runNow joins the run in progress', async () => {
    const { s } = make();
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    s.every('slow', 5, async () => {
      runs += 1;
      active += 1;
      maxActive = Math.max(maxActive, active);
      await sleep(40);
      active -= 1;
    });
    s.start();
    await until(() => active === 1);
    const before = runs;
    await s.runNow('slow'); // waits for the current run, does not start a second one
    expect(runs).toBe(before);
    await until(() => runs >= 4);
    expect(maxActive).toBe(1);
  });

  it('logs and counts a failing run, and keeps the schedule', async () => {
    const { s, records } = make();
    let runs = 0;
    s.every('flaky', 10, () => {
      runs += 1;
      if (runs === 1) throw new Error('sync boom');
      if (runs === 2) return Promise.reject(new Error('async boom'));
      return undefined;
    });
    s.start();
    await until(() => runs >= 3 && !s.status()[0]!.running);
    const st = s.status()[0]!;
    expect(st.failures).toBe(2);
    expect(st.lastError).toBeNull(); // the third run succeeded
    const errors = records.filter((r) => r.level === 50);
    expect(errors.map((r) => (r.err as { message: string }).message)).toEqual(['sync boom', 'async boom']);
    expect(errors.every((r) => r.job === 'flaky' && r.msg === 'job failed')).toBe(true);
  });

  it('stop() aborts the signal and waits for the running job to finish', async () => {
    const { s } = make();
    let finished = false;
    let sawAbort = false;
    s.every(
      'long',
      10_000,
      async ({ signal }) => {
        await sleep(60);
        sawAbort = signal.aborted;
        finished = true;
      },
      { runOnStart: true },
    );
    s.start();
    await until(() => s.status()[0]!.running);
    await s.stop();
    expect(finished).toBe(true);
    expect(sawAbort).toBe(true);
    expect(s.started).toBe(false);
  });

  it('keeps no timer that holds the process open', async () => {
    const { s } = make();
    const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timeouts();
    s.every('a', 60_000, () => undefined).every('b', 3_600_000, () => undefined, { jitterMs: 1000 });
    s.start();
    expect(timeouts()).toBe(before);
  });

  it('adds jitter to the wait, and can run on start', async () => {
    const { s } = make({ random: () => 0.999 });
    const t0 = Date.now();
    let firstAt = 0;
    s.every('jittered', 10, () => void (firstAt ||= Date.now()), { jitterMs: 80 });
    let onStart = 0;
    s.every('eager', 60_000, () => void (onStart += 1), { runOnStart: true });
    s.start();
    await until(() => firstAt > 0 && onStart === 1);
    expect(firstAt - t0).toBeGreaterThanOrEqual(80); // 10 + floor(0.999 * 80) = 89 ms, less timer slack
  });

  it('schedules a job added after start, and refuses bad definitions', async () => {
    const { s } = make();
    s.start();
    let runs = 0;
    s.every('late', 10, () => void (runs += 1));
    await until(() => runs >= 1);
    expect(() => s.every('late', 10, () => undefined)).toThrow(/already scheduled/);
    expect(() => s.every('zero', 0, () => undefined)).toThrow(RangeError);
    expect(() => s.every('huge', 2 ** 31, () => undefined)).toThrow(RangeError);
    expect(() => s.every('neg', 10, () => undefined, { jitterMs: -1 })).toThrow(RangeError);
    await expect(s.runNow('missing')).rejects.toThrow(/no job named/);
  });

  it('can start again after stop', async () => {
    const { s } = make();
    let runs = 0;
    s.every('again', 10, ({ signal }) => {
      if (!signal.aborted) runs += 1;
    });
    s.start();
    await until(() => runs >= 1);
    await s.stop();
    const stoppedAt = runs;
    s.start();
    await until(() => runs > stoppedAt);
  });
});
