/**
 * Open the configured log store: DuckDB (`logs.store: duckdb`, the default, in `logs.path`) or PostgreSQL
 * (`logs.store: postgres`: the `log_events` table of the relational database, PGlite included).
 * Implementations are imported on demand, so commands that never read logs never load DuckDB's native module.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Config } from '../config/config.ts';
import type { Logger } from '../config/logger.ts';
import type { Database } from '../db/client.ts';
import type { LogStore } from './log-store.ts';

export async function openLogStore(config: Config, db: Database, logger: Logger): Promise<LogStore> {
  let store: LogStore;
  if (config.logs.store === 'postgres') {
    const { PostgresLogStore } = await import('./postgres/postgres-log-store.ts');
    store = new PostgresLogStore(db);
  } else {
    const { DuckDbLogStore } = await import('./duckdb/duckdb-log-store.ts');
    const path = config.logs.path!;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    store = new DuckDbLogStore(path, { memoryLimit: config.logs.memoryLimit });
  }
  await store.init();
  logger.debug({ store: store.kind }, 'log store open');
  return store;
}
