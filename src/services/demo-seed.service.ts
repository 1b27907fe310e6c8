/**
 * `vigil seed --demo`: realistic sample data in every table, per seed 001's sample organisations.
 * Idempotent: a tenant whose slug already exists is left alone, global feed data is upserted.
 * Demo users get generated passwords, returned once (never a shared default).
 */
import type { Database } from '../db/client.ts';
import type { AlertRepository } from '../repositories/alert.repository.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { IncidentRepository } from '../repositories/incident.repository.ts';
import type { IndicatorRepository } from '../repositories/indicator.repository.ts';
import type { IngestionRunRepository } from '../repositories/ingestion-run.repository.ts';
import type { MembershipRepository } from '../repositories/membership.repository.ts';
import type { NotificationRepository } from '../repositories/notification.repository.ts';
import type { ReportRepository } from '../repositories/report.repository.ts';
import type { RuleRepository } from '../repositories/rule.repository.ts';
import { cacheKey, type SearchCacheRepository } from '../repositories/search-cache.repository.ts';
import type { SessionRepository } from '../repositories/session.repository.ts';
import type { SourceRepository } from '../repositories/source.repository.ts';
import type { TechniqueRepository } from '../repositories/technique.repository.ts';
import type { TenantRepository } from '../repositories/tenant.repository.ts';
import type { UserRepository } from '../repositories/user.repository.ts';
import type { VulnerabilityRepository } from '../repositories/vulnerability.repository.ts';
import {
  DEMO_GLOBAL_INDICATORS,
  DEMO_NOTIFICATIONS,
  DEMO_REPORTS,
  DEMO_ROLES,
  DEMO_RULES,
  DEMO_SOURCES,
  DEMO_TECHNIQUES,
  DEMO_TENANTS,
  DEMO_VULNERABILITIES,
} from './demo-data.ts';
import { generatePassword, hashPassword } from './password.ts';

export interface DemoRepositories {
  tenants: TenantRepository;
  users: UserRepository;
  memberships: MembershipRepository;
  sessions: SessionRepository;
  auditLogs: AuditLogRepository;
  sources: SourceRepository;
  notifications: NotificationRepository;
  reports: ReportRepository;
  rules: RuleRepository;
  incidents: IncidentRepository;
  alerts: AlertRepository;
  indicators: IndicatorRepository;
  vulnerabilities: VulnerabilityRepository;
  techniques: TechniqueRepository;
  ingestionRuns: IngestionRunRepository;
  searchCache: SearchCacheRepository;
}

export interface DemoSeedResult {
  tenantsCreated: string[];
  tenantsSkipped: string[];
  /** Rows written per table by this run. */
  counts: Record<string, number>;
  /** Generated credentials of the demo users created by this run: shown once. */
  credentials: { tenant: string; username: string; role: string; password: string }[];
}

const MINUTE = 60_000;

export class DemoSeedService {
  constructor(
    private readonly db: Database,
    private readonly r: DemoRepositories,
  ) {}

  async seed(now: Date = new Date()): Promise<DemoSeedResult> {
    const result: DemoSeedResult = { tenantsCreated: [], tenantsSkipped: [], counts: {}, credentials: [] };
    const add = (table: string, n = 1) => (result.counts[table] = (result.counts[table] ?? 0) + n);

    await this.seedGlobal(now, add);

    // The platform SRE (seed 001's "SRE user with multi-tenant access").
    let sreId: string | undefined = (await this.r.users.getByUsername('sre'))?.id;

    for (const t of DEMO_TENANTS) {
      if (await this.r.tenants.getBySlug(t.slug)) {
        result.tenantsSkipped.push(t.slug);
        continue;
      }
      await this.db.tx(async () => {
        const tenant = await this.r.tenants.create({
          slug: t.slug,
          name: t.name,
          description: t.description,
        });
        add('tenants');
        const short = t.slug.split('-')[0]!;
        const members: { id: string; username: string; role: string }[] = [];
        for (const role of DEMO_ROLES) {
          const username = `${short}-${role.suffix}`;
          const password = generatePassword();
          const user = await this.r.users.create({
            username,
            email: `${role.suffix}@${t.slug}.example`,
            displayName: `${t.name} ${role.title}`,
            passwordHash: await hashPassword(password),
            defaultTenantId: tenant.id,
          });
          await this.r.memberships.add(tenant.id, user.id, role.role);
          add('users');
          add('memberships');
          members.push({ id: user.id, username, role: role.role });
          result.credentials.push({ tenant: t.slug, username, role: role.role, password });
        }
        if (t.slug === 'bits-internal' && !sreId) {
          const password = generatePassword();
          const sre = await this.r.users.create({
            username: 'sre',
            email: 'sre@bits-internal.example',
            displayName: 'Platform SRE',
            passwordHash: await hashPassword(password),
            platformRole: 'sre',
            defaultTenantId: tenant.id,
          });
          sreId = sre.id;
          await this.r.memberships.add(tenant.id, sre.id, 'admin');
          add('users');
          add('memberships');
          result.credentials.push({ tenant: t.slug, username: 'sre', role: 'sre (platform)', password });
        }
        const [admin, analyst] = members as [(typeof members)[0], (typeof members)[0]];
        await this.seedTenant(tenant.id, admin, analyst, now, add);
        result.tenantsCreated.push(t.slug);
      });
    }
    return result;
  }

  private async seedGlobal(now: Date, add: (t: string, n?: number) => void) {
    const run = await this.r.ingestionRuns.start({ source: 'demo', kind: 'intel', label: 'demo_seed' });
    add('ingestion_runs');
    let inserted = 0;
    let updated = 0;
    for (const v of DEMO_VULNERABILITIES) {
      const { inserted: isNew } = await this.r.vulnerabilities.upsert({
        ...v,
        sources: ['demo'],
        vendors: [...v.vendors],
        products: [...v.products],
        cweIds: [...v.cweIds],
        description: v.title,
      });
      if (isNew) inserted++;
      else updated++;
    }
    add('vulnerabilities', DEMO_VULNERABILITIES.length);
    const days = [7, 3, 0].map((d) => new Date(now.getTime() - d * 86_400_000).toISOString().slice(0, 10));
    const epss = DEMO_VULNERABILITIES.flatMap((v) =>
      days.map((scoreDate, i) => ({
        cveId: v.cveId,
        scoreDate,
        epss: Math.max(0, Math.min(1, v.epssScore - (days.length - 1 - i) * 0.01)),
        percentile: Math.min(1, 0.5 + v.epssScore / 2),
      })),
    );
    await this.r.vulnerabilities.addEpssScores(epss);
    add('epss_scores', epss.length);
    for (const tq of DEMO_TECHNIQUES) {
      await this.r.techniques.upsert({
        ...tq,
        tactics: [...tq.tactics],
        platforms: [...tq.platforms],
        url: `https://attack.mitre.org/techniques/${tq.techniqueId.replace('.', '/')}/`,
      });
    }
    add('techniques', DEMO_TECHNIQUES.length);
    const ind = await this.r.indicators.upsertGlobal(
      DEMO_GLOBAL_INDICATORS.map((i) => ({
        ...i,
        firstSeen: new Date(now.getTime() - 30 * 86_400_000),
        lastSeen: now,
        expiresAt: new Date(now.getTime() + 90 * 86_400_000),
      })),
    );
    add('indicators', DEMO_GLOBAL_INDICATORS.length);
    const params = { q: 'log4j', severity: 'critical' };
    const top = await this.r.vulnerabilities.list({ filters: { q: 'log4j' }, limit: 5 });
    await this.r.searchCache.set(
      cacheKey(params),
      params,
      top.items.map((v) => ({ cve_id: v.cveId, title: v.title })),
      3600,
    );
    add('search_cache');
    await this.r.ingestionRuns.finish(run.id, {
      status: 'success',
      recordsFetched: DEMO_VULNERABILITIES.length + DEMO_TECHNIQUES.length + DEMO_GLOBAL_INDICATORS.length,
      recordsInserted: inserted + ind.inserted,
      recordsUpdated: updated + ind.updated,
      recordsFailed: 0,
      recordsDuplicate: 0,
    });
  }

  private async seedTenant(
    tenantId: string,
    admin: { id: string; username: string },
    analyst: { id: string; username: string },
    now: Date,
    add: (t: string, n?: number) => void,
  ) {
    const ago = (minutes: number) => new Date(now.getTime() - minutes * MINUTE);

    for (const u of [admin, analyst]) {
      await this.r.auditLogs.create(tenantId, {
        userId: u.id,
        actor: u.username,
        action: 'login',
        description: `${u.username} logged in`,
        ipAddress: '192.0.2.50',
        userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
      });
      await this.r.sessions.create(tenantId, {
        userId: u.id,
        threadId: `thread-${u.id.slice(0, 8)}`,
        title: 'Triage of overnight alerts',
        context: { view: 'alerts', filters: { severity: 'high' } },
      });
      add('audit_logs');
      add('sessions');
    }
    const ended = await this.r.sessions.create(tenantId, {
      userId: analyst.id,
      title: 'Brute-force investigation',
    });
    await this.r.sessions.end(tenantId, ended.id);
    await this.r.auditLogs.create(tenantId, {
      userId: analyst.id,
      actor: analyst.username,
      action: 'login_failed',
      description: 'wrong password',
      ipAddress: '203.0.113.77',
      success: false,
    });
    add('sessions');
    add('audit_logs');

    for (const s of DEMO_SOURCES) {
      await this.r.sources.create(tenantId, { ...s, lastActivity: ago(Math.floor(Math.random() * 30)) });
    }
    add('sources', DEMO_SOURCES.length);
    for (const n of DEMO_NOTIFICATIONS)
      await this.r.notifications.create(tenantId, { ...n, metadata: { demo: true } });
    add('notifications', DEMO_NOTIFICATIONS.length);
    for (const rep of DEMO_REPORTS) {
      await this.r.reports.create(tenantId, {
        ...rep,
        generatedBy: admin.username,
        periodStart: ago(7 * 24 * 60),
        periodEnd: now,
      });
    }
    add('reports', DEMO_REPORTS.length);

    const rules: Awaited<ReturnType<RuleRepository['create']>>[] = [];
    for (const rule of DEMO_RULES) {
      rules.push(await this.r.rules.create(tenantId, { ...rule }, admin.username));
    }
    add('rules', rules.length);
    // A tuned rule: version 2, with its first version kept in rule_versions.
    await this.r.rules.update(
      tenantId,
      rules[2]!.id,
      { threshold: { count: 25, window_seconds: 300, group_by: ['user'] } },
      analyst.username,
    );
    add('rule_versions');
    await this.r.auditLogs.create(tenantId, {
      userId: analyst.id,
      actor: analyst.username,
      action: 'update',
      resourceType: 'rule',
      resourceId: rules[2]!.id,
      details: { before: { 'threshold.count': 20 }, after: { 'threshold.count': 25 } },
    });
    add('audit_logs');

    const bruteForce = await this.r.incidents.create(
      tenantId,
      {
        title: 'Suspicious Login Activity',
        description: 'Multiple failed login attempts followed by a success for root on bastion-ssh',
        incidentType: 'suspicious_activity',
        severity: 'high',
        priority: 'high',
        occurredAt: ago(180),
        detectedAt: ago(170),
        source: { system: 'Detection Agent', rule_id: rules[1]!.id, confidence: 0.85 },
        actors: [{ type: 'ip', value: '203.0.113.77' }],
        assets: [{ type: 'host', value: 'bastion-ssh' }],
        tags: ['ssh', 'brute-force'],
        assignedTo: analyst.username,
      },
      admin.username,
    );
    await this.r.incidents.update(tenantId, bruteForce.id, { status: 'investigating' }, analyst.username);
    const malware = await this.r.incidents.create(
      tenantId,
      {
        title: 'Malware download from known URLhaus domain',
        description: 'nginx-edge-01 fetched payload.exe from malware-download.example',
        incidentType: 'malware',
        severity: 'critical',
        priority: 'critical',
        occurredAt: ago(2 * 24 * 60),
        detectedAt: ago(2 * 24 * 60 - 20),
        remediationActions: [{ action: 'isolate host', by: analyst.username }],
      },
      admin.username,
    );
    await this.r.incidents.update(tenantId, malware.id, { status: 'contained' }, analyst.username);
    await this.r.incidents.update(tenantId, malware.id, { status: 'resolved' }, analyst.username);
    await this.r.incidents.create(
      tenantId,
      {
        title: 'Unpatched Log4j on reporting server',
        incidentType: 'vulnerability_exploitation',
        severity: 'medium',
        parentIncidentId: malware.id,
      },
      admin.username,
    );
    add('incidents', 3);

    const alertInputs = Array.from({ length: 8 }, (_, i) => ({
      ruleId: rules[i % 2 === 0 ? 1 : 2]!.id,
      title: i % 2 === 0 ? 'SSH Brute Force From Single Source' : 'Excessive failed logins per user',
      alertType: 'brute_force',
      detectionMethod: i % 2 === 0 ? 'sigma' : 'threshold',
      severity: (i < 2 ? 'high' : 'medium') as 'high' | 'medium',
      description: 'Multiple failed login attempts detected',
      sourceIp: i < 5 ? '203.0.113.77' : `198.51.100.${130 + i}`,
      destIp: '192.0.2.22',
      userName: i % 3 === 0 ? 'root' : 'admin',
      host: 'bastion-ssh',
      techniques: ['T1110.001'],
      priorityScore: Math.round((0.9 - i * 0.07) * 100) / 100,
      eventIds: [`demo-event-${i}`],
      logId: `demo-event-${i}`,
      metadata: { failed_attempts: 20 + i * 7 },
      firstSeen: ago(200 - i * 10),
      lastSeen: ago(190 - i * 10),
      count: 1 + i,
    }));
    const alerts = await this.r.alerts.createBatch(tenantId, alertInputs);
    add('alerts', alerts.length);
    await this.r.alerts.acknowledge(tenantId, alerts[0]!.id, analyst.username);
    for (const a of alerts.slice(0, 3))
      await this.r.alerts.linkIncident(tenantId, a.id, bruteForce.id, analyst.username);
    add('alert_incidents', 3);

    await this.r.indicators.create(tenantId, {
      type: 'ip',
      value: '198.51.100.7',
      threatType: 'scanner',
      confidence: 0.6,
      source: 'analyst',
      description: 'Seen scanning the VPN gateway',
    });
    add('indicators');

    const logRun = await this.r.ingestionRuns.start({
      source: 'file:/var/log/auth.log',
      kind: 'logs',
      tenantId,
    });
    await this.r.ingestionRuns.finish(logRun.id, {
      status: 'success',
      recordsFetched: 2000,
      recordsInserted: 1994,
      recordsUpdated: 0,
      recordsFailed: 2,
      recordsDuplicate: 4,
    });
    add('ingestion_runs');
  }
}
