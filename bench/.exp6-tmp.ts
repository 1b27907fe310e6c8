import duckdb from '@duckdb/node-api';
import { SigmaService } from '../src/services/sigma.service.ts';
import { DetectPlan } from '../src/logstore/duckdb/detect-plan.ts';
const set = new SigmaService().load(['/work/shared/data/detection_rules/sigma']);
const win = set.rules.filter((r) => r.rule.logsource.product?.toLowerCase() === 'windows');
const limit = Number(process.argv[3] ?? win.length);
const plan = new DetectPlan(win.slice(0, limit).map((r, i) => ({ key: String(i), node: r.node })));
let t0 = performance.now();
const st = plan.statement(plan.rules.filter((r) => !plan.errors.has(r.key)));
console.log('rules', limit, 'sql chars', st.sql.length, 'params', st.params.length, 'build ms', (performance.now() - t0).toFixed(0));
const inst = await duckdb.DuckDBInstance.create(process.argv[2]!, {});
const c = await inst.connect();
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
let c0 = cpu(); t0 = performance.now();
const ps = await c.prepare(st.sql);
console.log('prepare', ((performance.now() - t0) / 1000).toFixed(2), 's cpu', (cpu() - c0).toFixed(2));
const tenant = '00000000-0000-4000-8000-00000000be7c';
for (let i = 0; i < 2; i++) {
c0 = cpu(); t0 = performance.now();
ps.bind([tenant, 0n, BigInt(Number(process.argv[4] ?? 100000)), 1000, ...(st.params as any[])]);
const r = await ps.runAndReadAll();
console.log('run', ((performance.now() - t0) / 1000).toFixed(2), 's cpu', (cpu() - c0).toFixed(2), 'rows', r.currentRowCount);
}
if (process.argv[5]) { const r = await c.runAndReadAll('EXPLAIN ANALYZE ' + st.sql, [tenant, 0n, 100000n, 1000, ...(st.params as any[])]); const txt = String(r.getRowsJS()[0]![1]); console.log(txt.slice(txt.indexOf("Total Time"))); }
