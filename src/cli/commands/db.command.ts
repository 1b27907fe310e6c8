import type { Command } from 'commander';
import { generateMigration, schemaDrift } from '../../db/migrator.ts';
import type { CliContext } from '../context.ts';
import { intOption, printJson, printTable, println } from '../output.ts';

export function registerDb(program: Command, ctx: CliContext): void {
  const db = program.command('db').description('database schema: migrations, status, health');

  db.command('migrate')
    .description('apply every pending migration (to the latest revision)')
    .option('--to <id>', 'stop after this migration')
    .option('--json', 'machine-readable output')
    .action(async (o: { to?: string; json?: boolean }) => {
      const c = await ctx.container();
      const ran = await c.migrator.migrate(o.to ? { to: o.to } : {});
      const s = await c.migrator.status();
      if (o.json) return printJson({ applied: ran, current: s.current });
      println(ran.length ? `applied ${ran.length}: ${ran.join(', ')}` : 'nothing to apply');
      println(`current: ${s.current ?? '(none)'}`);
    });

  db.command('rollback')
    .description('undo the newest migration(s)')
    .option('--steps <n>', 'how many migrations to undo', intOption('steps'), 1)
    .option('--all', 'undo every migration')
    .option('--json', 'machine-readable output')
    .action(async (o: { steps: number; all?: boolean; json?: boolean }) => {
      const c = await ctx.container();
      const ran = await c.migrator.rollback(o.all ? Infinity : o.steps);
      const s = await c.migrator.status();
      if (o.json) return printJson({ rolledBack: ran, current: s.current });
      println(ran.length ? `rolled back ${ran.length}: ${ran.join(', ')}` : 'nothing to roll back');
      println(`current: ${s.current ?? '(none)'}`);
    });

  db.command('status')
    .description('current revision and pending migrations')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const c = await ctx.container();
      const s = await c.migrator.status();
      if (o.json) return printJson(s);
      println(`engine:  ${c.db.engine}`);
      println(`current: ${s.current ?? '(none)'}`);
      println(`pending: ${s.pending.length ? s.pending.map((p) => p.id).join(', ') : 'none'}`);
      for (const a of s.applied.filter((x) => x.modified || x.missing)) {
        println(
          `warning: ${a.id} ${a.missing ? 'is applied but missing on disk' : 'was edited after it was applied'}`,
        );
      }
    });

  db.command('history')
    .description('every migration, applied or not, oldest first')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const c = await ctx.container();
      const applied = new Map((await c.migrator.applied()).map((a) => [a.id, a]));
      const rows = c.migrator.files().map((f) => {
        const a = applied.get(f.id);
        return {
          id: f.id,
          name: f.name,
          applied: !!a,
          appliedAt: a?.appliedAt ?? null,
          executionMs: a?.executionMs ?? null,
          modified: !!a && a.checksum !== f.checksum,
        };
      });
      if (o.json) return printJson(rows);
      printTable(
        rows.map((r) => ({ ...r, applied: r.applied ? (r.modified ? 'yes (edited since)' : 'yes') : 'no' })),
        ['id', 'applied', 'appliedAt', 'executionMs'],
      );
    });

  db.command('generate')
    .description('write the next migration from changes to src/db/schema (up, down and snapshot)')
    .argument('<name>', 'migration name: lower-case letters, digits, underscores')
    .option('--custom', 'write it even without schema changes, for hand-written SQL')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: { custom?: boolean; json?: boolean }) => {
      const r = await generateMigration(name, { custom: !!o.custom });
      if (o.json) return printJson(r);
      if (!r.id)
        return println('no schema changes: nothing generated (use --custom for a hand-written migration)');
      println(`wrote ${r.dir} (${r.upStatements} up, ${r.downStatements} down statements)`);
    });

  db.command('check')
    .description('fail when src/db/schema and the committed migrations disagree (CI)')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const drift = await schemaDrift();
      if (o.json) printJson({ ok: drift.length === 0, statements: drift });
      else if (drift.length === 0) println('schema and migrations agree');
      else {
        println(
          `schema drift: src/db/schema differs from the newest migration snapshot by ${drift.length} statement(s):`,
        );
        for (const s of drift) println(`  ${s.replace(/\s+/g, ' ')}`);
        println('run `vigil db generate <name>` and commit the result');
      }
      if (drift.length) process.exitCode = 1;
    });

  db.command('health')
    .description('connectivity, server version, table count, pool figures')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const c = await ctx.container();
      const h = await c.db.health();
      const s = await c.migrator.status().catch(() => undefined);
      const out = { ...h, migrations: s ? { current: s.current, pending: s.pending.length } : undefined };
      if (o.json) printJson(out);
      else {
        println(`status:     ${h.ok ? 'ok' : `FAILED: ${h.error}`}`);
        println(`engine:     ${h.engine}`);
        println(`server:     PostgreSQL ${h.serverVersion}`);
        println(`database:   ${h.database}`);
        println(`latency:    ${h.latencyMs} ms`);
        println(`tables:     ${h.tableCount}`);
        if (out.migrations)
          println(`migrations: ${out.migrations.current ?? '(none)'}, ${out.migrations.pending} pending`);
        if (h.pool)
          println(
            `pool:       ${h.pool.total} open, ${h.pool.idle} idle, ${h.pool.waiting} waiting, max ${h.pool.max}`,
          );
      }
      if (!h.ok) process.exitCode = 1;
    });
}
