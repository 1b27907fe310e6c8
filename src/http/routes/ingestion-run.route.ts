/**
 * /api/v1/ingestion-runs: feed and log ingestion runs, read-only over HTTP. A tenant sees its own runs and
 * the global feeds' runs; another tenant's run answers 404.
 */
import { z } from 'zod';
import { INGESTION_KINDS, INGESTION_STATUSES } from '../../domain/enums.ts';
import { ingestionRunFiltersSchema } from '../../domain/schemas/ingestion-run.schema.ts';
import { tenantOf } from '../plugins/auth.plugin.ts';
import { API_PREFIX } from '../route-registry.ts';
import {
  AUTHENTICATED_PROBLEMS,
  idParams,
  listOptions,
  listQuery,
  pageSchema,
  problems,
  timestamp,
} from '../schemas.ts';
import type { ApiServices } from '../services.ts';
import type { ApiApp } from '../types.ts';

const flag = z.union([z.boolean(), z.stringbool()]);

export const ingestionRunSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid().nullable().describe('null for a global intel feed run'),
    kind: z.enum(INGESTION_KINDS),
    source: z.string(),
    label: z.string().nullable(),
    status: z.enum(INGESTION_STATUSES),
    recordsFetched: z.number().int(),
    recordsInserted: z.number().int(),
    recordsUpdated: z.number().int(),
    recordsFailed: z.number().int(),
    recordsDuplicate: z.number().int(),
    startedAt: timestamp,
    completedAt: timestamp.nullable(),
    durationSeconds: z.number().nullable(),
    errorMessage: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'IngestionRun', description: 'One run of a feed or log ingestion' });

const filters = {
  ...ingestionRunFiltersSchema.omit({ tenantId: true }).shape,
  global: flag.optional().describe("true: global feed runs only; false: the tenant's own only"),
};

const BASE = `${API_PREFIX}/ingestion-runs`;
const TAGS = ['ingestion'];

export function registerIngestionRunRoutes(app: ApiApp, services: ApiServices): void {
  const { ingestionRuns } = services;

  app.get(
    BASE,
    {
      config: { permission: 'ingestion_runs:read' },
      schema: {
        operationId: 'listIngestionRuns',
        summary: 'List ingestion runs',
        description: "The tenant's own runs and the global feeds' runs, newest first.",
        tags: TAGS,
        querystring: listQuery(filters),
        response: { 200: pageSchema(ingestionRunSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => ingestionRuns.list(tenantOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'ingestion_runs:read' },
      schema: {
        operationId: 'getIngestionRun',
        summary: 'Get an ingestion run',
        tags: TAGS,
        params: idParams,
        response: { 200: ingestionRunSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => ingestionRuns.get(tenantOf(req), req.params.id),
  );
}
