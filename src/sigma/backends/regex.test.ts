import { describe, expect, it } from 'vitest';
import type { RegexFlags } from '../ir.ts';
import { translateRegex } from './regex.ts';
import { type Dialect, UnsupportedError } from './types.ts';

const NONE: RegexFlags = { i: false, m: false, s: false };
const duck = (re: string, flags: Partial<RegexFlags> = {}) =>
  translateRegex(re, { ...NONE, ...flags }, 'duckdb');
const pg = (re: string, flags: Partial<RegexFlags> = {}) =>
  translateRegex(re, { ...NONE, ...flags }, 'postgres');
const refused = (re: string, dialect: Dialect, reason: RegExp) => {
  let err: unknown;
  try {
    translateRegex(re, NONE, dialect);
  } catch (e) {
    err = e;
  }
  expect(err, re).toBeInstanceOf(UnsupportedError);
  expect((err as UnsupportedError).reason).toMatch(reason);
};

const W = '[0-9A-Za-z_]';
const PG_B = `(?:(?<!${W})(?=${W})|(?<=${W})(?!${W}))`;
const PG_NB = `(?:(?<=${W})(?=${W})|(?<!${W})(?!${W}))`;
const DUCK_S =
  '[\\x{9}-\\x{d} \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}-\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]';
const PG_S = '[\\u0009-\\u000d \\u00a0\\u1680\\u2000-\\u200a\\u2028-\\u2029\\u202f\\u205f\\u3000\\ufeff]';

describe('flags', () => {
  it('DuckDB (RE2): an inline flag prefix', () => {
    expect(duck('a.b')).toBe('a.b');
    expect(duck('a.b', { i: true })).toBe('(?i)a.b');
    expect(duck('a.b', { m: true })).toBe('(?m)a.b');
    expect(duck('a.b', { s: true })).toBe('(?s)a.b');
    expect(duck('a.b', { i: true, m: true, s: true })).toBe('(?ims)a.b');
  });

  it('PostgreSQL (ARE): i -> i, m -> w (^ $ at newlines), no s -> `.` is [^\\n]', () => {
    expect(pg('a.b')).toBe('a[^\\u000a]b');
    expect(pg('a.b', { s: true })).toBe('a.b');
    expect(pg('a.b', { i: true })).toBe('(?i)a[^\\u000a]b');
    expect(pg('^a$', { m: true })).toBe('(?w)^a$');
    expect(pg('^a.$', { i: true, m: true, s: true })).toBe('(?iw)^a.$');
  });

  it('a leading inline flag group is taken as flags', () => {
    expect(duck('(?i)cmd')).toBe('(?i)cmd');
    expect(duck('(?is)cmd', { m: true })).toBe('(?ims)cmd');
    expect(pg('(?i)cmd')).toBe('(?i)cmd');
    expect(pg('(?s)a.b')).toBe('a.b');
  });

  it('inline flags anywhere else are refused', () => {
    refused('a(?i)b', 'duckdb', /invalid regular expression|inline flags/);
    refused('(?i:a)b', 'postgres', /invalid regular expression|inline flags/);
  });
});

describe('escapes and classes', () => {
  it('word boundaries: RE2 keeps \\b, ARE gets ASCII lookarounds (its \\y is locale-wide)', () => {
    expect(duck('\\bcmd\\B')).toBe('\\bcmd\\B');
    expect(pg('\\bcmd\\B')).toBe(`${PG_B}cmd${PG_NB}`);
  });

  it('shorthand classes are written out (ASCII \\d \\w, JavaScript \\s)', () => {
    expect(duck('\\d\\D\\w\\W')).toBe('[0-9][^0-9][0-9A-Z\\_a-z][^0-9A-Z\\_a-z]');
    expect(pg('\\d\\w')).toBe('[0-9][0-9A-Z\\_a-z]');
    expect(duck('\\s')).toBe(DUCK_S);
    expect(pg('\\s')).toBe(PG_S);
    expect(duck('\\S')).toBe(`[^${DUCK_S.slice(1)}`);
    expect(duck('[\\d_-]')).toBe('[0-9\\_\\-]');
  });

  it('ASCII punctuation is escaped, letters and digits are not', () => {
    expect(duck('C:\\\\Windows\\\\cmd\\.exe')).toBe('C\\:\\\\Windows\\\\cmd\\.exe');
    expect(pg('a\\/b\\-c d#e')).toBe('a\\/b\\-c d\\#e');
    expect(duck('a]b}c')).toBe('a\\]b\\}c');
    expect(pg("it's")).toBe("it\\'s");
  });

  it('character escapes become code points', () => {
    expect(duck('\\n\\t\\r\\f\\v')).toBe('\\x{a}\\x{9}\\x{d}\\x{c}\\x{b}');
    expect(pg('\\n\\t')).toBe('\\u000a\\u0009');
    expect(duck('\\x41\\u00e9')).toBe('Aé');
    expect(pg('\\ud83d\\ude00')).toBe('\\U0001f600');
    expect(duck('😀')).toBe('\\x{1f600}');
    expect(pg('\u00a0')).toBe('\\u00a0');
  });

  it('character classes', () => {
    expect(duck('[a-z0-9]')).toBe('[a-z0-9]');
    expect(pg('[^a-c]')).toBe('[^a-c]');
    expect(duck('[\\]\\\\^-]')).toBe('[\\]\\\\\\^\\-]');
    expect(duck('[\\d-z]')).toBe('[0-9\\-z]'); // the dash next to a class is literal
    expect(pg('[\\b]')).toBe('[\\u0008]'); // backspace inside a class
    expect(pg('[[]')).toBe('[\\[]');
    expect(duck('[é-ü]')).toBe('[é-ü]');
  });

  it('refuses what would mean something else in some engine', () => {
    refused('[\\D]', 'duckdb', /\\D, \\W or \\S inside a character class/);
    refused('[]', 'postgres', /empty character class/);
    refused('[^]', 'duckdb', /empty character class/);
    refused('\\q', 'duckdb', /unknown escape \\q/);
    refused('\\A[\\A]', 'duckdb', /unknown escape|inside a character class/);
    refused('\\cA', 'postgres', /control escape/);
    refused('\\p{L}', 'duckdb', /Unicode property escape/);
    refused('a\\0', 'postgres', /NUL/);
    refused('\\x4', 'duckdb', /two hex digits/);
    refused('\\u{41}', 'postgres', /four hex digits/);
  });
});

describe('groups, anchors and quantifiers', () => {
  it('groups are non-capturing (named ones too)', () => {
    expect(duck('(a|b)(?:c)(?<n>d)')).toBe('(?:a|b)(?:c)(?:d)');
    expect(pg('(a|)b')).toBe('(?:a|)b');
  });

  it('quantifiers; lazy ones are written greedy (a search does not depend on greediness)', () => {
    expect(duck('a*b+c?d{2}e{2,}f{2,3}')).toBe('a*b+c?d{2}e{2,}f{2,3}');
    expect(pg('a*?b+?c??d{2,3}?')).toBe('a*b+c?d{2,3}');
    expect(duck('x{,2}')).toBe('x\\{\\,2\\}'); // not a quantifier in JavaScript: literal
    expect(pg('a{')).toBe('a\\{');
  });

  it('repetition bounds: RE2 up to 1000, ARE up to 255', () => {
    expect(duck('a{1000}')).toBe('a{1000}');
    refused('a{1001}', 'duckdb', /above 1000/);
    expect(pg('a{1,255}')).toBe('a{1,255}');
    refused('a{256}', 'postgres', /above 255 in postgres/);
  });

  it('anchors \\A \\z \\Z', () => {
    expect(duck('\\Aa\\z')).toBe('\\Aa\\z');
    expect(pg('\\Aa\\z')).toBe('\\Aa\\Z');
    expect(pg('a\\Z')).toBe('a(?=\\u000a?\\Z)');
    refused('a\\Z', 'duckdb', /\\Z .* in RE2/);
  });

  it('lookaround: ARE runs it, RE2 refuses it by name', () => {
    expect(pg('a(?=b)(?!c)(?<=a)(?<!d)')).toBe('a(?=b)(?!c)(?<=a)(?<!d)');
    refused('a(?=b)', 'duckdb', /lookahead in RE2/);
    refused('a(?!b)', 'duckdb', /negative lookahead in RE2/);
    refused('(?<=a)b', 'duckdb', /lookbehind in RE2/);
    refused('(?<!a)b', 'duckdb', /negative lookbehind in RE2/);
  });

  it('refuses backreferences, possessive quantifiers, atomic groups and invalid expressions', () => {
    for (const d of ['duckdb', 'postgres'] as const) {
      refused('(a)\\1', d, /backreference \\1/);
      refused('(?<n>a)\\k<n>', d, /named backreference/);
      refused('a*+', d, /invalid regular expression|possessive/);
      refused('(?>a)', d, /invalid regular expression/);
      refused('(a', d, /invalid regular expression/);
      refused('a**', d, /invalid regular expression/);
      refused('(?=a)*', d, /quantified assertion/);
    }
  });

  it('an empty expression matches everywhere', () => {
    expect(duck('')).toBe('');
    expect(pg('', { i: true })).toBe('(?i)');
  });
});
