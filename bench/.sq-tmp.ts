import duckdb from '@duckdb/node-api';
const inst = await duckdb.DuckDBInstance.create(process.argv[2]!, {});
const c = await inst.connect();
for (const q of process.argv.slice(3)) {
  const t0 = performance.now();
  const r = await c.runAndReadAll(q);
  console.log(((performance.now() - t0) / 1000).toFixed(3) + ' s', JSON.stringify(r.getRowsJS().slice(0, 8), (k, v) => typeof v === 'bigint' ? Number(v) : v).slice(0, 1500));
}
