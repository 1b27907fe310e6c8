import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Migrator, loadMigrations, schemaDrift } from '../src/db/migrator.ts';
import { createEmptyDb, engines, type TestDb } from './helpers/db.ts';

const tableNames = async (t: TestDb) =>
  (
    await t.db.query<{ table_name: string }>(
      `select table_name from information_schema.tables
       where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`,
    )
  ).map((r) => r.table_name);

describe('migrations files', () => {
  it('every migration has an up and a down', () => {
    const files = loadMigrations();
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      expect(f.up.trim().length, `${f.id} up.sql`).toBeGreaterThan(0);
      expect(f.down.trim().length, `${f.id} down.sql`).toBeGreaterThan(0);
    }
  });

  it('the schema in src/db/schema matches the newest committed snapshot (no drift)', async () => {
    expect(await schemaDrift()).toEqual([]);
  });
});

describe.each(engines())('migrations on %s', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createEmptyDb(engine);
  });
  afterAll(async () => t?.dispose());

  it('goes latest -> all the way down -> latest', async () => {
    const m = new Migrator(t.db);
    const files = m.files();
    const ran = await m.migrate();
    expect(ran).toEqual(files.map((f) => f.id));
    const tablesAtLatest = await tableNames(t);
    expect(tablesAtLatest).toEqual(
      expect.arrayContaining([
        'tenants',
        'users',
        'memberships',
        'sessions',
        'audit_logs',
        'rules',
        'incidents',
      ]),
    );
    const status = await m.status();
    expect(status.current).toBe(files.at(-1)!.id);
    expect(status.pending).toEqual([]);
    expect(await m.isCurrent()).toBe(true);

    // one step down, then all the way
    expect(await m.rollback(1)).toEqual([files.at(-1)!.id]);
    expect((await m.status()).pending.map((p) => p.id)).toEqual([files.at(-1)!.id]);
    expect(await m.rollback(Infinity)).toEqual(
      files
        .slice(0, -1)
        .map((f) => f.id)
        .reverse(),
    );
    expect(await tableNames(t)).toEqual(['vigil_migrations']);
    const types = await t.db.query(
      `select typname from pg_type t join pg_namespace n on n.oid = t.typnamespace
       where n.nspname = current_schema() and t.typtype = 'e'`,
    );
    expect(types).toEqual([]);
    const fns = await t.db.query(
      `select proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = current_schema() and proname like 'vigil_%'`,
    );
    expect(fns).toEqual([]);

    // and back up
    expect(await m.migrate()).toEqual(files.map((f) => f.id));
    expect(await tableNames(t)).toEqual(tablesAtLatest);
  });

  it('migrate is idempotent and reports nothing to do', async () => {
    expect(await new Migrator(t.db).migrate()).toEqual([]);
  });

  it('flags an applied migration whose file was edited afterwards', async () => {
    await t.db.query(`update vigil_migrations set checksum = 'x' where id = '0000_extensions'`);
    const s = await new Migrator(t.db).status();
    expect(s.applied.find((a) => a.id === '0000_extensions')?.modified).toBe(true);
  });
});
