import type { Command } from 'commander';
import { ValidationError } from '../../domain/errors.ts';
import { LOG_FORMATS, type LogFormat } from '../../ingest/types.ts';
import { parseDeclaredLogsource, type DeclaredLogsource } from '../../domain/schemas/log.schema.ts';
import { SigmaService } from '../../services/sigma.service.ts';
import type { Dialect } from '../../sigma/index.ts';
import type { CliContext } from '../context.ts';
import { printJson, println } from '../output.ts';

const collect = (v: string, prev: string[] = []) => [...prev, v];

function dialectOf(v: string): Dialect {
  if (v !== 'duckdb' && v !== 'postgres')
    throw new ValidationError(`unknown dialect ${v}`, [{ path: 'dialect', message: 'duckdb or postgres' }]);
  return v;
}

function formatOf(v: string): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(v))
    throw new ValidationError(`unknown format ${v}`, [{ path: 'format', message: LOG_FORMATS.join(', ') }]);
  return v as LogFormat;
}

const pct = (r: number) => `${(r * 100).toFixed(2)}%`;

export function registerSigma(program: Command, ctx: CliContext): void {
  const sigma = program
    .command('sigma')
    .description('Sigma rules as files: compile to SQL, check a rule set, test rules on event files');
  const service = (o: { pipeline?: string[] }) =>
    new SigmaService({
      placeholders: ctx.config.detection.placeholders,
      ...(o.pipeline ? { pipelineFiles: o.pipeline } : {}),
    });

  sigma
    .command('compile')
    .description('print the SQL and parameters of each rule')
    .argument('<rule...>', 'rule files or directories')
    .option('--dialect <dialect>', 'duckdb or postgres', dialectOf, 'duckdb' as Dialect)
    .option(
      '--pipeline <file>',
      'extra field-mapping pipeline (YAML), over the built-in one (repeatable)',
      collect,
    )
    .option('--json', 'machine-readable output')
    .action((rules: string[], o: { dialect: Dialect; pipeline?: string[]; json?: boolean }) => {
      const r = service(o).compile(rules, o.dialect);
      if (o.json) return printJson(r);
      for (const c of r.rules) {
        println(`-- ${c.title}${c.id ? ` (${c.id})` : ''}  ${c.file}`);
        println(`${c.sql};`);
        println(`-- parameters: ${JSON.stringify(c.params)}`);
        println('');
      }
      for (const u of r.unsupported) println(`-- unsupported: ${u.file}:${u.line}: ${u.reason}`);
      if (r.rules.length === 0 && r.unsupported.length > 0) process.exitCode = 2;
    });

  sigma
    .command('check')
    .description('how many rules compile for each dialect; every unsupported rule with its reason')
    .argument('<dir...>', 'rule files or directories')
    .option('--pipeline <file>', 'extra field-mapping pipeline (YAML) (repeatable)', collect)
    .option('--json', 'machine-readable output')
    .option('--quiet', 'only the totals, not the list of unsupported rules')
    .action((dirs: string[], o: { pipeline?: string[]; json?: boolean; quiet?: boolean }) => {
      const r = service(o).check(dirs);
      if (o.json) return printJson(r);
      println(
        `${r.files} files, ${r.rules} rules, ${r.correlations} correlation rules, ${r.filters} filters`,
      );
      for (const [d, rep] of Object.entries(r.dialects)) {
        println(
          `${d.padEnd(9)} ${rep.compiled} of ${r.rules} rules compile (${pct(rep.ratio)}); ${rep.unsupported.length} unsupported`,
        );
      }
      if (o.quiet) return;
      for (const [d, rep] of Object.entries(r.dialects)) {
        if (rep.unsupported.length === 0) continue;
        println('');
        println(`unsupported on ${d}:`);
        for (const u of rep.unsupported)
          println(`  ${u.file}:${u.line}: ${u.title ? `${u.title}: ` : ''}${u.reason}`);
      }
    });

  sigma
    .command('test')
    .description('run rules over event files in a temporary store; print each matching rule and its count')
    .requiredOption('--rules <path>', 'rule file or directory (repeatable)', collect)
    .requiredOption('--events <file>', 'event file in any format ingest reads (repeatable)', collect)
    .option('--format <format>', `force a format (${LOG_FORMATS.join(', ')})`, formatOf)
    .option('--timezone <tz>', 'time zone of timestamps that carry none (default UTC)')
    .option(
      '--logsource <spec>',
      'Sigma logsource the events declare, e.g. product=macos,category=process_creation',
      (v: string) => parseDeclaredLogsource(v),
    )
    .option('--pipeline <file>', 'extra field-mapping pipeline (YAML) (repeatable)', collect)
    .option('--json', 'one JSON object: {"rules", "events", "matches": [{"id", "title", "count"}]}')
    .argument('[files...]', 'more event files')
    .action(
      async (
        files: string[],
        o: {
          rules: string[];
          events: string[];
          format?: LogFormat;
          timezone?: string;
          logsource?: DeclaredLogsource;
          pipeline?: string[];
          json?: boolean;
        },
      ) => {
        const r = await service(o).test(o.rules, [...o.events, ...files], {
          ...(o.format ? { format: o.format } : {}),
          ...(o.timezone ? { timezone: o.timezone } : {}),
          ...(o.logsource ? { logsource: o.logsource } : {}),
        });
        if (o.json) return printJson({ rules: r.rules, events: r.events, matches: r.matches });
        println(
          `${r.rules} rules and ${r.correlations} correlation rules over ${r.events} events (${r.rejected} records not parsed)`,
        );
        for (const m of r.matches) println(`${String(m.count).padStart(8)}  ${m.id}  ${m.title}`);
        if (r.matches.length === 0) println('no rule matched');
        if (r.unsupported.length > 0)
          println(`${r.unsupported.length} rules could not run (see vigil sigma check)`);
      },
    );
}
