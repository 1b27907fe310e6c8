/**
 * The services the HTTP layer calls. Taken from the container when it provides them; until the container
 * wires them (src/container.ts), built here from its repositories: the same objects, in one place to move.
 */
import type { Container } from '../container.ts';
import { UnavailableError } from '../domain/errors.ts';
import { AlertService } from '../services/alert.service.ts';
import type { AuditService } from '../services/audit.service.ts';
import type { AuthApi } from '../services/auth.types.ts';
import { IncidentService } from '../services/incident.service.ts';
import { IndicatorService } from '../services/indicator.service.ts';
import { MembershipService } from '../services/membership.service.ts';
import { IngestionRunService } from '../services/ingestion-run.service.ts';
import { SessionService } from '../services/session.service.ts';
import { NotificationService } from '../services/notification.service.ts';
import { ReportService } from '../services/report.service.ts';
import { RuleService } from '../services/rule.service.ts';
import { SourceService } from '../services/source.service.ts';
import { TechniqueService } from '../services/technique.service.ts';
import { TenantService } from '../services/tenant.service.ts';
import { UserService } from '../services/user.service.ts';
import { VulnerabilityService } from '../services/vulnerability.service.ts';

export interface ApiServices {
  sources: SourceService;
  incidents: IncidentService;
  vulnerabilities: VulnerabilityService;
  vulnSearch: Container['services']['vulnSearch'];
  auditLogs: Pick<AuditService, 'list' | 'verifyTenant'>;
  sessions: SessionService;
  techniques: TechniqueService;
  ingestionRuns: IngestionRunService;
  indicators: IndicatorService;
  /** API key management: AuthService, which checks permissions and audits itself. */
  apiKeys: Container['services']['apiKeys'];
  memberships: MembershipService;
  rules: RuleService;
  alerts: AlertService;
  notifications: NotificationService;
  reports: ReportService;
  users: UserService;
  tenants: TenantService;
  logs: Container['services']['logs'];
  logIngest: Container['services']['logIngest'];
  ruleImport: Container['services']['ruleImport'];
  detection: Container['services']['detection'];
}

export function apiServices(c: Container): ApiServices {
  const s = c.services as Partial<ApiServices>;
  return {
    sources: s.sources ?? new SourceService(c.db, c.repos.sources, c.repos.auditLogs),
    incidents: s.incidents ?? new IncidentService(c.db, c.repos.incidents, c.repos.auditLogs),
    vulnerabilities: s.vulnerabilities ?? new VulnerabilityService(c.repos.vulnerabilities),
    vulnSearch: c.services.vulnSearch,
    auditLogs: s.auditLogs ?? c.services.audit,
    sessions: s.sessions ?? new SessionService(c.db, c.repos.sessions, c.repos.auditLogs),
    techniques: s.techniques ?? new TechniqueService(c.repos.techniques),
    ingestionRuns: s.ingestionRuns ?? new IngestionRunService(c.db, c.repos.ingestionRuns),
    indicators:
      s.indicators ?? new IndicatorService(c.db, c.repos.indicators, c.repos.auditLogs, c.services.intelFeed),
    apiKeys: c.services.apiKeys,
    memberships: s.memberships ?? new MembershipService(c.db, c.repos.memberships, c.repos.auditLogs),
    rules: s.rules ?? new RuleService(c.db, c.repos.rules, c.repos.auditLogs),
    alerts: s.alerts ?? new AlertService(c.db, c.repos.alerts, c.repos.incidents, c.repos.auditLogs),
    notifications:
      s.notifications ??
      new NotificationService(c.db, c.repos.notifications, c.repos.memberships, c.repos.auditLogs),
    reports: s.reports ?? new ReportService(c.db, c.repos.reports, c.repos.auditLogs),
    users: s.users ?? new UserService(c.db, c.repos.users, c.repos.memberships, c.repos.auditLogs),
    tenants:
      s.tenants ?? new TenantService(c.db, c.repos.tenants, c.repos.memberships, c.repos.auditLogs, c.logger),
    logs: c.services.logs,
    logIngest: c.services.logIngest,
    ruleImport: c.services.ruleImport,
    detection: c.services.detection,
  };
}

/**
 * Authentication (AuthService, `container.services.auth`). Read on every request, so a container wired after
 * the app was built is seen; undefined until it is wired, which protected routes answer with a 503.
 */
export function authApiOf(c: Container): AuthApi | undefined {
  return (c.services as { auth?: AuthApi }).auth;
}

/** The AuthApi, or a 503 problem when none is wired. */
export function requireAuthApi(c: Container): AuthApi {
  const auth = authApiOf(c);
  if (!auth) throw new UnavailableError('authentication is not configured on this server');
  return auth;
}
