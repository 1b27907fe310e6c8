import { z } from 'zod';
import { TENANT_STATUSES } from '../enums.ts';
import { jsonObject } from './common.schema.ts';

export const tenantSlug = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'lower-case letters, digits and dashes, starting with a letter or digit',
  );

export const tenantCreateSchema = z.object({
  slug: tenantSlug,
  name: z.string().trim().min(1).max(255),
  description: z.string().max(10_000).nullish(),
  status: z.enum(TENANT_STATUSES).optional(),
  retentionDays: z.number().int().min(1).max(36_500).optional(),
  settings: jsonObject.optional(),
});
export type TenantCreate = z.input<typeof tenantCreateSchema>;

export const tenantUpdateSchema = tenantCreateSchema.partial();
export type TenantUpdate = z.input<typeof tenantUpdateSchema>;

export const tenantFiltersSchema = z.object({
  status: z.enum(TENANT_STATUSES).optional(),
  q: z.string().max(255).optional(),
});
export type TenantFilters = z.input<typeof tenantFiltersSchema>;
