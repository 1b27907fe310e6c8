import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../domain/errors.ts';
import { checkConsoleSql, deniedName, tokenize } from './console-guard.ts';

const refused = (sql: string): string => {
  try {
    checkConsoleSql(sql);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as Error).message;
  }
  throw new Error(`not refused: ${sql}`);
};

describe('tokenize', () => {
  it('skips comments and keeps strings, quoted names and dollar quotes whole', () => {
    const tokens = tokenize(
      `select 'a;b''c', E'x\\'y', $t$ ; drop $t$, "Del""ete" -- ; drop\n/* /* nested */ ; */ 1`,
    );
    expect(tokens.map((t) => [t.kind, t.text])).toEqual([
      ['word', 'select'],
      ['string', "'a;b''c'"],
      ['op', ','],
      ['string', "E'x\\'y'"],
      ['op', ','],
      ['string', '$t$ ; drop $t$'],
      ['op', ','],
      ['quoted', 'Del"ete'],
      ['number', '1'],
    ]);
  });

  it('splits a number from the word glued to it', () => {
    expect(tokenize('select 1into x').map((t) => t.text)).toEqual(['select', '1', 'into', 'x']);
  });

  it('refuses unterminated literals and comments', () => {
    for (const sql of [`select 'x`, 'select "x', 'select $$x', 'select /* x', `select E'x\\'`]) {
      expect(() => tokenize(sql), sql).toThrow(ValidationError);
    }
  });
});

describe('checkConsoleSql', () => {
  it('returns one query without its trailing semicolons and comments', () => {
    expect(checkConsoleSql('  select 1 ; ; -- done\n')).toBe('select 1');
    expect(checkConsoleSql('(select 1) union (select 2)')).toBe('(select 1) union (select 2)');
    expect(checkConsoleSql('WITH x AS (SELECT 1) SELECT * FROM x')).toBe(
      'WITH x AS (SELECT 1) SELECT * FROM x',
    );
    expect(checkConsoleSql('values (1), (2)')).toBe('values (1), (2)');
    expect(checkConsoleSql("select * from logs as l where l.raw like '%;%' -- ;")).toContain('logs as l');
  });

  it('names the refused statement', () => {
    expect(refused('insert into logs values (1)')).toMatch(
      /only SELECT queries are allowed: INSERT writes data/,
    );
    expect(refused('copy logs to stdout')).toMatch(/COPY reads or writes files/);
    expect(refused('vacuum')).toMatch(/VACUUM/);
    expect(refused('frobnicate')).toMatch(/only SELECT queries are allowed/);
    expect(refused('')).toMatch(/empty/);
    expect(refused(';')).toMatch(/empty/);
  });

  it('refuses a second statement, writes anywhere, parameters and unbalanced parentheses', () => {
    expect(refused('select 1; select 2')).toMatch(/one statement/);
    expect(refused('with d as (delete from logs returning *) select 1')).toMatch(/DELETE is not allowed/);
    expect(refused('with d as (update logs set raw = 1 returning *) select 1')).toMatch(
      /UPDATE is not allowed/,
    );
    expect(refused('select * into t from logs')).toMatch(/SELECT INTO/);
    expect(refused('select $1')).toMatch(/parameters/);
    expect(refused('select 1) as q, (select 2')).toMatch(/parenthes/);
    expect(refused('select (1')).toMatch(/not closed/);
  });

  it('refuses system, settings, SQL-running and file names, also quoted', () => {
    expect(refused('select "PG_SLEEP"(1)')).toMatch(/not allowed/);
    expect(refused('select "pg_sleep"(1)')).toMatch(/not allowed/);
    expect(refused('select pg_catalog.now()')).toMatch(/not allowed/);
    expect(refused("select \"set_config\"('a', 'b', true)")).toMatch(/settings/);
    expect(refused("select ts_stat('select 1')")).toMatch(/run SQL text/);
    expect(refused("select lo_export(1, '/tmp/x')")).toMatch(/large-object/);
    expect(refused('select U&"x"')).toMatch(/Unicode/);
    expect(deniedName('count')).toBeUndefined();
    expect(deniedName('normalized')).toBeUndefined();
  });

  it('refuses a WITH query named logs, not a table aliased or joined', () => {
    expect(refused('with logs as (select 1) select * from logs')).toMatch(/hide the table/);
    expect(refused('with a as (select 1), "logs"(x) as materialized (select 1) select * from logs')).toMatch(
      /hide/,
    );
    expect(checkConsoleSql('with a as (select 1) select * from a, logs as l')).toContain('logs as l');
  });

  it('allows the words inside strings and quoted identifiers', () => {
    expect(
      checkConsoleSql(`select 'insert; drop' as "delete" from logs where message like '%pg_sleep%'`),
    ).toContain('as "delete"');
  });
});
