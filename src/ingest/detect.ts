/**
 * Per-record format detection for `format: 'auto'`. Decided on the first bytes, never by trying parsers:
 *
 *   `{`                                         json (Windows shapes are recognised inside)
 *   whitespace, then `{`                        indented_json: JSON when it parses, else text (a stray
 *                                               indented brace line of a text file is not a broken record)
 *   `[` + an Apache/ctime date + `]`            apache_error
 *   `[` ... `]` that is a whole JSON array      json
 *   `<PRI>1 `                                   rfc5424 (cef when MSG starts with `CEF:`)
 *   `<PRI>` or `Mmm dd hh:mm:ss`                rfc3164 (cef when MSG starts with `CEF:`)
 *   `type=XXX msg=audit(` / `node=... type=`    auditd
 *   `CEF:`                                      cef
 *   anything else                               text (never rejected)
 *
 * CSV is a property of a stream, not of a record: see looksLikeCsvHeader (parsers/csv.ts).
 */
import { readCtime, readRfc3164 } from './timestamp.ts';
import { readPri } from './parsers/rfc3164.ts';

export type DetectedFormat =
  'json' | 'indented_json' | 'apache_error' | 'rfc5424' | 'rfc3164' | 'auditd' | 'cef' | 'text';

function firstNonSpace(s: string): number {
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 0xfeff) break;
    i++;
  }
  return i;
}

export function isAuditd(s: string): boolean {
  let i = 0;
  if (s.startsWith('node=')) {
    const sp = s.indexOf(' ');
    if (sp < 0) return false;
    i = sp + 1;
  }
  if (!s.startsWith('type=', i)) return false;
  const sp = s.indexOf(' ', i);
  return sp > 0 && s.startsWith('msg=audit(', sp + 1);
}

export function detectFormat(record: string): DetectedFormat {
  const c = record.charCodeAt(0);
  switch (c) {
    case 123: // {
      return 'json';
    case 91: {
      // [
      const t = readCtime(record, 1, 'UTC');
      if (t && record.charCodeAt(t.end) === 93) return 'apache_error';
      const last = record.trimEnd();
      return last.charCodeAt(last.length - 1) === 93 && isJsonArray(last) ? 'json' : 'text';
    }
    case 60: {
      // <
      const pri = readPri(record);
      if (!pri || pri[0] < 0) return 'text';
      const i = pri[1];
      if (record.charCodeAt(i) === 49 && record.charCodeAt(i + 1) === 32) return 'rfc5424';
      return 'rfc3164';
    }
    case 116: // t
    case 110: // n
      return isAuditd(record) ? 'auditd' : 'text';
    case 67: // C
      if (record.startsWith('CEF:')) return 'cef';
      break;
    case 32:
    case 9:
    case 10:
    case 13:
    case 0xfeff:
      return record.charCodeAt(firstNonSpace(record)) === 123 ? 'indented_json' : 'text';
  }
  if (c >= 65 && c <= 90 && readRfc3164(record, 0)) return 'rfc3164';
  return 'text';
}

function isJsonArray(s: string): boolean {
  try {
    return Array.isArray(JSON.parse(s));
  } catch {
    return false;
  }
}
