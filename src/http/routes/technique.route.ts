/**
 * /api/v1/techniques: MITRE ATT&CK techniques. Global data (no tenant), read-only over HTTP, like
 * vulnerability.route.ts.
 */
import { z } from 'zod';
import { techniqueFiltersSchema, techniqueIdSchema } from '../../domain/schemas/technique.schema.ts';
import { API_PREFIX } from '../route-registry.ts';
import {
  AUTHENTICATED_PROBLEMS,
  listOptions,
  listQuery,
  pageSchema,
  problems,
  timestamp,
} from '../schemas.ts';
import type { ApiServices } from '../services.ts';
import type { ApiApp } from '../types.ts';

export const techniqueSchema = z
  .object({
    id: z.uuid(),
    techniqueId: z.string().describe('T1234 or T1234.001'),
    stixId: z.string().nullable(),
    name: z.string(),
    description: z.string().nullable(),
    tactics: z.array(z.string()),
    platforms: z.array(z.string()),
    dataSources: z.array(z.string()),
    isSubtechnique: z.boolean(),
    parentTechniqueId: z.string().nullable(),
    url: z.string().nullable(),
    revoked: z.boolean(),
    deprecated: z.boolean(),
    version: z.string().nullable(),
    modifiedAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Technique', description: 'A MITRE ATT&CK technique or sub-technique' });

const BASE = `${API_PREFIX}/techniques`;
const TAGS = ['techniques'];

export function registerTechniqueRoutes(app: ApiApp, services: ApiServices): void {
  const { techniques } = services;

  app.get(
    BASE,
    {
      config: { permission: 'techniques:read' },
      schema: {
        operationId: 'listTechniques',
        summary: 'List ATT&CK techniques',
        description:
          'In technique id order unless `sort` says otherwise; revoked and deprecated ones hidden.',
        tags: TAGS,
        querystring: listQuery(techniqueFiltersSchema.shape),
        response: { 200: pageSchema(techniqueSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => techniques.list(listOptions(req.query)),
  );

  app.get(
    `${BASE}/:techniqueId`,
    {
      config: { permission: 'techniques:read' },
      schema: {
        operationId: 'getTechnique',
        summary: 'Get a technique by ATT&CK id',
        tags: TAGS,
        params: z.strictObject({ techniqueId: techniqueIdSchema.describe('e.g. T1059.001 (any case)') }),
        response: { 200: techniqueSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => techniques.getByTechniqueId(req.params.techniqueId),
  );
}
