/**
 * The vulnerability priority recompute (VulnPriorityService and its daily job) on PGlite and, with
 * TEST_DATABASE_URL, PostgreSQL: a score stored at an earlier "now" is brought up to date, a record whose
 * score is still right is not rewritten, and the job is registered by `vigil serve`'s background.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createContainer } from '../../src/container.ts';
import { vulnerabilityPriority } from '../../src/intel/vuln/priority.ts';
import { startBackground } from '../../src/jobs/background.ts';
import { Scheduler } from '../../src/jobs/scheduler.ts';
import {
  scheduleVulnPriority,
  VULN_PRIORITY_INTERVAL_MS,
  VULN_PRIORITY_JOB,
} from '../../src/jobs/vuln-priority.job.ts';
import { VulnPriorityRepository } from '../../src/repositories/vuln-priority.repository.ts';
import { VulnerabilityRepository } from '../../src/repositories/vulnerability.repository.ts';
import { VulnPriorityService } from '../../src/services/vuln-priority.service.ts';
import { captureLogger, LEVEL } from '../helpers/capture-logger.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';

const DAY = 86_400_000;
const THEN = new Date('2026-03-01T00:00:00Z');
const NOW = new Date(THEN.getTime() + 30 * DAY);

/** Priority inputs of a CVE, published `ageDays` before THEN (null: no date). */
const record = (cveId: string, ageDays: number | null, extra: { isRejected?: boolean } = {}) => ({
  cveId,
  cvssScore: 7.5,
  epssScore: 0.1234,
  exploitedInTheWild: false,
  kevRansomwareUse: null,
  ssvc: null,
  publishedAt: ageDays === null ? null : new Date(THEN.getTime() - ageDays * DAY),
  isRejected: extra.isRejected ?? false,
});
const scoreAt = (r: ReturnType<typeof record>, now: Date) =>
  vulnerabilityPriority({ ...r, publishedAt: r.publishedAt?.toISOString() ?? null }, now);

describe.each(engines())('vulnerability priority recompute on %s', (engine) => {
  let t: TestDb;
  let vulns: VulnerabilityRepository;
  let svc: VulnPriorityService;

  beforeAll(async () => {
    t = await createTestDb(engine);
    vulns = new VulnerabilityRepository(t.db);
    svc = new VulnPriorityService(new VulnPriorityRepository(t.db));
  }, 60_000);
  afterAll(async () => t?.dispose());

  it('rewrites the scores that recency moved, in chunks, and leaves the others untouched', async () => {
    const records = [
      record('CVE-2026-0001', 10), // recent: T drops by 30/365
      record('CVE-2026-0002', 100),
      record('CVE-2020-0003', 2000), // old: T is 0 then and now
      record('CVE-2026-0004', null), // no date: T is 0
      record('CVE-2026-0005', 5, { isRejected: true }), // rejected: 0
      record('CVE-2026-0006', 200),
    ];
    for (const r of records) await vulns.upsert({ ...r, priorityScore: scoreAt(r, THEN) });
    const before = new Map(
      (await Promise.all(records.map((r) => vulns.getByCveId(r.cveId)))).map((v) => [v!.cveId, v!]),
    );
    await sleep(20); // so a rewrite would show in updated_at

    const res = await svc.recomputePriorities({ now: NOW, chunkSize: 2 });
    expect(res).toMatchObject({ scanned: records.length, changed: 3, aborted: false });
    for (const r of records) {
      const v = (await vulns.getByCveId(r.cveId))!;
      expect(v.priorityScore, r.cveId).toBeCloseTo(scoreAt(r, NOW), 4);
      const moved = scoreAt(r, NOW) !== scoreAt(r, THEN);
      expect(moved, r.cveId).toBe(['CVE-2026-0001', 'CVE-2026-0002', 'CVE-2026-0006'].includes(r.cveId));
      if (!moved) expect(v.updatedAt, r.cveId).toEqual(before.get(r.cveId)!.updatedAt);
      else expect(v.updatedAt.getTime(), r.cveId).toBeGreaterThan(before.get(r.cveId)!.updatedAt.getTime());
    }
    expect((await vulns.getByCveId('CVE-2026-0001'))!.priorityScore).toBeLessThan(
      before.get('CVE-2026-0001')!.priorityScore!,
    );

    // A second run for the same day has nothing to write; a record never scored gets its score.
    expect(await svc.recomputePriorities({ now: NOW })).toMatchObject({ scanned: 6, changed: 0 });
    await vulns.upsert({ ...record('CVE-2026-0007', 1), priorityScore: null });
    expect(await svc.recomputePriorities({ now: NOW })).toMatchObject({ scanned: 7, changed: 1 });
    expect((await vulns.getByCveId('CVE-2026-0007'))!.priorityScore).toBeCloseTo(
      scoreAt(record('CVE-2026-0007', 1), NOW),
      4,
    );

    const stopped = new AbortController();
    stopped.abort();
    expect(await svc.recomputePriorities({ now: NOW, signal: stopped.signal })).toMatchObject({
      scanned: 0,
      aborted: true,
    });
  });

  it('the job runs the recompute and logs its counts', async () => {
    const { logger, records } = captureLogger();
    const scheduler = new Scheduler(logger);
    scheduleVulnPriority(scheduler, svc, { now: () => new Date(NOW.getTime() + DAY), runOnStart: false });
    expect(scheduler.status().map((s) => [s.name, s.intervalMs])).toEqual([
      [VULN_PRIORITY_JOB, VULN_PRIORITY_INTERVAL_MS],
    ]);
    await scheduler.runNow(VULN_PRIORITY_JOB);
    const run = records.find((r) => r.msg === 'vulnerability priority recompute');
    expect(run).toMatchObject({ level: LEVEL.info, job: VULN_PRIORITY_JOB, scanned: 7 });
    expect(run!.changed).toBeGreaterThan(0);
    expect(scheduler.status()[0]).toMatchObject({ runs: 1, failures: 0 });
  });

  it('vigil serve registers the daily job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-prio-'));
    const config = loadConfig({
      env: { VIGIL_DATA_DIR: dir, VIGIL_LOG_STORE: 'duckdb', DATABASE_URL: '' },
    });
    const c = await createContainer(config, captureLogger().logger, t.db);
    const bg = await startBackground(c);
    try {
      expect(bg.scheduler.status().find((s) => s.name === VULN_PRIORITY_JOB)).toMatchObject({
        intervalMs: VULN_PRIORITY_INTERVAL_MS,
      });
    } finally {
      await bg.stop();
      await c.logStore().then((s) => s.close());
    }
  });
});
