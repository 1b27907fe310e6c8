/** Inputs of the log store's read operations (seed 002 fetch_logs, count_logs, ...) as callers send them. */
import { z } from 'zod';
import { ValidationError } from '../errors.ts';
import { LOG_FILTER_COLUMNS, NORMALIZED_FIELD } from '../log-event.ts';

export const logFieldSchema = z
  .string()
  .refine(
    (f) => (LOG_FILTER_COLUMNS as readonly string[]).includes(f) || NORMALIZED_FIELD.test(f),
    `a column (${LOG_FILTER_COLUMNS.join(', ')}) or normalized.<key>`,
  );

const date = z.coerce.date().refine((d) => !Number.isNaN(d.getTime()), 'an ISO 8601 time');

/** What every log read takes: a time range, equality filters and a text search. */
export const logQuerySchema = z
  .object({
    from: date.optional(),
    to: date.optional(),
    /** field -> value (or values: any of them). */
    filters: z
      .record(
        logFieldSchema,
        z.union([
          z.string().max(1024),
          z.number(),
          z
            .array(z.union([z.string().max(1024), z.number()]))
            .min(1)
            .max(100),
        ]),
      )
      .optional(),
    text: z.string().min(1).max(1024).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).optional(),
    cursor: z.string().max(1024).optional(),
  })
  .refine((q) => !q.from || !q.to || q.from < q.to, { message: 'from must be before to', path: ['from'] });
export type LogQueryInput = z.input<typeof logQuerySchema>;

export const consoleQuerySchema = z.object({
  sql: z.string().trim().min(1, 'an SQL query').max(100_000),
  maxRows: z.coerce.number().int().min(1).max(100_000).optional(),
  timeoutMs: z.coerce.number().int().min(100).max(600_000).optional(),
});
export type ConsoleQueryInput = z.input<typeof consoleQuerySchema>;

/** `5m`, `1h`, `1d`, or seconds: a histogram bucket width (1 s .. 31 days). */
export const intervalSchema = z.union([
  z.coerce
    .number()
    .int()
    .min(1)
    .max(31 * 86_400),
  z
    .string()
    .regex(/^(\d{1,6})(s|m|h|d)$/, 'seconds, or a number with s, m, h or d (e.g. 5m)')
    .transform((s) => {
      const m = /^(\d{1,6})(s|m|h|d)$/.exec(s)!;
      return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
    })
    .pipe(
      z
        .number()
        .int()
        .min(1)
        .max(31 * 86_400),
    ),
]);

/**
 * `field:value` filter arguments (`?filter=` on HTTP, `--filter` on the CLI) as LogQuery filters: the same
 * field twice means any of its values. A value may itself hold colons (`normalized.src_ip:fe80::1`).
 */
export function parseFilterArgs(
  args: string | readonly string[] | undefined,
): Record<string, string | string[]> {
  const filters: Record<string, string | string[]> = {};
  for (const f of args === undefined ? [] : typeof args === 'string' ? [args] : args) {
    const i = f.indexOf(':');
    if (i <= 0)
      throw new ValidationError(`invalid filter ${f}`, [{ path: 'filter', message: 'expected field:value' }]);
    const field = f.slice(0, i);
    const value = f.slice(i + 1);
    const cur = filters[field];
    filters[field] = cur === undefined ? value : Array.isArray(cur) ? [...cur, value] : [cur, value];
  }
  return filters;
}

/**
 * The Sigma logsource a source declares for its events (`vigil ingest --logsource`, `?logsource=` on
 * POST /logs), stored on each event as metadata.logsource. Sigma rules whose logsource no Vigil parser maps
 * run on the events that declare it (src/sigma/pipelines/declared.yml).
 */
export interface DeclaredLogsource {
  product?: string;
  category?: string;
  service?: string;
}

export const DECLARED_LOGSOURCE_KEYS = ['product', 'category', 'service'] as const;
const LOGSOURCE_VALUE = /^[a-z0-9_-]{1,64}$/;

function badLogsource(message: string): ValidationError {
  return new ValidationError(`invalid logsource: ${message}`, [{ path: 'logsource', message }]);
}

/** Checks a declared logsource given as an object (programmatic callers); returns a clean copy. */
export function checkDeclaredLogsource(value: unknown): DeclaredLogsource {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badLogsource('expected product, category and/or service');
  const out: DeclaredLogsource = {};
  for (const [k, v] of Object.entries(value)) {
    if (!(DECLARED_LOGSOURCE_KEYS as readonly string[]).includes(k))
      throw badLogsource(`unknown key '${k}' (product, category, service)`);
    if (v === undefined) continue;
    if (typeof v !== 'string' || !LOGSOURCE_VALUE.test(v))
      throw badLogsource(`${k} must be 1 to 64 of a-z, 0-9, _ and -`);
    out[k as keyof DeclaredLogsource] = v;
  }
  if (Object.keys(out).length === 0) throw badLogsource('expected product, category and/or service');
  return out;
}

/** `product=macos,category=process_creation[,service=...]` as a declared logsource (each key at most once). */
export function parseDeclaredLogsource(text: string): DeclaredLogsource {
  const out = new Map<string, string>();
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw badLogsource(`expected key=value, got '${part}'`);
    const key = part.slice(0, i).trim();
    if (out.has(key)) throw badLogsource(`'${key}' given twice`);
    out.set(key, part.slice(i + 1).trim());
  }
  return checkDeclaredLogsource(Object.fromEntries(out));
}
