/**
 * JSON records of any shape (one object per record: NDJSON lines, or one value of a JSON document as the
 * framer cuts it). Windows event shapes are recognised and handed to windows-event.ts; AWS CloudTrail records
 * get their own mapping; any other object has the common vocabulary read from well-known keys (flat,
 * snake/camel case, ECS-style nesting). The whole object is kept as `original`.
 */
import {
  applyMessageSemantics,
  asInt,
  asPort,
  put,
  putAddress,
  putUser,
  type Normalized,
} from '../normalize.ts';
import { parseTimestamp } from '../timestamp.ts';
import type { ParsedEvent, ParseResult } from '../types.ts';
import { accept, emptyEvent, reject, type ParseContext } from './context.ts';
import {
  isFlatWindows,
  isNestedWindows,
  normalizeFlatWindows,
  normalizeNestedWindows,
} from './windows-event.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `o.a.b` for a dotted path; a flat key holding the dot (`"source.ip"`) wins. */
function get(o: Obj, path: string): unknown {
  const flat = o[path];
  if (flat !== undefined) return flat;
  const dot = path.indexOf('.');
  if (dot < 0) return undefined;
  const head = o[path.slice(0, dot)];
  return isObj(head) ? get(head, path.slice(dot + 1)) : undefined;
}

function first(o: Obj, paths: readonly string[]): unknown {
  for (const p of paths) {
    const v = get(o, p);
    if (v !== undefined && v !== null && v !== '') return v;
  }
  return undefined;
}

function asString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return null;
}

const TIME = [
  '@timestamp',
  'timestamp',
  'time',
  'eventTime',
  'EventTime',
  'TimeCreated',
  'datetime',
  'date',
  'ts',
  'created_at',
  'UtcTime',
  'event.created',
];
const HOST = [
  'host.name',
  'host.hostname',
  'hostname',
  'Hostname',
  'host',
  'Computer',
  'computer',
  'agent.hostname',
];
const APP = [
  'appname',
  'app',
  'program',
  'service.name',
  'service',
  'logger',
  'process.name',
  'syslog.appname',
];
const MESSAGE = ['message', 'msg', 'Message', 'log'];
const PID = ['pid', 'process.pid', 'procid'];
const SRC = [
  'src_ip',
  'source_ip',
  'srcip',
  'src',
  'client_ip',
  'clientip',
  'remote_addr',
  'remote_ip',
  'source.ip',
  'client.ip',
  'sourceIPAddress',
  'SourceAddress',
  'IpAddress',
  'ip',
];
const DST = [
  'dst_ip',
  'dest_ip',
  'dstip',
  'dst',
  'destination_ip',
  'destination.ip',
  'server.ip',
  'DestAddress',
];
const SRC_PORT = ['src_port', 'source_port', 'srcport', 'source.port', 'client.port', 'spt'];
const DST_PORT = ['dst_port', 'dest_port', 'dstport', 'destination.port', 'server.port', 'dpt'];
const USER = [
  'user.name',
  'user',
  'username',
  'user_name',
  'userName',
  'TargetUserName',
  'SubjectUserName',
  'account',
];
const LEVEL = ['level', 'log.level', 'severity', 'log_level', 'loglevel', 'Severity'];
const ACTION = ['event.action', 'action'];
const OUTCOME = ['event.outcome', 'outcome'];

function isCloudTrail(o: Obj): boolean {
  return typeof o.eventSource === 'string' && typeof o.eventName === 'string' && o.userIdentity !== undefined;
}

function cloudTrail(event: ParsedEvent, o: Obj, ctx: ParseContext): void {
  const n = event.normalized;
  n.cloud_provider = 'aws';
  event.timestamp = parseTimestamp(o.eventTime, ctx.tz) ?? parseTimestamp(o['@timestamp'], ctx.tz);
  event.appname = o.eventSource as string;
  n.action = o.eventName;
  n.outcome = o.errorCode ? 'failure' : 'success';
  put(n, 'reason', asString(o.errorCode));
  putAddress(n, 'src', o.sourceIPAddress);
  const id = isObj(o.userIdentity) ? o.userIdentity : {};
  const arn = asString(id.arn);
  put(n, 'user', asString(id.userName) ?? (arn ? arn.slice(arn.lastIndexOf('/') + 1) : null));
  put(n, 'region', asString(o.awsRegion));
  put(n, 'user_agent', asString(o.userAgent));
  event.message = `${o.eventSource as string} ${o.eventName as string}`;
}

function generic(event: ParsedEvent, o: Obj, ctx: ParseContext): void {
  const n: Normalized = event.normalized;
  event.timestamp = parseTimestamp(first(o, TIME), ctx.tz);
  const host = first(o, HOST);
  event.host = asString(host);
  event.appname = asString(first(o, APP));
  const msg = first(o, MESSAGE);
  event.message = asString(msg);
  event.procid = asInt(first(o, PID));
  putAddress(n, 'src', asString(first(o, SRC)));
  putAddress(n, 'dst', asString(first(o, DST)));
  put(n, 'src_port', asPort(first(o, SRC_PORT)));
  put(n, 'dst_port', asPort(first(o, DST_PORT)));
  putUser(n, asString(first(o, USER)));
  const level = asString(first(o, LEVEL));
  put(n, 'level', level?.toLowerCase());
  put(n, 'action', asString(first(o, ACTION)));
  const outcome = asString(first(o, OUTCOME))?.toLowerCase();
  if (outcome === 'success' || outcome === 'failure') n.outcome = outcome;
  if (n.action === undefined && event.message) applyMessageSemantics(n, event.appname, event.message);
}

/**
 * Where a JSON text stops being valid: a small recursive-descent scan run only on the error path, because
 * V8's messages do not always carry the position. Returns the index of the offending character (the text's
 * length when it ends too early).
 */
export function jsonErrorPosition(s: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const str = (): void => {
    i++;
    while (i < s.length) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 32) fail();
      if (c === 92) {
        const e = s[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
            i += 2;
            fail();
          }
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) {
          i++;
          fail();
        }
        i += 2;
        continue;
      }
      i++;
    }
    fail();
  };
  const value = (depth: number): void => {
    if (depth > 512) fail();
    ws();
    const c = s[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      ws();
      if (s[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          ws();
          if (s[i] !== '"') fail();
          str();
          ws();
          if (s[i] !== ':') fail();
          i++;
        }
        value(depth + 1);
        ws();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === close) {
          i++;
          return;
        }
        fail();
      }
    }
    if (c === '"') return str();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(s.slice(i, i + 400));
    if (!m) fail();
    i += (m as RegExpExecArray)[0].length;
  };
  try {
    value(0);
    ws();
    if (i < s.length) return i;
    return -1;
  } catch (pos) {
    return typeof pos === 'number' ? Math.min(pos, s.length) : 0;
  }
}

/** `invalid_json: at position P (line L, column C): <V8 message without the echo of the input>`. */
function jsonError(record: string, e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  const cut = m.indexOf(', "');
  let short = cut > 0 && m.includes('is not valid JSON') ? m.slice(0, cut) : m;
  short = short.replace(/ in JSON at position \d+.*$/, '');
  if (short.length > 120) short = short.slice(0, 120) + '…';
  const pos = jsonErrorPosition(record);
  if (pos < 0) return short;
  let line = 1;
  let col = 1;
  for (let k = 0; k < pos; k++) {
    if (record.charCodeAt(k) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return `at position ${pos} (line ${line}, column ${col}): ${short}`;
}

/** Normalises an already-parsed JSON value. */
export function normalizeJsonValue(value: unknown, ctx: ParseContext): ParsedEvent {
  if (isObj(value)) {
    if (isNestedWindows(value)) return normalizeNestedWindows(value, ctx);
    if (isFlatWindows(value)) return normalizeFlatWindows(value, ctx);
  }
  const event = emptyEvent('json');
  event.original = value;
  if (isObj(value)) {
    if (isCloudTrail(value)) cloudTrail(event, value, ctx);
    else generic(event, value, ctx);
  } else event.message = typeof value === 'string' ? value : JSON.stringify(value);
  return event;
}

/**
 * A record holding one JSON value. `windowsOnly` (format windows_event) rejects what is not a Windows event.
 */
export function parseJson(record: string, ctx: ParseContext, windowsOnly = false): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(record);
  } catch (e) {
    return reject(`invalid_json: ${jsonError(record, e)}`);
  }
  const event = normalizeJsonValue(value, ctx);
  if (windowsOnly && event.sourceType !== 'windows_event') {
    return reject(
      'windows_event: not a Windows event (no Event.System, nor EventID with Channel or provider)',
    );
  }
  return accept(event);
}
