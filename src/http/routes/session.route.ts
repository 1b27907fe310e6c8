/**
 * /api/v1/sessions: the calling user's working sessions in the current tenant (seed 003), following the
 * tenant CRUD pattern of source.route.ts. A caller only ever sees and changes its own sessions: another
 * user's session answers 404. API keys own no sessions: 403.
 */
import { z } from 'zod';
import { sessionCreateSchema, sessionUpdateSchema } from '../../domain/schemas/session.schema.ts';
import { actorOf, principalOf, tenantOf } from '../plugins/auth.plugin.ts';
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

const flag = z.union([z.boolean(), z.stringbool()]);

export const sessionSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    userId: z.uuid(),
    threadId: z.string().nullable(),
    context: z.record(z.string(), z.unknown()).nullable(),
    title: z.string().nullable(),
    isActive: z.boolean(),
    createdAt: timestamp,
    updatedAt: timestamp,
    endedAt: timestamp.nullable(),
  })
  .meta({ id: 'Session', description: "A user's working session in a tenant (thread, context)" });

const sessionFiltersQuery = {
  isActive: flag.optional().describe('true: open sessions only; false: ended ones only'),
  threadId: z.string().max(255).optional(),
};

const BASE = `${API_PREFIX}/sessions`;
const TAGS = ['sessions'];

export function registerSessionRoutes(app: ApiApp, services: ApiServices): void {
  const { sessions } = services;

  app.get(
    BASE,
    {
      config: { permission: 'sessions:read' },
      schema: {
        operationId: 'listSessions',
        summary: 'List my sessions',
        description: "The caller's own sessions in the tenant, newest first.",
        tags: TAGS,
        querystring: listQuery(sessionFiltersQuery),
        response: {
          200: pageSchema(sessionSchema),
          ...problems(400, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => sessions.list(tenantOf(req), principalOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'sessions:read' },
      schema: {
        operationId: 'getSession',
        summary: 'Get one of my sessions',
        tags: TAGS,
        params: idParams,
        response: { 200: sessionSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => sessions.get(tenantOf(req), principalOf(req), req.params.id),
  );

  app.post(
    BASE,
    {
      config: { permission: 'sessions:write' },
      schema: {
        operationId: 'createSession',
        summary: 'Open a session',
        description: 'The session belongs to the caller.',
        tags: TAGS,
        body: sessionCreateSchema.omit({ userId: true }).strict(),
        response: { 201: sessionSchema, ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await sessions.create(tenantOf(req), req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: { permission: 'sessions:write' },
      schema: {
        operationId: 'updateSession',
        summary: 'Change one of my sessions',
        description: 'Only the fields given change. `isActive: false` ends the session, `true` reopens it.',
        tags: TAGS,
        params: idParams,
        body: sessionUpdateSchema.strict(),
        response: { 200: sessionSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => sessions.update(tenantOf(req), req.params.id, req.body, actorOf(req)),
  );

  app.post(
    `${BASE}/:id/end`,
    {
      config: { permission: 'sessions:write' },
      schema: {
        operationId: 'endSession',
        summary: 'End one of my sessions',
        description: 'Idempotent: ending an ended session returns it unchanged.',
        tags: TAGS,
        params: idParams,
        body: z.strictObject({}).nullish(),
        response: { 200: sessionSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => sessions.end(tenantOf(req), req.params.id, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'sessions:write' },
      schema: {
        operationId: 'deleteSession',
        summary: 'Delete one of my sessions',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await sessions.delete(tenantOf(req), req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );
}
