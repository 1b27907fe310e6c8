/** PostgreSQL: JSON through `#>>` (json or jsonb), regex through ARE's `~` (a search). */
import { type DialectSpec, NUMERIC_TEXT } from './dialect.ts';

export const postgresDialect: DialectSpec = {
  name: 'postgres',
  // A text[] path literal with every element double-quoted: keys with `.`, `/` or spaces stay one key.
  jsonText: (column, path) => `(${column} #>> '{${path.map((s) => `"${s}"`).join(',')}}')`,
  intText: (column) => `CAST(${column} AS text)`,
  regexSearch: (field, p) => `${field} ~ ${p}`,
  // No try_cast: the CASE runs the cast only on text that is a number (and bounded: never out of range).
  numberOf: (field) =>
    `(CASE WHEN ${field} ~ '^${NUMERIC_TEXT}$' THEN CAST(${field} AS double precision) END)`,
  numberParam: (p) => `CAST(${p} AS double precision)`,
  endsWith: (a, b) => `right(${a}, length(${b})) = ${b}`,
};
