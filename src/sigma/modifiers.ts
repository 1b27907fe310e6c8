/**
 * Sigma values and value modifiers (Sigma specification v2, appendix "Modifiers"): from one detection item
 * (`Field|mod1|mod2: value or list`) to an intermediate tree (ir.ts). Every modifier that changes the value is
 * resolved here into plain patterns, alternatives (`or`) and conjunctions (`and`), so later stages only see
 * `string`, `regex`, `number`, `null`, `exists`, `fieldref` and `keyword` nodes.
 *
 * Modifiers are applied left to right, as the specification describes (`wide|base64offset|contains`: encode
 * UTF-16LE, then the three base64 offsets, then wrap each in `*`). Alternatives produced by one value
 * (windash, base64offset, cidr, expand) are always OR-ed, also under `all` (which AND-s the listed values).
 */
import { and, or, type Node, type Pattern, type PatternPart, type RegexFlags } from './ir.ts';
import { compressIpv6Groups } from '../domain/ipv6.ts';

/** A problem with one detection item; the parser adds the file and line. */
export class DetectionError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** A plain YAML scalar as it appears in a rule. */
export type SigmaScalar = string | number | boolean | null;

export interface ModifierOptions {
  /** Values of `%name%` placeholders for the `expand` modifier. */
  readonly placeholders?: Readonly<Record<string, readonly string[]>>;
}

const STRING_MODS = ['contains', 'startswith', 'endswith'] as const;
const ENCODINGS = ['wide', 'utf16le', 'utf16be', 'utf16'] as const;
const BASE64 = ['base64', 'base64offset'] as const;
const NUMERIC = ['gt', 'gte', 'lt', 'lte'] as const;
const REGEX_FLAGS: Record<string, keyof RegexFlags> = {
  i: 'i',
  ignorecase: 'i',
  m: 'm',
  multiline: 'm',
  s: 's',
  dotall: 's',
};

/** Every modifier this parser understands. */
export const KNOWN_MODIFIERS: ReadonlySet<string> = new Set([
  ...STRING_MODS,
  ...ENCODINGS,
  ...BASE64,
  ...NUMERIC,
  ...Object.keys(REGEX_FLAGS),
  'all',
  'cased',
  'windash',
  'expand',
  're',
  'cidr',
  'exists',
  'fieldref',
]);

/** Modifiers of the specification this parser refuses on purpose, with the reason. */
const REFUSED: Record<string, string> = {
  neq: "modifier 'neq' is not supported (its meaning for value lists is ambiguous; use 'not' in the condition)",
  minute: "time-part modifier 'minute' is not supported",
  hour: "time-part modifier 'hour' is not supported",
  day: "time-part modifier 'day' is not supported",
  week: "time-part modifier 'week' is not supported",
  month: "time-part modifier 'month' is not supported",
  year: "time-part modifier 'year' is not supported",
};

// ------------------------------------------------------------------------------------------- patterns

/** Merges adjacent text parts and collapses runs of `*` (`**` is `*`). Drops empty text. */
export function normalizePattern(parts: readonly PatternPart[]): Pattern {
  const out: PatternPart[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (p.kind === 'text') {
      if (p.text === '') continue;
      if (last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + p.text };
      else out.push(p);
    } else if (p.kind === 'any') {
      if (last?.kind !== 'any') out.push(p);
    } else out.push(p);
  }
  return out;
}

/**
 * A Sigma string value as a Pattern: `*` is any run, `?` one character; `\*`, `\?` and `\\` are the literal
 * characters; a backslash before anything else (or at the end) is a literal backslash (`C:\Windows\*` is the
 * text `C:\Windows\` then any run).
 */
export function parseWildcards(raw: string): Pattern {
  const parts: PatternPart[] = [];
  let text = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '\\') {
      const n = raw[i + 1];
      if (n === '*' || n === '?' || n === '\\') {
        text += n;
        i++;
      } else text += '\\';
    } else if (c === '*' || c === '?') {
      if (text) parts.push({ kind: 'text', text });
      text = '';
      parts.push({ kind: c === '*' ? 'any' : 'one' });
    } else text += c;
  }
  if (text) parts.push({ kind: 'text', text });
  return normalizePattern(parts);
}

/** A pattern back in Sigma wildcard syntax (for messages and tests). */
export function formatPattern(p: Pattern): string {
  return p
    .map((x) => (x.kind === 'any' ? '*' : x.kind === 'one' ? '?' : x.text.replace(/[\\*?]/g, '\\$&')))
    .join('');
}

// ------------------------------------------------------------------------------------------- windash

/** The characters `windash` puts in place of a dash or slash at the start of a word. */
export const WINDASH_CHARS = ['-', '/', '\u2013', '\u2014', '\u2015'] as const;
/** At most this many dashes per value (5^n variants). */
const WINDASH_MAX = 5;

/**
 * `windash`: every `-` or `/` at the start of a word (not preceded by a word character, followed by one,
 * e.g. ` -enc`, ` /c`) in each of its five forms: `-`, `/`, en dash, em dash, horizontal bar. All
 * combinations are produced (5^n variants for n such characters).
 */
export function windashVariants(p: Pattern): Pattern[] {
  // Split the text parts at each windash position; a hole is represented by index into `holes`.
  type Piece = PatternPart | { kind: 'hole' };
  const pieces: Piece[] = [];
  let holes = 0;
  for (const part of p) {
    if (part.kind !== 'text') {
      pieces.push(part);
      continue;
    }
    const re = /\B[-/]\b/g;
    let last = 0;
    for (let m = re.exec(part.text); m; m = re.exec(part.text)) {
      if (m.index > last) pieces.push({ kind: 'text', text: part.text.slice(last, m.index) });
      pieces.push({ kind: 'hole' });
      holes++;
      last = m.index + 1;
    }
    if (last < part.text.length) pieces.push({ kind: 'text', text: part.text.slice(last) });
  }
  if (holes === 0) return [p];
  if (holes > WINDASH_MAX) {
    throw new DetectionError(
      `windash: value '${formatPattern(p)}' has ${holes} dashes, more than ${WINDASH_MAX} (5^${holes} variants)`,
    );
  }
  let variants: PatternPart[][] = [[]];
  for (const piece of pieces) {
    if (piece.kind === 'hole') {
      variants = variants.flatMap((v) =>
        WINDASH_CHARS.map((c) => [...v, { kind: 'text', text: c } as const]),
      );
    } else variants = variants.map((v) => [...v, piece]);
  }
  return variants.map(normalizePattern);
}

// ------------------------------------------------------------------------------------------- encodings

/** UTF-16 encodings of `wide`/`utf16le`, `utf16be` and `utf16` (a little-endian byte order mark, then LE). */
export function encodeUtf16(text: string, kind: 'le' | 'be' | 'bom'): Buffer {
  const le = Buffer.from(text, 'utf16le');
  if (kind === 'le') return le;
  if (kind === 'bom') return Buffer.concat([Buffer.from([0xff, 0xfe]), le]);
  const be = Buffer.from(le);
  return be.swap16();
}

/**
 * `base64offset`: the base64 text of `data` as it appears inside a longer base64 string, for each of the
 * three positions `data` can have relative to 3-byte groups. The leading and trailing characters that also
 * depend on the surrounding bytes are cut off. Empty results (very short values) are dropped.
 */
export function base64OffsetVariants(data: Uint8Array): string[] {
  const start = [0, 2, 3];
  const endCut = [0, 3, 2]; // by (length + shift) % 3
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift, 0x20), data]).toString('base64');
    const cut = endCut[(data.length + shift) % 3]!;
    const s = b64.slice(start[shift]!, b64.length - cut);
    if (s !== '' && !out.includes(s)) out.push(s);
  }
  return out;
}

// ------------------------------------------------------------------------------------------- cidr

function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = m[i]!;
    if (o.length > 1 && o.startsWith('0')) return undefined; // ambiguous (octal?) octets are refused
    const v = Number(o);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function parseIpv6(s: string): bigint | undefined {
  let text = s.toLowerCase();
  let tail: number[] = [];
  const v4 = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = parseIpv4(v4[2]!);
    if (n === undefined) return undefined;
    tail = [n >>> 16, n & 0xffff];
    text = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const group = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = group(halves[0]!);
  const rest = halves.length === 2 ? group(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length + tail.length;
  let groups: number[];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
  } else {
    if (given !== 8) return undefined;
    groups = [...head, ...tail];
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** The canonical compressed IPv6 text (RFC 5952: lower case, longest run of 2+ zero groups as `::`). */
export function formatIpv6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return compressIpv6Groups(groups);
}

/**
 * `cidr`: a network as string prefix patterns over the address text.
 * IPv4: one pattern per octet-aligned subnet (10.0.0.0/8 -> `10.*`; 172.16.0.0/12 -> `172.16.*` .. `172.31.*`;
 * a /27 -> its 32 addresses; /32 -> the address). IPv6 (as pySigma): split into hex-digit-aligned subnets and
 * cut each subnet's canonical compressed text where its first and last address differ (fe80::/10 -> `fe8*`,
 * `fe9*`, `fea*`, `feb*`). Like pySigma's, the IPv6 patterns can over-match when a prefix ends in zero groups
 * (`2001:db8::/48` -> `2001:db8:*`), because the compressed text of the network address hides those zeros.
 * A network with host bits set, or an invalid address or prefix, is an error.
 */
export function expandCidr(cidr: string): Pattern[] {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(cidr.trim());
  const bad = (why: string): never => {
    throw new DetectionError(`cidr: invalid network '${cidr}': ${why}`);
  };
  if (!m) return bad('expected address/prefix');
  const addr = m[1]!;
  const prefix = Number(m[2]);
  const any: PatternPart = { kind: 'any' };
  const text = (t: string): PatternPart => ({ kind: 'text', text: t });
  if (addr.includes(':')) {
    const n = parseIpv6(addr);
    if (n === undefined) return bad('not an IPv6 address');
    if (prefix > 128) return bad('prefix longer than 128');
    const hostBits = 128n - BigInt(prefix);
    if (n & ((1n << hostBits) - 1n)) return bad('host bits set');
    const diff = (4 - (prefix % 4)) % 4;
    const sub = prefix + diff;
    const subHost = 128n - BigInt(sub);
    const out: Pattern[] = [];
    for (let k = 0n; k < 1n << BigInt(diff); k++) {
      const first = n | (k << subHost);
      const last = first | ((1n << subHost) - 1n);
      const f = formatIpv6(first);
      if (first === last) {
        out.push([text(f)]);
        continue;
      }
      const l = formatIpv6(last);
      let i = 0;
      while (i < f.length && i < l.length && f[i] === l[i]) i++;
      out.push(normalizePattern([text(f.slice(0, i)), any]));
    }
    return out;
  }
  const n = parseIpv4(addr);
  if (n === undefined) return bad('not an IPv4 address');
  if (prefix > 32) return bad('prefix longer than 32');
  const hostMask = prefix === 0 ? 0xffffffff : prefix === 32 ? 0 : (2 ** (32 - prefix) - 1) >>> 0;
  if ((n & hostMask) >>> 0 !== 0) return bad('host bits set');
  const diff = (8 - (prefix % 8)) % 8;
  const sub = prefix + diff;
  const out: Pattern[] = [];
  for (let k = 0; k < 2 ** diff; k++) {
    const net = n + k * 2 ** (32 - sub);
    const octets = sub / 8;
    if (octets === 0) out.push([any]);
    else if (octets === 4) out.push([text(formatIpv4(net))]);
    else out.push([text(formatIpv4(net).split('.').slice(0, octets).join('.') + '.'), any]);
  }
  return out;
}

// ------------------------------------------------------------------------------------------- modifier checks

/** Splits `Field|mod1|mod2` into the field (null when empty: a keyword item) and its modifiers. */
export function splitFieldKey(key: string): { field: string | null; modifiers: string[] } {
  const [field, ...modifiers] = key.split('|');
  return { field: field === '' || field === undefined ? null : field, modifiers };
}

/**
 * Checks a modifier list: every modifier known, none twice, and the combination legal. Throws a
 * DetectionError naming the offending modifier.
 */
export function checkModifiers(modifiers: readonly string[], keyword: boolean): void {
  const seen = new Set<string>();
  for (const m of modifiers) {
    if (m === '') throw new DetectionError("empty modifier ('||' or a trailing '|')");
    if (REFUSED[m]) throw new DetectionError(REFUSED[m]!);
    if (!KNOWN_MODIFIERS.has(m)) throw new DetectionError(`unknown modifier '${m}'`);
    if (seen.has(m)) throw new DetectionError(`modifier '${m}' given twice`);
    seen.add(m);
  }
  const has = (m: string) => seen.has(m);
  const first = (list: readonly string[]) => modifiers.filter((m) => list.includes(m));
  const only = (main: string, allowed: readonly string[]) => {
    const other = modifiers.find((m) => m !== main && !allowed.includes(m));
    if (other !== undefined)
      throw new DetectionError(`modifier '${main}' cannot be combined with '${other}'`);
  };
  const onePer = (group: readonly string[]) => {
    const g = first(group);
    if (g.length > 1) throw new DetectionError(`modifier '${g[0]}' cannot be combined with '${g[1]}'`);
  };
  const flags = Object.keys(REGEX_FLAGS);

  if (keyword) {
    const bad = modifiers.find((m) =>
      ['startswith', 'endswith', 're', 'cidr', 'exists', 'fieldref', ...NUMERIC, ...flags].includes(m),
    );
    if (bad !== undefined)
      throw new DetectionError(`modifier '${bad}' cannot be used on keywords (no field)`);
  }
  if (has('re')) only('re', [...flags, 'all']);
  else {
    const flag = modifiers.find((m) => flags.includes(m));
    if (flag !== undefined) throw new DetectionError(`modifier '${flag}' is only valid after 're'`);
  }
  if (has('cidr')) only('cidr', ['all']);
  if (has('exists')) only('exists', []);
  onePer(NUMERIC);
  const num = first(NUMERIC)[0];
  if (num !== undefined) only(num, ['all']);
  if (has('fieldref')) only('fieldref', [...STRING_MODS, 'cased', 'all']);
  onePer(STRING_MODS);
  onePer(ENCODINGS);
  onePer(BASE64);
  const pos = (list: readonly string[]) => modifiers.findIndex((m) => list.includes(m));
  const b64 = pos(BASE64);
  const enc = pos(ENCODINGS);
  const sm = pos(STRING_MODS);
  if (enc >= 0 && (b64 < 0 || b64 < enc)) {
    throw new DetectionError(`modifier '${modifiers[enc]}' must be followed by 'base64' or 'base64offset'`);
  }
  if (b64 >= 0 && sm >= 0 && sm < b64) {
    throw new DetectionError(
      `modifier '${modifiers[sm]}' must come after '${modifiers[b64]}' (wildcards cannot be base64-encoded)`,
    );
  }
  const ex = modifiers.indexOf('expand');
  if (ex >= 0 && b64 >= 0 && ex > b64) {
    throw new DetectionError(`modifier 'expand' must come before '${modifiers[b64]}'`);
  }
}

// ------------------------------------------------------------------------------------------- values

type Val = { t: 'str'; parts: PatternPart[] } | { t: 'bytes'; data: Buffer };

function scalarText(v: SigmaScalar): string {
  return typeof v === 'string' ? v : String(v);
}

function describe(v: SigmaScalar): string {
  return v === null ? 'null' : typeof v === 'string' ? `'${v}'` : String(v);
}

function plainText(v: Val, mod: string): string {
  if (v.t === 'bytes') throw new DetectionError(`modifier '${mod}' cannot follow an encoding modifier`);
  let s = '';
  for (const p of v.parts) {
    if (p.kind === 'text') s += p.text;
    else throw new DetectionError(`modifier '${mod}' cannot be applied to a value with wildcards`);
  }
  return s;
}

function strParts(v: Val, mod: string): PatternPart[] {
  if (v.t === 'bytes') throw new DetectionError(`modifier '${mod}' must come after 'base64'/'base64offset'`);
  return v.parts;
}

const PLACEHOLDER = /(?<!\\)%(\w+)%/g;

function expandPlaceholders(v: Val, opts: ModifierOptions): Val[] {
  if (v.t === 'bytes') return [v];
  // First turn %name% in text parts into placeholder parts, then take the cartesian product of their values.
  type Part = PatternPart | { kind: 'ph'; name: string };
  const parts: Part[] = [];
  for (const p of v.parts) {
    if (p.kind !== 'text') {
      parts.push(p);
      continue;
    }
    let last = 0;
    for (const m of p.text.matchAll(PLACEHOLDER)) {
      parts.push({ kind: 'text', text: p.text.slice(last, m.index).replaceAll('\\%', '%') });
      parts.push({ kind: 'ph', name: m[1]! });
      last = m.index + m[0].length;
    }
    parts.push({ kind: 'text', text: p.text.slice(last).replaceAll('\\%', '%') });
  }
  let out: PatternPart[][] = [[]];
  for (const p of parts) {
    if (p.kind !== 'ph') {
      out = out.map((o) => [...o, p]);
      continue;
    }
    const values = opts.placeholders?.[p.name];
    if (values === undefined) {
      throw new DetectionError(`expand: unknown placeholder '%${p.name}%' (no values given for it)`);
    }
    if (values.length === 0) throw new DetectionError(`expand: placeholder '%${p.name}%' has no values`);
    out = out.flatMap((o) => values.map((val) => [...o, ...parseWildcards(val)]));
  }
  return out.map((parts) => ({ t: 'str', parts }));
}

function applyModifier(v: Val, mod: string, opts: ModifierOptions): Val[] {
  const any: PatternPart = { kind: 'any' };
  switch (mod) {
    case 'contains':
      return [{ t: 'str', parts: [any, ...strParts(v, mod), any] }];
    case 'startswith':
      return [{ t: 'str', parts: [...strParts(v, mod), any] }];
    case 'endswith':
      return [{ t: 'str', parts: [any, ...strParts(v, mod)] }];
    case 'windash':
      return windashVariants(normalizePattern(strParts(v, mod))).map((p) => ({ t: 'str', parts: [...p] }));
    case 'expand':
      return expandPlaceholders(v, opts);
    case 'wide':
    case 'utf16le':
      return [{ t: 'bytes', data: encodeUtf16(plainText(v, mod), 'le') }];
    case 'utf16be':
      return [{ t: 'bytes', data: encodeUtf16(plainText(v, mod), 'be') }];
    case 'utf16':
      return [{ t: 'bytes', data: encodeUtf16(plainText(v, mod), 'bom') }];
    case 'base64': {
      const data = v.t === 'bytes' ? v.data : Buffer.from(plainText(v, mod), 'utf8');
      return [{ t: 'str', parts: [{ kind: 'text', text: data.toString('base64') }] }];
    }
    case 'base64offset': {
      const data = v.t === 'bytes' ? v.data : Buffer.from(plainText(v, mod), 'utf8');
      const out = base64OffsetVariants(data);
      if (out.length === 0) throw new DetectionError('base64offset: value too short');
      return out.map((text) => ({ t: 'str', parts: [{ kind: 'text', text }] }));
    }
    default:
      return [v];
  }
}

function combine(nodes: Node<string>[], all: boolean): Node<string> {
  return all ? and(...nodes) : or(...nodes);
}

/**
 * One detection item (`field|modifiers: values`) as a tree. `field` null is a keyword item (`'|all': [...]`
 * or a plain keyword list). `values` are the listed values (one for a scalar). Throws DetectionError.
 */
export function buildItem(
  field: string | null,
  modifiers: readonly string[],
  values: readonly SigmaScalar[],
  opts: ModifierOptions = {},
): Node<string> {
  checkModifiers(modifiers, field === null);
  if (values.length === 0) throw new DetectionError('empty value list');
  const all = modifiers.includes('all');
  const has = (m: string) => modifiers.includes(m);

  if (field !== null && has('re')) {
    const flags: RegexFlags = {
      i: modifiers.some((m) => REGEX_FLAGS[m] === 'i'),
      m: modifiers.some((m) => REGEX_FLAGS[m] === 'm'),
      s: modifiers.some((m) => REGEX_FLAGS[m] === 's'),
    };
    return combine(
      values.map((v) => {
        if (typeof v !== 'string') throw new DetectionError(`re: value ${describe(v)} is not a string`);
        checkRegex(v);
        return { kind: 'regex', field, regex: v, flags };
      }),
      all,
    );
  }
  if (field !== null && has('cidr')) {
    return combine(
      values.map((v) => {
        if (typeof v !== 'string') throw new DetectionError(`cidr: value ${describe(v)} is not a network`);
        return or(
          ...expandCidr(v).map((pattern) => ({ kind: 'string', field, pattern, cased: false }) as const),
        );
      }),
      all,
    );
  }
  const numOp = NUMERIC.find((m) => has(m));
  if (field !== null && numOp) {
    return combine(
      values.map((v) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new DetectionError(`${numOp}: value ${describe(v)} is not a number`);
        }
        return { kind: 'number', field, op: numOp, value: v };
      }),
      all,
    );
  }
  if (field !== null && has('exists')) {
    if (values.length !== 1 || typeof values[0] !== 'boolean') {
      throw new DetectionError('exists: the value must be a single true or false');
    }
    return { kind: 'exists', field, exists: values[0] };
  }
  const cased = has('cased');
  if (field !== null && has('fieldref')) {
    const op = (STRING_MODS.find((m) => has(m)) ?? 'equals') as 'equals' | (typeof STRING_MODS)[number];
    return combine(
      values.map((v) => {
        if (typeof v !== 'string' || v === '') {
          throw new DetectionError(`fieldref: value ${describe(v)} is not a field name`);
        }
        return { kind: 'fieldref', field, other: v, op, cased };
      }),
      all,
    );
  }

  // Strings (and numbers/booleans as their text), keywords and null.
  const valueMods = modifiers.filter((m) => m !== 'all' && m !== 'cased');
  const nodes = values.map((raw): Node<string> => {
    if (raw === null) {
      if (field === null) throw new DetectionError('a keyword cannot be null');
      if (valueMods.length > 0 || cased) {
        throw new DetectionError(`modifier '${valueMods[0] ?? 'cased'}' cannot be applied to null`);
      }
      return { kind: 'null', field };
    }
    const start: Val = {
      t: 'str',
      parts: typeof raw === 'string' ? [...parseWildcards(raw)] : [{ kind: 'text', text: scalarText(raw) }],
    };
    let vals: Val[] = [start];
    for (const m of valueMods) vals = vals.flatMap((v) => applyModifier(v, m, opts));
    return or(
      ...vals.map((v): Node<string> => {
        if (v.t === 'bytes') throw new DetectionError('an encoded value must be base64-encoded');
        let pattern = normalizePattern(v.parts);
        if (field === null) {
          pattern = normalizePattern([{ kind: 'any' }, ...pattern, { kind: 'any' }]);
          return { kind: 'keyword', pattern, cased };
        }
        return { kind: 'string', field, pattern, cased };
      }),
    );
  });
  return combine(nodes, all);
}

/**
 * Checks that a regular expression compiles. Sigma regexes are PCRE-like; a leading inline flag group
 * (`(?i)`), which JavaScript lacks, is skipped for the check only. The regex text itself is kept unchanged.
 */
function checkRegex(re: string): void {
  const body = re.replace(/^\(\?[imsx]+\)/, '');
  try {
    new RegExp(body);
  } catch (e) {
    throw new DetectionError(`re: invalid regular expression '${re}': ${(e as Error).message}`);
  }
}
