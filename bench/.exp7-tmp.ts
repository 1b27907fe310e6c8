import duckdb from '@duckdb/node-api';
import { SigmaService } from '../src/services/sigma.service.ts';
import { DetectPlan } from '../src/logstore/duckdb/detect-plan.ts';
const set = new SigmaService().load(['/work/shared/data/detection_rules/sigma']);
const win = set.rules.filter((r) => r.rule.logsource.product?.toLowerCase() === 'windows');
const limit = Number(process.argv[3] ?? win.length);
const plan = new DetectPlan(win.slice(0, limit).map((r, i) => ({ key: String(i), node: r.node })));
const inst = await duckdb.DuckDBInstance.create(process.argv[2]!, {});
const c = await inst.connect();
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const tenant = '00000000-0000-4000-8000-00000000be7c';
const groups = new Map<string, any[]>();
for (const r of plan.rules) { if (!groups.has(r.group)) groups.set(r.group, []); groups.get(r.group)!.push(r); }
const out: any[] = [];
for (const [g, rules] of groups) {
  const st = plan.statement(rules);
  const c0 = cpu();
  const r = await c.runAndReadAll(st.sql, [tenant, 0n, 100000n, 1000, ...(st.params as any[])]);
  out.push([(cpu() - c0).toFixed(2), rules.length, r.currentRowCount, g.slice(0, 250)]);
  if (process.argv[4]) console.log(st.sql.slice(0, 3000));
}
out.sort((a, b) => b[0] - a[0]);
for (const o of out.slice(0, 15)) console.log(o.join(' | '));
