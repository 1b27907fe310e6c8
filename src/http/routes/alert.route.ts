/**
 * /api/v1/alerts: a tenant's alerts (same pattern as source.route.ts), their acknowledgement, and their links
 * to incidents (POST / DELETE /alerts/:id/incidents/:incidentId). Acknowledging records the caller and the
 * time, and moves a `new` alert to `acknowledged`; acknowledging again, or linking again, changes nothing.
 * GET /incidents/:id/alerts lists the alerts linked to an incident (alerts:read).
 */
import { z } from 'zod';
import { ALERT_STATUSES, SEVERITIES } from '../../domain/enums.ts';
import {
  alertCreateSchema,
  alertFiltersSchema,
  alertUpdateSchema,
} from '../../domain/schemas/alert.schema.ts';
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

export const alertSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    ruleId: z.uuid().nullable(),
    logId: z.string().nullable(),
    eventIds: z.array(z.string()),
    title: z.string().nullable(),
    alertType: z.string(),
    detectionMethod: z.string(),
    severity: z.enum(SEVERITIES),
    description: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    acknowledged: z.boolean(),
    acknowledgedAt: timestamp.nullable(),
    acknowledgedBy: z.string().nullable(),
    status: z.enum(ALERT_STATUSES),
    priorityScore: z.number().nullable().describe('0 (ignore) .. 1 (look now)'),
    sourceIp: z.string().nullable(),
    destIp: z.string().nullable(),
    userName: z.string().nullable(),
    host: z.string().nullable(),
    techniques: z.array(z.string()),
    dedupKey: z.string().nullable(),
    count: z.number().int(),
    firstSeen: timestamp,
    lastSeen: timestamp,
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Alert', description: 'An alert raised in a tenant' });

export const alertIncidentLinkSchema = z
  .object({
    alertId: z.uuid(),
    incidentId: z.uuid(),
    linkedBy: z.string().nullable(),
    linkedAt: timestamp,
  })
  .meta({ id: 'AlertIncidentLink', description: 'An alert attached to an incident' });

const linkParams = z.strictObject({
  id: z.uuid().describe('The alert id (UUID)'),
  incidentId: z.uuid().describe('The incident id (UUID)'),
});

/** Actions without inputs take an empty body, or none. */
const noInput = z.strictObject({}).nullish();

const BASE = `${API_PREFIX}/alerts`;
const TAGS = ['alerts'];

export function registerAlertRoutes(app: ApiApp, services: ApiServices): void {
  const { alerts } = services;

  app.get(
    BASE,
    {
      config: { permission: 'alerts:read' },
      schema: {
        operationId: 'listAlerts',
        summary: 'List alerts',
        description: 'Newest first unless `sort` says otherwise.',
        tags: TAGS,
        querystring: listQuery(alertFiltersSchema.shape),
        response: { 200: pageSchema(alertSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => alerts.list(tenantOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'alerts:read' },
      schema: {
        operationId: 'getAlert',
        summary: 'Get an alert',
        tags: TAGS,
        params: idParams,
        response: { 200: alertSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => alerts.get(tenantOf(req), req.params.id),
  );

  app.get(
    `${API_PREFIX}/incidents/:id/alerts`,
    {
      config: { permission: 'alerts:read' },
      schema: {
        operationId: 'listIncidentAlerts',
        summary: 'List the alerts linked to an incident',
        description: 'Newest first.',
        tags: TAGS,
        params: idParams,
        response: {
          200: z.object({ items: z.array(alertSchema) }),
          ...problems(400, 404, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => ({ items: await alerts.listForIncident(tenantOf(req), req.params.id) }),
  );

  app.post(
    BASE,
    {
      config: { permission: 'alerts:write' },
      schema: {
        operationId: 'createAlert',
        summary: 'Raise an alert',
        tags: TAGS,
        body: alertCreateSchema.strict(),
        response: { 201: alertSchema, ...problems(400, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await alerts.create(tenantOf(req), req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: { permission: 'alerts:write' },
      schema: {
        operationId: 'updateAlert',
        summary: 'Change an alert',
        description: 'Only the fields given change. Acknowledge with POST /alerts/{id}/acknowledge.',
        tags: TAGS,
        params: idParams,
        body: alertUpdateSchema.strict(),
        response: { 200: alertSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => alerts.update(tenantOf(req), req.params.id, req.body, actorOf(req)),
  );

  app.post(
    `${BASE}/:id/acknowledge`,
    {
      config: { permission: 'alerts:write' },
      schema: {
        operationId: 'acknowledgeAlert',
        summary: 'Acknowledge an alert',
        description:
          'Records the caller and the time, and moves a `new` alert to `acknowledged`. Acknowledging again ' +
          'keeps the first acknowledgement.',
        tags: TAGS,
        params: idParams,
        body: noInput,
        response: { 200: alertSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => alerts.acknowledge(tenantOf(req), req.params.id, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'alerts:write' },
      schema: {
        operationId: 'deleteAlert',
        summary: 'Delete an alert',
        description: 'Its incident links go with it.',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await alerts.delete(tenantOf(req), req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );

  app.post(
    `${BASE}/:id/incidents/:incidentId`,
    {
      config: { permission: 'alerts:write' },
      schema: {
        operationId: 'linkAlertIncident',
        summary: 'Link an alert to an incident',
        description: 'Both must belong to the tenant. Linking again answers the existing link.',
        tags: TAGS,
        params: linkParams,
        body: noInput,
        response: { 200: alertIncidentLinkSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => alerts.linkIncident(tenantOf(req), req.params.id, req.params.incidentId, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id/incidents/:incidentId`,
    {
      config: { permission: 'alerts:write' },
      schema: {
        operationId: 'unlinkAlertIncident',
        summary: 'Unlink an alert from an incident',
        tags: TAGS,
        params: linkParams,
        response: { 204: noContent, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await alerts.unlinkIncident(tenantOf(req), req.params.id, req.params.incidentId, actorOf(req));
      return reply.status(204).send();
    },
  );
}
