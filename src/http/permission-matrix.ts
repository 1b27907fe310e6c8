/**
 * docs/permissions.md, rendered from the code: the role -> permission table (src/domain/permissions.ts) and
 * every API route with the permission it needs and, per role, whether it is allowed. A test fails when the
 * committed document and this rendering disagree (`npm run docs:permissions` rewrites it).
 */
import { MEMBERSHIP_ROLES } from '../domain/enums.ts';
import { PERMISSIONS, permissionsFor, type Permission } from '../domain/permissions.ts';
import type { RouteEntry } from './route-registry.ts';

export const MATRIX_ROLES = [
  ...MEMBERSHIP_ROLES.map((role) => ({ name: role, role, platform: 'user' as const })),
  { name: 'sre (not a member)', role: null, platform: 'sre' as const },
];

export function allowed(
  entry: Pick<RouteEntry, 'auth' | 'permission'>,
  who: (typeof MATRIX_ROLES)[number],
): boolean {
  if (entry.auth === 'public') return true;
  if (!entry.permission) return true;
  return permissionsFor(who.role, who.platform).has(entry.permission);
}

export function renderPermissionMatrix(routes: readonly RouteEntry[]): string {
  const yes = (b: boolean) => (b ? 'yes' : '—');
  const lines: string[] = [];
  lines.push('# Permissions');
  lines.push('');
  lines.push(
    'Generated from `src/domain/permissions.ts` and the registered routes by `npm run docs:permissions`;',
  );
  lines.push(
    '`test/http/permission-matrix.test.ts` fails when this file and the code disagree, and checks every',
  );
  lines.push('route against every role through the API.');
  lines.push('');
  lines.push(
    'Roles are per tenant (a membership): **admin** (users, sources, rules, settings), **analyst** (triage',
  );
  lines.push(
    'alerts and incidents, write rules), **viewer** (read). The platform role **sre** reads every tenant and',
  );
  lines.push(
    "runs platform operations; each cross-tenant access is written to that tenant's audit trail. API keys carry",
  );
  lines.push('an explicit subset of permissions, chosen when the key is created.');
  lines.push('');
  lines.push('## Permissions by role');
  lines.push('');
  lines.push(`| permission | ${MATRIX_ROLES.map((r) => r.name).join(' | ')} |`);
  lines.push(`| --- | ${MATRIX_ROLES.map(() => '---').join(' | ')} |`);
  for (const p of PERMISSIONS) {
    lines.push(
      `| \`${p}\` | ${MATRIX_ROLES.map((r) => yes(permissionsFor(r.role, r.platform).has(p as Permission))).join(' | ')} |`,
    );
  }
  lines.push('');
  lines.push('## Routes');
  lines.push('');
  lines.push(`| method | route | needs | ${MATRIX_ROLES.map((r) => r.name).join(' | ')} |`);
  lines.push(`| --- | --- | --- | ${MATRIX_ROLES.map(() => '---').join(' | ')} |`);
  for (const r of routes.filter((x) => x.url.startsWith('/api/v1'))) {
    const needs = r.auth === 'public' ? 'public' : r.permission ? `\`${r.permission}\`` : 'signed in';
    lines.push(
      `| ${r.method} | \`${r.url}\` | ${needs} | ${MATRIX_ROLES.map((w) => yes(allowed(r, w))).join(' | ')} |`,
    );
  }
  lines.push('');
  return lines.join('\n');
}
