/**
 * /api/v1/sources: a tenant's log sources. THE PATTERN for a tenant-scoped CRUD resource:
 *
 *   - a response schema (`sourceSchema`) registered with an id (an OpenAPI component); it lists every field
 *     that may leave the process, and strips the rest;
 *   - request schemas from src/domain/schemas, made strict (`.strict()`, listQuery()): an unknown key is a 400;
 *   - `config.permission` on every route (checked before the body is read), `tenantOf(req)` for the tenant,
 *     `actorOf(req)` for writes, which the service audits in the same transaction;
 *   - problems(...) for the errors each route can answer; a 201 for creates, a 204 for deletes.
 */
import { z } from 'zod';
import { ASSET_CRITICALITIES, SOURCE_STATUSES, SOURCE_TYPES } from '../../domain/enums.ts';
import {
  sourceCreateSchema,
  sourceFiltersSchema,
  sourceUpdateSchema,
} from '../../domain/schemas/source.schema.ts';
import { actorOf, tenantOf } from '../plugins/auth.plugin.ts';
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

export const sourceSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    name: z.string(),
    type: z.enum(SOURCE_TYPES),
    ip: z.string().describe('IPv4 or IPv6 address'),
    port: z.number().int(),
    protocol: z.string(),
    status: z.enum(SOURCE_STATUSES),
    criticality: z.enum(ASSET_CRITICALITIES),
    description: z.string().nullable(),
    notifications: z.record(z.string(), z.unknown()).nullable(),
    lastActivity: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Source', description: 'A log-producing asset of a tenant' });

const BASE = `${API_PREFIX}/sources`;
const TAGS = ['sources'];

export function registerSourceRoutes(app: ApiApp, services: ApiServices): void {
  const { sources } = services;

  app.get(
    BASE,
    {
      config: { permission: 'sources:read' },
      schema: {
        operationId: 'listSources',
        summary: 'List sources',
        tags: TAGS,
        querystring: listQuery(sourceFiltersSchema.shape),
        response: {
          200: pageSchema(sourceSchema),
          ...problems(400, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => sources.list(tenantOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'sources:read' },
      schema: {
        operationId: 'getSource',
        summary: 'Get a source',
        tags: TAGS,
        params: idParams,
        response: { 200: sourceSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => sources.get(tenantOf(req), req.params.id),
  );

  app.post(
    BASE,
    {
      config: { permission: 'sources:write' },
      schema: {
        operationId: 'createSource',
        summary: 'Create a source',
        tags: TAGS,
        body: sourceCreateSchema.strict(),
        response: { 201: sourceSchema, ...problems(400, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await sources.create(tenantOf(req), req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: { permission: 'sources:write' },
      schema: {
        operationId: 'updateSource',
        summary: 'Change a source',
        description: 'Only the fields given change.',
        tags: TAGS,
        params: idParams,
        body: sourceUpdateSchema.strict(),
        response: { 200: sourceSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => sources.update(tenantOf(req), req.params.id, req.body, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'sources:write' },
      schema: {
        operationId: 'deleteSource',
        summary: 'Delete a source',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await sources.delete(tenantOf(req), req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );
}
