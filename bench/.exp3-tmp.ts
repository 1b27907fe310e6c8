import duckdb from '@duckdb/node-api';
const inst = await duckdb.DuckDBInstance.create(':memory:', {});
const c = await inst.connect();
const vals = ['1e-7','0.000001','1.7976931348623157e308','5e-324','123456789.123456789','1e21','1e20','1e+21','10000000000000000000000000','-1e-7','0.1e1','1E5','-12','18446744073709551615','18446744073709551616','-9223372036854775808','-9223372036854775809','3.0','2.5e-5', '1.0e+2', '0.30000000000000004', '100', '-0', '1e400'];
for (const v of vals) {
  const j = `{"a":${v}}`;
  const r = await c.runAndReadAll(`select json_extract_string($1::JSON, '$.a'), json_transform($1::JSON, '{"a":"VARCHAR"}').a`, [j]);
  const [x, y] = r.getRowsJS()[0]!;
  console.log(v.padEnd(28), String(x).padEnd(26), String(y), x === y ? '' : ' <-- DIFF', JSON.stringify(JSON.parse(j)));
}
