/**
 * HTTP tests: the app on a migrated test database, with a FAKE AuthApi that maps fixed credentials to
 * principals built here, so route tests do not depend on the real AuthService.
 *
 *   const h = await createHttpFixture(engine);
 *   const r = await h.app.inject({ method: 'GET', url: '/api/v1/sources', headers: h.as('viewerA') });
 *
 * Callers: adminA, analystA, viewerA (members of tenant A), adminB, viewerB (members of tenant B), sre
 * (platform role, member of nothing), apiKeyA (an API key of tenant A with sources:read/write and
 * incidents:read).
 * The users exist in the database (audit rows reference them).
 */
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createContainer, type Container } from '../../src/container.ts';
import type { MembershipRole, PlatformRole } from '../../src/domain/enums.ts';
import { ForbiddenError, UnauthorizedError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { permissionsFor, type Permission, type Principal } from '../../src/domain/permissions.ts';
import { buildApp } from '../../src/http/app.ts';
import type { AuditLog } from '../../src/repositories/audit-log.repository.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import type { AuthApi, LoginResult, RequestMeta, TokenPair } from '../../src/services/auth.types.ts';
import type { Engine } from '../../src/db/client.ts';
import { createTestDb, type TestDb } from './db.ts';
import { makeTenant } from './fixtures.ts';

export const CALLERS = ['adminA', 'analystA', 'viewerA', 'adminB', 'viewerB', 'sre', 'apiKeyA'] as const;
export type Caller = (typeof CALLERS)[number];

/** The password every fake user logs in with. */
export const PASSWORD = 'correct horse battery staple';

export const API_KEY_A_PERMISSIONS: Permission[] = ['sources:read', 'sources:write', 'incidents:read'];

interface FakeUser {
  id: string;
  username: string;
  email: string;
  platformRole: PlatformRole;
  homeTenant: Tenant | null;
  memberships: Map<string, MembershipRole>;
}

interface FakeKey {
  id: string;
  name: string;
  tenant: Tenant;
  permissions: Set<Permission>;
}

/** Every call the app made to the fake, for assertions on what the HTTP layer passed. */
export interface AuthCall {
  method: keyof AuthApi;
  credential?: string;
  meta: RequestMeta;
  principal?: Principal;
  opts?: unknown;
}

export class FakeAuth implements AuthApi {
  readonly calls: AuthCall[] = [];
  readonly #users = new Map<string, FakeUser>();
  readonly #keys = new Map<string, FakeKey>();

  constructor(private readonly tenants: Tenant[]) {}

  addUser(token: string, user: FakeUser): void {
    this.#users.set(token, user);
  }

  addKey(key: string, k: FakeKey): void {
    this.#keys.set(key, k);
  }

  #tenant(ref: string): Tenant {
    const t = this.tenants.find((x) => x.id === ref || x.slug === ref);
    if (!t) throw new ForbiddenError(`no access to tenant ${ref}`);
    return t;
  }

  #principalFor(u: FakeUser, meta: RequestMeta, sessionFamily?: string): Principal {
    const tenant = meta.tenant ? this.#tenant(meta.tenant) : u.homeTenant;
    const role = tenant ? (u.memberships.get(tenant.id) ?? null) : null;
    if (tenant && !role && u.platformRole !== 'sre')
      throw new ForbiddenError(`no access to tenant ${meta.tenant}`);
    return {
      kind: 'user',
      id: u.id,
      name: u.username,
      platformRole: u.platformRole,
      tenantId: tenant?.id ?? null,
      role,
      permissions: permissionsFor(role, u.platformRole),
      crossTenant: !!tenant && !role,
      ...(sessionFamily ? { sessionFamily } : {}),
    };
  }

  async authenticateBearer(token: string, meta: RequestMeta): Promise<Principal> {
    this.calls.push({ method: 'authenticateBearer', credential: token, meta });
    const u = this.#users.get(token);
    if (!u) throw new UnauthorizedError('invalid or expired access token');
    return this.#principalFor(u, meta, `family-${token}`);
  }

  async authenticateApiKey(key: string, meta: RequestMeta): Promise<Principal> {
    this.calls.push({ method: 'authenticateApiKey', credential: key, meta });
    const k = this.#keys.get(key);
    if (!k) throw new UnauthorizedError('invalid API key');
    if (meta.tenant && meta.tenant !== k.tenant.id && meta.tenant !== k.tenant.slug) {
      throw new ForbiddenError('an API key acts in its own tenant only');
    }
    return {
      kind: 'api_key',
      id: k.id,
      name: `api-key:${k.name}`,
      platformRole: 'user',
      tenantId: k.tenant.id,
      role: null,
      permissions: k.permissions,
      crossTenant: false,
    };
  }

  async login(login: string, password: string, meta: RequestMeta): Promise<LoginResult> {
    this.calls.push({ method: 'login', credential: login, meta });
    const entry = [...this.#users.entries()].find(([, u]) => u.username === login || u.email === login);
    if (!entry || password !== PASSWORD) throw new UnauthorizedError('invalid login or password');
    const [token, u] = entry;
    const p = this.#principalFor(u, meta);
    const tenant = p.tenantId ? this.#tenant(p.tenantId) : null;
    return {
      ...this.#pair(token),
      user: {
        id: u.id,
        username: u.username,
        email: u.email,
        displayName: null,
        platformRole: u.platformRole,
      },
      tenant: tenant ? { id: tenant.id, slug: tenant.slug, name: tenant.name, role: p.role } : null,
    };
  }

  async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
    this.calls.push({ method: 'refresh', credential: refreshToken, meta });
    const token = refreshToken.replace(/^refresh-/, '');
    if (!refreshToken.startsWith('refresh-') || !this.#users.has(token)) {
      throw new UnauthorizedError('invalid refresh token');
    }
    return this.#pair(token);
  }

  async logout(principal: Principal, meta: RequestMeta, opts?: { endSessions?: boolean }): Promise<void> {
    this.calls.push({ method: 'logout', principal, meta, opts });
  }

  #pair(token: string): TokenPair {
    return {
      tokenType: 'Bearer',
      accessToken: token,
      expiresIn: 900,
      refreshToken: `refresh-${token}`,
      refreshExpiresIn: 604_800,
    };
  }
}

export interface HttpFixture {
  app: FastifyInstance;
  t: TestDb;
  container: Container;
  auth: FakeAuth;
  tenantA: Tenant;
  tenantB: Tenant;
  userIds: Record<Exclude<Caller, 'apiKeyA'>, string>;
  /** Request headers that authenticate as `who` (plus any extra headers). */
  as(who: Caller, extra?: Record<string, string>): Record<string, string>;
  /** app.inject as `who` (null: no credentials). */
  call(who: Caller | null, opts: CallOptions): Promise<LightResponse>;
  /** A tenant's audit rows, oldest first, read as the table owner (past row-level security). */
  auditRows(tenantId: string): Promise<AuditLog[]>;
  dispose(): Promise<void>;
}

export interface CallOptions {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'HEAD' | 'OPTIONS';
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
}

export type LightResponse = Awaited<ReturnType<FastifyInstance['inject']>>;

export interface HttpFixtureOptions {
  /** Extra environment for loadConfig (e.g. CORS_ORIGINS). */
  env?: Record<string, string>;
  /** false: build the app without an AuthApi (the container before AuthService is wired). */
  withAuth?: boolean;
}

const TOKENS: Record<Exclude<Caller, 'apiKeyA'>, string> = {
  adminA: 'token-admin-a',
  analystA: 'token-analyst-a',
  viewerA: 'token-viewer-a',
  adminB: 'token-admin-b',
  viewerB: 'token-viewer-b',
  sre: 'token-sre',
};
export const API_KEY_A = 'vk_test_key_a';

export async function createHttpFixture(engine: Engine, opts: HttpFixtureOptions = {}): Promise<HttpFixture> {
  const t = await createTestDb(engine);
  // The log store of HTTP tests is the relational database's (no DuckDB file shared between test files).
  const config = loadConfig({ env: { LOG_LEVEL: 'silent', VIGIL_LOG_STORE: 'postgres', ...opts.env } });
  const container = await createContainer(config, createLogger(config), t.db);
  const tenantA = await makeTenant(t.db, 'A');
  const tenantB = await makeTenant(t.db, 'B');
  const auth = new FakeAuth([tenantA, tenantB]);

  const people: [Exclude<Caller, 'apiKeyA'>, PlatformRole, Tenant | null, MembershipRole | null][] = [
    ['adminA', 'user', tenantA, 'admin'],
    ['analystA', 'user', tenantA, 'analyst'],
    ['viewerA', 'user', tenantA, 'viewer'],
    ['adminB', 'user', tenantB, 'admin'],
    ['viewerB', 'user', tenantB, 'viewer'],
    ['sre', 'sre', null, null],
  ];
  const userIds = {} as Record<Exclude<Caller, 'apiKeyA'>, string>;
  const suffix = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  for (const [who, platformRole, home, role] of people) {
    const username = `${who.toLowerCase()}-${suffix}`;
    const email = `${username}@example.com`;
    const user = await container.repos.users.create({
      username,
      email,
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$fake$fake',
      platformRole,
    });
    if (home && role) await container.repos.memberships.add(home.id, user.id, role);
    userIds[who] = user.id;
    auth.addUser(TOKENS[who], {
      id: user.id,
      username,
      email,
      platformRole,
      homeTenant: home,
      memberships: new Map(home && role ? [[home.id, role]] : []),
    });
  }
  auth.addKey(API_KEY_A, {
    id: uuidv7(),
    name: 'ci',
    tenant: tenantA,
    permissions: new Set(API_KEY_A_PERMISSIONS),
  });

  const wired: Container =
    opts.withAuth === false
      ? container
      : { ...container, services: { ...container.services, auth } as Container['services'] };
  const app = await buildApp({ container: wired, logger: false });
  await app.ready();

  const as = (who: Caller, extra: Record<string, string> = {}): Record<string, string> => {
    const base: Record<string, string> =
      who === 'apiKeyA' ? { 'x-api-key': API_KEY_A } : { authorization: `Bearer ${TOKENS[who]}` };
    return { ...base, ...extra };
  };

  return {
    app,
    t,
    container: wired,
    auth,
    tenantA,
    tenantB,
    userIds,
    as,
    call(who, { method, url, payload, headers = {} }) {
      const base = who ? as(who) : {};
      return app.inject({
        method,
        url,
        headers: { ...base, ...headers },
        ...(payload === undefined ? {} : { payload: payload as string | object }),
      });
    },
    async auditRows(tenantId) {
      const rows = await t.db.query<Record<string, unknown>>(
        `select * from audit_logs where tenant_id = $1 order by seq`,
        [tenantId],
      );
      return rows.map((r) => ({
        tenantId: r.tenant_id,
        id: r.id,
        seq: Number(r.seq),
        userId: r.user_id,
        actor: r.actor,
        action: r.action,
        resourceType: r.resource_type,
        resourceId: r.resource_id,
        details: r.details,
        description: r.description,
        ipAddress: r.ip_address,
        userAgent: r.user_agent,
        success: r.success,
        timestamp: r.timestamp,
        prevHash: r.prev_hash,
        rowHash: r.row_hash,
      })) as AuditLog[];
    },
    async dispose() {
      await app.close();
      await t.dispose();
    },
  };
}

/** A valid source body with a unique name. */
let n = 0;
export function sourceBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  n += 1;
  return {
    name: `fw-${n}-${Math.random().toString(36).slice(2, 6)}`,
    type: 'firewall',
    ip: '192.0.2.10',
    port: 514,
    protocol: 'syslog',
    ...extra,
  };
}
