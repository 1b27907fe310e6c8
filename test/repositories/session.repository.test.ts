import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import type { UserCreate } from '../../src/domain/schemas/user.schema.ts';
import { SessionRepository } from '../../src/repositories/session.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import { UserRepository, type PublicUser } from '../../src/repositories/user.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const HASH = '$argon2id$v=19$m=19456,p=1,t=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';

let n = 0;
function userInput(): UserCreate {
  n += 1;
  const tag = `sess-${process.pid}-${n}-${Math.random().toString(36).slice(2, 7)}`;
  return { username: tag, email: `${tag}@example.com`, passwordHash: HASH };
}

describe.each(engines())('SessionRepository on %s', (engine) => {
  let t: TestDb;
  let repo: SessionRepository;
  let users: UserRepository;
  let tenants: TenantRepository;
  let a: Tenant;
  let b: Tenant;
  let alice: PublicUser;
  let bob: PublicUser;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new SessionRepository(t.db);
    users = new UserRepository(t.db);
    tenants = new TenantRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
    alice = await users.create(userInput());
    bob = await users.create(userInput());
  });
  afterAll(async () => t?.dispose());

  it('creates, reads, updates and deletes a session', async () => {
    const context = { agent: 'incident_triage', messages: [{ role: 'user', text: 'hi' }], depth: 2 };
    const s = await repo.create(a.id, { userId: alice.id, threadId: 'thread-1', context, title: 'Triage' });
    expect(s).toMatchObject({
      tenantId: a.id,
      userId: alice.id,
      threadId: 'thread-1',
      context,
      title: 'Triage',
      isActive: true,
      endedAt: null,
    });
    expect(s.createdAt).toBeInstanceOf(Date);
    expect(await repo.get(a.id, s.id)).toEqual(s);

    const u = await repo.update(a.id, s.id, { title: 'Renamed', context: { step: 3 } });
    expect(u).toMatchObject({ title: 'Renamed', context: { step: 3 }, isActive: true, threadId: 'thread-1' });
    expect(u.updatedAt.getTime()).toBeGreaterThanOrEqual(s.updatedAt.getTime());
    // an empty patch changes nothing
    expect(await repo.update(a.id, s.id, {})).toEqual(u);
    // null clears a field
    expect((await repo.update(a.id, s.id, { title: null })).title).toBeNull();

    await repo.delete(a.id, s.id);
    expect(await repo.get(a.id, s.id)).toBeUndefined();
    await expect(repo.delete(a.id, s.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.update(a.id, s.id, { title: 'x' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a minimal session needs only its user', async () => {
    const s = await repo.create(a.id, { userId: bob.id });
    expect(s).toMatchObject({ userId: bob.id, threadId: null, context: null, title: null, isActive: true });
  });

  it('ends a session once: ending again keeps the first end time', async () => {
    const s = await repo.create(a.id, { userId: alice.id });
    const e1 = await repo.end(a.id, s.id);
    expect(e1.isActive).toBe(false);
    expect(e1.endedAt).toBeInstanceOf(Date);
    expect(e1.endedAt!.getTime()).toBeGreaterThanOrEqual(s.createdAt.getTime());
    const e2 = await repo.end(a.id, s.id);
    expect(e2.isActive).toBe(false);
    expect(e2.endedAt?.getTime()).toBe(e1.endedAt!.getTime());
    expect(e2.updatedAt.getTime()).toBe(e1.updatedAt.getTime());
    await expect(repo.end(a.id, uuidv7())).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.end(a.id, 'nope')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('update(isActive) ends and reopens, keeping ended_at consistent', async () => {
    const s = await repo.create(a.id, { userId: alice.id });
    const ended = await repo.update(a.id, s.id, { isActive: false });
    expect(ended.isActive).toBe(false);
    expect(ended.endedAt).toBeInstanceOf(Date);
    // ending an ended session through update keeps the first end time too
    const again = await repo.update(a.id, s.id, { isActive: false, title: 'later' });
    expect(again.endedAt?.getTime()).toBe(ended.endedAt!.getTime());
    const reopened = await repo.update(a.id, s.id, { isActive: true });
    expect(reopened).toMatchObject({ isActive: true, endedAt: null, title: 'later' });
  });

  it('ends every active session of one user in one tenant', async () => {
    const c = await makeTenant(t.db);
    const carol = await users.create(userInput());
    const dave = await users.create(userInput());
    const s1 = await repo.create(c.id, { userId: carol.id });
    const s2 = await repo.create(c.id, { userId: carol.id });
    const s3 = await repo.create(c.id, { userId: carol.id });
    await repo.end(c.id, s3.id);
    const ended3 = await repo.get(c.id, s3.id);
    const daves = await repo.create(c.id, { userId: dave.id });
    const elsewhere = await repo.create(a.id, { userId: carol.id });

    expect(await repo.endAllForUser(c.id, carol.id)).toBe(2);
    for (const id of [s1.id, s2.id]) {
      expect(await repo.get(c.id, id)).toMatchObject({ isActive: false, endedAt: expect.any(Date) });
    }
    // an already ended session keeps its end time
    expect((await repo.get(c.id, s3.id))?.endedAt?.getTime()).toBe(ended3!.endedAt!.getTime());
    // another user's session, and the same user's session in another tenant, stay active
    expect((await repo.get(c.id, daves.id))?.isActive).toBe(true);
    expect((await repo.get(a.id, elsewhere.id))?.isActive).toBe(true);
    expect(await repo.endAllForUser(c.id, carol.id)).toBe(0);
    expect(await repo.endAllForUser(c.id, 'nope')).toBe(0);
  });

  it('rejects bad input with the field named', async () => {
    const bad = repo.create(a.id, { userId: 'alice' });
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ issues: [{ path: 'userId' }] });
    // a well-formed id of no user
    await expect(repo.create(a.id, { userId: uuidv7() })).rejects.toMatchObject({
      code: 'validation',
      issues: [{ path: 'userId' }],
    });
    await expect(
      // @ts-expect-error: context is a JSON object
      repo.create(a.id, { userId: alice.id, context: ['not', 'an', 'object'] }),
    ).rejects.toMatchObject({ issues: [{ path: 'context' }] });
    await expect(repo.create(a.id, { userId: alice.id, title: 'x'.repeat(256) })).rejects.toMatchObject({
      issues: [{ path: 'title' }],
    });
    // @ts-expect-error: isActive is a boolean
    await expect(repo.list(a.id, { filters: { isActive: 'yes' } })).rejects.toMatchObject({
      issues: [{ path: 'isActive' }],
    });
  });

  it('lists with filters, newest first by default, and pagination totals', async () => {
    const d = await makeTenant(t.db);
    const made = [];
    for (let i = 0; i < 7; i++) {
      made.push(
        await repo.create(d.id, {
          userId: i < 4 ? alice.id : bob.id,
          threadId: i % 3 === 0 ? 'shared-thread' : `thread-${i}`,
          title: `s-${i}`,
        }),
      );
    }
    await repo.end(d.id, made[0]!.id);
    await repo.end(d.id, made[5]!.id);

    const page1 = await repo.list(d.id, { limit: 3 });
    expect(page1.total).toBe(7);
    expect(page1.items.map((s) => s.title)).toEqual(['s-6', 's-5', 's-4']);
    const page3 = await repo.list(d.id, { limit: 3, offset: 6 });
    expect(page3.items.map((s) => s.title)).toEqual(['s-0']);
    expect((await repo.list(d.id, { sort: 'title', limit: 2 })).items.map((s) => s.title)).toEqual([
      's-0',
      's-1',
    ]);

    expect((await repo.list(d.id, { filters: { userId: alice.id } })).total).toBe(4);
    expect(
      (await repo.list(d.id, { filters: { isActive: false } })).items.map((s) => s.title).sort(),
    ).toEqual(['s-0', 's-5']);
    expect((await repo.list(d.id, { filters: { isActive: true, userId: bob.id } })).total).toBe(2);
    expect((await repo.list(d.id, { filters: { threadId: 'shared-thread' } })).total).toBe(3);
    await expect(repo.list(d.id, { sort: 'context' })).rejects.toMatchObject({ issues: [{ path: 'sort' }] });
  });

  it("never shows, changes, ends or deletes another tenant's session", async () => {
    const s = await repo.create(a.id, { userId: alice.id, title: 'private' });
    expect(await repo.get(b.id, s.id)).toBeUndefined();
    expect((await repo.list(b.id, { limit: 500 })).items.find((x) => x.id === s.id)).toBeUndefined();
    expect((await repo.list(b.id, { filters: { userId: alice.id } })).total).toBe(0);
    await expect(repo.update(b.id, s.id, { title: 'pwned' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.end(b.id, s.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(b.id, s.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await repo.endAllForUser(b.id, alice.id)).toBe(0);
    expect(await repo.get(a.id, s.id)).toMatchObject({ title: 'private', isActive: true });
  });

  it('cascades: deleting the user or the tenant deletes its sessions', async () => {
    const e = await makeTenant(t.db);
    const erin = await users.create(userInput());
    const mine = await repo.create(e.id, { userId: erin.id });
    const other = await repo.create(e.id, { userId: alice.id });
    await users.delete(erin.id);
    expect(await repo.get(e.id, mine.id)).toBeUndefined();
    expect(await repo.get(e.id, other.id)).toBeDefined();

    await tenants.delete(e.id);
    const [{ n: left } = { n: -1 }] = await t.db.query<{ n: number }>(
      `select count(*)::int as n from sessions where tenant_id = $1`,
      [e.id],
    );
    expect(left).toBe(0);
    expect((await users.get(alice.id))?.id).toBe(alice.id);
  });
});
