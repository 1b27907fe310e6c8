import { describe, expect, it } from 'vitest';
import {
  compileCondition,
  ConditionError,
  formatNode,
  parseCondition,
  resolveCondition,
  type ConditionExpr,
} from './condition.ts';
import type { Node } from './ir.ts';

const det = (name: string): Node<string> => ({
  kind: 'string',
  field: name,
  pattern: [{ kind: 'text', text: 'x' }],
  cased: false,
});
const detections = (...names: string[]) => new Map(names.map((n) => [n, det(n)]));
const show = (cond: string, ...names: string[]) => formatNode(compileCondition(cond, detections(...names)));
const errorOf = (cond: string, ...names: string[]): ConditionError => {
  try {
    compileCondition(cond, detections(...names));
  } catch (e) {
    if (e instanceof ConditionError) return e;
    throw e;
  }
  throw new Error(`no error for '${cond}'`);
};

/** The expression tree's shape with names only. */
const shape = (e: ConditionExpr): string => {
  switch (e.kind) {
    case 'ref':
      return e.name;
    case 'of':
      return `${e.quantifier === 'one' ? '1' : 'all'}-of(${e.target})`;
    case 'not':
      return `not(${shape(e.item)})`;
    default:
      return `${e.kind}(${e.items.map(shape).join(' ')})`;
  }
};

describe('condition grammar and precedence', () => {
  it('not binds tightest, then and, then or', () => {
    expect(shape(parseCondition('a or b and not c'))).toBe('or(a and(b not(c)))');
    expect(shape(parseCondition('not a and b'))).toBe('and(not(a) b)');
    expect(shape(parseCondition('a and b or c and d'))).toBe('or(and(a b) and(c d))');
  });
  it('and/or are left-associative n-ary chains; parentheses group', () => {
    expect(shape(parseCondition('a or b or c'))).toBe('or(a b c)');
    expect(shape(parseCondition('(a or b) and c'))).toBe('and(or(a b) c)');
    expect(shape(parseCondition('not (a or b)'))).toBe('not(or(a b))');
    expect(shape(parseCondition('not not a'))).toBe('not(not(a))');
  });
  it('x of binds to the pattern only', () => {
    expect(shape(parseCondition('1 of sel* and not 1 of filter_*'))).toBe(
      'and(1-of(sel*) not(1-of(filter_*)))',
    );
    expect(shape(parseCondition('all of them or x'))).toBe('or(all-of(them) x)');
  });
  it('resolves into one simplified tree', () => {
    expect(show('a or b and not c', 'a', 'b', 'c')).toBe("or(a='x', and(b='x', not(c='x')))");
    expect(show('not not a', 'a')).toBe("a='x'");
    expect(show('(a and b) and c', 'a', 'b', 'c')).toBe("and(a='x', b='x', c='x')");
  });
  it('accepts names with dashes, dots and digits', () => {
    expect(show('sel-1 and sel.2', 'sel-1', 'sel.2')).toBe("and(sel-1='x', sel.2='x')");
  });
});

describe('quantifiers', () => {
  it('1 of pattern is the OR of matching detections, in rule order', () => {
    expect(show('1 of sel*', 'sel_b', 'filter', 'sel_a')).toBe("or(sel_b='x', sel_a='x')");
  });
  it('all of pattern is the AND', () => {
    expect(show('all of selection_*', 'selection_1', 'selection_2', 'selection')).toBe(
      "and(selection_1='x', selection_2='x')",
    );
  });
  it('a pattern can have * anywhere and matches whole names', () => {
    expect(show('1 of *_main_*', 'filter_main_a', 'x_main_', 'main')).toBe(
      "or(filter_main_a='x', x_main_='x')",
    );
    expect(show('1 of sel', 'sel', 'sel2')).toBe("sel='x'");
  });
  it('them excludes names starting with _', () => {
    expect(show('all of them', 'a', '_hidden', 'b')).toBe("and(a='x', b='x')");
    expect(show('1 of them', 'a', '_x')).toBe("a='x'");
  });
  it('a pattern still matches _ names (only them excludes them)', () => {
    expect(show('1 of _*', 'a', '_x')).toBe("_x='x'");
  });
});

describe('condition errors', () => {
  it('undefined identifier, with column', () => {
    const e = errorOf('selection and not filtr', 'selection', 'filter');
    expect(e.reason).toBe("undefined detection 'filtr'");
    expect(e.column).toBe(19);
  });
  it('a pattern matching nothing', () => {
    const e = errorOf('sel and 1 of filter_*', 'sel');
    expect(e.reason).toBe("'filter_*' matches no detection");
    expect(e.column).toBe(9);
  });
  it('them matching nothing', () => {
    expect(errorOf('1 of them', '_a').reason).toMatch(/'them' matches no detection/);
  });
  it('any of, 2 of and bare patterns are refused', () => {
    expect(errorOf('any of sel*', 'sel').reason).toMatch(/'any of' is not Sigma syntax/);
    expect(errorOf('2 of sel*', 'sel').reason).toMatch(/'2 of' is not Sigma syntax/);
    const bare = errorOf('sel and sel*', 'sel');
    expect(bare.reason).toMatch(/pattern 'sel\*' needs '1 of' or 'all of'/);
    expect(bare.column).toBe(9);
  });
  it('syntax errors say what and where', () => {
    expect(errorOf('a and', 'a').reason).toMatch(/condition ended/);
    expect(errorOf('a and', 'a').column).toBe(6);
    const paren = errorOf('(a or b', 'a', 'b');
    expect(paren.reason).toMatch(/expected '\)'/);
    expect(paren.column).toBe(8);
    const extra = errorOf('a b', 'a', 'b');
    expect(extra.reason).toMatch(/expected 'and', 'or' or end of condition but found 'b'/);
    expect(extra.column).toBe(3);
    expect(errorOf('a )', 'a').column).toBe(3);
    expect(errorOf('a and or b', 'a', 'b').reason).toMatch(/expected a detection name but found 'or'/);
    expect(errorOf('1 of', 'a').reason).toMatch(/after '1 of'/);
    expect(errorOf('all', 'a').reason).toMatch(/expected 'of' after 'all'/);
    expect(errorOf('', 'a').reason).toBe('empty condition');
    expect(errorOf('a & b', 'a', 'b').reason).toMatch(/unexpected character '&'/);
  });
  it('v1 aggregations are refused with a pointer to correlations', () => {
    const e = errorOf('selection | count() > 5', 'selection');
    expect(e.reason).toMatch(/correlation/);
    expect(e.column).toBe(11);
  });
  it('keywords are lower case: AND is read as a (missing) name', () => {
    expect(errorOf('a AND b', 'a', 'b').reason).toMatch(/found 'AND'/);
  });
});

describe('resolveCondition', () => {
  it('reuses the detection trees as given', () => {
    const d = detections('a');
    expect(resolveCondition(parseCondition('a'), d)).toBe(d.get('a'));
  });
});
