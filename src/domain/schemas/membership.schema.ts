import { z } from 'zod';
import { MEMBERSHIP_ROLES } from '../enums.ts';
import { uuidSchema } from './common.schema.ts';

export const membershipRoleSchema = z.enum(MEMBERSHIP_ROLES);

export const membershipAddSchema = z.object({
  userId: uuidSchema,
  role: membershipRoleSchema.default('viewer'),
});
export type MembershipAdd = z.input<typeof membershipAddSchema>;

export const membershipUpdateSchema = z.object({
  role: membershipRoleSchema,
});
export type MembershipUpdate = z.input<typeof membershipUpdateSchema>;

export const membershipFiltersSchema = z.object({
  role: membershipRoleSchema.optional(),
  /** Case-insensitive substring of the member's username, email or display name. */
  q: z.string().max(255).optional(),
});
export type MembershipFilters = z.input<typeof membershipFiltersSchema>;
