/**
 * Any other line: accepted as `text` with message = the line. Heuristics fill what they can: a leading
 * timestamp (ISO 8601, ctime, `Mmm dd hh:mm:ss`, `Mmm dd yyyy hh:mm:ss`), the Cisco IOS shape
 * `HOST SEQ: [*]Mmm dd hh:mm:ss.fff: %FAC-SEV-MNEMONIC: text`, a source IP and a user.
 */
import { applyTextHeuristics, put, SYSLOG_SEVERITIES } from '../normalize.ts';
import { parseTimestamp, readCtime, readIso, readRfc3164 } from '../timestamp.ts';
import type { ParseResult } from '../types.ts';
import { accept, emptyEvent, type ParseContext } from './context.ts';

const RE_CISCO =
  /^(?:(\S+) )?(?:\d+: )?\*?([A-Z][a-z]{2} +\d{1,2} (?:\d{4} )?\d\d:\d\d:\d\d(?:\.\d+)?)(?: [A-Z]{3,4})?: %([A-Z0-9_-]+)-(\d)-([A-Z0-9_]+): ?(.*)$/;

export function parseText(record: string, ctx: ParseContext): ParseResult {
  const event = emptyEvent('text');
  event.message = record;
  const n = event.normalized;
  if (record.indexOf(': %') > 0) {
    const m = RE_CISCO.exec(record);
    if (m) {
      if (m[1]) event.host = m[1];
      const p = readRfc3164(m[2] ?? '', 0);
      event.timestamp = p ? ctx.years.resolve(p) : parseTimestamp(m[2], ctx.tz);
      event.appname = m[3] ?? null;
      put(n, 'level', SYSLOG_SEVERITIES[Number(m[4])]);
      put(n, 'msgid', m[5]);
      event.message = m[6] ?? record;
      applyTextHeuristics(n, event.message);
      return accept(event);
    }
  }
  const c = record.charCodeAt(0);
  if (c >= 48 && c <= 57) event.timestamp = readIso(record, 0, ctx.tz)?.date ?? null;
  else if (c >= 65 && c <= 90) {
    const p = readRfc3164(record, 0);
    event.timestamp = p ? ctx.years.resolve(p) : (readCtime(record, 0, ctx.tz)?.date ?? null);
  }
  applyTextHeuristics(n, record);
  return accept(event);
}
