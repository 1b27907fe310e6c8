import duckdb from '@duckdb/node-api';
const inst = await duckdb.DuckDBInstance.create(process.argv[2]!, {});
const c = await inst.connect();
const run = async (name: string, q: string, v?: any) => { const cpu = process.cpuUsage(); const t0 = performance.now(); const r = await c.runAndReadAll(q, v); const u = process.cpuUsage(cpu); console.log(name.padEnd(30), ((performance.now() - t0) / 1000).toFixed(3) + ' s wall', ((u.user + u.system) / 1e6).toFixed(3) + ' s cpu', JSON.stringify(r.getRowsJS()[0], (k, v) => typeof v === 'bigint' ? Number(v) : v).slice(0, 200)); };
await run('ctas', `create temp table t as select seq, json_extract_string(normalized,'$.event_data.Image') as img, json_extract_string(normalized,'$.event_data.CommandLine') as cmd from log_events`);
for (let i = 0; i < 2; i++) {
await run('ilike lit', `select count(*) from t where img ilike '%\\svchost.exe'`);
await run('ilike param', `select count(*) from t where img ilike $1`, ['%\\svchost.exe']);
await run('ilike lit contains', `select count(*) from t where img ilike '%system32%'`);
await run('ilike param contains', `select count(*) from t where img ilike $1`, ['%system32%']);
await run('ilike param contains x20', `select count(*) from t where ${Array.from({length: 20}, (_, i) => `img ilike $${i+1}`).join(' or ')}`, Array.from({length: 20}, (_, i) => `%system${i}32%`));
await run('ilike lit contains x20', `select count(*) from t where ${Array.from({length: 20}, (_, i) => `img ilike '%system${i}32%'`).join(' or ')}`);
await run('lower eq lit', `select count(*) from t where lower(img) = lower('C:\\Windows\\System32\\svchost.exe')`);
await run('lower eq param', `select count(*) from t where lower(img) = lower($1)`, ['C:\\Windows\\System32\\svchost.exe']);
await run('regex lit', `select count(*) from t where regexp_matches(cmd, '(?i)\\s-enc')`);
await run('regex param', `select count(*) from t where regexp_matches(cmd, $1)`, ['(?i)\\s-enc']);
}
await run('explain param', `explain select count(*) from t where img ilike $1 and regexp_matches(cmd, $2)`, ['%system32%', 'x']);
const r = await c.runAndReadAll(`explain select count(*) from t where img ilike $1 and regexp_matches(cmd, $2) and lower(img) = lower($3)`, ['%system32%', 'x', 'y']); console.log(r.getRowsJS()[0]![1]);
