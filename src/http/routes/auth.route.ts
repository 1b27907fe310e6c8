/**
 * /api/v1/auth: log in (username or e-mail + password), rotate the refresh token, log out, and who am I.
 * The HTTP layer never looks inside tokens: AuthApi (src/services/auth.types.ts) does all of it.
 */
import { z } from 'zod';
import type { Container } from '../../container.ts';
import { MEMBERSHIP_ROLES, PLATFORM_ROLES } from '../../domain/enums.ts';
import { PERMISSIONS } from '../../domain/permissions.ts';
import { principalOf, requestMeta } from '../plugins/auth.plugin.ts';
import { API_PREFIX } from '../route-registry.ts';
import { AUTHENTICATED_PROBLEMS, noContent, problems } from '../schemas.ts';
import { requireAuthApi } from '../services.ts';
import type { ApiApp } from '../types.ts';

const tokenPairSchema = z
  .object({
    tokenType: z.literal('Bearer'),
    accessToken: z.string(),
    expiresIn: z.number().int().describe('Seconds until the access token expires'),
    refreshToken: z.string().describe('Single use: refreshing returns a new one'),
    refreshExpiresIn: z.number().int(),
  })
  .meta({ id: 'TokenPair' });

const loginResultSchema = tokenPairSchema
  .extend({
    user: z.object({
      id: z.uuid(),
      username: z.string(),
      email: z.string(),
      displayName: z.string().nullable(),
      platformRole: z.enum(PLATFORM_ROLES),
    }),
    tenant: z
      .object({
        id: z.uuid(),
        slug: z.string(),
        name: z.string(),
        role: z.enum(MEMBERSHIP_ROLES).nullable(),
      })
      .nullable(),
  })
  .meta({ id: 'LoginResult' });

export const principalSchema = z
  .object({
    kind: z.enum(['user', 'api_key']),
    id: z.uuid().describe('The user, or the API key'),
    name: z.string().describe('Username, or `api-key:<name>`: the actor in audit rows'),
    platformRole: z.enum(PLATFORM_ROLES),
    tenantId: z.uuid().nullable().describe('The tenant this request acts in'),
    role: z.enum(MEMBERSHIP_ROLES).nullable(),
    permissions: z.array(z.enum(PERMISSIONS)),
    crossTenant: z.boolean().describe('An sre acting in a tenant it is not a member of'),
  })
  .meta({ id: 'Principal' });

const BASE = `${API_PREFIX}/auth`;
const TAGS = ['auth'];

export function registerAuthRoutes(app: ApiApp, c: Container): void {
  app.post(
    `${BASE}/login`,
    {
      config: { auth: 'public' },
      schema: {
        operationId: 'login',
        summary: 'Log in',
        description:
          'Username or e-mail and password. Failed attempts are rate-limited per account and per address.',
        tags: TAGS,
        body: z.strictObject({
          login: z.string().trim().min(1).max(255).describe('Username or e-mail'),
          password: z.string().min(1).max(1024),
          tenant: z.string().trim().min(1).max(64).optional().describe('Tenant id or slug (default: own)'),
        }),
        response: { 200: loginResultSchema, ...problems(400, 401, 403, 429, 503) },
      },
    },
    async (req) => {
      const meta = { ...requestMeta(req), ...(req.body.tenant ? { tenant: req.body.tenant } : {}) };
      return requireAuthApi(c).login(req.body.login, req.body.password, meta);
    },
  );

  app.post(
    `${BASE}/refresh`,
    {
      config: { auth: 'public' },
      schema: {
        operationId: 'refresh',
        summary: 'Exchange a refresh token for new tokens',
        description: 'The refresh token is single use; presenting a used one again revokes the whole login.',
        tags: TAGS,
        body: z.strictObject({ refreshToken: z.string().min(1).max(4096) }),
        response: { 200: tokenPairSchema, ...problems(400, 401, 429, 503) },
      },
    },
    async (req) => requireAuthApi(c).refresh(req.body.refreshToken, requestMeta(req)),
  );

  app.post(
    `${BASE}/logout`,
    {
      config: { auth: 'authenticated' },
      schema: {
        operationId: 'logout',
        summary: 'Log out',
        description:
          "Revokes this login's refresh tokens; with endSessions, also the user's working sessions.",
        tags: TAGS,
        body: z.strictObject({ endSessions: z.boolean().optional() }).nullish(),
        response: { 204: noContent, ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await requireAuthApi(c).logout(principalOf(req), requestMeta(req), {
        endSessions: req.body?.endSessions ?? false,
      });
      return reply.status(204).send();
    },
  );

  app.get(
    `${BASE}/me`,
    {
      config: { auth: 'authenticated' },
      schema: {
        operationId: 'me',
        summary: 'Who am I',
        description: 'The caller as the server sees it in the request’s tenant, with its permissions there.',
        tags: TAGS,
        response: { 200: principalSchema, ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return {
        kind: p.kind,
        id: p.id,
        name: p.name,
        platformRole: p.platformRole,
        tenantId: p.tenantId,
        role: p.role,
        permissions: [...p.permissions].sort(),
        crossTenant: p.crossTenant,
      };
    },
  );
}
