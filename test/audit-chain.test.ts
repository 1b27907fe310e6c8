import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLogRepository } from '../src/repositories/audit-log.repository.ts';
import { UserRepository } from '../src/repositories/user.repository.ts';
import { createTestDb, engines, type TestDb } from './helpers/db.ts';
import { makeTenant } from './helpers/fixtures.ts';

describe.each(engines())('audit hash chain on %s', (engine) => {
  let t: TestDb;
  let audit: AuditLogRepository;

  beforeAll(async () => {
    t = await createTestDb(engine);
    audit = new AuditLogRepository(t.db);
  });
  afterAll(async () => t?.dispose());

  async function tenantWithRows(n: number) {
    const tn = await makeTenant(t.db);
    for (let i = 0; i < n; i++) {
      await audit.create(tn.id, {
        action: 'create',
        actor: 'alice',
        resourceType: 'rule',
        resourceId: `r${i}`,
        details: { i },
      });
    }
    return tn;
  }

  it('numbers rows 1..n and links each to the previous hash', async () => {
    const tn = await tenantWithRows(5);
    const rows = await t.db.query<{ seq: number; prev_hash: string | null; row_hash: string }>(
      'select seq::int as seq, prev_hash, row_hash from audit_logs where tenant_id = $1 order by seq',
      [tn.id],
    );
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(rows[0]!.prev_hash).toBeNull();
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prev_hash).toBe(rows[i - 1]!.row_hash);
    expect(new Set(rows.map((r) => r.row_hash)).size).toBe(5);
    const v = await audit.verifyChain(tn.id);
    expect(v).toMatchObject({
      ok: true,
      checked: 5,
      firstBroken: null,
      head: { seq: 5, rowHash: rows[4]!.row_hash },
    });
  });

  it('stays linear under concurrent appends', async () => {
    const tn = await makeTenant(t.db);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => audit.create(tn.id, { action: 'login', actor: `u${i}` })),
    );
    expect(await audit.verifyChain(tn.id)).toMatchObject({ ok: true, checked: 20 });
  });

  it('catches a row edited directly in SQL', async () => {
    const tn = await tenantWithRows(5);
    await t.db.query(
      `update audit_logs set description = 'nothing to see' where tenant_id = $1 and seq = 3`,
      [tn.id],
    );
    const v = await audit.verifyChain(tn.id);
    expect(v.ok).toBe(false);
    expect(v.firstBroken).toMatchObject({ seq: 3, reason: expect.stringMatching(/edited/) });
    expect(v.checked).toBe(2);
  });

  it("catches an edit whose author also recomputed that row's hash (the next link breaks)", async () => {
    const tn = await tenantWithRows(5);
    await t.db.query(`update audit_logs set success = false where tenant_id = $1 and seq = 2`, [tn.id]);
    await t.db.query(
      `update audit_logs a set row_hash = vigil_audit_hash(a) where tenant_id = $1 and seq = 2`,
      [tn.id],
    );
    const v = await audit.verifyChain(tn.id);
    expect(v.firstBroken).toMatchObject({ seq: 3, reason: expect.stringMatching(/prev_hash/) });
  });

  it('catches a deleted row, and deleted newest rows', async () => {
    const tn = await tenantWithRows(5);
    await t.db.query(`delete from audit_logs where tenant_id = $1 and seq = 2`, [tn.id]);
    expect((await audit.verifyChain(tn.id)).firstBroken).toMatchObject({
      seq: 2,
      reason: expect.stringMatching(/missing/),
    });

    const tn2 = await tenantWithRows(4);
    await t.db.query(`delete from audit_logs where tenant_id = $1 and seq >= 3`, [tn2.id]);
    const v = await audit.verifyChain(tn2.id);
    expect(v.ok).toBe(false);
    expect(v.firstBroken).toMatchObject({ seq: 3, reason: expect.stringMatching(/3\.\.4 are missing/) });
  });

  it('survives the deletion of a user (user_id set null, actor kept)', async () => {
    const tn = await makeTenant(t.db);
    const users = new UserRepository(t.db);
    const u = await users.create({
      username: `gone-${tn.slug}`,
      email: `gone@${tn.slug}.example`,
      passwordHash: '$argon2id$x',
    });
    await audit.create(tn.id, { action: 'login', userId: u.id, actor: u.username });
    await audit.create(tn.id, { action: 'logout', userId: u.id, actor: u.username });
    await users.delete(u.id);
    const [row] = await t.db.query<{ user_id: string | null; actor: string }>(
      'select user_id, actor from audit_logs where tenant_id = $1 and seq = 1',
      [tn.id],
    );
    expect(row).toEqual({ user_id: null, actor: u.username });
    expect(await audit.verifyChain(tn.id)).toMatchObject({ ok: true, checked: 2 });
  });

  it('the application role cannot rewrite history', async () => {
    const tn = await tenantWithRows(1);
    await expect(
      t.db.tenant(tn.id, (tx) => tx.execute(sql`update audit_logs set actor = 'mallory'`)),
    ).rejects.toThrow(/permission denied/);
    expect((await audit.verifyChain(tn.id)).ok).toBe(true);
  });
});
