/**
 * Ingest parsers: `createStreamParser(options)` gives one stateful parser per input stream (CSV header,
 * RFC 3164 year inference). `format: 'auto'` detects the format of every record (see detect.ts); a forced
 * format rejects records that are malformed for it. In auto mode only a record whose first character is `{`
 * but is not valid JSON is rejected (`invalid_json: ...`); a record another detected parser cannot read
 * becomes `text` with a note (ParsedEvent.notes).
 */
import { detectFormat } from './detect.ts';
import { parseApacheError } from './parsers/apache-error.ts';
import { parseAuditd } from './parsers/auditd.ts';
import { parseCef } from './parsers/cef.ts';
import type { ParseContext } from './parsers/context.ts';
import { CsvParser, looksLikeCsvHeader } from './parsers/csv.ts';
import { parseJson } from './parsers/json.ts';
import { parseRfc3164 } from './parsers/rfc3164.ts';
import { parseRfc5424 } from './parsers/rfc5424.ts';
import { parseText } from './parsers/text.ts';
import { isValidTimeZone, YearInference } from './timestamp.ts';
import {
  LOG_FORMATS,
  type LogFormat,
  type ParseOptions,
  type ParseResult,
  type StreamParser,
} from './types.ts';

export * from './types.ts';
export { detectFormat, type DetectedFormat } from './detect.ts';
export { getSourceIp, getTimestamp, getUser, type StoredEventLike } from './helpers.ts';
export { findSourceIp, findUser } from './normalize.ts';
export { parseTimestamp, isValidTimeZone, YearInference } from './timestamp.ts';
export { looksLikeCsvHeader, splitCsv } from './parsers/csv.ts';

/** Why a record was skipped rather than accepted or rejected (ParseResult `skip: true`). */
export const CSV_HEADER_REASON = 'csv_header';

function stripCr(record: string): string {
  let end = record.length;
  while (end > 0) {
    const c = record.charCodeAt(end - 1);
    if (c !== 13 && c !== 10) break;
    end--;
  }
  return end === record.length ? record : record.slice(0, end);
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 0xfeff) return false;
  }
  return true;
}

/** Runs the parser of a detected (auto) format; anything but JSON falls back to text when it fails. */
function parseDetected(record: string, ctx: ParseContext): ParseResult {
  const format = detectFormat(record);
  let result: ParseResult;
  switch (format) {
    case 'json':
      return parseJson(record, ctx);
    case 'indented_json':
      result = parseJson(record, ctx);
      break;
    case 'rfc3164':
      result = parseRfc3164(record, ctx);
      break;
    case 'rfc5424':
      result = parseRfc5424(record, ctx);
      break;
    case 'apache_error':
      result = parseApacheError(record, ctx);
      break;
    case 'auditd':
      result = parseAuditd(record, ctx);
      break;
    case 'cef':
      result = parseCef(record, ctx);
      break;
    case 'text':
      return parseText(record, ctx);
  }
  if (result.ok) return result;
  const text = parseText(record, ctx);
  if (text.ok) (text.event.notes ??= []).push(`not ${format}: ${result.reason}`);
  return text;
}

function parseForced(
  format: Exclude<LogFormat, 'auto' | 'csv'>,
  record: string,
  ctx: ParseContext,
): ParseResult {
  switch (format) {
    case 'syslog': {
      const d = detectFormat(record);
      return d === 'rfc5424' ? parseRfc5424(record, ctx) : parseRfc3164(record, ctx);
    }
    case 'rfc3164':
      return parseRfc3164(record, ctx);
    case 'rfc5424':
      return parseRfc5424(record, ctx);
    case 'apache_error':
      return parseApacheError(record, ctx);
    case 'json':
      return parseJson(record, ctx);
    case 'windows_event':
      return parseJson(record, ctx, true);
    case 'auditd':
      return parseAuditd(record, ctx);
    case 'cef': {
      if (record.startsWith('CEF:')) return parseCef(record, ctx);
      const d = detectFormat(record);
      const r =
        d === 'rfc5424' ? parseRfc5424(record, ctx) : d === 'rfc3164' ? parseRfc3164(record, ctx) : null;
      if (r?.ok && r.event.sourceType === 'cef') return r;
      return { ok: false, reason: 'cef: no CEF:Version|Vendor|Product|Version|ID|Name|Severity| header' };
    }
    case 'text':
      return parseText(record, ctx);
  }
}

/**
 * A parser for one input stream. Records are one line (a trailing CR/LF is tolerated) or one JSON value's
 * text. With `format: 'csv'`, or `auto` when the FIRST record is a plausible CSV header, the first record is
 * the header: it returns `{ ok: false, reason: 'csv_header', skip: true }` and every later record is a row.
 */
export function createStreamParser(opts: ParseOptions): StreamParser {
  if (!LOG_FORMATS.includes(opts.format)) throw new Error(`unknown log format: ${String(opts.format)}`);
  const tz = opts.timezone ?? 'UTC';
  if (!isValidTimeZone(tz)) throw new Error(`unknown time zone: ${tz}`);
  const ctx: ParseContext = { tz, years: new YearInference(opts.referenceTime ?? new Date(), tz) };
  let first = true;
  let csv: CsvParser | null = null;
  const format = opts.format;

  return {
    parse(raw: string): ParseResult {
      const record = stripCr(raw);
      if (isBlank(record)) return { ok: false, reason: 'empty' };
      if (first) {
        first = false;
        if (
          format === 'csv' ||
          (format === 'auto' && detectFormat(record) === 'text' && looksLikeCsvHeader(record))
        ) {
          csv = new CsvParser(record);
          return { ok: false, reason: CSV_HEADER_REASON, skip: true };
        }
      }
      if (csv) return csv.parse(record, ctx);
      if (format === 'auto') return parseDetected(record, ctx);
      if (format === 'csv') return { ok: false, reason: 'csv: no header' };
      return parseForced(format, record, ctx);
    },
  };
}
