import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { AuditLogRepository } from '../../src/repositories/audit-log.repository.ts';
import { MembershipRepository } from '../../src/repositories/membership.repository.ts';
import { SessionRepository } from '../../src/repositories/session.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import { toPublicUser, UserRepository, type PublicUser } from '../../src/repositories/user.repository.ts';
import type { UserCreate } from '../../src/domain/schemas/user.schema.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

/** A well-formed argon2id PHC string; these tests never need a real one. */
const HASH = '$argon2id$v=19$m=19456,p=1,t=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

let n = 0;
function userInput(over: Partial<UserCreate> = {}, prefix = 'user'): UserCreate {
  n += 1;
  const tag = `${prefix}-${process.pid}-${n}-${Math.random().toString(36).slice(2, 7)}`;
  return { username: tag, email: `${tag}@example.com`, passwordHash: HASH, ...over };
}

describe.each(engines())('UserRepository on %s', (engine) => {
  let t: TestDb;
  let repo: UserRepository;
  let tenants: TenantRepository;
  let members: MembershipRepository;
  let sessions: SessionRepository;
  let audit: AuditLogRepository;
  let a: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new UserRepository(t.db);
    tenants = new TenantRepository(t.db);
    members = new MembershipRepository(t.db);
    sessions = new SessionRepository(t.db);
    audit = new AuditLogRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
  });
  afterAll(async () => t?.dispose());

  it('creates, reads, updates and deletes a user', async () => {
    const input = userInput({ displayName: 'Ada Lovelace' });
    const u = await repo.create(input);
    expect(u).toMatchObject({
      username: input.username,
      email: input.email,
      displayName: 'Ada Lovelace',
      platformRole: 'user',
      isActive: true,
      failedLoginCount: 0,
      lastLogin: null,
      lockedUntil: null,
      defaultTenantId: null,
    });
    expect(u.createdAt).toBeInstanceOf(Date);
    expect(u).not.toHaveProperty('passwordHash');

    // get* are the authentication path: they carry the hash
    const got = await repo.get(u.id);
    expect(got?.passwordHash).toBe(HASH);
    expect(toPublicUser(got!)).toEqual(u);

    const up = await repo.update(u.id, {
      displayName: 'Countess',
      platformRole: 'sre',
      defaultTenantId: a.id,
    });
    expect(up).toMatchObject({ displayName: 'Countess', platformRole: 'sre', defaultTenantId: a.id });
    expect(up).not.toHaveProperty('passwordHash');
    expect(up.updatedAt.getTime()).toBeGreaterThanOrEqual(u.updatedAt.getTime());
    expect(up.passwordChangedAt).toBeNull();
    // an empty patch changes nothing and still answers the row
    expect(await repo.update(u.id, {})).toEqual(up);

    await repo.delete(u.id);
    expect(await repo.get(u.id)).toBeUndefined();
    await expect(repo.delete(u.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.update(u.id, { displayName: 'x' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('changing the password hash stamps password_changed_at', async () => {
    const u = await repo.create(userInput());
    const newHash = HASH.replace('c2FsdHNhbHRzYWx0', 'bmV3c2FsdG5ld3NhbHQ');
    const up = await repo.update(u.id, { passwordHash: newHash });
    expect(up.passwordChangedAt).toBeInstanceOf(Date);
    expect((await repo.get(u.id))?.passwordHash).toBe(newHash);
  });

  it('finds a user by username, email or either, case-insensitively', async () => {
    const input = userInput({ email: `Mixed.Case-${process.pid}-${Date.now()}@Example.COM` });
    const u = await repo.create(input);
    expect((await repo.getByUsername(input.username.toUpperCase()))?.id).toBe(u.id);
    expect((await repo.getByEmail(input.email.toLowerCase()))?.id).toBe(u.id);
    expect((await repo.getByLogin(`  ${input.email.toUpperCase()} `))?.id).toBe(u.id);
    expect((await repo.getByLogin(input.username.toUpperCase()))?.id).toBe(u.id);
    expect((await repo.getByLogin(input.username))?.passwordHash).toBe(HASH);
    expect(await repo.getByLogin('nobody-here')).toBeUndefined();
    expect(await repo.getByLogin('nobody@example.com')).toBeUndefined();
    expect(await repo.getByLogin('   ')).toBeUndefined();
    // LIKE wildcards are not wildcards here
    expect(await repo.getByUsername('%')).toBeUndefined();
  });

  it('maps a duplicate username or email, in any case, to a Conflict naming the field', async () => {
    const first = userInput();
    const u = await repo.create(first);
    const dupEmail = repo.create(userInput({ email: first.email.toUpperCase() }));
    await expect(dupEmail).rejects.toBeInstanceOf(ConflictError);
    await expect(dupEmail).rejects.toMatchObject({ field: 'email' });
    const dupName = repo.create(userInput({ username: first.username.toUpperCase() }));
    await expect(dupName).rejects.toBeInstanceOf(ConflictError);
    await expect(dupName).rejects.toMatchObject({ field: 'username' });

    const other = await repo.create(userInput());
    await expect(repo.update(other.id, { email: first.email.toUpperCase() })).rejects.toMatchObject({
      code: 'conflict',
      field: 'email',
    });
    expect((await repo.get(other.id))?.email).toBe(other.email);
    expect((await repo.get(u.id))?.email).toBe(first.email);
  });

  it('rejects bad input with the field named, before touching the database', async () => {
    // @ts-expect-error: not a platform role
    const badRole = repo.create(userInput({ platformRole: 'root' }));
    await expect(badRole).rejects.toBeInstanceOf(ValidationError);
    await expect(badRole).rejects.toMatchObject({ issues: [{ path: 'platformRole' }] });
    await expect(repo.create(userInput({ email: 'not-an-email' }))).rejects.toMatchObject({
      issues: [{ path: 'email' }],
    });
    await expect(repo.create(userInput({ username: 'has@sign' }))).rejects.toMatchObject({
      issues: [{ path: 'username' }],
    });
    // a plaintext password can never be stored as the hash
    await expect(repo.create(userInput({ passwordHash: 'hunter2hunter2' }))).rejects.toMatchObject({
      issues: [{ path: 'passwordHash' }],
    });
    await expect(repo.create(userInput({ defaultTenantId: 'acme' }))).rejects.toMatchObject({
      issues: [{ path: 'defaultTenantId' }],
    });
    const u = await repo.create(userInput());
    // @ts-expect-error: not a platform role
    await expect(repo.update(u.id, { platformRole: 'admin' })).rejects.toMatchObject({
      issues: [{ path: 'platformRole' }],
    });
    await expect(repo.list({ filters: { tenantId: 'acme' } })).rejects.toMatchObject({
      issues: [{ path: 'tenantId' }],
    });
  });

  it('answers NotFound for unknown and malformed ids', async () => {
    expect(await repo.get(uuidv7())).toBeUndefined();
    expect(await repo.get('nope')).toBeUndefined();
    await expect(repo.update('nope', { displayName: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.recordLogin(uuidv7())).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.recordFailedLogin(uuidv7())).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.recordFailedLogin('nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('counts failed logins atomically and resets them on a successful login', async () => {
    const u = await repo.create(userInput());
    expect(await repo.recordFailedLogin(u.id)).toBe(1);
    expect(await repo.recordFailedLogin(u.id)).toBe(2);
    // concurrent failures are all counted
    const counts = await Promise.all([1, 2, 3].map(() => repo.recordFailedLogin(u.id)));
    expect(counts.sort()).toEqual([3, 4, 5]);
    const lock = new Date(Date.now() + 15 * 60_000);
    await repo.update(u.id, { lockedUntil: lock });
    expect((await repo.get(u.id))?.lockedUntil?.getTime()).toBe(lock.getTime());

    const at = new Date('2025-03-01T12:00:00.000Z');
    await repo.recordLogin(u.id, at);
    const after = await repo.get(u.id);
    expect(after).toMatchObject({ failedLoginCount: 0, lockedUntil: null });
    expect(after?.lastLogin?.toISOString()).toBe(at.toISOString());
  });

  it('lists users without ever exposing a password hash, with filters and pagination totals', async () => {
    const tag = `lst${process.pid}x${Date.now().toString(36)}`;
    const d = await makeTenant(t.db);
    const made: PublicUser[] = [];
    for (let i = 0; i < 7; i++) {
      const u = await repo.create({
        username: `${tag}-${i}`,
        email: `${tag}-${i}@example.com`,
        displayName: i === 3 ? 'Grace Hopper' : null,
        passwordHash: HASH,
        isActive: i % 2 === 0,
        platformRole: i === 6 ? 'sre' : 'user',
      });
      made.push(u);
      if (i < 3) await members.add(d.id, u.id, 'analyst');
    }

    const page1 = await repo.list({ filters: { q: tag }, limit: 3, sort: '-username' });
    expect(page1.total).toBe(7);
    expect(page1).toMatchObject({ limit: 3, offset: 0 });
    expect(page1.items.map((u) => u.username)).toEqual([`${tag}-6`, `${tag}-5`, `${tag}-4`]);
    for (const item of page1.items) expect(item).not.toHaveProperty('passwordHash');
    expect(JSON.stringify(page1)).not.toContain('argon2');
    const page3 = await repo.list({ filters: { q: tag }, limit: 3, offset: 6, sort: '-username' });
    expect(page3.items.map((u) => u.username)).toEqual([`${tag}-0`]);
    expect(page3.total).toBe(7);

    expect((await repo.list({ filters: { q: tag.toUpperCase(), isActive: false } })).total).toBe(3);
    expect((await repo.list({ filters: { q: tag, isActive: true } })).total).toBe(4);
    const sres = await repo.list({ filters: { q: tag, platformRole: 'sre' } });
    expect(sres.items.map((u) => u.id)).toEqual([made[6]!.id]);
    // q matches the display name too, and escapes LIKE wildcards
    expect((await repo.list({ filters: { q: 'grace hop' } })).items.map((u) => u.id)).toContain(made[3]!.id);
    expect((await repo.list({ filters: { q: `${tag}%` } })).total).toBe(0);

    const ofTenant = await repo.list({ filters: { tenantId: d.id }, sort: 'username' });
    expect(ofTenant.total).toBe(3);
    expect(ofTenant.items.map((u) => u.username)).toEqual([`${tag}-0`, `${tag}-1`, `${tag}-2`]);
    for (const item of ofTenant.items) expect(item).not.toHaveProperty('passwordHash');
    expect((await repo.list({ filters: { tenantId: d.id, isActive: true } })).total).toBe(2);

    await expect(repo.list({ sort: 'password_hash' })).rejects.toMatchObject({ issues: [{ path: 'sort' }] });
  });

  it('cascades: deleting a user deletes its sessions and memberships, keeps its audit rows with user_id NULL', async () => {
    const c = await makeTenant(t.db);
    const u = await repo.create(userInput());
    const keep = await repo.create(userInput());
    await members.add(c.id, u.id, 'admin');
    await members.add(c.id, keep.id);
    const s = await sessions.create(c.id, { userId: u.id, threadId: 'th-1' });
    const row = await audit.create(c.id, { userId: u.id, actor: u.username, action: 'login' });
    expect((await tenants.get(c.id))?.userCount).toBe(2);

    await repo.delete(u.id);

    expect(await sessions.get(c.id, s.id)).toBeUndefined();
    expect(await members.get(c.id, u.id)).toBeUndefined();
    expect(await members.listForUser(u.id)).toEqual([]);
    expect((await tenants.get(c.id))?.userCount).toBe(1);
    const kept = await audit.get(c.id, row.id);
    expect(kept).toMatchObject({ userId: null, actor: u.username, action: 'login' });
    // the other member is untouched
    expect(await members.get(c.id, keep.id)).toMatchObject({ role: 'viewer' });
  });

  it('deleting a tenant keeps its users but clears their default tenant', async () => {
    const e = await makeTenant(t.db);
    const u = await repo.create(userInput({ defaultTenantId: e.id }));
    await members.add(e.id, u.id);
    await tenants.delete(e.id);
    const after = await repo.get(u.id);
    expect(after?.id).toBe(u.id);
    expect(after?.defaultTenantId).toBeNull();
    expect(await members.listForUser(u.id)).toEqual([]);
  });
});
