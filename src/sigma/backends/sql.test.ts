import { describe, expect, it } from 'vitest';
import type { FieldRef, Node, Pattern } from '../ir.ts';
import { type Dialect, UnsupportedError, compilePredicate, defaultFieldSql, likePattern } from './index.ts';

const IMAGE: FieldRef = { kind: 'json', column: 'normalized', paths: [['event_data', 'Image']] };
const PARENT: FieldRef = { kind: 'json', column: 'normalized', paths: [['event_data', 'ParentImage']] };
const ALT: FieldRef = {
  kind: 'json',
  column: 'normalized',
  paths: [
    ['event_data', 'NewProcessName'],
    ['event_data', 'Image'],
  ],
};
const DOTTED: FieldRef = { kind: 'json', column: 'metadata', paths: [['a.b', 'c/d', 'x y:@-_1']] };
const MESSAGE: FieldRef = { kind: 'column', column: 'message' };
const PROCID: FieldRef = { kind: 'column', column: 'procid' };

const D_IMAGE = `json_extract_string("normalized", '$."event_data"."Image"')`;
const P_IMAGE = `("normalized" #>> '{"event_data","Image"}')`;
const D_PARENT = `json_extract_string("normalized", '$."event_data"."ParentImage"')`;
const P_PARENT = `("normalized" #>> '{"event_data","ParentImage"}')`;

const t = (text: string) => ({ kind: 'text', text }) as const;
const ANY = { kind: 'any' } as const;
const ONE = { kind: 'one' } as const;
const str = (field: FieldRef, pattern: Pattern, cased = false): Node<FieldRef> => ({
  kind: 'string',
  field,
  pattern,
  cased,
});
const both = (node: Node<FieldRef>, opts = {}) => ({
  duckdb: compilePredicate(node, 'duckdb', opts),
  postgres: compilePredicate(node, 'postgres', opts),
});
const refusedIn = (node: Node<FieldRef>, dialect: Dialect, reason: RegExp) => {
  let err: unknown;
  try {
    compilePredicate(node, dialect);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UnsupportedError);
  expect((err as UnsupportedError).reason).toMatch(reason);
};

describe('defaultFieldSql', () => {
  it('columns: quoted; procid cast to text', () => {
    expect(defaultFieldSql(MESSAGE, 'duckdb')).toBe('"message"');
    expect(defaultFieldSql(MESSAGE, 'postgres')).toBe('"message"');
    expect(defaultFieldSql(PROCID, 'duckdb')).toBe('CAST("procid" AS VARCHAR)');
    expect(defaultFieldSql(PROCID, 'postgres')).toBe('CAST("procid" AS text)');
  });

  it('JSON paths: DuckDB quoted key path, PostgreSQL #>> with quoted elements (keys with . and / stay whole)', () => {
    expect(defaultFieldSql(IMAGE, 'duckdb')).toBe(D_IMAGE);
    expect(defaultFieldSql(IMAGE, 'postgres')).toBe(P_IMAGE);
    expect(defaultFieldSql(DOTTED, 'duckdb')).toBe(
      `json_extract_string("metadata", '$."a.b"."c/d"."x y:@-_1"')`,
    );
    expect(defaultFieldSql(DOTTED, 'postgres')).toBe(`("metadata" #>> '{"a.b","c/d","x y:@-_1"}')`);
  });

  it('alternative paths: coalesce, first present wins', () => {
    expect(defaultFieldSql(ALT, 'duckdb')).toBe(
      `coalesce(json_extract_string("normalized", '$."event_data"."NewProcessName"'), ${D_IMAGE})`,
    );
    expect(defaultFieldSql(ALT, 'postgres')).toBe(
      `coalesce(("normalized" #>> '{"event_data","NewProcessName"}'), ${P_IMAGE})`,
    );
  });

  it('refuses a malicious or unusual path segment, naming the field', () => {
    for (const seg of ["a'); drop table x; --", 'a"b', 'a\\b', 'a,b', '{a}', 'a[0]', '$', '', 'a*', 'é']) {
      for (const d of ['duckdb', 'postgres'] as const) {
        const ref: FieldRef = { kind: 'json', column: 'normalized', paths: [['event_data', seg]] };
        expect(() => defaultFieldSql(ref, d), seg).toThrow(UnsupportedError);
        expect(() => defaultFieldSql(ref, d)).toThrow(/field normalized:event_data\..*is not allowed/);
        refusedIn(str(ref, [t('x')]), d, /is not allowed/);
      }
    }
  });

  it('refuses columns outside the allow-list and empty paths', () => {
    const bad = { kind: 'column', column: 'tenant_id' } as unknown as FieldRef;
    expect(() => defaultFieldSql(bad, 'duckdb')).toThrow(/unknown column tenant_id/);
    const badJson = { kind: 'json', column: 'secrets', paths: [['a']] } as unknown as FieldRef;
    expect(() => defaultFieldSql(badJson, 'postgres')).toThrow(/unknown JSON column secrets/);
    expect(() => defaultFieldSql({ kind: 'json', column: 'normalized', paths: [] }, 'duckdb')).toThrow(
      /no path/,
    );
    expect(() => defaultFieldSql({ kind: 'json', column: 'normalized', paths: [[]] }, 'postgres')).toThrow(
      /empty path/,
    );
  });
});

describe('strings', () => {
  it('equality: lower() on both sides, or = when cased', () => {
    expect(both(str(IMAGE, [t('C:\\Cmd.exe')]))).toEqual({
      duckdb: { sql: `lower(${D_IMAGE}) = lower($1)`, params: ['C:\\Cmd.exe'] },
      postgres: { sql: `lower(${P_IMAGE}) = lower($1)`, params: ['C:\\Cmd.exe'] },
    });
    expect(both(str(IMAGE, [t('a'), t('b')], true))).toEqual({
      duckdb: { sql: `${D_IMAGE} = $1`, params: ['ab'] },
      postgres: { sql: `${P_IMAGE} = $1`, params: ['ab'] },
    });
    expect(compilePredicate(str(MESSAGE, []), 'postgres')).toEqual({
      sql: `lower("message") = lower($1)`,
      params: [''],
    });
  });

  it('wildcards: ILIKE / LIKE with ESCAPE, literal \\ % _ escaped', () => {
    const node = str(IMAGE, [ANY, t('100%_a\\b'), ONE, t('.exe')]);
    expect(both(node)).toEqual({
      duckdb: { sql: `${D_IMAGE} ILIKE $1 ESCAPE '\\'`, params: ['%100\\%\\_a\\\\b_.exe'] },
      postgres: { sql: `${P_IMAGE} ILIKE $1 ESCAPE '\\'`, params: ['%100\\%\\_a\\\\b_.exe'] },
    });
    expect(compilePredicate(str(IMAGE, [t('a'), ANY], true), 'duckdb')).toEqual({
      sql: `${D_IMAGE} LIKE $1 ESCAPE '\\'`,
      params: ['a%'],
    });
    expect(likePattern([t('\\%_'), ANY, ONE])).toBe('\\\\\\%\\_%_');
  });

  it('a lone * is IS NOT NULL', () => {
    expect(compilePredicate(str(IMAGE, [ANY]), 'duckdb')).toEqual({
      sql: `${D_IMAGE} IS NOT NULL`,
      params: [],
    });
  });

  it('values with quotes reach only the parameters', () => {
    const evil = "x'); DROP TABLE log_events; --";
    for (const d of ['duckdb', 'postgres'] as const) {
      for (const node of [
        str(IMAGE, [t(evil)]),
        str(IMAGE, [ANY, t(evil), ANY], true),
        {
          kind: 'regex',
          field: IMAGE,
          regex: evil.replace(/[()]/g, ''),
          flags: { i: false, m: false, s: false },
        },
        { kind: 'keyword', pattern: [ANY, t(evil)], cased: false },
      ] as Node<FieldRef>[]) {
        const q = compilePredicate(node, d);
        expect(q.sql).not.toContain('DROP');
        expect(q.sql).not.toContain("x'");
        expect(JSON.stringify(q.params)).toContain('DROP TABLE');
      }
    }
  });

  it('keyword: the pattern over raw', () => {
    expect(both({ kind: 'keyword', pattern: [ANY, t('mimikatz'), ANY], cased: false })).toEqual({
      duckdb: { sql: `"raw" ILIKE $1 ESCAPE '\\'`, params: ['%mimikatz%'] },
      postgres: { sql: `"raw" ILIKE $1 ESCAPE '\\'`, params: ['%mimikatz%'] },
    });
  });
});

describe('other leaves', () => {
  it('regex: regexp_matches (a search) in DuckDB, ~ in PostgreSQL', () => {
    const node: Node<FieldRef> = {
      kind: 'regex',
      field: IMAGE,
      regex: '\\\\cmd\\.exe$',
      flags: { i: true, m: false, s: false },
    };
    expect(both(node)).toEqual({
      duckdb: { sql: `regexp_matches(${D_IMAGE}, $1)`, params: ['(?i)\\\\cmd\\.exe$'] },
      postgres: { sql: `${P_IMAGE} ~ $1`, params: ['(?i)\\\\cmd\\.exe$'] },
    });
  });

  it('regex: untranslatable constructs are refused per dialect', () => {
    const look: Node<FieldRef> = {
      kind: 'regex',
      field: IMAGE,
      regex: 'a(?=b)',
      flags: { i: false, m: false, s: false },
    };
    refusedIn(look, 'duckdb', /lookahead in RE2/);
    expect(compilePredicate(look, 'postgres').params).toEqual(['a(?=b)']);
    const bad: Node<FieldRef> = {
      kind: 'regex',
      field: IMAGE,
      regex: '(a',
      flags: { i: false, m: false, s: false },
    };
    refusedIn(bad, 'postgres', /invalid regular expression/);
  });

  it('number: guarded cast, never an error on text that is not a number', () => {
    const node: Node<FieldRef> = { kind: 'number', field: PROCID, op: 'gt', value: 4 };
    const NUM = '[-+]?([0-9]{1,100}(\\.[0-9]{0,100})?|\\.[0-9]{1,100})([eE][-+]?[0-9]{1,2})?';
    const d = 'CAST("procid" AS VARCHAR)';
    const p = 'CAST("procid" AS text)';
    expect(both(node)).toEqual({
      duckdb: {
        sql: `(CASE WHEN regexp_full_match(${d}, '${NUM}') THEN TRY_CAST(${d} AS DOUBLE) END) > CAST($1 AS DOUBLE)`,
        params: [4],
      },
      postgres: {
        sql: `(CASE WHEN ${p} ~ '^${NUM}$' THEN CAST(${p} AS double precision) END) > CAST($1 AS double precision)`,
        params: [4],
      },
    });
    for (const [op, sym] of [
      ['lt', '<'],
      ['lte', '<='],
      ['gte', '>='],
    ] as const) {
      expect(compilePredicate({ kind: 'number', field: IMAGE, op, value: 1.5 }, 'postgres').sql).toContain(
        `END) ${sym} CAST($1`,
      );
    }
    refusedIn({ kind: 'number', field: IMAGE, op: 'gt', value: Number.NaN }, 'duckdb', /not a finite number/);
    refusedIn({ kind: 'number', field: IMAGE, op: 'gt', value: Infinity }, 'postgres', /not a finite number/);
  });

  it('null and exists', () => {
    expect(compilePredicate({ kind: 'null', field: IMAGE }, 'duckdb').sql).toBe(`${D_IMAGE} IS NULL`);
    expect(compilePredicate({ kind: 'exists', field: IMAGE, exists: true }, 'postgres').sql).toBe(
      `${P_IMAGE} IS NOT NULL`,
    );
    expect(compilePredicate({ kind: 'exists', field: IMAGE, exists: false }, 'postgres').sql).toBe(
      `${P_IMAGE} IS NULL`,
    );
  });

  it('fieldref: equals / contains / startswith / endswith, cased or lowered', () => {
    const fr = (op: 'equals' | 'contains' | 'startswith' | 'endswith', cased: boolean): Node<FieldRef> => ({
      kind: 'fieldref',
      field: IMAGE,
      other: PARENT,
      op,
      cased,
    });
    expect(both(fr('equals', true))).toEqual({
      duckdb: { sql: `${D_IMAGE} = ${D_PARENT}`, params: [] },
      postgres: { sql: `${P_IMAGE} = ${P_PARENT}`, params: [] },
    });
    expect(compilePredicate(fr('equals', false), 'duckdb').sql).toBe(
      `lower(${D_IMAGE}) = lower(${D_PARENT})`,
    );
    expect(compilePredicate(fr('contains', true), 'postgres').sql).toBe(
      `strpos(${P_IMAGE}, ${P_PARENT}) > 0`,
    );
    expect(compilePredicate(fr('startswith', false), 'duckdb').sql).toBe(
      `starts_with(lower(${D_IMAGE}), lower(${D_PARENT}))`,
    );
    expect(compilePredicate(fr('endswith', true), 'duckdb').sql).toBe(`ends_with(${D_IMAGE}, ${D_PARENT})`);
    expect(compilePredicate(fr('endswith', true), 'postgres').sql).toBe(
      `right(${P_IMAGE}, length(${P_PARENT})) = ${P_PARENT}`,
    );
  });
});

describe('combinations and options', () => {
  it('not is NULL-safe: (...) IS NOT TRUE', () => {
    expect(compilePredicate({ kind: 'not', item: str(MESSAGE, [ANY, t('x'), ANY]) }, 'postgres')).toEqual({
      sql: `("message" ILIKE $1 ESCAPE '\\') IS NOT TRUE`,
      params: ['%x%'],
    });
  });

  it('and / or / const, numbered in order', () => {
    const node: Node<FieldRef> = {
      kind: 'and',
      items: [
        str(MESSAGE, [t('a')], true),
        {
          kind: 'or',
          items: [str(MESSAGE, [t('b')], true), { kind: 'not', item: str(MESSAGE, [t('c')], true) }],
        },
        { kind: 'const', value: true },
      ],
    };
    expect(compilePredicate(node, 'duckdb')).toEqual({
      sql: `("message" = $1 AND ("message" = $2 OR ("message" = $3) IS NOT TRUE) AND TRUE)`,
      params: ['a', 'b', 'c'],
    });
    expect(compilePredicate({ kind: 'and', items: [] }, 'duckdb').sql).toBe('TRUE');
    expect(compilePredicate({ kind: 'or', items: [] }, 'postgres').sql).toBe('FALSE');
    expect(compilePredicate({ kind: 'const', value: false }, 'postgres')).toEqual({
      sql: 'FALSE',
      params: [],
    });
  });

  it('paramOffset: placeholders continue after existing params', () => {
    const node: Node<FieldRef> = { kind: 'or', items: [str(MESSAGE, [t('a')]), str(MESSAGE, [t('b')])] };
    expect(compilePredicate(node, 'postgres', { paramOffset: 2 })).toEqual({
      sql: `(lower("message") = lower($3) OR lower("message") = lower($4))`,
      params: ['a', 'b'],
    });
    expect(() => compilePredicate(node, 'postgres', { paramOffset: -1 })).toThrow(RangeError);
  });

  it('fieldSql: the caller decides how a field reads (keyword included)', () => {
    const fieldSql = (ref: FieldRef) => (ref.kind === 'column' ? `e.${ref.column}` : 'e.image');
    const node: Node<FieldRef> = {
      kind: 'and',
      items: [str(IMAGE, [t('x')], true), { kind: 'keyword', pattern: [t('y')], cased: true }],
    };
    expect(compilePredicate(node, 'duckdb', { fieldSql })).toEqual({
      sql: '(e.image = $1 AND e.raw = $2)',
      params: ['x', 'y'],
    });
  });
});
