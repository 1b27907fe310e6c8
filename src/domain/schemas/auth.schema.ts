/**
 * Authentication inputs: the login, refresh and logout bodies, and API keys (create body, stored record,
 * list filters). The HTTP layer validates bodies with these; AuthService and ApiKeyRepository validate again.
 */
import { z } from 'zod';
import { API_KEY_PERMISSIONS, PERMISSIONS, type Permission } from '../permissions.ts';
import { uuidSchema } from './common.schema.ts';

/** The same cap as src/services/password.ts (PASSWORD_MAX_LENGTH): hashing cannot be used to burn CPU. */
const PASSWORD_MAX = 1024;

/** A flag as JSON gives it (`true`) or a query string does (`'true'`). */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

export const loginSchema = z.object({
  /** Username or e-mail address, case-insensitive. */
  login: z.string().trim().min(1).max(255),
  /** Never trimmed, never logged. */
  password: z.string().min(1).max(PASSWORD_MAX),
  /** The tenant to act in (id or slug); default: the user's default tenant. */
  tenant: z.string().trim().min(1).max(255).optional(),
});
export type LoginInput = z.input<typeof loginSchema>;

/** A refresh token is 32 random bytes, base64url (43 characters); the bound only keeps junk out. */
export const refreshSchema = z.object({
  refreshToken: z.string().min(1).max(512),
});
export type RefreshInput = z.input<typeof refreshSchema>;

export const logoutSchema = z.object({
  /** Also end the user's working sessions in the current tenant. */
  endSessions: z.boolean().optional(),
});
export type LogoutInput = z.input<typeof logoutSchema>;

const apiKeyPermission = z.enum(PERMISSIONS).superRefine((p, ctx) => {
  if (!API_KEY_PERMISSIONS.includes(p)) {
    ctx.addIssue({ code: 'custom', message: `${p} cannot be given to an API key` });
  }
});

/** What a caller asks for: the permissions are a subset of API_KEY_PERMISSIONS, deduplicated. */
export const apiKeyCreateSchema = z.object({
  name: z.string().trim().min(1).max(255),
  permissions: z
    .array(apiKeyPermission)
    .min(1, 'give the key at least one permission')
    .max(API_KEY_PERMISSIONS.length * 4)
    .transform((ps): Permission[] => [...new Set(ps)]),
  /** Absent or null: the key never expires. Must lie in the future (checked by the service's clock). */
  expiresAt: z.coerce.date().nullish(),
});
export type ApiKeyCreateInput = z.input<typeof apiKeyCreateSchema>;

/** What the repository stores: the SHA-256 of the key, never the key (the shape check guards that). */
export const apiKeyRecordSchema = z.object({
  name: z.string().trim().min(1).max(255),
  prefix: z.string().min(4).max(16),
  keyHash: z.string().regex(/^[0-9a-f]{64}$/, 'expected a hex SHA-256, never the key itself'),
  permissions: z.array(apiKeyPermission).max(API_KEY_PERMISSIONS.length),
  createdBy: uuidSchema.nullish(),
  expiresAt: z.coerce.date().nullish(),
});
export type ApiKeyRecord = z.input<typeof apiKeyRecordSchema>;

export const apiKeyFiltersSchema = z.object({
  /** Case-insensitive substring of the name. */
  q: z.string().max(255).optional(),
  /** Include revoked keys (default: only keys that are not revoked). */
  includeRevoked: flag.optional(),
});
export type ApiKeyFilters = z.input<typeof apiKeyFiltersSchema>;
