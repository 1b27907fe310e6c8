/**
 * Sigma `re` values -> a regular expression each SQL engine runs with the same meaning.
 *
 * The source is read as a JavaScript regular expression (it must compile with `new RegExp`), parsed into a small
 * tree, and written again for the target engine, so every construct is either translated exactly or refused
 * with an UnsupportedError that names it:
 * - DuckDB runs RE2 (`regexp_matches`): flags become an inline `(?ims)` prefix; RE2 has no lookaround,
 *   backreferences or `\Z`.
 * - PostgreSQL runs ARE (`~`): `m` becomes the embedded option `w` (^ and $ also at newlines, `.` unchanged),
 *   `i` the option `i`; without `s`, `.` is written `[^\n]` (ARE's own newline-sensitive modes would also stop
 *   `[^a]` matching a newline, which JavaScript, RE2 and PCRE do not do); `\b`/`\B` become lookarounds over
 *   ASCII word characters (ARE's `\y` uses the locale's, wider, idea of a word character).
 *
 * Meaning kept identical across engines (and with a JavaScript `u`-mode match): matching is by code point;
 * `\d`, `\w`, `\b` are ASCII; `\s` is JavaScript's set (written out as an explicit class); `.` without `s`
 * excludes only `\n`; `$` without `m` is the very end. Lazy quantifiers are written greedy: a search only asks
 * WHETHER there is a match, which greediness does not change (there are no backreferences).
 * A leading inline flag group (`(?i)foo`, common in rules) is taken as flags; inline flags elsewhere are refused.
 */
import type { RegexFlags } from '../ir.ts';
import { type Dialect, UnsupportedError } from './types.ts';

type SetName = 'd' | 'w' | 's';
type ClassItem = { kind: 'range'; lo: number; hi: number } | { kind: 'set'; set: SetName };
type Assertion = '^' | '$' | 'b' | 'B' | 'A' | 'z' | 'Z';

/** A parsed regular expression. */
export type Rx =
  | { t: 'alt'; alts: Rx[] }
  | { t: 'seq'; items: Rx[] }
  | { t: 'char'; cp: number }
  | { t: 'dot' }
  | { t: 'class'; negated: boolean; items: ClassItem[] }
  | { t: 'set'; set: SetName; negated: boolean }
  | { t: 'assert'; a: Assertion }
  | { t: 'group'; body: Rx }
  | { t: 'look'; behind: boolean; negative: boolean; body: Rx }
  | { t: 'repeat'; body: Rx; min: number; max: number | undefined };

type Escape =
  | { kind: 'char'; cp: number }
  | { kind: 'set'; set: SetName; negated: boolean }
  | { kind: 'assert'; a: Assertion };

const SETS: Record<SetName, readonly (readonly [number, number])[]> = {
  d: [[0x30, 0x39]],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  // JavaScript's \s: WhiteSpace and LineTerminator.
  s: [
    [0x09, 0x0d],
    [0x20, 0x20],
    [0xa0, 0xa0],
    [0x1680, 0x1680],
    [0x2000, 0x200a],
    [0x2028, 0x2029],
    [0x202f, 0x202f],
    [0x205f, 0x205f],
    [0x3000, 0x3000],
    [0xfeff, 0xfeff],
  ],
};

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9A-Fa-f]$/.test(c);
const isAsciiAlnum = (c: string): boolean => /^[A-Za-z0-9]$/.test(c);

class Parser {
  private i = 0;
  private readonly cps: string[];

  constructor(source: string) {
    this.cps = Array.from(source);
  }

  parse(): Rx {
    const rx = this.alt();
    if (this.i < this.cps.length) throw new UnsupportedError(`regex: unbalanced ')' at ${this.i}`);
    return rx;
  }

  private ch(o = 0): string | undefined {
    return this.cps[this.i + o];
  }

  private rest(): string {
    return this.cps.slice(this.i).join('');
  }

  private alt(): Rx {
    const alts = [this.seq()];
    while (this.ch() === '|') {
      this.i++;
      alts.push(this.seq());
    }
    return alts.length === 1 ? alts[0]! : { t: 'alt', alts };
  }

  private seq(): Rx {
    const items: Rx[] = [];
    for (let c = this.ch(); c !== undefined && c !== '|' && c !== ')'; c = this.ch()) {
      items.push(this.quantified(this.atom()));
    }
    return { t: 'seq', items };
  }

  /** `{n}`, `{n,}` or `{n,m}` at the cursor, or undefined when `{` is a literal there. */
  private brace(): { len: number; min: number; max: number | undefined } | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.rest());
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? undefined : Number(m[3]);
    return { len: m[0].length, min, max };
  }

  private quantified(atom: Rx): Rx {
    let min: number;
    let max: number | undefined;
    const c = this.ch();
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      [min, max] = c === '*' ? [0, undefined] : c === '+' ? [1, undefined] : [0, 1];
    } else if (c === '{' && this.brace()) {
      const b = this.brace()!;
      this.i += b.len;
      ({ min, max } = b);
    } else {
      return atom;
    }
    if (atom.t === 'assert' || atom.t === 'look') throw new UnsupportedError('regex: quantified assertion');
    if (this.ch() === '?') this.i++; // lazy: same set of matching texts
    const n = this.ch();
    if (n === '*' || n === '+' || n === '?' || (n === '{' && this.brace())) {
      throw new UnsupportedError('regex: possessive or repeated quantifier');
    }
    return { t: 'repeat', body: atom, min, max };
  }

  private atom(): Rx {
    const c = this.ch()!;
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return this.charClass();
      case '.':
        this.i++;
        return { t: 'dot' };
      case '^':
      case '$':
        this.i++;
        return { t: 'assert', a: c };
      case '\\': {
        const e = this.escape(false);
        if (e.kind === 'char') return { t: 'char', cp: e.cp };
        if (e.kind === 'set') return { t: 'set', set: e.set, negated: e.negated };
        return { t: 'assert', a: e.a };
      }
      case '*':
      case '+':
      case '?':
        throw new UnsupportedError(`regex: nothing to repeat at ${this.i}`);
      case '{':
        if (this.brace()) throw new UnsupportedError(`regex: nothing to repeat at ${this.i}`);
        this.i++;
        return { t: 'char', cp: 0x7b };
      default:
        this.i++;
        return { t: 'char', cp: c.codePointAt(0)! };
    }
  }

  private group(): Rx {
    this.i++; // (
    let make: (body: Rx) => Rx = (body) => ({ t: 'group', body });
    if (this.ch() === '?') {
      const r = this.rest();
      const look = /^\?(<?)([=!])/.exec(r);
      const named = /^\?<([A-Za-z_$][A-Za-z0-9_$]*)>/.exec(r);
      if (r.startsWith('?:')) {
        this.i += 2;
      } else if (look) {
        const behind = look[1] === '<';
        const negative = look[2] === '!';
        this.i += look[0].length;
        make = (body) => ({ t: 'look', behind, negative, body });
      } else if (named) {
        this.i += named[0].length;
      } else if (/^\?[a-zA-Z-]*[:)]/.test(r)) {
        throw new UnsupportedError(
          'regex: inline flags inside the expression (only a leading (?i) is supported)',
        );
      } else {
        throw new UnsupportedError(`regex: unsupported group construct (${r.slice(0, 3)}`);
      }
    }
    const body = this.alt();
    if (this.ch() !== ')') throw new UnsupportedError('regex: missing )');
    this.i++;
    return make(body);
  }

  private charClass(): Rx {
    this.i++; // [
    let negated = false;
    if (this.ch() === '^') {
      negated = true;
      this.i++;
    }
    if (this.ch() === ']') throw new UnsupportedError('regex: empty character class ([] or [^])');
    const items: ClassItem[] = [];
    const single = (cp: number): ClassItem => ({ kind: 'range', lo: cp, hi: cp });
    while (this.ch() !== ']') {
      if (this.ch() === undefined) throw new UnsupportedError('regex: missing ]');
      const a = this.classAtom();
      if (this.ch() === '-' && this.ch(1) !== ']' && this.ch(1) !== undefined) {
        this.i++;
        const b = this.classAtom();
        if (a.kind === 'range' && b.kind === 'range') {
          if (a.lo > b.lo) throw new UnsupportedError('regex: range out of order in character class');
          items.push({ kind: 'range', lo: a.lo, hi: b.lo });
        } else {
          items.push(a, single(0x2d), b); // [\d-z]: the '-' is literal
        }
      } else {
        items.push(a);
      }
    }
    this.i++; // ]
    return { t: 'class', negated, items };
  }

  private classAtom(): ClassItem {
    if (this.ch() === '\\') {
      const e = this.escape(true);
      if (e.kind === 'char') return { kind: 'range', lo: e.cp, hi: e.cp };
      if (e.kind === 'set' && !e.negated) return { kind: 'set', set: e.set };
      throw new UnsupportedError('regex: \\D, \\W or \\S inside a character class');
    }
    const c = this.ch()!;
    this.i++;
    const cp = c.codePointAt(0)!;
    return { kind: 'range', lo: cp, hi: cp };
  }

  private escape(inClass: boolean): Escape {
    this.i++; // backslash
    const c = this.ch();
    if (c === undefined) throw new UnsupportedError('regex: trailing backslash');
    this.i++;
    const lower = c.toLowerCase();
    if ((lower === 'd' || lower === 'w' || lower === 's') && c.length === 1) {
      return { kind: 'set', set: lower as SetName, negated: c !== lower };
    }
    switch (c) {
      case 'b':
        return inClass ? { kind: 'char', cp: 0x08 } : { kind: 'assert', a: 'b' };
      case 'B':
      case 'A':
      case 'z':
      case 'Z':
        if (inClass) throw new UnsupportedError(`regex: \\${c} inside a character class`);
        return { kind: 'assert', a: c };
      case 'n':
        return { kind: 'char', cp: 0x0a };
      case 't':
        return { kind: 'char', cp: 0x09 };
      case 'r':
        return { kind: 'char', cp: 0x0d };
      case 'f':
        return { kind: 'char', cp: 0x0c };
      case 'v':
        return { kind: 'char', cp: 0x0b };
      case 'x': {
        if (!isHex(this.ch()) || !isHex(this.ch(1)))
          throw new UnsupportedError('regex: \\x needs two hex digits');
        const cp = parseInt(this.ch()! + this.ch(1)!, 16);
        this.i += 2;
        return { kind: 'char', cp };
      }
      case 'u':
        return { kind: 'char', cp: this.unicodeEscape() };
      case '0':
        throw new UnsupportedError(isDigit(this.ch()) ? 'regex: octal escape' : 'regex: \\0 (NUL)');
      case 'c':
        throw new UnsupportedError('regex: control escape \\c');
      case 'k':
        throw new UnsupportedError('regex: named backreference \\k');
      case 'p':
      case 'P':
        throw new UnsupportedError(`regex: Unicode property escape \\${c}`);
      default:
        if (isDigit(c)) {
          throw new UnsupportedError(inClass ? 'regex: octal escape' : `regex: backreference \\${c}`);
        }
        if (isAsciiAlnum(c)) throw new UnsupportedError(`regex: unknown escape \\${c}`);
        return { kind: 'char', cp: c.codePointAt(0)! };
    }
  }

  /** After `\u`: four hex digits, a surrogate pair of two `\uXXXX` joined into one code point. */
  private unicodeEscape(): number {
    const four = (): number | undefined => {
      const h = this.cps.slice(this.i, this.i + 4).join('');
      return /^[0-9A-Fa-f]{4}$/.test(h) ? parseInt(h, 16) : undefined;
    };
    const hi = four();
    if (hi === undefined) throw new UnsupportedError('regex: \\u needs four hex digits');
    this.i += 4;
    if (hi >= 0xd800 && hi <= 0xdbff && this.ch() === '\\' && this.ch(1) === 'u') {
      this.i += 2;
      const lo = four();
      if (lo !== undefined && lo >= 0xdc00 && lo <= 0xdfff) {
        this.i += 4;
        return 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
      }
      this.i -= 2;
    }
    return hi;
  }
}

/** Splits a leading inline flag group (`(?i)`, `(?is)`) off the source. */
function leadingFlags(source: string, flags: RegexFlags): { source: string; flags: RegexFlags } {
  const m = /^\(\?([ims]+)\)/.exec(source);
  if (!m) return { source, flags };
  const f = m[1]!;
  return {
    source: source.slice(m[0].length),
    flags: { i: flags.i || f.includes('i'), m: flags.m || f.includes('m'), s: flags.s || f.includes('s') },
  };
}

/** Parses a Sigma regex (JavaScript syntax) into its tree; UnsupportedError when it is invalid or untranslatable. */
export function parseRegex(regex: string, flags: RegexFlags): { rx: Rx; flags: RegexFlags } {
  const lead = leadingFlags(regex, flags);
  try {
    new RegExp(lead.source);
  } catch (e) {
    throw new UnsupportedError(`regex: invalid regular expression: ${(e as Error).message}`);
  }
  return { rx: new Parser(lead.source).parse(), flags: lead.flags };
}

// ------------------------------------------------------------------------------------------- writers

const MAX_REPEAT: Record<Dialect, number> = { duckdb: 1000, postgres: 255 };

/** A code point as an escape the engine reads inside or outside brackets. */
function hexEscape(cp: number, dialect: Dialect): string {
  const h = cp.toString(16);
  if (dialect === 'duckdb') return `\\x{${h}}`;
  return cp <= 0xffff ? `\\u${h.padStart(4, '0')}` : `\\U${h.padStart(8, '0')}`;
}

/** One literal code point, read the same by RE2 and ARE in and out of brackets (ASCII punctuation escaped). */
function literalChar(cp: number, dialect: Dialect): string {
  if (cp >= 0xd800 && cp <= 0xdfff) throw new UnsupportedError('regex: lone surrogate');
  const c = String.fromCodePoint(cp);
  if (isAsciiAlnum(c) || cp === 0x20) return c;
  if (cp > 0x20 && cp < 0x7f) return `\\${c}`;
  // Letters, marks, numbers, punctuation and symbols as themselves; spaces, controls and the invisible escaped.
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(c) && cp <= 0xffff ? c : hexEscape(cp, dialect);
}

function ranges(items: readonly ClassItem[], dialect: Dialect): string {
  let out = '';
  for (const it of items) {
    const rs = it.kind === 'set' ? SETS[it.set] : [[it.lo, it.hi] as const];
    for (const [lo, hi] of rs) {
      out += lo === hi ? literalChar(lo, dialect) : `${literalChar(lo, dialect)}-${literalChar(hi, dialect)}`;
    }
  }
  return out;
}

const WORD = '[0-9A-Za-z_]';

function assertion(a: Assertion, dialect: Dialect): string {
  switch (a) {
    case '^':
    case '$':
      return a;
    case 'A':
      return '\\A';
    case 'z':
      return dialect === 'duckdb' ? '\\z' : '\\Z';
    case 'Z':
      if (dialect === 'duckdb')
        throw new UnsupportedError('regex: \\Z (end or before a final newline) in RE2');
      return `(?=${hexEscape(0x0a, dialect)}?\\Z)`;
    case 'b':
      if (dialect === 'duckdb') return '\\b';
      return `(?:(?<!${WORD})(?=${WORD})|(?<=${WORD})(?!${WORD}))`;
    case 'B':
      if (dialect === 'duckdb') return '\\B';
      return `(?:(?<=${WORD})(?=${WORD})|(?<!${WORD})(?!${WORD}))`;
  }
}

function write(rx: Rx, dialect: Dialect, flags: RegexFlags): string {
  switch (rx.t) {
    case 'alt':
      return rx.alts.map((a) => write(a, dialect, flags)).join('|');
    case 'seq':
      return rx.items.map((a) => write(a, dialect, flags)).join('');
    case 'char':
      return literalChar(rx.cp, dialect);
    case 'dot':
      // RE2 gets `s` as a flag; ARE's `.` matches a newline unless newline-sensitive, so spell it out.
      return dialect === 'postgres' && !flags.s ? `[^${hexEscape(0x0a, dialect)}]` : '.';
    case 'class':
      return `[${rx.negated ? '^' : ''}${ranges(rx.items, dialect)}]`;
    case 'set':
      return `[${rx.negated ? '^' : ''}${ranges([{ kind: 'set', set: rx.set }], dialect)}]`;
    case 'assert':
      return assertion(rx.a, dialect);
    case 'group':
      return `(?:${write(rx.body, dialect, flags)})`;
    case 'look': {
      const name = `${rx.negative ? 'negative ' : ''}${rx.behind ? 'lookbehind' : 'lookahead'}`;
      if (dialect === 'duckdb') throw new UnsupportedError(`regex: ${name} in RE2`);
      return `(?${rx.behind ? '<' : ''}${rx.negative ? '!' : '='}${write(rx.body, dialect, flags)})`;
    }
    case 'repeat': {
      const limit = MAX_REPEAT[dialect];
      if (rx.min > limit || (rx.max ?? 0) > limit) {
        throw new UnsupportedError(`regex: repetition count above ${limit} in ${dialect}`);
      }
      const q =
        rx.max === undefined
          ? rx.min === 0
            ? '*'
            : rx.min === 1
              ? '+'
              : `{${rx.min},}`
          : rx.min === 0 && rx.max === 1
            ? '?'
            : rx.min === rx.max
              ? `{${rx.min}}`
              : `{${rx.min},${rx.max}}`;
      return write(rx.body, dialect, flags) + q;
    }
  }
}

/**
 * The regex written for the dialect, flags included as an inline prefix: RE2 `(?ims)` for DuckDB
 * (`regexp_matches(field, $n)`), ARE embedded options `(?iw)` for PostgreSQL (`field ~ $n`).
 */
export function translateRegex(regex: string, flags: RegexFlags, dialect: Dialect): string {
  const parsed = parseRegex(regex, flags);
  const f = parsed.flags;
  const body = write(parsed.rx, dialect, f);
  const letters =
    dialect === 'duckdb'
      ? `${f.i ? 'i' : ''}${f.m ? 'm' : ''}${f.s ? 's' : ''}`
      : `${f.i ? 'i' : ''}${f.m ? 'w' : ''}`;
  return letters ? `(?${letters})${body}` : body;
}
