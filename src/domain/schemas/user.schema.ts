import { z } from 'zod';
import { PLATFORM_ROLES } from '../enums.ts';
import { uuidSchema } from './common.schema.ts';

/** Login names: letters, digits, `.`, `_`, `-`; unique case-insensitively (`ux_users_username`). */
export const usernameSchema = z
  .string()
  .trim()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'letters, digits, dots, dashes and underscores, starting with a letter or digit (at most 64)',
  );

/** Stored as given (case kept for display); unique case-insensitively (`ux_users_email`). */
export const emailSchema = z.string().trim().max(255).pipe(z.email());

/**
 * A password hash in modular-crypt / PHC form (`$argon2id$...`, or a legacy `$2b$...` bcrypt hash).
 * The shape check is what stops a plaintext password from ever being stored by mistake.
 */
export const passwordHashSchema = z
  .string()
  .max(255)
  .regex(/^\$[a-z0-9-]+\$\S+$/, 'expected a PHC / modular-crypt hash string, never a plaintext password');

export const userCreateSchema = z.object({
  username: usernameSchema,
  email: emailSchema,
  displayName: z.string().trim().max(255).nullish(),
  passwordHash: passwordHashSchema,
  platformRole: z.enum(PLATFORM_ROLES).optional(),
  defaultTenantId: uuidSchema.nullish(),
  isActive: z.boolean().optional(),
});
export type UserCreate = z.input<typeof userCreateSchema>;

export const userUpdateSchema = userCreateSchema.partial().extend({
  /** Set by the lockout policy of the auth service; `null` unlocks. */
  lockedUntil: z.coerce.date().nullish(),
});
export type UserUpdate = z.input<typeof userUpdateSchema>;

export const userFiltersSchema = z.object({
  /** Case-insensitive substring of username, email or display name. */
  q: z.string().max(255).optional(),
  isActive: z.boolean().optional(),
  platformRole: z.enum(PLATFORM_ROLES).optional(),
  /** Only members of this tenant. */
  tenantId: uuidSchema.optional(),
});
export type UserFilters = z.input<typeof userFiltersSchema>;
