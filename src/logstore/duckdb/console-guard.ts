/**
 * The SQL console's static check for DuckDB: the statement is parsed by DuckDB itself
 * (`json_serialize_sql`, which refuses anything but SELECT) and its syntax tree is walked with allow-lists:
 *
 * - exactly one statement; query nodes SELECT, set operations (UNION...) and recursive CTEs only;
 * - table references: unqualified `logs` (the tenant's events, a CTE the store puts around the query) or a
 *   CTE of the query in scope where it is referenced; subqueries, joins, VALUES; no time travel (`AT`);
 * - table functions: only `unnest`, `json_each`, `json_tree` (they read values, not files or the catalog);
 *   `read_csv`, `glob`, `range`, `query`, `duckdb_tables()` and every other are refused;
 * - scalar and aggregate functions: any built-in but those that read settings, variables or the environment,
 *   run SQL given as text, have side effects, or make huge values from small inputs; never schema-qualified
 *   other than `main.`;
 * - no parameters (`?`, `$1`): the store binds its own;
 * - CTE names are plain identifiers that shadow no relation of the database (nor `logs`), so a CTE that is not
 *   visible somewhere (DuckDB does not let a non-recursive CTE see itself) cannot fall through to a real table.
 *
 * The store then runs the canonical SQL DuckDB prints back from the checked tree (not the user's text), wrapped
 * so the engine applies the tenant filter, checks the wrapped statement again, and runs it on a connection of
 * an instance opened with external access disabled and its configuration locked.
 */
import { ValidationError } from '../../domain/errors.ts';

export const CONSOLE_MAX_SQL_LENGTH = 100_000;

/** Table functions that only read values of the query. */
const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set(['unnest', 'json_each', 'json_tree']);

/** Functions refused by name. */
const DENIED_FUNCTIONS: ReadonlySet<string> = new Set([
  // settings, variables, environment, session
  'getenv',
  'current_setting',
  'getvariable',
  'current_query',
  'current_database',
  'current_catalog',
  'current_schema',
  'current_schemas',
  'in_search_path',
  'current_user',
  'current_role',
  'session_user',
  'user',
  // SQL given as text, plans, serialized statements
  'query',
  'query_table',
  'json_serialize_sql',
  'json_deserialize_sql',
  'json_serialize_plan',
  'json_execute_serialized_sql',
  'sql_auto_complete',
  // side effects and state
  'nextval',
  'currval',
  'setseed',
  'write_log',
  'sleep_ms',
  'checkpoint',
  'force_checkpoint',
  'truncate_duckdb_logs',
  'parse_duckdb_log_message',
  // large values from small inputs (the time limit does not bound memory)
  'repeat',
  'repeat_row',
  'range',
  'generate_series',
  'list_resize',
  'array_resize',
  'lpad',
  'rpad',
]);

/** Functions refused by prefix: catalog and system functions, file readers, extension entry points. */
const DENIED_PREFIXES = [
  'duckdb_',
  'pragma_',
  'read_',
  'parquet_',
  'iceberg_',
  'delta_',
  'sqlite_',
  'postgres_',
  'mysql_',
  'glob',
  'sniff_',
  'which_secret',
  'enable_',
  'disable_',
  'icu_calendar',
  'pg_',
  '__internal',
  'json_execute',
];

const QUERY_NODES: ReadonlySet<string> = new Set(['SELECT_NODE', 'SET_OPERATION_NODE', 'RECURSIVE_CTE_NODE']);
const TABLE_REF_TYPES: ReadonlySet<string> = new Set([
  'BASE_TABLE',
  'SUBQUERY',
  'JOIN',
  'TABLE_FUNCTION',
  'EXPRESSION_LIST',
  'EMPTY',
  'EMPTY_FROM',
  'SHOW_REF',
  'PIVOT',
  'COLUMN_DATA',
  'DELIM_GET',
  'CTE',
  'INVALID',
]);
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function refuse(message: string): never {
  throw new ValidationError(`console: ${message}`, [{ path: 'sql', message }]);
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

export interface GuardOptions {
  /** Relation names of the database (any schema or catalog) a CTE may not take. */
  reservedNames: ReadonlySet<string>;
}

/** Check the output of `json_serialize_sql` for the user's query; returns nothing or throws a ValidationError. */
export function checkSerializedSelect(serialized: string, opts: GuardOptions): void {
  const root = parseSerialized(serialized);
  const statements = root.statements;
  if (!Array.isArray(statements) || statements.length === 0) refuse('no statement found');
  if (statements.length > 1) refuse(`only one statement is allowed (found ${statements.length})`);
  const stmt = statements[0];
  if (!isObject(stmt) || !isObject(stmt.node)) refuse('unexpected statement shape');
  if (Array.isArray(stmt.named_param_map) && stmt.named_param_map.length > 0)
    refuse('parameters are not allowed');
  new Walker(opts).node(stmt.node, ['logs']);
}

/**
 * Check the serialized wrapped statement the store is about to run: its one CTE is exactly the store's
 * tenant CTE (compared with `expectedCte`, the serialized template), and the rest passes the same checks.
 */
export function checkSerializedWrapper(serialized: string, expectedCte: string, opts: GuardOptions): void {
  const root = parseSerialized(serialized);
  const statements = root.statements;
  if (!Array.isArray(statements) || statements.length !== 1)
    refuse('internal: wrapped query is not one statement');
  const stmt = statements[0];
  if (!isObject(stmt) || !isObject(stmt.node)) refuse('internal: unexpected wrapped statement');
  const node = stmt.node;
  const cteMap = isObject(node.cte_map) ? node.cte_map.map : undefined;
  if (!Array.isArray(cteMap) || cteMap.length !== 1) refuse('internal: wrapped query lost its tenant scope');
  const entry = cteMap[0];
  if (!isObject(entry) || str(entry.key).toLowerCase() !== 'logs')
    refuse('internal: wrapped query lost its tenant scope');
  if (canonicalJson(entry.value ?? null) !== expectedCte)
    refuse('internal: wrapped query lost its tenant scope');
  const rest: JsonObject = { ...node, cte_map: { map: [] } };
  new Walker(opts).node(rest, ['logs']);
}

/** The serialized tenant CTE of a wrapper, without source positions, for comparison. */
export function serializedTenantCte(serialized: string): string {
  const root = parseSerialized(serialized);
  const stmt = Array.isArray(root.statements) ? root.statements[0] : undefined;
  const node = isObject(stmt) ? stmt.node : undefined;
  const map = isObject(node) && isObject(node.cte_map) ? node.cte_map.map : undefined;
  const entry = Array.isArray(map) ? map[0] : undefined;
  if (!isObject(entry)) throw new Error('tenant CTE template did not serialize as expected');
  return canonicalJson(entry.value ?? null);
}

function canonicalJson(v: Json): string {
  return JSON.stringify(v, (key, value: unknown) => (key === 'query_location' ? undefined : value));
}

function parseSerialized(serialized: string): JsonObject {
  let root: Json;
  try {
    root = JSON.parse(serialized) as Json;
  } catch {
    refuse('the query could not be parsed');
  }
  if (!isObject(root)) refuse('the query could not be parsed');
  if (root.error === true) {
    const message = str(root.error_message);
    if (/only select statements/i.test(message)) {
      refuse(
        'only a single read-only SELECT is allowed (writes, DDL, SET, PRAGMA, COPY, ATTACH, INSTALL, LOAD, EXPORT, EXPLAIN and CALL are refused)',
      );
    }
    refuse(`syntax error: ${message || str(root.error_type) || 'unknown'}`);
  }
  return root;
}

class Walker {
  constructor(private readonly opts: GuardOptions) {}

  /** Walk any value, dispatching on the shape of each object. */
  any(v: Json | undefined, scope: readonly string[]): void {
    if (Array.isArray(v)) {
      for (const item of v) this.any(item, scope);
      return;
    }
    if (!isObject(v)) return;
    if (typeof v.class === 'string') return this.expression(v, scope);
    const type = str(v.type);
    if ('modifiers' in v || QUERY_NODES.has(type) || type.endsWith('_NODE')) return this.node(v, scope);
    if (TABLE_REF_TYPES.has(type) || ('sample' in v && 'alias' in v)) return this.tableRef(v, scope);
    for (const child of Object.values(v)) this.any(child, scope);
  }

  /** A query node: its CTEs are visible in its body and in the CTEs defined after them. */
  node(v: JsonObject, scope: readonly string[]): void {
    const type = str(v.type);
    if (!QUERY_NODES.has(type)) refuse(`query construct ${type || 'unknown'} is not allowed`);
    let inner = [...scope];
    const cteMap = isObject(v.cte_map) ? v.cte_map.map : undefined;
    if (cteMap !== undefined && cteMap !== null) {
      if (!Array.isArray(cteMap)) refuse('unexpected WITH clause shape');
      for (const entry of cteMap) {
        if (!isObject(entry)) refuse('unexpected WITH clause shape');
        const name = str(entry.key).toLowerCase();
        this.cteName(name);
        // A CTE does not see itself (except the recursive part of a recursive CTE, handled by its node).
        this.cteBody(entry.value, inner, name);
        inner = [...inner, name];
      }
    }
    if (type === 'RECURSIVE_CTE_NODE') {
      const name = str(v.cte_name).toLowerCase();
      this.any(v.left, inner);
      this.any(v.right, name ? [...inner, name] : inner);
      for (const [k, child] of Object.entries(v)) {
        if (k !== 'left' && k !== 'right' && k !== 'cte_map') this.any(child, inner);
      }
      return;
    }
    for (const [k, child] of Object.entries(v)) {
      if (k !== 'cte_map') this.any(child, inner);
    }
  }

  private cteBody(value: Json | undefined, scope: readonly string[], name: string): void {
    if (!isObject(value)) refuse(`unexpected shape of CTE ${name}`);
    const query = value.query;
    if (!isObject(query) || !isObject(query.node)) refuse(`CTE ${name} must be a SELECT`);
    const body = query.node;
    if (str(body.type) === 'RECURSIVE_CTE_NODE' && str(body.cte_name).toLowerCase() !== name) {
      refuse(`unexpected recursive CTE in ${name}`);
    }
    for (const [k, child] of Object.entries(value)) {
      if (k !== 'query') this.any(child, scope);
    }
    this.any(query, scope);
  }

  private cteName(name: string): void {
    if (!IDENTIFIER.test(name)) refuse(`CTE name "${name}" must be a plain identifier (letters, digits, _)`);
    if (name === 'logs') refuse('a CTE may not be named logs: logs is the table of your events');
    if (this.opts.reservedNames.has(name))
      refuse(`a CTE may not be named ${name}: the name is taken by the system`);
  }

  tableRef(v: JsonObject, scope: readonly string[]): void {
    const type = str(v.type);
    switch (type) {
      case 'BASE_TABLE': {
        const name = str(v.table_name).toLowerCase();
        if (str(v.schema_name) !== '' || str(v.catalog_name) !== '') {
          refuse(
            `only the table logs can be queried: qualified names such as ${qualified(v)} are not allowed`,
          );
        }
        if (!scope.includes(name)) {
          refuse(
            `only the table logs (or a CTE of your query) can be queried: "${str(v.table_name)}" is not allowed`,
          );
        }
        if (v.at_clause !== null && v.at_clause !== undefined) refuse('AT (time travel) is not allowed');
        for (const [k, child] of Object.entries(v)) {
          if (k !== 'table_name' && k !== 'schema_name' && k !== 'catalog_name') this.any(child, scope);
        }
        return;
      }
      case 'SUBQUERY':
      case 'JOIN':
      case 'EXPRESSION_LIST':
      case 'EMPTY':
      case 'EMPTY_FROM':
        for (const child of Object.values(v)) this.any(child, scope);
        return;
      case 'TABLE_FUNCTION': {
        const fn = v.function;
        const name = isObject(fn) ? str(fn.function_name).toLowerCase() : '';
        if (
          !ALLOWED_TABLE_FUNCTIONS.has(name) ||
          (isObject(fn) && (str(fn.schema) !== '' || str(fn.catalog) !== ''))
        ) {
          refuse(
            `table function ${name || '(unknown)'}() is not allowed: only logs can be read (unnest, json_each and json_tree are the table functions allowed)`,
          );
        }
        for (const child of Object.values(v)) this.any(child, scope);
        return;
      }
      case 'SHOW_REF':
        return refuse('SHOW, DESCRIBE and SUMMARIZE are not allowed: query the table logs');
      case 'PIVOT':
        return refuse('PIVOT and UNPIVOT are not allowed: use GROUP BY');
      default:
        return refuse(`table reference ${type || 'unknown'} is not allowed`);
    }
  }

  expression(v: JsonObject, scope: readonly string[]): void {
    const cls = str(v.class);
    if (cls === 'PARAMETER') refuse('parameters ($1, ?) are not allowed');
    if (typeof v.function_name === 'string') this.fn(v);
    for (const child of Object.values(v)) this.any(child, scope);
  }

  private fn(v: JsonObject): void {
    const name = str(v.function_name).toLowerCase();
    const schema = str(v.schema).toLowerCase();
    const catalog = str(v.catalog).toLowerCase();
    if ((schema !== '' && schema !== 'main') || (catalog !== '' && catalog !== 'system')) {
      refuse(
        `function ${[catalog, schema, name].filter(Boolean).join('.')}() is not allowed: functions may not be qualified`,
      );
    }
    if (DENIED_FUNCTIONS.has(name) || DENIED_PREFIXES.some((p) => name.startsWith(p))) {
      refuse(`function ${name}() is not allowed in the console`);
    }
  }
}

function qualified(v: JsonObject): string {
  return [str(v.catalog_name), str(v.schema_name), str(v.table_name)].filter(Boolean).join('.');
}
