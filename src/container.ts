/**
 * The one composition root: configuration -> database -> repositories -> services.
 * Commands, the HTTP app and jobs get what they need from here and never construct stores themselves.
 */
import type { Config } from './config/config.ts';
import type { Logger } from './config/logger.ts';
import { Database } from './db/client.ts';
import { Migrator } from './db/migrator.ts';
import { SourceRepository } from './repositories/source.repository.ts';
import { TenantRepository } from './repositories/tenant.repository.ts';

export interface Container {
  config: Config;
  logger: Logger;
  db: Database;
  migrator: Migrator;
  repos: {
    tenants: TenantRepository;
    sources: SourceRepository;
  };
  close(): Promise<void>;
}

export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  return Database.open({
    url: config.database.url,
    dataDir: config.database.dataDir,
    echo: config.database.echo,
    logger,
    pool: config.database.pool,
  });
}

export async function createContainer(config: Config, logger: Logger, db?: Database): Promise<Container> {
  const database = db ?? (await openDatabase(config, logger));
  const repos = {
    tenants: new TenantRepository(database),
    sources: new SourceRepository(database),
  };
  return {
    config,
    logger,
    db: database,
    migrator: new Migrator(database),
    repos,
    close: () => database.close(),
  };
}
