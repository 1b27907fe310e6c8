import { isIP } from 'node:net';
import { z } from 'zod';
import { ASSET_CRITICALITIES, SOURCE_STATUSES, SOURCE_TYPES } from '../enums.ts';
import { jsonObject } from './common.schema.ts';

export const sourceCreateSchema = z.object({
  name: z.string().trim().min(1).max(255),
  type: z.enum(SOURCE_TYPES),
  ip: z.string().refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address'),
  port: z.number().int().min(0).max(65535),
  protocol: z.string().trim().min(1).max(32),
  status: z.enum(SOURCE_STATUSES).optional(),
  criticality: z.enum(ASSET_CRITICALITIES).optional(),
  description: z.string().max(10_000).nullish(),
  notifications: jsonObject.nullish(),
  lastActivity: z.coerce.date().optional(),
});
export type SourceCreate = z.input<typeof sourceCreateSchema>;

export const sourceUpdateSchema = sourceCreateSchema.partial();
export type SourceUpdate = z.input<typeof sourceUpdateSchema>;

export const sourceFiltersSchema = z.object({
  type: z.enum(SOURCE_TYPES).optional(),
  status: z.enum(SOURCE_STATUSES).optional(),
  criticality: z.enum(ASSET_CRITICALITIES).optional(),
  /** Case-insensitive substring of the name. */
  q: z.string().max(255).optional(),
});
export type SourceFilters = z.input<typeof sourceFiltersSchema>;
