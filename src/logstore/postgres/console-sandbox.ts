/**
 * The database layers of the PostgreSQL log console. They hold without the lexical check of
 * console-guard.ts (test/logstore/postgres.test.ts runs the attacks through `run` directly):
 *
 * 1. the sandbox is verified once: the reader role and its view exist, and the role cannot call set_config()
 *    (a SELECT calling it could set `vigil.tenant_id` to another tenant mid-query, or `role` to `none`, which
 *    is the login role: migration 0009 revokes it from PUBLIC);
 * 2. its own transaction (never an ambient one) bound to the tenant by `db.tenant`, then
 *    `SET LOCAL ROLE vigil_log_reader`: SELECT on vigil_logs.logs (a security_invoker view, so the tenant
 *    policy of log_events applies) and on log_events under that policy; no other table, no file functions;
 * 3. read-only transaction, statement timeout, search_path = vigil_logs, pg_catalog (the application's
 *    tables are not even found by their bare names);
 * 4. the query wrapped as `SELECT * FROM (<query>) AS q LIMIT $1`: one statement through the extended
 *    protocol (several are a syntax error), a data-modifying WITH cannot sit in a subquery, and the server
 *    stops at the row cap;
 * 5. on PGlite, which cannot cancel a running statement (its timers are JS timeouts that cannot fire while the
 *    WASM runs), a query whose estimated cost exceeds the time budget is refused before it runs, and so is
 *    WITH RECURSIVE, whose cost the planner cannot estimate;
 * 6. PostgreSQL errors (privileges, read-only, timeout, syntax) become ValidationErrors that say why.
 */
import type { Database } from '../../db/client.ts';
import { mapDbError } from '../../db/errors.ts';
import { UnavailableError, ValidationError } from '../../domain/errors.ts';
import type { ConsoleResult } from '../../domain/log-event.ts';
import { toJsonSafe } from '../query-plan.ts';
import { tokenize } from './console-guard.ts';
import { connOf, toNumber, type Conn, type Field } from './driver.ts';

export const CONSOLE_ROLE = 'vigil_log_reader';
export const CONSOLE_SCHEMA = 'vigil_logs';

/**
 * PGlite: refuse a query whose estimated cost is above this many planner units per millisecond of the time
 * limit. Measured on PGlite 0.5: about 20 units/ms for scans and aggregates; half of that, as a margin.
 */
const PGLITE_COST_PER_MS = 10;

export class ConsoleSandbox {
  #ready: Promise<void> | undefined;
  readonly #typeNames = new Map<number, string>();

  constructor(private readonly db: Database) {}

  /** Run one query (already checked or not: these layers do not depend on it) for the tenant. */
  async run(
    tenantId: string,
    query: string,
    opts: {
      maxRows: number;
      timeoutMs: number;
      seqRange?: { afterSeq: number; uptoSeq: number } | undefined;
    },
  ): Promise<ConsoleResult> {
    const { maxRows, timeoutMs, seqRange } = opts;
    if (
      this.db.engine === 'pglite' &&
      tokenize(query).some((t) => t.kind === 'word' && t.text === 'recursive')
    ) {
      // Its cost cannot be estimated, and PGlite cannot cancel it.
      throw new ValidationError(
        'WITH RECURSIVE is not available on the embedded PostgreSQL (PGlite), which cannot enforce the time limit',
        [{ path: 'sql', message: 'recursive query on PGlite' }],
      );
    }
    await this.#checkSetup();
    if (this.db.executor !== this.db.db) {
      throw new Error('log console: must not run inside another transaction (it changes role and settings)');
    }
    const wrapped = `select * from (\n${query}\n) as q limit $1`;
    return this.db.tenant(tenantId, async (tx) => {
      const c = connOf(tx, this.db.engine);
      try {
        // The window the view shows (migration 0011), set while still the application role: the reader
        // cannot change settings, and could only narrow its own tenant's view if it could.
        await c.query(
          `select set_config('vigil.logs_after_seq', $1, true), set_config('vigil.logs_upto_seq', $2, true)`,
          [String(seqRange?.afterSeq ?? 0), String(seqRange?.uptoSeq ?? Number.MAX_SAFE_INTEGER)],
        );
        await c.exec(
          `set local role ${CONSOLE_ROLE};
           set local transaction_read_only = on;
           set local statement_timeout = ${Math.max(1, Math.round(timeoutMs))};
           set local standard_conforming_strings = on;
           set local search_path = ${CONSOLE_SCHEMA}, pg_catalog`,
        );
        if (this.db.engine === 'pglite') await this.#checkCost(c, wrapped, maxRows, timeoutMs);
        const t0 = performance.now();
        const result = await c.queryArrays(wrapped, [maxRows + 1]);
        const elapsedMs = Math.round((performance.now() - t0) * 100) / 100;
        const columns = await this.#columns(c, result.fields);
        return {
          columns,
          rows: result.rows.slice(0, maxRows).map((r) => r.map(toJsonSafe)),
          truncated: result.rows.length > maxRows,
          elapsedMs,
        };
      } catch (e) {
        throw consoleError(e, timeoutMs);
      }
    });
  }

  async #checkSetup(): Promise<void> {
    this.#ready ??= (async () => {
      const [row] = await this.db.query<{ role: boolean; set_config: boolean | null; view: boolean }>(
        `select exists (select 1 from pg_roles where rolname = $1) as role,
                case when exists (select 1 from pg_roles where rolname = $1)
                     then has_function_privilege($1, 'pg_catalog.set_config(text, text, boolean)', 'EXECUTE')
                end as set_config,
                to_regclass($2) is not null as view`,
        [CONSOLE_ROLE, `${CONSOLE_SCHEMA}.logs`],
      );
      if (!row?.role || !row.view) {
        throw new UnavailableError('the log console is not set up: run `vigil db migrate` (migration 0009)');
      }
      if (row.set_config !== false) {
        throw new UnavailableError(
          `the log console is disabled: ${CONSOLE_ROLE} may call set_config(), so a query could change its ` +
            'tenant or role. A superuser must run: REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, ' +
            'text, boolean) FROM PUBLIC; GRANT EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) ' +
            'TO vigil_app;',
        );
      }
    })();
    try {
      await this.#ready;
    } catch (e) {
      this.#ready = undefined;
      throw e;
    }
  }

  async #checkCost(c: Conn, wrapped: string, maxRows: number, timeoutMs: number): Promise<void> {
    const rows = await c.query<Record<string, unknown>>(`explain (format json) ${wrapped}`, [maxRows + 1]);
    const first = rows[0] ? Object.values(rows[0])[0] : undefined;
    const plan = (typeof first === 'string' ? JSON.parse(first) : first) as { Plan?: PlanNode }[] | undefined;
    const cost = plan?.[0]?.Plan ? planCost(plan[0].Plan) : 0;
    const budget = timeoutMs * PGLITE_COST_PER_MS;
    if (cost > budget) {
      throw new ValidationError(
        `the query is too expensive for the time limit of ${timeoutMs} ms (estimated cost ${Math.round(cost)}, ` +
          `budget ${budget}): narrow it with a time range, filters or a LIMIT`,
        [{ path: 'sql', message: 'estimated cost over the time limit' }],
      );
    }
  }

  async #columns(c: Conn, fields: Field[]): Promise<{ name: string; type: string }[]> {
    const unknown = [...new Set(fields.map((f) => f.dataTypeID))].filter((oid) => !this.#typeNames.has(oid));
    if (unknown.length) {
      const rows = await c.query<{ oid: unknown; name: string }>(
        'select t.oid::int8 as oid, format_type(t.oid, null) as name from unnest($1::oid[]) as t(oid)',
        [unknown],
      );
      for (const r of rows) this.#typeNames.set(toNumber(r.oid), r.name);
    }
    return fields.map((f) => ({ name: f.name, type: this.#typeNames.get(f.dataTypeID) ?? 'unknown' }));
  }
}

interface PlanNode {
  'Node Type'?: string;
  'Total Cost'?: number;
  'Plan Rows'?: number;
  Plans?: PlanNode[];
}

/**
 * A plan's cost for the PGlite budget: its total cost, plus what the planner leaves out for a function in
 * FROM (PostgreSQL materialises the whole result of `FROM generate_series(...)` before a LIMIT can stop it,
 * yet costs it as if it did not): its estimated rows at cpu_tuple_cost each.
 */
export function planCost(root: PlanNode): number {
  let extra = 0;
  const walk = (n: PlanNode) => {
    if (n['Node Type'] === 'Function Scan' || n['Node Type'] === 'Table Function Scan') {
      extra += (n['Plan Rows'] ?? 0) * 0.01;
    }
    for (const child of n.Plans ?? []) walk(child);
  };
  walk(root);
  return (root['Total Cost'] ?? 0) + extra;
}

/** The driver error inside drizzle's or our wrappers, if any. */
function pgError(e: unknown): { code: string; message?: string } | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 5 && cur && typeof cur === 'object'; i++) {
    const c = cur as { code?: unknown; message?: string; cause?: unknown };
    if (typeof c.code === 'string' && /^[0-9A-Z]{5}$/.test(c.code))
      return c as { code: string; message?: string };
    cur = c.cause;
  }
  return undefined;
}

/** What the console tells the user about a failed query: a ValidationError saying why. */
export function consoleError(e: unknown, timeoutMs: number): unknown {
  if (e instanceof ValidationError || e instanceof UnavailableError) return e;
  const pe = pgError(e);
  if (!pe) return e;
  const detail = (pe.message ?? '').replace(/\s+/g, ' ').trim();
  const v = (message: string) => new ValidationError(message, [{ path: 'sql', message }], { cause: e });
  switch (pe.code) {
    case '57014':
      return v(`the query was cancelled: it ran longer than the time limit of ${timeoutMs} ms`);
    case '25006':
      return v('the console is read-only: the query tried to write');
    case '42501':
      if (/function set_config/.test(detail)) return v('settings cannot be changed from the console');
      if (/function/.test(detail)) return v(`not allowed in the console: ${detail}`);
      return v('permission denied: other tables are not allowed, the console reads only the table "logs"');
    case '42P01':
      return v(`${detail}: other tables are not allowed, the console reads only the table "logs"`);
    case '42601':
      return v(`syntax error: ${detail}`);
    case '0A000':
      return v(`not supported in the console: ${detail}`);
    default:
      // Errors in the query itself: data (22), syntax or access (42), resources (53, 54), and the like.
      if (/^(0A|22|25|2B|2F|38|39|42|44|53|54)/.test(pe.code)) return v(`the query failed: ${detail}`);
      return mapDbError(e);
  }
}
