/**
 * Reading the log store as a tenant (seed 002's fetch_logs, fetch_recent_logs, count_logs, execute_query):
 * inputs validated here, the store confines every operation to the tenant. Console queries are audited
 * (who ran which SQL), since they read raw events in bulk.
 */
import type {
  ConsoleResult,
  HistogramBucket,
  LogPage,
  QuarantineRow,
  TopValue,
} from '../domain/log-event.ts';
import {
  consoleQuerySchema,
  intervalSchema,
  logFieldSchema,
  logQuerySchema,
  type ConsoleQueryInput,
  type LogQueryInput,
} from '../domain/schemas/log.schema.ts';
import { parseInput } from '../domain/validation.ts';
import type { LogStore } from '../logstore/log-store.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import { z } from 'zod';
import type { Actor } from './audited.service.ts';

export interface ConsoleSettings {
  maxRows: number;
  timeoutMs: number;
}

const minutesSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(7 * 24 * 60);
const topLimitSchema = z.coerce.number().int().min(1).max(1000);

export class LogQueryService {
  constructor(
    private readonly store: () => Promise<LogStore>,
    private readonly auditLogs: AuditLogRepository,
    private readonly consoleSettings: ConsoleSettings,
  ) {}

  async search(tenantId: string, query: LogQueryInput = {}): Promise<LogPage> {
    const q = parseInput(logQuerySchema, query, 'log query');
    return (await this.store()).fetchLogs(tenantId, q);
  }

  async recent(
    tenantId: string,
    minutes: number,
    query: Omit<LogQueryInput, 'from' | 'to'> = {},
  ): Promise<LogPage> {
    const m = parseInput(minutesSchema, minutes, 'minutes');
    const q = parseInput(logQuerySchema, query, 'log query');
    return (await this.store()).fetchRecent(tenantId, m, q);
  }

  async count(tenantId: string, query: LogQueryInput = {}): Promise<number> {
    const { limit: _l, cursor: _c, ...q } = parseInput(logQuerySchema, query, 'log query');
    return (await this.store()).count(tenantId, q);
  }

  async top(tenantId: string, field: string, query: LogQueryInput = {}, limit = 10): Promise<TopValue[]> {
    const f = parseInput(logFieldSchema, field, 'field');
    const n = parseInput(topLimitSchema, limit, 'limit');
    const { limit: _l, cursor: _c, ...q } = parseInput(logQuerySchema, query, 'log query');
    return (await this.store()).topValues(tenantId, f, q, n);
  }

  async histogram(
    tenantId: string,
    interval: string | number,
    query: LogQueryInput = {},
  ): Promise<HistogramBucket[]> {
    const seconds = parseInput(intervalSchema, interval, 'interval');
    const { limit: _l, cursor: _c, ...q } = parseInput(logQuerySchema, query, 'log query');
    return (await this.store()).histogram(tenantId, seconds, q);
  }

  /** The read-only SQL console (seed 002 execute_query), audited in the tenant's trail. */
  async console(tenantId: string, input: ConsoleQueryInput, actor: Actor | null): Promise<ConsoleResult> {
    const v = parseInput(consoleQuerySchema, input, 'console query');
    const opts = {
      maxRows: Math.min(v.maxRows ?? this.consoleSettings.maxRows, this.consoleSettings.maxRows),
      timeoutMs: Math.min(v.timeoutMs ?? this.consoleSettings.timeoutMs, this.consoleSettings.timeoutMs),
    };
    const store = await this.store();
    if (!actor) return store.console(tenantId, v.sql, opts);
    // The audit row is written first and commits even when the query is refused: refusals are worth seeing.
    await this.auditLogs.create(tenantId, {
      userId: actor.principal.kind === 'user' ? actor.principal.id : null,
      actor: actor.principal.name,
      action: 'export',
      resourceType: 'log_query',
      description: `log console query: ${v.sql.slice(0, 4000)}`,
      ipAddress: actor.meta.ip ?? null,
      userAgent: actor.meta.userAgent ?? null,
    });
    return store.console(tenantId, v.sql, opts);
  }

  async quarantine(
    tenantId: string,
    opts: { runId?: string; limit?: number; offset?: number } = {},
  ): Promise<{ items: QuarantineRow[]; total: number }> {
    const v = parseInput(
      z.object({
        runId: z.uuid().optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(50),
        offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
      }),
      opts,
      'quarantine query',
    );
    return (await this.store()).listQuarantine(tenantId, v);
  }
}
