/**
 * The services the HTTP layer calls. Taken from the container when it provides them; until the container
 * wires them (src/container.ts), built here from its repositories: the same objects, in one place to move.
 */
import type { Container } from '../container.ts';
import { UnavailableError } from '../domain/errors.ts';
import { AuditLogService } from '../services/audit-log.service.ts';
import type { AuthApi } from '../services/auth.types.ts';
import { IncidentService } from '../services/incident.service.ts';
import { SourceService } from '../services/source.service.ts';
import { VulnerabilityService } from '../services/vulnerability.service.ts';

export interface ApiServices {
  sources: SourceService;
  incidents: IncidentService;
  vulnerabilities: VulnerabilityService;
  auditLogs: AuditLogService;
}

export function apiServices(c: Container): ApiServices {
  const s = c.services as Partial<ApiServices>;
  return {
    sources: s.sources ?? new SourceService(c.db, c.repos.sources, c.repos.auditLogs),
    incidents: s.incidents ?? new IncidentService(c.db, c.repos.incidents, c.repos.auditLogs),
    vulnerabilities: s.vulnerabilities ?? new VulnerabilityService(c.repos.vulnerabilities),
    auditLogs: s.auditLogs ?? new AuditLogService(c.repos.auditLogs),
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
