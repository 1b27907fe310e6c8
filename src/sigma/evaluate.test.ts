import { describe, expect, it } from 'vitest';
import { evaluate, matchPattern, readField, textOf, type StoredEventLike } from './evaluate.ts';
import { and, FALSE, literal, not, or, TRUE, type FieldRef, type Node, type Pattern } from './ir.ts';

const event: StoredEventLike = {
  raw: 'Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user Webmaster from 173.234.31.186',
  appname: 'sshd',
  file: null,
  host: 'LabSZ',
  hostname: 'LabSZ',
  message: 'Invalid user Webmaster from 173.234.31.186',
  procid: 24200,
  source_type: 'syslog_rfc3164',
  normalized: {
    event_id: 4688,
    channel: 'Security',
    empty: '',
    nothing: null,
    flag: true,
    ratio: 1.5,
    event_data: {
      Image: 'C:\\Windows\\System32\\cmd.exe',
      NewProcessName: 'C:\\other.exe',
      ProcessId: 1234,
      Hex: '0x1f',
      Items: ['a', 'b'],
      Obj: { k: 1 },
      ParentImage: 'C:\\Windows\\System32\\CMD.EXE',
    },
  },
  metadata: { run: 'r1' },
  original: '{"a":{"b":"from-string"}}',
};

const col = (column: 'appname' | 'file' | 'procid' | 'raw' | 'message' | 'host'): FieldRef => ({
  kind: 'column',
  column,
});
const n = (...paths: string[][]): FieldRef => ({ kind: 'json', column: 'normalized', paths });
const str = (field: FieldRef, pattern: Pattern, cased = false): Node<FieldRef> => ({
  kind: 'string',
  field,
  pattern,
  cased,
});
const any = { kind: 'any' } as const;
const one = { kind: 'one' } as const;
const t = (text: string) => ({ kind: 'text', text }) as const;

describe('readField', () => {
  it('reads columns, null columns are absent', () => {
    expect(readField(col('appname'), event)).toBe('sshd');
    expect(readField(col('procid'), event)).toBe(24200);
    expect(readField(col('file'), event)).toBeUndefined();
  });
  it('walks JSON paths; first present alternative wins; null counts as absent', () => {
    expect(readField(n(['event_data', 'Image']), event)).toBe('C:\\Windows\\System32\\cmd.exe');
    expect(readField(n(['event_data', 'Missing'], ['event_data', 'NewProcessName']), event)).toBe(
      'C:\\other.exe',
    );
    expect(readField(n(['event_data', 'Image'], ['event_data', 'NewProcessName']), event)).toBe(
      'C:\\Windows\\System32\\cmd.exe',
    );
    expect(readField(n(['nothing'], ['channel']), event)).toBe('Security');
    expect(readField(n(['nothing']), event)).toBeUndefined();
    expect(readField(n(['event_data', 'Image', 'deeper']), event)).toBeUndefined();
  });
  it('does not descend into arrays, nor inherited keys', () => {
    expect(readField(n(['event_data', 'Items', '0']), event)).toBeUndefined();
    expect(readField(n(['constructor']), event)).toBeUndefined();
  });
  it('parses a JSON column handed back as text', () => {
    expect(readField({ kind: 'json', column: 'original', paths: [['a', 'b']] }, event)).toBe('from-string');
    expect(readField({ kind: 'json', column: 'metadata', paths: [['run']] }, event)).toBe('r1');
  });
  it('text forms', () => {
    expect(textOf(1)).toBe('1');
    expect(textOf(1.5)).toBe('1.5');
    expect(textOf(true)).toBe('true');
    expect(textOf(['a', 'b'])).toBe('["a","b"]');
    expect(textOf({ k: 1 })).toBe('{"k":1}');
  });
});

describe('matchPattern', () => {
  it('matches the whole text, wildcards, case', () => {
    expect(matchPattern([t('abc')], 'abc', false)).toBe(true);
    expect(matchPattern([t('abc')], 'xabc', false)).toBe(false);
    expect(matchPattern([t('ABC')], 'abc', false)).toBe(true);
    expect(matchPattern([t('ABC')], 'abc', true)).toBe(false);
    expect(matchPattern([any, t('b'), any], 'abc', false)).toBe(true);
    expect(matchPattern([t('a'), one, t('c')], 'abc', false)).toBe(true);
    expect(matchPattern([t('a'), one, t('c')], 'ac', false)).toBe(false);
    expect(matchPattern([t('a'), any], 'a\nb', false)).toBe(true);
    expect(matchPattern([], '', false)).toBe(true);
    expect(matchPattern([], 'x', false)).toBe(false);
    // regex metacharacters are literal
    expect(matchPattern([t('a.c(d)*[e]')], 'a.c(d)*[e]', false)).toBe(true);
    expect(matchPattern([t('a.c')], 'abc', false)).toBe(false);
    expect(matchPattern([t('C:\\Win')], 'c:\\win', false)).toBe(true);
    // `?` is one code point
    expect(matchPattern([one], '😀', false)).toBe(true);
  });
});

describe('evaluate', () => {
  it('string: whole text, case-insensitive unless cased; numbers by their text', () => {
    expect(evaluate(str(n(['channel']), literal('security')), event)).toBe(true);
    expect(evaluate(str(n(['channel']), literal('security'), true), event)).toBe(false);
    expect(evaluate(str(n(['channel']), literal('Secur')), event)).toBe(false);
    expect(evaluate(str(n(['event_id']), literal('4688')), event)).toBe(true);
    expect(evaluate(str(n(['event_data', 'ProcessId']), literal('1234')), event)).toBe(true);
    expect(evaluate(str(n(['flag']), literal('true')), event)).toBe(true);
    expect(evaluate(str(n(['event_data', 'Image']), [any, t('\\cmd.exe')]), event)).toBe(true);
    expect(evaluate(str(col('procid'), literal('24200')), event)).toBe(true);
  });
  it('string on an object or array reads its JSON text', () => {
    expect(evaluate(str(n(['event_data', 'Items']), literal('["a","b"]')), event)).toBe(true);
    expect(evaluate(str(n(['event_data', 'Obj']), [any, t('"k":1'), any]), event)).toBe(true);
  });
  it("empty string is an ordinary value; '' does not match an absent field", () => {
    expect(evaluate(str(n(['empty']), []), event)).toBe(true);
    expect(evaluate(str(n(['missing']), []), event)).toBe(false);
    expect(evaluate(str(n(['nothing']), []), event)).toBe(false);
  });
  it('regex: a search with flags', () => {
    const re = (regex: string, i = false, m = false, s = false): Node<FieldRef> => ({
      kind: 'regex',
      field: col('message'),
      regex,
      flags: { i, m, s },
    });
    expect(evaluate(re('user W\\w+'), event)).toBe(true);
    expect(evaluate(re('user w\\w+'), event)).toBe(false);
    expect(evaluate(re('user w\\w+', true), event)).toBe(true);
    expect(evaluate(re('^Invalid'), event)).toBe(true);
    expect(
      evaluate(
        { kind: 'regex', field: n(['missing']), regex: '.*', flags: { i: false, m: false, s: false } },
        event,
      ),
    ).toBe(false);
  });
  it('number compares numeric text; non-numbers and absent are false', () => {
    const num = (field: FieldRef, op: 'lt' | 'lte' | 'gt' | 'gte', value: number): Node<FieldRef> => ({
      kind: 'number',
      field,
      op,
      value,
    });
    expect(evaluate(num(n(['event_id']), 'gt', 4000), event)).toBe(true);
    expect(evaluate(num(n(['event_id']), 'gte', 4688), event)).toBe(true);
    expect(evaluate(num(n(['event_id']), 'lt', 4688), event)).toBe(false);
    expect(evaluate(num(n(['event_id']), 'lte', 4688), event)).toBe(true);
    expect(evaluate(num(n(['ratio']), 'lt', 2), event)).toBe(true);
    expect(evaluate(num(n(['event_data', 'Hex']), 'gt', 0), event)).toBe(false);
    expect(evaluate(num(n(['channel']), 'gt', 0), event)).toBe(false);
    expect(evaluate(num(n(['missing']), 'lt', 1e9), event)).toBe(false);
    expect(evaluate(num(col('procid'), 'gt', 24199), event)).toBe(true);
  });
  it('null: absent or JSON null', () => {
    expect(evaluate({ kind: 'null', field: n(['missing']) }, event)).toBe(true);
    expect(evaluate({ kind: 'null', field: n(['nothing']) }, event)).toBe(true);
    expect(evaluate({ kind: 'null', field: n(['empty']) }, event)).toBe(false);
    expect(evaluate({ kind: 'null', field: col('file') }, event)).toBe(true);
    expect(evaluate({ kind: 'null', field: col('appname') }, event)).toBe(false);
  });
  it('exists', () => {
    expect(evaluate({ kind: 'exists', field: n(['channel']), exists: true }, event)).toBe(true);
    expect(evaluate({ kind: 'exists', field: n(['channel']), exists: false }, event)).toBe(false);
    expect(evaluate({ kind: 'exists', field: n(['missing']), exists: false }, event)).toBe(true);
    expect(evaluate({ kind: 'exists', field: n(['nothing']), exists: true }, event)).toBe(false);
    expect(evaluate({ kind: 'exists', field: n(['empty']), exists: true }, event)).toBe(true);
  });
  it('fieldref: equals/contains/startswith/endswith, case, absent', () => {
    const ref = (
      op: 'equals' | 'contains' | 'startswith' | 'endswith',
      other: FieldRef,
      cased = false,
    ): Node<FieldRef> => ({ kind: 'fieldref', field: n(['event_data', 'Image']), other, op, cased });
    const parent = n(['event_data', 'ParentImage']);
    expect(evaluate(ref('equals', parent), event)).toBe(true);
    expect(evaluate(ref('equals', parent, true), event)).toBe(false);
    expect(evaluate(ref('contains', n(['channel'])), event)).toBe(false);
    expect(evaluate(ref('startswith', col('file')), event)).toBe(false);
    expect(
      evaluate(
        { kind: 'fieldref', field: col('message'), other: col('appname'), op: 'contains', cased: false },
        event,
      ),
    ).toBe(false);
    expect(
      evaluate(
        { kind: 'fieldref', field: col('raw'), other: col('appname'), op: 'contains', cased: true },
        event,
      ),
    ).toBe(true);
    expect(
      evaluate(
        { kind: 'fieldref', field: col('raw'), other: col('message'), op: 'endswith', cased: true },
        event,
      ),
    ).toBe(true);
    expect(
      evaluate(
        { kind: 'fieldref', field: col('raw'), other: col('host'), op: 'startswith', cased: true },
        event,
      ),
    ).toBe(false);
    expect(evaluate(ref('equals', n(['missing'])), event)).toBe(false);
  });
  it('keyword: the pattern over the whole raw text (contains when wrapped in *), case-insensitive unless cased', () => {
    const kw = (pattern: Pattern, cased = false): Node<FieldRef> => ({ kind: 'keyword', pattern, cased });
    expect(evaluate(kw([any, t('invalid user'), any]), event)).toBe(true);
    expect(evaluate(kw([any, t('invalid user'), any], true), event)).toBe(false);
    expect(evaluate(kw([any, t('sshd'), any, t('from'), any]), event)).toBe(true);
    expect(evaluate(kw([any, t('nope'), any]), event)).toBe(false);
    // anchored patterns: no implicit contains
    expect(evaluate(kw(literal('invalid user')), event)).toBe(false);
    expect(evaluate(kw([any, t('.186')]), event)).toBe(true);
    expect(evaluate(kw([t('Dec 10'), any]), event)).toBe(true);
    expect(evaluate(kw([t('LabSZ'), any]), event)).toBe(false);
  });
  it('not of a condition on an absent field is true; and/or/const', () => {
    const absent = str(n(['missing']), literal('x'));
    expect(evaluate(absent, event)).toBe(false);
    expect(evaluate(not(absent), event)).toBe(true);
    expect(evaluate({ kind: 'not', item: { kind: 'null', field: n(['missing']) } }, event)).toBe(false);
    expect(evaluate(TRUE, event)).toBe(true);
    expect(evaluate(FALSE, event)).toBe(false);
    const yes = str(n(['channel']), literal('Security'));
    expect(evaluate(and(yes, absent), event)).toBe(false);
    expect(evaluate(or(yes, absent), event)).toBe(true);
    expect(evaluate({ kind: 'and', items: [] }, event)).toBe(true);
    expect(evaluate({ kind: 'or', items: [] }, event)).toBe(false);
  });
});
