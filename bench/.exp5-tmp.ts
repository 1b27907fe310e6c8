import duckdb from '@duckdb/node-api';
const inst = await duckdb.DuckDBInstance.create(':memory:', {});
const c = await inst.connect();
for (const q of [`select flatten([NULL, [1, NULL], NULL::INTEGER[]])`, `select flatten([NULL::INTEGER[]])`, `select flatten([CASE WHEN false THEN [1] END])`, `select unnest(flatten([NULL::INTEGER[]]))`]) {
  try { const r = await c.runAndReadAll(q); console.log(q, JSON.stringify(r.getRowsJS())); } catch (e) { console.log(q, 'ERR', (e as Error).message); }
}
