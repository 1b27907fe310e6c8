/**
 * /api/v1/members: the members of the current tenant and their roles, managed by its admins (the tenant
 * CRUD pattern of source.route.ts, keyed by user id). PUT sets a user's role, adding the user when not yet
 * a member; a tenant keeps at least one admin (409).
 */
import { z } from 'zod';
import { MEMBERSHIP_ROLES } from '../../domain/enums.ts';
import { membershipFiltersSchema, membershipUpdateSchema } from '../../domain/schemas/membership.schema.ts';
import { actorOf, tenantOf } from '../plugins/auth.plugin.ts';
import { API_PREFIX } from '../route-registry.ts';
import {
  AUTHENTICATED_PROBLEMS,
  listOptions,
  listQuery,
  noContent,
  pageSchema,
  problems,
  timestamp,
} from '../schemas.ts';
import type { ApiServices } from '../services.ts';
import type { ApiApp } from '../types.ts';

export const membershipSchema = z
  .object({
    tenantId: z.uuid(),
    userId: z.uuid(),
    role: z.enum(MEMBERSHIP_ROLES),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'Membership', description: "A user's role in a tenant" });

export const memberSchema = membershipSchema
  .extend({
    username: z.string(),
    email: z.string(),
    displayName: z.string().nullable(),
  })
  .meta({ id: 'Member', description: 'A member of a tenant, with their public identity' });

const userParams = z.strictObject({ userId: z.uuid().describe('The user id (UUID)') });

const BASE = `${API_PREFIX}/members`;
const TAGS = ['members'];

export function registerMembershipRoutes(app: ApiApp, services: ApiServices): void {
  const { memberships } = services;

  app.get(
    BASE,
    {
      config: { permission: 'memberships:read' },
      schema: {
        operationId: 'listMembers',
        summary: 'List the members of the tenant',
        tags: TAGS,
        querystring: listQuery(membershipFiltersSchema.shape),
        response: { 200: pageSchema(memberSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => memberships.list(tenantOf(req), listOptions(req.query)),
  );

  app.put(
    `${BASE}/:userId`,
    {
      config: { permission: 'memberships:write' },
      schema: {
        operationId: 'setMemberRole',
        summary: "Set a user's role in the tenant",
        description:
          'Changes a member’s role, or adds the user as a member. Demoting the last admin is a 409.',
        tags: TAGS,
        params: userParams,
        body: membershipUpdateSchema.strict(),
        response: { 200: membershipSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => memberships.setRole(tenantOf(req), req.params.userId, req.body.role, actorOf(req)),
  );

  app.delete(
    `${BASE}/:userId`,
    {
      config: { permission: 'memberships:write' },
      schema: {
        operationId: 'removeMember',
        summary: 'Remove a member from the tenant',
        description: 'Removing the last admin is a 409.',
        tags: TAGS,
        params: userParams,
        response: { 204: noContent, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await memberships.remove(tenantOf(req), req.params.userId, actorOf(req));
      return reply.status(204).send();
    },
  );
}
