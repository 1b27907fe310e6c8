/**
 * audited(): the change and its audit row commit together; if the audit insert fails, the change rolls back.
 * Change summaries hold only what changed, with secrets redacted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/domain/permissions.ts';
import { permissionsFor } from '../../src/domain/permissions.ts';
import { AuditLogRepository } from '../../src/repositories/audit-log.repository.ts';
import { SourceRepository } from '../../src/repositories/source.repository.ts';
import { audited, changeSummary, REDACTED } from '../../src/services/audited.service.ts';
import { SourceService } from '../../src/services/source.service.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';
import { sourceBody } from '../helpers/http.ts';

describe('changeSummary', () => {
  it('keeps only the changed fields of an update, and nothing when nothing changed', () => {
    const before = { id: 'x', name: 'a', port: 1, updatedAt: new Date(1), tags: ['a'] };
    const after = { id: 'x', name: 'a', port: 2, updatedAt: new Date(2), tags: ['a', 'b'] };
    expect(changeSummary('update', before, after)).toEqual({
      before: { port: 1, tags: ['a'] },
      after: { port: 2, tags: ['a', 'b'] },
    });
    expect(changeSummary('update', before, { ...before, updatedAt: new Date(3) })).toBeNull();
  });

  it('redacts secrets at any depth and shortens large values', () => {
    const s = changeSummary('create', undefined, {
      id: 'x',
      username: 'bob',
      passwordHash: '$argon2id$abc',
      notifications: { webhook: 'https://h', webhookSecret: 's3cr3t', nested: [{ apiKey: 'k' }] },
      description: 'y'.repeat(1000),
      blob: Array.from({ length: 500 }, (_, i) => i),
      empty: null,
    })!;
    expect(s.after).toEqual({
      username: 'bob',
      passwordHash: REDACTED,
      notifications: { webhook: 'https://h', webhookSecret: REDACTED, nested: [{ apiKey: REDACTED }] },
      description: `${'y'.repeat(256)}… (1000 chars)`,
      blob: { omitted: 'array', length: 500, bytes: expect.any(Number) },
    });
    expect(JSON.stringify(s)).not.toContain('s3cr3t');
    expect(JSON.stringify(s)).not.toContain('argon2');
    const upd = changeSummary('update', { token: 'old' }, { token: 'new' })!;
    expect(upd).toEqual({ before: { token: REDACTED }, after: { token: REDACTED } });
  });
});

describe.each(engines())('audited() on %s', (engine) => {
  let t: TestDb;
  let tenant: Tenant;
  let principal: Principal;
  let sources: SourceRepository;
  let auditLogs: AuditLogRepository;
  const meta = { ip: '203.0.113.5', userAgent: 'test' };

  beforeAll(async () => {
    t = await createTestDb(engine);
    tenant = await makeTenant(t.db, 'Audited');
    const [u] = await t.db.query<{ id: string }>(
      `insert into users (username, email, password_hash) values ('aud', 'aud@example.com', '$argon2id$x') returning id`,
    );
    principal = {
      kind: 'user',
      id: u!.id,
      name: 'aud',
      platformRole: 'user',
      tenantId: tenant.id,
      role: 'admin',
      permissions: permissionsFor('admin', 'user'),
      crossTenant: false,
    };
    sources = new SourceRepository(t.db);
    auditLogs = new AuditLogRepository(t.db);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const count = async (table: string) =>
    Number(
      (
        await t.db.query<{ n: number }>(`select count(*)::int as n from ${table} where tenant_id = $1`, [
          tenant.id,
        ])
      )[0]!.n,
    );

  it('commits the change and its audit row together', async () => {
    const service = new SourceService(t.db, sources, auditLogs);
    const s = await service.create(tenant.id, sourceBody() as never, { principal, meta });
    const [row] = await t.db.query<Record<string, unknown>>(
      `select * from audit_logs where tenant_id = $1 and resource_id = $2`,
      [tenant.id, s.id],
    );
    expect(row).toMatchObject({
      action: 'create',
      actor: 'aud',
      user_id: principal.id,
      ip_address: '203.0.113.5',
    });
  });

  it('rolls the change back when the audit insert fails', async () => {
    const sourcesBefore = await count('sources');
    const auditBefore = await count('audit_logs');
    // A user id that does not exist: the audit row's foreign key fails, after the source was inserted.
    const ghost: Principal = { ...principal, id: '00000000-0000-4000-8000-00000000dead' };
    const service = new SourceService(t.db, sources, auditLogs);
    await expect(
      service.create(tenant.id, sourceBody() as never, { principal: ghost, meta }),
    ).rejects.toThrow(/does not exist/);
    const failing = {
      create: async () => Promise.reject(new Error('audit store down')),
    } as unknown as AuditLogRepository;
    await expect(
      new SourceService(t.db, sources, failing).create(tenant.id, sourceBody() as never, { principal, meta }),
    ).rejects.toThrow('audit store down');
    expect(await count('sources')).toBe(sourcesBefore);
    expect(await count('audit_logs')).toBe(auditBefore);
  });

  it('refuses a principal that acts in another tenant', async () => {
    const other = await makeTenant(t.db, 'Other');
    await expect(
      audited(
        t.db,
        auditLogs,
        other.id,
        principal,
        meta,
        { action: 'create', resourceType: 'x' },
        async () => ({ result: 1 }),
      ),
    ).rejects.toThrow(/does not act in tenant/);
  });

  it('records no address that is not one, and marks cross-tenant actions', async () => {
    const sre: Principal = { ...principal, platformRole: 'sre', role: null, crossTenant: true };
    await audited(
      t.db,
      auditLogs,
      tenant.id,
      sre,
      { ip: 'unix:socket', userAgent: undefined },
      { action: 'update', resourceType: 'thing', resourceId: 'r1' },
      async () => ({ result: null, before: { a: 1 }, after: { a: 2 } }),
    );
    const [row] = await t.db.query<Record<string, unknown>>(
      `select * from audit_logs where tenant_id = $1 and resource_id = 'r1'`,
      [tenant.id],
    );
    expect(row).toMatchObject({
      ip_address: null,
      user_agent: null,
      details: { before: { a: 1 }, after: { a: 2 }, crossTenant: true },
    });
  });
});
