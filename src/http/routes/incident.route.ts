/**
 * /api/v1/incidents: a tenant's security incidents (same pattern as source.route.ts). A PATCH that changes
 * `status` goes through IncidentRepository.update: response and resolution times are derived and a timeline
 * entry is appended, with the caller as its actor.
 */
import { z } from 'zod';
import { INCIDENT_STATUSES, INCIDENT_TYPES, PRIORITIES, SEVERITIES } from '../../domain/enums.ts';
import {
  incidentCreateSchema,
  incidentFiltersSchema,
  incidentUpdateSchema,
} from '../../domain/schemas/incident.schema.ts';
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

const json = z.record(z.string(), z.unknown());

export const incidentSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    incidentNumber: z.string().describe('INC-000001: per tenant'),
    title: z.string(),
    description: z.string().nullable(),
    incidentType: z.enum(INCIDENT_TYPES),
    severity: z.enum(SEVERITIES),
    priority: z.enum(PRIORITIES),
    status: z.enum(INCIDENT_STATUSES),
    externalId: z.string().nullable(),
    tags: z.array(z.string()),
    customFields: json,
    occurredAt: timestamp.nullable(),
    detectedAt: timestamp,
    respondedAt: timestamp.nullable().describe('First move out of `open`'),
    resolvedAt: timestamp.nullable(),
    timeToDetect: z.number().nullable().describe('Seconds from occurredAt to detectedAt'),
    timeToRespond: z.number().nullable().describe('Seconds from detectedAt to respondedAt'),
    timeToResolve: z.number().nullable().describe('Seconds from detectedAt to resolvedAt'),
    source: json.nullable(),
    actors: z.array(z.unknown()),
    assets: z.array(z.unknown()),
    timeline: z.array(z.unknown()).describe('Append-only; every status change adds an entry'),
    analysis: json.nullable(),
    remediationActions: z.array(z.unknown()),
    assignedTo: z.string().nullable(),
    parentIncidentId: z.uuid().nullable(),
    relatedIncidents: z.array(z.string()),
    createdBy: z.string(),
    updatedBy: z.string().nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Incident', description: 'A security incident of a tenant' });

const BASE = `${API_PREFIX}/incidents`;
const TAGS = ['incidents'];

export function registerIncidentRoutes(app: ApiApp, services: ApiServices): void {
  const { incidents } = services;

  app.get(
    BASE,
    {
      config: { permission: 'incidents:read' },
      schema: {
        operationId: 'listIncidents',
        summary: 'List incidents',
        description: 'Newest detected first unless `sort` says otherwise.',
        tags: TAGS,
        querystring: listQuery(incidentFiltersSchema.shape),
        response: { 200: pageSchema(incidentSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => incidents.list(tenantOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'incidents:read' },
      schema: {
        operationId: 'getIncident',
        summary: 'Get an incident',
        tags: TAGS,
        params: idParams,
        response: { 200: incidentSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => incidents.get(tenantOf(req), req.params.id),
  );

  app.post(
    BASE,
    {
      config: { permission: 'incidents:write' },
      schema: {
        operationId: 'createIncident',
        summary: 'Open an incident',
        description:
          'The tenant’s next INC- number is assigned unless `incidentNumber` is given (an import).',
        tags: TAGS,
        body: incidentCreateSchema.strict(),
        response: { 201: incidentSchema, ...problems(400, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await incidents.create(tenantOf(req), req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: { permission: 'incidents:write' },
      schema: {
        operationId: 'updateIncident',
        summary: 'Change an incident',
        description:
          'Only the fields given change. A new `status` sets respondedAt / resolvedAt and the time_to_* ' +
          'figures, and appends a timeline entry.',
        tags: TAGS,
        params: idParams,
        body: incidentUpdateSchema.strict(),
        response: { 200: incidentSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => incidents.update(tenantOf(req), req.params.id, req.body, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'incidents:write' },
      schema: {
        operationId: 'deleteIncident',
        summary: 'Delete an incident',
        description: 'Its alert links go with it; child incidents stay, without a parent.',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await incidents.delete(tenantOf(req), req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );
}
