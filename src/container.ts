/**
 * The one composition root: configuration -> database -> repositories -> services.
 * Commands, the HTTP app and jobs get what they need from here and never construct stores themselves.
 */
import type { Config } from './config/config.ts';
import type { Logger } from './config/logger.ts';
import { Database } from './db/client.ts';
import { Migrator } from './db/migrator.ts';
import { AlertRepository } from './repositories/alert.repository.ts';
import { ApiKeyRepository } from './repositories/api-key.repository.ts';
import { AuditLogRepository } from './repositories/audit-log.repository.ts';
import { IncidentRepository } from './repositories/incident.repository.ts';
import { IndicatorRepository } from './repositories/indicator.repository.ts';
import { IngestionRunRepository } from './repositories/ingestion-run.repository.ts';
import { MembershipRepository } from './repositories/membership.repository.ts';
import { NotificationRepository } from './repositories/notification.repository.ts';
import { RefreshTokenRepository } from './repositories/refresh-token.repository.ts';
import { ReportRepository } from './repositories/report.repository.ts';
import { RuleRepository } from './repositories/rule.repository.ts';
import { SearchCacheRepository } from './repositories/search-cache.repository.ts';
import { SessionRepository } from './repositories/session.repository.ts';
import { SourceRepository } from './repositories/source.repository.ts';
import { TechniqueRepository } from './repositories/technique.repository.ts';
import { TenantRepository } from './repositories/tenant.repository.ts';
import { UserRepository } from './repositories/user.repository.ts';
import { VulnerabilityRepository } from './repositories/vulnerability.repository.ts';
import { VulnPriorityRepository } from './repositories/vuln-priority.repository.ts';
import { AuditService } from './services/audit.service.ts';
import { AuthService } from './services/auth.service.ts';
import type { AuthApi } from './services/auth.types.ts';
import { DemoSeedService } from './services/demo-seed.service.ts';
import { LogWatermarkRepository } from './repositories/log-watermark.repository.ts';
import { LogFetcherService } from './services/log-fetcher.service.ts';
import { LogIngestService } from './services/log-ingest.service.ts';
import { LogRetentionService } from './services/log-retention.service.ts';
import { LogQueryService } from './services/log-query.service.ts';
import type { LogStore } from './logstore/log-store.ts';
import { openLogStore } from './logstore/open.ts';
import { SetupService } from './services/setup.service.ts';
import {
  AlertSuppressionRepository,
  DetectionRunRepository,
} from './repositories/detection-run.repository.ts';
import { DetectionService } from './services/detection.service.ts';
import { RuleImportService } from './services/rule-import.service.ts';
import { SigmaService } from './services/sigma.service.ts';
import { VulnImportService } from './services/vuln-import.service.ts';
import { IndicatorService } from './services/indicator.service.ts';
import { IntelFeedService } from './services/intel-feed.service.ts';
import { VulnerabilityService } from './services/vulnerability.service.ts';
import { VulnPriorityService } from './services/vuln-priority.service.ts';
import { VulnSearchService } from './services/vuln-search.service.ts';
import { DatabaseSearchCache, type SearchCacheStore } from './repositories/search-cache.ts';
import { RedisSearchCache } from './repositories/redis-search-cache.repository.ts';

function makeRepositories(db: Database) {
  return {
    tenants: new TenantRepository(db),
    users: new UserRepository(db),
    memberships: new MembershipRepository(db),
    sessions: new SessionRepository(db),
    auditLogs: new AuditLogRepository(db),
    sources: new SourceRepository(db),
    notifications: new NotificationRepository(db),
    reports: new ReportRepository(db),
    rules: new RuleRepository(db),
    incidents: new IncidentRepository(db),
    alerts: new AlertRepository(db),
    indicators: new IndicatorRepository(db),
    vulnerabilities: new VulnerabilityRepository(db),
    techniques: new TechniqueRepository(db),
    ingestionRuns: new IngestionRunRepository(db),
    searchCache: new SearchCacheRepository(db),
    refreshTokens: new RefreshTokenRepository(db),
    apiKeys: new ApiKeyRepository(db),
    logWatermarks: new LogWatermarkRepository(db),
    vulnPriority: new VulnPriorityRepository(db),
    detectionRuns: new DetectionRunRepository(db),
    suppressions: new AlertSuppressionRepository(db),
  };
}
export type Repositories = ReturnType<typeof makeRepositories>;

export interface Container {
  config: Config;
  logger: Logger;
  db: Database;
  migrator: Migrator;
  repos: Repositories;
  services: {
    setup: SetupService;
    demoSeed: DemoSeedService;
    audit: AuditService;
    /** Login, tokens, and resolving credentials to a Principal (the HTTP layer's only view of auth). */
    auth: AuthApi;
    /** API key management (the same AuthService). */
    apiKeys: Pick<AuthService, 'createApiKey' | 'listApiKeys' | 'revokeApiKey'>;
    /** The ingest pipeline (files, stdin, HTTP batches, syslog) into the log store. */
    logIngest: LogIngestService;
    /** Reading the log store as a tenant, and the SQL console. */
    logs: LogQueryService;
    /** Sigma rule files: compile, check, test. */
    sigma: SigmaService;
    /** Sigma files into a tenant's rules table. */
    ruleImport: RuleImportService;
    /** Scheduled detection, backtests, detection runs. */
    detection: DetectionService;
    /** CVE, NVD, KEV, EPSS and NDJSON imports into the merged vulnerability records. */
    vulnImport: VulnImportService;
    /** Reading the merged vulnerability records. */
    vulnerabilities: VulnerabilityService;
    /** The periodic recompute of vulnerability priority scores (their recency term). */
    vulnPriority: VulnPriorityService;
    /** Fuzzy vulnerability search behind the search cache (Redis when configured, else search_cache). */
    vulnSearch: VulnSearchService;
    /** Indicator feeds (STIX, MISP, CSV) and MITRE ATT&CK imports; the indicator matcher. */
    intelFeed: IntelFeedService;
    /** A tenant's indicators (reads, and audited writes that drop the matcher's cached index). */
    indicators: IndicatorService;
  };
  /**
   * The log store, opened on first use (DuckDB holds a file lock: commands that never touch logs leave it
   * alone, and `vigil serve` opens it at start).
   */
  logStore(): Promise<LogStore>;
  /**
   * The log store's background services, built on the open store: the periodic fetcher (seed 002: hands new
   * events to registered consumers such as detection) and the retention purge.
   */
  logJobs(): Promise<{ fetcher: LogFetcherService; retention: LogRetentionService }>;
  close(): Promise<void>;
}

export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  return Database.open({
    url: config.database.url,
    dataDir: config.database.dataDir,
    echo: config.database.echo,
    logger,
    pool: config.database.pool,
    appRole: config.database.appRole === 'none' ? null : config.database.appRole,
  });
}

export async function createContainer(config: Config, logger: Logger, db?: Database): Promise<Container> {
  const database = db ?? (await openDatabase(config, logger));
  const migrator = new Migrator(database);
  const repos = makeRepositories(database);
  let store: Promise<LogStore> | undefined;
  let jobs: Promise<{ fetcher: LogFetcherService; retention: LogRetentionService }> | undefined;
  const logStore = () => {
    store ??= openLogStore(config, database, logger).catch((e: unknown) => {
      store = undefined;
      throw e;
    });
    return store;
  };
  const sigma = new SigmaService({ placeholders: config.detection.placeholders });
  // One matcher (and its cached indexes) for the process: detection reads it, indicator writes and feed
  // imports drop what they changed.
  const intelFeed = new IntelFeedService({
    indicators: repos.indicators,
    techniques: repos.techniques,
    runs: repos.ingestionRuns,
  });
  // The search cache: Redis when configured (connected on first use), else the search_cache table.
  const searchCache: SearchCacheStore = config.cache.redisUrl
    ? new RedisSearchCache({
        url: config.cache.redisUrl,
        prefix: config.cache.redisPrefix,
        timeoutMs: config.cache.redisTimeoutMs,
        onError: (err) => logger.debug({ err: err.message }, 'redis search cache connection error'),
      })
    : new DatabaseSearchCache(repos.searchCache);
  const vulnSearch = new VulnSearchService(repos.vulnerabilities, searchCache, {
    ttlSeconds: config.cache.searchTtlSeconds,
    logger,
  });
  // The signing secret is loaded (or generated) on first use, so commands that never authenticate
  // (db status, migrate...) leave the data directory alone.
  const auth = new AuthService({
    db: database,
    config: { ...config.auth, dataDir: config.dataDir },
    ...repos,
    logger,
  });
  return {
    config,
    logger,
    db: database,
    migrator,
    repos,
    services: {
      setup: new SetupService(database, migrator, repos.tenants, repos.users, repos.memberships),
      demoSeed: new DemoSeedService(database, repos),
      audit: new AuditService(repos.tenants, repos.auditLogs),
      auth,
      apiKeys: auth,
      logIngest: new LogIngestService(
        logStore,
        repos.tenants,
        repos.sources,
        repos.ingestionRuns,
        config.logs,
      ),
      logs: new LogQueryService(logStore, repos.auditLogs, config.logs.console),
      sigma,
      ruleImport: new RuleImportService(database, repos.rules, repos.auditLogs, sigma),
      vulnImport: new VulnImportService(repos.vulnerabilities, repos.ingestionRuns, {
        onDataChanged: () => vulnSearch.invalidate(),
      }),
      vulnSearch,
      vulnerabilities: new VulnerabilityService(repos.vulnerabilities, repos.ingestionRuns),
      vulnPriority: new VulnPriorityService(repos.vulnPriority),
      intelFeed,
      indicators: new IndicatorService(database, repos.indicators, repos.auditLogs, intelFeed),
      detection: new DetectionService(
        database,
        logStore,
        {
          rules: repos.rules,
          alerts: repos.alerts,
          runs: repos.detectionRuns,
          suppressions: repos.suppressions,
          watermarks: repos.logWatermarks,
          tenants: repos.tenants,
          indicators: repos.indicators,
          vulnerabilities: repos.vulnerabilities,
          sources: repos.sources,
        },
        sigma,
        intelFeed,
        config.detection,
        logger,
      ),
    },
    logStore,
    logJobs: () =>
      (jobs ??= logStore().then((s) => ({
        fetcher: new LogFetcherService(database, s, repos.tenants, repos.logWatermarks, logger, {
          defaultBatchSize: config.logs.fetcher.batchSize,
        }),
        retention: new LogRetentionService(s, repos.tenants, logger),
      }))),
    close: async () => {
      if (store) await (await store.catch(() => undefined))?.close();
      await searchCache.close();
      await database.close();
    },
  };
}
