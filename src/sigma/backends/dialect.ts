/**
 * What differs between the SQL dialects: a small table of functions. Each piece takes SQL text that is already
 * safe (a checked field expression, a `$n` placeholder) and returns SQL text.
 */
import type { Dialect } from './types.ts';

export interface DialectSpec {
  readonly name: Dialect;
  /** Text at a JSON path; `path` segments are already checked (no quote, no backslash). */
  jsonText(column: string, path: readonly string[]): string;
  /** An integer column as text. */
  intText(column: string): string;
  /** The field's text matches the (already translated) regex in the placeholder somewhere. */
  regexSearch(field: string, placeholder: string): string;
  /** The field's text as a double when it is a plain decimal number, NULL otherwise; never an error. */
  numberOf(field: string): string;
  /** A placeholder holding a JS number, as a double. */
  numberParam(placeholder: string): string;
  /** `a` ends with `b` (both text expressions). */
  endsWith(a: string, b: string): string;
}

/**
 * A plain decimal number, bounded so that a cast to double never overflows (at most 100 digits each side of
 * the point, a two-digit exponent). The same text is numeric in every dialect; JavaScript's `Number` agrees.
 */
export const NUMERIC_TEXT = '[-+]?([0-9]{1,100}(\\.[0-9]{0,100})?|\\.[0-9]{1,100})([eE][-+]?[0-9]{1,2})?';
