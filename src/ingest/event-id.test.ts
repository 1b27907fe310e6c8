import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventId, EventIdChain, EventIdGenerator, streamKey } from './event-id.ts';

const base = { tenantId: 't1', sourceKey: 'src', streamKey: 'stream', position: 0, raw: 'hello' };
const UUID8 = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The encoding, written out independently: length-prefixed strings, u64 position, raw last. */
function reference(p: typeof base): string {
  const lp = (s: string) => {
    const b = Buffer.from(s, 'utf8');
    const n = Buffer.alloc(4);
    n.writeUInt32BE(b.length);
    return Buffer.concat([n, b]);
  };
  const pos = Buffer.alloc(8);
  pos.writeBigUInt64BE(BigInt(p.position));
  const hex = createHash('sha256')
    .update(
      Buffer.concat([
        lp('vigil/event/v1'),
        lp(p.tenantId),
        lp(p.sourceKey),
        lp(p.streamKey),
        pos,
        Buffer.from(p.raw),
      ]),
    )
    .digest('hex');
  const b = Buffer.from(hex.slice(0, 32), 'hex');
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

describe('eventId', () => {
  it('is a version-8 RFC 9562 UUID matching the documented encoding', () => {
    for (const p of [base, { ...base, position: 2 ** 40 + 7, raw: 'é😀' }, { ...base, tenantId: '' }]) {
      const id = eventId(p);
      expect(id).toMatch(UUID8);
      expect(id).toBe(reference(p));
    }
  });

  it('is stable: same parts, same id; text and its UTF-8 bytes give the same id', () => {
    expect(eventId(base)).toBe(eventId({ ...base }));
    expect(eventId({ ...base, raw: Buffer.from('hello') })).toBe(eventId(base));
    expect(eventId({ ...base, raw: new Uint8Array(Buffer.from('hello')) })).toBe(eventId(base));
  });

  it('changes with every part; identical lines at different positions are different events', () => {
    const ids = new Set([
      eventId(base),
      eventId({ ...base, tenantId: 't2' }),
      eventId({ ...base, sourceKey: 'src2' }),
      eventId({ ...base, streamKey: 'stream2' }),
      eventId({ ...base, position: 1 }),
      eventId({ ...base, raw: 'hello!' }),
    ]);
    expect(ids.size).toBe(6);
  });

  it('is unambiguous across field boundaries', () => {
    expect(eventId({ ...base, tenantId: 'ab', sourceKey: 'c' })).not.toBe(
      eventId({ ...base, tenantId: 'a', sourceKey: 'bc' }),
    );
    expect(eventId({ ...base, sourceKey: 's', streamKey: 'x' })).not.toBe(
      eventId({ ...base, sourceKey: 'sx', streamKey: '' }),
    );
    expect(eventId({ ...base, streamKey: 'k', raw: 'v' })).not.toBe(
      eventId({ ...base, streamKey: 'kv', raw: '' }),
    );
  });

  it('the generator agrees with eventId, alternating streams, and grows for large records', () => {
    const g = new EventIdGenerator('t1', 'src', 'stream');
    const big = 'x'.repeat(100_000);
    expect(g.id(0, 'hello')).toBe(eventId(base));
    expect(g.id(5, big)).toBe(eventId({ ...base, position: 5, raw: big }));
    expect(eventId({ ...base, streamKey: 'other' })).toBe(
      new EventIdGenerator('t1', 'src', 'other').id(0, 'hello'),
    );
    expect(g.id(0, 'hello')).toBe(eventId(base));
  });

  it('rejects positions that are not non-negative safe integers', () => {
    expect(() => eventId({ ...base, position: -1 })).toThrow(RangeError);
    expect(() => eventId({ ...base, position: 1.5 })).toThrow(RangeError);
  });
});

describe('streamKey', () => {
  const line = Buffer.from('Dec 10 06:55:46 LabSZ sshd[24199]: reverse mapping checking');

  it('identifies a stream by tenant, source and its first record, not by where it is read from', () => {
    expect(streamKey('t1', 'src', line)).toMatch(/^[0-9a-f]{32}$/);
    expect(streamKey('t1', 'src', line)).toBe(streamKey('t1', 'src', Buffer.from(line)));
    expect(streamKey('t1', 'src', Buffer.from('another first line'))).not.toBe(streamKey('t1', 'src', line));
    expect(streamKey('t2', 'src', line)).not.toBe(streamKey('t1', 'src', line));
    expect(streamKey('t1', 'src2', line)).not.toBe(streamKey('t1', 'src', line));
    expect(streamKey('t', '1src', line)).not.toBe(streamKey('t1', 'src', line));
  });

  it('looks at the first 4 KiB only', () => {
    const a = Buffer.concat([Buffer.alloc(4096, 0x61), Buffer.from('tail 1')]);
    const b = Buffer.concat([Buffer.alloc(4096, 0x61), Buffer.from('tail 2')]);
    expect(streamKey('t', 's', a)).toBe(streamKey('t', 's', b));
    expect(streamKey('t', 's', a.subarray(0, 4095))).not.toBe(streamKey('t', 's', a));
  });
});

describe('EventIdChain', () => {
  const raw = (s: string) => Buffer.from(s, 'utf8');
  const ids = (lines: [number, string][], seed = 's1') => {
    const c = EventIdChain.start('t1', 'src', seed);
    return lines.map(([p, l]) => c.next(p, raw(l)));
  };

  it('gives the same ids for the same input, and UUIDv8 ids', () => {
    const a = ids([
      [0, 'a'],
      [2, 'b'],
      [4, 'c'],
    ]);
    expect(
      ids([
        [0, 'a'],
        [2, 'b'],
        [4, 'c'],
      ]),
    ).toEqual(a);
    for (const id of a)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(a).size).toBe(3);
  });

  it('diverges after the first different record, even for identical lines at identical offsets', () => {
    const a = ids([
      [0, 'header'],
      [7, 'x=1'],
      [11, 'same'],
    ]);
    const b = ids([
      [0, 'header'],
      [7, 'x=2'],
      [11, 'same'],
    ]);
    expect(b[0]).toBe(a[0]);
    expect(b[1]).not.toBe(a[1]);
    expect(b[2]).not.toBe(a[2]);
  });

  it('resumes from a saved state with the very ids a full read gives', () => {
    const full = EventIdChain.start('t1', 'src', 's1');
    const all = [full.next(0, raw('a')), full.next(2, raw('b')), full.next(4, raw('c'))];
    const first = EventIdChain.start('t1', 'src', 's1');
    first.next(0, raw('a'));
    const resumed = EventIdChain.resume(first.state);
    expect([resumed.next(2, raw('b')), resumed.next(4, raw('c'))]).toEqual(all.slice(1));
    expect(() => EventIdChain.resume('zz')).toThrow(/invalid chain state/);
  });

  it('separates tenants, sources and streams', () => {
    const one = (t: string, s: string, k: string) => EventIdChain.start(t, s, k).next(0, raw('a'));
    const base = one('t1', 'src', 'k');
    expect(one('t2', 'src', 'k')).not.toBe(base);
    expect(one('t1', 'src2', 'k')).not.toBe(base);
    expect(one('t1', 'src', 'k2')).not.toBe(base);
  });
});
