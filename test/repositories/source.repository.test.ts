import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { SourceRepository } from '../../src/repositories/source.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

describe.each(engines())('SourceRepository on %s', (engine) => {
  let t: TestDb;
  let repo: SourceRepository;
  let tenants: TenantRepository;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    repo = new SourceRepository(t.db);
    tenants = new TenantRepository(t.db);
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
  });
  afterAll(async () => t?.dispose());

  const web = { name: 'web-1', type: 'web_server', ip: '10.0.0.1', port: 443, protocol: 'HTTPS' } as const;

  it('creates, reads, updates and deletes a source', async () => {
    const s = await repo.create(a.id, web);
    expect(s).toMatchObject({
      tenantId: a.id,
      name: 'web-1',
      type: 'web_server',
      ip: '10.0.0.1',
      status: 'active',
    });
    expect(s.createdAt).toBeInstanceOf(Date);
    expect(await repo.get(a.id, s.id)).toEqual(s);

    const u = await repo.update(a.id, s.id, { status: 'error', port: 8443 });
    expect(u).toMatchObject({ status: 'error', port: 8443, name: 'web-1' });
    expect(u.updatedAt.getTime()).toBeGreaterThanOrEqual(s.updatedAt.getTime());

    await repo.delete(a.id, s.id);
    expect(await repo.get(a.id, s.id)).toBeUndefined();
    await expect(repo.delete(a.id, s.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rejects bad input with the field named, before touching the database', async () => {
    const bad = repo.create(a.id, { ...web, ip: 'not-an-ip' });
    await expect(bad).rejects.toBeInstanceOf(ValidationError);
    await expect(bad).rejects.toMatchObject({ issues: [{ path: 'ip' }] });
    await expect(repo.create(a.id, { ...web, port: 70000 })).rejects.toMatchObject({
      issues: [{ path: 'port' }],
    });
    // @ts-expect-error: not a source type
    await expect(repo.create(a.id, { ...web, type: 'toaster' })).rejects.toMatchObject({
      issues: [{ path: 'type' }],
    });
  });

  it('maps a duplicate name to a Conflict', async () => {
    await repo.create(a.id, { ...web, name: 'dup' });
    await expect(repo.create(a.id, { ...web, name: 'dup' })).rejects.toBeInstanceOf(ConflictError);
    // the same name in another tenant is fine
    await expect(repo.create(b.id, { ...web, name: 'dup' })).resolves.toMatchObject({ tenantId: b.id });
  });

  it('keeps tenants.sources_count true in the database', async () => {
    const c = await makeTenant(t.db);
    const s1 = await repo.create(c.id, { ...web, name: 'c1' });
    await repo.create(c.id, { ...web, name: 'c2' });
    expect((await tenants.get(c.id))?.sourcesCount).toBe(2);
    await repo.delete(c.id, s1.id);
    expect((await tenants.get(c.id))?.sourcesCount).toBe(1);
    // even a write that bypasses the repository keeps it true
    await t.db.query(`delete from sources where tenant_id = $1`, [c.id]);
    expect((await tenants.get(c.id))?.sourcesCount).toBe(0);
  });

  it('lists with filters, sort and pagination totals', async () => {
    const d = await makeTenant(t.db);
    for (let i = 0; i < 7; i++) {
      await repo.create(d.id, {
        ...web,
        name: `fw-${i}`,
        type: i % 2 ? 'firewall' : 'router',
        ip: `192.0.2.${i}`,
      });
    }
    const page1 = await repo.list(d.id, { limit: 3, sort: '-name' });
    expect(page1.total).toBe(7);
    expect(page1.items.map((s) => s.name)).toEqual(['fw-6', 'fw-5', 'fw-4']);
    const page3 = await repo.list(d.id, { limit: 3, offset: 6, sort: '-name' });
    expect(page3.items.map((s) => s.name)).toEqual(['fw-0']);
    const fws = await repo.list(d.id, { filters: { type: 'firewall' } });
    expect(fws.total).toBe(3);
    expect(fws.items.every((s) => s.type === 'firewall')).toBe(true);
    expect((await repo.list(d.id, { filters: { q: 'FW-1' } })).total).toBe(1);
    expect((await repo.list(d.id, { filters: { q: '%' } })).total).toBe(0);
    await expect(repo.list(d.id, { sort: 'password' })).rejects.toMatchObject({ issues: [{ path: 'sort' }] });
  });

  it("never shows, changes or deletes another tenant's source", async () => {
    const s = await repo.create(a.id, { ...web, name: 'private' });
    expect(await repo.get(b.id, s.id)).toBeUndefined();
    expect((await repo.list(b.id)).items.find((x) => x.id === s.id)).toBeUndefined();
    await expect(repo.update(b.id, s.id, { name: 'pwned' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(repo.delete(b.id, s.id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await repo.get(a.id, s.id))?.name).toBe('private');
  });

  it('answers NotFound for unknown and malformed ids', async () => {
    expect(await repo.get(a.id, uuidv7())).toBeUndefined();
    expect(await repo.get(a.id, 'nope')).toBeUndefined();
    await expect(repo.update(a.id, 'nope', { name: 'x' })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('cascades: deleting the tenant deletes its sources', async () => {
    const e = await makeTenant(t.db);
    const s = await repo.create(e.id, { ...web, name: 'gone' });
    await tenants.delete(e.id);
    expect(await repo.get(e.id, s.id)).toBeUndefined();
  });
});
