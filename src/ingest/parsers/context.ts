import type { ParsedEvent, ParseResult } from '../types.ts';
import type { YearInference } from '../timestamp.ts';

/** What a parser needs from its stream: the time zone for offset-less times and the stream's year inference. */
export interface ParseContext {
  /** IANA time zone for timestamps without an offset. */
  tz: string;
  /** Year inference for RFC 3164 timestamps, shared by every record of one stream. */
  years: YearInference;
}

/** An event with every column empty; parsers fill what they know. */
export function emptyEvent(sourceType: string): ParsedEvent {
  return {
    timestamp: null,
    appname: null,
    host: null,
    message: null,
    procid: null,
    sourceType,
    normalized: {},
    original: null,
  };
}

export function accept(event: ParsedEvent): ParseResult {
  return { ok: true, event };
}

export function reject(reason: string): ParseResult {
  return { ok: false, reason };
}
