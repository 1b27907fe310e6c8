/**
 * Apache httpd error log: `[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] message` (2.2), and the 2.4
 * form `[Sun Dec 04 04:47:44.123456 2005] [core:error] [pid 123:tid 456] [client 1.2.3.4:5678] message`.
 */
import { applyTextHeuristics, asPort, put, putAddress } from '../normalize.ts';
import { readCtime } from '../timestamp.ts';
import type { ParseResult } from '../types.ts';
import { accept, emptyEvent, reject, type ParseContext } from './context.ts';

/** A 2.4 timestamp carries microseconds before the year: `04:47:44.123456 2005`. */
function readApacheTime(s: string, tz: string): { date: Date; end: number } | null {
  return readCtime(s, 1, tz);
}

export function parseApacheError(record: string, ctx: ParseContext): ParseResult {
  if (record.charCodeAt(0) !== 91) return reject('apache_error: record does not start with [');
  const ts = readApacheTime(record, ctx.tz);
  if (!ts || record.charCodeAt(ts.end) !== 93) return reject('apache_error: invalid timestamp in [...]');
  const event = emptyEvent('apache_error');
  event.timestamp = ts.date;
  event.appname = 'apache';
  const n = event.normalized;
  let i = ts.end + 1;
  // Bracketed fields: [level] or [module:level], [pid N(:tid M)], [client IP(:port)]
  while (record.charCodeAt(i) === 32 && record.charCodeAt(i + 1) === 91) {
    const close = record.indexOf(']', i + 2);
    if (close < 0) break;
    const inner = record.slice(i + 2, close);
    if (inner.startsWith('client ')) {
      const addr = inner.slice(7);
      const colon = addr.lastIndexOf(':');
      if (colon > 0 && addr.indexOf(':') === colon) {
        putAddress(n, 'src', addr.slice(0, colon));
        put(n, 'src_port', asPort(addr.slice(colon + 1)));
      } else putAddress(n, 'src', addr);
    } else if (inner.startsWith('pid ')) {
      const pid = /^pid (\d+)/.exec(inner);
      if (pid) event.procid = Number(pid[1]);
    } else if (n.level === undefined && /^[a-z0-9_]*:?[a-z]+\d?$/.test(inner)) {
      const colon = inner.indexOf(':');
      if (colon >= 0) put(n, 'module', inner.slice(0, colon));
      put(n, 'level', inner.slice(colon + 1));
    } else break;
    i = close + 1;
  }
  event.message = record.charCodeAt(i) === 32 ? record.slice(i + 1) : record.slice(i);
  applyTextHeuristics(n, event.message);
  return accept(event);
}
