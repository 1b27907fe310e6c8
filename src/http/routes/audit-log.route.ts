/**
 * /api/v1/audit-logs: the request's tenant's audit trail (read-only: rows are written by the audited
 * services), and the verification of its hash chain.
 */
import { z } from 'zod';
import { AUDIT_ACTIONS } from '../../domain/enums.ts';
import { auditLogFiltersSchema } from '../../domain/schemas/audit-log.schema.ts';
import { tenantOf } from '../plugins/auth.plugin.ts';
import { API_PREFIX } from '../route-registry.ts';
import {
  AUTHENTICATED_PROBLEMS,
  listOptions,
  listQuery,
  pageSchema,
  problems,
  timestamp,
} from '../schemas.ts';
import type { ApiServices } from '../services.ts';
import type { ApiApp } from '../types.ts';

export const auditLogSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    seq: z.number().int().describe("Position in the tenant's hash chain"),
    userId: z.uuid().nullable().describe('Null for API keys, system actions and deleted users'),
    actor: z.string().nullable(),
    action: z.enum(AUDIT_ACTIONS),
    resourceType: z.string().nullable(),
    resourceId: z.string().nullable(),
    details: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe('For changes: `before` / `after` with the changed fields only, secrets redacted'),
    description: z.string().nullable(),
    ipAddress: z.string().nullable(),
    userAgent: z.string().nullable(),
    success: z.boolean(),
    timestamp,
    prevHash: z.string().nullable(),
    rowHash: z.string(),
  })
  .meta({ id: 'AuditLog', description: 'One entry of a tenant’s append-only audit trail' });

export const chainVerificationSchema = z
  .object({
    tenantId: z.uuid(),
    ok: z.boolean(),
    checked: z.number().int().describe('Rows checked'),
    head: z
      .object({ seq: z.number().int(), rowHash: z.string() })
      .nullable()
      .describe("The newest row: store its hash elsewhere to anchor the chain's end"),
    firstBroken: z.object({ seq: z.number().int(), id: z.uuid().nullable(), reason: z.string() }).nullable(),
  })
  .meta({ id: 'AuditChainVerification' });

const BASE = `${API_PREFIX}/audit-logs`;
const TAGS = ['audit'];

export function registerAuditLogRoutes(app: ApiApp, services: ApiServices): void {
  const { auditLogs } = services;

  app.get(
    BASE,
    {
      config: { permission: 'audit:read' },
      schema: {
        operationId: 'listAuditLogs',
        summary: "List the tenant's audit trail",
        description: 'Newest first unless `sort` says otherwise.',
        tags: TAGS,
        querystring: listQuery({
          ...auditLogFiltersSchema.shape,
          // A query string carries text: `success=true|false`.
          success: z.stringbool().optional(),
        }),
        response: { 200: pageSchema(auditLogSchema), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => auditLogs.list(tenantOf(req), listOptions(req.query)),
  );

  app.get(
    `${BASE}/verify`,
    {
      config: { permission: 'audit:verify' },
      schema: {
        operationId: 'verifyAuditLogs',
        summary: "Verify the tenant's audit hash chain",
        description: 'Recomputes every row hash and names the first row that does not hold.',
        tags: TAGS,
        response: { 200: chainVerificationSchema, ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => auditLogs.verifyTenant(tenantOf(req)),
  );
}
