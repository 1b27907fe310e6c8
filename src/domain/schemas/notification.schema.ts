import { z } from 'zod';
import { NOTIFICATION_SEVERITIES } from '../enums.ts';
import { jsonObject, uuidSchema } from './common.schema.ts';

/** A boolean flag as code passes it (`true`) or a query string does (`'true'`, `'0'`, `'yes'`...). */
const flag = z.union([z.boolean(), z.stringbool()]);

export const notificationCreateSchema = z.object({
  /** The addressee inside the tenant; null or absent addresses every member. */
  userId: uuidSchema.nullish(),
  title: z.string().trim().min(1).max(255).nullish(),
  message: z.string().trim().min(1).max(100_000),
  severity: z.enum(NOTIFICATION_SEVERITIES).optional(),
  /** Seed 001 `meta_data`. */
  metadata: jsonObject.nullish(),
});
export type NotificationCreate = z.input<typeof notificationCreateSchema>;

export const notificationFiltersSchema = z.object({
  severity: z.enum(NOTIFICATION_SEVERITIES).optional(),
  isRead: flag.optional(),
  /**
   * One user's inbox: the notifications addressed to that user plus those addressed to every member
   * (user_id null).
   */
  userId: uuidSchema.optional(),
});
export type NotificationFilters = z.input<typeof notificationFiltersSchema>;
