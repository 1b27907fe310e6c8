import type { Command } from 'commander';
import { redactedConfig } from '../../config/config.ts';
import type { CliContext } from '../context.ts';
import { printJson, println } from '../output.ts';

export function registerConfig(program: Command, ctx: CliContext): void {
  const cfg = program.command('config').description('configuration: show the effective, validated settings');
  cfg
    .command('show')
    .description('print the effective configuration (secrets redacted) and where each value came from')
    .option('--json', 'machine-readable output')
    .action((o: { json?: boolean }) => {
      const c = ctx.config;
      if (o.json) return printJson({ config: redactedConfig(c), origin: c.origin });
      println(JSON.stringify(redactedConfig(c), null, 2));
      const origins = Object.entries(c.origin);
      if (origins.length) {
        println('');
        println('set by:');
        for (const [k, v] of origins) println(`  ${k}: ${v}`);
      }
    });
}
