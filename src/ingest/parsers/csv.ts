/**
 * CSV (RFC 4180): the first record of a stream is the header; each later record is a row, turned into an
 * object keyed by the header (kept as `original`). Quoted fields may hold commas and doubled quotes (`""`).
 * A quoted field spanning lines cannot be read from one line and is rejected (`csv: unterminated quoted
 * field`), as is a row whose field count differs from the header's. Columns with well-known names fill the
 * columns and normalised fields (time, host, ip, user, message, level, pid...); Loghub's split
 * `Month,Date,Time` / `Date,Day,Time` columns are joined into an RFC 3164 time.
 */
import {
  applyMessageSemantics,
  applyTextHeuristics,
  asInt,
  asPort,
  put,
  putAddress,
  putUser,
} from '../normalize.ts';
import { monthAt, parseTimestamp, readRfc3164 } from '../timestamp.ts';
import type { ParseResult } from '../types.ts';
import { accept, emptyEvent, reject, type ParseContext } from './context.ts';

/** Fields of one CSV line, or an error message. */
export function splitCsv(line: string, sep = ','): string[] | string {
  const out: string[] = [];
  const sc = sep.charCodeAt(0);
  let i = 0;
  const len = line.length;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let v = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) return `csv: unterminated quoted field at column ${i + 1}`;
        v += line.slice(j, q);
        if (line.charCodeAt(q + 1) === 34) {
          v += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      out.push(v);
      if (j >= len) return out;
      if (line.charCodeAt(j) !== sc)
        return `csv: unexpected character after a quoted field at column ${j + 1}`;
      i = j + 1;
    } else {
      const next = line.indexOf(sep, i);
      if (next < 0) {
        out.push(line.slice(i));
        return out;
      }
      out.push(line.slice(i, next));
      i = next + 1;
    }
  }
}

const HEADER_NAME = /^[A-Za-z_@#][A-Za-z0-9_ .:@#()/-]{0,63}$/;

/**
 * True when `line` is a plausible CSV header: at least two fields, each a short name (letters, digits,
 * `_ . - @ # ( ) / :` and inner spaces, at most three words) with no space after a comma, all distinct.
 */
export function looksLikeCsvHeader(line: string): boolean {
  if (line.indexOf(',') < 0 || line.length > 4096) return false;
  const fields = splitCsv(line);
  if (typeof fields === 'string' || fields.length < 2) return false;
  const seen = new Set<string>();
  for (const f of fields) {
    if (!HEADER_NAME.test(f) || f.endsWith(' ') || f.split(' ').length > 3 || seen.has(f)) return false;
    seen.add(f);
  }
  return true;
}

const lower = (s: string): string => s.toLowerCase().replace(/[\s_.-]/g, '');

/** Column roles by normalised header name. */
const ROLES: Record<string, string> = {
  time: 'time',
  timestamp: 'time',
  '@timestamp': 'time',
  datetime: 'time',
  eventtime: 'time',
  timecreated: 'time',
  date: 'date',
  month: 'month',
  day: 'day',
  host: 'host',
  hostname: 'host',
  computer: 'host',
  ip: 'src',
  srcip: 'src',
  sourceip: 'src',
  src: 'src',
  clientip: 'src',
  dstip: 'dst',
  destip: 'dst',
  destinationip: 'dst',
  dst: 'dst',
  srcport: 'src_port',
  dstport: 'dst_port',
  user: 'user',
  username: 'user',
  account: 'user',
  message: 'message',
  msg: 'message',
  content: 'message',
  name: 'name',
  level: 'level',
  severity: 'level',
  pid: 'pid',
  component: 'app',
  appname: 'app',
  program: 'app',
  process: 'app',
};

/** A CSV stream: the header and each column's role. */
export class CsvParser {
  private readonly header: string[];
  private readonly roles: (string | undefined)[];

  constructor(headerLine: string) {
    const fields = splitCsv(headerLine);
    this.header = typeof fields === 'string' ? [headerLine] : fields;
    this.roles = this.header.map((h) => ROLES[lower(h)]);
  }

  get columns(): readonly string[] {
    return this.header;
  }

  parse(record: string, ctx: ParseContext): ParseResult {
    const fields = splitCsv(record);
    if (typeof fields === 'string') return reject(fields);
    if (fields.length !== this.header.length) {
      return reject(`csv: expected ${this.header.length} fields, got ${fields.length}`);
    }
    const row: Record<string, string> = {};
    const event = emptyEvent('csv');
    const n = event.normalized;
    let time: string | undefined;
    let date: string | undefined;
    let month: string | undefined;
    let day: string | undefined;
    let name: string | undefined;
    for (let i = 0; i < fields.length; i++) {
      const v = fields[i] as string;
      row[this.header[i] as string] = v;
      if (v === '') continue;
      switch (this.roles[i]) {
        case 'time':
          time ??= v;
          break;
        case 'date':
          date = v;
          break;
        case 'month':
          month = v;
          break;
        case 'day':
          day = v;
          break;
        case 'host':
          event.host ??= v;
          break;
        case 'src':
          putAddress(n, 'src', v);
          break;
        case 'dst':
          putAddress(n, 'dst', v);
          break;
        case 'src_port':
          put(n, 'src_port', asPort(v));
          break;
        case 'dst_port':
          put(n, 'dst_port', asPort(v));
          break;
        case 'user':
          putUser(n, v);
          break;
        case 'message':
          event.message ??= v;
          break;
        case 'name':
          name = v;
          break;
        case 'level':
          put(n, 'level', v.toLowerCase());
          break;
        case 'pid':
          event.procid = asInt(v);
          break;
        case 'app':
          event.appname ??= v;
          break;
      }
    }
    event.original = row;
    event.timestamp = this.time(time, date, month, day, ctx);
    event.message ??= name ?? record;
    if (event.appname) applyMessageSemantics(n, event.appname, event.message);
    if (n.action === undefined) applyTextHeuristics(n, event.message);
    return accept(event);
  }

  private time(
    time: string | undefined,
    date: string | undefined,
    month: string | undefined,
    day: string | undefined,
    ctx: ParseContext,
  ): Date | null {
    if (time && /^\d\d:\d\d:\d\d/.test(time)) {
      // Loghub splits the syslog time: Month,Date,Time (Linux) or Date,Day,Time (OpenSSH, Date = month name).
      const m = month ?? (date && monthAt(date, 0) >= 0 ? date : undefined);
      const d = month ? date : day;
      if (m && d) {
        const p = readRfc3164(`${m.slice(0, 3)} ${d} ${time}`, 0);
        if (p) return ctx.years.resolve(p);
      }
      if (date) return parseTimestamp(`${date} ${time}`, ctx.tz);
      return null;
    }
    return parseTimestamp(time ?? date, ctx.tz);
  }
}
