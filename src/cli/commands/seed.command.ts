import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, printTable, println } from '../output.ts';

export function registerSeed(program: Command, ctx: CliContext): void {
  program
    .command('seed')
    .description(
      'load realistic sample data for every table (sample tenants, users, sources, rules, incidents...)',
    )
    .requiredOption('--demo', 'the demo data set (seed 001 sample organisations); the only set so far')
    .option('--json', 'machine-readable output')
    .action(async (o: { demo: boolean; json?: boolean }) => {
      const c = await ctx.container();
      await c.migrator.migrate();
      const r = await c.services.demoSeed.seed();
      if (o.json) return printJson(r);
      println(`tenants created: ${r.tenantsCreated.join(', ') || 'none'}`);
      if (r.tenantsSkipped.length)
        println(`tenants already present (left alone): ${r.tenantsSkipped.join(', ')}`);
      println('');
      printTable(
        Object.entries(r.counts).map(([table, rows]) => ({ table, rows })),
        ['table', 'rows'],
      );
      if (r.credentials.length) {
        println('');
        println('demo users (generated passwords, shown once):');
        printTable(r.credentials, ['tenant', 'username', 'role', 'password']);
      }
    });
}
