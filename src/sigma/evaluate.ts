/**
 * The reference semantics of the intermediate tree (ir.ts) on one stored event, in plain JavaScript: the
 * oracle the SQL backends are tested against. Deliberately simple; every rule is here:
 *
 * - Reading a field: a text column (`procid` too) is its value, absent when null. A JSON field walks its
 *   path's keys through objects (never into arrays: a key of an array is absent); of several alternative
 *   paths the first whose value is present (not undefined, not JSON null) wins, like SQL coalesce. A JSON
 *   column given as a string is parsed first (stores may hand JSON back as text).
 * - A value's text: a string is itself; a number or boolean its JSON text (1 -> '1', true -> 'true'); an
 *   object or array its JSON text (JSON.stringify, compact).
 * - string: the WHOLE text matches the pattern (`*` any run, `?` one character); case-insensitive unless
 *   `cased`, by lower-casing both sides (as SQL lower()). Absent field: false.
 * - regex: a search (not anchored) with the flags i/m/s. Absent: false.
 * - number: the text must be a decimal number (optional sign, fraction, exponent); then compared. Not a
 *   number or absent: false.
 * - null: absent or JSON null. exists: present (not absent, not JSON null) equals `exists`.
 * - fieldref: both present, the texts compared with equals/contains/startswith/endswith (case-insensitive
 *   unless cased). Either absent: false.
 * - keyword: the pattern matches the WHOLE `raw` text, like a string node on raw (the parser gives a plain
 *   keyword its contains semantics by wrapping it in `*...*`; a pattern without them is anchored).
 * - not/and/or/const: boolean logic, so `not` of a condition on an absent field is TRUE.
 */
import type { FieldRef, Node, NumberOp, Pattern } from './ir.ts';

export interface StoredEventLike {
  raw: string;
  appname: string | null;
  file: string | null;
  host: string | null;
  hostname: string | null;
  message: string | null;
  procid: number | null;
  source_type: string;
  normalized: unknown;
  metadata: unknown;
  original: unknown;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonColumn(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** The field's value, or undefined when absent (missing or JSON null). */
export function readField(ref: FieldRef, event: StoredEventLike): unknown {
  if (ref.kind === 'column') {
    const v = event[ref.column];
    return v === null || v === undefined ? undefined : v;
  }
  const root = jsonColumn(event[ref.column]);
  for (const path of ref.paths) {
    let cur: unknown = root;
    for (const key of path) {
      if (!isObject(cur) || !Object.prototype.hasOwnProperty.call(cur, key)) {
        cur = undefined;
        break;
      }
      cur = cur[key];
    }
    if (cur !== undefined && cur !== null) return cur;
  }
  return undefined;
}

/** The text form of a present value. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** True when the whole text matches the pattern. */
export function matchPattern(pattern: Pattern, text: string, cased: boolean): boolean {
  const fold = (s: string): string => (cased ? s : s.toLowerCase());
  let source = '';
  for (const part of pattern) {
    if (part.kind === 'any') source += '[\\s\\S]*';
    else if (part.kind === 'one') source += '[\\s\\S]';
    else source += escapeRegex(fold(part.text));
  }
  // `u`: `?` is one code point, as a SQL character.
  return new RegExp(`^${source}$`, 'u').test(fold(text));
}

const NUMERIC = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

function compareNumber(op: NumberOp, a: number, b: number): boolean {
  switch (op) {
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
  }
}

export function evaluate(node: Node<FieldRef>, event: StoredEventLike): boolean {
  switch (node.kind) {
    case 'and':
      return node.items.every((i) => evaluate(i, event));
    case 'or':
      return node.items.some((i) => evaluate(i, event));
    case 'not':
      return !evaluate(node.item, event);
    case 'const':
      return node.value;
    case 'string': {
      const v = readField(node.field, event);
      return v !== undefined && matchPattern(node.pattern, textOf(v), node.cased);
    }
    case 'regex': {
      const v = readField(node.field, event);
      if (v === undefined) return false;
      const flags = (node.flags.i ? 'i' : '') + (node.flags.m ? 'm' : '') + (node.flags.s ? 's' : '');
      return new RegExp(node.regex, flags).test(textOf(v));
    }
    case 'number': {
      const v = readField(node.field, event);
      if (v === undefined) return false;
      const t = textOf(v);
      return NUMERIC.test(t) && compareNumber(node.op, Number(t), node.value);
    }
    case 'null':
      return readField(node.field, event) === undefined;
    case 'exists':
      return (readField(node.field, event) !== undefined) === node.exists;
    case 'fieldref': {
      const a = readField(node.field, event);
      const b = readField(node.other, event);
      if (a === undefined || b === undefined) return false;
      const x = node.cased ? textOf(a) : textOf(a).toLowerCase();
      const y = node.cased ? textOf(b) : textOf(b).toLowerCase();
      switch (node.op) {
        case 'equals':
          return x === y;
        case 'contains':
          return x.includes(y);
        case 'startswith':
          return x.startsWith(y);
        case 'endswith':
          return x.endsWith(y);
      }
      break;
    }
    case 'keyword':
      return matchPattern(node.pattern, event.raw, node.cased);
  }
  return false;
}
