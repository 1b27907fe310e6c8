/**
 * The one composition root: configuration -> database -> repositories -> services.
 * Commands, the HTTP app and jobs get what they need from here and never construct stores themselves.
 */
import type { Config } from './config/config.ts';
import type { Logger } from './config/logger.ts';
import { Database } from './db/client.ts';
import { Migrator } from './db/migrator.ts';
import { MembershipRepository } from './repositories/membership.repository.ts';
import { SourceRepository } from './repositories/source.repository.ts';
import { TenantRepository } from './repositories/tenant.repository.ts';
import { UserRepository } from './repositories/user.repository.ts';
import { SetupService } from './services/setup.service.ts';

export interface Container {
  config: Config;
  logger: Logger;
  db: Database;
  migrator: Migrator;
  repos: {
    tenants: TenantRepository;
    users: UserRepository;
    memberships: MembershipRepository;
    sources: SourceRepository;
  };
  services: {
    setup: SetupService;
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
  const migrator = new Migrator(database);
  const repos = {
    tenants: new TenantRepository(database),
    users: new UserRepository(database),
    memberships: new MembershipRepository(database),
    sources: new SourceRepository(database),
  };
  const services = {
    setup: new SetupService(database, migrator, repos.tenants, repos.users, repos.memberships),
  };
  return {
    config,
    logger,
    db: database,
    migrator,
    repos,
    services,
    close: () => database.close(),
  };
}
