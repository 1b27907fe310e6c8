/**
 * The Sigma intermediate tree: what the parser produces from a rule's `detection` and `condition`, what a
 * processing pipeline rewrites (Sigma field names -> places in a stored event, plus the logsource's own
 * condition), and what a backend turns into SQL. Pure data: immutable nodes with a `kind` discriminant.
 *
 *   parser.ts      YAML -> SigmaRule { detection: Node<string> }          (field = the rule's own field name)
 *   pipeline.ts    Node<string> -> Node<FieldRef>                          (field = where the value is stored)
 *   backends/*     Node<FieldRef> -> { sql, params }                       (values only as parameters)
 *
 * Sigma's matching semantics are resolved BEFORE a backend sees the tree, so backends stay small:
 * - every modifier that changes the VALUE (contains/startswith/endswith/all/windash/base64/base64offset/
 *   wide/utf16 variants/expand) has already produced plain patterns, alternatives (`or`) or conjunctions (`and`);
 * - a string value is a Pattern: literal text and unescaped wildcards (`*` any run, `?` one character);
 *   `contains` is `*value*`, and so on. Strings match case-INsensitively unless `cased`.
 * - a plain number or boolean value in a rule (EventID: 4688) is an exact `string` match of its text form;
 *   only gt/gte/lt/lte make a `number` comparison.
 * - a `null` value is a `null` node: the field is absent or JSON null (`''` is an ordinary empty-string match);
 * - a keyword (a list of values with no field) is a `keyword` node, searched in the event's full text.
 * - `cidr` is expanded into string prefix patterns (10.0.0.0/8 -> `10.*`; /12 -> 16 patterns), exact for IPv4 text,
 *   so every dialect matches networks the same way without an inet type or extension.
 */

/** Text and wildcards. `*` matches any run of characters (also none), `?` exactly one. */
export type PatternPart = { kind: 'text'; text: string } | { kind: 'any' } | { kind: 'one' };
export type Pattern = readonly PatternPart[];

/** Numeric comparison operators (gt/gte/lt/lte modifiers). */
export type NumberOp = 'lt' | 'lte' | 'gt' | 'gte';

/** Regular-expression flags of the `re` modifier's sub-modifiers (re|i, re|m, re|s). */
export interface RegexFlags {
  readonly i: boolean;
  readonly m: boolean;
  readonly s: boolean;
}

/**
 * The tree, generic in how a field is named: `string` (the rule's field name) before the pipeline,
 * FieldRef after it.
 */
export type Node<F> =
  | { readonly kind: 'and'; readonly items: readonly Node<F>[] }
  | { readonly kind: 'or'; readonly items: readonly Node<F>[] }
  | { readonly kind: 'not'; readonly item: Node<F> }
  | { readonly kind: 'const'; readonly value: boolean }
  /** The field's text matches the whole pattern (a pattern of one text part is equality). */
  | { readonly kind: 'string'; readonly field: F; readonly pattern: Pattern; readonly cased: boolean }
  /** The field's text matches the regular expression somewhere (Sigma `re` is a search, not a full match). */
  | { readonly kind: 'regex'; readonly field: F; readonly regex: string; readonly flags: RegexFlags }
  /** The field, read as a number, compares with `value` (false when it is not a number). */
  | { readonly kind: 'number'; readonly field: F; readonly op: NumberOp; readonly value: number }
  /** The field is absent or JSON null (Sigma `field: null`). */
  | { readonly kind: 'null'; readonly field: F }
  /** The field is present (`exists: true`) or absent (`exists: false`). */
  | { readonly kind: 'exists'; readonly field: F; readonly exists: boolean }
  /**
   * The field's value compared with another field's value of the same event (`fieldref`): equal, or
   * (fieldref combined with contains/startswith/endswith) containing, starting or ending with it.
   */
  | {
      readonly kind: 'fieldref';
      readonly field: F;
      readonly other: F;
      readonly op: 'equals' | 'contains' | 'startswith' | 'endswith';
      readonly cased: boolean;
    }
  /** A keyword: the pattern is searched in the event's full text (contains semantics unless anchored). */
  | { readonly kind: 'keyword'; readonly pattern: Pattern; readonly cased: boolean };

/** Columns of a stored event (log_events) that a field may map to. */
export const EVENT_TEXT_COLUMNS = [
  'raw',
  'appname',
  'file',
  'host',
  'hostname',
  'message',
  'source_type',
] as const;
export type EventTextColumn = (typeof EVENT_TEXT_COLUMNS)[number];
export type EventJsonColumn = 'normalized' | 'original' | 'metadata';

/**
 * Where a field's value is in a stored event, after the pipeline: a text column, the integer `procid`, or a
 * path inside a JSON column. `paths` are alternatives tried in order (the first present wins: SQL coalesce),
 * for sources that name one thing differently (Sysmon `Image`, Security 4688 `NewProcessName`).
 * Path segments are object keys; they reach SQL only as checked literals (see backends/sql.ts).
 */
export type FieldRef =
  | { readonly kind: 'column'; readonly column: EventTextColumn | 'procid' }
  | {
      readonly kind: 'json';
      readonly column: EventJsonColumn;
      readonly paths: readonly (readonly string[])[];
    };

// ------------------------------------------------------------------------------------------- builders

export const TRUE = { kind: 'const', value: true } as const;
export const FALSE = { kind: 'const', value: false } as const;

/** `and` of the items, flattened; `and()` of nothing is true, of one item is the item. */
export function and<F>(...items: Node<F>[]): Node<F> {
  const flat: Node<F>[] = [];
  for (const i of items) {
    if (i.kind === 'and') flat.push(...i.items);
    else if (!(i.kind === 'const' && i.value)) flat.push(i);
  }
  if (flat.some((i) => i.kind === 'const' && !i.value)) return FALSE;
  if (flat.length === 0) return TRUE;
  return flat.length === 1 ? flat[0]! : { kind: 'and', items: flat };
}

/** `or` of the items, flattened; `or()` of nothing is false, of one item is the item. */
export function or<F>(...items: Node<F>[]): Node<F> {
  const flat: Node<F>[] = [];
  for (const i of items) {
    if (i.kind === 'or') flat.push(...i.items);
    else if (!(i.kind === 'const' && !i.value)) flat.push(i);
  }
  if (flat.some((i) => i.kind === 'const' && i.value)) return TRUE;
  if (flat.length === 0) return FALSE;
  return flat.length === 1 ? flat[0]! : { kind: 'or', items: flat };
}

export function not<F>(item: Node<F>): Node<F> {
  if (item.kind === 'const') return { kind: 'const', value: !item.value };
  if (item.kind === 'not') return item.item;
  return { kind: 'not', item };
}

/** A pattern of literal text only (no wildcards). */
export function literal(text: string): Pattern {
  return text === '' ? [] : [{ kind: 'text', text }];
}

/** True when the pattern has no wildcard (an equality). */
export function isLiteral(p: Pattern): boolean {
  return p.every((x) => x.kind === 'text');
}

/** The pattern's literal text when it has no wildcard. */
export function literalText(p: Pattern): string | undefined {
  return isLiteral(p) ? p.map((x) => (x as { text: string }).text).join('') : undefined;
}

/** Rewrites every field of a tree (the pipeline's field mapping); `map` may return a whole node instead. */
export function mapFields<A, B>(node: Node<A>, map: (field: A) => B): Node<B> {
  switch (node.kind) {
    case 'and':
      return { kind: 'and', items: node.items.map((i) => mapFields(i, map)) };
    case 'or':
      return { kind: 'or', items: node.items.map((i) => mapFields(i, map)) };
    case 'not':
      return { kind: 'not', item: mapFields(node.item, map) };
    case 'const':
    case 'keyword':
      return node;
    case 'fieldref':
      return { ...node, field: map(node.field), other: map(node.other) };
    default:
      return { ...node, field: map(node.field) } as Node<B>;
  }
}
