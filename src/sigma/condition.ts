/**
 * The Sigma `condition` (specification v2): a boolean expression over the named detections of a rule.
 *
 *   expr    := and ('or' and)*                    or: lowest precedence, left-associative
 *   and     := unary ('and' unary)*
 *   unary   := 'not' unary | primary              not: binds tightest
 *   primary := '(' expr ')' | quant | name
 *   quant   := ('1' | 'all') 'of' (name-or-pattern | 'them')
 *
 * A name-or-pattern may contain `*` (any run of characters) only after `1 of` / `all of`. `them` is every
 * detection whose name does not start with `_`. Keywords are lower case, as in the specification.
 * Refused: `any of` and other counts (`2 of`), and Sigma v1 aggregations (`| count() > 5`: use a correlation).
 */
import { and, not, or, type Node, type Pattern } from './ir.ts';
import { formatPattern } from './modifiers.ts';

/** A condition problem; `column` is 1-based in the condition text. */
export class ConditionError extends Error {
  constructor(
    readonly reason: string,
    readonly column: number,
  ) {
    super(`${reason} (column ${column})`);
  }
}

export type ConditionExpr =
  | { readonly kind: 'ref'; readonly name: string; readonly column: number }
  | {
      readonly kind: 'of';
      readonly quantifier: 'one' | 'all';
      /** A name, a pattern with `*`, or `them`. */
      readonly target: string;
      readonly column: number;
    }
  | { readonly kind: 'and' | 'or'; readonly items: readonly ConditionExpr[] }
  | { readonly kind: 'not'; readonly item: ConditionExpr };

interface Token {
  readonly kind: '(' | ')' | 'word' | 'pipe';
  readonly text: string;
  readonly column: number;
}

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ kind: c, text: c, column: i + 1 });
      i++;
    } else if (c === '|') {
      out.push({ kind: 'pipe', text: c, column: i + 1 });
      break; // the rest is a v1 aggregation, refused by the parser
    } else {
      const start = i;
      while (i < text.length && !/[\s()|]/.test(text[i]!)) i++;
      const word = text.slice(start, i);
      if (!/^[A-Za-z0-9_*.-]+$/.test(word)) {
        const bad = [...word].findIndex((ch) => !/[A-Za-z0-9_*.-]/.test(ch));
        throw new ConditionError(`unexpected character '${word[bad]}'`, start + bad + 1);
      }
      out.push({ kind: 'word', text: word, column: start + 1 });
    }
  }
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'of', 'them']);

/** Parses a condition into an expression tree. Throws ConditionError with the column of the problem. */
export function parseCondition(text: string): ConditionExpr {
  const tokens = tokenize(text);
  let pos = 0;
  const end = text.length + 1;
  const peek = () => tokens[pos];
  const isWord = (t: Token | undefined, w: string) => t?.kind === 'word' && t.text === w;
  const where = (t: Token | undefined) => (t ? `'${t.text}'` : 'end of condition');

  const expr = (): ConditionExpr => {
    const items = [conj()];
    while (isWord(peek(), 'or')) {
      pos++;
      items.push(conj());
    }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  };
  const conj = (): ConditionExpr => {
    const items = [unary()];
    while (isWord(peek(), 'and')) {
      pos++;
      items.push(unary());
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  };
  const unary = (): ConditionExpr => {
    if (isWord(peek(), 'not')) {
      pos++;
      return { kind: 'not', item: unary() };
    }
    return primary();
  };
  const primary = (): ConditionExpr => {
    const t = peek();
    if (!t)
      throw new ConditionError('expected a detection name, quantifier or ( but the condition ended', end);
    if (t.kind === 'pipe') {
      throw new ConditionError(
        "aggregation expressions ('| count() ...', Sigma v1) are not supported: use a correlation rule",
        t.column,
      );
    }
    if (t.kind === '(') {
      pos++;
      const e = expr();
      const close = peek();
      if (close?.kind !== ')')
        throw new ConditionError(`expected ')' but found ${where(close)}`, close?.column ?? end);
      pos++;
      return e;
    }
    if (t.kind === ')') throw new ConditionError("unexpected ')'", t.column);
    const next = tokens[pos + 1];
    if (isWord(next, 'of')) {
      let quantifier: 'one' | 'all';
      if (t.text === '1') quantifier = 'one';
      else if (t.text === 'all') quantifier = 'all';
      else if (t.text === 'any')
        throw new ConditionError("'any of' is not Sigma syntax: use '1 of'", t.column);
      else throw new ConditionError(`'${t.text} of' is not Sigma syntax: only '1 of' and 'all of'`, t.column);
      pos += 2;
      const target = peek();
      if (target?.kind !== 'word' || (KEYWORDS.has(target.text) && target.text !== 'them')) {
        throw new ConditionError(
          `expected a detection name, pattern or 'them' after '${t.text} of' but found ${where(target)}`,
          target?.column ?? end,
        );
      }
      pos++;
      return { kind: 'of', quantifier, target: target.text, column: t.column };
    }
    if (KEYWORDS.has(t.text)) {
      throw new ConditionError(`expected a detection name but found '${t.text}'`, t.column);
    }
    if (t.text === 'all' || t.text === '1' || t.text === 'any') {
      throw new ConditionError(
        `expected 'of' after '${t.text}' but found ${where(next)}`,
        next?.column ?? end,
      );
    }
    if (t.text.includes('*')) {
      throw new ConditionError(`pattern '${t.text}' needs '1 of' or 'all of' before it`, t.column);
    }
    pos++;
    return { kind: 'ref', name: t.text, column: t.column };
  };

  if (tokens.length === 0) throw new ConditionError('empty condition', 1);
  const e = expr();
  const rest = peek();
  if (rest) {
    if (rest.kind === 'pipe') {
      throw new ConditionError(
        "aggregation expressions ('| count() ...', Sigma v1) are not supported: use a correlation rule",
        rest.column,
      );
    }
    throw new ConditionError(
      `expected 'and', 'or' or end of condition but found '${rest.text}'`,
      rest.column,
    );
  }
  return e;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/**
 * Resolves a condition over the named detections into one tree. Detections are kept in their order in the
 * rule (the order `1 of`/`all of` use). Throws ConditionError for undefined names and empty patterns.
 */
export function resolveCondition(
  expr: ConditionExpr,
  detections: ReadonlyMap<string, Node<string>>,
): Node<string> {
  switch (expr.kind) {
    case 'ref': {
      const d = detections.get(expr.name);
      if (!d) throw new ConditionError(`undefined detection '${expr.name}'`, expr.column);
      return d;
    }
    case 'of': {
      let names: string[];
      if (expr.target === 'them') {
        names = [...detections.keys()].filter((n) => !n.startsWith('_'));
        if (names.length === 0) throw new ConditionError("'them' matches no detection", expr.column);
      } else {
        const re = globToRegExp(expr.target);
        names = [...detections.keys()].filter((n) => re.test(n));
        if (names.length === 0) {
          throw new ConditionError(`'${expr.target}' matches no detection`, expr.column);
        }
      }
      const nodes = names.map((n) => detections.get(n)!);
      return expr.quantifier === 'all' ? and(...nodes) : or(...nodes);
    }
    case 'and':
      return and(...expr.items.map((i) => resolveCondition(i, detections)));
    case 'or':
      return or(...expr.items.map((i) => resolveCondition(i, detections)));
    case 'not':
      return not(resolveCondition(expr.item, detections));
  }
}

/** Parses and resolves one condition text. Throws ConditionError. */
export function compileCondition(text: string, detections: ReadonlyMap<string, Node<string>>): Node<string> {
  return resolveCondition(parseCondition(text), detections);
}

/**
 * A tree as compact text, for messages, `sigma check` output and tests: `and(A='x', or(B='*y*', not(C=null)))`.
 * Strings are in Sigma wildcard syntax; `c'...'` is a cased match.
 */
export function formatNode(node: Node<string>): string {
  const pat = (p: Pattern, cased: boolean) => `${cased ? 'c' : ''}'${formatPattern(p)}'`;
  switch (node.kind) {
    case 'and':
    case 'or':
      return `${node.kind}(${node.items.map(formatNode).join(', ')})`;
    case 'not':
      return `not(${formatNode(node.item)})`;
    case 'const':
      return String(node.value);
    case 'string':
      return `${node.field}=${pat(node.pattern, node.cased)}`;
    case 'keyword':
      return pat(node.pattern, node.cased);
    case 'regex': {
      const flags = (['i', 'm', 's'] as const).filter((f) => node.flags[f]).join('');
      return `${node.field}~/${node.regex}/${flags}`;
    }
    case 'number':
      return `${node.field}${{ gt: '>', gte: '>=', lt: '<', lte: '<=' }[node.op]}${node.value}`;
    case 'null':
      return `${node.field}=null`;
    case 'exists':
      return `${node.exists ? '' : '!'}exists(${node.field})`;
    case 'fieldref':
      return `${node.field} ${node.op}${node.cased ? ' cased' : ''} field(${node.other})`;
  }
}
