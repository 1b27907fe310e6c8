import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import type { StatusChangeEntry } from '../../src/domain/incident-timing.ts';
import type { IncidentCreate, IncidentFilters } from '../../src/domain/schemas/incident.schema.ts';
import type { ListOptions } from '../../src/repositories/base.ts';
import { IncidentRepository, type Incident } from '../../src/repositories/incident.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const T0 = new Date('2024-05-01T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const expectedNumbers = (n: number) =>
  Array.from({ length: n }, (_, i) => `INC-${String(i + 1).padStart(6, '0')}`);

describe.each(engines())('IncidentRepository on %s', (engine) => {
  let t: TestDb;
  let repo: IncidentRepository;
  /** The repository's clock: tests move it to get exact durations. */
  let clock = T0;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new IncidentRepository(t.db, { now: () => clock });
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
  });
  afterAll(async () => t?.dispose());

  const phish: IncidentCreate = {
    title: 'Phishing wave',
    description: 'Credential harvesting emails to finance',
    incidentType: 'phishing',
    severity: 'high',
    priority: 'high',
    source: { system: 'Detection Agent', rule_id: 'rule-123', confidence: 0.85 },
    tags: ['email'],
  };

  it('creates and reads an incident with its defaults', async () => {
    clock = T0;
    const c = await makeTenant(t.db);
    const i = await repo.create(c.id, { ...phish, occurredAt: at(-600) }, 'system');
    expect(i).toMatchObject({
      tenantId: c.id,
      incidentNumber: 'INC-000001',
      title: 'Phishing wave',
      status: 'open',
      incidentType: 'phishing',
      createdBy: 'system',
      detectedAt: T0,
      occurredAt: at(-600),
      timeToDetect: 600,
      respondedAt: null,
      resolvedAt: null,
      timeToRespond: null,
      timeToResolve: null,
      timeline: [],
      source: { system: 'Detection Agent', rule_id: 'rule-123', confidence: 0.85 },
    });
    expect(await repo.get(c.id, i.id)).toEqual(i);
    expect(await repo.getByNumber(c.id, 'INC-000001')).toEqual(i);
  });

  it('numbers incidents per tenant: the first of each tenant is INC-000001', async () => {
    const c = await makeTenant(t.db);
    const d = await makeTenant(t.db);
    const got = [
      (await repo.create(c.id, phish, 'x')).incidentNumber,
      (await repo.create(c.id, phish, 'x')).incidentNumber,
      (await repo.create(d.id, phish, 'x')).incidentNumber,
    ];
    expect(got).toEqual(['INC-000001', 'INC-000002', 'INC-000001']);
  });

  it('hands out 25 distinct consecutive numbers to 25 concurrent creates', async () => {
    const c = await makeTenant(t.db);
    const created = await Promise.all(
      Array.from({ length: 25 }, (_, i) => repo.create(c.id, { ...phish, title: `wave ${i}` }, 'x')),
    );
    expect(created.map((i) => i.incidentNumber).sort()).toEqual(expectedNumbers(25));
  });

  it('accepts an explicit canonical number and moves the counter past it', async () => {
    const c = await makeTenant(t.db);
    expect((await repo.create(c.id, { ...phish, incidentNumber: 'INC-000050' }, 'x')).incidentNumber).toBe(
      'INC-000050',
    );
    expect((await repo.create(c.id, phish, 'x')).incidentNumber).toBe('INC-000051');
    await expect(repo.create(c.id, { ...phish, incidentNumber: 'INC-000050' }, 'x')).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(repo.create(c.id, { ...phish, incidentNumber: 'INC-50' }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'incidentNumber' }],
    });
  });

  it('rejects bad input with the field named', async () => {
    await expect(repo.create(a.id, { ...phish, title: '' }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'title' }],
    });
    // @ts-expect-error: not an incident status
    await expect(repo.create(a.id, { ...phish, status: 'panicking' }, 'x')).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(
      repo.create(a.id, { ...phish, detectedAt: at(0), occurredAt: at(5) }, 'x'),
    ).rejects.toMatchObject({ issues: [{ path: 'occurredAt' }] });
    // occurredAt after the default detectedAt (now) is caught too
    clock = T0;
    await expect(repo.create(a.id, { ...phish, occurredAt: at(5) }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'occurredAt' }],
    });
    await expect(repo.create(a.id, phish, '')).rejects.toBeInstanceOf(ValidationError);
  });

  it('status flow open -> investigating -> resolved -> open -> investigating -> closed keeps the clock', async () => {
    clock = T0;
    const i = await repo.create(a.id, { ...phish, title: 'flow', occurredAt: at(-300) }, 'system');
    expect(i.timeToDetect).toBe(300);

    clock = at(120);
    const inv = await repo.update(a.id, i.id, { status: 'investigating', assignedTo: 'ana' }, 'ana');
    expect(inv).toMatchObject({
      status: 'investigating',
      assignedTo: 'ana',
      updatedBy: 'ana',
      respondedAt: at(120),
      timeToRespond: 120,
      resolvedAt: null,
      timeToResolve: null,
      timeToDetect: 300,
    });

    clock = at(3600);
    const res = await repo.update(a.id, i.id, { status: 'resolved' }, 'bob');
    expect(res).toMatchObject({
      respondedAt: at(120),
      timeToRespond: 120,
      resolvedAt: at(3600),
      timeToResolve: 3600,
    });

    clock = at(4000);
    const reopened = await repo.update(a.id, i.id, { status: 'open' }, 'cid');
    expect(reopened).toMatchObject({
      status: 'open',
      respondedAt: at(120),
      timeToRespond: 120,
      resolvedAt: null,
      timeToResolve: null,
    });

    clock = at(4500);
    const again = await repo.update(a.id, i.id, { status: 'investigating' }, 'cid');
    expect(again).toMatchObject({ respondedAt: at(120), timeToRespond: 120, resolvedAt: null });

    clock = at(7200);
    const closed = await repo.update(a.id, i.id, { status: 'closed' }, 'ana');
    expect(closed).toMatchObject({ resolvedAt: at(7200), timeToResolve: 7200 });

    expect(closed.timeline as StatusChangeEntry[]).toEqual([
      { at: at(120).toISOString(), type: 'status_change', from: 'open', to: 'investigating', by: 'ana' },
      { at: at(3600).toISOString(), type: 'status_change', from: 'investigating', to: 'resolved', by: 'bob' },
      { at: at(4000).toISOString(), type: 'status_change', from: 'resolved', to: 'open', by: 'cid' },
      { at: at(4500).toISOString(), type: 'status_change', from: 'open', to: 'investigating', by: 'cid' },
      { at: at(7200).toISOString(), type: 'status_change', from: 'investigating', to: 'closed', by: 'ana' },
    ]);
    expect(await repo.get(a.id, i.id)).toEqual(closed);

    // a patch without a status change adds no entry
    const edited = await repo.update(a.id, i.id, { severity: 'critical' }, 'ana');
    expect(edited.timeline).toHaveLength(5);
    expect(edited.resolvedAt).toEqual(at(7200));
  });

  it('editing occurredAt or detectedAt recomputes the durations', async () => {
    clock = T0;
    const i = await repo.create(a.id, { ...phish, title: 'edits' }, 'x');
    expect(i.timeToDetect).toBeNull();
    clock = at(60);
    await repo.update(a.id, i.id, { status: 'contained' }, 'x');
    const u = await repo.update(a.id, i.id, { occurredAt: at(-30) }, 'x');
    expect(u).toMatchObject({ occurredAt: at(-30), timeToDetect: 30, timeToRespond: 60 });
    const moved = await repo.update(a.id, i.id, { detectedAt: at(-10).toISOString() }, 'x');
    expect(moved).toMatchObject({ detectedAt: at(-10), timeToDetect: 20, timeToRespond: 70 });
    expect((await repo.update(a.id, i.id, { occurredAt: null }, 'x')).timeToDetect).toBeNull();
    // detected after it was responded to: refused, nothing written
    await expect(repo.update(a.id, i.id, { detectedAt: at(61) }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'detectedAt' }],
    });
    await expect(repo.update(a.id, i.id, { occurredAt: at(0) }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'occurredAt' }],
    });
    expect((await repo.get(a.id, i.id))?.detectedAt).toEqual(at(-10));
  });

  it('an incident created in a terminal status is responded and resolved at creation', async () => {
    clock = at(100);
    const i = await repo.create(a.id, { ...phish, status: 'false_positive', detectedAt: T0 }, 'x');
    expect(i).toMatchObject({
      respondedAt: at(100),
      timeToRespond: 100,
      resolvedAt: at(100),
      timeToResolve: 100,
    });
  });

  it('serialises concurrent status changes: the timeline is one unbroken chain', async () => {
    clock = T0;
    const i = await repo.create(a.id, { ...phish, title: 'contended' }, 'x');
    const targets = [
      'investigating',
      'contained',
      'resolved',
      'open',
      'eradicated',
      'closed',
      'recovered',
    ] as const;
    await Promise.all(targets.map((s, k) => repo.update(a.id, i.id, { status: s }, `user${k}`)));
    const final = (await repo.get(a.id, i.id))!;
    const entries = final.timeline as StatusChangeEntry[];
    expect(entries.length).toBeGreaterThanOrEqual(targets.length - 1);
    expect(entries[0]!.from).toBe('open');
    for (let k = 1; k < entries.length; k++) expect(entries[k]!.from).toBe(entries[k - 1]!.to);
    expect(entries.at(-1)!.to).toBe(final.status);
  });

  it('a parent incident must be of the same tenant, and cannot form a cycle; deleting it orphans the child', async () => {
    const parent = await repo.create(a.id, { ...phish, title: 'parent' }, 'x');
    await expect(repo.create(b.id, { ...phish, parentIncidentId: parent.id }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'parentIncidentId' }],
    });
    await expect(repo.create(a.id, { ...phish, parentIncidentId: uuidv7() }, 'x')).rejects.toBeInstanceOf(
      ValidationError,
    );
    const child = await repo.create(a.id, { ...phish, title: 'child', parentIncidentId: parent.id }, 'x');
    const grandchild = await repo.create(
      a.id,
      { ...phish, title: 'grandchild', parentIncidentId: child.id },
      'x',
    );
    await expect(
      repo.update(a.id, parent.id, { parentIncidentId: grandchild.id }, 'x'),
    ).rejects.toMatchObject({
      issues: [{ path: 'parentIncidentId', message: 'would create a cycle' }],
    });
    const bInc = await repo.create(b.id, phish, 'x');
    await expect(repo.update(b.id, bInc.id, { parentIncidentId: parent.id }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'parentIncidentId' }],
    });

    await repo.delete(a.id, parent.id);
    expect(await repo.get(a.id, child.id)).toMatchObject({ parentIncidentId: null, tenantId: a.id });
    expect((await repo.get(a.id, grandchild.id))?.parentIncidentId).toBe(child.id);
  });

  it('lists with filters, sort and pagination totals', async () => {
    const d = await makeTenant(t.db);
    const made: Incident[] = [];
    for (let k = 0; k < 8; k++) {
      made.push(
        await repo.create(
          d.id,
          {
            title: k === 3 ? 'Ransomware on FS01' : `incident ${k}`,
            description: k === 5 ? 'under_score' : null,
            incidentType: k % 2 ? 'malware' : 'phishing',
            severity: k < 2 ? 'critical' : 'medium',
            priority: k === 7 ? 'low' : 'medium',
            status: k === 6 ? 'investigating' : 'open',
            assignedTo: k % 4 === 0 ? 'ana' : null,
            tags: k % 2 ? ['edr'] : [],
            detectedAt: at(k * 3600),
          },
          'x',
        ),
      );
    }
    const p1 = await repo.list(d.id, { limit: 3 });
    expect(p1.total).toBe(8);
    // default: most recently detected first
    expect(p1.items.map((i) => i.id)).toEqual([made[7]!.id, made[6]!.id, made[5]!.id]);
    const p3 = await repo.list(d.id, { limit: 3, offset: 6 });
    expect(p3.items.map((i) => i.id)).toEqual([made[1]!.id, made[0]!.id]);
    const byNumber = await repo.list(d.id, { sort: 'incident_number', limit: 2 });
    expect(byNumber.items.map((i) => i.incidentNumber)).toEqual(['INC-000001', 'INC-000002']);

    const total = async (opts: ListOptions<IncidentFilters>) => (await repo.list(d.id, opts)).total;
    expect(await total({ filters: { status: 'investigating' } })).toBe(1);
    expect(await total({ filters: { severity: 'critical' } })).toBe(2);
    expect(await total({ filters: { priority: 'low' } })).toBe(1);
    expect(await total({ filters: { incidentType: 'malware' } })).toBe(4);
    expect(await total({ filters: { assignedTo: 'ana' } })).toBe(2);
    expect(await total({ filters: { tag: 'edr' } })).toBe(4);
    expect(await total({ filters: { q: 'ransomware' } })).toBe(1);
    expect(await total({ filters: { q: 'under_' } })).toBe(1);
    expect(await total({ filters: { q: '_' } })).toBe(1);
    expect(await total({ filters: { q: made[2]!.incidentNumber } })).toBe(1);
    expect(await total({ filters: { detectedFrom: at(2 * 3600), detectedTo: at(5 * 3600) } })).toBe(3);
    expect(await total({ filters: { detectedFrom: at(7 * 3600).toISOString() } })).toBe(1);
    expect(await total({ filters: { incidentType: 'malware', severity: 'critical' } })).toBe(1);
    await expect(repo.list(d.id, { sort: 'description' })).rejects.toMatchObject({
      issues: [{ path: 'sort' }],
    });
  });

  it("never shows, changes or deletes another tenant's incident", async () => {
    const i = await repo.create(
      a.id,
      { ...phish, title: 'private incident', incidentNumber: 'INC-900000' },
      'x',
    );
    expect(await repo.get(b.id, i.id)).toBeUndefined();
    expect(await repo.getByNumber(b.id, 'INC-900000')).toBeUndefined();
    expect((await repo.list(b.id, { limit: 500 })).items.find((x) => x.id === i.id)).toBeUndefined();
    expect((await repo.list(b.id, { filters: { q: 'private incident' } })).total).toBe(0);
    await expect(repo.update(b.id, i.id, { status: 'closed' }, 'mallory')).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(repo.delete(b.id, i.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await repo.get(a.id, i.id)).toMatchObject({ status: 'open', timeline: [], updatedBy: null });
  });

  it('answers NotFound for unknown and malformed ids', async () => {
    expect(await repo.get(a.id, uuidv7())).toBeUndefined();
    expect(await repo.get(a.id, 'INC-000001')).toBeUndefined();
    await expect(repo.update(a.id, 'nope', { title: 'x' }, 'x')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.update(a.id, uuidv7(), { title: 'x' }, 'x')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(a.id, uuidv7())).rejects.toBeInstanceOf(NotFoundError);
  });

  it('cascades: deleting the tenant deletes its incidents', async () => {
    const e = await makeTenant(t.db);
    const i = await repo.create(e.id, phish, 'x');
    await new TenantRepository(t.db).delete(e.id);
    expect(await repo.get(e.id, i.id)).toBeUndefined();
  });
});
