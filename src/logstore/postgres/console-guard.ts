/**
 * The lexical pre-check of the PostgreSQL log console: a tokenizer that knows PostgreSQL's comments, string
 * literals (standard, E'', dollar-quoted), quoted identifiers and parameters, so that what it refuses is a
 * real keyword or name and never the inside of a string.
 *
 * It is the first and friendliest layer, not the boundary: the query then runs as `vigil_log_reader` (SELECT on
 * the `logs` view only), in a read-only transaction, under row-level security, with a statement timeout and
 * wrapped in a subquery. What this layer adds is a clear message for the common refusals, and a denial of
 * names that the role's privileges alone would allow but a log console has no business calling (the pg_*
 * catalogs and functions, settings, functions that run SQL text, large objects).
 */
import { ValidationError } from '../../domain/errors.ts';

export const MAX_CONSOLE_SQL_LENGTH = 100_000;

export type TokenKind =
  'word' | 'quoted' | 'string' | 'number' | 'param' | 'op' | 'semicolon' | 'lparen' | 'rparen';

export interface Token {
  kind: TokenKind;
  /** Lower-cased for words; the unescaped name for quoted identifiers; the source text otherwise. */
  text: string;
  start: number;
  end: number;
}

function refuse(message: string): ValidationError {
  return new ValidationError(message, [{ path: 'sql', message }]);
}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Split `sql` into tokens, dropping whitespace and comments. Throws on unterminated literals. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const n = sql.length;
  let i = 0;
  const push = (kind: TokenKind, text: string, start: number) => tokens.push({ kind, text, start, end: i });

  /** Position after a '...' literal opening at `at` (the quote); `backslash` for E'' strings. */
  const skipQuoted = (at: number, quote: string, backslash: boolean, what: string): number => {
    let j = at + 1;
    for (;;) {
      if (j >= n) throw refuse(`unterminated ${what}`);
      const c = sql[j];
      if (backslash && c === '\\') {
        j += 2;
        continue;
      }
      if (c === quote) {
        if (sql[j + 1] === quote) {
          j += 2;
          continue;
        }
        return j + 1;
      }
      j += 1;
    }
  };

  while (i < n) {
    const c = sql[i]!;
    const start = i;
    if (/[ \t\n\r\f\v]/.test(c)) {
      i += 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < n && sql[i] !== '\n' && sql[i] !== '\r') i += 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      do {
        if (i >= n) throw refuse('unterminated /* comment');
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth += 1;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth -= 1;
          i += 2;
        } else {
          i += 1;
        }
      } while (depth > 0);
    } else if (c === "'") {
      i = skipQuoted(i, "'", false, 'string literal');
      push('string', sql.slice(start, i), start);
    } else if (/[eEbBxXnN]/.test(c) && sql[i + 1] === "'") {
      i = skipQuoted(i + 1, "'", c === 'e' || c === 'E', 'string literal');
      push('string', sql.slice(start, i), start);
    } else if ((c === 'u' || c === 'U') && sql[i + 1] === '&' && (sql[i + 2] === "'" || sql[i + 2] === '"')) {
      if (sql[i + 2] === '"')
        throw refuse('Unicode-escaped identifiers (U&"...") are not supported in the console');
      i = skipQuoted(i + 2, "'", false, 'string literal');
      push('string', sql.slice(start, i), start);
    } else if (c === '"') {
      i = skipQuoted(i, '"', false, 'quoted identifier');
      push('quoted', sql.slice(start + 1, i - 1).replace(/""/g, '"'), start);
    } else if (c === '$' && /[0-9]/.test(sql[i + 1] ?? '')) {
      i += 1;
      while (i < n && /[0-9]/.test(sql[i]!)) i += 1;
      push('param', sql.slice(start, i), start);
    } else if (c === '$') {
      // Dollar quoting: $$...$$ or $tag$...$tag$.
      const m = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i, i + 130));
      if (!m) throw refuse(`unexpected "$" at position ${i + 1}`);
      const close = sql.indexOf(m[0], i + m[0].length);
      if (close < 0) throw refuse('unterminated dollar-quoted string');
      i = close + m[0].length;
      push('string', sql.slice(start, i), start);
    } else if (IDENT_START.test(c)) {
      while (i < n && IDENT_PART.test(sql[i]!)) i += 1;
      push('word', sql.slice(start, i).toLowerCase(), start);
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      // Digits, a fraction, an exponent; 0x/0o/0b and `_` separators. Letters after it are a separate word
      // (so `1into` cannot hide a keyword from this check).
      const m = /^(0[xXoObB][0-9A-Fa-f_]+|[0-9_]*\.?[0-9_]+([eE][-+]?[0-9]+)?\.?)/.exec(
        sql.slice(i, i + 400),
      );
      i += Math.max(1, m?.[0].length ?? 1);
      push('number', sql.slice(start, i), start);
    } else if (c === ';') {
      i += 1;
      push('semicolon', ';', start);
    } else if (c === '(') {
      i += 1;
      push('lparen', '(', start);
    } else if (c === ')') {
      i += 1;
      push('rparen', ')', start);
    } else {
      i += 1;
      push('op', c, start);
    }
  }
  return tokens;
}

/** Statements that are not a query: named in the refusal. */
const NOT_A_QUERY: Record<string, string> = {
  insert: 'writes data',
  update: 'writes data',
  delete: 'writes data',
  merge: 'writes data',
  upsert: 'writes data',
  truncate: 'writes data',
  copy: 'reads or writes files',
  drop: 'changes the schema',
  create: 'changes the schema',
  alter: 'changes the schema',
  comment: 'changes the schema',
  grant: 'changes privileges',
  revoke: 'changes privileges',
  set: 'changes a setting',
  reset: 'changes a setting',
  show: 'reads a setting',
  load: 'loads a library',
  do: 'runs code',
  call: 'runs code',
  execute: 'runs code',
  prepare: 'runs code',
  deallocate: 'runs code',
  explain: 'is not a query',
  begin: 'controls the transaction',
  start: 'controls the transaction',
  commit: 'controls the transaction',
  end: 'controls the transaction',
  rollback: 'controls the transaction',
  abort: 'controls the transaction',
  savepoint: 'controls the transaction',
  release: 'controls the transaction',
  lock: 'takes locks',
  listen: 'is not a query',
  notify: 'is not a query',
  unlisten: 'is not a query',
  vacuum: 'is maintenance',
  analyze: 'is maintenance',
  cluster: 'is maintenance',
  reindex: 'is maintenance',
  refresh: 'is maintenance',
  checkpoint: 'is maintenance',
  discard: 'changes the session',
  import: 'changes the schema',
  security: 'changes the schema',
};

const QUERY_STARTS = new Set(['select', 'with', 'values', 'table']);

/** Words that make a query write (a data-modifying WITH, SELECT INTO, FOR UPDATE), wherever they appear. */
const WRITE_WORDS = new Set([
  'insert',
  'update',
  'delete',
  'merge',
  'truncate',
  'drop',
  'create',
  'alter',
  'into',
]);

/** Functions that run SQL given as text: a way around every name this guard checks. */
const SQL_RUNNERS = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'ts_rewrite',
]);

/** Why a name is refused, or undefined when it is allowed. */
export function deniedName(name: string): string | undefined {
  const n = name.toLowerCase();
  if (n.startsWith('pg_') || n === 'information_schema') {
    return `"${name}" is not allowed: system catalogs and server functions (pg_*) are not available in the console`;
  }
  if (n === 'set_config' || n === 'current_setting') {
    return `"${name}" is not allowed: settings cannot be read or changed from the console`;
  }
  if (SQL_RUNNERS.has(n)) return `"${name}" is not allowed: functions that run SQL text are not available`;
  if (n.startsWith('lo_') || n === 'loread' || n === 'lowrite' || n.startsWith('dblink')) {
    return `"${name}" is not allowed: file, large-object and remote access are not available in the console`;
  }
  return undefined;
}

/**
 * Check a console query and return it ready to wrap: one SELECT (or WITH / VALUES / TABLE), trailing
 * semicolons and comments removed. Throws a ValidationError saying why otherwise.
 */
export function checkConsoleSql(sql: string): string {
  if (typeof sql !== 'string') throw refuse('the query must be a string');
  if (sql.length > MAX_CONSOLE_SQL_LENGTH) {
    throw refuse(`the query is longer than ${MAX_CONSOLE_SQL_LENGTH} characters`);
  }
  const tokens = tokenize(sql);
  // Trailing semicolons end the one statement; anything after a semicolon is a second statement.
  let last = tokens.length;
  while (last > 0 && tokens[last - 1]!.kind === 'semicolon') last -= 1;
  const body = tokens.slice(0, last);
  if (body.length === 0) throw refuse('the query is empty');
  if (body.some((t) => t.kind === 'semicolon')) {
    throw refuse('only one statement is allowed: remove the ";" and what follows it');
  }

  const first = body.find((t) => t.kind !== 'lparen');
  if (!first || first.kind !== 'word' || !QUERY_STARTS.has(first.text)) {
    const word = first?.kind === 'word' ? first.text : undefined;
    const why = word ? NOT_A_QUERY[word] : undefined;
    throw refuse(
      word && why
        ? `only SELECT queries are allowed: ${word.toUpperCase()} ${why}`
        : 'only SELECT queries are allowed (start with SELECT, WITH, VALUES or TABLE)',
    );
  }

  let depth = 0;
  for (const t of body) {
    if (t.kind === 'lparen') depth += 1;
    else if (t.kind === 'rparen' && --depth < 0) throw refuse('unbalanced parentheses: an unexpected ")"');
    else if (t.kind === 'param') throw refuse(`parameters (${t.text}) are not supported in the console`);
    else if (t.kind === 'word' && WRITE_WORDS.has(t.text)) {
      throw refuse(
        t.text === 'into'
          ? 'SELECT INTO is not allowed: the console is read-only'
          : `${t.text.toUpperCase()} is not allowed: the console is read-only`,
      );
    }
    if (t.kind === 'word' || t.kind === 'quoted') {
      const why = deniedName(t.text);
      if (why) throw refuse(why);
    }
  }
  if (depth !== 0) throw refuse('unbalanced parentheses: a "(" is not closed');
  if (definesLogs(body)) {
    throw refuse(
      'a WITH query named "logs" is not allowed: it would hide the table "logs" (name it otherwise)',
    );
  }
  return sql.slice(body[0]!.start, body.at(-1)!.end);
}

/** Whether the query defines a WITH query named `logs` (`logs [(columns)] AS [[NOT] MATERIALIZED] (`). */
function definesLogs(tokens: Token[]): boolean {
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (!((t.kind === 'word' || t.kind === 'quoted') && t.text.toLowerCase() === 'logs')) continue;
    const prev = tokens[k - 1];
    if (
      !prev ||
      !((prev.kind === 'word' && (prev.text === 'with' || prev.text === 'recursive')) || prev.text === ',')
    ) {
      continue;
    }
    let j = k + 1;
    if (tokens[j]?.kind === 'lparen') {
      let depth = 0;
      for (; j < tokens.length; j++) {
        if (tokens[j]!.kind === 'lparen') depth += 1;
        else if (tokens[j]!.kind === 'rparen' && --depth === 0) break;
      }
      j += 1;
    }
    if (tokens[j]?.kind !== 'word' || tokens[j]!.text !== 'as') continue;
    j += 1;
    if (tokens[j]?.text === 'not') j += 1;
    if (tokens[j]?.text === 'materialized') j += 1;
    if (tokens[j]?.kind === 'lparen') return true;
  }
  return false;
}
