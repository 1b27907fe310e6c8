/**
 * Linux auditd: `[node=HOST ]type=TYPE msg=audit(EPOCH.MS:SERIAL): key=value ...`, values bare, "quoted", or
 * a nested `msg='key=value ...'` (merged into the fields). auditd hex-encodes untrusted strings that hold
 * spaces, quotes or control characters (proctitle, EXECVE arguments, comm, exe, name, cwd, acct...): those
 * are decoded (proctitle's NUL separators become spaces). Enriched logs (`log_format = ENRICHED`) append
 * resolved names (`AUID="root"`) after a 0x1d separator; they are read as ordinary pairs.
 */
import { asInt, asIp, put, putAddress } from '../normalize.ts';
import { readAuditStamp } from '../timestamp.ts';
import type { ParseResult } from '../types.ts';
import { accept, emptyEvent, reject, type ParseContext } from './context.ts';

/** Fields auditd hex-encodes when their value holds unsafe characters. */
const ENCODED = new Set([
  'proctitle',
  'cmd',
  'comm',
  'exe',
  'name',
  'cwd',
  'path',
  'acct',
  'key',
  'data',
  'new',
  'old',
]);

function isUpperHex(v: string): boolean {
  if (v.length < 2 || v.length % 2 !== 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 70))) return false;
  }
  return true;
}

function decodeHex(v: string, nulAsSpace: boolean): string {
  const bytes = Buffer.from(v, 'hex');
  if (nulAsSpace) {
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    for (let i = 0; i < end; i++) if (bytes[i] === 0) bytes[i] = 32;
    return bytes.subarray(0, end).toString('utf8');
  }
  return bytes.toString('utf8');
}

/** key=value pairs of `s` from `i` into `out`; a nested msg='...' is read recursively. */
function readPairs(
  s: string,
  i: number,
  end: number,
  out: Record<string, string | null>,
  isExecve: boolean,
): void {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 0x1d || c === 44) {
      i++;
      continue;
    }
    let k = i;
    while (k < end) {
      const d = s.charCodeAt(k);
      if (d === 61 || d === 32 || d === 0x1d) break;
      k++;
    }
    if (s.charCodeAt(k) !== 61) {
      i = k + 1; // a bare word (e.g. SELinux `avc:  denied  { read }`): skipped, kept in the message
      continue;
    }
    const key = s.slice(i, k);
    const v = k + 1;
    const q = s.charCodeAt(v);
    if (q === 34 || q === 39) {
      const close = s.indexOf(q === 34 ? '"' : "'", v + 1);
      const stop = close < 0 || close > end ? end : close;
      if (q === 39 && key === 'msg') readPairs(s, v + 1, stop, out, isExecve);
      else out[key] = s.slice(v + 1, stop);
      i = stop + 1;
      continue;
    }
    let e = v;
    while (e < end) {
      const d = s.charCodeAt(e);
      if (d === 32 || d === 0x1d) break;
      e++;
    }
    let value: string | null = s.slice(v, e);
    if (value === '(null)' || value === '(none)') value = null;
    else if ((ENCODED.has(key) || (isExecve && /^a\d+$/.test(key))) && isUpperHex(value)) {
      value = decodeHex(value, key === 'proctitle' || key === 'cmd');
    }
    out[key] = value;
    i = e + 1;
  }
}

const UNSET_ID = 4294967295;

export function parseAuditd(record: string, _ctx: ParseContext): ParseResult {
  let i = 0;
  let node: string | null = null;
  if (record.startsWith('node=')) {
    const sp = record.indexOf(' ');
    if (sp < 0) return reject('auditd: nothing after node=');
    node = record.slice(5, sp);
    i = sp + 1;
  }
  if (!record.startsWith('type=', i)) return reject('auditd: missing type=');
  const sp = record.indexOf(' ', i);
  if (sp < 0) return reject('auditd: missing msg=audit(...)');
  const type = record.slice(i + 5, sp);
  if (!record.startsWith('msg=audit(', sp + 1)) return reject('auditd: missing msg=audit(...)');
  const close = record.indexOf(')', sp + 11);
  if (close < 0) return reject('auditd: unterminated audit(...)');
  const stamp = readAuditStamp(record.slice(sp + 5, close + 1));
  if (!stamp || record.charCodeAt(close + 1) !== 58) return reject('auditd: invalid audit(time:serial)');

  const event = emptyEvent('auditd');
  event.timestamp = stamp.date;
  event.host = node;
  event.appname = 'auditd';
  const fields: Record<string, string | null> = {};
  const body = close + 2;
  readPairs(record, body, record.length, fields, type === 'EXECVE');
  event.message = record.slice(body).trim();
  const n = event.normalized;
  n.audit_type = type;
  put(n, 'audit_serial', stamp.serial);
  n.action = type.toLowerCase();
  n.fields = fields;

  const pid = asInt(fields.pid);
  if (pid !== null) event.procid = pid;
  put(n, 'pid', pid);
  put(n, 'ppid', asInt(fields.ppid));
  const uid = asInt(fields.uid);
  if (uid !== null && uid !== UNSET_ID) n.uid = uid;
  const auid = asInt(fields.auid);
  if (auid !== null && auid !== UNSET_ID) n.auid = auid;
  const acct = fields.acct ?? fields.AUID ?? fields.UID ?? fields.id;
  if (acct && acct !== '?' && acct !== 'unset' && asInt(acct) === null) put(n, 'user', acct);
  put(n, 'process', fields.exe);
  put(n, 'process_name', fields.comm);
  if (fields.proctitle || fields.cmd) put(n, 'command_line', fields.proctitle ?? fields.cmd);
  else if (type === 'EXECVE') {
    const argc = asInt(fields.argc) ?? 0;
    const args: string[] = [];
    for (let a = 0; a < argc; a++) {
      const arg = fields[`a${a}`];
      if (arg !== undefined && arg !== null) args.push(arg);
    }
    if (args.length) n.command_line = args.join(' ');
  }
  const addr = fields.addr ?? fields.saddr_ip;
  if (addr && asIp(addr)) putAddress(n, 'src', addr);
  if (fields.hostname && fields.hostname !== '?') putAddress(n, 'src', fields.hostname);
  put(n, 'terminal', fields.terminal === '?' ? null : fields.terminal);
  const res = fields.res ?? fields.success ?? fields.result;
  if (res) {
    const r = res.toLowerCase();
    if (r === 'success' || r === 'yes' || r === '1') n.outcome = 'success';
    else if (r === 'failed' || r === 'no' || r === '0' || r === 'fail' || r === 'failure')
      n.outcome = 'failure';
  }
  put(n, 'operation', fields.op);
  return accept(event);
}
