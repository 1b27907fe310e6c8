import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import type { UserCreate } from '../../src/domain/schemas/user.schema.ts';
import { MembershipRepository } from '../../src/repositories/membership.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import { UserRepository, type PublicUser } from '../../src/repositories/user.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const HASH = '$argon2id$v=19$m=19456,p=1,t=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

let n = 0;
function userInput(over: Partial<UserCreate> = {}): UserCreate {
  n += 1;
  const tag = `member-${process.pid}-${n}-${Math.random().toString(36).slice(2, 7)}`;
  return { username: tag, email: `${tag}@example.com`, passwordHash: HASH, ...over };
}

describe.each(engines())('MembershipRepository on %s', (engine) => {
  let t: TestDb;
  let repo: MembershipRepository;
  let users: UserRepository;
  let tenants: TenantRepository;
  let a: Tenant;
  let b: Tenant;
  const newUser = (over: Partial<UserCreate> = {}): Promise<PublicUser> => users.create(userInput(over));
  const userCount = async (id: string) => (await tenants.get(id))?.userCount;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new MembershipRepository(t.db);
    users = new UserRepository(t.db);
    tenants = new TenantRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
  });
  afterAll(async () => t?.dispose());

  it('adds, reads, changes the role of and removes a member', async () => {
    const u = await newUser();
    const m = await repo.add(a.id, u.id);
    expect(m).toMatchObject({ tenantId: a.id, userId: u.id, role: 'viewer' });
    expect(m.createdAt).toBeInstanceOf(Date);
    expect(await repo.get(a.id, u.id)).toEqual(m);

    const up = await repo.updateRole(a.id, u.id, 'admin');
    expect(up).toMatchObject({ tenantId: a.id, userId: u.id, role: 'admin' });
    expect((await repo.get(a.id, u.id))?.role).toBe('admin');

    await repo.remove(a.id, u.id);
    expect(await repo.get(a.id, u.id)).toBeUndefined();
    await expect(repo.remove(a.id, u.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.updateRole(a.id, u.id, 'analyst')).rejects.toBeInstanceOf(NotFoundError);
    // the user itself is untouched
    expect((await users.get(u.id))?.id).toBe(u.id);
  });

  it('refuses a second membership of the same user as a Conflict', async () => {
    const u = await newUser();
    await repo.add(a.id, u.id, 'analyst');
    const dup = repo.add(a.id, u.id, 'admin');
    await expect(dup).rejects.toBeInstanceOf(ConflictError);
    await expect(dup).rejects.toMatchObject({ field: 'userId' });
    expect((await repo.get(a.id, u.id))?.role).toBe('analyst');
    // the same user in another tenant is fine
    await expect(repo.add(b.id, u.id, 'admin')).resolves.toMatchObject({ tenantId: b.id, role: 'admin' });
  });

  it('rejects bad input with the field named', async () => {
    const u = await newUser();
    // @ts-expect-error: not a membership role
    const badRole = repo.add(a.id, u.id, 'owner');
    await expect(badRole).rejects.toBeInstanceOf(ValidationError);
    await expect(badRole).rejects.toMatchObject({ issues: [{ path: 'role' }] });
    // @ts-expect-error: not a membership role
    await expect(repo.updateRole(a.id, u.id, 'root')).rejects.toMatchObject({ issues: [{ path: 'role' }] });
    await expect(repo.add(a.id, 'nope')).rejects.toMatchObject({ issues: [{ path: 'userId' }] });
    // a well-formed id of no user
    const ghost = repo.add(a.id, uuidv7());
    await expect(ghost).rejects.toBeInstanceOf(ValidationError);
    await expect(ghost).rejects.toMatchObject({ issues: [{ path: 'userId' }] });
    // @ts-expect-error: not a membership role
    await expect(repo.list(a.id, { filters: { role: 'owner' } })).rejects.toMatchObject({
      issues: [{ path: 'role' }],
    });
    await expect(repo.get('not-a-tenant', u.id)).rejects.toBeInstanceOf(ValidationError);
    expect(await repo.get(a.id, 'nope')).toBeUndefined();
  });

  it('keeps tenants.user_count true in the database', async () => {
    const c = await makeTenant(t.db);
    const [u1, u2, u3] = [await newUser(), await newUser(), await newUser()];
    expect(await userCount(c.id)).toBe(0);
    await repo.add(c.id, u1.id);
    await repo.add(c.id, u2.id);
    await repo.add(c.id, u3.id);
    expect(await userCount(c.id)).toBe(3);
    // a refused duplicate does not count twice
    await expect(repo.add(c.id, u1.id)).rejects.toBeInstanceOf(ConflictError);
    expect(await userCount(c.id)).toBe(3);
    // a role change is not a new member
    await repo.updateRole(c.id, u1.id, 'admin');
    expect(await userCount(c.id)).toBe(3);
    await repo.remove(c.id, u1.id);
    expect(await userCount(c.id)).toBe(2);
    // deleting the user removes its membership, and the count follows
    await users.delete(u2.id);
    expect(await userCount(c.id)).toBe(1);
    // even a write that bypasses the repository keeps it true
    await t.db.query(`delete from memberships where tenant_id = $1`, [c.id]);
    expect(await userCount(c.id)).toBe(0);
    await t.db.query(`insert into memberships (tenant_id, user_id) values ($1, $2)`, [c.id, u3.id]);
    expect(await userCount(c.id)).toBe(1);
  });

  it('lists members with their identity, role filter, search, sort and pagination totals', async () => {
    const d = await makeTenant(t.db);
    const tag = `m${process.pid}x${Date.now().toString(36)}`;
    const roles = ['admin', 'analyst', 'viewer', 'analyst', 'viewer', 'analyst', 'viewer'] as const;
    for (let i = 0; i < roles.length; i++) {
      const u = await newUser({
        username: `${tag}-${i}`,
        email: `${tag}-${i}@example.com`,
        displayName: i === 0 ? 'Chief Admin' : null,
      });
      await repo.add(d.id, u.id, roles[i]);
    }
    // a member of another tenant never shows up
    await repo.add(b.id, (await newUser({ username: `${tag}-other`, email: `${tag}-o@example.com` })).id);

    const page1 = await repo.list(d.id, { limit: 3, sort: '-username' });
    expect(page1.total).toBe(7);
    expect(page1.items.map((m) => m.username)).toEqual([`${tag}-6`, `${tag}-5`, `${tag}-4`]);
    expect(page1.items[0]).toMatchObject({ tenantId: d.id, role: 'viewer', email: `${tag}-6@example.com` });
    expect(page1.items[0]).not.toHaveProperty('passwordHash');
    const page3 = await repo.list(d.id, { limit: 3, offset: 6, sort: '-username' });
    expect(page3.items.map((m) => m.username)).toEqual([`${tag}-0`]);
    expect(page3.items[0]).toMatchObject({ role: 'admin', displayName: 'Chief Admin' });

    const analysts = await repo.list(d.id, { filters: { role: 'analyst' } });
    expect(analysts.total).toBe(3);
    expect(analysts.items.every((m) => m.role === 'analyst')).toBe(true);
    expect((await repo.list(d.id, { filters: { q: 'chief' } })).items.map((m) => m.username)).toEqual([
      `${tag}-0`,
    ]);
    expect((await repo.list(d.id, { filters: { q: `${tag}-1` } })).total).toBe(1);
    expect((await repo.list(d.id, { filters: { q: '_' } })).total).toBe(0);
    const byRole = await repo.list(d.id, { sort: 'role' });
    expect(byRole.items.map((m) => m.role)).toEqual([
      'admin',
      'analyst',
      'analyst',
      'analyst',
      'viewer',
      'viewer',
      'viewer',
    ]);
    await expect(repo.list(d.id, { sort: 'password_hash' })).rejects.toMatchObject({
      issues: [{ path: 'sort' }],
    });
  });

  it('lists the tenants of a user with slug, name and role', async () => {
    const u = await newUser();
    const t1 = await makeTenant(t.db, 'Zeta');
    const t2 = await makeTenant(t.db, 'Alpha');
    await repo.add(t2.id, u.id, 'admin');
    await repo.add(t1.id, u.id, 'viewer');
    const mine = await repo.listForUser(u.id);
    const expected = [
      { tenantId: t1.id, slug: t1.slug, name: t1.name, status: 'active', role: 'viewer' },
      { tenantId: t2.id, slug: t2.slug, name: t2.name, status: 'active', role: 'admin' },
    ].sort((x, y) => (x.slug < y.slug ? -1 : 1));
    expect(mine).toMatchObject(expected);
    expect(mine).toHaveLength(2);
    expect(await repo.listForUser(uuidv7())).toEqual([]);
    expect(await repo.listForUser('nope')).toEqual([]);
  });

  it("never shows, changes or removes another tenant's membership", async () => {
    const u = await newUser();
    await repo.add(a.id, u.id, 'analyst');
    expect(await repo.get(b.id, u.id)).toBeUndefined();
    expect((await repo.list(b.id, { limit: 500 })).items.find((m) => m.userId === u.id)).toBeUndefined();
    await expect(repo.updateRole(b.id, u.id, 'admin')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.remove(b.id, u.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await repo.get(a.id, u.id))?.role).toBe('analyst');
  });

  it('cascades: deleting the tenant deletes its memberships', async () => {
    const e = await makeTenant(t.db);
    const u = await newUser();
    await repo.add(e.id, u.id, 'admin');
    await repo.add(a.id, u.id, 'viewer');
    await tenants.delete(e.id);
    expect(await repo.get(e.id, u.id)).toBeUndefined();
    const [{ n: left } = { n: -1 }] = await t.db.query<{ n: number }>(
      `select count(*)::int as n from memberships where tenant_id = $1`,
      [e.id],
    );
    expect(left).toBe(0);
    expect((await repo.listForUser(u.id)).map((x) => x.tenantId)).toEqual([a.id]);
  });
});
