/**
 * /api/v1/api-keys: the API keys of the current tenant, managed by its admins through AuthService
 * (`container.services.apiKeys`), which checks the permissions again, refuses API-key callers and audits
 * every create and revoke itself. The key is in the create answer once; it is never stored or shown again.
 * Each handler calls tenantOf(req) first so a caller without a tenant gets the usual 400 naming X-Tenant.
 */
import { z } from 'zod';
import { PERMISSIONS } from '../../domain/permissions.ts';
import { apiKeyCreateSchema, apiKeyFiltersSchema } from '../../domain/schemas/auth.schema.ts';
import { principalOf, requestMeta, tenantOf } from '../plugins/auth.plugin.ts';
import { API_PREFIX } from '../route-registry.ts';
import {
  AUTHENTICATED_PROBLEMS,
  idParams,
  listOptions,
  listQuery,
  noContent,
  pageSchema,
  problems,
  timestamp,
} from '../schemas.ts';
import type { ApiServices } from '../services.ts';
import type { ApiApp } from '../types.ts';

export const apiKeySchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    name: z.string(),
    prefix: z.string().describe('The first characters of the key, to recognise it; not secret'),
    permissions: z.array(z.string()).describe('Permission names, e.g. `sources:read`'),
    createdBy: z.uuid().nullable(),
    createdAt: timestamp,
    expiresAt: timestamp.nullable(),
    lastUsedAt: timestamp.nullable(),
    revokedAt: timestamp.nullable(),
  })
  .meta({ id: 'ApiKey', description: 'An API key of a tenant (never the key itself)' });

export const apiKeyCreatedSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    permissions: z.array(z.enum(PERMISSIONS)),
    expiresAt: timestamp.nullable(),
    key: z.string().describe('The key: shown once, store it now'),
  })
  .meta({ id: 'ApiKeyCreated', description: 'A new API key, with the key itself (shown once)' });

const BASE = `${API_PREFIX}/api-keys`;
const TAGS = ['api-keys'];

export function registerApiKeyRoutes(app: ApiApp, services: ApiServices): void {
  const { apiKeys } = services;

  app.get(
    BASE,
    {
      config: { permission: 'api_keys:read' },
      schema: {
        operationId: 'listApiKeys',
        summary: 'List API keys',
        description: 'Revoked keys only with `includeRevoked=true`.',
        tags: TAGS,
        querystring: listQuery(apiKeyFiltersSchema.shape),
        response: { 200: pageSchema(apiKeySchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => {
      tenantOf(req);
      return apiKeys.listApiKeys(principalOf(req), listOptions(req.query));
    },
  );

  app.post(
    BASE,
    {
      config: { permission: 'api_keys:write' },
      schema: {
        operationId: 'createApiKey',
        summary: 'Create an API key',
        description:
          'The answer holds the key, once. A key gets only permissions its creator holds, and never ' +
          'users, memberships, API keys or tenants permissions.',
        tags: TAGS,
        body: apiKeyCreateSchema.strict(),
        response: { 201: apiKeyCreatedSchema, ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      tenantOf(req);
      const created = await apiKeys.createApiKey(principalOf(req), req.body, requestMeta(req));
      return reply.status(201).header('location', `${BASE}/${created.id}`).send(created);
    },
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'api_keys:write' },
      schema: {
        operationId: 'revokeApiKey',
        summary: 'Revoke an API key',
        description: 'The key stops working at once. Revoking a revoked key changes nothing.',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      tenantOf(req);
      await apiKeys.revokeApiKey(principalOf(req), req.params.id, requestMeta(req));
      return reply.status(204).send();
    },
  );
}
