/**
 * Authentication and API keys: implements the AuthApi contract (src/services/auth.types.ts).
 *
 * - Access tokens: short-lived HS256 JWTs (jose) with `sub` (user), `sid` (refresh family), `iat`, `exp`,
 *   `iss: vigil`. Every request re-checks the user, the family and the membership (one transaction), so a
 *   logout, a detected token theft, a deactivation or a removed membership takes effect at once.
 * - Refresh tokens: 32 random bytes, stored as SHA-256, rotated on every use; a replaced token presented
 *   again means theft, and revokes the whole login (family).
 * - Passwords: argon2id; unknown users still cost one argon2 verification (equal timing); wrong password,
 *   unknown and inactive users share one message. Failures lock the account (failed_login_count /
 *   locked_until) and throttle the IP address (an in-memory sliding window: per process, by design; a
 *   cluster behind a load balancer gets N times the allowance, which the account lock still bounds).
 * - API keys: `vgk_` + the tenant id (32 hex) + 32 random bytes (base64url); stored as SHA-256 only.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../config/config.ts';
import type { Logger } from '../config/logger.ts';
import type { Database } from '../db/client.ts';
import type { MembershipRole, TenantStatus } from '../domain/enums.ts';
import {
  ConfigError,
  ForbiddenError,
  NotFoundError,
  UnauthorizedError,
  ValidationError,
  VigilError,
} from '../domain/errors.ts';
import { isUuid, uuidv7 } from '../domain/ids.ts';
import {
  API_KEY_PERMISSIONS,
  permissionsFor,
  type Permission,
  type Principal,
} from '../domain/permissions.ts';
import {
  apiKeyCreateSchema,
  type ApiKeyCreateInput,
  type ApiKeyFilters,
} from '../domain/schemas/auth.schema.ts';
import { parseInput } from '../domain/validation.ts';
import type { ApiKeyPublic, ApiKeyRepository } from '../repositories/api-key.repository.ts';
import { TOUCH_INTERVAL_MS } from '../repositories/api-key.repository.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { MembershipRepository } from '../repositories/membership.repository.ts';
import type { RefreshToken, RefreshTokenRepository } from '../repositories/refresh-token.repository.ts';
import type { SessionRepository } from '../repositories/session.repository.ts';
import type { TenantRepository } from '../repositories/tenant.repository.ts';
import type { User, UserRepository } from '../repositories/user.repository.ts';
import type { ApiKeyCreated, AuthApi, LoginResult, RequestMeta, TokenPair } from './auth.types.ts';
import { hashPassword, needsRehash, verifyPassword } from './password.ts';

/** Too many attempts: HTTP 429. Local to authentication (src/domain/errors.ts has no class for it yet). */
export class RateLimitedError extends VigilError {
  readonly code = 'rate_limited' as const;
  readonly exitCode = 6;
  constructor(
    message: string,
    /** When to try again (HTTP Retry-After). */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

export type AuthConfig = Config['auth'] & { dataDir: string };

export interface AuthServiceDeps {
  db: Database;
  config: AuthConfig;
  users: UserRepository;
  memberships: MembershipRepository;
  tenants: TenantRepository;
  sessions: SessionRepository;
  auditLogs: AuditLogRepository;
  refreshTokens: RefreshTokenRepository;
  apiKeys: ApiKeyRepository;
  logger?: Pick<Logger, 'warn' | 'info' | 'debug'>;
  /** The clock (tests move it); default: the system clock. */
  now?: () => Date;
}

export const JWT_ISSUER = 'vigil';
export const JWT_SECRET_FILE = 'jwt-secret';
export const API_KEY_PREFIX = 'vgk_';

const INVALID_CREDENTIALS = 'invalid credentials';
/** A real argon2id hash at today's parameters, of a password nobody knows: unknown users cost the same. */
const DUMMY_HASH =
  '$argon2id$v=19$m=19456,p=1,t=2$o9ESNWCoYCe3lApSQ3X8Kw$ILvkHGvSrnai2urA/zsCTOlzub6QGQbkUP0R7H9VVkg';
/** A refresh token: 32 bytes, base64url without padding. */
const REFRESH_RE = /^[A-Za-z0-9_-]{43}$/;
/** `vgk_` + tenant id (32 hex, no dashes) + secret (32 bytes, base64url). */
const API_KEY_RE = /^vgk_([0-9a-f]{32})([A-Za-z0-9_-]{43})$/;
/** One cross-tenant audit row per user and tenant per this interval. */
const CROSS_TENANT_AUDIT_MS = 60_000;
/** Bounds on the in-memory tables (an attacker controls how many IPs or users they fill). */
const MAX_TRACKED_IPS = 100_000;
const MAX_TRACKED_CROSS = 10_000;

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const randomToken = (): string => randomBytes(32).toString('base64url');

/** An IP the audit trail accepts, or null (the audit schema rejects anything else, losing the row). */
function auditIp(ip: string | undefined): string | null {
  return ip && ip.length <= 45 && isIP(ip) !== 0 ? ip : null;
}

function uuidFromHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The HMAC secret for access tokens: `config.jwtSecret`, else the one kept in `<dataDir>/jwt-secret`
 * (created on first start: 32 random bytes, base64url, mode 0600; reused afterwards so restarts keep logins).
 */
export async function loadJwtSecret(
  config: { jwtSecret?: string | undefined; dataDir: string },
  logger?: Pick<Logger, 'warn' | 'info'>,
): Promise<Uint8Array> {
  if (config.jwtSecret) return new TextEncoder().encode(config.jwtSecret);
  const dir = resolve(config.dataDir);
  const path = join(dir, JWT_SECRET_FILE);
  const read = async (): Promise<Uint8Array> => {
    const secret = (await readFile(path, 'utf8')).trim();
    if (secret.length < 32) {
      throw new ConfigError(
        `${path} holds no usable secret (fewer than 32 characters): delete it to generate a new one ` +
          '(this signs everyone out) or set auth.jwtSecret',
        [{ path: 'auth.jwtSecret', message: 'the stored secret is too short' }],
      );
    }
    const mode = (await stat(path)).mode & 0o777;
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      logger?.warn({ path, mode: mode.toString(8) }, 'jwt secret file was readable by others: set to 0600');
      await chmod(path, 0o600);
    }
    return new TextEncoder().encode(secret);
  };
  try {
    return await read();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const secret = randomToken();
  try {
    // `wx`: never overwrite; a process that starts at the same moment reads the winner's secret.
    await writeFile(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return read();
    throw e;
  }
  await chmod(path, 0o600);
  logger?.info({ path }, 'generated a new jwt secret');
  return new TextEncoder().encode(secret);
}

interface TenantRef {
  id: string;
  slug: string;
  name: string;
  status: TenantStatus;
}

interface TenantChoice {
  tenant: TenantRef;
  role: MembershipRole | null;
}

export class AuthService implements AuthApi {
  readonly #d: AuthServiceDeps;
  readonly #cfg: AuthConfig;
  readonly #now: () => Date;
  #secret: Promise<Uint8Array> | undefined;
  /** Per-IP failure times (ms), oldest first; a Map keeps insertion order, which the eviction uses. */
  readonly #ipFailures = new Map<string, number[]>();
  /** `${userId}:${tenantId}` -> time of the last cross-tenant audit row. */
  readonly #crossAudited = new Map<string, number>();

  /** Synchronous: the secret is loaded on first use. Prefer `AuthService.create`, which loads it up front. */
  constructor(deps: AuthServiceDeps) {
    this.#d = deps;
    this.#cfg = deps.config;
    this.#now = deps.now ?? (() => new Date());
  }

  /** Build the service and load (or create) the JWT secret, so a bad data directory fails at start. */
  static async create(deps: AuthServiceDeps): Promise<AuthService> {
    const service = new AuthService(deps);
    await service.#key();
    return service;
  }

  #key(): Promise<Uint8Array> {
    this.#secret ??= loadJwtSecret(this.#cfg, this.#d.logger).catch((e: unknown) => {
      this.#secret = undefined;
      throw e;
    });
    return this.#secret;
  }

  // ---------------------------------------------------------------- login

  async login(login: string, password: string, meta: RequestMeta): Promise<LoginResult> {
    const at = this.#now();
    this.#assertIpAllowed(meta.ip, at);
    const name = typeof login === 'string' ? login.trim() : '';
    const pw = typeof password === 'string' ? password : '';
    const user = name && name.length <= 255 ? await this.#d.users.getByLogin(name) : undefined;

    if (!user) {
      await verifyPassword(pw, DUMMY_HASH);
      this.#noteIpFailure(meta.ip, at);
      this.#d.logger?.info({ ip: meta.ip }, 'login failed: unknown user');
      throw new UnauthorizedError(INVALID_CREDENTIALS);
    }

    if (user.lockedUntil && user.lockedUntil.getTime() > at.getTime()) {
      this.#noteIpFailure(meta.ip, at);
      await this.#auditLoginFailed(user, name, meta, 'locked');
      const retry = Math.ceil((user.lockedUntil.getTime() - at.getTime()) / 1000);
      throw new RateLimitedError(
        `account locked until ${user.lockedUntil.toISOString()} after too many failed logins`,
        retry,
      );
    }

    const ok = await verifyPassword(pw, user.passwordHash);
    if (!ok || !user.isActive) {
      this.#noteIpFailure(meta.ip, at);
      let reason = user.isActive ? 'bad_password' : 'inactive';
      if (user.isActive) {
        const failures = await this.#d.users.recordFailedLogin(user.id);
        // At the threshold (and at each failure after a lock has passed) the account locks again.
        if (failures >= this.#cfg.maxFailedLogins) {
          const lockedUntil = new Date(at.getTime() + this.#cfg.lockoutSeconds * 1000);
          await this.#d.users.update(user.id, { lockedUntil });
          reason = 'bad_password_locked';
          this.#d.logger?.warn({ userId: user.id, failures, lockedUntil }, 'account locked');
        }
      }
      await this.#auditLoginFailed(user, name, meta, reason);
      throw new UnauthorizedError(INVALID_CREDENTIALS);
    }

    if (needsRehash(user.passwordHash)) {
      try {
        await this.#d.users.update(user.id, { passwordHash: await hashPassword(pw) });
      } catch (e) {
        this.#d.logger?.warn({ err: e, userId: user.id }, 'password rehash failed; keeping the old hash');
      }
    }

    const choice = await this.#chooseLoginTenant(user, meta.tenant);
    const familyId = uuidv7();
    const pair = await this.#d.db.tx(async () => {
      await this.#d.users.recordLogin(user.id, at);
      const issued = await this.#issue(user.id, familyId, choice?.tenant.id ?? null, meta, at);
      if (choice) {
        await this.#d.auditLogs.create(choice.tenant.id, {
          userId: user.id,
          actor: user.username,
          action: 'login',
          resourceType: 'user',
          resourceId: user.id,
          details: {
            sessionFamily: familyId,
            ...(choice.role === null ? { crossTenant: true } : {}),
          },
          ipAddress: auditIp(meta.ip),
          userAgent: meta.userAgent ?? null,
          success: true,
        });
      }
      return issued;
    });
    return {
      ...pair,
      user: {
        id: user.id,
        username: user.username,
        email: user.email,
        displayName: user.displayName,
        platformRole: user.platformRole,
      },
      tenant: choice
        ? { id: choice.tenant.id, slug: choice.tenant.slug, name: choice.tenant.name, role: choice.role }
        : null,
    };
  }

  /**
   * The tenant a login works in: the requested one (id or slug) if the user may enter it, else the default
   * tenant, else the first membership (by slug), else none. A platform sre may enter any tenant.
   */
  async #chooseLoginTenant(user: User, requested: string | undefined): Promise<TenantChoice | null> {
    const sre = user.platformRole === 'sre';
    if (requested) {
      const t = await this.#d.tenants.getByRef(requested.trim().toLowerCase());
      if (t) {
        const m = await this.#d.memberships.get(t.id, user.id);
        if (sre || (m && t.status === 'active')) return { tenant: t, role: m?.role ?? null };
      }
    }
    const mine = (await this.#d.memberships.listForUser(user.id)).filter((m) => sre || m.status === 'active');
    const asChoice = (m: (typeof mine)[number]): TenantChoice => ({
      tenant: { id: m.tenantId, slug: m.slug, name: m.name, status: m.status },
      role: m.role,
    });
    if (user.defaultTenantId) {
      const m = mine.find((x) => x.tenantId === user.defaultTenantId);
      if (m) return asChoice(m);
      if (sre) {
        const t = await this.#d.tenants.get(user.defaultTenantId);
        if (t) return { tenant: t, role: null };
      }
    }
    return mine[0] ? asChoice(mine[0]) : null;
  }

  async #auditLoginFailed(user: User, given: string, meta: RequestMeta, reason: string): Promise<void> {
    let choice: TenantChoice | null;
    try {
      choice = await this.#chooseLoginTenant(user, meta.tenant);
    } catch {
      choice = null;
    }
    if (!choice) {
      this.#d.logger?.info({ userId: user.id, ip: meta.ip, reason }, 'login failed (no tenant to audit in)');
      return;
    }
    await this.#d.auditLogs.create(choice.tenant.id, {
      userId: user.id,
      actor: given.slice(0, 255),
      action: 'login_failed',
      resourceType: 'user',
      resourceId: user.id,
      details: { reason },
      ipAddress: auditIp(meta.ip),
      userAgent: meta.userAgent ?? null,
      success: false,
    });
  }

  // ---------------------------------------------------------------- per-IP throttle

  #recentFailures(ip: string, at: Date): number[] {
    const list = this.#ipFailures.get(ip);
    if (!list) return [];
    const from = at.getTime() - this.#cfg.ipWindowSeconds * 1000;
    while (list.length && list[0]! <= from) list.shift();
    if (!list.length) this.#ipFailures.delete(ip);
    return list;
  }

  #assertIpAllowed(ip: string | undefined, at: Date): void {
    if (!ip) return;
    const list = this.#recentFailures(ip, at);
    if (list.length >= this.#cfg.maxFailedLoginsPerIp) {
      const retry = Math.max(
        1,
        Math.ceil((list[0]! + this.#cfg.ipWindowSeconds * 1000 - at.getTime()) / 1000),
      );
      throw new RateLimitedError('too many failed logins from this address; try again later', retry);
    }
  }

  #noteIpFailure(ip: string | undefined, at: Date): void {
    if (!ip) return;
    const list = this.#recentFailures(ip, at);
    list.push(at.getTime());
    // Keep no more than the threshold needs; re-insert so the Map's order is least recently failed first.
    while (list.length > this.#cfg.maxFailedLoginsPerIp) list.shift();
    this.#ipFailures.delete(ip);
    this.#ipFailures.set(ip, list);
    while (this.#ipFailures.size > MAX_TRACKED_IPS) {
      const oldest = this.#ipFailures.keys().next().value;
      if (oldest === undefined) break;
      this.#ipFailures.delete(oldest);
    }
  }

  // ---------------------------------------------------------------- tokens

  async #accessToken(userId: string, familyId: string, at: Date): Promise<string> {
    const iat = Math.floor(at.getTime() / 1000);
    return new SignJWT({ sid: familyId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(JWT_ISSUER)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.#cfg.accessTtlSeconds)
      .sign(await this.#key());
  }

  /** A new access token and a new refresh token (stored hashed) of `familyId`. */
  async #issue(
    userId: string,
    familyId: string,
    tenantId: string | null,
    meta: RequestMeta,
    at: Date,
    id?: string,
  ): Promise<TokenPair> {
    const refreshToken = randomToken();
    await this.#d.refreshTokens.create({
      ...(id ? { id } : {}),
      userId,
      familyId,
      tokenHash: sha256(refreshToken),
      tenantId,
      expiresAt: new Date(at.getTime() + this.#cfg.refreshTtlSeconds * 1000),
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
    return {
      tokenType: 'Bearer',
      accessToken: await this.#accessToken(userId, familyId, at),
      expiresIn: this.#cfg.accessTtlSeconds,
      refreshToken,
      refreshExpiresIn: this.#cfg.refreshTtlSeconds,
    };
  }

  async refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair> {
    const at = this.#now();
    if (typeof refreshToken !== 'string' || !REFRESH_RE.test(refreshToken)) {
      throw new UnauthorizedError('invalid refresh token');
    }
    const row = await this.#d.refreshTokens.getByHash(sha256(refreshToken));
    if (!row) throw new UnauthorizedError('invalid refresh token');
    if (row.revokedAt) throw new UnauthorizedError('refresh token revoked');
    if (row.replacedBy) return this.#reused(row, meta);
    if (row.expiresAt.getTime() <= at.getTime()) throw new UnauthorizedError('refresh token expired');
    const user = await this.#d.users.get(row.userId);
    if (!user || !user.isActive) throw new UnauthorizedError('invalid refresh token');

    const nextId = uuidv7();
    const pair = await this.#d.db.tx(async () => {
      // Conditional: of two refreshes racing with one token, exactly one rotates.
      if (!(await this.#d.refreshTokens.markReplaced(row.id, nextId))) return undefined;
      return this.#issue(row.userId, row.familyId, row.tenantId, meta, at, nextId);
    });
    return pair ?? this.#reused(row, meta);
  }

  /** A replaced refresh token came back: someone holds a stolen copy. End the whole login. */
  async #reused(row: RefreshToken, meta: RequestMeta): Promise<never> {
    const user = await this.#d.users.get(row.userId);
    const tenantId = row.tenantId ?? user?.defaultTenantId ?? null;
    const revoked = await this.#d.db.tx(async () => {
      const n = await this.#d.refreshTokens.revokeFamily(row.familyId);
      if (tenantId) {
        await this.#d.auditLogs.create(tenantId, {
          userId: row.userId,
          actor: user?.username ?? null,
          action: 'token_refresh',
          resourceType: 'refresh_token',
          resourceId: row.familyId,
          description: 'a replaced refresh token was presented again: the login was revoked',
          details: { reason: 'refresh_token_reuse', sessionFamily: row.familyId, revokedTokens: n },
          ipAddress: auditIp(meta.ip),
          userAgent: meta.userAgent ?? null,
          success: false,
        });
      }
      return n;
    });
    this.#d.logger?.warn(
      { userId: row.userId, familyId: row.familyId, revoked, ip: meta.ip },
      'refresh token reuse: login revoked',
    );
    throw new UnauthorizedError('refresh token reuse detected: the login was revoked');
  }

  async logout(principal: Principal, meta: RequestMeta, opts: { endSessions?: boolean } = {}): Promise<void> {
    if (principal.kind !== 'user')
      throw new ForbiddenError('an API key has no login; revoke the key instead');
    await this.#d.db.tx(async () => {
      const revoked = principal.sessionFamily
        ? await this.#d.refreshTokens.revokeFamily(principal.sessionFamily, principal.id)
        : 0;
      if (!principal.tenantId) return;
      const endedSessions = opts.endSessions
        ? await this.#d.sessions.endAllForUser(principal.tenantId, principal.id)
        : 0;
      await this.#d.auditLogs.create(principal.tenantId, {
        userId: principal.id,
        actor: principal.name,
        action: 'logout',
        resourceType: 'user',
        resourceId: principal.id,
        details: {
          sessionFamily: principal.sessionFamily ?? null,
          revokedTokens: revoked,
          ...(opts.endSessions ? { endedSessions } : {}),
        },
        ipAddress: auditIp(meta.ip),
        userAgent: meta.userAgent ?? null,
        success: true,
      });
    });
  }

  // ---------------------------------------------------------------- request authentication

  async authenticateBearer(token: string, meta: RequestMeta): Promise<Principal> {
    const at = this.#now();
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      throw new UnauthorizedError('invalid access token');
    }
    let sub: string;
    let sid: string;
    try {
      const { payload } = await jwtVerify(token, await this.#key(), {
        issuer: JWT_ISSUER,
        algorithms: ['HS256'],
        currentDate: at,
        requiredClaims: ['sub', 'sid', 'iat', 'exp'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string') throw new Error('bad claims');
      sub = payload.sub;
      sid = payload.sid;
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw new UnauthorizedError('access token expired');
      throw new UnauthorizedError('invalid access token');
    }
    if (!isUuid(sub) || !isUuid(sid)) throw new UnauthorizedError('invalid access token');

    // One check per request, in one transaction: user, login, tenant, membership (and the sre audit row).
    return this.#d.db.tx(async () => {
      const user = await this.#d.users.get(sub);
      if (!user || !user.isActive) throw new UnauthorizedError('invalid access token');
      const family = await this.#d.refreshTokens.getActiveFamily(sid, at);
      if (!family || family.userId !== user.id) throw new UnauthorizedError('the login has ended');

      const sre = user.platformRole === 'sre';
      const ref = meta.tenant?.trim() || family.tenantId || user.defaultTenantId;
      let tenantId: string | null = null;
      let role: MembershipRole | null = null;
      let crossTenant = false;
      if (ref) {
        const tenant = await this.#d.tenants.getByRef(ref.toLowerCase());
        if (!tenant) {
          if (sre) throw new NotFoundError('tenant', ref);
          throw new ForbiddenError(`not a member of tenant ${ref}`);
        }
        const m = await this.#d.memberships.get(tenant.id, user.id);
        if (!m && !sre) throw new ForbiddenError(`not a member of tenant ${ref}`);
        if (!sre && tenant.status !== 'active')
          throw new ForbiddenError(`tenant ${tenant.slug} is ${tenant.status}`);
        tenantId = tenant.id;
        role = m?.role ?? null;
        crossTenant = !m;
        if (crossTenant) await this.#auditCrossTenant(user, tenant, meta, at);
      }
      return {
        kind: 'user',
        id: user.id,
        name: user.username,
        platformRole: user.platformRole,
        tenantId,
        role,
        permissions: permissionsFor(role, user.platformRole),
        crossTenant,
        sessionFamily: sid,
      } satisfies Principal;
    });
  }

  async #auditCrossTenant(user: User, tenant: TenantRef, meta: RequestMeta, at: Date): Promise<void> {
    const key = `${user.id}:${tenant.id}`;
    const last = this.#crossAudited.get(key);
    if (last !== undefined && at.getTime() - last < CROSS_TENANT_AUDIT_MS) return;
    await this.#d.auditLogs.create(tenant.id, {
      userId: user.id,
      actor: user.username,
      action: 'cross_tenant_access',
      resourceType: 'tenant',
      resourceId: tenant.id,
      description: `platform ${user.platformRole} ${user.username} acted in tenant ${tenant.slug}`,
      details: { platformRole: user.platformRole, tenant: tenant.slug },
      ipAddress: auditIp(meta.ip),
      userAgent: meta.userAgent ?? null,
      success: true,
    });
    this.#crossAudited.delete(key);
    this.#crossAudited.set(key, at.getTime());
    if (this.#crossAudited.size > MAX_TRACKED_CROSS) {
      for (const [k, t] of this.#crossAudited) {
        if (at.getTime() - t >= CROSS_TENANT_AUDIT_MS || this.#crossAudited.size > MAX_TRACKED_CROSS) {
          this.#crossAudited.delete(k);
        } else break;
      }
    }
  }

  async authenticateApiKey(key: string, meta: RequestMeta): Promise<Principal> {
    const at = this.#now();
    const m = typeof key === 'string' ? API_KEY_RE.exec(key) : null;
    if (!m) throw new UnauthorizedError('invalid API key');
    const tenantId = uuidFromHex(m[1]!);
    // The key names its tenant; it is looked up inside that tenant only (row-level security), in one read.
    const { tenant, row } = await this.#d.db.tenant(tenantId, async () => {
      const found = await this.#d.tenants.get(tenantId);
      return {
        tenant: found,
        row: found ? await this.#d.apiKeys.getByHash(tenantId, sha256(key)) : undefined,
      };
    });
    if (!tenant || !row) throw new UnauthorizedError('invalid API key');
    if (row.revokedAt) throw new UnauthorizedError('API key revoked');
    if (row.expiresAt && row.expiresAt.getTime() <= at.getTime())
      throw new UnauthorizedError('API key expired');

    const wanted = meta.tenant?.trim().toLowerCase();
    if (wanted && wanted !== tenant.id && wanted !== tenant.slug) {
      throw new ForbiddenError(`this API key belongs to another tenant than ${meta.tenant}`);
    }
    if (tenant.status !== 'active') throw new ForbiddenError(`tenant ${tenant.slug} is ${tenant.status}`);

    if (!row.lastUsedAt || at.getTime() - row.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) {
      try {
        await this.#d.apiKeys.touch(tenantId, row.id, at);
      } catch (e) {
        // Bookkeeping only: a failed stamp must not refuse a valid key.
        this.#d.logger?.warn({ err: e, apiKeyId: row.id }, 'could not stamp api key last_used_at');
      }
    }
    const allowed = new Set<Permission>(API_KEY_PERMISSIONS);
    return {
      kind: 'api_key',
      id: row.id,
      name: `api-key:${row.name}`,
      platformRole: 'user',
      tenantId,
      role: null,
      permissions: new Set(row.permissions.filter((p): p is Permission => allowed.has(p as Permission))),
      crossTenant: false,
    };
  }

  // ---------------------------------------------------------------- API key management (routes)

  #tenantOf(principal: Principal, permission: Permission): string {
    if (!principal.tenantId) {
      throw new ValidationError('no tenant selected (X-Tenant)', [
        { path: 'tenant', message: 'choose a tenant' },
      ]);
    }
    if (!principal.permissions.has(permission)) throw new ForbiddenError(`missing permission ${permission}`);
    return principal.tenantId;
  }

  /** A new key for the principal's tenant. The key is in the answer once and is never stored. */
  async createApiKey(
    principal: Principal,
    input: ApiKeyCreateInput,
    meta: RequestMeta = {},
  ): Promise<ApiKeyCreated> {
    const tenantId = this.#tenantOf(principal, 'api_keys:write');
    if (principal.kind !== 'user') throw new ForbiddenError('an API key cannot create API keys');
    const v = parseInput(apiKeyCreateSchema, input, 'API key');
    const missing = v.permissions.filter((p) => !principal.permissions.has(p));
    if (missing.length) {
      throw new ForbiddenError(`cannot give an API key permissions you do not hold: ${missing.join(', ')}`);
    }
    const expiresAt = v.expiresAt ?? null;
    if (expiresAt && expiresAt.getTime() <= this.#now().getTime()) {
      throw new ValidationError('invalid API key: expiresAt must lie in the future', [
        { path: 'expiresAt', message: 'must lie in the future' },
      ]);
    }
    const secret = randomToken();
    const key = `${API_KEY_PREFIX}${tenantId.replaceAll('-', '')}${secret}`;
    // The tenant part is the same for every key of a tenant: the prefix shows the secret's first characters.
    const prefix = `${API_KEY_PREFIX}${secret.slice(0, 8)}`;
    return this.#d.db.tenant(tenantId, async () => {
      const row = await this.#d.apiKeys.create(tenantId, {
        name: v.name,
        prefix,
        keyHash: sha256(key),
        permissions: v.permissions,
        createdBy: principal.id,
        expiresAt,
      });
      await this.#d.auditLogs.create(tenantId, {
        userId: principal.id,
        actor: principal.name,
        action: 'create',
        resourceType: 'api_key',
        resourceId: row.id,
        details: { name: row.name, prefix, permissions: v.permissions, expiresAt },
        ipAddress: auditIp(meta.ip),
        userAgent: meta.userAgent ?? null,
        success: true,
      });
      return {
        id: row.id,
        name: row.name,
        prefix,
        permissions: v.permissions,
        expiresAt: row.expiresAt,
        key,
      };
    });
  }

  async listApiKeys(
    principal: Principal,
    opts: ListOptions<ApiKeyFilters> = {},
  ): Promise<Page<ApiKeyPublic>> {
    const tenantId = this.#tenantOf(principal, 'api_keys:read');
    return this.#d.apiKeys.list(tenantId, opts);
  }

  /** Revoke a key of the principal's tenant: it stops working at once. */
  async revokeApiKey(principal: Principal, id: string, meta: RequestMeta = {}): Promise<ApiKeyPublic> {
    const tenantId = this.#tenantOf(principal, 'api_keys:write');
    return this.#d.db.tenant(tenantId, async () => {
      const before = await this.#d.apiKeys.get(tenantId, id);
      if (!before) throw new NotFoundError('api_key', id);
      const row = await this.#d.apiKeys.revoke(tenantId, id);
      if (!before.revokedAt) {
        await this.#d.auditLogs.create(tenantId, {
          userId: principal.kind === 'user' ? principal.id : null,
          actor: principal.name,
          action: 'delete',
          resourceType: 'api_key',
          resourceId: row.id,
          description: `revoked API key ${row.name}`,
          details: { name: row.name, prefix: row.prefix },
          ipAddress: auditIp(meta.ip),
          userAgent: meta.userAgent ?? null,
          success: true,
        });
      }
      return row;
    });
  }
}
