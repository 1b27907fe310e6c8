import { describe, expect, it } from 'vitest';
import { ValidationError } from '../domain/errors.ts';
import { uuidv7 } from '../domain/ids.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import {
  checkConsoleOptions,
  checkHistogramInterval,
  checkTopLimit,
  escapeLike,
  planLogQuery,
  resolveField,
  toJsonSafe,
} from './query-plan.ts';

describe('cursor', () => {
  it('round-trips and is opaque base64url', () => {
    const c = { timestamp: new Date('2024-03-01T00:00:00.123Z'), id: uuidv7().toUpperCase() };
    const text = encodeCursor(c);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(text)).toEqual({ timestamp: c.timestamp, id: c.id.toLowerCase() });
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc$%'],
    ['not JSON', Buffer.from('hello').toString('base64url')],
    ['an array', Buffer.from('[1]').toString('base64url')],
    [
      'another version',
      Buffer.from(JSON.stringify({ v: 2, t: '2024-03-01T00:00:00.000Z', i: uuidv7() })).toString('base64url'),
    ],
    ['a bad time', Buffer.from(JSON.stringify({ v: 1, t: "1' OR 1=1", i: uuidv7() })).toString('base64url')],
    [
      'a bad id',
      Buffer.from(JSON.stringify({ v: 1, t: '2024-03-01T00:00:00.000Z', i: "x' --" })).toString('base64url'),
    ],
    ['too long', 'a'.repeat(600)],
  ])('refuses %s', (_what, text) => {
    expect(() => decodeCursor(text)).toThrow(ValidationError);
  });
});

describe('query plan', () => {
  it('resolves columns and normalized keys', () => {
    expect(resolveField('appname')).toEqual({ kind: 'column', column: 'appname', valueType: 'text' });
    expect(resolveField('procid')).toMatchObject({ valueType: 'integer' });
    expect(resolveField('source_id')).toMatchObject({ valueType: 'uuid' });
    expect(resolveField('normalized.event_data.Image')).toEqual({
      kind: 'normalized',
      path: ['event_data', 'Image'],
      jsonPath: '$.event_data.Image',
    });
  });

  it.each([
    'message',
    'raw',
    'tenant_id',
    'normalized',
    'normalized.',
    'normalized.a-b',
    'normalized.$x',
    'a;b',
    '',
  ])('refuses the field %j, naming it', (field) => {
    expect(() => resolveField(field)).toThrow(ValidationError);
    try {
      resolveField(field);
    } catch (e) {
      expect((e as Error).message).toContain(`"${field}"`);
    }
  });

  it('normalizes filter values by type', () => {
    const id = uuidv7();
    const plan = planLogQuery({
      filters: { procid: '42', id: id.toUpperCase(), host: 5, 'normalized.n': 7, appname: ['a', 'b'] },
      text: 'Failed PASSWORD',
      limit: 5,
    });
    expect(plan.filters.map((f) => f.values)).toEqual([[42], [id], ['5'], ['7'], ['a', 'b']]);
    expect(plan.text).toBe('failed password');
    expect(plan.limit).toBe(5);
  });

  it.each([
    [{ filters: { procid: '1.5' } }],
    [{ filters: { procid: 99999999999 } }],
    [{ filters: { id: 'x' } }],
    [{ filters: { host: [] } }],
    [{ filters: { host: { a: 1 } as unknown as string } }],
    [{ filters: { host: Number.NaN } }],
    [{ text: 'x'.repeat(1001) }],
    [{ limit: 0 }],
    [{ limit: 1.5 }],
    [{ from: new Date('nope') }],
  ])('refuses %j', (q) => {
    expect(() => planLogQuery(q)).toThrow(ValidationError);
  });

  it('checks intervals, limits and console options', () => {
    expect(checkHistogramInterval(1)).toBe(1);
    expect(checkHistogramInterval(31 * 86400)).toBe(31 * 86400);
    expect(() => checkHistogramInterval(0)).toThrow(ValidationError);
    expect(() => checkHistogramInterval(31 * 86400 + 1)).toThrow(ValidationError);
    expect(checkTopLimit(undefined)).toBe(10);
    expect(() => checkTopLimit(1001)).toThrow(ValidationError);
    expect(checkConsoleOptions()).toEqual({ maxRows: 1000, timeoutMs: 10_000 });
    expect(() => checkConsoleOptions({ maxRows: 0 })).toThrow(ValidationError);
  });

  it('escapes LIKE wildcards', () => {
    expect(escapeLike('100%_a\\b')).toBe('100\\%\\_a\\\\b');
  });

  it('makes values JSON-safe', () => {
    expect(
      toJsonSafe({
        a: 1n,
        b: 2n ** 64n,
        c: new Date(0),
        d: new Uint8Array([1, 2]),
        e: [Infinity, null, 'x'],
        f: { g: -3n },
      }),
    ).toEqual({
      a: 1,
      b: '18446744073709551616',
      c: '1970-01-01T00:00:00.000Z',
      d: 'AQI=',
      e: ['Infinity', null, 'x'],
      f: { g: -3 },
    });
  });
});
