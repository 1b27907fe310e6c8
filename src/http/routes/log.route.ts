/**
 * /api/v1/logs: the log store over HTTP.
 *
 *   POST /logs              ingest NDJSON (application/x-ndjson) or a JSON array of events or raw lines
 *   GET  /logs              seed 002 fetch_logs: time range, filters, text, cursor paging
 *   GET  /logs/recent       fetch_recent_logs: the last N minutes
 *   GET  /logs/count        count_logs
 *   GET  /logs/top          most frequent values of a field
 *   GET  /logs/histogram    event counts per time bucket
 *   POST /logs/query        the read-only SQL console over the tenant's events (audited)
 *   GET  /logs/quarantine   rejected records with their reasons
 */
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.ts';
import { frameBuffer } from '../../ingest/framing.ts';
import { LOG_FORMATS } from '../../ingest/types.ts';
import {
  parseDeclaredLogsource,
  parseFilterArgs,
  type LogQueryInput,
} from '../../domain/schemas/log.schema.ts';
import { actorOf, tenantOf } from '../plugins/auth.plugin.ts';
import { API_PREFIX } from '../route-registry.ts';
import { AUTHENTICATED_PROBLEMS, problems, timestamp } from '../schemas.ts';
import type { ApiServices } from '../services.ts';
import type { ApiApp } from '../types.ts';

const BASE = `${API_PREFIX}/logs`;
const TAGS = ['logs'];
/** Records in one POST (the body limit applies too). */
const MAX_BATCH = 100_000;
/** A longer NDJSON line is quarantined as oversized. */
const MAX_RECORD_BYTES = 1024 * 1024;

export const logEventSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    seq: z.number().int().describe('Ingest sequence number: increasing in commit order'),
    timestamp,
    raw: z.string(),
    appname: z.string().nullable(),
    file: z.string().nullable(),
    host: z.string().nullable(),
    hostname: z.string().nullable(),
    message: z.string().nullable(),
    procid: z.number().int().nullable(),
    sourceType: z.string(),
    normalized: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
    sourceId: z.string().nullable(),
    original: z.unknown(),
    ingestionTime: timestamp,
  })
  .meta({ id: 'LogEvent', description: 'One stored log event (seed 002 logs row)' });

const summarySchema = z
  .object({
    runId: z.uuid(),
    input: z.string(),
    format: z.string(),
    read: z.number().int().describe('read = accepted + rejected + duplicates'),
    accepted: z.number().int(),
    rejected: z.number().int().describe('Quarantined with their reason: GET /logs/quarantine?runId='),
    duplicates: z.number().int(),
    skipped: z.number().int(),
    bytes: z.number().int(),
    elapsedMs: z.number().int(),
    eventsPerSecond: z.number().int(),
    rejectReasons: z.record(z.string(), z.number().int()),
  })
  .meta({ id: 'IngestSummary', description: 'What one ingestion run did' });

const quarantineSchema = z
  .object({
    id: z.string(),
    runId: z.string().nullable(),
    sourceId: z.string().nullable(),
    input: z.string().nullable(),
    position: z.number().nullable(),
    line: z.number().int().nullable(),
    reason: z.string(),
    rawSize: z.number().int(),
    rawBase64: z.string().describe('The record bytes (cut to the quarantine bound), base64'),
    rawText: z.string().describe('The same bytes as text, invalid UTF-8 replaced'),
    receivedAt: timestamp,
  })
  .meta({ id: 'QuarantinedRecord' });

const isoTime = z.iso
  .datetime({ offset: true })
  .describe('ISO 8601 time with an offset, e.g. 2026-01-01T00:00:00Z');

/** `?filter=appname:sshd&filter=normalized.src_ip:1.2.3.4` (repeatable; same field twice = any of). */
const readQuery = {
  from: isoTime.optional(),
  to: isoTime.optional(),
  text: z.string().min(1).max(1024).optional().describe('Case-insensitive substring of message or raw'),
  filter: z
    .union([z.string(), z.array(z.string()).max(50)])
    .optional()
    .describe('field:value; field is a column (appname, host, ...) or normalized.<key>'),
};

function toLogQuery(q: {
  from?: string | undefined;
  to?: string | undefined;
  text?: string | undefined;
  filter?: string | string[] | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}): LogQueryInput {
  const filters = parseFilterArgs(q.filter);
  return {
    ...(q.from ? { from: new Date(q.from) } : {}),
    ...(q.to ? { to: new Date(q.to) } : {}),
    ...(q.text ? { text: q.text } : {}),
    ...(Object.keys(filters).length ? { filters } : {}),
    ...(q.limit ? { limit: q.limit } : {}),
    ...(q.cursor ? { cursor: q.cursor } : {}),
  };
}

const pageOf = z.object({ items: z.array(logEventSchema), nextCursor: z.string().nullable() });

export function registerLogRoutes(app: ApiApp, services: ApiServices): void {
  const { logs, logIngest } = services;

  // NDJSON bodies arrive as a byte string (latin1: one char per byte, lossless), so the framer sees the exact
  // bytes and can quarantine a line that is not UTF-8; the JSON-array form uses the default JSON parser.
  app.addContentTypeParser(
    ['application/x-ndjson', 'application/jsonl'],
    { parseAs: 'buffer' },
    (_req, body, done) => done(null, (body as Buffer).toString('latin1')),
  );

  app.post(
    BASE,
    {
      config: { permission: 'logs:write' },
      schema: {
        operationId: 'ingestLogs',
        summary: 'Ingest log events',
        description:
          'NDJSON (`application/x-ndjson`, one event per line) or a JSON array (`application/json`) whose items ' +
          'are event objects or raw log lines (strings, parsed like file lines). Each item becomes an event or a ' +
          'quarantined record with its reason; a retried batch adds no duplicates.',
        tags: TAGS,
        querystring: z.strictObject({
          source: z.string().min(1).max(255).optional().describe('Source id or name'),
          format: z.enum(LOG_FORMATS).optional(),
          timezone: z.string().min(1).max(64).optional(),
          logsource: z
            .string()
            .min(1)
            .max(256)
            .optional()
            .describe(
              'Sigma logsource the events declare, stored as metadata.logsource: product=macos,category=process_creation (keys product, category, service; values a-z, 0-9, _ and -)',
            ),
        }),
        body: z.union([
          z.array(z.union([z.string(), z.record(z.string(), z.unknown())])).max(MAX_BATCH),
          z.string().describe('NDJSON text'),
        ]),
        response: { 200: summarySchema, ...problems(400, 404, 413, 415, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => {
      const body = req.body;
      // Checked before the body is framed: a bad value refuses the whole request (400).
      const logsource =
        req.query.logsource === undefined ? undefined : parseDeclaredLogsource(req.query.logsource);
      const records =
        typeof body === 'string'
          ? frameBuffer(Buffer.from(body, 'latin1'), { mode: 'lines', maxRecordBytes: MAX_RECORD_BYTES })
          : body.map((item) => ({ text: typeof item === 'string' ? item : JSON.stringify(item) }));
      if (records.length > MAX_BATCH)
        throw new ValidationError(`at most ${MAX_BATCH} records per request`, [
          { path: 'body', message: 'too many records' },
        ]);
      return logIngest.ingestRecords({ tenant: tenantOf(req), source: req.query.source }, 'http', records, {
        format: req.query.format,
        timezone: req.query.timezone,
        logsource,
      });
    },
  );

  app.get(
    BASE,
    {
      config: { permission: 'logs:read' },
      schema: {
        operationId: 'listLogs',
        summary: 'Search log events',
        description: 'Newest first. Pass `nextCursor` as `cursor` for the next page.',
        tags: TAGS,
        querystring: z.strictObject({
          ...readQuery,
          limit: z.coerce.number().int().min(1).max(10_000).default(100),
          cursor: z.string().max(1024).optional(),
        }),
        response: { 200: pageOf, ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => logs.search(tenantOf(req), toLogQuery(req.query)),
  );

  app.get(
    `${BASE}/recent`,
    {
      config: { permission: 'logs:read' },
      schema: {
        operationId: 'recentLogs',
        summary: 'Log events of the last N minutes',
        tags: TAGS,
        querystring: z.strictObject({
          minutes: z.coerce.number().int().min(1).max(10_080).default(5),
          text: readQuery.text,
          filter: readQuery.filter,
          limit: z.coerce.number().int().min(1).max(10_000).default(100),
          cursor: z.string().max(1024).optional(),
        }),
        response: { 200: pageOf, ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => {
      const { minutes, ...rest } = req.query;
      return logs.recent(tenantOf(req), minutes, toLogQuery(rest));
    },
  );

  app.get(
    `${BASE}/count`,
    {
      config: { permission: 'logs:read' },
      schema: {
        operationId: 'countLogs',
        summary: 'Count log events',
        tags: TAGS,
        querystring: z.strictObject(readQuery),
        response: { 200: z.object({ count: z.number().int() }), ...problems(400, ...AUTHENTICATED_PROBLEMS) },
      },
    },
    async (req) => ({ count: await logs.count(tenantOf(req), toLogQuery(req.query)) }),
  );

  app.get(
    `${BASE}/top`,
    {
      config: { permission: 'logs:read' },
      schema: {
        operationId: 'topLogValues',
        summary: 'Most frequent values of a field',
        tags: TAGS,
        querystring: z.strictObject({
          ...readQuery,
          field: z.string().min(1).max(200).describe('A column or normalized.<key>'),
          limit: z.coerce.number().int().min(1).max(1000).default(10),
        }),
        response: {
          200: z.object({
            items: z.array(z.object({ value: z.string().nullable(), count: z.number().int() })),
          }),
          ...problems(400, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => {
      const { field, limit, ...rest } = req.query;
      return { items: await logs.top(tenantOf(req), field, toLogQuery(rest), limit) };
    },
  );

  app.get(
    `${BASE}/histogram`,
    {
      config: { permission: 'logs:read' },
      schema: {
        operationId: 'logHistogram',
        summary: 'Event counts per time bucket',
        tags: TAGS,
        querystring: z.strictObject({
          ...readQuery,
          interval: z
            .string()
            .min(1)
            .max(16)
            .default('1h')
            .describe('Bucket width: 30s, 5m, 1h, 1d or seconds'),
        }),
        response: {
          200: z.object({ buckets: z.array(z.object({ start: timestamp, count: z.number().int() })) }),
          ...problems(400, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => {
      const { interval, ...rest } = req.query;
      return { buckets: await logs.histogram(tenantOf(req), interval, toLogQuery(rest)) };
    },
  );

  app.post(
    `${BASE}/query`,
    {
      config: { permission: 'logs:read' },
      schema: {
        operationId: 'queryLogs',
        summary: 'Read-only SQL over the tenant’s events',
        description:
          'One SELECT over the table `logs` (the tenant’s own events). Writes, several statements, other tables, ' +
          'files and extensions are refused; rows are capped and the query is cancelled at the time limit. Audited.',
        tags: TAGS,
        body: z.strictObject({
          sql: z.string().min(1).max(100_000),
          maxRows: z.number().int().min(1).max(100_000).optional(),
          timeoutMs: z.number().int().min(100).max(600_000).optional(),
        }),
        response: {
          200: z.object({
            columns: z.array(z.object({ name: z.string(), type: z.string() })),
            rows: z.array(z.array(z.unknown())),
            truncated: z.boolean(),
            elapsedMs: z.number(),
          }),
          ...problems(400, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => logs.console(tenantOf(req), req.body, actorOf(req)),
  );

  app.get(
    `${BASE}/quarantine`,
    {
      config: { permission: 'logs:read' },
      schema: {
        operationId: 'listQuarantine',
        summary: 'Rejected records, with their reasons',
        tags: TAGS,
        querystring: z.strictObject({
          runId: z.uuid().optional(),
          limit: z.coerce.number().int().min(1).max(1000).default(50),
          offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
        }),
        response: {
          200: z.object({ items: z.array(quarantineSchema), total: z.number().int() }),
          ...problems(400, ...AUTHENTICATED_PROBLEMS),
        },
      },
    },
    async (req) => {
      const page = await logs.quarantine(tenantOf(req), req.query);
      return {
        total: page.total,
        items: page.items.map((q) => ({
          ...q,
          rawBase64: Buffer.from(q.raw).toString('base64'),
          rawText: Buffer.from(q.raw).toString('utf8'),
        })),
      };
    },
  );
}
