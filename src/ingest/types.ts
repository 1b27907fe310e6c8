/**
 * The parser contract. Parsers are pure (no store, no I/O): text of one record in, a parsed event or a reason
 * out. A record is one line, or one JSON value's text when the framer reads a JSON document or stream.
 */

export const LOG_FORMATS = [
  'auto',
  'syslog', // RFC 3164 or RFC 5424, decided per line
  'rfc3164',
  'rfc5424',
  'apache_error',
  'json', // any JSON object; Windows event shapes are recognised and normalised as windows_event
  'windows_event',
  'auditd',
  'cef',
  'csv', // first record of the input is the header
  'text', // any line; nothing parsed but what text heuristics find
] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface ParseOptions {
  /** Forced format, or `auto` (detect per record). */
  format: LogFormat;
  /** IANA time zone for timestamps that carry no offset (RFC 3164, Apache, many JSON shapes). Default UTC. */
  timezone?: string;
  /** "Now" for year inference of year-less timestamps (RFC 3164). Default: the current time. */
  referenceTime?: Date;
}

export interface ParsedEvent {
  /** Event time; null when the record carries none the parser could read. */
  timestamp: Date | null;
  appname: string | null;
  host: string | null;
  message: string | null;
  procid: number | null;
  /** Which parser produced it (see LogEventInput.sourceType). */
  sourceType: string;
  /** Normalised fields (documented in normalize.ts). */
  normalized: Record<string, unknown>;
  /** The structured record as received (JSON, CSV row as an object); null for text formats. */
  original: unknown;
  /** Parser notes for the event's metadata, e.g. `not rfc3164: ...` when auto mode fell back to text. */
  notes?: string[];
}

/**
 * `ok: false` is a reject (quarantine it with `reason`) unless `skip` is true: then the record is stream
 * structure, not an event, and is neither accepted nor rejected. The one such record today is a CSV header
 * (reason `csv_header`): it is consumed into the stream parser's state (its names become the keys of every
 * row's `original`), so the pipeline counts it as `skipped`, stores and quarantines nothing, and leaves it
 * out of `read` (so `read = accepted + rejected + duplicates` still holds). A consumer that ignores `skip`
 * quarantines the header with reason `csv_header`: visible, nothing lost.
 */
export type ParseResult = { ok: true; event: ParsedEvent } | { ok: false; reason: string; skip?: boolean };

/**
 * A parser for one input stream. Stateful where a stream needs it: the CSV header, and RFC 3164 year
 * inference across a year boundary (Dec 31 -> Jan 1 moves to the next year).
 */
export interface StreamParser {
  parse(record: string): ParseResult;
}
