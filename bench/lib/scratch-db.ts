/** A migrated scratch database for a bench: PGlite in memory, or a database created on a PostgreSQL server. */
import pg from 'pg';
import { Database } from '../../src/db/client.ts';
import { Migrator } from '../../src/db/migrator.ts';

export interface ScratchDb {
  db: Database;
  engine: 'pglite' | 'postgres';
  /** The scratch database's URL (PostgreSQL only). */
  url?: string;
  dispose: () => Promise<void>;
}

/**
 * Without `serverUrl`: PGlite in memory. With it: a database `vigil_bench_<pid>_<tag>` is created on that
 * server (the URL's database is only used to create and drop it) and dropped by `dispose`.
 */
export async function openScratchDb(serverUrl?: string, tag = 'x'): Promise<ScratchDb> {
  if (!serverUrl) {
    const db = await Database.open({});
    await new Migrator(db).migrate();
    return { db, engine: 'pglite', dispose: () => db.close() };
  }
  const name = `vigil_bench_${process.pid}_${tag.replace(/\W/g, '')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const db = await Database.open({ url: u.toString(), pool: { max: 4 } });
  await new Migrator(db).migrate();
  return {
    db,
    engine: 'postgres',
    url: u.toString(),
    dispose: async () => {
      await db.close();
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}
