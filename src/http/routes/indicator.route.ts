/**
 * /api/v1/indicators: indicators of compromise, following the tenant CRUD pattern of source.route.ts.
 * A tenant reads the global feed indicators and its own; it creates private ones and changes or deletes
 * only those (a global indicator answers 404 to writes). POST /indicators/lookup matches values.
 */
import { z } from 'zod';
import { INDICATOR_STATUSES, INDICATOR_TYPES } from '../../domain/enums.ts';
import {
  LOOKUP_MAX_VALUES,
  indicatorCreateSchema,
  indicatorFiltersSchema,
  indicatorUpdateSchema,
} from '../../domain/schemas/indicator.schema.ts';
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

export const indicatorSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid().nullable().describe('null for a global feed indicator'),
    type: z.enum(INDICATOR_TYPES),
    value: z.string().describe('Normalised: canonical IPs and networks, lower-case domains and hashes'),
    threatType: z.string().nullable(),
    confidence: z.number().nullable().describe('0..1'),
    status: z.enum(INDICATOR_STATUSES),
    source: z.string(),
    description: z.string().nullable(),
    tags: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    sightings: z.number().int(),
    firstSeen: timestamp.nullable(),
    lastSeen: timestamp.nullable(),
    expiresAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Indicator', description: 'An indicator of compromise, global or private to a tenant' });

/** The create body: the domain's fields, strict; the service normalises (and checks) the value by its type. */
const createBody = indicatorCreateSchema.in.strict();

const BASE = `${API_PREFIX}/indicators`;
const TAGS = ['indicators'];

export function registerIndicatorRoutes(app: ApiApp, services: ApiServices): void {
  const { indicators } = services;

  app.get(
    BASE,
    {
      config: { permission: 'indicators:read' },
      schema: {
        operationId: 'listIndicators',
        summary: 'List indicators',
        description: "The global feed indicators and the tenant's own; expired ones hidden by default.",
        tags: TAGS,
        querystring: listQuery(indicatorFiltersSchema.shape),
        response: { 200: pageSchema(indicatorSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => indicators.list(tenantOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'indicators:read' },
      schema: {
        operationId: 'getIndicator',
        summary: 'Get an indicator',
        tags: TAGS,
        params: idParams,
        response: { 200: indicatorSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => indicators.get(tenantOf(req), req.params.id),
  );

  app.post(
    `${BASE}/lookup`,
    {
      config: { permission: 'indicators:read' },
      schema: {
        operationId: 'lookupIndicators',
        summary: 'Match values against the indicators',
        description:
          'The live (active, unexpired) global and own indicators equal to any value (IPs in canonical ' +
          'form; domains, e-mails and hashes in any case) or, for `cidr` indicators, containing an IP value.',
        tags: TAGS,
        body: z.strictObject({
          values: z.array(z.string().max(4096)).min(1).max(LOOKUP_MAX_VALUES),
        }),
        response: {
          200: z.object({ matches: z.array(indicatorSchema) }),
          ...problems(400, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => indicators.lookup(tenantOf(req), req.body.values),
  );

  app.post(
    BASE,
    {
      config: { permission: 'indicators:write' },
      schema: {
        operationId: 'createIndicator',
        summary: 'Create a private indicator',
        tags: TAGS,
        body: createBody,
        response: { 201: indicatorSchema, ...problems(400, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await indicators.create(tenantOf(req), req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: { permission: 'indicators:write' },
      schema: {
        operationId: 'updateIndicator',
        summary: "Change one of the tenant's indicators",
        description: 'Only the fields given change; `type`, `value` and `source` never do. Global: 404.',
        tags: TAGS,
        params: idParams,
        body: indicatorUpdateSchema.strict(),
        response: { 200: indicatorSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => indicators.update(tenantOf(req), req.params.id, req.body, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'indicators:write' },
      schema: {
        operationId: 'deleteIndicator',
        summary: "Delete one of the tenant's indicators",
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await indicators.delete(tenantOf(req), req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );
}
