/**
 * Timestamp parsing for every input format, hand-written over character codes (no regex backtracking, no
 * Date.parse leniency, no time-zone library):
 *
 *   RFC 3164      `Dec 10 06:55:46`, `Jul  7 08:06:15`, `Feb 17 13:40:03.673`  (year inferred, see YearInference)
 *   ISO 8601      `2020-10-22T01:54:20.493Z`, `2003-10-11T22:14:15.003-07:00`, `2020-10-18 07:50:06.220`,
 *                 `2025-11-27T07:40:10.165324Z` (fractions to any length; offsets `Z`, `+hh:mm`, `+hhmm`, `+hh`)
 *   Apache/ctime  `Sun Dec 04 04:47:44 2005`, `Fri Jun 17 07:07:00 2005`
 *   CLF           `10/Oct/2000:13:55:36 -0700`
 *   CEF/other     `Sep 19 2019 08:26:10` (month name, day, year, time)
 *   epoch         seconds, milliseconds, microseconds or nanoseconds (by magnitude), with a fraction;
 *                 auditd `audit(1642723741.072:375)` and `1642723741.072:375`
 *
 * Forms without an offset are read in the configured IANA time zone (default UTC), converted with Intl.
 */

/** Three-letter month names, lower case, as their ASCII codes packed in one number (see monthAt). */
const MONTH_CODES = new Map(
  ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'].map((m, i) => [
    (m.charCodeAt(0) << 16) | (m.charCodeAt(1) << 8) | m.charCodeAt(2),
    i,
  ]),
);

/** Month index (0-11) of a three-letter English month name at `pos` in `s`, or -1. */
export function monthAt(s: string, pos: number): number {
  if (pos < 0 || pos + 3 > s.length) return -1;
  const a = s.charCodeAt(pos);
  const b = s.charCodeAt(pos + 1);
  const c = s.charCodeAt(pos + 2);
  if ((a | b | c) > 127) return -1;
  // Every line is parsed here, so no string is built: `| 32` lower-cases an ASCII letter and maps no other
  // ASCII character to one.
  return MONTH_CODES.get(((a | 32) << 16) | ((b | 32) << 8) | (c | 32)) ?? -1;
}

function digit(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

/** Value of exactly `n` digits at `i`, or -1. */
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = digit(s, i + k);
    if (d < 0) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Reads a `.fff…` or `,fff…` fraction at `i`: [milliseconds, end index]. */
function fraction(s: string, i: number): [number, number] {
  const c = s.charCodeAt(i);
  if (c !== 46 && c !== 44) return [0, i];
  let j = i + 1;
  let ms = 0;
  let scale = 100;
  while (j < s.length) {
    const d = digit(s, j);
    if (d < 0) break;
    ms += d * scale;
    scale /= 10;
    j++;
  }
  if (j === i + 1) return [0, i];
  return [Math.floor(ms), j];
}

// ---------------------------------------------------------------------------------------------------------
// Time zones

const UTC_NAMES = new Set(['UTC', 'Etc/UTC', 'GMT', 'Etc/GMT', 'Z', 'utc']);
const formatters = new Map<string, Intl.DateTimeFormat>();
/** Offset cache per zone and UTC hour: conversions of a stream hit the same few hours again and again. */
const offsetCache = new Map<string, number>();

/** True when `tz` is a time zone Intl knows. */
export function isValidTimeZone(tz: string): boolean {
  if (UTC_NAMES.has(tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Offset of `tz` from UTC at the instant `utcMs`, in milliseconds (local = utc + offset). */
export function zoneOffsetMs(tz: string, utcMs: number): number {
  if (UTC_NAMES.has(tz)) return 0;
  const hour = Math.floor(utcMs / 3_600_000);
  const key = tz + '|' + hour;
  const hit = offsetCache.get(key);
  if (hit !== undefined) return hit;
  const parts = formatter(tz).formatToParts(new Date(hour * 3_600_000));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
  const local = Date.UTC(
    get('year'),
    get('month') - 1,
    get('day'),
    get('hour'),
    get('minute'),
    get('second'),
  );
  const offset = local - hour * 3_600_000;
  if (offsetCache.size > 10_000) offsetCache.clear();
  offsetCache.set(key, offset);
  return offset;
}

/** UTC milliseconds of a wall-clock time in `tz` (the earlier instant when a DST change makes it ambiguous). */
export function wallClockToUtc(
  tz: string,
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): number {
  const asUtc = Date.UTC(year, month, day, hour, minute, second, ms);
  if (UTC_NAMES.has(tz)) return asUtc;
  const first = asUtc - zoneOffsetMs(tz, asUtc);
  const second_ = asUtc - zoneOffsetMs(tz, first);
  return second_;
}

function validClock(month: number, day: number, h: number, mi: number, s: number): boolean {
  return month >= 0 && month <= 11 && day >= 1 && day <= 31 && h <= 23 && mi <= 59 && s <= 60;
}

// ---------------------------------------------------------------------------------------------------------
// RFC 3164

export interface Rfc3164Parts {
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  ms: number;
  /** Index just past the timestamp. */
  end: number;
}

/** `Mmm dd hh:mm:ss[.fff]` at `pos` (day space- or zero-padded, or a single digit), or null. */
export function readRfc3164(s: string, pos = 0): Rfc3164Parts | null {
  const month = monthAt(s, pos);
  if (month < 0 || s.charCodeAt(pos + 3) !== 32) return null;
  let i = pos + 4;
  if (s.charCodeAt(i) === 32) i++;
  let day = digit(s, i);
  if (day < 0) return null;
  i++;
  const d2 = digit(s, i);
  if (d2 >= 0) {
    day = day * 10 + d2;
    i++;
  }
  if (s.charCodeAt(i) !== 32) return null;
  i++;
  const hour = digits(s, i, 2);
  const minute = digits(s, i + 3, 2);
  const second = digits(s, i + 6, 2);
  if (hour < 0 || minute < 0 || second < 0 || s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58) {
    return null;
  }
  if (!validClock(month, day, hour, minute, second)) return null;
  const [ms, end] = fraction(s, i + 8);
  return { month, day, hour, minute, second, ms, end };
}

const DAY_MS = 86_400_000;

/**
 * Year inference for year-less timestamps within one stream. The first timestamp takes the latest year that
 * does not put it more than a day after the reference time. Later ones follow the stream: a jump back by more
 * than six months (Dec -> Jan) moves to the next year, a jump forward by more than six months (a late Dec line
 * after Jan) to the previous year; and no result is ever more than a day after the reference time.
 */
export class YearInference {
  private year: number | null = null;
  private month = 0;
  private readonly refMs: number;
  private readonly refYear: number;

  constructor(
    reference: Date,
    private readonly tz: string,
  ) {
    this.refMs = reference.getTime();
    this.refYear = reference.getUTCFullYear();
  }

  resolve(p: Rfc3164Parts): Date {
    let year: number;
    if (this.year === null) {
      year = this.refYear + 1;
    } else {
      year = this.year;
      if (p.month - this.month < -6) year++;
      else if (p.month - this.month > 6) year--;
    }
    let ms = wallClockToUtc(this.tz, year, p.month, p.day, p.hour, p.minute, p.second, p.ms);
    while (ms > this.refMs + DAY_MS) {
      year--;
      ms = wallClockToUtc(this.tz, year, p.month, p.day, p.hour, p.minute, p.second, p.ms);
    }
    this.year = year;
    this.month = p.month;
    return new Date(ms);
  }
}

// ---------------------------------------------------------------------------------------------------------
// ISO 8601 / RFC 3339 / RFC 5424

/** Reads `Z`, `+hh:mm`, `+hhmm` or `+hh` at `i`: [offset ms or null when absent, end]. `UTC`/`GMT` count as Z. */
function readOffset(s: string, i: number): [number | null, number] {
  const c = s.charCodeAt(i);
  if (c === 90 || c === 122) return [0, i + 1];
  if (c === 32 && (s.startsWith('UTC', i + 1) || s.startsWith('GMT', i + 1))) return [0, i + 4];
  if (c === 43 || c === 45) {
    const hh = digits(s, i + 1, 2);
    if (hh < 0) return [null, i];
    let j = i + 3;
    let mm = 0;
    if (s.charCodeAt(j) === 58) {
      mm = digits(s, j + 1, 2);
      if (mm < 0) return [null, i];
      j += 3;
    } else {
      const m2 = digits(s, j, 2);
      if (m2 >= 0) {
        mm = m2;
        j += 2;
      }
    }
    if (hh > 14 || mm > 59) return [null, i];
    const off = (hh * 60 + mm) * 60_000;
    return [c === 45 ? -off : off, j];
  }
  return [null, i];
}

export interface ReadResult {
  date: Date;
  end: number;
}

/** ISO 8601 date-time at `pos` (`T` or space separator; seconds optional). */
export function readIso(s: string, pos: number, tz: string): ReadResult | null {
  const year = digits(s, pos, 4);
  if (year < 0 || s.charCodeAt(pos + 4) !== 45 || s.charCodeAt(pos + 7) !== 45) return null;
  const month = digits(s, pos + 5, 2) - 1;
  const day = digits(s, pos + 8, 2);
  const sep = s.charCodeAt(pos + 10);
  if (sep !== 84 && sep !== 32 && sep !== 116) return null;
  const i = pos + 11;
  const hour = digits(s, i, 2);
  const minute = digits(s, i + 3, 2);
  if (hour < 0 || minute < 0 || s.charCodeAt(i + 2) !== 58) return null;
  let second = 0;
  let j = i + 5;
  if (s.charCodeAt(j) === 58) {
    second = digits(s, j + 1, 2);
    if (second < 0) return null;
    j += 3;
  }
  if (!validClock(month, day, hour, minute, second)) return null;
  const [ms, k] = fraction(s, j);
  const [offset, end] = readOffset(s, k);
  const utc =
    offset === null
      ? wallClockToUtc(tz, year, month, day, hour, minute, second, ms)
      : Date.UTC(year, month, day, hour, minute, second, ms) - offset;
  return { date: new Date(utc), end };
}

/** ctime / Apache: `Sun Dec 04 04:47:44 2005` at `pos` (weekday optional). */
export function readCtime(s: string, pos: number, tz: string): ReadResult | null {
  let i = pos;
  if (monthAt(s, i) < 0 || s.charCodeAt(i + 3) !== 32 || monthAt(s, i + 4) >= 0) {
    // weekday first
    if (s.charCodeAt(i + 3) !== 32) return null;
    i += 4;
  }
  const p = readRfc3164(s, i);
  if (!p || s.charCodeAt(p.end) !== 32) return null;
  const year = digits(s, p.end + 1, 4);
  if (year < 0) return null;
  const utc = wallClockToUtc(tz, year, p.month, p.day, p.hour, p.minute, p.second, p.ms);
  return { date: new Date(utc), end: p.end + 5 };
}

/** `Mmm dd yyyy hh:mm:ss[.fff][ zone]` (CEF `rt`, Cisco). */
function readMonthDayYearTime(s: string, pos: number, tz: string): ReadResult | null {
  const month = monthAt(s, pos);
  if (month < 0 || s.charCodeAt(pos + 3) !== 32) return null;
  let i = pos + 4;
  if (s.charCodeAt(i) === 32) i++;
  let day = digit(s, i);
  if (day < 0) return null;
  if (digit(s, i + 1) >= 0) {
    day = day * 10 + digit(s, i + 1);
    i++;
  }
  i++;
  if (s.charCodeAt(i) !== 32) return null;
  const year = digits(s, i + 1, 4);
  if (year < 0 || s.charCodeAt(i + 5) !== 32) return null;
  const t = i + 6;
  const hour = digits(s, t, 2);
  const minute = digits(s, t + 3, 2);
  const second = digits(s, t + 6, 2);
  if (hour < 0 || minute < 0 || second < 0 || !validClock(month, day, hour, minute, second)) return null;
  const [ms, k] = fraction(s, t + 8);
  const [offset, end] = readOffset(s, k);
  const utc =
    offset === null
      ? wallClockToUtc(tz, year, month, day, hour, minute, second, ms)
      : Date.UTC(year, month, day, hour, minute, second, ms) - offset;
  return { date: new Date(utc), end };
}

/** Common Log Format: `10/Oct/2000:13:55:36 -0700`. */
function readClf(s: string, pos: number, tz: string): ReadResult | null {
  const day = digits(s, pos, 2);
  if (day < 0 || s.charCodeAt(pos + 2) !== 47) return null;
  const month = monthAt(s, pos + 3);
  if (month < 0 || s.charCodeAt(pos + 6) !== 47) return null;
  const year = digits(s, pos + 7, 4);
  const t = pos + 12;
  const hour = digits(s, t, 2);
  const minute = digits(s, t + 3, 2);
  const second = digits(s, t + 6, 2);
  if (year < 0 || hour < 0 || minute < 0 || second < 0 || !validClock(month, day, hour, minute, second)) {
    return null;
  }
  let k = t + 8;
  if (s.charCodeAt(k) === 32) k++;
  const [offset, end] = readOffset(s, k);
  const utc =
    offset === null
      ? wallClockToUtc(tz, year, month, day, hour, minute, second, 0)
      : Date.UTC(year, month, day, hour, minute, second) - offset;
  return { date: new Date(utc), end: offset === null ? t + 8 : end };
}

/** Epoch number to a Date, deciding the unit by magnitude (s < 1e11 <= ms < 1e14 <= µs < 1e17 <= ns). */
export function fromEpoch(n: number): Date | null {
  if (!Number.isFinite(n) || n < 0) return null;
  let ms: number;
  if (n < 1e11) ms = n * 1000;
  else if (n < 1e14) ms = n;
  else if (n < 1e17) ms = n / 1000;
  else ms = n / 1e6;
  const d = new Date(Math.round(ms));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** `1642723741.072` or `1642723741.072:375` (auditd) or `audit(1642723741.072:375)`: epoch seconds. */
export function readAuditStamp(s: string): { date: Date; serial: number | null } | null {
  let i = 0;
  if (s.startsWith('audit(')) i = 6;
  let sec = 0;
  const start = i;
  while (i < s.length && digit(s, i) >= 0) sec = sec * 10 + digit(s, i++);
  if (i === start) return null;
  const [ms, j] = fraction(s, i);
  let serial: number | null = null;
  let k = j;
  if (s.charCodeAt(k) === 58) {
    k++;
    let v = 0;
    const st = k;
    while (k < s.length && digit(s, k) >= 0) v = v * 10 + digit(s, k++);
    if (k > st) serial = v;
  }
  return { date: new Date(sec * 1000 + ms), serial };
}

function isNumeric(s: string): boolean {
  if (s.length === 0 || s.length > 24) return false;
  let dot = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (dot) return false;
      dot = true;
    } else if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Any supported timestamp value: a Date, an epoch number, or a string in one of the forms above (leading and
 * trailing whitespace ignored; the whole string must be the timestamp, bar a trailing `audit(...)` suffix).
 * A year-less RFC 3164 string takes its year from `years` when given, else null.
 */
export function parseTimestamp(value: unknown, tz = 'UTC', years?: YearInference): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value === 'number') return fromEpoch(value);
  if (typeof value !== 'string') return null;
  const s = value.trim();
  if (s.length < 8) return isNumeric(s) ? fromEpoch(Number(s)) : null;
  const c0 = s.charCodeAt(0);
  if (c0 >= 48 && c0 <= 57) {
    if (isNumeric(s)) return fromEpoch(Number(s));
    const iso = readIso(s, 0, tz);
    if (iso && iso.end === s.length) return iso.date;
    const clf = readClf(s, 0, tz);
    if (clf) return clf.date;
    const audit = /^\d+\.\d+:\d+$/.test(s) ? readAuditStamp(s) : null;
    return audit ? audit.date : null;
  }
  if (s.startsWith('audit(')) return readAuditStamp(s)?.date ?? null;
  const ctime = readCtime(s, 0, tz);
  if (ctime) return ctime.date;
  const mdy = readMonthDayYearTime(s, 0, tz);
  if (mdy) return mdy.date;
  const p = readRfc3164(s, 0);
  if (p && years) return years.resolve(p);
  return null;
}
