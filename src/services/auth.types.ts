/**
 * The contract between the HTTP layer and authentication: the HTTP layer calls these and never looks inside
 * tokens or keys itself. Implemented by AuthService (src/services/auth.service.ts).
 */
import type { MembershipRole, PlatformRole } from '../domain/enums.ts';
import type { Permission, Principal } from '../domain/permissions.ts';

/** What the transport knows about a request. */
export interface RequestMeta {
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** The tenant the caller asks to act in (X-Tenant header: id or slug); default: the user's default tenant. */
  tenant?: string | undefined;
}

export interface TokenPair {
  tokenType: 'Bearer';
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
}

export interface LoginResult extends TokenPair {
  user: {
    id: string;
    username: string;
    email: string;
    displayName: string | null;
    platformRole: PlatformRole;
  };
  tenant: { id: string; slug: string; name: string; role: MembershipRole | null } | null;
}

export interface ApiKeyCreated {
  id: string;
  name: string;
  prefix: string;
  permissions: Permission[];
  expiresAt: Date | null;
  /** The key itself: returned once, never stored. */
  key: string;
}

export interface AuthApi {
  /** Username or e-mail + password. Failed attempts are rate-limited per account and per IP (lockout). */
  login(login: string, password: string, meta: RequestMeta): Promise<LoginResult>;
  /** Rotate: the old refresh token stops working; presenting it again revokes the whole login. */
  refresh(refreshToken: string, meta: RequestMeta): Promise<TokenPair>;
  /** Revoke the login (its refresh family); with endSessions, also end the user's working sessions. */
  logout(principal: Principal, meta: RequestMeta, opts?: { endSessions?: boolean }): Promise<void>;
  /** Resolve `Authorization: Bearer <access token>` (throws UnauthorizedError / ForbiddenError). */
  authenticateBearer(token: string, meta: RequestMeta): Promise<Principal>;
  /** Resolve an API key (`Authorization: ApiKey <key>` or `X-API-Key`). */
  authenticateApiKey(key: string, meta: RequestMeta): Promise<Principal>;
}
