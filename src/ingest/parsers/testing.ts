/** Test helper: parse one record with a fixed reference time and return the event (throws on reject). */
import { createStreamParser } from '../index.ts';
import type { LogFormat, ParsedEvent, ParseResult } from '../types.ts';

export const REF = new Date('2025-11-22T00:00:00Z');

export function parseOne(record: string, format: LogFormat = 'auto', timezone?: string): ParsedEvent {
  const r = parseResult(record, format, timezone);
  if (!r.ok) throw new Error(`rejected: ${r.reason}`);
  return r.event;
}

export function parseResult(record: string, format: LogFormat = 'auto', timezone?: string): ParseResult {
  return createStreamParser({ format, referenceTime: REF, ...(timezone ? { timezone } : {}) }).parse(record);
}
