import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { AlertRepository } from '../../src/repositories/alert.repository.ts';
import { RuleRepository, type Rule } from '../../src/repositories/rule.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import type { RuleCreate, RuleFilters } from '../../src/domain/schemas/rule.schema.ts';
import type { ListOptions } from '../../src/repositories/base.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const numbers = (rules: Rule[]) => rules.map((r) => r.ruleNumber).sort();
const expectedNumbers = (n: number) =>
  Array.from({ length: n }, (_, i) => `RULE-${String(i + 1).padStart(6, '0')}`);

describe.each(engines())('RuleRepository on %s', (engine) => {
  let t: TestDb;
  let repo: RuleRepository;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new RuleRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
  });
  afterAll(async () => t?.dispose());

  const brute: RuleCreate = {
    name: 'SSH brute force',
    description: 'Many failed logins from one source',
    ruleType: 'threshold',
    severity: 'high',
    threshold: { field: 'source_ip', count: 10, window: '5m' },
    tags: ['ssh', 'attack.credential_access'],
    techniques: ['t1110'],
  };

  it('creates and reads a rule with its defaults, created_by the actor', async () => {
    const c = await makeTenant(t.db);
    const r = await repo.create(c.id, brute, 'ana@example.com');
    expect(r).toMatchObject({
      tenantId: c.id,
      ruleNumber: 'RULE-000001',
      name: 'SSH brute force',
      ruleType: 'threshold',
      severity: 'high',
      status: 'active',
      enabled: true,
      version: 1,
      createdBy: 'ana@example.com',
      updatedBy: null,
      techniques: ['T1110'],
      metrics: {},
      parentRuleId: null,
    });
    expect(await repo.get(c.id, r.id)).toEqual(r);
    expect(await repo.getByNumber(c.id, 'RULE-000001')).toEqual(r);
    expect(await repo.getByNumber(c.id, 'RULE-000002')).toBeUndefined();
  });

  it('numbers rules per tenant: the first of each tenant is RULE-000001', async () => {
    const c = await makeTenant(t.db);
    const d = await makeTenant(t.db);
    const c1 = await repo.create(c.id, brute, 'x');
    const c2 = await repo.create(c.id, { ...brute, name: 'second' }, 'x');
    const d1 = await repo.create(d.id, brute, 'x');
    expect([c1.ruleNumber, c2.ruleNumber, d1.ruleNumber]).toEqual([
      'RULE-000001',
      'RULE-000002',
      'RULE-000001',
    ]);
  });

  it('hands out 25 distinct consecutive numbers to 25 concurrent creates', async () => {
    const c = await makeTenant(t.db);
    const created = await Promise.all(
      Array.from({ length: 25 }, (_, i) => repo.create(c.id, { ...brute, name: `r${i}` }, 'x')),
    );
    expect(numbers(created)).toEqual(expectedNumbers(25));
    expect((await repo.list(c.id, { limit: 100 })).total).toBe(25);
  });

  it('accepts an explicit canonical number and moves the counter past it', async () => {
    const c = await makeTenant(t.db);
    const imported = await repo.create(c.id, { ...brute, ruleNumber: 'RULE-000100' }, 'import');
    expect(imported.ruleNumber).toBe('RULE-000100');
    expect((await repo.create(c.id, brute, 'x')).ruleNumber).toBe('RULE-000101');
    // a lower explicit number does not move the counter back
    expect((await repo.create(c.id, { ...brute, ruleNumber: 'RULE-000007' }, 'x')).ruleNumber).toBe(
      'RULE-000007',
    );
    expect((await repo.create(c.id, brute, 'x')).ruleNumber).toBe('RULE-000102');
    await expect(repo.create(c.id, { ...brute, ruleNumber: 'RULE-000007' }, 'x')).rejects.toBeInstanceOf(
      ConflictError,
    );
    for (const bad of ['RULE-42', 'RULE-0000042', 'rule-000042', 'INC-000001']) {
      await expect(repo.create(c.id, { ...brute, ruleNumber: bad }, 'x'), bad).rejects.toMatchObject({
        issues: [{ path: 'ruleNumber' }],
      });
    }
  });

  it('rejects bad input with the field named, and a blank actor', async () => {
    await expect(repo.create(a.id, { ...brute, name: '  ' }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'name' }],
    });
    await expect(repo.create(a.id, { ...brute, falsePositiveRate: 1.5 }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'falsePositiveRate' }],
    });
    await expect(repo.create(a.id, { ...brute, techniques: ['T1110', 'bogus'] }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'techniques.1' }],
    });
    // @ts-expect-error: not a rule type
    await expect(repo.create(a.id, { ...brute, ruleType: 'magic' }, 'x')).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(repo.create(a.id, brute, ' ')).rejects.toMatchObject({ issues: [{ path: '' }] });
  });

  it('finds a rule by its Sigma id, unique per tenant', async () => {
    const sigmaId = 'a1b2c3d4-0000-4000-8000-000000000001';
    const r = await repo.create(a.id, { ...brute, ruleType: 'sigma', sigmaId, sigmaYaml: 'title: x' }, 'x');
    expect((await repo.getBySigmaId(a.id, sigmaId))?.id).toBe(r.id);
    expect(await repo.getBySigmaId(b.id, sigmaId)).toBeUndefined();
    await expect(repo.create(a.id, { ...brute, ruleType: 'sigma', sigmaId }, 'x')).rejects.toBeInstanceOf(
      ConflictError,
    );
    await expect(repo.create(b.id, { ...brute, ruleType: 'sigma', sigmaId }, 'x')).resolves.toMatchObject({
      sigmaId,
    });
  });

  it('update bumps the version and keeps the previous row in rule_versions', async () => {
    const r = await repo.create(a.id, { ...brute, name: 'versioned' }, 'ana');
    const u1 = await repo.update(a.id, r.id, { severity: 'critical' }, 'bob');
    expect(u1).toMatchObject({ version: 2, severity: 'critical', updatedBy: 'bob', createdBy: 'ana' });
    const u2 = await repo.update(a.id, r.id, { enabled: false, description: null }, 'cid');
    expect(u2).toMatchObject({
      version: 3,
      enabled: false,
      description: null,
      updatedBy: 'cid',
      severity: 'critical',
    });

    const versions = await repo.listVersions(a.id, r.id);
    expect(versions.map((v) => [v.version, v.changedBy])).toEqual([
      [2, 'cid'],
      [1, 'bob'],
    ]);
    expect(versions[1]!.snapshot).toMatchObject({
      id: r.id,
      version: 1,
      severity: 'high',
      name: 'versioned',
    });
    expect(versions[0]!.snapshot).toMatchObject({ version: 2, severity: 'critical', enabled: true });
    expect(versions[1]!.changedAt).toBeInstanceOf(Date);

    // an empty patch is no change: no new version
    expect((await repo.update(a.id, r.id, {}, 'x')).version).toBe(3);
    expect(await repo.listVersions(a.id, r.id)).toHaveLength(2);
  });

  it('serialises concurrent updates: every one becomes its own version', async () => {
    const r = await repo.create(a.id, { ...brute, name: 'contended' }, 'x');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => repo.update(a.id, r.id, { description: `edit ${i}` }, `user${i}`)),
    );
    expect(results.map((x) => x.version).sort((p, q) => p - q)).toEqual([2, 3, 4, 5, 6, 7]);
    expect((await repo.get(a.id, r.id))?.version).toBe(7);
    const versions = await repo.listVersions(a.id, r.id);
    expect(versions.map((v) => v.version)).toEqual([6, 5, 4, 3, 2, 1]);
  });

  it('recordExecution merges metrics and sets last_executed without bumping the version', async () => {
    const r = await repo.create(a.id, { ...brute, name: 'executed' }, 'x');
    await t.db.query(
      `update rules set metrics = '{"owner_note":"keep me"}' where tenant_id = $1 and id = $2`,
      [a.id, r.id],
    );
    const at1 = new Date('2024-06-01T12:00:00Z');
    const e1 = await repo.recordExecution(a.id, r.id, { executedAt: at1, durationMs: 100, hits: 3 });
    expect(e1.version).toBe(1);
    expect(e1.lastExecuted).toEqual(at1);
    expect(e1.metrics).toEqual({
      owner_note: 'keep me',
      runs: 1,
      total_hits: 3,
      last_hits: 3,
      errors: 0,
      last_duration_ms: 100,
      avg_duration_ms: 100,
      last_error: null,
    });
    const at2 = new Date('2024-06-01T12:05:00Z');
    const e2 = await repo.recordExecution(a.id, r.id, {
      executedAt: at2.toISOString(),
      durationMs: 300,
      hits: 0,
      error: 'timeout',
    });
    expect(e2.metrics).toMatchObject({
      runs: 2,
      total_hits: 3,
      errors: 1,
      last_duration_ms: 300,
      avg_duration_ms: 200,
      last_error: 'timeout',
    });
    // a late report of an older run counts, but does not move last_executed back
    const e3 = await repo.recordExecution(a.id, r.id, { executedAt: at1, durationMs: 200, hits: 1 });
    expect(e3.lastExecuted).toEqual(at2);
    expect(e3.metrics).toMatchObject({ runs: 3, total_hits: 4, avg_duration_ms: 200, last_error: null });
    expect(e3.version).toBe(1);
    expect(await repo.listVersions(a.id, r.id)).toEqual([]);

    await expect(
      repo.recordExecution(a.id, r.id, { executedAt: at1, durationMs: -1, hits: 0 }),
    ).rejects.toMatchObject({
      issues: [{ path: 'durationMs' }],
    });
    await expect(
      repo.recordExecution(b.id, r.id, { executedAt: at1, durationMs: 1, hits: 0 }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a parent rule must exist in the same tenant, and cannot form a cycle', async () => {
    const parentA = await repo.create(a.id, { ...brute, name: 'parent' }, 'x');
    const inB = repo.create(b.id, { ...brute, parentRuleId: parentA.id }, 'x');
    await expect(inB).rejects.toBeInstanceOf(ValidationError);
    await expect(inB).rejects.toMatchObject({ issues: [{ path: 'parentRuleId' }] });
    await expect(repo.create(a.id, { ...brute, parentRuleId: uuidv7() }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'parentRuleId' }],
    });

    const child = await repo.create(a.id, { ...brute, name: 'child', parentRuleId: parentA.id }, 'x');
    expect(child.parentRuleId).toBe(parentA.id);
    const bRule = await repo.create(b.id, brute, 'x');
    await expect(repo.update(b.id, bRule.id, { parentRuleId: parentA.id }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'parentRuleId' }],
    });
    await expect(repo.update(a.id, parentA.id, { parentRuleId: parentA.id }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'parentRuleId', message: 'would create a cycle' }],
    });
    await expect(repo.update(a.id, parentA.id, { parentRuleId: child.id }, 'x')).rejects.toMatchObject({
      issues: [{ path: 'parentRuleId', message: 'would create a cycle' }],
    });
    expect((await repo.get(a.id, parentA.id))?.version).toBe(1);
  });

  it('the database itself refuses a parent of another tenant (composite FK mapped to ValidationError)', async () => {
    const parentA = await repo.create(a.id, { ...brute, name: 'fk parent' }, 'x');
    const raw = t.db.query(
      `insert into rules (tenant_id, rule_number, name, rule_type, created_by, parent_rule_id)
       values ($1, '', 'sneaky', 'query', 'sql', $2)`,
      [b.id, parentA.id],
    );
    await expect(raw).rejects.toBeInstanceOf(ValidationError);
    await expect(raw).rejects.toMatchObject({ issues: [{ path: 'parentRuleId' }] });
  });

  it('deleting a rule keeps its alerts (rule_id NULL) and its child rules (parent NULL, tenant intact)', async () => {
    const alerts = new AlertRepository(t.db);
    const parent = await repo.create(a.id, { ...brute, name: 'doomed' }, 'x');
    await repo.update(a.id, parent.id, { severity: 'low' }, 'x');
    const child = await repo.create(a.id, { ...brute, name: 'orphan', parentRuleId: parent.id }, 'x');
    const alert = await alerts.create(a.id, {
      ruleId: parent.id,
      alertType: 'brute_force',
      detectionMethod: 'threshold',
    });

    await repo.delete(a.id, parent.id);
    expect(await repo.get(a.id, parent.id)).toBeUndefined();
    expect(await repo.listVersions(a.id, parent.id)).toEqual([]);
    const orphan = await repo.get(a.id, child.id);
    expect(orphan).toMatchObject({ parentRuleId: null, tenantId: a.id, name: 'orphan' });
    const kept = await alerts.get(a.id, alert.id);
    expect(kept).toMatchObject({ ruleId: null, tenantId: a.id, alertType: 'brute_force' });
    const [versionsLeft] = await t.db.query<{ n: number }>(
      `select count(*)::int as n from rule_versions where rule_id = $1`,
      [parent.id],
    );
    expect(versionsLeft?.n).toBe(0);
    await expect(repo.delete(a.id, parent.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists with filters, sort and pagination totals', async () => {
    const d = await makeTenant(t.db);
    for (let i = 0; i < 9; i++) {
      await repo.create(
        d.id,
        {
          name: `rule_${i}`,
          description: i === 4 ? 'Looks for 100% CPU' : null,
          ruleType: i % 3 === 0 ? 'sigma' : 'query',
          severity: i < 3 ? 'critical' : 'low',
          status: i === 8 ? 'draft' : 'active',
          enabled: i % 2 === 0,
          tags: i % 2 ? ['linux'] : ['windows', 'lateral'],
          techniques: i === 5 ? ['T1059.001'] : ['T1059'],
        },
        'x',
      );
    }
    const p1 = await repo.list(d.id, { limit: 4 });
    expect(p1.total).toBe(9);
    expect(p1.items.map((r) => r.ruleNumber)).toEqual(expectedNumbers(4));
    const p3 = await repo.list(d.id, { limit: 4, offset: 8 });
    expect(p3.items.map((r) => r.name)).toEqual(['rule_8']);
    expect((await repo.list(d.id, { sort: '-name', limit: 2 })).items.map((r) => r.name)).toEqual([
      'rule_8',
      'rule_7',
    ]);

    const total = async (opts: ListOptions<RuleFilters>) => (await repo.list(d.id, opts)).total;
    expect(await total({ filters: { ruleType: 'sigma' } })).toBe(3);
    expect(await total({ filters: { severity: 'critical' } })).toBe(3);
    expect(await total({ filters: { status: 'draft' } })).toBe(1);
    expect(await total({ filters: { enabled: false } })).toBe(4);
    expect(await total({ filters: { enabled: 'true' } })).toBe(5);
    expect(await total({ filters: { tag: 'lateral' } })).toBe(5);
    expect(await total({ filters: { tag: 'later' } })).toBe(0);
    expect(await total({ filters: { technique: 't1059.001' } })).toBe(1);
    expect(await total({ filters: { technique: 'T1059' } })).toBe(8);
    expect(await total({ filters: { q: 'RULE_1' } })).toBe(1);
    expect(await total({ filters: { q: '100%' } })).toBe(1);
    expect(await total({ filters: { q: '%' } })).toBe(1);
    expect(await total({ filters: { q: 'rule_' } })).toBe(9);
    expect(await total({ filters: { ruleType: 'query', severity: 'low', enabled: true } })).toBe(2);
    await expect(repo.list(d.id, { sort: 'query' })).rejects.toMatchObject({ issues: [{ path: 'sort' }] });
    await expect(repo.list(d.id, { filters: { technique: 'nope' } })).rejects.toBeInstanceOf(ValidationError);
  });

  it("never shows, changes or deletes another tenant's rule", async () => {
    const r = await repo.create(a.id, { ...brute, name: 'private rule', ruleNumber: 'RULE-900000' }, 'x');
    expect(await repo.get(b.id, r.id)).toBeUndefined();
    expect(await repo.getByNumber(b.id, 'RULE-900000')).toBeUndefined();
    expect((await repo.getByNumber(a.id, 'RULE-900000'))?.id).toBe(r.id);
    expect((await repo.list(b.id, { limit: 500 })).items.find((x) => x.id === r.id)).toBeUndefined();
    expect((await repo.list(b.id, { filters: { q: 'private rule' } })).total).toBe(0);
    await expect(repo.update(b.id, r.id, { name: 'pwned' }, 'mallory')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(b.id, r.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await repo.listVersions(b.id, r.id)).toEqual([]);
    const after = await repo.get(a.id, r.id);
    expect(after).toMatchObject({ name: 'private rule', version: 1 });
  });

  it('answers NotFound for unknown and malformed ids', async () => {
    expect(await repo.get(a.id, uuidv7())).toBeUndefined();
    expect(await repo.get(a.id, 'nope')).toBeUndefined();
    expect(await repo.listVersions(a.id, 'nope')).toEqual([]);
    await expect(repo.update(a.id, 'nope', { name: 'x' }, 'x')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.update(a.id, uuidv7(), { name: 'x' }, 'x')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(a.id, 'nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      repo.recordExecution(a.id, 'nope', { executedAt: new Date(), durationMs: 1, hits: 0 }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it('cascades: deleting the tenant deletes its rules', async () => {
    const e = await makeTenant(t.db);
    const r = await repo.create(e.id, brute, 'x');
    await new TenantRepository(t.db).delete(e.id);
    expect(await repo.get(e.id, r.id)).toBeUndefined();
  });
});
