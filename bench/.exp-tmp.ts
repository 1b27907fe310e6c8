import duckdb from '@duckdb/node-api';
import { SigmaService } from '../src/services/sigma.service.ts';
import { collectRuleFields } from '../src/logstore/detect.ts';
const set = new SigmaService().load(['/work/shared/data/detection_rules/sigma']);
const win = set.rules.filter((r) => r.rule.logsource.product?.toLowerCase() === 'windows');
const fields = collectRuleFields(win.map((r, i) => ({ key: String(i), node: r.node })));
const paths = new Set<string>();
for (const f of fields) if (f.kind === 'json' && f.column === 'normalized') for (const p of f.paths) paths.add(JSON.stringify(p));
const ps = [...paths].map((p) => JSON.parse(p) as string[]);
const lit = ps.map((p) => `'$${p.map((s) => `."${s}"`).join('')}'`);
// struct
const tree: any = {};
for (const p of ps) { let t = tree; for (let i = 0; i < p.length; i++) { const s = p[i]!; if (i === p.length - 1) { if (!(s in t)) t[s] = 'VARCHAR'; } else { if (typeof t[s] !== 'object') t[s] = {}; t = t[s]; } } }
// drop case collisions
const dedupe = (t: any) => { const seen = new Set<string>(); for (const k of Object.keys(t)) { if (seen.has(k.toLowerCase())) delete t[k]; else { seen.add(k.toLowerCase()); if (typeof t[k] === 'object') dedupe(t[k]); } } };
dedupe(tree);
const inst = await duckdb.DuckDBInstance.create(process.argv[2]!, {});
const c = await inst.connect();
const run = async (name: string, q: string) => { const t0 = performance.now(); const r = await c.runAndReadAll(q); console.log(name.padEnd(30), ((performance.now() - t0) / 1000).toFixed(3) + ' s', JSON.stringify(r.getRowsJS()[0], (k, v) => typeof v === 'bigint' ? Number(v) : v).slice(0, 300)); };
console.log(ps.length, 'paths');
await run('plain', `select count(json_extract_string(normalized,'$.channel')) from log_events`);
await run('list2', `select count(json_extract_string(normalized,['$.channel','$.event_id'])[1]) from log_events`);
await run('listAll', `select count(json_extract_string(normalized,[${lit.join(',')}])[1]) from log_events`);
await run('transform', `select count(json_transform(normalized, '${JSON.stringify(tree)}').channel) from log_events`);
await run('separate10', `select count(*) from log_events where ${lit.slice(0, 10).map((l) => `json_extract_string(normalized, ${l}) is not null`).join(' or ')}`);
await run('ctas transform', `create or replace temp table t as select seq, unnest(json_transform(normalized, '${JSON.stringify(tree)}'), recursive := true) from log_events`);
await run('ctas list', `create or replace temp table t2 as select seq, json_extract_string(normalized,[${lit.join(',')}]) as l from log_events`);
await run('read raw', `select count(*) from log_events where raw ilike '%mimikatz%'`);
await run('read raw contains', `select count(*) from log_events where contains(lower(raw), 'mimikatz')`);
