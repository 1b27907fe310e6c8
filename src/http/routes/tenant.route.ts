/**
 * /api/v1/tenants: the tenants a caller may see (an sre: all; a user: those it is a member of; an API key:
 * its own), and the platform operations that create, change and delete them (tenants:write, sre only).
 * Follows source.route.ts; the reads need only authentication, the service decides what is visible (404
 * for the rest).
 */
import { z } from 'zod';
import { TENANT_STATUSES } from '../../domain/enums.ts';
import {
  tenantCreateSchema,
  tenantFiltersSchema,
  tenantUpdateSchema,
} from '../../domain/schemas/tenant.schema.ts';
import { actorOf, principalOf } from '../plugins/auth.plugin.ts';
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

export const tenantSchema = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    status: z.enum(TENANT_STATUSES),
    userCount: z.number().int(),
    sourcesCount: z.number().int(),
    retentionDays: z.number().int(),
    settings: z.record(z.string(), z.unknown()),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Tenant', description: 'A tenant (organisation) of the platform' });

const BASE = `${API_PREFIX}/tenants`;
const TAGS = ['tenants'];

export function registerTenantRoutes(app: ApiApp, services: ApiServices): void {
  const { tenants } = services;

  app.get(
    BASE,
    {
      config: { auth: 'authenticated' },
      schema: {
        operationId: 'listTenants',
        summary: 'List tenants',
        description:
          'An sre sees every tenant; a user the tenants it is a member of; an API key its own tenant.',
        tags: TAGS,
        querystring: listQuery(tenantFiltersSchema.shape),
        response: { 200: pageSchema(tenantSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => tenants.list(principalOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { auth: 'authenticated' },
      schema: {
        operationId: 'getTenant',
        summary: 'Get a tenant',
        description: 'A tenant the caller may see (see listTenants); any other is a 404.',
        tags: TAGS,
        params: idParams,
        response: { 200: tenantSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => tenants.get(principalOf(req), req.params.id),
  );

  app.post(
    BASE,
    {
      config: { permission: 'tenants:write' },
      schema: {
        operationId: 'createTenant',
        summary: 'Create a tenant',
        description: 'A platform operation, audited in the new tenant.',
        tags: TAGS,
        body: tenantCreateSchema.strict(),
        response: { 201: tenantSchema, ...problems(400, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await tenants.create(req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: { permission: 'tenants:write' },
      schema: {
        operationId: 'updateTenant',
        summary: 'Change a tenant',
        description: 'Only the fields given change. A platform operation, audited in the tenant.',
        tags: TAGS,
        params: idParams,
        body: tenantUpdateSchema.strict(),
        response: { 200: tenantSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => tenants.update(req.params.id, req.body, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'tenants:write' },
      schema: {
        operationId: 'deleteTenant',
        summary: 'Delete a tenant',
        description:
          'Deletes the tenant and everything it owns, its audit trail included: the deletion is written to ' +
          'the application log.',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await tenants.delete(req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );
}
