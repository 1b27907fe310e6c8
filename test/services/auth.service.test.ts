import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import argon2 from 'argon2';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError, ValidationError } from '../../src/domain/errors.ts';
import type { MembershipRole, PlatformRole } from '../../src/domain/enums.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import type { Principal } from '../../src/domain/permissions.ts';
import { ApiKeyRepository } from '../../src/repositories/api-key.repository.ts';
import { AuditLogRepository, type AuditLog } from '../../src/repositories/audit-log.repository.ts';
import { MembershipRepository } from '../../src/repositories/membership.repository.ts';
import { RefreshTokenRepository } from '../../src/repositories/refresh-token.repository.ts';
import { SessionRepository } from '../../src/repositories/session.repository.ts';
import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import { UserRepository, type PublicUser } from '../../src/repositories/user.repository.ts';
import {
  AuthService,
  JWT_SECRET_FILE,
  loadJwtSecret,
  RateLimitedError,
  type AuthConfig,
} from '../../src/services/auth.service.ts';
import { hashPassword } from '../../src/services/password.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const SECRET = 'test-secret-test-secret-test-secret-0123456789';
const CONFIG: AuthConfig = {
  jwtSecret: SECRET,
  accessTtlSeconds: 900,
  refreshTtlSeconds: 3600,
  maxFailedLogins: 3,
  lockoutSeconds: 300,
  maxFailedLoginsPerIp: 5,
  ipWindowSeconds: 60,
  dataDir: '/nonexistent-never-used',
};

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let seq = 0;
/** A fresh IP per test keeps the per-IP throttle of one test out of the others. */
const nextIp = () => {
  seq += 1;
  return `198.51.100.${seq}`;
};

describe.each(engines())('AuthService on %s', (engine) => {
  let t: TestDb;
  let users: UserRepository;
  let memberships: MembershipRepository;
  let tenants: TenantRepository;
  let sessions: SessionRepository;
  let auditLogs: AuditLogRepository;
  let refreshTokens: RefreshTokenRepository;
  let apiKeys: ApiKeyRepository;
  let auth: AuthService;
  let a: Tenant;
  let b: Tenant;
  let c: Tenant;
  /** The service's clock runs `offsetMs` ahead of the wall clock. */
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  let passwordHash: string;
  const PASSWORD = 'correct horse battery staple';

  let n = 0;
  async function makeUser(
    opts: {
      tenant?: Tenant | null;
      role?: MembershipRole;
      platformRole?: PlatformRole;
      isActive?: boolean;
      also?: [Tenant, MembershipRole][];
    } = {},
  ): Promise<PublicUser> {
    n += 1;
    const tag = `u${n}-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    const tenant = opts.tenant === undefined ? a : opts.tenant;
    const u = await users.create({
      username: tag,
      email: `${tag}@Example.com`,
      passwordHash,
      platformRole: opts.platformRole ?? 'user',
      isActive: opts.isActive ?? true,
      defaultTenantId: tenant?.id ?? null,
    });
    if (tenant) await memberships.add(tenant.id, u.id, opts.role ?? 'analyst');
    for (const [x, r] of opts.also ?? []) await memberships.add(x.id, u.id, r);
    return u;
  }

  async function auditRows(tenant: Tenant, userId?: string): Promise<AuditLog[]> {
    const page = await auditLogs.list(tenant.id, { limit: 500, ...(userId ? { filters: { userId } } : {}) });
    return page.items;
  }

  beforeAll(async () => {
    t = await createTestDb(engine);
    users = new UserRepository(t.db);
    memberships = new MembershipRepository(t.db);
    tenants = new TenantRepository(t.db);
    sessions = new SessionRepository(t.db);
    auditLogs = new AuditLogRepository(t.db);
    refreshTokens = new RefreshTokenRepository(t.db);
    apiKeys = new ApiKeyRepository(t.db);
    auth = await AuthService.create({
      db: t.db,
      config: CONFIG,
      users,
      memberships,
      tenants,
      sessions,
      auditLogs,
      refreshTokens,
      apiKeys,
      now,
    });
    a = await makeTenant(t.db, 'Acme');
    b = await makeTenant(t.db, 'Beta');
    c = await makeTenant(t.db, 'Gamma');
    passwordHash = await hashPassword(PASSWORD);
  });
  afterAll(async () => t?.dispose());
  afterEach(() => {
    offsetMs = 0;
  });

  describe('login', () => {
    it('accepts a username or an e-mail, case-insensitively, and stamps last_login', async () => {
      // Everything below runs as the non-owner role, under row-level security.
      expect(await t.db.effectiveAppRole()).toBe('vigil_app');
      const u = await makeUser();
      const ip = nextIp();
      const r1 = await auth.login(u.username.toUpperCase(), PASSWORD, { ip, userAgent: 'vitest' });
      expect(r1).toMatchObject({
        tokenType: 'Bearer',
        expiresIn: 900,
        refreshExpiresIn: 3600,
        user: { id: u.id, username: u.username, email: u.email, platformRole: 'user' },
        tenant: { id: a.id, slug: a.slug, name: a.name, role: 'analyst' },
      });
      expect(r1.accessToken.split('.')).toHaveLength(3);
      expect(r1.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const r2 = await auth.login(` ${u.email.toLowerCase()} `, PASSWORD, { ip });
      expect(r2.user.id).toBe(u.id);
      expect(r2.refreshToken).not.toBe(r1.refreshToken);

      const stored = await users.get(u.id);
      expect(stored?.lastLogin).toBeInstanceOf(Date);
      expect(stored?.failedLoginCount).toBe(0);

      // The refresh token is stored only as its hash, with the chosen tenant.
      const rows = await t.db.query<{ token_hash: string; tenant_id: string; user_agent: string | null }>(
        'select token_hash, tenant_id, user_agent from refresh_tokens where user_id = $1',
        [u.id],
      );
      expect(rows).toHaveLength(2);
      expect(rows.map((r) => r.token_hash).sort()).toEqual(
        [sha256(r1.refreshToken), sha256(r2.refreshToken)].sort(),
      );
      expect(JSON.stringify(rows)).not.toContain(r1.refreshToken);
      expect(rows.every((r) => r.tenant_id === a.id)).toBe(true);

      const logins = (await auditRows(a, u.id)).filter((r) => r.action === 'login');
      expect(logins).toHaveLength(2);
      expect(logins[0]).toMatchObject({ actor: u.username, success: true, resourceType: 'user' });
      expect(logins.some((r) => r.ipAddress === ip && r.userAgent === 'vitest')).toBe(true);
    });

    it('gives one answer for a wrong password, an unknown user and an inactive user', async () => {
      const active = await makeUser();
      const inactive = await makeUser({ isActive: false });
      const ip = nextIp();
      const attempts = [
        () => auth.login(active.username, 'wrong password entirely', { ip }),
        () => auth.login(`nobody-${uuidv7()}`, PASSWORD, { ip }),
        () => auth.login(inactive.username, PASSWORD, { ip }),
        () => auth.login('', PASSWORD, { ip }),
      ];
      for (const attempt of attempts) {
        const e = await attempt().catch((err: unknown) => err);
        expect(e).toBeInstanceOf(UnauthorizedError);
        expect((e as Error).message).toBe('invalid credentials');
      }
      // Only a wrong password counts against the account.
      expect((await users.get(active.id))?.failedLoginCount).toBe(1);
      expect((await users.get(inactive.id))?.failedLoginCount).toBe(0);
    });

    it('audits failures with the login given, the address and no password', async () => {
      const u = await makeUser();
      const ip = nextIp();
      const secretGuess = 'Sup3r-Secret-Guess-!';
      await expect(auth.login(u.email, secretGuess, { ip, userAgent: 'curl/8' })).rejects.toThrow(
        UnauthorizedError,
      );
      await auth.login(u.username, PASSWORD, { ip, userAgent: 'curl/8' });
      const rows = await auditRows(a, u.id);
      const failed = rows.filter((r) => r.action === 'login_failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({
        userId: u.id,
        actor: u.email,
        success: false,
        ipAddress: ip,
        userAgent: 'curl/8',
      });
      const all = JSON.stringify(await auditRows(a));
      expect(all).not.toContain(secretGuess);
      expect(all).not.toContain(PASSWORD);
      expect(all).not.toContain(passwordHash);
    });

    it('locks the account after maxFailedLogins, even against the right password, until locked_until', async () => {
      const u = await makeUser();
      for (let i = 0; i < CONFIG.maxFailedLogins; i++) {
        await expect(auth.login(u.username, `wrong-${i}`, { ip: nextIp() })).rejects.toBeInstanceOf(
          UnauthorizedError,
        );
      }
      const locked = await users.get(u.id);
      expect(locked?.failedLoginCount).toBe(CONFIG.maxFailedLogins);
      expect(locked?.lockedUntil).toBeInstanceOf(Date);
      expect(locked!.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 290_000);

      const refused = await auth.login(u.username, PASSWORD, { ip: nextIp() }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RateLimitedError);
      expect(refused).toMatchObject({ code: 'rate_limited' });
      expect((refused as Error).message).toMatch(/^account locked until /);
      expect((refused as RateLimitedError).retryAfterSeconds).toBeGreaterThan(0);

      offsetMs = (CONFIG.lockoutSeconds + 1) * 1000;
      const ok = await auth.login(u.username, PASSWORD, { ip: nextIp() });
      expect(ok.user.id).toBe(u.id);
      const after = await users.get(u.id);
      expect(after).toMatchObject({ failedLoginCount: 0, lockedUntil: null });
      const reasons = (await auditRows(a, u.id))
        .filter((r) => r.action === 'login_failed')
        .map((r) => r.details?.reason);
      expect(reasons).toContain('locked');
      expect(reasons).toContain('bad_password_locked');
    });

    it('rehashes a password stored at weaker parameters after a good login', async () => {
      const u = await makeUser();
      const weak = await argon2.hash(PASSWORD, { type: argon2.argon2id, memoryCost: 4096, timeCost: 1 });
      await users.update(u.id, { passwordHash: weak });
      await auth.login(u.username, PASSWORD, { ip: nextIp() });
      const after = (await users.get(u.id))!.passwordHash;
      expect(after).not.toBe(weak);
      expect(after).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
      await expect(auth.login(u.username, PASSWORD, { ip: nextIp() })).resolves.toMatchObject({
        user: { id: u.id },
      });
    });

    it('throttles an address after maxFailedLoginsPerIp failures within the window', async () => {
      const u = await makeUser();
      const ip = nextIp();
      for (let i = 0; i < CONFIG.maxFailedLoginsPerIp; i++) {
        await expect(auth.login(`ghost-${i}-${uuidv7()}`, 'whatever', { ip })).rejects.toBeInstanceOf(
          UnauthorizedError,
        );
      }
      // Even the right password is refused from this address...
      await expect(auth.login(u.username, PASSWORD, { ip })).rejects.toBeInstanceOf(RateLimitedError);
      // ...but not from another one,
      await expect(auth.login(u.username, PASSWORD, { ip: nextIp() })).resolves.toMatchObject({
        user: { id: u.id },
      });
      // and not once the window has slid past the failures.
      offsetMs = (CONFIG.ipWindowSeconds + 1) * 1000;
      await expect(auth.login(u.username, PASSWORD, { ip })).resolves.toMatchObject({ user: { id: u.id } });
    });

    it('chooses the requested tenant when the user may enter it, else the default one', async () => {
      const u = await makeUser({ also: [[b, 'viewer']] });
      const ip = nextIp();
      expect((await auth.login(u.username, PASSWORD, { ip, tenant: b.slug })).tenant).toMatchObject({
        id: b.id,
        role: 'viewer',
      });
      expect((await auth.login(u.username, PASSWORD, { ip, tenant: b.id })).tenant?.id).toBe(b.id);
      // Not a member of c: the default tenant.
      expect((await auth.login(u.username, PASSWORD, { ip, tenant: c.slug })).tenant?.id).toBe(a.id);
      // No default tenant: the first membership; no membership at all: none.
      const lone = await makeUser({ tenant: null, also: [[b, 'admin']] });
      expect((await auth.login(lone.username, PASSWORD, { ip })).tenant).toMatchObject({
        id: b.id,
        role: 'admin',
      });
      const nowhere = await makeUser({ tenant: null });
      const r = await auth.login(nowhere.username, PASSWORD, { ip });
      expect(r.tenant).toBeNull();
      const p = await auth.authenticateBearer(r.accessToken, {});
      expect(p).toMatchObject({ tenantId: null, role: null });
    });
  });

  describe('refresh', () => {
    it('rotates: the old refresh token stops working', async () => {
      const u = await makeUser();
      const ip = nextIp();
      const first = await auth.login(u.username, PASSWORD, { ip });
      const second = await auth.refresh(first.refreshToken, { ip });
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(second.tokenType).toBe('Bearer');
      const p = await auth.authenticateBearer(second.accessToken, {});
      expect(p).toMatchObject({ id: u.id, tenantId: a.id });
      const third = await auth.refresh(second.refreshToken, { ip });
      expect(third.refreshToken).not.toBe(second.refreshToken);

      const old = await refreshTokens.getByHash(sha256(first.refreshToken));
      expect(old?.replacedBy).toBeTruthy();
      await expect(auth.refresh('x'.repeat(43), { ip })).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(auth.refresh('short', { ip })).rejects.toBeInstanceOf(UnauthorizedError);
    });

    it('treats a replayed token as theft: the whole login is revoked, access tokens too', async () => {
      const u = await makeUser();
      const ip = nextIp();
      const first = await auth.login(u.username, PASSWORD, { ip });
      const second = await auth.refresh(first.refreshToken, { ip });
      await expect(auth.authenticateBearer(second.accessToken, {})).resolves.toMatchObject({ id: u.id });

      const reuse = await auth.refresh(first.refreshToken, { ip: '203.0.113.66' }).catch((e: unknown) => e);
      expect(reuse).toBeInstanceOf(UnauthorizedError);
      expect((reuse as Error).message).toMatch(/reuse/);
      // The legitimate holder's newer tokens stop working as well.
      await expect(auth.refresh(second.refreshToken, { ip })).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(auth.authenticateBearer(second.accessToken, {})).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(auth.authenticateBearer(first.accessToken, {})).rejects.toBeInstanceOf(UnauthorizedError);

      const rows = (await auditRows(a, u.id)).filter((r) => r.action === 'token_refresh');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ success: false, ipAddress: '203.0.113.66' });
      expect(rows[0]?.details).toMatchObject({ reason: 'refresh_token_reuse' });
      // Another login of the same user is untouched.
      const other = await auth.login(u.username, PASSWORD, { ip });
      await expect(auth.refresh(other.refreshToken, { ip })).resolves.toMatchObject({ tokenType: 'Bearer' });
    });

    it('refuses an expired refresh token and an inactive user', async () => {
      const u = await makeUser();
      const ip = nextIp();
      const r = await auth.login(u.username, PASSWORD, { ip });
      offsetMs = (CONFIG.refreshTtlSeconds + 1) * 1000;
      await expect(auth.refresh(r.refreshToken, { ip })).rejects.toThrow(/expired/);
      offsetMs = 0;
      const r2 = await auth.login(u.username, PASSWORD, { ip });
      await users.update(u.id, { isActive: false });
      await expect(auth.refresh(r2.refreshToken, { ip })).rejects.toBeInstanceOf(UnauthorizedError);
    });
  });

  describe('logout and revocation', () => {
    it('revokes the login: the access token stops working at once', async () => {
      const u = await makeUser();
      const ip = nextIp();
      const r = await auth.login(u.username, PASSWORD, { ip });
      const keep = await auth.login(u.username, PASSWORD, { ip });
      const p = await auth.authenticateBearer(r.accessToken, {});
      expect(p.sessionFamily).toBeTruthy();
      const s = await sessions.create(a.id, { userId: u.id, title: 'triage' });

      await auth.logout(p, { ip, userAgent: 'ua' });
      await expect(auth.authenticateBearer(r.accessToken, {})).rejects.toThrow(/login has ended/);
      await expect(auth.refresh(r.refreshToken, { ip })).rejects.toBeInstanceOf(UnauthorizedError);
      // The other login and the working session survive a plain logout.
      const p2 = await auth.authenticateBearer(keep.accessToken, {});
      expect((await sessions.get(a.id, s.id))?.isActive).toBe(true);

      await auth.logout(p2, { ip }, { endSessions: true });
      expect((await sessions.get(a.id, s.id))?.isActive).toBe(false);
      const logouts = (await auditRows(a, u.id)).filter((x) => x.action === 'logout');
      expect(logouts).toHaveLength(2);
      expect(logouts.find((x) => x.ipAddress === ip && x.userAgent === 'ua')).toBeTruthy();
    });

    it('refuses at once a deactivated user and a removed membership', async () => {
      const u = await makeUser();
      const v = await makeUser();
      const ip = nextIp();
      const ru = await auth.login(u.username, PASSWORD, { ip });
      const rv = await auth.login(v.username, PASSWORD, { ip });
      await auth.authenticateBearer(ru.accessToken, {});
      await users.update(u.id, { isActive: false });
      await expect(auth.authenticateBearer(ru.accessToken, {})).rejects.toBeInstanceOf(UnauthorizedError);

      await auth.authenticateBearer(rv.accessToken, {});
      await memberships.remove(a.id, v.id);
      await expect(auth.authenticateBearer(rv.accessToken, {})).rejects.toBeInstanceOf(ForbiddenError);
    });

    it('refuses a tampered, foreign, unsigned or expired access token', async () => {
      const u = await makeUser();
      const r = await auth.login(u.username, PASSWORD, { ip: nextIp() });
      const [h, payload, sig] = r.accessToken.split('.') as [string, string, string];
      const flipped = `${h}.${payload}.${sig.slice(0, -2)}${sig.endsWith('AA') ? 'BB' : 'AA'}`;
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      expect(claims).toMatchObject({ sub: u.id, iss: 'vigil' });
      expect(typeof claims.sid).toBe('string');
      expect(Number(claims.exp) - Number(claims.iat)).toBe(CONFIG.accessTtlSeconds);
      const other = await makeUser();
      const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: other.id })).toString('base64url');
      const unsigned = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
      const foreign = await new SignJWT({ sid: claims.sid as string })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(u.id)
        .setIssuer('vigil')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
      for (const bad of [flipped, `${h}.${forgedPayload}.${sig}`, unsigned, foreign, 'garbage', '']) {
        await expect(auth.authenticateBearer(bad, {})).rejects.toBeInstanceOf(UnauthorizedError);
      }
      await expect(auth.authenticateBearer(r.accessToken, {})).resolves.toMatchObject({ id: u.id });
      offsetMs = (CONFIG.accessTtlSeconds + 1) * 1000;
      await expect(auth.authenticateBearer(r.accessToken, {})).rejects.toThrow(/expired/);
    });
  });

  it('signs with a generated secret kept in the data directory, valid after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-auth-'));
    try {
      const deps = {
        db: t.db,
        users,
        memberships,
        tenants,
        sessions,
        auditLogs,
        refreshTokens,
        apiKeys,
        now,
      };
      const config = { ...CONFIG, jwtSecret: undefined, dataDir };
      const first = await AuthService.create({ ...deps, config });
      const u = await makeUser();
      const r = await first.login(u.username, PASSWORD, { ip: nextIp() });
      const restarted = await AuthService.create({ ...deps, config });
      await expect(restarted.authenticateBearer(r.accessToken, {})).resolves.toMatchObject({ id: u.id });
      // The test service (configured secret) does not accept it.
      await expect(auth.authenticateBearer(r.accessToken, {})).rejects.toBeInstanceOf(UnauthorizedError);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  describe('tenants', () => {
    it('acts in the tenant named by X-Tenant (id or slug) and refuses a non-member', async () => {
      const u = await makeUser({ role: 'admin', also: [[b, 'viewer']] });
      const r = await auth.login(u.username, PASSWORD, { ip: nextIp() });
      const def = await auth.authenticateBearer(r.accessToken, {});
      expect(def).toMatchObject({ kind: 'user', tenantId: a.id, role: 'admin', crossTenant: false });
      expect(def.permissions.has('users:write')).toBe(true);
      const inB = await auth.authenticateBearer(r.accessToken, { tenant: b.slug });
      expect(inB).toMatchObject({ tenantId: b.id, role: 'viewer', name: u.username });
      expect(inB.permissions.has('users:write')).toBe(false);
      expect(inB.permissions.has('alerts:read')).toBe(true);
      expect((await auth.authenticateBearer(r.accessToken, { tenant: b.id })).tenantId).toBe(b.id);

      const e = await auth.authenticateBearer(r.accessToken, { tenant: c.slug }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ForbiddenError);
      expect((e as Error).message).toBe(`not a member of tenant ${c.slug}`);
      await expect(
        auth.authenticateBearer(r.accessToken, { tenant: 'no-such-tenant' }),
      ).rejects.toBeInstanceOf(ForbiddenError);
    });

    it('lets a platform sre read any tenant, auditing each cross-tenant access (once a minute)', async () => {
      const sre = await makeUser({ platformRole: 'sre' });
      const ip = nextIp();
      const r = await auth.login(sre.username, PASSWORD, { ip });
      const own = await auth.authenticateBearer(r.accessToken, {});
      expect(own).toMatchObject({ tenantId: a.id, crossTenant: false, role: 'analyst' });

      const p = await auth.authenticateBearer(r.accessToken, { tenant: c.slug, ip, userAgent: 'ops' });
      expect(p).toMatchObject({ tenantId: c.id, role: null, crossTenant: true, platformRole: 'sre' });
      expect(p.permissions.has('incidents:read')).toBe(true);
      expect(p.permissions.has('incidents:write')).toBe(false);
      await auth.authenticateBearer(r.accessToken, { tenant: c.slug, ip });
      const rows = () =>
        auditRows(c, sre.id).then((x) => x.filter((y) => y.action === 'cross_tenant_access'));
      expect(await rows()).toHaveLength(1);
      expect((await rows())[0]).toMatchObject({ actor: sre.username, ipAddress: ip, userAgent: 'ops' });
      offsetMs = 61_000;
      await auth.authenticateBearer(r.accessToken, { tenant: c.id });
      expect(await rows()).toHaveLength(2);
    });
  });

  describe('API keys', () => {
    let admin: Principal;
    let viewer: Principal;
    beforeAll(async () => {
      const ua = await makeUser({ role: 'admin' });
      const uv = await makeUser({ role: 'viewer' });
      admin = await auth.authenticateBearer((await auth.login(ua.username, PASSWORD, {})).accessToken, {});
      viewer = await auth.authenticateBearer((await auth.login(uv.username, PASSWORD, {})).accessToken, {});
    });

    it('creates a key shown once and stored only as its hash, and authenticates with it', async () => {
      const created = await auth.createApiKey(admin, {
        name: 'shipper',
        permissions: ['logs:write', 'alerts:read', 'logs:write'],
      });
      expect(created.key).toMatch(new RegExp(`^vgk_${a.id.replaceAll('-', '')}[A-Za-z0-9_-]{43}$`));
      expect(created).toMatchObject({ name: 'shipper', permissions: ['logs:write', 'alerts:read'] });
      expect(created.expiresAt).toBeNull();
      expect(created.key.startsWith(created.prefix)).toBe(false); // the prefix names the secret part
      expect(created.key.includes(created.prefix.slice(4))).toBe(true);

      const raw = await t.db.query('select * from api_keys where id = $1', [created.id]);
      expect(raw).toHaveLength(1);
      expect(raw[0]?.key_hash).toBe(sha256(created.key));
      const secret = created.key.slice(36);
      expect(JSON.stringify(raw)).not.toContain(secret);

      const p = await auth.authenticateApiKey(created.key, { ip: nextIp() });
      expect(p).toMatchObject({
        kind: 'api_key',
        id: created.id,
        name: 'api-key:shipper',
        tenantId: a.id,
        platformRole: 'user',
        role: null,
        crossTenant: false,
      });
      expect([...p.permissions].sort()).toEqual(['alerts:read', 'logs:write']);
      expect((await apiKeys.get(a.id, created.id))?.lastUsedAt).toBeInstanceOf(Date);
      await expect(auth.authenticateApiKey(created.key, { tenant: a.slug })).resolves.toMatchObject({
        tenantId: a.id,
      });

      const page = await auth.listApiKeys(admin);
      const listed = page.items.find((k) => k.id === created.id);
      expect(listed).toMatchObject({ name: 'shipper', prefix: created.prefix });
      expect(listed).not.toHaveProperty('keyHash');

      const audit = (await auditRows(a)).filter((r) => r.resourceType === 'api_key' && r.action === 'create');
      expect(audit.find((r) => r.resourceId === created.id)).toMatchObject({ actor: admin.name });
      expect(JSON.stringify(audit)).not.toContain(secret);
      expect(JSON.stringify(audit)).not.toContain(sha256(created.key));
    });

    it('stops working once revoked or expired', async () => {
      const k = await auth.createApiKey(admin, { name: 'temp', permissions: ['logs:write'] });
      await auth.authenticateApiKey(k.key, {});
      const revoked = await auth.revokeApiKey(admin, k.id);
      expect(revoked.revokedAt).toBeInstanceOf(Date);
      await expect(auth.authenticateApiKey(k.key, {})).rejects.toThrow(/revoked/);
      expect((await auth.listApiKeys(admin)).items.find((x) => x.id === k.id)).toBeUndefined();
      expect(
        (await auth.listApiKeys(admin, { filters: { includeRevoked: true } })).items.find(
          (x) => x.id === k.id,
        ),
      ).toBeTruthy();
      const deletes = (await auditRows(a)).filter((r) => r.action === 'delete' && r.resourceId === k.id);
      expect(deletes).toHaveLength(1);

      const expiring = await auth.createApiKey(admin, {
        name: 'short-lived',
        permissions: ['alerts:read'],
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      });
      expect(expiring.expiresAt).toBeInstanceOf(Date);
      await expect(auth.authenticateApiKey(expiring.key, {})).resolves.toMatchObject({ id: expiring.id });
      offsetMs = 2 * 3600_000;
      await expect(auth.authenticateApiKey(expiring.key, {})).rejects.toThrow(/expired/);
    });

    it("keeps a tenant's key in its tenant", async () => {
      const k = await auth.createApiKey(admin, { name: 'scoped', permissions: ['alerts:read'] });
      const e = await auth.authenticateApiKey(k.key, { tenant: b.slug }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ForbiddenError);
      await expect(auth.authenticateApiKey(k.key, { tenant: b.id })).rejects.toBeInstanceOf(ForbiddenError);
      // The tenant part swapped for another tenant's id: no such key there.
      const forged = `vgk_${b.id.replaceAll('-', '')}${k.key.slice(36)}`;
      await expect(auth.authenticateApiKey(forged, {})).rejects.toBeInstanceOf(UnauthorizedError);
      // Tenant b's admin neither sees nor revokes it.
      const ub = await makeUser({ tenant: b, role: 'admin' });
      const bAdmin = await auth.authenticateBearer(
        (await auth.login(ub.username, PASSWORD, {})).accessToken,
        {},
      );
      expect((await auth.listApiKeys(bAdmin)).items.find((x) => x.id === k.id)).toBeUndefined();
      await expect(auth.revokeApiKey(bAdmin, k.id)).rejects.toMatchObject({ code: 'not_found' });
      await expect(auth.authenticateApiKey(k.key, {})).resolves.toMatchObject({ tenantId: a.id });
      for (const bad of ['', 'vgk_', `vgk_${'0'.repeat(32)}${'A'.repeat(43)}`, `Bearer ${k.key}`]) {
        await expect(auth.authenticateApiKey(bad, {})).rejects.toBeInstanceOf(UnauthorizedError);
      }
    });

    it('validates what a key may be given and who may create one', async () => {
      const root = await auth
        .createApiKey(admin, { name: 'root', permissions: ['alerts:read', 'users:write'] })
        .catch((e: unknown) => e);
      expect(root).toBeInstanceOf(ValidationError);
      expect((root as ValidationError).issues[0]).toMatchObject({
        path: 'permissions.1',
        message: 'users:write cannot be given to an API key',
      });
      await expect(auth.createApiKey(admin, { name: 'none', permissions: [] })).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(
        auth.createApiKey(admin, { name: 'past', permissions: ['alerts:read'], expiresAt: new Date(0) }),
      ).rejects.toMatchObject({ issues: [{ path: 'expiresAt' }] });
      await expect(
        auth.createApiKey(viewer, { name: 'nope', permissions: ['alerts:read'] }),
      ).rejects.toBeInstanceOf(ForbiddenError);
      await expect(auth.listApiKeys(viewer)).rejects.toBeInstanceOf(ForbiddenError);
      const k = await auth.createApiKey(admin, { name: 'machine', permissions: ['alerts:read'] });
      const machine = await auth.authenticateApiKey(k.key, {});
      await expect(
        auth.createApiKey(machine, { name: 'child', permissions: ['alerts:read'] }),
      ).rejects.toBeInstanceOf(ForbiddenError);
      await expect(auth.logout(machine, {})).rejects.toBeInstanceOf(ForbiddenError);
    });
  });
});

describe('JWT secret', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-jwt-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('generates a secret on first start, stores it with mode 0600 and reuses it', async () => {
    const dataDir = join(dir, 'data');
    const first = await loadJwtSecret({ dataDir });
    const path = join(dataDir, JWT_SECRET_FILE);
    const st = statSync(path);
    if (process.platform !== 'win32') expect(st.mode & 0o777).toBe(0o600);
    expect(Buffer.from(first).toString()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = await loadJwtSecret({ dataDir });
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
  });

  it('prefers the configured secret and refuses a truncated file', async () => {
    const dataDir = join(dir, 'configured');
    const s = await loadJwtSecret({ dataDir, jwtSecret: SECRET });
    expect(Buffer.from(s).toString()).toBe(SECRET);
    expect(() => statSync(join(dataDir, JWT_SECRET_FILE))).toThrow();

    const bad = join(dir, 'bad');
    await loadJwtSecret({ dataDir: bad });
    writeFileSync(join(bad, JWT_SECRET_FILE), 'short\n', { mode: 0o600 });
    await expect(loadJwtSecret({ dataDir: bad })).rejects.toMatchObject({ code: 'validation' });
  });

  it('tightens a secret file readable by others', async () => {
    const dataDir = join(dir, 'loose');
    await loadJwtSecret({ dataDir });
    const path = join(dataDir, JWT_SECRET_FILE);
    writeFileSync(path, `${'k'.repeat(40)}\n`, { mode: 0o644 });
    const { chmodSync } = await import('node:fs');
    chmodSync(path, 0o644);
    const s = await loadJwtSecret({ dataDir });
    expect(Buffer.from(s).toString()).toBe('k'.repeat(40));
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});
