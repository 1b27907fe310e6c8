import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import type { UserCreate } from '../../src/domain/schemas/user.schema.ts';
import { AuditLogRepository, type AuditLog } from '../../src/repositories/audit-log.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import { UserRepository, type PublicUser } from '../../src/repositories/user.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const HASH = '$argon2id$v=19$m=19456,p=1,t=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

let n = 0;
function userInput(): UserCreate {
  n += 1;
  const tag = `audit-${process.pid}-${n}-${Math.random().toString(36).slice(2, 7)}`;
  return { username: tag, email: `${tag}@example.com`, passwordHash: HASH };
}

describe.each(engines())('AuditLogRepository on %s', (engine) => {
  let t: TestDb;
  let repo: AuditLogRepository;
  let users: UserRepository;
  let tenants: TenantRepository;
  let a: Tenant;
  let b: Tenant;
  let alice: PublicUser;

  /** Test setup only: move a row in time (the repository itself never updates audit rows). */
  const backdate = (row: AuditLog, at: string) =>
    t.db.query(`update audit_logs set timestamp = $1 where tenant_id = $2 and id = $3`, [
      at,
      row.tenantId,
      row.id,
    ]);

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new AuditLogRepository(t.db);
    users = new UserRepository(t.db);
    tenants = new TenantRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
    alice = await users.create(userInput());
  });
  afterAll(async () => t?.dispose());

  it('records an entry with every field, its place in the hash chain computed by the database', async () => {
    const details = { agent: 'incident_triage', query: 'ssh brute force', tags: ['a', 'b'] };
    const before = Date.now();
    const row = await repo.create(a.id, {
      userId: alice.id,
      actor: alice.username,
      action: 'agent_execution',
      resourceType: 'incident',
      resourceId: 'INC-000001',
      details,
      description: 'Executed incident triage agent',
      ipAddress: '192.168.1.100',
      userAgent: 'curl/8.5.0',
      success: false,
    });
    expect(row).toMatchObject({
      tenantId: a.id,
      userId: alice.id,
      actor: alice.username,
      action: 'agent_execution',
      resourceType: 'incident',
      resourceId: 'INC-000001',
      details,
      description: 'Executed incident triage agent',
      ipAddress: '192.168.1.100',
      userAgent: 'curl/8.5.0',
      success: false,
      seq: expect.any(Number),
      rowHash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(row.timestamp).toBeInstanceOf(Date);
    expect(Math.abs(row.timestamp.getTime() - before)).toBeLessThan(60_000);
    expect(await repo.get(a.id, row.id)).toEqual(row);
  });

  it('a system entry needs only its action; success defaults to true', async () => {
    const row = await repo.create(a.id, { action: 'system', ipAddress: '2001:db8::1' });
    expect(row).toMatchObject({ action: 'system', userId: null, actor: null, success: true, details: null });
    expect(row.ipAddress).toBe('2001:db8::1');
  });

  it('is append-only: there is no way to change or remove an entry through the repository', () => {
    const methods = Object.getOwnPropertyNames(AuditLogRepository.prototype);
    expect(methods.sort()).toEqual(['constructor', 'create', 'get', 'list', 'verifyChain']);
  });

  it('rejects bad input with the field named; truncates an oversized user agent instead of losing the row', async () => {
    // @ts-expect-error: not an audit action
    const bad = repo.create(a.id, { action: 'hack_the_planet' });
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ issues: [{ path: 'action' }] });
    await expect(repo.create(a.id, { action: 'login', ipAddress: '999.1.1.1' })).rejects.toMatchObject({
      issues: [{ path: 'ipAddress' }],
    });
    await expect(repo.create(a.id, { action: 'login', userId: 'alice' })).rejects.toMatchObject({
      issues: [{ path: 'userId' }],
    });
    await expect(repo.create(a.id, { action: 'login', userId: uuidv7() })).rejects.toMatchObject({
      code: 'validation',
      issues: [{ path: 'userId' }],
    });
    // @ts-expect-error: details is a JSON object
    await expect(repo.create(a.id, { action: 'login', details: 'text' })).rejects.toMatchObject({
      issues: [{ path: 'details' }],
    });
    const long = await repo.create(a.id, { action: 'login_failed', userAgent: 'A'.repeat(5000) });
    expect(long.userAgent).toHaveLength(512);
    // @ts-expect-error: not an audit action
    await expect(repo.list(a.id, { filters: { action: 'hack' } })).rejects.toMatchObject({
      issues: [{ path: 'action' }],
    });
    await expect(
      repo.list(a.id, { filters: { since: '2025-01-02T00:00:00Z', until: '2025-01-01T00:00:00Z' } }),
    ).rejects.toMatchObject({ issues: [{ path: 'until' }] });
  });

  it('lists newest first with filters, a half-open time window and pagination totals', async () => {
    const d = await makeTenant(t.db);
    const bob = await users.create(userInput());
    const rows: AuditLog[] = [];
    const plan = [
      { action: 'login', userId: alice.id, ipAddress: '10.0.0.1', at: '2024-01-01T00:00:00Z' },
      {
        action: 'login_failed',
        userId: alice.id,
        ipAddress: '10.0.0.2',
        success: false,
        at: '2024-03-01T00:00:00Z',
      },
      { action: 'login', userId: bob.id, ipAddress: '10.0.0.1', at: '2024-06-01T00:00:00Z' },
      {
        action: 'create',
        userId: bob.id,
        resourceType: 'rule',
        resourceId: 'RULE-000001',
        at: '2024-09-01T00:00:00Z',
      },
      {
        action: 'update',
        userId: bob.id,
        resourceType: 'rule',
        resourceId: 'RULE-000001',
        at: '2025-01-01T00:00:00Z',
      },
      { action: 'login_failed', ipAddress: '10.0.0.2', success: false, at: '2025-02-01T00:00:00Z' },
      { action: 'logout', userId: alice.id, ipAddress: '10.0.0.1', at: '2025-03-01T00:00:00Z' },
    ] as const;
    for (const { at, ...entry } of plan) {
      const row = await repo.create(d.id, entry);
      await backdate(row, at);
      rows.push(row);
    }
    const ids = (page: { items: AuditLog[] }) => page.items.map((r) => rows.findIndex((x) => x.id === r.id));

    const page1 = await repo.list(d.id, { limit: 3 });
    expect(page1.total).toBe(7);
    expect(ids(page1)).toEqual([6, 5, 4]);
    const page3 = await repo.list(d.id, { limit: 3, offset: 6 });
    expect(ids(page3)).toEqual([0]);
    expect(ids(await repo.list(d.id, { sort: 'timestamp', limit: 2 }))).toEqual([0, 1]);

    expect(ids(await repo.list(d.id, { filters: { action: 'login' } }))).toEqual([2, 0]);
    expect(ids(await repo.list(d.id, { filters: { userId: alice.id } }))).toEqual([6, 1, 0]);
    expect(ids(await repo.list(d.id, { filters: { success: false } }))).toEqual([5, 1]);
    expect((await repo.list(d.id, { filters: { success: true } })).total).toBe(5);
    expect(ids(await repo.list(d.id, { filters: { resourceType: 'rule' } }))).toEqual([4, 3]);
    expect(ids(await repo.list(d.id, { filters: { resourceId: 'RULE-000001', action: 'create' } }))).toEqual([
      3,
    ]);
    expect(ids(await repo.list(d.id, { filters: { ipAddress: '10.0.0.2' } }))).toEqual([5, 1]);
    // since is inclusive, until exclusive
    expect(ids(await repo.list(d.id, { filters: { since: '2024-06-01T00:00:00Z' } }))).toEqual([
      6, 5, 4, 3, 2,
    ]);
    expect(ids(await repo.list(d.id, { filters: { until: '2024-06-01T00:00:00Z' } }))).toEqual([1, 0]);
    expect(
      ids(
        await repo.list(d.id, {
          filters: { since: new Date('2024-03-01T00:00:00Z'), until: new Date('2025-01-01T00:00:00Z') },
        }),
      ),
    ).toEqual([3, 2, 1]);
    expect(
      ids(
        await repo.list(d.id, {
          filters: { since: '2024-01-01T00:00:00Z', ipAddress: '10.0.0.1', userId: alice.id },
        }),
      ),
    ).toEqual([6, 0]);
    await expect(repo.list(d.id, { sort: 'details' })).rejects.toMatchObject({ issues: [{ path: 'sort' }] });
  });

  it("never shows another tenant's audit rows", async () => {
    const row = await repo.create(a.id, {
      action: 'config_change',
      userId: alice.id,
      description: 'private',
    });
    expect(await repo.get(b.id, row.id)).toBeUndefined();
    expect((await repo.list(b.id, { limit: 500 })).items.find((x) => x.id === row.id)).toBeUndefined();
    expect((await repo.list(b.id, { filters: { userId: alice.id } })).total).toBe(0);
    expect((await repo.get(a.id, row.id))?.description).toBe('private');
    expect(await repo.get(a.id, 'nope')).toBeUndefined();
    expect(await repo.get(a.id, uuidv7())).toBeUndefined();
  });

  it('outlives its user (user_id NULL, actor kept) but not its tenant', async () => {
    const e = await makeTenant(t.db);
    const frank = await users.create(userInput());
    const row = await repo.create(e.id, { action: 'login', userId: frank.id, actor: frank.username });
    await users.delete(frank.id);
    expect(await repo.get(e.id, row.id)).toMatchObject({
      userId: null,
      actor: frank.username,
      action: 'login',
    });

    await tenants.delete(e.id);
    const [{ n: left } = { n: -1 }] = await t.db.query<{ n: number }>(
      `select count(*)::int as n from audit_logs where tenant_id = $1`,
      [e.id],
    );
    expect(left).toBe(0);
    // another tenant's trail is untouched
    expect((await repo.list(a.id)).total).toBeGreaterThan(0);
  });
});
