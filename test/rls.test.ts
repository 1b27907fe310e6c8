/**
 * Tenant isolation is enforced by PostgreSQL, not only by the repositories' WHERE clauses: every application
 * transaction runs as the non-owner role `vigil_app` under row-level security.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../src/repositories/tenant.repository.ts';
import { SourceRepository } from '../src/repositories/source.repository.ts';
import { Database } from '../src/db/client.ts';
import { createTestDb, engines, TEST_DATABASE_URL, type TestDb } from './helpers/db.ts';
import { makeTenant } from './helpers/fixtures.ts';

const TENANT_TABLES = [
  'memberships',
  'sessions',
  'audit_logs',
  'tenant_counters',
  'sources',
  'notifications',
  'reports',
  'rules',
  'rule_versions',
  'incidents',
  'alerts',
  'alert_incidents',
  'api_keys',
  'log_consumer_watermarks',
  'detection_runs',
  'alert_suppressions',
];

const rowsOf = (r: unknown) => (r as { rows: Record<string, unknown>[] }).rows;

describe.each(engines())('row-level security on %s', (engine) => {
  let t: TestDb;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    t = await createTestDb(engine);
    a = await makeTenant(t.db, 'A');
    b = await makeTenant(t.db, 'B');
    const sources = new SourceRepository(t.db);
    for (const tn of [a, b]) {
      await sources.create(tn.id, {
        name: 'fw',
        type: 'firewall',
        ip: '192.0.2.1',
        port: 514,
        protocol: 'SYSLOG',
      });
    }
    // One row per tenant in every tenant-scoped table, written as the owner (bypassing the policies).
    for (const tn of [a, b]) {
      const [u] = await t.db.query<{ id: string }>(
        `insert into users (username, email, password_hash) values ($1, $2, '$argon2id$x') returning id`,
        [`u-${tn.slug}`, `${tn.slug}@example.com`],
      );
      await t.db.query(`insert into memberships (tenant_id, user_id, role) values ($1, $2, 'admin')`, [
        tn.id,
        u!.id,
      ]);
      await t.db.query(`insert into sessions (tenant_id, user_id, title) values ($1, $2, 's')`, [
        tn.id,
        u!.id,
      ]);
      await t.db.query(`insert into audit_logs (tenant_id, action, actor) values ($1, 'login', 'x')`, [
        tn.id,
      ]);
      await t.db.query(`insert into notifications (tenant_id, message) values ($1, 'm')`, [tn.id]);
      await t.db.query(
        `insert into reports (tenant_id, title, report_type, generated_by) values ($1, 'r', 'security_summary', 'x')`,
        [tn.id],
      );
      const [rule] = await t.db.query<{ id: string }>(
        `insert into rules (tenant_id, rule_number, name, rule_type, created_by) values ($1, '', 'r', 'query', 'x') returning id`,
        [tn.id],
      );
      await t.db.query(
        `insert into rule_versions (tenant_id, rule_id, version, snapshot) values ($1, $2, 1, '{}')`,
        [tn.id, rule!.id],
      );
      const [inc] = await t.db.query<{ id: string }>(
        `insert into incidents (tenant_id, incident_number, title, created_by) values ($1, '', 'i', 'x') returning id`,
        [tn.id],
      );
      const [al] = await t.db.query<{ id: string }>(
        `insert into alerts (tenant_id, alert_type, detection_method) values ($1, 't', 'm') returning id`,
        [tn.id],
      );
      await t.db.query(`insert into alert_incidents (tenant_id, alert_id, incident_id) values ($1, $2, $3)`, [
        tn.id,
        al!.id,
        inc!.id,
      ]);
      await t.db.query(`insert into log_consumer_watermarks (tenant_id, consumer) values ($1, 'detection')`, [
        tn.id,
      ]);
      await t.db.query(
        `insert into detection_runs (tenant_id, rule_id, mode, status, from_seq, to_seq)
         values ($1, gen_random_uuid(), 'scheduled', 'success', 0, 1)`,
        [tn.id],
      );
      await t.db.query(
        `insert into alert_suppressions (tenant_id, reason, owner, expires_at) values ($1, 'r', 'o', now())`,
        [tn.id],
      );
      await t.db.query(
        `insert into api_keys (tenant_id, name, prefix, key_hash) values ($1, 'k', 'vgk_x', $2)`,
        [tn.id, `${tn.id.replace(/-/g, '')}${tn.id.replace(/-/g, '')}`],
      );
    }
  });
  afterAll(async () => t?.dispose());

  it('runs application transactions as the non-owner role vigil_app', async () => {
    expect(await t.db.effectiveAppRole()).toBe('vigil_app');
    const who = await t.db.tx(async (tx) => rowsOf(await tx.execute(sql`select current_user as u`)));
    expect(who[0]?.u).toBe('vigil_app');
    const [owner] = await t.db.query<{ o: string }>(
      `select tableowner as o from pg_tables where tablename = 'sources' and schemaname = current_schema()`,
    );
    expect(owner?.o).not.toBe('vigil_app');
  });

  it.each(TENANT_TABLES)('%s: raw SQL with no tenant set sees no rows', async (table) => {
    const [all] = await t.db.query<{ n: number }>(`select count(*)::int as n from ${table}`);
    expect(all!.n).toBeGreaterThanOrEqual(2); // the rows are there
    const seen = await t.db.tx(async (tx) =>
      rowsOf(await tx.execute(sql.raw(`select count(*)::int as n from ${table}`))),
    );
    expect(seen[0]?.n).toBe(0);
  });

  it.each(TENANT_TABLES)(
    '%s: a tenant sees only its own rows, even with a WHERE naming the other',
    async (table) => {
      const mine = await t.db.tenant(a.id, async (tx) =>
        rowsOf(await tx.execute(sql.raw(`select distinct tenant_id::text as t from ${table}`))),
      );
      expect(mine.map((r) => r.t)).toEqual([a.id]);
      const theirs = await t.db.tenant(a.id, async (tx) =>
        rowsOf(
          await tx.execute(
            sql`select count(*)::int as n from ${sql.identifier(table)} where tenant_id = ${b.id}`,
          ),
        ),
      );
      expect(theirs[0]?.n).toBe(0);
    },
  );

  it('refuses to write a row into another tenant, or to change or delete its rows', async () => {
    await expect(
      t.db.tenant(a.id, (tx) =>
        tx.execute(sql`insert into notifications (tenant_id, message) values (${b.id}, 'planted')`),
      ),
    ).rejects.toThrow();
    const updated = await t.db.tenant(a.id, async (tx) =>
      rowsOf(await tx.execute(sql`update sources set name = 'pwned' where tenant_id = ${b.id} returning id`)),
    );
    expect(updated).toHaveLength(0);
    const deleted = await t.db.tenant(a.id, async (tx) =>
      rowsOf(await tx.execute(sql`delete from incidents where tenant_id = ${b.id} returning id`)),
    );
    expect(deleted).toHaveLength(0);
    const [still] = await t.db.query<{ n: number }>(
      `select count(*)::int as n from sources where tenant_id = $1 and name = 'fw'`,
      [b.id],
    );
    expect(still!.n).toBe(1);
  });

  it('keeps the audit trail append-only for the application role', async () => {
    await expect(
      t.db.tenant(a.id, (tx) => tx.execute(sql`update audit_logs set description = 'x'`)),
    ).rejects.toThrow(/permission denied/);
    await expect(t.db.tenant(a.id, (tx) => tx.execute(sql`delete from audit_logs`))).rejects.toThrow(
      /permission denied/,
    );
  });

  it('lets every tenant read global intel but only the platform scope write it', async () => {
    await t.db.query(`insert into vulnerabilities (cve_id, title) values ('CVE-2024-0001', 'seeded')`);
    const read = await t.db.tenant(a.id, async (tx) =>
      rowsOf(await tx.execute(sql`select count(*)::int as n from vulnerabilities`)),
    );
    expect(read[0]?.n).toBe(1);
    await expect(
      t.db.tenant(a.id, (tx) =>
        tx.execute(sql`insert into vulnerabilities (cve_id) values ('CVE-2024-0002')`),
      ),
    ).rejects.toThrow();
    const changed = await t.db.tenant(a.id, async (tx) =>
      rowsOf(await tx.execute(sql`update vulnerabilities set title = 'x' returning id`)),
    );
    expect(changed).toHaveLength(0);
    await t.db.platform((tx) =>
      tx.execute(sql`insert into vulnerabilities (cve_id) values ('CVE-2024-0003')`),
    );
    const [n] = await t.db.query<{ n: number }>(`select count(*)::int as n from vulnerabilities`);
    expect(n!.n).toBe(2);
  });

  it('shows global indicators to all tenants, private ones only to their owner', async () => {
    await t.db.platform((tx) =>
      tx.execute(sql`insert into indicators (type, value, source) values ('ip', '203.0.113.9', 'feed')`),
    );
    await t.db.tenant(b.id, (tx) =>
      tx.execute(
        sql`insert into indicators (tenant_id, type, value, source) values (${b.id}, 'ip', '198.51.100.9', 'analyst')`,
      ),
    );
    const seenByA = await t.db.tenant(a.id, async (tx) =>
      rowsOf(await tx.execute(sql`select value from indicators order by value`)),
    );
    expect(seenByA.map((r) => r.value)).toEqual(['203.0.113.9']);
    const seenByB = await t.db.tenant(b.id, async (tx) =>
      rowsOf(await tx.execute(sql`select value from indicators order by value`)),
    );
    expect(seenByB.map((r) => r.value)).toEqual(['198.51.100.9', '203.0.113.9']);
    // a tenant cannot rewrite the global feed row
    const touched = await t.db.tenant(a.id, async (tx) =>
      rowsOf(
        await tx.execute(sql`update indicators set confidence = 0 where tenant_id is null returning id`),
      ),
    );
    expect(touched).toHaveLength(0);
  });
});

describe.skipIf(!TEST_DATABASE_URL)('a dedicated application login on PostgreSQL (docs/security.md)', () => {
  let t: TestDb;
  let app: Database;
  const role = `vigil_web_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    t = await createTestDb('postgres');
    const tn = await makeTenant(t.db);
    await new SourceRepository(t.db).create(tn.id, {
      name: 'fw',
      type: 'firewall',
      ip: '192.0.2.1',
      port: 514,
      protocol: 'SYSLOG',
    });
    await t.db.query(`create role ${role} login in role vigil_app`);
    const [row] = await t.db.query<{ db: string }>('select current_database() as db');
    const url = new URL(TEST_DATABASE_URL!);
    url.username = role;
    url.pathname = `/${row!.db}`;
    app = await Database.open({ url: url.toString(), appRole: null });
  });
  afterAll(async () => {
    await app?.close();
    await t?.db.query(`drop role if exists ${role}`).catch(() => undefined);
    await t?.dispose();
    const admin = await Database.open({ url: TEST_DATABASE_URL! });
    await admin.query(`drop role if exists ${role}`).catch(() => undefined);
    await admin.close();
  });

  it("sees no tenant rows in raw SQL on its own connection without a tenant, and its tenant's with one", async () => {
    const [me] = await app.query<{ u: string }>('select current_user as u');
    expect(me!.u).toBe(role);
    const [none] = await app.query<{ n: number }>('select count(*)::int as n from sources');
    expect(none!.n).toBe(0);
    const [owner] = await t.db.query<{ n: number; tenant: string }>(
      'select count(*)::int as n, min(tenant_id::text) as tenant from sources',
    );
    expect(owner!.n).toBe(1);
    const seen = await app.tenant(owner!.tenant, async (tx) =>
      rowsOf(await tx.execute(sql`select count(*)::int as n from sources`)),
    );
    expect(seen[0]?.n).toBe(1);
    await expect(app.query('delete from audit_logs')).rejects.toThrow();
  });
});
