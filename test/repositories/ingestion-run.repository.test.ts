import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import {
  IngestionRunRepository,
  type IngestionRun,
} from '../../src/repositories/ingestion-run.repository.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

let seq = 0;
const src = (name: string) => `${name}-${++seq}`;

describe.each(engines())('IngestionRunRepository on %s', (engine) => {
  let t: TestDb;
  let repo: IngestionRunRepository;
  let a: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new IngestionRunRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
  });
  afterAll(async () => t?.dispose());

  it('starts a run and finishes it with counters and a duration', async () => {
    const run = await repo.start({ source: 'kev', kind: 'intel', label: 'initial_load' });
    expect(run).toMatchObject({
      source: 'kev',
      kind: 'intel',
      label: 'initial_load',
      status: 'running',
      tenantId: null,
      completedAt: null,
      durationSeconds: null,
      recordsFetched: 0,
    });
    expect(run.startedAt).toBeInstanceOf(Date);
    await new Promise((r) => setTimeout(r, 20));

    const done = await repo.finish(run.id, {
      status: 'success',
      recordsFetched: 10,
      recordsInserted: 6,
      recordsUpdated: 2,
      recordsFailed: 1,
      recordsDuplicate: 1,
      details: { pages: 2 },
    });
    expect(done).toMatchObject({
      status: 'success',
      recordsFetched: 10,
      recordsInserted: 6,
      recordsUpdated: 2,
      recordsFailed: 1,
      recordsDuplicate: 1,
      details: { pages: 2 },
      errorMessage: null,
    });
    expect(done.completedAt!.getTime()).toBeGreaterThan(run.startedAt.getTime());
    expect(done.durationSeconds).toBeGreaterThan(0.01);
    expect(done.durationSeconds).toBeCloseTo(
      (done.completedAt!.getTime() - run.startedAt.getTime()) / 1000,
      2,
    );
    expect(await repo.get(run.id)).toEqual(done);

    // a finished run stays finished
    await expect(repo.finish(run.id, { status: 'failed' })).rejects.toBeInstanceOf(ConflictError);
    expect((await repo.get(run.id))?.status).toBe('success');
  });

  it('records a failure with its message', async () => {
    const run = await repo.start({ source: 'nvd', kind: 'intel' });
    const failed = await repo.finish(run.id, {
      status: 'failed',
      recordsFetched: 3,
      errorMessage: 'HTTP 503',
    });
    expect(failed).toMatchObject({
      status: 'failed',
      errorMessage: 'HTTP 503',
      recordsFetched: 3,
      recordsInserted: 0,
    });
  });

  it('rejects bad input with the field named', async () => {
    // @ts-expect-error: not a kind
    const bad = repo.start({ source: 'kev', kind: 'vibes' });
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ issues: [{ path: 'kind' }] });
    await expect(repo.start({ source: '', kind: 'intel' })).rejects.toMatchObject({
      issues: [{ path: 'source' }],
    });
    await expect(repo.start({ source: 'x', kind: 'logs', tenantId: 'acme' })).rejects.toMatchObject({
      issues: [{ path: 'tenantId' }],
    });
    const run = await repo.start({ source: 'x', kind: 'intel' });
    // @ts-expect-error: 'running' is not an outcome
    await expect(repo.finish(run.id, { status: 'running' })).rejects.toMatchObject({
      issues: [{ path: 'status' }],
    });
    await expect(repo.finish(run.id, { status: 'success', recordsInserted: -1 })).rejects.toMatchObject({
      issues: [{ path: 'recordsInserted' }],
    });
    await expect(repo.finish(run.id, { status: 'success', recordsFetched: 1.5 })).rejects.toMatchObject({
      issues: [{ path: 'recordsFetched' }],
    });
    expect((await repo.get(run.id))?.status).toBe('running');
  });

  it('answers NotFound for unknown and malformed ids', async () => {
    expect(await repo.get(uuidv7())).toBeUndefined();
    expect(await repo.get('7')).toBeUndefined();
    await expect(repo.finish(uuidv7(), { status: 'success' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.finish('7', { status: 'success' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists recent runs first, with filters and pagination totals', async () => {
    const feed = src('epss');
    const logs = src('file:/var/log/auth.log');
    const made: IngestionRun[] = [];
    for (let i = 0; i < 4; i++) made.push(await repo.start({ source: feed, kind: 'intel', label: `r${i}` }));
    await repo.finish(made[0]!.id, { status: 'success' });
    await repo.finish(made[1]!.id, { status: 'failed' });
    const tenantRun = await repo.start({ source: logs, kind: 'logs', tenantId: a.id });
    expect(tenantRun.tenantId).toBe(a.id);

    const page = await repo.list({ limit: 3, filters: { source: feed } });
    expect(page.total).toBe(4);
    expect(page.items.map((r) => r.label)).toEqual(['r3', 'r2', 'r1']);
    expect(
      (await repo.list({ limit: 3, offset: 3, filters: { source: feed } })).items.map((r) => r.label),
    ).toEqual(['r0']);
    expect((await repo.list({ filters: { source: feed, status: 'running' } })).total).toBe(2);
    expect((await repo.list({ filters: { source: feed, status: 'failed' } })).items[0]?.id).toBe(made[1]!.id);

    const ofTenant = await repo.list({ filters: { tenantId: a.id } });
    expect(ofTenant.items.map((r) => r.id)).toEqual([tenantRun.id]);
    const logsRuns = await repo.list({ filters: { kind: 'logs' } });
    expect(logsRuns.items.map((r) => r.id)).toEqual([tenantRun.id]);
    const global = await repo.list({ filters: { tenantId: null }, limit: 500 });
    expect(global.items.some((r) => r.id === tenantRun.id)).toBe(false);
    expect(global.items.some((r) => r.id === made[0]!.id)).toBe(true);
    await expect(repo.list({ sort: 'details' })).rejects.toMatchObject({ issues: [{ path: 'sort' }] });
  });

  // Last: it leaves runs behind that the listing tests above would count.
  it('abandons only running runs of the kind that started before the cut-off', async () => {
    const stale = await repo.start({ source: src('logs:/var/log/a'), kind: 'logs', tenantId: a.id });
    const intel = await repo.start({ source: src('kev'), kind: 'intel' });
    const done = await repo.start({ source: src('logs:/var/log/b'), kind: 'logs', tenantId: a.id });
    await repo.finish(done.id, { status: 'success' });
    await new Promise((r) => setTimeout(r, 20));
    const cutoff = new Date();
    await new Promise((r) => setTimeout(r, 20));
    const fresh = await repo.start({ source: src('logs:/var/log/c'), kind: 'logs', tenantId: a.id });
    const ids = await repo.abandon('logs', cutoff, 'interrupted: test');
    expect(ids).toContain(stale.id);
    expect(ids).not.toContain(intel.id);
    expect(ids).not.toContain(done.id);
    expect(ids).not.toContain(fresh.id);
    expect(await repo.get(stale.id)).toMatchObject({ status: 'failed', errorMessage: 'interrupted: test' });
    expect((await repo.get(stale.id))!.completedAt).toBeInstanceOf(Date);
    expect(await repo.get(fresh.id)).toMatchObject({ status: 'running' });
    expect(await repo.get(intel.id)).toMatchObject({ status: 'running' });
  });
});
