import type { Command } from 'commander';
import type { CliContext } from '../context.ts';
import { printJson, printTable } from '../output.ts';

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description("check each tenant's audit hash chain and name the first broken row")
    .option('--tenant <tenant>', 'tenant id or slug (default: every tenant)')
    .option('--json', 'machine-readable output')
    .action(async (o: { tenant?: string; json?: boolean }) => {
      const c = await ctx.container();
      const results = await c.services.audit.verify(o.tenant);
      if (o.json) printJson({ ok: results.every((r) => r.ok), tenants: results });
      else {
        printTable(
          results.map((r) => ({
            tenant: r.tenantSlug,
            status: r.ok ? 'ok' : 'BROKEN',
            rows: r.checked,
            head: r.head ? `${r.head.seq}:${r.head.rowHash.slice(0, 16)}` : '',
            firstBroken: r.firstBroken ? `seq ${r.firstBroken.seq}: ${r.firstBroken.reason}` : '',
          })),
          ['tenant', 'status', 'rows', 'head', 'firstBroken'],
        );
      }
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    });
}
