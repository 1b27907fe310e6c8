/** The Sigma SQL backends (DuckDB, PostgreSQL): Node<FieldRef> -> parameterised SQL predicate. */
export { type CompileOptions, type Dialect, type SqlFragment, UnsupportedError } from './types.ts';
export { compilePredicate, defaultFieldSql, likePattern } from './sql.ts';
export { translateRegex } from './regex.ts';
