import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { NotificationRepository } from '../../src/repositories/notification.repository.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import type { Database } from '../../src/db/client.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

let u = 0;
async function makeUser(db: Database): Promise<string> {
  u += 1;
  const name = `user-${process.pid}-${Date.now().toString(36)}-${u}`;
  const [row] = await db.query<{ id: string }>(
    `insert into users (username, email, password_hash) values ($1, $2, 'x') returning id`,
    [name, `${name}@example.test`],
  );
  return row!.id;
}

describe.each(engines())('NotificationRepository on %s', (engine) => {
  let t: TestDb;
  let repo: NotificationRepository;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new NotificationRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
  });
  afterAll(async () => t?.dispose());

  it('creates, reads, marks read and deletes a notification', async () => {
    const n = await repo.create(a.id, {
      title: 'Brute force',
      message: '12 failed logins for root',
      severity: 'warning',
      metadata: { ip: '198.51.100.4' },
    });
    expect(n).toMatchObject({
      tenantId: a.id,
      severity: 'warning',
      isRead: false,
      readAt: null,
      userId: null,
      metadata: { ip: '198.51.100.4' },
    });
    expect(await repo.get(a.id, n.id)).toEqual(n);

    const read = await repo.markRead(a.id, n.id);
    expect(read.isRead).toBe(true);
    expect(read.readAt).toBeInstanceOf(Date);
    // a second markRead keeps the first read time
    const again = await repo.markRead(a.id, n.id);
    expect(again.readAt).toEqual(read.readAt);

    await repo.delete(a.id, n.id);
    expect(await repo.get(a.id, n.id)).toBeUndefined();
    await expect(repo.delete(a.id, n.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.markRead(a.id, n.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('defaults severity to info', async () => {
    const n = await repo.create(a.id, { message: 'maintenance tonight' });
    expect(n.severity).toBe('info');
  });

  it('rejects bad input with the field named', async () => {
    const empty = repo.create(a.id, { message: '   ' });
    await expect(empty).rejects.toBeInstanceOf(ValidationError);
    await expect(empty).rejects.toMatchObject({ issues: [{ path: 'message' }] });
    // @ts-expect-error: not a notification severity
    await expect(repo.create(a.id, { message: 'x', severity: 'high' })).rejects.toMatchObject({
      issues: [{ path: 'severity' }],
    });
    await expect(repo.create(a.id, { message: 'x', userId: 'bob' })).rejects.toMatchObject({
      issues: [{ path: 'userId' }],
    });
    await expect(repo.list(a.id, { filters: { isRead: 'maybe' } })).rejects.toMatchObject({
      issues: [{ path: 'isRead' }],
    });
  });

  it('refuses an addressee that does not exist', async () => {
    await expect(repo.create(a.id, { message: 'x', userId: uuidv7() })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('lists newest first with filters and pagination totals', async () => {
    const c = await makeTenant(t.db);
    const alice = await makeUser(t.db);
    const bob = await makeUser(t.db);
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(
        await repo.create(c.id, {
          message: `m${i}`,
          severity: i % 2 ? 'critical' : 'info',
          userId: i === 0 ? alice : i === 1 ? bob : null,
        }),
      );
    }
    await repo.markRead(c.id, made[4]!.id);

    const page1 = await repo.list(c.id, { limit: 2 });
    expect(page1.total).toBe(5);
    expect(page1.items.map((n) => n.message)).toEqual(['m4', 'm3']);
    const page3 = await repo.list(c.id, { limit: 2, offset: 4 });
    expect(page3.items.map((n) => n.message)).toEqual(['m0']);
    expect((await repo.list(c.id, { sort: 'created_at', limit: 1 })).items[0]?.message).toBe('m0');

    const critical = await repo.list(c.id, { filters: { severity: 'critical' } });
    expect(critical.items.map((n) => n.message).sort()).toEqual(['m1', 'm3']);
    expect((await repo.list(c.id, { filters: { isRead: true } })).items.map((n) => n.message)).toEqual([
      'm4',
    ]);
    expect((await repo.list(c.id, { filters: { isRead: 'false' } })).total).toBe(4);
    // alice's inbox: hers and the broadcast ones, not bob's
    const inbox = await repo.list(c.id, { filters: { userId: alice } });
    expect(inbox.items.map((n) => n.message).sort()).toEqual(['m0', 'm2', 'm3', 'm4']);
    await expect(repo.list(c.id, { sort: 'message' })).rejects.toMatchObject({ issues: [{ path: 'sort' }] });
  });

  it("marks all read, for the tenant or one user's inbox, and counts them", async () => {
    const c = await makeTenant(t.db);
    const alice = await makeUser(t.db);
    const bob = await makeUser(t.db);
    await repo.create(c.id, { message: 'to alice', userId: alice });
    await repo.create(c.id, { message: 'to bob', userId: bob });
    await repo.create(c.id, { message: 'to all' });
    const other = await repo.create(b.id, { message: 'other tenant' });

    expect(await repo.markAllRead(c.id, alice)).toBe(2);
    const unread = await repo.list(c.id, { filters: { isRead: false } });
    expect(unread.items.map((n) => n.message)).toEqual(['to bob']);
    expect(await repo.markAllRead(c.id)).toBe(1);
    expect(await repo.markAllRead(c.id)).toBe(0);
    expect((await repo.get(b.id, other.id))?.isRead).toBe(false);
    await expect(repo.markAllRead(c.id, 'alice')).rejects.toBeInstanceOf(ValidationError);
  });

  it("never shows, changes or deletes another tenant's notification", async () => {
    const n = await repo.create(a.id, { message: 'private to acme' });
    expect(await repo.get(b.id, n.id)).toBeUndefined();
    expect((await repo.list(b.id)).items.find((x) => x.id === n.id)).toBeUndefined();
    await expect(repo.markRead(b.id, n.id)).rejects.toBeInstanceOf(NotFoundError);
    await repo.markAllRead(b.id);
    await expect(repo.delete(b.id, n.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await repo.get(a.id, n.id)).toMatchObject({ isRead: false, message: 'private to acme' });
  });

  it('answers NotFound for unknown and malformed ids', async () => {
    expect(await repo.get(a.id, uuidv7())).toBeUndefined();
    expect(await repo.get(a.id, '42')).toBeUndefined();
    await expect(repo.markRead(a.id, '42')).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(a.id, uuidv7())).rejects.toBeInstanceOf(NotFoundError);
  });
});
