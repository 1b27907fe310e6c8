/**
 * RFC 5424 syslog: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [MSG]`, `-` for nil
 * values, structured data `[id k="v" ...]` with `\"`, `\\` and `\]` escapes, an optional BOM before MSG.
 */
import { applyMessageSemantics, applyTextHeuristics, put, putPri } from '../normalize.ts';
import { readIso } from '../timestamp.ts';
import type { ParseResult } from '../types.ts';
import { accept, emptyEvent, reject, type ParseContext } from './context.ts';
import { readPri } from './rfc3164.ts';
import { applyCefBody } from './cef.ts';

/** Reads one header field (up to the next space) from `i`: [value or null for `-`, index after the space]. */
function field(s: string, i: number): [string | null, number] {
  const sp = s.indexOf(' ', i);
  const end = sp < 0 ? s.length : sp;
  const v = s.slice(i, end);
  return [v === '-' ? null : v, end + 1];
}

/** Structured data from `i`: [elements, index after] or an error message. */
function readSd(s: string, i: number): [Record<string, Record<string, string>>, number] | string {
  const sd: Record<string, Record<string, string>> = {};
  let j = i;
  while (s.charCodeAt(j) === 91) {
    j++;
    let k = j;
    while (k < s.length && s.charCodeAt(k) !== 32 && s.charCodeAt(k) !== 93) k++;
    const id = s.slice(j, k);
    if (!id) return `rfc5424: empty SD-ID at column ${j + 1}`;
    const params: Record<string, string> = {};
    j = k;
    while (s.charCodeAt(j) === 32) {
      j++;
      const eq = s.indexOf('=', j);
      if (eq < 0 || s.charCodeAt(eq + 1) !== 34) return `rfc5424: bad SD-PARAM at column ${j + 1}`;
      const name = s.slice(j, eq);
      let v = '';
      let m = eq + 2;
      for (; m < s.length; m++) {
        const c = s.charCodeAt(m);
        if (c === 92) {
          const n = s.charAt(m + 1);
          if (n === '"' || n === '\\' || n === ']') {
            v += n;
            m++;
          } else v += '\\';
        } else if (c === 34) break;
        else v += s.charAt(m);
      }
      if (m >= s.length) return `rfc5424: unterminated SD-PARAM value at column ${eq + 2}`;
      params[name] = v;
      j = m + 1;
    }
    if (s.charCodeAt(j) !== 93) return `rfc5424: expected ']' at column ${j + 1}`;
    sd[id] = params;
    j++;
  }
  return [sd, j];
}

export function parseRfc5424(record: string, ctx: ParseContext): ParseResult {
  const pri = readPri(record);
  if (!pri || pri[0] < 0) return reject('rfc5424: missing or invalid PRI');
  let i = pri[1];
  if (record.charCodeAt(i) !== 49 || record.charCodeAt(i + 1) !== 32)
    return reject('rfc5424: version is not 1');
  i += 2;
  const event = emptyEvent('syslog_rfc5424');
  putPri(event.normalized, pri[0]);
  if (record.charCodeAt(i) === 45) {
    i += 2;
  } else {
    const ts = readIso(record, i, ctx.tz);
    if (!ts) return reject(`rfc5424: invalid timestamp at column ${i + 1}`);
    event.timestamp = ts.date;
    i = ts.end + 1;
  }
  let v: string | null;
  [v, i] = field(record, i);
  event.host = v;
  [v, i] = field(record, i);
  event.appname = v;
  [v, i] = field(record, i);
  if (v !== null) {
    const pid = Number(v);
    if (Number.isInteger(pid) && pid >= 0) event.procid = pid;
    else put(event.normalized, 'procid_text', v);
  }
  [v, i] = field(record, i);
  put(event.normalized, 'msgid', v);
  if (i > record.length) return reject('rfc5424: header ends before STRUCTURED-DATA');
  if (record.charCodeAt(i) === 45) i += 1;
  else if (record.charCodeAt(i) === 91) {
    const sd = readSd(record, i);
    if (typeof sd === 'string') return reject(sd);
    event.normalized.sd = sd[0];
    i = sd[1];
  } else return reject(`rfc5424: expected STRUCTURED-DATA at column ${i + 1}`);
  let msg = record.charCodeAt(i) === 32 ? record.slice(i + 1) : record.slice(i);
  if (msg.charCodeAt(0) === 0xfeff) msg = msg.slice(1);
  event.message = msg;
  if (msg.startsWith('CEF:')) {
    applyCefBody(event, msg, ctx);
    return accept(event);
  }
  applyMessageSemantics(event.normalized, event.appname, msg);
  if (msg && event.normalized.action === undefined) applyTextHeuristics(event.normalized, msg);
  return accept(event);
}
