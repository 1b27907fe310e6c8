/**
 * /api/v1/users: the users who are members of the current tenant, managed by its admins (the tenant CRUD
 * pattern of source.route.ts). An sre may read every user. Creating a user adds its membership in the
 * tenant with the given role; deleting removes that membership, and the user when it belongs nowhere else.
 * No response ever carries a password hash; a generated password is returned once, by the create.
 */
import { z } from 'zod';
import { MEMBERSHIP_ROLES, PLATFORM_ROLES } from '../../domain/enums.ts';
import { emailSchema, usernameSchema } from '../../domain/schemas/user.schema.ts';
import { PASSWORD_MAX_LENGTH } from '../../services/password.ts';
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

export const userSchema = z
  .object({
    id: z.uuid(),
    username: z.string(),
    email: z.string(),
    displayName: z.string().nullable(),
    platformRole: z.enum(PLATFORM_ROLES),
    defaultTenantId: z.uuid().nullable(),
    isActive: z.boolean(),
    lastLogin: timestamp.nullable(),
    lockedUntil: timestamp.nullable(),
    passwordChangedAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: 'User', description: 'A user of the platform (never with its password hash)' });

export const createdUserSchema = userSchema
  .extend({
    role: z.enum(MEMBERSHIP_ROLES).describe('The role given in the current tenant'),
    password: z
      .string()
      .optional()
      .describe('The generated password, when none was given: shown once, never again'),
  })
  .meta({ id: 'CreatedUser', description: 'A new user, with the generated password when one was made' });

const password = z.string().max(PASSWORD_MAX_LENGTH * 4);

const userCreateBody = z.strictObject({
  username: usernameSchema,
  email: emailSchema,
  displayName: z.string().trim().max(255).nullish(),
  password: password.optional().describe('At least 12 characters; when absent, one is generated'),
  role: z.enum(MEMBERSHIP_ROLES),
});

const userUpdateBody = z.strictObject({
  displayName: z.string().trim().max(255).nullish(),
  email: emailSchema.optional(),
  isActive: z.boolean().optional().describe('false deactivates: the user is refused on its next request'),
});

const userFilters = {
  q: z.string().max(255).optional().describe('Substring of username, email or display name'),
  isActive: z.stringbool().optional(),
};

const BASE = `${API_PREFIX}/users`;
const TAGS = ['users'];

export function registerUserRoutes(app: ApiApp, services: ApiServices): void {
  const { users } = services;

  app.get(
    BASE,
    {
      config: { permission: 'users:read' },
      schema: {
        operationId: 'listUsers',
        summary: 'List the users of the tenant',
        description: 'The members of the current tenant; an sre sees every user.',
        tags: TAGS,
        querystring: listQuery(userFilters),
        response: { 200: pageSchema(userSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return users.list(p, p.platformRole === 'sre' ? p.tenantId : tenantOf(req), listOptions(req.query));
    },
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'users:read' },
      schema: {
        operationId: 'getUser',
        summary: 'Get a user',
        description: 'A member of the current tenant (an sre: any user); anyone else is a 404.',
        tags: TAGS,
        params: idParams,
        response: { 200: userSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => {
      const p = principalOf(req);
      return users.get(p, p.platformRole === 'sre' ? p.tenantId : tenantOf(req), req.params.id);
    },
  );

  app.post(
    BASE,
    {
      config: { permission: 'users:write' },
      schema: {
        operationId: 'createUser',
        summary: 'Create a user in the tenant',
        description:
          'Creates the user and its membership with `role` in the current tenant. Without a password, one ' +
          'is generated and returned once, as `password`.',
        tags: TAGS,
        body: userCreateBody,
        response: { 201: createdUserSchema, ...problems(400, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await users.create(tenantOf(req), req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: { permission: 'users:write' },
      schema: {
        operationId: 'updateUser',
        summary: 'Change a user of the tenant',
        description: 'Only the fields given change. `isActive: false` deactivates the user.',
        tags: TAGS,
        params: idParams,
        body: userUpdateBody,
        response: { 200: userSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => users.update(tenantOf(req), req.params.id, req.body, actorOf(req)),
  );

  app.post(
    `${BASE}/:id/password`,
    {
      config: { permission: 'users:write' },
      schema: {
        operationId: 'setUserPassword',
        summary: "Set a user's password",
        description: 'At least 12 characters. Audited as `password_change`.',
        tags: TAGS,
        params: idParams,
        body: z.strictObject({ password }),
        response: { 204: noContent, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await users.setPassword(tenantOf(req), req.params.id, req.body.password, actorOf(req));
      return reply.status(204).send();
    },
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'users:write' },
      schema: {
        operationId: 'deleteUser',
        summary: 'Remove a user from the tenant',
        description:
          'Removes the membership in the current tenant; deletes the user when it belongs to no other ' +
          'tenant. Removing the last admin is a 409.',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await users.delete(tenantOf(req), req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );
}
