/**
 * RFC 3164 (BSD syslog): `[<PRI>]Mmm dd hh:mm:ss HOST TAG[PID]: MSG`, as written by syslogd/rsyslog to files
 * (Loghub's OpenSSH and Linux logs, which have no PRI). Tolerated: a missing HOST (the TAG follows the
 * timestamp), an RFC 3339 timestamp in place of the BSD one (rsyslog's file format), fractional seconds, tags
 * with spaces or slashes (`syslogd 1.4.1:`, `postfix/smtpd[12]:`), a missing TAG, a trailing CR. A CEF payload
 * after the header is parsed as CEF.
 */
import type { ParsedEvent, ParseResult } from '../types.ts';
import { applyMessageSemantics, applyTextHeuristics, putPri } from '../normalize.ts';
import { readIso, readRfc3164 } from '../timestamp.ts';
import { accept, emptyEvent, reject, type ParseContext } from './context.ts';
import { applyCefBody } from './cef.ts';

/** `<PRI>` at the start: [pri, index after '>'], [-1, 0] when absent, null when malformed. */
export function readPri(s: string): [number, number] | null {
  if (s.charCodeAt(0) !== 60) return [-1, 0];
  let pri = 0;
  let i = 1;
  for (; i < s.length && i <= 4; i++) {
    const c = s.charCodeAt(i);
    if (c === 62) break;
    if (c < 48 || c > 57) return null;
    pri = pri * 10 + (c - 48);
  }
  if (i === 1 || s.charCodeAt(i) !== 62 || pri > 191) return null;
  return [pri, i + 1];
}

/** Splits `TAG[PID]: MSG` (from `start`) into the event's appname, procid and message. */
export function readTag(event: ParsedEvent, s: string, start: number): void {
  let i = start;
  while (s.charCodeAt(i) === 32) i++;
  const limit = Math.min(s.length, i + 64);
  let spaces = 0;
  for (let j = i; j < limit; j++) {
    const c = s.charCodeAt(j);
    if (c === 91) {
      // '[pid]'
      const close = s.indexOf(']', j);
      if (close < 0 || close - j > 12) break;
      const pid = s.slice(j + 1, close);
      if (!/^\d+$/.test(pid) || s.charCodeAt(close + 1) !== 58) break;
      event.appname = s.slice(i, j);
      event.procid = Number(pid);
      event.message = s.slice(s.charCodeAt(close + 2) === 32 ? close + 3 : close + 2);
      return;
    }
    if (c === 58) {
      const next = s.charCodeAt(j + 1);
      if (j === i || (next !== 32 && !Number.isNaN(next))) break;
      event.appname = s.slice(i, j);
      event.message = s.slice(next === 32 ? j + 2 : j + 1);
      return;
    }
    if (c === 32 && ++spaces > 2) break;
  }
  event.message = s.slice(i);
}

/**
 * Parses one RFC 3164 record. `strict` (a forced format) rejects a record without a syslog timestamp;
 * otherwise the caller has already checked the header.
 */
export function parseRfc3164(record: string, ctx: ParseContext): ParseResult {
  const pri = readPri(record);
  if (!pri) return reject('rfc3164: invalid PRI');
  const event = emptyEvent('syslog_rfc3164');
  let i = pri[1];
  const bsd = readRfc3164(record, i);
  let end: number;
  if (bsd) {
    event.timestamp = ctx.years.resolve(bsd);
    end = bsd.end;
  } else {
    const iso = readIso(record, i, ctx.tz);
    if (!iso) return reject(`rfc3164: no timestamp at column ${i + 1}`);
    event.timestamp = iso.date;
    end = iso.end;
  }
  if (record.charCodeAt(end) !== 32 && end < record.length) {
    return reject(`rfc3164: expected a space after the timestamp at column ${end + 1}`);
  }
  i = end + 1;
  if (pri[0] >= 0) putPri(event.normalized, pri[0]);
  // HOST, unless the next token is already the tag (`sshd[1]:` or `kernel:`).
  const sp = record.indexOf(' ', i);
  const tokenEnd = sp < 0 ? record.length : sp;
  const last = record.charCodeAt(tokenEnd - 1);
  if (tokenEnd > i && last !== 58 && last !== 93 && record.slice(i, tokenEnd).indexOf('[') < 0) {
    event.host = record.slice(i, tokenEnd);
    i = tokenEnd + 1;
  }
  if (i < record.length) readTag(event, record, i);
  else event.message = '';
  const msg = event.message;
  if (msg !== null && msg.startsWith('CEF:')) {
    applyCefBody(event, msg, ctx);
    return accept(event);
  }
  applyMessageSemantics(event.normalized, event.appname, msg);
  if (msg && event.normalized.action === undefined) applyTextHeuristics(event.normalized, msg);
  return accept(event);
}
