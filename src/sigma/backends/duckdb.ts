/** DuckDB: JSON through `json_extract_string`, regex through RE2's `regexp_matches` (a search). */
import { type DialectSpec, NUMERIC_TEXT } from './dialect.ts';

export const duckdbDialect: DialectSpec = {
  name: 'duckdb',
  // A quoted key path: `$."a.b"."c/d"` addresses keys that contain `.` or `/` literally.
  jsonText: (column, path) => `json_extract_string(${column}, '$${path.map((s) => `."${s}"`).join('')}')`,
  intText: (column) => `CAST(${column} AS VARCHAR)`,
  // regexp_matches is a search (`~` would be a full match); flags are inline in the pattern.
  regexSearch: (field, p) => `regexp_matches(${field}, ${p})`,
  // TRY_CAST alone would also accept ' 12 ' and '1_000': guard with the shared definition of a number.
  numberOf: (field) =>
    `(CASE WHEN regexp_full_match(${field}, '${NUMERIC_TEXT}') THEN TRY_CAST(${field} AS DOUBLE) END)`,
  numberParam: (p) => `CAST(${p} AS DOUBLE)`,
  endsWith: (a, b) => `ends_with(${a}, ${b})`,
};
