/**
 * The Sigma SQL backend: an intermediate tree (Node<FieldRef>, after the pipeline) -> a parameterised SQL
 * predicate for DuckDB or PostgreSQL. Every value, pattern, regex and number is a parameter; the only text from a
 * rule that reaches SQL are JSON path segments, as string literals after a strict check, and column names from
 * the allow-list in ir.ts.
 *
 * Semantics (two-valued, like the tree): a condition on an absent field is false; `not` is `(...) IS NOT TRUE`,
 * so `not (field contains x)` holds when the field is absent (SQL's NOT would give NULL there).
 * - strings: without wildcards an equality, `lower(field) = lower($n)` when case-insensitive (one lowering rule
 *   for both sides, the engine's own; an expression index on lower() can serve it); with wildcards
 *   `field [I]LIKE $n ESCAPE '\'` (`*` -> `%`, `?` -> `_`, literal `\ % _` escaped). ILIKE lowers both sides with
 *   the same function as lower(), so equality and patterns fold case alike. A lone `*` is `IS NOT NULL`.
 * - regex: see regex.ts; number: see dialect.ts (a field that is not a plain number compares false);
 * - null: the text is NULL (absent, or JSON null); exists: the text is (not) NULL, so a JSON null counts as absent.
 * - fieldref: both texts present, then equal / strpos / starts_with / ends-with, lowered unless cased.
 * - keyword: the pattern over the `raw` column (through fieldSql, so a caller may remap it).
 * Known engine difference: a JSON number reads as the engine's text of it; PostgreSQL keeps `1.50` as written,
 * DuckDB prints `1.5` (integers and short decimals read alike; `number` comparisons are unaffected).
 */
import {
  EVENT_TEXT_COLUMNS,
  type FieldRef,
  type Node,
  type NumberOp,
  type Pattern,
  literalText,
} from '../ir.ts';
import type { DialectSpec } from './dialect.ts';
import { duckdbDialect } from './duckdb.ts';
import { postgresDialect } from './postgres.ts';
import { translateRegex } from './regex.ts';
import { type CompileOptions, type Dialect, type SqlFragment, UnsupportedError } from './types.ts';

const DIALECTS: Record<Dialect, DialectSpec> = { duckdb: duckdbDialect, postgres: postgresDialect };
const JSON_COLUMNS: readonly string[] = ['normalized', 'original', 'metadata'];
const TEXT_COLUMNS: readonly string[] = EVENT_TEXT_COLUMNS;

/** A JSON path segment allowed into SQL as a literal: no quote, no backslash, nothing a path syntax reads. */
const SAFE_SEGMENT = /^[A-Za-z0-9_ .:@\-/()]+$/;

const OPS: Record<NumberOp, string> = { lt: '<', lte: '<=', gt: '>', gte: '>=' };

function spec(dialect: Dialect): DialectSpec {
  const s = DIALECTS[dialect];
  if (!s) throw new UnsupportedError(`unknown SQL dialect: ${String(dialect)}`);
  return s;
}

function describe(ref: FieldRef): string {
  return ref.kind === 'column' ? ref.column : `${ref.column}:${ref.paths.map((p) => p.join('.')).join('|')}`;
}

/** The TEXT expression of a field in a stored event (log_events), unqualified. */
export function defaultFieldSql(ref: FieldRef, dialect: Dialect): string {
  const s = spec(dialect);
  if (ref.kind === 'column') {
    if (ref.column === 'procid') return s.intText('"procid"');
    if (!TEXT_COLUMNS.includes(ref.column))
      throw new UnsupportedError(`field: unknown column ${String(ref.column)}`);
    return `"${ref.column}"`;
  }
  if (!JSON_COLUMNS.includes(ref.column))
    throw new UnsupportedError(`field: unknown JSON column ${String(ref.column)}`);
  if (ref.paths.length === 0) throw new UnsupportedError(`field ${describe(ref)}: no path`);
  const alts = ref.paths.map((path) => {
    if (path.length === 0) throw new UnsupportedError(`field ${describe(ref)}: empty path`);
    for (const seg of path) {
      if (typeof seg !== 'string' || !SAFE_SEGMENT.test(seg)) {
        throw new UnsupportedError(
          `field ${describe(ref)}: path segment ${JSON.stringify(seg)} is not allowed`,
        );
      }
    }
    return s.jsonText(`"${ref.column}"`, path);
  });
  return alts.length === 1 ? alts[0]! : `coalesce(${alts.join(', ')})`;
}

/** Pattern text -> LIKE pattern text: `\ % _` escaped with `\`, `*` -> `%`, `?` -> `_`. */
export function likePattern(p: Pattern): string {
  return p
    .map((x) => (x.kind === 'text' ? x.text.replace(/[\\%_]/g, '\\$&') : x.kind === 'any' ? '%' : '_'))
    .join('');
}

class Compiler {
  readonly params: unknown[] = [];

  constructor(
    private readonly s: DialectSpec,
    private readonly offset: number,
    private readonly field: (ref: FieldRef) => string,
  ) {}

  private param(value: unknown): string {
    this.params.push(value);
    return `$${this.offset + this.params.length}`;
  }

  private pattern(field: string, p: Pattern, cased: boolean): string {
    const lit = literalText(p);
    if (lit !== undefined) {
      return cased ? `${field} = ${this.param(lit)}` : `lower(${field}) = lower(${this.param(lit)})`;
    }
    if (p.every((x) => x.kind === 'any')) return `${field} IS NOT NULL`;
    return `${field} ${cased ? 'LIKE' : 'ILIKE'} ${this.param(likePattern(p))} ESCAPE '\\'`;
  }

  node(n: Node<FieldRef>): string {
    switch (n.kind) {
      case 'and':
      case 'or': {
        if (n.items.length === 0) return n.kind === 'and' ? 'TRUE' : 'FALSE';
        const parts = n.items.map((i) => this.node(i));
        return parts.length === 1 ? parts[0]! : `(${parts.join(n.kind === 'and' ? ' AND ' : ' OR ')})`;
      }
      case 'not':
        return `(${this.node(n.item)}) IS NOT TRUE`;
      case 'const':
        return n.value ? 'TRUE' : 'FALSE';
      case 'string':
        return this.pattern(this.field(n.field), n.pattern, n.cased);
      case 'keyword':
        return this.pattern(this.field({ kind: 'column', column: 'raw' }), n.pattern, n.cased);
      case 'regex': {
        const f = this.field(n.field);
        return this.s.regexSearch(f, this.param(translateRegex(n.regex, n.flags, this.s.name)));
      }
      case 'number': {
        if (!Number.isFinite(n.value))
          throw new UnsupportedError(`number: ${n.value} is not a finite number`);
        const f = this.field(n.field);
        return `${this.s.numberOf(f)} ${OPS[n.op]} ${this.s.numberParam(this.param(n.value))}`;
      }
      case 'null':
        return `${this.field(n.field)} IS NULL`;
      case 'exists':
        return `${this.field(n.field)} ${n.exists ? 'IS NOT NULL' : 'IS NULL'}`;
      case 'fieldref': {
        let a = this.field(n.field);
        let b = this.field(n.other);
        if (!n.cased) [a, b] = [`lower(${a})`, `lower(${b})`];
        switch (n.op) {
          case 'equals':
            return `${a} = ${b}`;
          case 'contains':
            return `strpos(${a}, ${b}) > 0`;
          case 'startswith':
            return `starts_with(${a}, ${b})`;
          case 'endswith':
            return this.s.endsWith(a, b);
        }
      }
    }
    throw new UnsupportedError(`unknown node kind: ${(n as { kind: string }).kind}`);
  }
}

/**
 * The tree as a SQL predicate over a `log_events` row, with positional parameters `$(offset+1)`, ...
 * Throws UnsupportedError for what the dialect cannot express (naming the construct) or a field that may not
 * reach SQL.
 */
export function compilePredicate(
  node: Node<FieldRef>,
  dialect: Dialect,
  opts: CompileOptions = {},
): SqlFragment {
  const offset = opts.paramOffset ?? 0;
  if (!Number.isInteger(offset) || offset < 0)
    throw new RangeError(`paramOffset must be a natural number: ${offset}`);
  const field = opts.fieldSql ?? ((ref: FieldRef) => defaultFieldSql(ref, dialect));
  const c = new Compiler(spec(dialect), offset, field);
  const sql = c.node(node);
  return { sql, params: c.params };
}
