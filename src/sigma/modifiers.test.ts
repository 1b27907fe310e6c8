import { describe, expect, it } from 'vitest';
import { formatNode } from './condition.ts';
import type { Node } from './ir.ts';
import {
  base64OffsetVariants,
  buildItem,
  checkModifiers,
  DetectionError,
  encodeUtf16,
  expandCidr,
  formatIpv6,
  formatPattern,
  parseWildcards,
  windashVariants,
  type SigmaScalar,
} from './modifiers.ts';

const item = (
  key: string,
  values: SigmaScalar | SigmaScalar[],
  placeholders?: Record<string, string[]>,
): string => {
  const [field, ...mods] = key.split('|');
  return formatNode(
    buildItem(
      field || null,
      mods,
      Array.isArray(values) ? values : [values],
      placeholders ? { placeholders } : {},
    ),
  );
};
const fails = (key: string, values: SigmaScalar | SigmaScalar[], message: RegExp) => {
  expect(() => item(key, values)).toThrow(DetectionError);
  expect(() => item(key, values)).toThrow(message);
};
const cidr = (c: string) => expandCidr(c).map(formatPattern);

describe('wildcards and escaping', () => {
  it('splits * and ? into wildcard parts', () => {
    expect(parseWildcards('a*b?c')).toEqual([
      { kind: 'text', text: 'a' },
      { kind: 'any' },
      { kind: 'text', text: 'b' },
      { kind: 'one' },
      { kind: 'text', text: 'c' },
    ]);
  });
  it('\\* \\? and \\\\ are the literal characters', () => {
    expect(parseWildcards('a\\*b\\?c\\\\d')).toEqual([{ kind: 'text', text: 'a*b?c\\d' }]);
  });
  it('a backslash before an ordinary character is a literal backslash', () => {
    expect(parseWildcards('C:\\Windows\\System32')).toEqual([
      { kind: 'text', text: 'C:\\Windows\\System32' },
    ]);
    expect(parseWildcards('\\n\\t')).toEqual([{ kind: 'text', text: '\\n\\t' }]);
  });
  it('per the specification, \\* escapes the wildcard: a backslash then any run is written \\\\*', () => {
    // YAML 'C:\Windows\*' is the literal text C:\Windows* (the spec's escaping; pySigma agrees).
    expect(parseWildcards('C:\\Windows\\*')).toEqual([{ kind: 'text', text: 'C:\\Windows*' }]);
    // YAML 'C:\Windows\\*' is C:\Windows\ followed by any run.
    expect(parseWildcards('C:\\Windows\\\\*')).toEqual([
      { kind: 'text', text: 'C:\\Windows\\' },
      { kind: 'any' },
    ]);
  });
  it('a trailing backslash is literal', () => {
    expect(parseWildcards('abc\\')).toEqual([{ kind: 'text', text: 'abc\\' }]);
  });
  it('\\\\* is a literal backslash then a wildcard', () => {
    expect(parseWildcards('a\\\\*')).toEqual([{ kind: 'text', text: 'a\\' }, { kind: 'any' }]);
  });
  it('collapses ** and keeps the empty string empty', () => {
    expect(parseWildcards('**x**')).toEqual([{ kind: 'any' }, { kind: 'text', text: 'x' }, { kind: 'any' }]);
    expect(parseWildcards('')).toEqual([]);
  });
  it('formatPattern re-escapes literal specials', () => {
    expect(formatPattern(parseWildcards('a\\*b*c\\\\'))).toBe('a\\*b*c\\\\');
  });
});

describe('plain values', () => {
  it('a string is an equality (case-insensitive), a list is OR', () => {
    expect(item('Image', 'C:\\x.exe')).toBe("Image='C:\\\\x.exe'");
    expect(item('Image', ['a', 'b'])).toBe("or(Image='a', Image='b')");
  });
  it('numbers and booleans match their text exactly', () => {
    expect(buildItem('EventID', [], [4688])).toEqual({
      kind: 'string',
      field: 'EventID',
      pattern: [{ kind: 'text', text: '4688' }],
      cased: false,
    });
    expect(item('Enabled', true)).toBe("Enabled='true'");
    expect(item('Ratio', 1.5)).toBe("Ratio='1.5'");
  });
  it('null is a null node, empty string an equality with the empty pattern', () => {
    expect(buildItem('User', [], [null])).toEqual({ kind: 'null', field: 'User' });
    expect(buildItem('User', [], [''])).toEqual({ kind: 'string', field: 'User', pattern: [], cased: false });
    expect(item('User', ['a', null])).toBe("or(User='a', User=null)");
  });
  it('an empty value list is an error', () => {
    fails('User', [], /empty value list/);
  });
});

describe('contains / startswith / endswith / all / cased', () => {
  it('wraps with wildcards', () => {
    expect(item('C|contains', 'x')).toBe("C='*x*'");
    expect(item('C|startswith', 'x')).toBe("C='x*'");
    expect(item('C|endswith', '\\x.exe')).toBe("C='*\\\\x.exe'");
  });
  it('does not double an existing edge wildcard', () => {
    expect(buildItem('C', ['contains'], ['*x*'])).toEqual({
      kind: 'string',
      field: 'C',
      pattern: [{ kind: 'any' }, { kind: 'text', text: 'x' }, { kind: 'any' }],
      cased: false,
    });
  });
  it('all turns the list into AND', () => {
    expect(item('C|contains|all', ['a', 'b'])).toBe("and(C='*a*', C='*b*')");
    expect(item('C|all|contains', ['a', 'b'])).toBe("and(C='*a*', C='*b*')");
  });
  it('cased makes the match case-sensitive', () => {
    expect(item('C|contains|cased', 'Ab')).toBe("C=c'*Ab*'");
    expect(item('C|cased', 'Ab')).toBe("C=c'Ab'");
  });
  it('refuses two of contains/startswith/endswith and a repeated modifier', () => {
    fails('C|contains|endswith', 'x', /'contains' cannot be combined with 'endswith'/);
    fails('C|contains|contains', 'x', /'contains' given twice/);
  });
  it('refuses unknown and unsupported modifiers by name', () => {
    fails('C|containz', 'x', /unknown modifier 'containz'/);
    fails('C|neq', 'x', /'neq' is not supported/);
    fails('C|', 'x', /empty modifier/);
  });
});

describe('windash', () => {
  it('produces all five forms of a dash at the start of a word', () => {
    expect(windashVariants(parseWildcards(' -enc ')).map(formatPattern)).toEqual([
      ' -enc ',
      ' /enc ',
      ' \u2013enc ',
      ' \u2014enc ',
      ' \u2015enc ',
    ]);
  });
  it('also treats a slash at the start of a word as a dash position', () => {
    expect(windashVariants(parseWildcards('/c')).map(formatPattern)).toEqual([
      '-c',
      '/c',
      '\u2013c',
      '\u2014c',
      '\u2015c',
    ]);
  });
  it('leaves dashes inside words alone', () => {
    expect(windashVariants(parseWildcards('Get-Item x-y')).map(formatPattern)).toEqual(['Get-Item x-y']);
    expect(windashVariants(parseWildcards('a - b')).map(formatPattern)).toEqual(['a - b']);
  });
  it('produces every combination for several dashes', () => {
    const v = windashVariants(parseWildcards(' -a -b')).map(formatPattern);
    expect(v).toHaveLength(25);
    expect(new Set(v).size).toBe(25);
    expect(v).toContain(' /a \u2014b');
    expect(v).toContain(' \u2015a -b');
  });
  it('combines with contains (alternatives OR-ed, also under all)', () => {
    expect(item('C|windash|contains', '-x')).toBe(
      "or(C='*-x*', C='*/x*', C='*\u2013x*', C='*\u2014x*', C='*\u2015x*')",
    );
    const all = item('C|contains|all|windash', ['-a', 'b']);
    expect(all).toBe("and(or(C='*-a*', C='*/a*', C='*\u2013a*', C='*\u2014a*', C='*\u2015a*'), C='*b*')");
  });
  it('refuses an explosion of variants', () => {
    fails('C|windash', ' -a -b -c -d -e -f', /more than 5/);
  });
});

describe('base64 / base64offset / utf16', () => {
  it('base64 encodes the UTF-8 text', () => {
    expect(item('C|base64', 'hello')).toBe(`C='${Buffer.from('hello').toString('base64')}'`);
    expect(item('C|base64|contains', 'hello')).toBe("C='*aGVsbG8=*'");
  });
  it('base64offset gives the documented three fragments', () => {
    expect(base64OffsetVariants(Buffer.from('/bin/bash'))).toEqual([
      'L2Jpbi9iYXNo',
      '9iaW4vYmFza',
      'vYmluL2Jhc2',
    ]);
    expect(item('C|base64offset|contains', 'http://')).toBe(
      "or(C='*aHR0cDovL*', C='*h0dHA6Ly*', C='*odHRwOi8v*')",
    );
  });
  it('each base64offset fragment occurs in the base64 of the value at any offset', () => {
    const values = ['ab', 'abc', 'abcd', 'Invoke-Mimikatz', 'http://evil/x', 'ünïcødé'];
    for (const v of values) {
      const data = Buffer.from(v);
      const frags = base64OffsetVariants(data);
      for (let shift = 0; shift < 3; shift++) {
        for (const tail of [0, 1, 2]) {
          const buf = Buffer.concat([
            Buffer.from([0xa7, 0x01, 0xfe].slice(0, shift)),
            data,
            Buffer.alloc(tail, 0x5c),
          ]);
          const b64 = buf.toString('base64');
          const hit = frags.some((f) => b64.includes(f));
          expect(hit, `${v} shift ${shift} tail ${tail}`).toBe(true);
        }
      }
      // The fragment of shift 0 is the plain encoding with only its unstable tail trimmed.
      expect(data.toString('base64').startsWith(frags[0]!)).toBe(true);
    }
  });
  it('a one-byte value has no stable fragment at shift 1: that empty fragment is dropped', () => {
    expect(base64OffsetVariants(Buffer.from('a'))).toEqual(['Y', 'h']);
  });
  it('wide / utf16le / utf16be / utf16 encode before base64', () => {
    expect(encodeUtf16('ab', 'le')).toEqual(Buffer.from([0x61, 0, 0x62, 0]));
    expect(encodeUtf16('ab', 'be')).toEqual(Buffer.from([0, 0x61, 0, 0x62]));
    expect(encodeUtf16('ab', 'bom')).toEqual(Buffer.from([0xff, 0xfe, 0x61, 0, 0x62, 0]));
    expect(item('C|wide|base64', 'ab')).toBe(`C='${Buffer.from('a\0b\0').toString('base64')}'`);
    expect(item('C|utf16le|base64', 'ab')).toBe(item('C|wide|base64', 'ab'));
    expect(item('C|utf16be|base64', 'ab')).toBe(`C='${Buffer.from('\0a\0b').toString('base64')}'`);
    expect(item('C|utf16|base64', 'ab')).toBe(
      `C='${Buffer.from([0xff, 0xfe, 0x61, 0, 0x62, 0]).toString('base64')}'`,
    );
    const wide = base64OffsetVariants(encodeUtf16('ping', 'le'));
    expect(item('C|wide|base64offset|contains', 'ping')).toBe(
      `or(${wide.map((w) => `C='*${w}*'`).join(', ')})`,
    );
  });
  it('refuses wildcards, bad order and encodings without base64', () => {
    fails('C|base64', 'a*b', /wildcards/);
    fails('C|contains|base64offset', 'ab', /'contains' must come after 'base64offset'/);
    fails('C|wide', 'ab', /'wide' must be followed by 'base64'/);
    fails('C|base64|wide', 'ab', /'wide' must be followed by 'base64'/);
    fails('C|base64|base64offset', 'ab', /cannot be combined/);
  });
});

describe('re', () => {
  it('keeps the regex text and sets flags from sub-modifiers', () => {
    expect(buildItem('C', ['re'], ['a.*b\\d'])).toEqual({
      kind: 'regex',
      field: 'C',
      regex: 'a.*b\\d',
      flags: { i: false, m: false, s: false },
    });
    expect(item('C|re|i|s', 'x')).toBe('C~/x/is');
    expect(item('C|re|m', 'x')).toBe('C~/x/m');
    expect(item('C|re', '(?i)\\\\lib\\\\')).toBe('C~/(?i)\\\\lib\\\\/');
  });
  it('refuses illegal combinations and bad regexes', () => {
    fails('C|re|contains', 'x', /'re' cannot be combined with 'contains'/);
    fails('C|contains|re', 'x', /'re' cannot be combined with 'contains'/);
    fails('C|i', 'x', /'i' is only valid after 're'/);
    fails('C|re', 'a(b', /invalid regular expression/);
    fails('C|re', 5, /not a string/);
  });
});

describe('cidr', () => {
  it('IPv4 on octet boundaries is one prefix pattern', () => {
    expect(cidr('10.0.0.0/8')).toEqual(['10.*']);
    expect(cidr('192.168.1.0/24')).toEqual(['192.168.1.*']);
    expect(cidr('10.1.2.3/32')).toEqual(['10.1.2.3']);
    expect(cidr('0.0.0.0/0')).toEqual(['*']);
  });
  it('a non-aligned IPv4 prefix expands to the next octet boundary', () => {
    expect(cidr('172.16.0.0/12')).toEqual(Array.from({ length: 16 }, (_, i) => `172.${16 + i}.*`));
    const p27 = cidr('192.168.1.32/27');
    expect(p27).toHaveLength(32);
    expect(p27[0]).toBe('192.168.1.32');
    expect(p27[31]).toBe('192.168.1.63');
    expect(cidr('10.128.0.0/9')).toHaveLength(128);
  });
  it('IPv6 by hex-digit prefix of the compressed form', () => {
    expect(cidr('fe80::/10')).toEqual(['fe8*', 'fe9*', 'fea*', 'feb*']);
    expect(cidr('2001:db8::/32')).toEqual(['2001:db8:*']);
    expect(cidr('2001:db8::/64')).toEqual(['2001:db8::*']);
    expect(cidr('::1/128')).toEqual(['::1']);
    expect(cidr('fc00::/7')).toEqual(['fc*', 'fd*']);
    expect(formatIpv6(0x20010db8000000000001000000000001n)).toBe('2001:db8::1:0:0:1');
  });
  it('builds an OR of string nodes', () => {
    expect(item('DestinationIp|cidr', ['10.0.0.0/8', '127.0.0.1/32'])).toBe(
      "or(DestinationIp='10.*', DestinationIp='127.0.0.1')",
    );
  });
  it('an invalid network is an error', () => {
    fails('Ip|cidr', '10.0.0.1/8', /host bits set/);
    fails('Ip|cidr', '300.0.0.0/8', /not an IPv4 address/);
    fails('Ip|cidr', '10.0.0.0/33', /prefix longer than 32/);
    fails('Ip|cidr', '10.0.0.0', /expected address\/prefix/);
    fails('Ip|cidr', 'fe80::1::/64', /not an IPv6 address/);
    fails('Ip|cidr|contains', '10.0.0.0/8', /'cidr' cannot be combined with 'contains'/);
  });
});

describe('expand', () => {
  it('replaces a placeholder by its values as alternatives', () => {
    expect(item('H|expand', '%dcs%', { dcs: ['dc1', 'dc2*'] })).toBe("or(H='dc1', H='dc2*')");
    expect(item('H|contains|expand', 'x%a%y', { a: ['1', '2'] })).toBe("or(H='*x1y*', H='*x2y*')");
  });
  it('takes every combination of several placeholders', () => {
    expect(item('H|expand', '%a%-%b%', { a: ['1', '2'], b: ['x', 'y'] })).toBe(
      "or(H='1-x', H='1-y', H='2-x', H='2-y')",
    );
  });
  it('\\% is a literal percent sign', () => {
    expect(item('H|expand', '\\%a%', { a: ['1'] })).toBe("H='%a%'");
  });
  it('an unknown placeholder is an error naming it', () => {
    fails('H|expand', '%known_cdcs%', /unknown placeholder '%known_cdcs%'/);
  });
  it('without expand, %x% is ordinary text', () => {
    expect(item('H', '%x%')).toBe("H='%x%'");
  });
});

describe('gt/gte/lt/lte, exists, fieldref', () => {
  it('numeric comparisons are number nodes', () => {
    expect(buildItem('Size', ['gt'], [10])).toEqual({ kind: 'number', field: 'Size', op: 'gt', value: 10 });
    expect(item('Size|lte', [1, 2])).toBe('or(Size<=1, Size<=2)');
    fails('Size|gte', '10', /not a number/);
    fails('Size|gt|lt', 1, /'gt' cannot be combined with 'lt'/);
  });
  it('exists takes one boolean', () => {
    expect(buildItem('U', ['exists'], [true])).toEqual({ kind: 'exists', field: 'U', exists: true });
    expect(item('U|exists', false)).toBe('!exists(U)');
    fails('U|exists', 'yes', /single true or false/);
    fails('U|exists|contains', true, /'exists' cannot be combined with 'contains'/);
  });
  it('fieldref compares with another field, with contains/startswith/endswith and cased', () => {
    expect(buildItem('A', ['fieldref'], ['B'])).toEqual({
      kind: 'fieldref',
      field: 'A',
      other: 'B',
      op: 'equals',
      cased: false,
    });
    expect(item('A|fieldref|contains|cased', 'B')).toBe('A contains cased field(B)');
    expect(item('A|endswith|fieldref', 'B')).toBe('A endswith field(B)');
    fails('A|fieldref|base64', 'B', /'fieldref' cannot be combined with 'base64'/);
  });
});

describe('keywords', () => {
  it('are contains-searches unless already wildcarded', () => {
    expect(item('', ['evil', 'bad*'])).toBe("or('*evil*', '*bad*')");
    const n = buildItem(null, [], ['x']) as Extract<Node<string>, { kind: 'keyword' }>;
    expect(n).toEqual({
      kind: 'keyword',
      pattern: [{ kind: 'any' }, { kind: 'text', text: 'x' }, { kind: 'any' }],
      cased: false,
    });
  });
  it('|all ANDs them; field-only modifiers are refused', () => {
    expect(item('|all', ['a', 'b'])).toBe("and('*a*', '*b*')");
    fails('|re', 'a', /cannot be used on keywords/);
    fails('', [null], /cannot be null/);
  });
});

describe('checkModifiers', () => {
  it('accepts the usual SigmaHQ combinations', () => {
    for (const m of [
      ['contains', 'all'],
      ['contains', 'windash'],
      ['base64offset', 'contains'],
      ['wide', 'base64offset', 'contains'],
      ['re', 'i'],
      ['contains', 'expand'],
      ['fieldref', 'startswith'],
    ]) {
      expect(() => checkModifiers(m, false)).not.toThrow();
    }
  });
});
