import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cacheKey, canonicalJson } from './search-cache.repository.ts';

describe('cacheKey', () => {
  it('is the SHA-256 hex of the canonical JSON', () => {
    const expected = createHash('sha256').update('{"a":1,"b":"x"}').digest('hex');
    expect(cacheKey({ b: 'x', a: 1 })).toBe(expected);
    expect(cacheKey({})).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores key order at every depth, but not array order', () => {
    const k = cacheKey({
      q: 'log4j',
      filters: { severity: 'high', exploited: true },
      sort: ['-priority', 'id'],
    });
    expect(
      cacheKey({ sort: ['-priority', 'id'], filters: { exploited: true, severity: 'high' }, q: 'log4j' }),
    ).toBe(k);
    expect(
      cacheKey({ q: 'log4j', filters: { severity: 'high', exploited: true }, sort: ['id', '-priority'] }),
    ).not.toBe(k);
  });

  it('tells different values and types apart', () => {
    expect(cacheKey({ limit: 1 })).not.toBe(cacheKey({ limit: '1' }));
    expect(cacheKey({ a: null })).not.toBe(cacheKey({}));
    expect(cacheKey({ a: { b: 1 } })).not.toBe(cacheKey({ a: { b: 2 } }));
  });

  it('drops undefined members as JSON does', () => {
    expect(cacheKey({ a: 1, b: undefined })).toBe(cacheKey({ a: 1 }));
  });
});

describe('canonicalJson', () => {
  it('sorts keys by code unit and keeps JSON semantics', () => {
    expect(canonicalJson({ b: [3, undefined, { d: 1, c: 2 }], a: 'é', B: null })).toBe(
      '{"B":null,"a":"é","b":[3,null,{"c":2,"d":1}]}',
    );
    expect(canonicalJson({ '10': 1, '9': 2 })).toBe('{"10":1,"9":2}');
    expect(canonicalJson({ at: new Date('2025-01-01T00:00:00Z') })).toBe('{"at":"2025-01-01T00:00:00.000Z"}');
    expect(canonicalJson('x')).toBe('"x"');
    expect(canonicalJson(undefined)).toBe('null');
  });
});
