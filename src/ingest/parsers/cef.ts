/**
 * ArcSight CEF: `CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension`,
 * bare or after a syslog header. Header fields escape `\|` and `\\`; extension values escape `\=`, `\\`, `\n`
 * and `\r`, may contain spaces, and end where the next ` key=` begins.
 */
import { asInt, asPort, put, putAddress, putUser } from '../normalize.ts';
import { parseTimestamp } from '../timestamp.ts';
import type { ParsedEvent, ParseResult } from '../types.ts';
import { accept, emptyEvent, reject, type ParseContext } from './context.ts';

const HEADER_NAMES = [
  'cef_version',
  'cef_vendor',
  'cef_product',
  'cef_device_version',
  'cef_signature_id',
  'cef_name',
  'cef_severity',
] as const;

/** The seven header fields and the extension's start, or an error message. */
function readHeader(body: string): [string[], number] | string {
  const out: string[] = [];
  let cur = '';
  let i = 4; // after 'CEF:'
  for (; i < body.length && out.length < 7; i++) {
    const c = body.charCodeAt(i);
    if (c === 92 && i + 1 < body.length) {
      const n = body.charAt(i + 1);
      if (n === '|' || n === '\\') {
        cur += n;
        i++;
        continue;
      }
      cur += '\\';
    } else if (c === 124) {
      out.push(cur);
      cur = '';
    } else cur += body.charAt(i);
  }
  if (out.length < 7) return `cef: header has ${out.length + (cur ? 1 : 0)} of 7 fields`;
  return [out, i];
}

function unescapeExt(v: string): string {
  if (v.indexOf('\\') < 0) return v;
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v.charAt(i);
    if (c === '\\' && i + 1 < v.length) {
      const n = v.charAt(++i);
      out += n === 'n' ? '\n' : n === 'r' ? '\r' : n;
    } else out += c;
  }
  return out;
}

function isKeyChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 95 ||
    c === 46 ||
    c === 91 ||
    c === 93
  );
}

/** Extension `k=v k2=v two words` into an object (values unescaped). */
export function readExtension(ext: string): Record<string, string> {
  const keys: [number, number][] = []; // [key start, '=' index]
  for (let i = 0; i < ext.length; i++) {
    if (ext.charCodeAt(i) !== 61 || ext.charCodeAt(i - 1) === 92) continue;
    let k = i - 1;
    while (k >= 0 && isKeyChar(ext.charCodeAt(k))) k--;
    if (k === i - 1) continue; // no key before '='
    if (k >= 0 && ext.charCodeAt(k) !== 32) continue; // '=' inside a value
    keys.push([k + 1, i]);
  }
  const out: Record<string, string> = {};
  for (let n = 0; n < keys.length; n++) {
    const [ks, eq] = keys[n] as [number, number];
    const next = keys[n + 1];
    let end = next ? next[0] - 1 : ext.length;
    while (end > eq + 1 && (ext.charCodeAt(end - 1) === 32 || ext.charCodeAt(end - 1) === 13)) end--;
    out[ext.slice(ks, eq)] = unescapeExt(ext.slice(eq + 1, end));
  }
  return out;
}

/** Parses a CEF body (from `CEF:`) into `event`, keeping what a syslog header already set. */
export function applyCefBody(event: ParsedEvent, body: string, ctx: ParseContext): string | null {
  const header = readHeader(body);
  if (typeof header === 'string') return header;
  const [fields, extStart] = header;
  event.sourceType = 'cef';
  const n = event.normalized;
  HEADER_NAMES.forEach((name, i) => put(n, name, fields[i]?.trim()));
  const sev = asInt(fields[6]);
  if (sev !== null) n.cef_severity = sev;
  const ext = readExtension(body.slice(extStart));
  n.fields = ext;
  event.appname ??= fields[2] || null;
  event.message = ext.msg ?? fields[5] ?? body;
  putAddress(n, 'src', ext.src ?? ext.c6a2);
  putAddress(n, 'dst', ext.dst ?? ext.c6a3);
  if (ext.shost) putAddress(n, 'src', ext.shost);
  if (ext.dhost) putAddress(n, 'dst', ext.dhost);
  put(n, 'src_port', asPort(ext.spt));
  put(n, 'dst_port', asPort(ext.dpt));
  putUser(n, ext.duser ?? ext.suser);
  if (ext.duser && ext.suser) put(n, 'src_user', ext.suser);
  put(n, 'action', ext.act);
  const outcome = ext.outcome?.toLowerCase();
  if (outcome === 'success' || outcome === 'failure') n.outcome = outcome;
  else if (outcome) n.outcome = outcome.startsWith('fail') ? 'failure' : outcome;
  put(n, 'protocol', ext.proto?.toLowerCase());
  put(n, 'process', ext.sproc ?? ext.deviceProcessName);
  if (ext.spid && event.procid === null) event.procid = asInt(ext.spid);
  if (!event.host) event.host = ext.dvchost ?? ext.dvc ?? null;
  const time = ext.rt ?? ext.end ?? ext.start;
  if (time) {
    const t = parseTimestamp(/^\d+$/.test(time) ? Number(time) : time, ctx.tz);
    if (t) event.timestamp = t;
  }
  return null;
}

/** A bare CEF record (`CEF:0|...`). */
export function parseCef(record: string, ctx: ParseContext): ParseResult {
  if (!record.startsWith('CEF:')) return reject('cef: record does not start with CEF:');
  const event = emptyEvent('cef');
  const err = applyCefBody(event, record, ctx);
  return err ? reject(err) : accept(event);
}
