import { isIP } from 'node:net';
import { z } from 'zod';
import { AUDIT_ACTIONS } from '../enums.ts';
import { jsonObject, uuidSchema } from './common.schema.ts';

export const auditActionSchema = z.enum(AUDIT_ACTIONS);

const ipAddress = z
  .string()
  .trim()
  .max(45)
  .refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address');

/**
 * One audit entry. Client-supplied text that an attacker controls (user agent) is truncated rather
 * than rejected: an oversized header must never cost the audit trail its row.
 */
export const auditLogCreateSchema = z.object({
  userId: uuidSchema.nullish(),
  /** Who acted (username or `system`), kept after the user row is gone. */
  actor: z.string().trim().min(1).max(255).nullish(),
  action: auditActionSchema,
  resourceType: z.string().trim().min(1).max(64).nullish(),
  resourceId: z.string().trim().min(1).max(255).nullish(),
  details: jsonObject.nullish(),
  description: z.string().max(10_000).nullish(),
  ipAddress: ipAddress.nullish(),
  userAgent: z
    .string()
    .transform((s) => s.slice(0, 512))
    .nullish(),
  success: z.boolean().optional(),
});
export type AuditLogCreate = z.input<typeof auditLogCreateSchema>;

export const auditLogFiltersSchema = z
  .object({
    action: auditActionSchema.optional(),
    userId: uuidSchema.optional(),
    success: z.boolean().optional(),
    resourceType: z.string().max(64).optional(),
    resourceId: z.string().max(255).optional(),
    ipAddress: ipAddress.optional(),
    /** Inclusive lower bound on `timestamp`. */
    since: z.coerce.date().optional(),
    /** Exclusive upper bound on `timestamp`. */
    until: z.coerce.date().optional(),
  })
  .refine((f) => !f.since || !f.until || f.since <= f.until, {
    message: 'since must not be after until',
    path: ['until'],
  });
export type AuditLogFilters = z.input<typeof auditLogFiltersSchema>;
