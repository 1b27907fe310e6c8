/**
 * Driver errors never reach callers: PostgreSQL SQLSTATEs (the same from pg and PGlite) become domain errors.
 */
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnavailableError,
  ValidationError,
  VigilError,
} from '../domain/errors.ts';

interface PgErrorLike {
  code?: string;
  constraint?: string;
  column?: string;
  detail?: string;
  message?: string;
  table?: string;
}

/** Find the driver error inside drizzle's wrapper (DrizzleQueryError keeps it as `cause`). */
function driverError(e: unknown): PgErrorLike | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const c = cur as PgErrorLike & { cause?: unknown };
    if (typeof c.code === 'string' && /^[0-9A-Z]{5}$/.test(c.code)) return c;
    cur = c.cause;
  }
  return undefined;
}

/** `ux_users_email` -> `email`; `ck_sources_port` -> `port`. */
function fieldFromConstraint(constraint: string | undefined, table: string | undefined): string | undefined {
  if (!constraint) return undefined;
  let rest = constraint.replace(/^(ux|ix|ck|fk|pk)_/, '');
  if (table && rest.startsWith(`${table}_`)) rest = rest.slice(table.length + 1);
  rest = rest.replace(/^tenant_/, '');
  return rest || undefined;
}

/** Hand-named composite foreign keys (migration 0002, schema) and the column each one checks. */
const FK_COLUMNS: Record<string, string> = {
  fk_rules_parent: 'parent_rule_id',
  fk_incidents_parent: 'parent_incident_id',
  fk_alerts_rule: 'rule_id',
  fk_rule_versions_rule: 'rule_id',
  fk_alert_incidents_alert: 'alert_id',
  fk_alert_incidents_incident: 'incident_id',
};

/** drizzle names foreign keys `<table>_<column>_<refTable>_<refColumn>_fk`. */
function fkColumn(
  constraint: string | undefined,
  table: string | undefined,
  refTable: string | undefined,
): string {
  if (!constraint) return 'id';
  if (FK_COLUMNS[constraint]) return FK_COLUMNS[constraint];
  let rest = constraint.replace(/_fk$/, '');
  if (table && rest.startsWith(`${table}_`)) rest = rest.slice(table.length + 1);
  if (refTable) {
    const at = rest.lastIndexOf(`_${refTable}_`);
    if (at > 0) rest = rest.slice(0, at);
  }
  return rest || 'id';
}

const camelCase = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export function mapDbError(e: unknown): unknown {
  if (e instanceof VigilError) return e;
  const pe = driverError(e);
  if (!pe?.code) return e;
  const field = pe.column ?? fieldFromConstraint(pe.constraint, pe.table);
  const msg = (pe.detail ?? pe.message ?? 'database error').replace(/\s+/g, ' ');
  switch (pe.code) {
    case '23505': {
      // Key (lower((email)::text))=(a@b.c) already exists.
      const m = /Key \((.+)\)=\((.*)\) already exists/.exec(pe.detail ?? '');
      const what = field ?? 'value';
      const value = m?.[2] !== undefined ? ` '${m[2]}'` : '';
      return new ConflictError(`${what}${value} already exists`, what, { cause: e });
    }
    case '23503': {
      // A row being deleted is still referenced: a conflict, not bad input.
      if (/update or delete on table/.test(pe.message ?? '')) {
        return new ConflictError(`still referenced: ${msg}`, field, { cause: e });
      }
      const refTable = /in table "(\w+)"/.exec(pe.detail ?? '')?.[1];
      // Key (tenant_id, parent_rule_id)=(..., ...): the field is the last column. Under row-level security
      // PostgreSQL leaves the key out of the detail, so fall back to the constraint's name.
      const m = /Key \((.+)\)=\((.*)\) is not present/.exec(pe.detail ?? '');
      const column = m
        ? (m[1] ?? 'id').split(',').at(-1)!.trim()
        : fkColumn(pe.constraint, pe.table, refTable);
      const value = m ? ` ${(m[2] ?? '').split(',').at(-1)!.trim()}` : '';
      const path = camelCase(column);
      return new ValidationError(
        `${path}${value} does not exist`,
        [{ path, message: `no such ${refTable ?? 'referenced'} row` }],
        { cause: e },
      );
    }
    case '23502':
      return new ValidationError(
        `${field ?? 'a field'} is required`,
        [{ path: field ?? '', message: 'required' }],
        { cause: e },
      );
    case '23514':
      return new ValidationError(
        `${field ?? 'value'} is out of range`,
        [{ path: field ?? '', message: 'violates check constraint' }],
        { cause: e },
      );
    case '22P02':
    case '22001':
    case '22003':
    case '22007':
    case '22008':
    case '22023':
      return new ValidationError(
        `invalid value: ${pe.message ?? msg}`,
        [{ path: field ?? '', message: pe.message ?? msg }],
        { cause: e },
      );
    case '42501':
      // insufficient_privilege: a row-level security policy refused the row, or the role lacks the grant
      // (the audit trail is append-only for the application).
      return new ForbiddenError(pe.message ?? 'permission denied', { cause: e });
    case '40001':
    case '40P01':
    case '57014':
    case '08006':
    case '08001':
    case '57P01':
      return new UnavailableError(`database temporarily unavailable: ${pe.message ?? msg}`, { cause: e });
    default:
      return e;
  }
}

export function notFound(resource: string, id: string): NotFoundError {
  return new NotFoundError(resource, id);
}
