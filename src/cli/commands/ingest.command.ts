import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { LOG_FORMATS, type LogFormat } from '../../ingest/types.ts';
import type { IngestProgress, IngestSummary } from '../../services/log-ingest.service.ts';
import type { CliContext } from '../context.ts';
import { ValidationError } from '../../domain/errors.ts';
import { parseDeclaredLogsource, type DeclaredLogsource } from '../../domain/schemas/log.schema.ts';
import { intOption, printJson, printTable, println } from '../output.ts';

function printSummaryLine(r: IngestSummary): void {
  println(
    `${new Date().toISOString()} ${r.input}: ${r.read - r.resumed} read, ${r.accepted} accepted, ${r.rejected} rejected, ${r.duplicates - r.resumed} duplicates`,
  );
}

function formatOption(value: string): LogFormat {
  if (!(LOG_FORMATS as readonly string[]).includes(value))
    throw new InvalidArgumentError(`--format must be one of ${LOG_FORMATS.join(', ')}.`);
  return value as LogFormat;
}

function logsourceOption(value: string): DeclaredLogsource {
  try {
    return parseDeclaredLogsource(value);
  } catch (e) {
    throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Progress on stderr: a one-line bar redrawn at most 10 times a second on a terminal, or with `lines` one
 * plain line per update (for scripts and logs).
 */
export function progressBar(enabled: boolean, lines = false) {
  let last = 0;
  const t0 = performance.now();
  return {
    update(p: IngestProgress) {
      if (!enabled) return;
      const now = performance.now();
      if (lines) {
        process.stderr.write(
          `progress read=${p.read} accepted=${p.accepted} rejected=${p.rejected} duplicates=${p.duplicates} bytes=${p.bytes}\n`,
        );
        return;
      }
      if (now - last < 100) return;
      last = now;
      const rate = Math.round((p.read * 1000) / Math.max(1, now - t0));
      let bar = '';
      if (p.totalBytes) {
        const frac = Math.min(1, p.bytes / p.totalBytes);
        const width = 30;
        const full = Math.round(frac * width);
        bar = `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(frac * 100).toFixed(1).padStart(5)}% `;
      }
      process.stderr.write(
        `\r${bar}${p.read} read, ${p.accepted} accepted, ${p.rejected} rejected, ${p.duplicates} duplicates, ${rate}/s  `,
      );
    },
    done() {
      if (enabled && !lines && last) process.stderr.write('\n');
    },
  };
}

export function registerIngest(program: Command, ctx: CliContext): void {
  program
    .command('ingest')
    .description('ingest log files (or - for standard input) into the log store')
    .argument('<files...>', 'files to read; - reads standard input')
    .requiredOption('--tenant <tenant>', 'tenant id or slug')
    .option('--source <source>', 'source of that tenant (id or name) the events come from')
    .option('--format <format>', `force a format (${LOG_FORMATS.join(', ')})`, formatOption, 'auto')
    .option('--timezone <zone>', 'IANA time zone for timestamps without an offset (default: logs.timezone)')
    .option('--label <label>', 'label of the ingestion run')
    .option(
      '--logsource <spec>',
      'Sigma logsource the events declare, e.g. product=macos,category=process_creation (keys product, category, service)',
      logsourceOption,
    )
    .option('--no-resume', 're-read files from the start (stored events are still not doubled)')
    .option('--follow', 'keep reading lines appended to the files (like tail -F) until interrupted')
    .option('--poll <ms>', 'with --follow: how often to look for new lines', intOption('poll', 10), 1000)
    .option('--progress', 'print a progress line per batch on stderr even when it is not a terminal')
    .option('--json', 'print the summary as one JSON object')
    .action(
      async (
        files: string[],
        o: {
          tenant: string;
          source?: string;
          format: LogFormat;
          timezone?: string;
          label?: string;
          logsource?: DeclaredLogsource;
          resume: boolean;
          progress?: boolean;
          follow?: boolean;
          poll: number;
          json?: boolean;
        },
      ) => {
        const c = await ctx.container();
        const ingest = c.services.logIngest;
        const bar = o.progress
          ? progressBar(true, true)
          : progressBar(!o.json && process.stderr.isTTY === true);
        const opts = {
          format: o.format,
          timezone: o.timezone,
          label: o.label,
          logsource: o.logsource,
          resume: o.resume,
          onProgress: (p: IngestProgress) => bar.update(p),
        };
        const target = { tenant: o.tenant, source: o.source };
        if (o.follow) {
          if (files.includes('-')) throw new ValidationError('--follow reads files, not standard input');
          const ac = new AbortController();
          for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => ac.abort());
          await Promise.all(
            files.map((f) =>
              ingest.follow(target, f, {
                ...opts,
                pollMs: o.poll,
                signal: ac.signal,
                onRun: (r) => (o.json ? process.stdout.write(JSON.stringify(r) + '\n') : printSummaryLine(r)),
              }),
            ),
          );
          return;
        }
        const results: IngestSummary[] = [];
        for (const f of files) {
          const r =
            f === '-'
              ? await ingest.ingestChunks(target, 'stdin', process.stdin, opts)
              : await ingest.ingestFile(target, f, opts);
          results.push(r);
        }
        bar.done();
        const total = totals(results);
        if (o.json) return printJson(files.length === 1 ? results[0] : { ...total, inputs: results });
        printTable(
          [...results, ...(results.length > 1 ? [{ ...total, input: 'TOTAL' }] : [])].map((r) => ({
            ...r,
            eventsPerSecond: r.eventsPerSecond,
            reasons: Object.entries(r.rejectReasons)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          })),
          ['input', 'read', 'accepted', 'rejected', 'duplicates', 'eventsPerSecond', 'reasons'],
        );
      },
    );
}

function totals(rs: IngestSummary[]) {
  const sum = (
    k: 'read' | 'accepted' | 'rejected' | 'duplicates' | 'resumed' | 'skipped' | 'blank' | 'bytes',
  ) => rs.reduce((n, r) => n + r[k], 0);
  const elapsedMs = rs.reduce((n, r) => n + r.elapsedMs, 0);
  const reasons: Record<string, number> = {};
  for (const r of rs)
    for (const [k, v] of Object.entries(r.rejectReasons)) reasons[k] = (reasons[k] ?? 0) + v;
  return {
    read: sum('read'),
    accepted: sum('accepted'),
    rejected: sum('rejected'),
    duplicates: sum('duplicates'),
    resumed: sum('resumed'),
    skipped: sum('skipped'),
    blank: sum('blank'),
    bytes: sum('bytes'),
    elapsedMs,
    eventsPerSecond: elapsedMs > 0 ? Math.round(((sum('read') - sum('resumed')) * 1000) / elapsedMs) : 0,
    rejectReasons: reasons,
  };
}
