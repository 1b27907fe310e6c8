import type { Command } from 'commander';
import { NotFoundError } from '../../domain/errors.ts';
import { parseFilterArgs, type LogQueryInput } from '../../domain/schemas/log.schema.ts';
import type { CliContext } from '../context.ts';
import { intOption, printJson, printTable, println } from '../output.ts';

interface ReadOpts {
  tenant: string;
  from?: string;
  to?: string;
  text?: string;
  filter?: string[];
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function withReadOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--tenant <tenant>', 'tenant id or slug')
    .option('--from <time>', 'events at or after this time (ISO 8601)')
    .option('--to <time>', 'events before this time (ISO 8601)')
    .option('--text <text>', 'case-insensitive substring of the message or raw line')
    .option('--filter <field:value>', 'a column or normalized.<key> equal to value (repeatable)', collect)
    .option('--json', 'machine-readable output');
}

function toQuery(o: ReadOpts): LogQueryInput {
  const filters = parseFilterArgs(o.filter);
  return {
    ...(o.from ? { from: o.from as unknown as Date } : {}),
    ...(o.to ? { to: o.to as unknown as Date } : {}),
    ...(o.text ? { text: o.text } : {}),
    ...(Object.keys(filters).length ? { filters } : {}),
  };
}

export function registerLogs(program: Command, ctx: CliContext): void {
  const logs = program.command('logs').description('read the log store: search, count, top values, SQL');

  const tenantId = async (ref: string) => {
    const c = await ctx.container();
    const t = await c.repos.tenants.getByRef(ref);
    if (!t) throw new NotFoundError('tenant', ref);
    return { c, tenantId: t.id };
  };

  withReadOptions(logs.command('search').description('events by time range and filters, newest first'))
    .option('--limit <n>', 'at most this many events', intOption('limit'), 20)
    .option('--cursor <cursor>', 'continue after the previous page')
    .action(async (o: ReadOpts & { limit: number; cursor?: string }) => {
      const { c, tenantId: t } = await tenantId(o.tenant);
      const page = await c.services.logs.search(t, {
        ...toQuery(o),
        limit: o.limit,
        ...(o.cursor ? { cursor: o.cursor } : {}),
      });
      if (o.json) return printJson(page);
      printTable(
        page.items.map((e) => ({ ...e, timestamp: e.timestamp.toISOString() })),
        ['timestamp', 'host', 'appname', 'sourceType', 'message'],
      );
      if (page.nextCursor) println(`next page: --cursor ${page.nextCursor}`);
    });

  withReadOptions(logs.command('count').description('count events matching the filters')).action(
    async (o: ReadOpts) => {
      const { c, tenantId: t } = await tenantId(o.tenant);
      const n = await c.services.logs.count(t, toQuery(o));
      if (o.json) return printJson({ count: n });
      println(String(n));
    },
  );

  withReadOptions(
    logs
      .command('top')
      .description('most frequent values of a field')
      .argument('<field>', 'a column (appname, host, ...) or normalized.<key>'),
  )
    .option('--limit <n>', 'how many values', intOption('limit'), 10)
    .action(async (field: string, o: ReadOpts & { limit: number }) => {
      const { c, tenantId: t } = await tenantId(o.tenant);
      const items = await c.services.logs.top(t, field, toQuery(o), o.limit);
      if (o.json) return printJson({ items });
      printTable(items as unknown as Record<string, unknown>[], ['value', 'count']);
    });

  withReadOptions(logs.command('histogram').description('event counts per time bucket'))
    .option('--interval <width>', 'bucket width: 30s, 5m, 1h, 1d or seconds', '1h')
    .action(async (o: ReadOpts & { interval: string }) => {
      const { c, tenantId: t } = await tenantId(o.tenant);
      const buckets = await c.services.logs.histogram(t, o.interval, toQuery(o));
      if (o.json) return printJson({ buckets });
      printTable(
        buckets.map((b) => ({ start: b.start.toISOString(), count: b.count })),
        ['start', 'count'],
      );
    });

  logs
    .command('query')
    .description("read-only SQL over the tenant's events (table `logs`)")
    .argument('<sql>', 'one SELECT statement')
    .requiredOption('--tenant <tenant>', 'tenant id or slug')
    .option('--max-rows <n>', 'row cap', intOption('max-rows'))
    .option('--timeout <ms>', 'time limit in milliseconds', intOption('timeout', 100))
    .option('--json', 'machine-readable output')
    .action(
      async (sql: string, o: { tenant: string; maxRows?: number; timeout?: number; json?: boolean }) => {
        const { c, tenantId: t } = await tenantId(o.tenant);
        const r = await c.services.logs.console(
          t,
          {
            sql,
            ...(o.maxRows ? { maxRows: o.maxRows } : {}),
            ...(o.timeout ? { timeoutMs: o.timeout } : {}),
          },
          null,
        );
        if (o.json) return printJson(r);
        const names = r.columns.map((col) => col.name);
        printTable(
          r.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]]))),
          names,
        );
        println(
          `${r.rows.length} row(s)${r.truncated ? ' (cut at the row cap)' : ''} in ${Math.round(r.elapsedMs)} ms`,
        );
      },
    );

  logs
    .command('quarantine')
    .description('rejected records with their reasons')
    .requiredOption('--tenant <tenant>', 'tenant id or slug')
    .option('--run <id>', 'records of one ingestion run')
    .option('--limit <n>', 'how many', intOption('limit'), 50)
    .option('--json', 'machine-readable output')
    .action(async (o: { tenant: string; run?: string; limit: number; json?: boolean }) => {
      const { c, tenantId: t } = await tenantId(o.tenant);
      const page = await c.services.logs.quarantine(t, {
        limit: o.limit,
        ...(o.run ? { runId: o.run } : {}),
      });
      const items = page.items.map((q) => ({
        ...q,
        raw: Buffer.from(q.raw).toString('utf8').slice(0, 200),
        receivedAt: q.receivedAt.toISOString(),
      }));
      if (o.json) return printJson({ total: page.total, items });
      printTable(items, ['receivedAt', 'input', 'line', 'reason', 'rawSize', 'raw']);
      println(`${page.total} quarantined record(s)`);
    });

  logs
    .command('purge')
    .description("delete events older than each tenant's retention_days (what the retention job does)")
    .option('--tenant <tenant>', 'one tenant (id or slug); default every tenant')
    .option('--json', 'machine-readable output')
    .action(async (o: { tenant?: string; json?: boolean }) => {
      const c = await ctx.container();
      const { retention } = await c.logJobs();
      if (o.tenant) {
        const { tenantId: t } = await tenantId(o.tenant);
        const r = await retention.purgeTenant(t);
        if (o.json) return printJson(r);
        printTable([r as unknown as Record<string, unknown>], Object.keys(r));
        return;
      }
      const r = await retention.purgeAll();
      if (o.json) return printJson(r);
      println(
        `${r.tenants} tenant(s): ${r.events} event(s) and ${r.quarantined} quarantined record(s) deleted`,
      );
      for (const f of r.failures) println(`failed: ${JSON.stringify(f)}`);
      if (r.failures.length) process.exitCode = 1;
    });
}
