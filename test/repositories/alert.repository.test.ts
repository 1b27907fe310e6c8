import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import type { AlertCreate, AlertFilters } from '../../src/domain/schemas/alert.schema.ts';
import { AlertRepository, type Alert } from '../../src/repositories/alert.repository.ts';
import type { ListOptions } from '../../src/repositories/base.ts';
import { IncidentRepository } from '../../src/repositories/incident.repository.ts';
import { RuleRepository } from '../../src/repositories/rule.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const T0 = new Date('2024-05-01T10:00:00.000Z');

describe.each(engines())('AlertRepository on %s', (engine) => {
  let t: TestDb;
  let repo: AlertRepository;
  let rules: RuleRepository;
  let incidents: IncidentRepository;
  let clock = T0;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new AlertRepository(t.db, { now: () => clock });
    rules = new RuleRepository(t.db);
    incidents = new IncidentRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
  });
  afterAll(async () => t?.dispose());

  const countAlerts = async (tenantId: string) =>
    (
      await t.db.query<{ n: number }>(`select count(*)::int as n from alerts where tenant_id = $1`, [
        tenantId,
      ])
    )[0]!.n;

  const brute: AlertCreate = {
    alertType: 'brute_force',
    detectionMethod: 'heuristic',
    severity: 'high',
    description: 'Multiple failed login attempts detected',
    sourceIp: '159.223.208.40',
    userName: 'admin',
    host: 'bastion-1',
    priorityScore: 0.8,
  };

  it('stores one alert with its defaults (seed 002 store_alert)', async () => {
    const al = await repo.create(a.id, {
      ...brute,
      techniques: ['t1110.001'],
      eventIds: ['e1', 'e2'],
      logId: 'e1',
    });
    expect(al).toMatchObject({
      tenantId: a.id,
      alertType: 'brute_force',
      detectionMethod: 'heuristic',
      severity: 'high',
      status: 'new',
      acknowledged: false,
      acknowledgedAt: null,
      acknowledgedBy: null,
      ruleId: null,
      priorityScore: 0.8,
      sourceIp: '159.223.208.40',
      userName: 'admin',
      techniques: ['T1110.001'],
      eventIds: ['e1', 'e2'],
      count: 1,
      metadata: {},
    });
    expect(al.firstSeen).toEqual(al.lastSeen);
    expect(await repo.get(a.id, al.id)).toEqual(al);
  });

  it('validates priority_score in 0..1, addresses and the seen window', async () => {
    for (const priorityScore of [1.01, -0.1, Number.NaN]) {
      await expect(
        repo.create(a.id, { ...brute, priorityScore }),
        String(priorityScore),
      ).rejects.toMatchObject({
        issues: [{ path: 'priorityScore' }],
      });
    }
    await expect(repo.create(a.id, { ...brute, priorityScore: 0 })).resolves.toMatchObject({
      priorityScore: 0,
    });
    await expect(repo.create(a.id, { ...brute, priorityScore: 1 })).resolves.toMatchObject({
      priorityScore: 1,
    });
    await expect(repo.create(a.id, { ...brute, sourceIp: '999.1.1.1' })).rejects.toMatchObject({
      issues: [{ path: 'sourceIp' }],
    });
    await expect(repo.create(a.id, { ...brute, destIp: '2001:db8::1' })).resolves.toMatchObject({
      destIp: '2001:db8::1',
    });
    await expect(
      repo.create(a.id, { ...brute, firstSeen: new Date('2024-01-02'), lastSeen: new Date('2024-01-01') }),
    ).rejects.toMatchObject({ issues: [{ path: 'lastSeen' }] });
    const onlyLast = await repo.create(a.id, { ...brute, lastSeen: '2024-01-01T00:00:00Z' });
    expect(onlyLast.firstSeen).toEqual(new Date('2024-01-01T00:00:00Z'));
    const { alertType: _omit, ...noType } = brute;
    await expect(repo.create(a.id, noType as AlertCreate)).rejects.toMatchObject({
      issues: [{ path: 'alertType' }],
    });
  });

  it('the rule of an alert must be of the same tenant', async () => {
    const ruleA = await rules.create(a.id, { name: 'r', ruleType: 'threshold' }, 'x');
    await expect(repo.create(b.id, { ...brute, ruleId: ruleA.id })).rejects.toMatchObject({
      issues: [{ path: 'ruleId' }],
    });
    await expect(repo.create(a.id, { ...brute, ruleId: uuidv7() })).rejects.toBeInstanceOf(ValidationError);
    expect((await repo.create(a.id, { ...brute, ruleId: ruleA.id })).ruleId).toBe(ruleA.id);
    const inB = await repo.create(b.id, brute);
    await expect(repo.update(b.id, inB.id, { ruleId: ruleA.id })).rejects.toMatchObject({
      issues: [{ path: 'ruleId' }],
    });
  });

  it('stores a batch in input order, all in one go (seed 002 store_alerts_batch)', async () => {
    const c = await makeTenant(t.db);
    const rule = await rules.create(c.id, { name: 'r', ruleType: 'query' }, 'x');
    const inputs = Array.from({ length: 6 }, (_, i) => ({
      ...brute,
      host: `h${i}`,
      ruleId: i % 2 ? rule.id : null,
      priorityScore: i / 10,
    }));
    const stored = await repo.createBatch(c.id, inputs);
    expect(stored.map((s) => s.host)).toEqual(['h0', 'h1', 'h2', 'h3', 'h4', 'h5']);
    expect(stored.map((s) => s.ruleId)).toEqual([null, rule.id, null, rule.id, null, rule.id]);
    expect(stored.every((s) => s.tenantId === c.id)).toBe(true);
    expect(new Set(stored.map((s) => s.id)).size).toBe(6);
    expect(await countAlerts(c.id)).toBe(6);
    expect(await repo.createBatch(c.id, [])).toEqual([]);
  });

  it('a batch with one invalid item is rejected as a whole, naming the item', async () => {
    const c = await makeTenant(t.db);
    const inputs: AlertCreate[] = Array.from({ length: 5 }, (_, i) => ({ ...brute, host: `h${i}` }));
    inputs[3] = { ...brute, priorityScore: 1.5 };
    const bad = repo.createBatch(c.id, inputs);
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ issues: [{ path: '3.priorityScore' }] });
    expect(await countAlerts(c.id)).toBe(0);

    // every bad item is named, not only the first
    inputs[1] = { ...brute, severity: 'apocalyptic' as 'high' };
    const issues = await repo.createBatch(c.id, inputs).then(
      () => [],
      (e: ValidationError) => e.issues.map((i) => i.path),
    );
    expect(issues).toEqual(['1.severity', '3.priorityScore']);

    // a rule of another tenant, found only in the database, also rejects the whole batch
    const ruleB = await rules.create(b.id, { name: 'rb', ruleType: 'query' }, 'x');
    const crossTenant = Array.from({ length: 4 }, (_, i) => ({
      ...brute,
      ruleId: i === 2 ? ruleB.id : null,
    }));
    await expect(repo.createBatch(c.id, crossTenant)).rejects.toMatchObject({
      issues: [{ path: '2.ruleId' }],
    });
    expect(await countAlerts(c.id)).toBe(0);
  });

  it('stores a batch larger than one INSERT statement', async () => {
    const c = await makeTenant(t.db);
    const inputs = Array.from({ length: 1203 }, (_, i) => ({ ...brute, host: `h${i}`, count: i + 1 }));
    const stored = await repo.createBatch(c.id, inputs);
    expect(stored).toHaveLength(1203);
    expect(stored[1202]).toMatchObject({ host: 'h1202', count: 1203 });
    expect(await countAlerts(c.id)).toBe(1203);
  });

  it('acknowledges once: who, when, and status acknowledged if it was new', async () => {
    const al = await repo.create(a.id, brute);
    clock = new Date('2024-05-01T11:00:00Z');
    const ack = await repo.acknowledge(a.id, al.id, 'ana@example.com');
    expect(ack).toMatchObject({
      acknowledged: true,
      acknowledgedAt: clock,
      acknowledgedBy: 'ana@example.com',
      status: 'acknowledged',
    });
    clock = new Date('2024-05-01T12:00:00Z');
    const again = await repo.acknowledge(a.id, al.id, 'bob@example.com');
    expect(again).toMatchObject({
      acknowledgedAt: new Date('2024-05-01T11:00:00Z'),
      acknowledgedBy: 'ana@example.com',
    });

    const working = await repo.create(a.id, { ...brute, status: 'in_progress' });
    expect(await repo.acknowledge(a.id, working.id, 'bob')).toMatchObject({
      acknowledged: true,
      status: 'in_progress',
      acknowledgedBy: 'bob',
    });
    await expect(repo.acknowledge(a.id, uuidv7(), 'bob')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.acknowledge(a.id, al.id, '')).rejects.toBeInstanceOf(ValidationError);
  });

  it('updates a patch and keeps first_seen <= last_seen', async () => {
    const al = await repo.create(a.id, { ...brute, firstSeen: '2024-01-01T00:00:00Z' });
    const u = await repo.update(a.id, al.id, {
      status: 'resolved',
      count: 4,
      lastSeen: '2024-01-03T00:00:00Z',
    });
    expect(u).toMatchObject({ status: 'resolved', count: 4, lastSeen: new Date('2024-01-03T00:00:00Z') });
    await expect(repo.update(a.id, al.id, { firstSeen: '2024-02-01T00:00:00Z' })).rejects.toMatchObject({
      issues: [{ path: 'firstSeen' }],
    });
    await expect(repo.update(a.id, al.id, { priorityScore: 2 })).rejects.toMatchObject({
      issues: [{ path: 'priorityScore' }],
    });
    expect(await repo.update(a.id, al.id, {})).toEqual(u);
  });

  it('lists with filters, default newest first, and pagination totals (seed 002 fetch_alerts)', async () => {
    const d = await makeTenant(t.db);
    const rule = await rules.create(d.id, { name: 'r', ruleType: 'query' }, 'x');
    const made: Alert[] = [];
    for (let i = 0; i < 7; i++) {
      made.push(
        await repo.create(d.id, {
          alertType: i < 2 ? 'port_scan' : 'brute_force',
          detectionMethod: 'sigma',
          severity: i === 0 ? 'critical' : 'low',
          status: i === 6 ? 'false_positive' : 'new',
          ruleId: i % 3 === 0 ? rule.id : null,
          sourceIp: i % 2 ? '10.0.0.1' : '10.0.0.2',
          destIp: i === 4 ? '192.0.2.9' : null,
          userName: i === 5 ? 'root' : 'svc',
          host: `host-${i % 2}`,
          priorityScore: i / 10,
        }),
      );
    }
    // creation times one hour apart, so time filters and the default order are exact
    const hour = (i: number) => new Date(T0.getTime() + i * 3_600_000);
    for (const [i, m] of made.entries())
      await t.db.query(`update alerts set created_at = $1 where tenant_id = $2 and id = $3`, [
        hour(i).toISOString(),
        d.id,
        m.id,
      ]);
    await repo.acknowledge(d.id, made[1]!.id, 'ana');
    await repo.acknowledge(d.id, made[2]!.id, 'ana');

    const p1 = await repo.list(d.id, { limit: 3 });
    expect(p1.total).toBe(7);
    expect(p1.items.map((x) => x.id)).toEqual([made[6]!.id, made[5]!.id, made[4]!.id]);
    const p3 = await repo.list(d.id, { limit: 3, offset: 6 });
    expect(p3.items.map((x) => x.id)).toEqual([made[0]!.id]);
    const byPriority = await repo.list(d.id, { sort: '-priority_score', limit: 2 });
    expect(byPriority.items.map((x) => x.priorityScore)).toEqual([0.6, 0.5]);

    const total = async (opts: ListOptions<AlertFilters>) => (await repo.list(d.id, opts)).total;
    expect(await total({ filters: { severity: 'critical' } })).toBe(1);
    expect(await total({ filters: { status: 'new' } })).toBe(4);
    expect(await total({ filters: { status: 'acknowledged' } })).toBe(2);
    expect(await total({ filters: { acknowledged: true } })).toBe(2);
    expect(await total({ filters: { acknowledged: 'false' } })).toBe(5);
    expect(await total({ filters: { ruleId: rule.id } })).toBe(3);
    expect(await total({ filters: { sourceIp: '10.0.0.1' } })).toBe(3);
    expect(await total({ filters: { destIp: '192.0.2.9' } })).toBe(1);
    expect(await total({ filters: { userName: 'root' } })).toBe(1);
    expect(await total({ filters: { host: 'host-0' } })).toBe(4);
    expect(await total({ filters: { minPriority: 0.5 } })).toBe(2);
    expect(await total({ filters: { minPriority: '0.3' } })).toBe(4);
    expect(await total({ filters: { since: hour(3) } })).toBe(4);
    expect(await total({ filters: { until: hour(3) } })).toBe(3);
    expect(await total({ filters: { since: hour(2), until: hour(4).toISOString() } })).toBe(2);
    expect(await total({ filters: { sourceIp: '10.0.0.2', severity: 'low' } })).toBe(3);
    await expect(repo.list(d.id, { filters: { minPriority: 2 } })).rejects.toMatchObject({
      issues: [{ path: 'minPriority' }],
    });
    await expect(repo.list(d.id, { sort: 'user_name' })).rejects.toMatchObject({
      issues: [{ path: 'sort' }],
    });
  });

  it('links alerts and incidents idempotently, in both directions', async () => {
    const inc1 = await incidents.create(a.id, { title: 'one' }, 'x');
    const inc2 = await incidents.create(a.id, { title: 'two' }, 'x');
    const al1 = await repo.create(a.id, brute);
    const al2 = await repo.create(a.id, { ...brute, host: 'other' });

    const link = await repo.linkIncident(a.id, al1.id, inc1.id, 'ana');
    expect(link).toMatchObject({ tenantId: a.id, alertId: al1.id, incidentId: inc1.id, linkedBy: 'ana' });
    const again = await repo.linkIncident(a.id, al1.id, inc1.id, 'bob');
    expect(again).toEqual(link);
    await repo.linkIncident(a.id, al2.id, inc1.id, 'ana');
    await repo.linkIncident(a.id, al1.id, inc2.id, 'ana');

    expect((await repo.listIncidentAlerts(a.id, inc1.id)).map((x) => x.id).sort()).toEqual(
      [al1.id, al2.id].sort(),
    );
    expect((await repo.listAlertIncidents(a.id, al1.id)).map((x) => x.id).sort()).toEqual(
      [inc1.id, inc2.id].sort(),
    );
    expect((await repo.listIncidentAlerts(a.id, inc2.id)).map((x) => x.id)).toEqual([al1.id]);

    await expect(repo.linkIncident(a.id, uuidv7(), inc1.id, 'x')).rejects.toMatchObject({
      resource: 'alert',
    });
    await expect(repo.linkIncident(a.id, al1.id, uuidv7(), 'x')).rejects.toMatchObject({
      resource: 'incident',
    });
    await expect(repo.linkIncident(a.id, 'nope', inc1.id, 'x')).rejects.toBeInstanceOf(NotFoundError);

    await repo.unlinkIncident(a.id, al1.id, inc2.id);
    expect(await repo.listIncidentAlerts(a.id, inc2.id)).toEqual([]);
    await expect(repo.unlinkIncident(a.id, al1.id, inc2.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await repo.listIncidentAlerts(a.id, 'nope')).toEqual([]);
  });

  it('links cascade when either side is deleted; the other side stays', async () => {
    const inc = await incidents.create(a.id, { title: 'cascade' }, 'x');
    const incGone = await incidents.create(a.id, { title: 'gone' }, 'x');
    const al = await repo.create(a.id, brute);
    const alGone = await repo.create(a.id, brute);
    await repo.linkIncident(a.id, al.id, inc.id, 'x');
    await repo.linkIncident(a.id, alGone.id, inc.id, 'x');
    await repo.linkIncident(a.id, al.id, incGone.id, 'x');

    await repo.delete(a.id, alGone.id);
    expect((await repo.listIncidentAlerts(a.id, inc.id)).map((x) => x.id)).toEqual([al.id]);
    await incidents.delete(a.id, incGone.id);
    expect((await repo.listAlertIncidents(a.id, al.id)).map((x) => x.id)).toEqual([inc.id]);
    const rows = await t.db.query<{ alert_id: string; incident_id: string }>(
      `select alert_id, incident_id from alert_incidents where tenant_id = $1 and (alert_id = $2 or incident_id = $3)`,
      [a.id, alGone.id, incGone.id],
    );
    expect(rows).toEqual([]);
    expect(await repo.get(a.id, al.id)).toBeDefined();
    expect(await incidents.get(a.id, inc.id)).toBeDefined();
  });

  it("never shows, changes, deletes or links another tenant's alerts", async () => {
    const al = await repo.create(a.id, { ...brute, host: 'private-host' });
    const incA = await incidents.create(a.id, { title: 'a' }, 'x');
    const incB = await incidents.create(b.id, { title: 'b' }, 'x');
    await repo.linkIncident(a.id, al.id, incA.id, 'x');

    expect(await repo.get(b.id, al.id)).toBeUndefined();
    expect((await repo.list(b.id, { filters: { host: 'private-host' } })).total).toBe(0);
    await expect(repo.update(b.id, al.id, { status: 'resolved' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.acknowledge(b.id, al.id, 'mallory')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(b.id, al.id)).rejects.toBeInstanceOf(NotFoundError);
    // B cannot attach A's alert to its incident, nor its alerts to A's incident
    await expect(repo.linkIncident(b.id, al.id, incB.id, 'mallory')).rejects.toMatchObject({
      resource: 'alert',
    });
    const alB = await repo.create(b.id, brute);
    await expect(repo.linkIncident(b.id, alB.id, incA.id, 'mallory')).rejects.toMatchObject({
      resource: 'incident',
    });
    // nor see or remove A's links
    expect(await repo.listIncidentAlerts(b.id, incA.id)).toEqual([]);
    expect(await repo.listAlertIncidents(b.id, al.id)).toEqual([]);
    await expect(repo.unlinkIncident(b.id, al.id, incA.id)).rejects.toBeInstanceOf(NotFoundError);

    expect(await repo.get(a.id, al.id)).toMatchObject({ status: 'new', acknowledged: false });
    expect((await repo.listIncidentAlerts(a.id, incA.id)).map((x) => x.id)).toEqual([al.id]);
  });

  it('answers NotFound for unknown and malformed ids', async () => {
    expect(await repo.get(a.id, uuidv7())).toBeUndefined();
    expect(await repo.get(a.id, 'nope')).toBeUndefined();
    await expect(repo.update(a.id, 'nope', { count: 2 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(a.id, uuidv7())).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.acknowledge(a.id, 'nope', 'x')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('cascades: deleting the tenant deletes its alerts', async () => {
    const e = await makeTenant(t.db);
    const al = await repo.create(e.id, brute);
    await new TenantRepository(t.db).delete(e.id);
    expect(await repo.get(e.id, al.id)).toBeUndefined();
  });
});
