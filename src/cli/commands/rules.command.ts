import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { NotFoundError } from '../../domain/errors.ts';
import type { CliContext } from '../context.ts';
import { printJson, println } from '../output.ts';

export function registerRules(program: Command, ctx: CliContext): void {
  const rules = program.command('rules').description('detection rules of a tenant');

  rules
    .command('import')
    .description('load Sigma rule files into the rules table (reruns update, never duplicate)')
    .argument('<path...>', 'rule files or directories')
    .requiredOption('--tenant <tenant>', 'tenant id or slug')
    .option('--json', 'machine-readable summary')
    .option('--quiet', 'only the totals, not the list of unsupported rules')
    .action(async (paths: string[], o: { tenant: string; json?: boolean; quiet?: boolean }) => {
      const c = await ctx.container();
      const t = await c.repos.tenants.getByRef(o.tenant);
      if (!t) throw new NotFoundError('tenant', o.tenant);
      const s = await c.services.ruleImport.importSigma(t.id, paths, { name: `cli:${userInfo().username}` });
      if (o.json) return printJson(s);
      println(
        `${s.files} files: ${s.loaded} loaded, ${s.updated} updated, ${s.unchanged} unchanged, ${s.unsupported.length} unsupported`,
      );
      if (o.quiet) return;
      for (const u of s.unsupported) println(`  unsupported: ${u.file}:${u.line}: ${u.reason}`);
    });
}
