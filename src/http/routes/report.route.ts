/**
 * /api/v1/reports: a tenant's generated reports (same pattern as source.route.ts). The caller is the report's
 * `generatedBy` (not a body field); a report keeps its type, author and period, and a PATCH revises its
 * title, summary or data only.
 */
import { z } from 'zod';
import { REPORT_TYPES } from '../../domain/enums.ts';
import {
  reportCreateSchema,
  reportFiltersSchema,
  reportUpdateSchema,
} from '../../domain/schemas/report.schema.ts';
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

export const reportSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    title: z.string(),
    summary: z.string().nullable(),
    reportType: z.enum(REPORT_TYPES),
    generatedBy: z.string().describe('Who generated it: a user, an API key, or a job'),
    periodStart: timestamp.nullable(),
    periodEnd: timestamp.nullable(),
    data: z.record(z.string(), z.unknown()).nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'Report', description: 'A generated security report of a tenant' });

/** The domain's create schema without `generatedBy` (the caller), strict; the period order is re-checked. */
const { generatedBy: _generatedBy, ...createShape } = reportCreateSchema.shape;
const reportBody = z
  .strictObject(createShape)
  .refine((r) => !r.periodStart || !r.periodEnd || r.periodEnd >= r.periodStart, {
    path: ['periodEnd'],
    message: 'must not be before periodStart',
  });

const BASE = `${API_PREFIX}/reports`;
const TAGS = ['reports'];

export function registerReportRoutes(app: ApiApp, services: ApiServices): void {
  const { reports } = services;

  app.get(
    BASE,
    {
      config: { permission: 'reports:read' },
      schema: {
        operationId: 'listReports',
        summary: 'List reports',
        description: 'Newest first unless `sort` says otherwise.',
        tags: TAGS,
        querystring: listQuery(reportFiltersSchema.shape),
        response: { 200: pageSchema(reportSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => reports.list(tenantOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'reports:read' },
      schema: {
        operationId: 'getReport',
        summary: 'Get a report',
        tags: TAGS,
        params: idParams,
        response: { 200: reportSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => reports.get(tenantOf(req), req.params.id),
  );

  app.post(
    BASE,
    {
      config: { permission: 'reports:write' },
      schema: {
        operationId: 'createReport',
        summary: 'Store a report',
        description: 'The caller is recorded as `generatedBy`.',
        tags: TAGS,
        body: reportBody,
        response: { 201: reportSchema, ...problems(400, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await reports.create(tenantOf(req), req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: { permission: 'reports:write' },
      schema: {
        operationId: 'updateReport',
        summary: 'Revise a report',
        description: 'Only the fields given change: title, summary, data.',
        tags: TAGS,
        params: idParams,
        body: reportUpdateSchema.strict(),
        response: { 200: reportSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => reports.update(tenantOf(req), req.params.id, req.body, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'reports:write' },
      schema: {
        operationId: 'deleteReport',
        summary: 'Delete a report',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await reports.delete(tenantOf(req), req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );
}
