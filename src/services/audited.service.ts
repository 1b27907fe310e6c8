/**
 * Every create, update and delete leaves an audit row, written in the SAME transaction as the change: the
 * change and its row commit together, and if the audit insert fails the change rolls back.
 *
 *   return audited(this.db, this.auditLogs, tenantId, actor.principal, actor.meta,
 *     { action: 'update', resourceType: 'source', resourceId: id },
 *     async () => {
 *       const before = await this.sources.get(tenantId, id);
 *       if (!before) throw new NotFoundError('source', id);
 *       const after = await this.sources.update(tenantId, id, patch);
 *       return { result: after, before, after };
 *     });
 *
 * Repositories called inside `fn` join the transaction that `db.tenant` opened (src/db/client.ts).
 * The row records who (actor = principal.name, user id for users, null for API keys), from where (IP, user
 * agent) and what: `details.before` / `details.after` hold only the fields that changed, with secrets
 * redacted and long values shortened. An update that changes nothing writes no row.
 */
import { isIP } from 'node:net';
import type { Database } from '../db/client.ts';
import { ForbiddenError } from '../domain/errors.ts';
import type { Principal } from '../domain/permissions.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { RequestMeta } from './auth.types.ts';

/** Who acts, and from where: what a service needs to audit a change. */
export interface Actor {
  principal: Principal;
  meta: RequestMeta;
}

export interface AuditedOperation {
  action: 'create' | 'update' | 'delete';
  /** `source`, `incident`, ...: singular, snake_case. */
  resourceType: string;
  /** Known up front for update and delete; for a create, taken from the result's `id` when not returned. */
  resourceId?: string;
  description?: string;
}

export interface AuditedOutcome<T> {
  result: T;
  /** The resource before the change (update, delete). */
  before?: object | null | undefined;
  /** The resource after the change (create, update). */
  after?: object | null | undefined;
  /** Overrides the operation's resourceId (e.g. the id a create assigned). */
  resourceId?: string;
}

/** Fields that change on every write or identify the row: never part of a change summary. */
const IGNORED_FIELDS = new Set(['id', 'tenantId', 'createdAt', 'updatedAt', 'updatedBy', 'createdBy']);
/** Keys whose values are secrets: recorded as changed, never with their value. */
const SECRET_KEY = /passw(or)?d|passphrase|secret|token|hash|api_?key|private_?key|credential|^key$/i;
const MAX_STRING = 256;
const MAX_JSON = 1024;
export const REDACTED = '[redacted]';

/**
 * Run `fn` in a transaction bound to `tenantId` and append its audit row to that tenant's trail before
 * committing. Returns `fn`'s result.
 */
export async function audited<T>(
  db: Database,
  auditLogs: AuditLogRepository,
  tenantId: string,
  principal: Principal,
  meta: RequestMeta,
  op: AuditedOperation,
  fn: () => Promise<AuditedOutcome<T>>,
): Promise<T> {
  // Defence in depth: the caller resolved the principal for one tenant; it acts in that tenant only.
  if (principal.tenantId !== tenantId) {
    throw new ForbiddenError(`${principal.name} does not act in tenant ${tenantId}`);
  }
  return db.tenant(tenantId, async () => {
    const out = await fn();
    const details = changeSummary(op.action, out.before ?? undefined, out.after ?? undefined);
    if (!details) return out.result;
    const resourceId = out.resourceId ?? op.resourceId ?? idOf(out.result);
    await auditLogs.create(tenantId, {
      userId: principal.kind === 'user' ? principal.id : null,
      actor: principal.name.slice(0, 255),
      action: op.action,
      resourceType: op.resourceType,
      resourceId: resourceId ?? null,
      details: principal.crossTenant ? { ...details, crossTenant: true } : details,
      description: op.description ?? null,
      ipAddress: meta.ip && isIP(meta.ip) ? meta.ip : null,
      userAgent: meta.userAgent ?? null,
      success: true,
    });
    return out.result;
  });
}

/**
 * `{ after }` for a create, `{ before }` for a delete, `{ before, after }` with only the changed fields for
 * an update (null when nothing changed).
 */
export function changeSummary(
  action: AuditedOperation['action'],
  before: object | undefined,
  after: object | undefined,
): { before?: Record<string, unknown>; after?: Record<string, unknown> } | null {
  if (action === 'create') return { after: summarize(after, undefined) };
  if (action === 'delete') return { before: summarize(before, undefined) };
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  const changed = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter(
    (k) => !IGNORED_FIELDS.has(k) && json(b[k]) !== json(a[k]),
  );
  if (changed.length === 0) return null;
  return { before: summarize(b, changed), after: summarize(a, changed) };
}

function summarize(row: object | undefined, keys: string[] | undefined): Record<string, unknown> {
  const r = (row ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of keys ?? Object.keys(r)) {
    if (!keys && (IGNORED_FIELDS.has(k) || r[k] === null || r[k] === undefined)) continue;
    out[k] = shorten(redact(k, r[k]));
  }
  return out;
}

/** Replace secret values, at any depth, by a marker. */
function redact(key: string, value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (SECRET_KEY.test(key)) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redact('', v));
  if (typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(k, v)]));
  }
  return value;
}

/** Keep audit rows small: long text is cut, large structures are described instead of copied. */
function shorten(value: unknown): unknown {
  if (typeof value === 'string' && value.length > MAX_STRING) {
    return `${value.slice(0, MAX_STRING)}… (${value.length} chars)`;
  }
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') {
    const text = json(value);
    if (text.length > MAX_JSON) {
      return Array.isArray(value)
        ? { omitted: 'array', length: value.length, bytes: text.length }
        : { omitted: 'object', keys: Object.keys(value).length, bytes: text.length };
    }
  }
  return value;
}

function json(v: unknown): string {
  return JSON.stringify(v ?? null) ?? 'null';
}

function idOf(result: unknown): string | undefined {
  const id = (result as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}
