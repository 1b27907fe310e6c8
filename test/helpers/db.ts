/**
 * Test databases on both engines. Every test file gets its own, so files run in parallel:
 * - pglite: an in-memory PGlite instance;
 * - postgres (when TEST_DATABASE_URL is set): a new database created on that server and dropped afterwards.
 * A TEST_DATABASE_URL that cannot be reached fails the suite: it never silently skips PostgreSQL.
 */
import pg from 'pg';
import { Database, type Engine } from '../../src/db/client.ts';
import { Migrator } from '../../src/db/migrator.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

/** The engines this run covers. */
export function engines(): Engine[] {
  return TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

export interface TestDb {
  db: Database;
  engine: Engine;
  /** Drop everything this test database created. */
  dispose(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh, empty database (no migrations applied). */
export async function createEmptyDb(engine: Engine): Promise<TestDb> {
  if (engine === 'pglite') {
    const db = await Database.open({});
    return { db, engine, dispose: () => db.close() };
  }
  if (!TEST_DATABASE_URL) throw new Error('TEST_DATABASE_URL is not set');
  const name = `vigil_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const db = await Database.open({ url: withDatabase(TEST_DATABASE_URL, name), pool: { max: 8 } });
  return {
    db,
    engine,
    dispose: async () => {
      await db.close();
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A fresh database with every migration applied. */
export async function createTestDb(engine: Engine): Promise<TestDb> {
  const t = await createEmptyDb(engine);
  await new Migrator(t.db).migrate();
  return t;
}
