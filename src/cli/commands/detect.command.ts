import type { Command } from 'commander';
import { NotFoundError } from '../../domain/errors.ts';
import type { CliContext } from '../context.ts';
import { intOption, printJson, printTable, println } from '../output.ts';

export function registerDetect(program: Command, ctx: CliContext): void {
  const detect = program.command('detect').description('scheduled detection: run now, runs, backtests');

  const tenantOf = async (ref: string) => {
    const c = await ctx.container();
    const t = await c.repos.tenants.getByRef(ref);
    if (!t) throw new NotFoundError('tenant', ref);
    return { c, tenantId: t.id };
  };

  detect
    .command('run')
    .description('one detection pass now: every enabled rule over the events since its watermark')
    .option('--tenant <tenant>', 'only this tenant (id or slug)')
    .option('--json', 'machine-readable summary')
    .action(async (o: { tenant?: string; json?: boolean }) => {
      const c = await ctx.container();
      let tenantId: string | undefined;
      if (o.tenant) tenantId = (await tenantOf(o.tenant)).tenantId;
      const r = await c.services.detection.runOnce(tenantId ? { tenantId } : {});
      if (o.json) return printJson(r);
      println(
        `${r.tenants} tenants, ${r.rules} rules: ${r.runs} windows evaluated, ${r.hits} hits, ` +
          `${r.alertsCreated} alerts created, ${r.alertsGrouped} grouped, ${r.suppressed} suppressed, ` +
          `${r.failed} failed, ${r.gaps} gaps, ${Object.keys(r.unsupported).length} rules cannot run`,
      );
      if (r.failed > 0) process.exitCode = 1;
    });

  detect
    .command('runs')
    .description('recent detection runs, newest first (failed runs and gaps included)')
    .requiredOption('--tenant <tenant>', 'tenant id or slug')
    .option('--rule <id>', 'only this rule (id)')
    .option('--status <status>', 'success, failed or gap')
    .option('--limit <n>', 'at most this many', intOption('limit'), 20)
    .option('--json', 'machine-readable output')
    .action(async (o: { tenant: string; rule?: string; status?: string; limit: number; json?: boolean }) => {
      const { c, tenantId } = await tenantOf(o.tenant);
      const runs = await c.services.detection.runs(tenantId, {
        ...(o.rule ? { ruleId: o.rule } : {}),
        ...(o.status ? { status: o.status } : {}),
        limit: o.limit,
      });
      if (o.json) return printJson(runs);
      printTable(
        runs.map((r) => ({ ...r, startedAt: r.startedAt.toISOString(), range: `${r.fromSeq}..${r.toSeq}` })),
        ['startedAt', 'ruleId', 'mode', 'status', 'range', 'eventsScanned', 'hits', 'alertsCreated', 'error'],
      );
    });

  detect
    .command('backtest')
    .description('run one rule over the stored history without creating alerts: hits and cost')
    .argument('<rule>', 'rule id')
    .requiredOption('--tenant <tenant>', 'tenant id or slug')
    .option('--json', 'machine-readable output')
    .action(async (rule: string, o: { tenant: string; json?: boolean }) => {
      const { c, tenantId } = await tenantOf(o.tenant);
      const r = await c.services.detection.backtest(tenantId, rule);
      if (o.json) return printJson(r);
      println(`${r.hits} hits in ${r.scanned} events (${r.elapsedMs.toFixed(0)} ms)`);
      for (const e of r.events.slice(0, 20))
        println(`  ${e.timestamp.toISOString()}  ${e.id}  ${e.host ?? ''}`);
    });
}
