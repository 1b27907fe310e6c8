/**
 * Shared types of the Sigma SQL backends: the dialects, the compiled fragment, the options and the error a
 * backend raises for a construct its dialect cannot express.
 */
import type { FieldRef } from '../ir.ts';

export type Dialect = 'duckdb' | 'postgres';

/** A SQL predicate with positional parameters: `$1`, `$2`, ... in `sql` are `params[0]`, `params[1]`, ... */
export interface SqlFragment {
  sql: string;
  params: unknown[];
}

export interface CompileOptions {
  /** Placeholders start after this many existing params (default 0): the predicate's first param is $(offset+1). */
  paramOffset?: number;
  /** How a field reads as TEXT (default: defaultFieldSql). The detection engine passes its own to read pre-extracted columns. */
  fieldSql?: (ref: FieldRef) => string;
}

/** A construct this dialect cannot express (or a field/value that may not reach SQL). `reason` says which. */
export class UnsupportedError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'UnsupportedError';
  }
}
