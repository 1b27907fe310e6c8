/**
 * The in-memory index of a set of live indicators that the detection engine's matcher probes (pure: no store).
 *
 *   const index = new IndicatorIndex(); index.add(hit) ...; index.seal();
 *   const q = new MatchQuery(); q.set(value);              // parse a looked-up value once
 *   const parts: IndicatorHits[] = []; index.collect(q, parts); other.collect(q, parts);
 *   combineHits(parts, nowMs) -> readonly IndicatorHit[] | undefined
 *
 * Structure:
 * - `exact`: value text -> hits, for every non-network indicator and for the IPv4 hosts (`ip` indicators,
 *   and `/31` and `/32` networks expanded to their one or two addresses). A value is probed as given
 *   (trimmed) and, when it has upper-case letters, lower-cased for the case-insensitive types.
 * - IPv4 networks (`/0` to `/30`): one hash map per prefix length present, keyed by the network number
 *   `ip >>> (32 - p)` (below 2^30, so V8 keeps it a small integer and hashes it cheaply). A large map also has
 *   a bitset of its networks (over the top min(p, 24) bits, at most 2 MiB), so that most probes of an address
 *   outside every network of that length cost one typed-array read, not a hash probe.
 * - IPv6 networks and addresses (`ip` indicators are `/128` networks): shallow prefixes (`/0` to `/29`) in
 *   maps keyed by the network number of the first 32 bits; deeper ones in maps keyed by the masked words as
 *   text, probed only when the address's first 30 bits start one of those networks (`v6Tops`), which is rare
 *   for an address that matches nothing.
 * - An IPv4 address and its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`) are the same address: mapped indicators
 *   (an address, or a network of /96 or longer inside `::ffff:0:0/96`) are indexed as IPv4, IPv6 networks
 *   that contain all of `::ffff:0:0/96` (e.g. `::/0`) are also IPv4 `/0` networks, and a mapped value is
 *   looked up as its IPv4 address. (The repository's SQL lookup follows PostgreSQL's `inet`, where the two
 *   families never match.)
 *
 * Values are parsed without allocating: IPv4 to a 32-bit integer (strict dotted quad, as `canonicalIp`
 * accepts), IPv6 to four 32-bit words in a scratch array. The hit arrays are frozen and, when one array
 * holds every hit of a value and none has expired, returned as they are rather than copied.
 */
import type { IndicatorType } from '../../domain/enums.ts';

/** A live indicator as a match reports it. */
export interface IndicatorHit {
  id: string;
  type: IndicatorType;
  value: string;
  source: string;
  confidence: number | null;
  threatType: string | null;
  expiresAt: Date | null;
}

export type IndicatorHits = readonly IndicatorHit[];

/** Types whose stored value is lower-case (CASE_INSENSITIVE_INDICATOR_TYPES, kept here to stay pure). */
const CASE_INSENSITIVE = new Set<string>(['domain', 'email', 'md5', 'sha1', 'sha256', 'sha512', 'ja3']);

/** IPv4 maps with at least this many networks get a bitset in front. */
const BITSET_MIN = 64;
/** IPv6 prefixes from this length on are "deep": keyed by text and gated by `v6Tops`. */
const V6_DEEP = 30;

// ------------------------------------------------------------------------------------------ parsing

/** Whether a character may be white space that `trim` removes (a cheap over-approximation). */
const maybeSpace = (c: number) => c <= 32 || c === 160 || c >= 0x1680;

/**
 * A strict dotted-quad IPv4 address (decimal octets 0..255, no leading zeros) as an unsigned 32-bit number,
 * else -1. `end` bounds the text (an embedded IPv4 inside IPv6 text).
 */
export function parseIpv4(s: string, start = 0, end = s.length): number {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  let lead = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      n = n * 256 + octet;
      dots += 1;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) lead = c;
      else if (lead === 48) return -1; // a leading zero
      octet = octet * 10 + (c - 48);
      digits += 1;
      if (octet > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return n * 256 + octet;
}

const hexVal = (c: number) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;

/** Scratch groups of the IPv6 parser. */
const GROUPS = new Uint16Array(8);

/**
 * An IPv6 address (what `net.isIPv6` accepts without a zone id: 1..4 hex digits per group, at most one `::`,
 * an optional trailing dotted IPv4) into `out` as four 32-bit words. Returns false when it is none.
 */
export function parseIpv6(s: string, out: Uint32Array | number[]): boolean {
  const len = s.length;
  if (len < 2 || len > 45) return false;
  let n = 0; // groups written
  let gap = -1; // group index of `::`
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === len) {
      for (let k = 0; k < 4; k++) out[k] = 0;
      return true;
    }
  }
  for (;;) {
    // One group (or a trailing IPv4).
    let v = 0;
    let d = 0;
    const start = i;
    while (i < len) {
      const h = hexVal(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      d += 1;
      i += 1;
    }
    if (i < len && s.charCodeAt(i) === 46) {
      // Embedded IPv4: the last 32 bits.
      if (n > 6) return false;
      const v4 = parseIpv4(s, start, len);
      if (v4 < 0) return false;
      GROUPS[n++] = v4 >>> 16;
      GROUPS[n++] = v4 & 0xffff;
      i = len;
      break;
    }
    if (d === 0 || d > 4 || n === 8) return false;
    GROUPS[n++] = v;
    if (i === len) break;
    if (s.charCodeAt(i) !== 58) return false;
    i += 1;
    if (i < len && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i += 1;
      if (i === len) break;
    } else if (i === len) return false; // a trailing single colon
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false; // `::` stands for at least one group
    const tail = n - gap;
    for (let k = 0; k < tail; k++) GROUPS[7 - k] = GROUPS[n - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) GROUPS[k] = 0;
  }
  for (let k = 0; k < 4; k++) out[k] = GROUPS[2 * k]! * 65536 + GROUPS[2 * k + 1]!;
  return true;
}

const isMapped = (w: ArrayLike<number>) => w[0] === 0 && w[1] === 0 && w[2] === 0xffff;

const dotted = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** Mask of the top `bits` (0..32) of a 32-bit word. */
const topMask = (bits: number) => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0);

/** Key of the IPv4 network of `ip` for a prefix length up to 30: a small integer. */
const v4Key = (ip: number, prefix: number) => (prefix === 0 ? 0 : ip >>> (32 - prefix));

/** Key of a shallow IPv6 prefix (below /30): the network number of the first word. */
const v6ShallowKey = (w0: number, prefix: number) => (prefix === 0 ? 0 : w0 >>> (32 - prefix));

/** Key of a deep IPv6 prefix (/30 and longer): the masked words as text. */
function v6DeepKey(w: ArrayLike<number>, prefix: number): string {
  let key = String((w[0]! & topMask(prefix)) >>> 0);
  for (let i = 1, rest = prefix - 32; i < 4 && rest > 0; i++, rest -= 32)
    key += `:${(w[i]! & topMask(rest)) >>> 0}`;
  return key;
}

// ------------------------------------------------------------------------------------------ query

/** A looked-up value, parsed once and probed against any number of indexes. Reusable. */
export class MatchQuery {
  /** The value trimmed. */
  text = '';
  /** Its lower-case form when that differs (case-insensitive types), else ''. */
  lower = '';
  /** The IPv4 address (also of an IPv4-mapped IPv6 value), else -1. */
  v4 = -1;
  /** The dotted form of `v4` when the value is not already it (a mapped IPv6 value), else ''. */
  v4Text = '';
  /** Whether the value is a (non-mapped) IPv6 address, in `words`. */
  v6 = false;
  readonly words = new Uint32Array(4);

  set(value: string): this {
    let s = value;
    if (s.length && (maybeSpace(s.charCodeAt(0)) || maybeSpace(s.charCodeAt(s.length - 1)))) s = s.trim();
    this.text = s;
    this.lower = '';
    this.v4Text = '';
    this.v6 = false;
    this.v4 = -1;
    if (s.length === 0) return this;
    const c = s.charCodeAt(0);
    if (c >= 48 && c <= 57 && s.length <= 15 && s.indexOf(':') < 0) {
      this.v4 = parseIpv4(s);
      if (this.v4 >= 0) return this;
    }
    if (s.indexOf(':') >= 0 && s.indexOf('%') < 0 && parseIpv6(s, this.words)) {
      if (isMapped(this.words)) {
        this.v4 = this.words[3]!;
        this.v4Text = dotted(this.v4);
      } else this.v6 = true;
      return this;
    }
    for (let i = 0; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if ((ch >= 65 && ch <= 90) || ch > 127) {
        const lower = s.toLowerCase();
        if (lower !== s) this.lower = lower;
        break;
      }
    }
    return this;
  }
}

// ------------------------------------------------------------------------------------------ index

type MutableHits = IndicatorHit[];

function push<K>(m: Map<K, MutableHits>, k: K, hit: IndicatorHit): void {
  const list = m.get(k);
  if (list) list.push(hit);
  else m.set(k, [hit]);
}

function mapOf<K>(m: Map<number, Map<K, MutableHits>>, prefix: number): Map<K, MutableHits> {
  let v = m.get(prefix);
  if (v === undefined) m.set(prefix, (v = new Map()));
  return v;
}

interface V4Level {
  prefix: number;
  map: Map<number, IndicatorHits>;
  /** Bitset over the top `bits` bits of the networks of this length, or undefined (small map). */
  bitset: Uint32Array | undefined;
  bits: number;
}

interface V6Level {
  prefix: number;
  shallow: Map<number, IndicatorHits> | undefined;
  deep: Map<string, IndicatorHits> | undefined;
}

/** The in-memory index of one set of live indicators. Build with `add`, then `seal` once. */
export class IndicatorIndex {
  readonly #exact = new Map<string, MutableHits>();
  readonly #v4 = new Map<number, Map<number, MutableHits>>();
  readonly #v6Shallow = new Map<number, Map<number, MutableHits>>();
  readonly #v6Deep = new Map<number, Map<string, MutableHits>>();
  /** The first 30 bits (`w0 >>> 2`) of every deep IPv6 network: an address outside them skips those probes. */
  readonly #v6Tops = new Set<number>();
  #v4Levels: V4Level[] = [];
  #v6Levels: V6Level[] = [];
  #sealed = false;
  #size = 0;
  readonly #words = new Uint32Array(4);

  /** Indicators added. */
  get size(): number {
    return this.#size;
  }

  /** Index one live indicator (its value in the stored normal form). Returns false for a malformed network. */
  add(hit: IndicatorHit): boolean {
    if (this.#sealed) throw new Error('IndicatorIndex: add after seal');
    const v = hit.value;
    if (hit.type === 'cidr' || hit.type === 'ip') {
      const slash = v.indexOf('/');
      const addr = slash < 0 ? v : v.slice(0, slash);
      const prefixText = slash < 0 ? '' : v.slice(slash + 1);
      const v4 = parseIpv4(addr);
      const w = this.#words;
      if (v4 >= 0) {
        const prefix = slash < 0 ? 32 : Number(prefixText);
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) return this.#addExact(hit);
        this.#addV4(v4, prefix, hit);
        this.#size += 1;
        return true;
      }
      if (parseIpv6(addr, w)) {
        const prefix = slash < 0 ? 128 : Number(prefixText);
        if (!Number.isInteger(prefix) || prefix < 0 || prefix > 128) return this.#addExact(hit);
        this.#addV6(w, prefix, hit);
        this.#size += 1;
        return true;
      }
      if (hit.type === 'cidr') return false;
    }
    return this.#addExact(hit);
  }

  #addExact(hit: IndicatorHit): boolean {
    push(this.#exact, hit.value, hit);
    this.#size += 1;
    return true;
  }

  #addV4(ip: number, prefix: number, hit: IndicatorHit): void {
    const net = (ip & topMask(prefix)) >>> 0;
    if (prefix >= 31) {
      // Hosts: probed through the exact map with the address text.
      push(this.#exact, dotted(net), hit);
      if (prefix === 31) push(this.#exact, dotted(net + 1), hit);
      return;
    }
    push(mapOf(this.#v4, prefix), v4Key(net, prefix), hit);
  }

  #addV6(w: Uint32Array, prefix: number, hit: IndicatorHit): void {
    if (prefix >= 96 && isMapped(w)) {
      this.#addV4(w[3]!, prefix - 96, hit); // IPv4-mapped: the IPv4 address or network it stands for
      return;
    }
    if (prefix < 96 && this.#containsMapped(w, prefix)) push(mapOf(this.#v4, 0), 0, hit);
    if (prefix < V6_DEEP) {
      push(mapOf(this.#v6Shallow, prefix), v6ShallowKey(w[0]!, prefix), hit);
    } else {
      this.#v6Tops.add(w[0]! >>> 2);
      push(mapOf(this.#v6Deep, prefix), v6DeepKey(w, prefix), hit);
    }
  }

  /** Whether the network w/prefix (prefix < 96) contains ::ffff:0:0/96. */
  #containsMapped(w: Uint32Array, prefix: number): boolean {
    const mapped = [0, 0, 0xffff, 0];
    for (let i = 0, rest = prefix; i < 3 && rest > 0; i++, rest -= 32) {
      const m = topMask(rest);
      if ((w[i]! & m) >>> 0 !== (mapped[i]! & m) >>> 0) return false;
    }
    return true;
  }

  /** Freeze the index: hit arrays become read-only, and the per-prefix levels and bitsets are built. */
  seal(): this {
    if (this.#sealed) return this;
    this.#sealed = true;
    for (const list of this.#exact.values()) Object.freeze(list);
    this.#v4Levels = [...this.#v4.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([prefix, map]) => {
        for (const list of map.values()) Object.freeze(list);
        const bits = Math.min(prefix, 24);
        let bitset: Uint32Array | undefined;
        if (prefix > 0 && map.size >= BITSET_MIN) {
          bitset = new Uint32Array(Math.max(1, 2 ** bits / 32));
          const shift = prefix - bits;
          for (const key of map.keys()) {
            const top = key >>> shift;
            bitset[top >>> 5]! |= 1 << (top & 31);
          }
        }
        return { prefix, map, bitset, bits };
      });
    const v6Prefixes = [...new Set([...this.#v6Shallow.keys(), ...this.#v6Deep.keys()])].sort(
      (a, b) => a - b,
    );
    this.#v6Levels = v6Prefixes.map((prefix) => {
      const shallow = this.#v6Shallow.get(prefix);
      const deep = this.#v6Deep.get(prefix);
      for (const list of shallow?.values() ?? []) Object.freeze(list);
      for (const list of deep?.values() ?? []) Object.freeze(list);
      return { prefix, shallow, deep };
    });
    return this;
  }

  /** Append to `parts` the hit arrays (possibly holding expired hits) that match the query. */
  collect(q: MatchQuery, parts: IndicatorHits[]): void {
    if (!this.#sealed) this.seal();
    if (this.#size === 0 || q.text.length === 0) return;
    const exact = this.#exact;
    const e = exact.get(q.text);
    if (e !== undefined) parts.push(e);
    if (q.lower) {
      const h = exact.get(q.lower);
      if (h !== undefined) {
        const ci = h.filter((x) => CASE_INSENSITIVE.has(x.type));
        if (ci.length) parts.push(ci);
      }
    }
    if (q.v4 >= 0) {
      if (q.v4Text) {
        const h = exact.get(q.v4Text);
        if (h !== undefined) parts.push(h);
      }
      const ip = q.v4;
      const levels = this.#v4Levels;
      for (let i = 0; i < levels.length; i++) {
        const l = levels[i]!;
        const key = v4Key(ip, l.prefix);
        const bs = l.bitset;
        if (bs !== undefined) {
          const top = ip >>> (32 - l.bits);
          if ((bs[top >>> 5]! & (1 << (top & 31))) === 0) continue;
        }
        const h = l.map.get(key);
        if (h !== undefined) parts.push(h);
      }
    } else if (q.v6) {
      const w = q.words;
      const deep = this.#v6Tops.has(w[0]! >>> 2);
      const levels = this.#v6Levels;
      for (let i = 0; i < levels.length; i++) {
        const l = levels[i]!;
        let h: IndicatorHits | undefined;
        if (l.shallow !== undefined) h = l.shallow.get(v6ShallowKey(w[0]!, l.prefix));
        else if (!deep)
          break; // the deep levels come last
        else h = l.deep!.get(v6DeepKey(w, l.prefix));
        if (h !== undefined) parts.push(h);
      }
    }
  }
}

/**
 * The live hits of the collected arrays: the one array itself when it is the only one and holds nothing
 * expired (no copy), else a new array of the unexpired hits; undefined when none is left.
 */
export function combineHits(parts: readonly IndicatorHits[], nowMs: number): IndicatorHits | undefined {
  if (parts.length === 0) return undefined;
  if (parts.length === 1) {
    const only = parts[0]!;
    let live = true;
    for (let i = 0; i < only.length; i++) {
      const x = only[i]!.expiresAt;
      if (x !== null && x.getTime() <= nowMs) {
        live = false;
        break;
      }
    }
    if (live) return only;
  }
  const out: IndicatorHit[] = [];
  for (const part of parts)
    for (const h of part) if (h.expiresAt === null || h.expiresAt.getTime() > nowMs) out.push(h);
  return out.length ? out : undefined;
}
