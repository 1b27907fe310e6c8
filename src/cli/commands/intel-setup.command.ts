/**
 * `vigil intel setup DIR...`: seed 004's setup script. Migrates the database to the latest revision, then
 * loads every intelligence file found under the directories, one ingestion run per kind
 * (IntelSetupService says which file is what).
 */
import type { Command } from 'commander';
import { IntelSetupService, type IntelSetupSummary } from '../../services/intel-setup.service.ts';
import type { CliContext } from '../context.ts';
import { dateOption, progressLine } from './intel.command.ts';
import { printJson, printTable, println } from '../output.ts';

interface SetupOptions {
  json?: boolean;
  label?: string;
  scoreDate?: string;
  dryRun?: boolean;
  showSkipped?: boolean;
}

export function registerIntelSetup(program: Command, ctx: CliContext): void {
  const intel = program.commands.find((c) => c.name() === 'intel');
  if (!intel) throw new Error('register the intel command first');
  intel
    .command('setup')
    .description(
      'migrate the database, then load every intelligence file under DIR (CVE, NVD, KEV, EPSS, ATT&CK, STIX, MISP, CSV feeds), one ingestion run per kind',
    )
    .argument('<dir...>', 'directories (or files) of feeds')
    .option('--json', 'print the summary as one JSON object')
    .option('--label <label>', 'label of the ingestion runs (default setup)')
    .option('--score-date <date>', 'EPSS: score date of files without one (YYYY-MM-DD)', dateOption)
    .option('--dry-run', 'classify the files and print the plan; migrate and load nothing')
    .option('--show-skipped', 'list every skipped file with its reason (the count is always printed)')
    .action(async (dirs: string[], o: SetupOptions) => {
      const c = await ctx.container();
      const applied = o.dryRun ? [] : await c.migrator.migrate();
      const setup = new IntelSetupService({
        vulnImport: c.services.vulnImport,
        intelFeed: c.services.intelFeed,
      });
      const bar = progressLine();
      let summary: IntelSetupSummary;
      try {
        summary = await setup.run(dirs, {
          ...(o.label ? { label: o.label } : {}),
          ...(o.scoreDate ? { scoreDate: o.scoreDate } : {}),
          ...(o.dryRun ? { dryRun: true } : {}),
          onProgress: (p) => bar.update(p),
        });
      } finally {
        bar.done();
      }
      if (o.json) printJson({ migrationsApplied: applied, ...summary });
      else printSummary(applied, summary, o);
      if (summary.runs.some((r) => r.status === 'failed')) process.exitCode = 1;
    });
}

function printSummary(applied: string[], s: IntelSetupSummary, o: SetupOptions): void {
  if (!o.dryRun)
    println(
      applied.length
        ? `migrations applied: ${applied.join(', ')}`
        : 'database already at the latest revision',
    );
  const files = s.groups.reduce((n, g) => n + g.files.length, 0);
  println(`${files} files to load, ${s.skipped.length} skipped`);
  if (o.dryRun) {
    printTable(
      s.groups.map((g) => ({ kind: g.kind, files: g.files.length, first: g.files[0] })),
      ['kind', 'files', 'first'],
    );
  } else {
    printTable(
      s.runs.map((r) => ({
        kind: r.kind,
        status: r.status,
        files: r.files,
        read: r.fetched,
        inserted: r.inserted,
        updated: r.updated,
        failed: r.failed,
        seconds: (r.elapsedMs / 1000).toFixed(1),
        run: r.runId ?? '',
      })),
      ['kind', 'status', 'files', 'read', 'inserted', 'updated', 'failed', 'seconds', 'run'],
    );
    for (const r of s.runs) {
      if (r.error) println(`  ${r.kind} failed: ${r.error}`);
      for (const f of r.failures.slice(0, 5)) println(`  ${r.kind}: ${f.where}: ${f.reason}`);
      if (r.failed > Math.min(5, r.failures.length))
        println(`  ${r.kind}: ... ${r.failed - Math.min(5, r.failures.length)} more failures (see the run)`);
    }
  }
  const reasons = new Map<string, number>();
  for (const k of s.skipped) reasons.set(k.reason, (reasons.get(k.reason) ?? 0) + 1);
  if (o.showSkipped) for (const k of s.skipped) println(`  skipped ${k.file}: ${k.reason}`);
  else for (const [reason, n] of reasons) println(`  skipped ${n}: ${reason}`);
  println(`done in ${(s.elapsedMs / 1000).toFixed(1)} s`);
}
