/**
 * /api/v1/notifications: a tenant's notifications (same pattern as source.route.ts). A notification is
 * addressed to one member (`userId`) or to every member (null); `is_read` is one flag per notification.
 * POST /notifications/read-all marks the caller's inbox read (an API key's: the whole tenant).
 */
import { z } from 'zod';
import { NOTIFICATION_SEVERITIES } from '../../domain/enums.ts';
import {
  notificationCreateSchema,
  notificationFiltersSchema,
} from '../../domain/schemas/notification.schema.ts';
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

export const notificationSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    userId: z.uuid().nullable().describe('The addressee; null: every member of the tenant'),
    title: z.string().nullable(),
    message: z.string(),
    severity: z.enum(NOTIFICATION_SEVERITIES),
    isRead: z.boolean(),
    readAt: timestamp.nullable(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'Notification', description: 'A notification of a tenant' });

/** Actions without inputs take an empty body, or none. */
const noInput = z.strictObject({}).nullish();

const BASE = `${API_PREFIX}/notifications`;
const TAGS = ['notifications'];

export function registerNotificationRoutes(app: ApiApp, services: ApiServices): void {
  const { notifications } = services;

  app.get(
    BASE,
    {
      config: { permission: 'notifications:read' },
      schema: {
        operationId: 'listNotifications',
        summary: 'List notifications',
        description: 'Newest first unless `sort` says otherwise; `userId` gives one member’s inbox.',
        tags: TAGS,
        querystring: listQuery(notificationFiltersSchema.shape),
        response: { 200: pageSchema(notificationSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => notifications.list(tenantOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/:id`,
    {
      config: { permission: 'notifications:read' },
      schema: {
        operationId: 'getNotification',
        summary: 'Get a notification',
        tags: TAGS,
        params: idParams,
        response: { 200: notificationSchema, ...problems(400, 404, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => notifications.get(tenantOf(req), req.params.id),
  );

  app.post(
    BASE,
    {
      config: { permission: 'notifications:write' },
      schema: {
        operationId: 'createNotification',
        summary: 'Send a notification',
        description:
          '`userId`, when given, must be a member of the tenant; without it every member is addressed.',
        tags: TAGS,
        body: notificationCreateSchema.strict(),
        response: { 201: notificationSchema, ...problems(400, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      const row = await notifications.create(tenantOf(req), req.body, actorOf(req));
      return reply.status(201).header('location', `${BASE}/${row.id}`).send(row);
    },
  );

  app.post(
    `${BASE}/read-all`,
    {
      config: { permission: 'notifications:write' },
      schema: {
        operationId: 'markAllNotificationsRead',
        summary: 'Mark every unread notification of the caller read',
        description:
          'A user’s inbox: the notifications addressed to them or to every member. An API key marks the ' +
          'whole tenant’s.',
        tags: TAGS,
        body: noInput,
        response: {
          200: z.object({ updated: z.number().int().describe('Notifications marked read') }),
          ...problems(400, 409, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => ({ updated: await notifications.markAllRead(tenantOf(req), actorOf(req)) }),
  );

  app.post(
    `${BASE}/:id/read`,
    {
      config: { permission: 'notifications:write' },
      schema: {
        operationId: 'markNotificationRead',
        summary: 'Mark a notification read',
        description: 'The first read time is kept.',
        tags: TAGS,
        params: idParams,
        body: noInput,
        response: { 200: notificationSchema, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => notifications.markRead(tenantOf(req), req.params.id, actorOf(req)),
  );

  app.delete(
    `${BASE}/:id`,
    {
      config: { permission: 'notifications:write' },
      schema: {
        operationId: 'deleteNotification',
        summary: 'Delete a notification',
        tags: TAGS,
        params: idParams,
        response: { 204: noContent, ...problems(400, 404, 409, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req, reply) => {
      await notifications.delete(tenantOf(req), req.params.id, actorOf(req));
      return reply.status(204).send();
    },
  );
}
