/**
 * The permission model: what each role may do. One table, used by the HTTP layer to authorise every route,
 * by docs/permissions.md, and by the route x role matrix test.
 *
 * Tenant roles (per membership): admin (users, sources, rules, settings), analyst (triage alerts and
 * incidents, write rules), viewer (read). The platform role `sre` reads every tenant and runs platform
 * operations; each cross-tenant access is audited in the tenant it touched.
 */
import type { MembershipRole, PlatformRole } from './enums.ts';

export const PERMISSIONS = [
  'tenants:read',
  'tenants:write',
  'users:read',
  'users:write',
  'memberships:read',
  'memberships:write',
  'api_keys:read',
  'api_keys:write',
  'sessions:read',
  'sessions:write',
  'audit:read',
  'audit:verify',
  'sources:read',
  'sources:write',
  'notifications:read',
  'notifications:write',
  'reports:read',
  'reports:write',
  'rules:read',
  'rules:write',
  'incidents:read',
  'incidents:write',
  'alerts:read',
  'alerts:write',
  'indicators:read',
  'indicators:write',
  'vulnerabilities:read',
  'techniques:read',
  'ingestion_runs:read',
  'logs:read',
  'logs:write',
  'settings:write',
  'intel:write',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const READ: Permission[] = PERMISSIONS.filter((p) => p.endsWith(':read'));

/** What a member of a tenant may do there, by role. */
export const ROLE_PERMISSIONS: Record<MembershipRole, ReadonlySet<Permission>> = {
  viewer: new Set<Permission>([
    ...READ.filter((p) => p !== 'api_keys:read' && p !== 'audit:read'),
    'sessions:write',
  ]),
  analyst: new Set<Permission>([
    ...READ.filter((p) => p !== 'api_keys:read'),
    'sessions:write',
    'rules:write',
    'incidents:write',
    'alerts:write',
    'indicators:write',
    'notifications:write',
    'reports:write',
    'logs:write',
  ]),
  admin: new Set<Permission>(PERMISSIONS.filter((p) => p !== 'tenants:write' && p !== 'intel:write')),
};

/** What the platform role adds, in any tenant: read everything, and run platform operations. */
export const PLATFORM_PERMISSIONS: Record<PlatformRole, ReadonlySet<Permission>> = {
  user: new Set<Permission>(),
  sre: new Set<Permission>([...READ, 'tenants:write', 'audit:verify', 'intel:write']),
};

/** Permissions an API key may be given (a machine never administers users or keys). */
export const API_KEY_PERMISSIONS: readonly Permission[] = PERMISSIONS.filter(
  (p) =>
    !p.startsWith('users:') &&
    !p.startsWith('memberships:') &&
    !p.startsWith('api_keys:') &&
    !p.startsWith('tenants:') &&
    p !== 'intel:write' &&
    p !== 'settings:write',
);

/** Who is calling, resolved from a bearer token or an API key, for one request and one tenant. */
export interface Principal {
  kind: 'user' | 'api_key';
  /** The user, or for an API key the key's id. */
  id: string;
  /** Username, or `api-key:<name>`: what audit rows record as the actor. */
  name: string;
  platformRole: PlatformRole;
  /** The tenant this request acts in (null: none chosen and none default). */
  tenantId: string | null;
  /** The caller's membership role in that tenant, if a member. */
  role: MembershipRole | null;
  permissions: ReadonlySet<Permission>;
  /** True when the access crosses tenants (an sre acting in a tenant it is not a member of): audited. */
  crossTenant: boolean;
  /** The login's refresh-token family, for logout. */
  sessionFamily?: string;
}

/** The effective permissions of a user in a tenant. */
export function permissionsFor(role: MembershipRole | null, platformRole: PlatformRole): Set<Permission> {
  const out = new Set<Permission>(role ? ROLE_PERMISSIONS[role] : []);
  for (const p of PLATFORM_PERMISSIONS[platformRole]) out.add(p);
  return out;
}
