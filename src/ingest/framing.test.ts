import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  detectMode,
  frameBatches,
  frameBuffer,
  Framer,
  frameRecords,
  type FramedRecord,
  type FramingOptions,
} from './framing.ts';

/** Property-test runs; raise with FRAMING_RUNS=20000 for a deeper search. */
const RUNS = Number(process.env.FRAMING_RUNS ?? 600);

const plain = (r: FramedRecord) => ({
  offset: r.offset,
  end: r.end,
  line: r.line,
  text: r.text,
  bytes: r.bytes.toString('hex'),
  size: r.size,
  error: r.error,
});

function frameChunks(chunks: Uint8Array[], options: FramingOptions = {}) {
  const f = new Framer(options);
  const out: FramedRecord[] = [];
  for (const c of chunks) out.push(...f.push(c));
  out.push(...f.end());
  return out.map(plain);
}

/** Splits `input` at the given cut points. */
function split(input: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(input.subarray(prev, p));
    prev = p;
  }
  chunks.push(input.subarray(prev));
  return chunks;
}

const texts = (input: string | Buffer, options: FramingOptions = {}) =>
  frameBuffer(input, options)
    .filter((r) => r.error !== 'blank')
    .map((r) => r.text ?? `<${r.error}>`);

describe('lines mode', () => {
  it('frames LF and CRLF lines, a last line without terminator, with offsets, ends and line numbers', () => {
    const recs = frameBuffer('a\r\nbb\nccc', { mode: 'lines' }).map(plain);
    expect(recs).toEqual([
      { offset: 0, end: 3, line: 1, text: 'a', bytes: '61', size: 1, error: null },
      { offset: 3, end: 6, line: 2, text: 'bb', bytes: '6262', size: 2, error: null },
      { offset: 6, end: 9, line: 3, text: 'ccc', bytes: '636363', size: 3, error: null },
    ]);
  });

  it('reports blank lines as blank records that advance offsets and line numbers', () => {
    const recs = frameBuffer('a\n\n \t\r\n\r\nb\n', { mode: 'lines' });
    expect(recs.map((r) => [r.offset, r.end, r.line, r.error])).toEqual([
      [0, 2, 1, null],
      [2, 3, 2, 'blank'],
      [3, 7, 3, 'blank'],
      [7, 9, 4, 'blank'],
      [9, 11, 5, null],
    ]);
    expect(recs[1]!.text).toBeNull();
  });

  it('strips a UTF-8 BOM at the start of the input only', () => {
    const recs = frameBuffer(Buffer.from('\ufeffx\n\ufeffy\n'), { mode: 'lines' });
    expect(recs.map((r) => [r.offset, r.text])).toEqual([
      [3, 'x'],
      [5, '\ufeffy'],
    ]);
    // A BOM split across chunks is still stripped; a resumed input keeps its bytes.
    expect(frameChunks([Buffer.from([0xef]), Buffer.from([0xbb]), Buffer.from([0xbf, 0x7a])])[0]!.text).toBe(
      'z',
    );
    expect(frameBuffer(Buffer.from('\ufeffq'), { mode: 'lines', startOffset: 10 })[0]!.offset).toBe(10);
  });

  it('keeps CRLF split across chunks and multi-byte characters split across chunks', () => {
    const input = Buffer.from('héllo 😀\r\nwörld\r\n');
    for (let cut = 0; cut <= input.length; cut++) {
      expect(frameChunks(split(input, [cut]), { mode: 'lines' })).toEqual(
        frameChunks([input], { mode: 'lines' }),
      );
    }
    expect(texts(input, { mode: 'lines' })).toEqual(['héllo 😀', 'wörld']);
  });

  it('accepts a record of exactly maxRecordBytes and marks a larger one oversized', () => {
    const max = 8;
    const recs = frameBuffer('12345678\r\n123456789\nok', { mode: 'lines', maxRecordBytes: max });
    expect(recs.map((r) => [r.text, r.error, r.size, r.bytes.length, r.end])).toEqual([
      ['12345678', null, 8, 8, 10],
      [null, 'oversized', 9, 8, 20],
      ['ok', null, 2, 2, 22],
    ]);
  });

  it('streams an oversized line once, keeping only maxRecordBytes, then frames the next lines', async () => {
    const max = 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    async function* source() {
      yield Buffer.from('first\n');
      for (let i = 0; i < 160; i++) yield chunk; // a 10 MiB line
      yield Buffer.from('\r\nnext\nlast');
    }
    const recs: FramedRecord[] = [];
    for await (const r of frameRecords(source(), { mode: 'lines', maxRecordBytes: max })) recs.push(r);
    expect(recs.map((r) => [r.text, r.error, r.size, r.bytes.length, r.line])).toEqual([
      ['first', null, 5, 5, 1],
      [null, 'oversized', 160 * chunk.length, max, 2],
      ['next', null, 4, 4, 3],
      ['last', null, 4, 4, 4],
    ]);
    expect(recs[1]!.bytes.buffer.byteLength).toBeLessThanOrEqual(max + 64 * 1024);
    expect(recs[3]!.end).toBe(6 + 160 * chunk.length + 2 + 5 + 4);
  });

  it('reports invalid UTF-8 in the middle of a batch and frames the rest', () => {
    const input = Buffer.concat([
      Buffer.from('ok 1\n'),
      Buffer.from([0x62, 0x61, 0x64, 0xc3, 0x28, 0x0a]), // truncated 2-byte sequence
      Buffer.from([0xed, 0xa0, 0x80, 0x0a]), // UTF-16 surrogate encoded: not UTF-8
      Buffer.from('ok 2 é\n'),
    ]);
    const recs = frameBuffer(input, { mode: 'lines' });
    expect(recs.map((r) => [r.text, r.error, r.bytes.toString('hex')])).toEqual([
      ['ok 1', null, Buffer.from('ok 1').toString('hex')],
      [null, 'invalid_utf8', '626164c328'],
      [null, 'invalid_utf8', 'eda080'],
      ['ok 2 é', null, Buffer.from('ok 2 é').toString('hex')],
    ]);
  });

  it('resuming from any record end yields exactly the remaining records (with startLine)', () => {
    const input = Buffer.from('a\r\n\nb\nccc\r\n  \nd');
    const all = frameBuffer(input, { mode: 'lines' }).map(plain);
    for (const r of all) {
      const rest = frameBuffer(input.subarray(r.end), {
        mode: 'lines',
        startOffset: r.end,
        startLine: r.line! + 1,
      });
      expect(rest.map(plain)).toEqual(all.filter((x) => x.offset >= r.end));
    }
    // Without startLine the line numbers are unknown.
    expect(frameBuffer(input.subarray(3), { mode: 'lines', startOffset: 3 })[0]!.line).toBeNull();
  });

  it('treats a lone CR as content and strips a final CR at end of input', () => {
    expect(texts('a\rb\nc\r', { mode: 'lines' })).toEqual(['a\rb', 'c']);
  });
});

describe('json mode', () => {
  it('frames the elements of a top-level array', () => {
    const input = '[\n  {"a": 1},\n  {"b": [1, {"c": "]}"}]},\n  "s", 12, null\n]\n';
    const recs = frameBuffer(input, { mode: 'json' });
    expect(recs.map((r) => r.text)).toEqual(['{"a": 1}', '{"b": [1, {"c": "]}"}]}', '"s"', '12', 'null']);
    for (const r of recs) expect(input.slice(r.offset, r.offset + r.size)).toBe(r.text);
    expect(recs[0]!.line).toBe(2);
    expect(recs[0]!.end).toBe(recs[0]!.offset + recs[0]!.size); // ends before the comma
  });

  it('frames concatenated pretty-printed objects, each ending after its line', () => {
    const a = JSON.stringify(
      { Event: { System: { EventID: 1 }, EventData: { x: 'a "quoted" {brace}' } } },
      null,
      2,
    );
    const b = JSON.stringify({ k: ['\\', '}'] }, null, 2);
    const input = `${a}\n${b}\r\n`;
    const recs = frameBuffer(input, { mode: 'json' });
    expect(recs.map((r) => JSON.parse(r.text!) as unknown)).toEqual([JSON.parse(a), JSON.parse(b)]);
    expect(recs.map((r) => [r.offset, r.end, r.line])).toEqual([
      [0, a.length + 1, 1],
      [a.length + 1, input.length, a.split('\n').length + 1],
    ]);
  });

  it('frames NDJSON and compact concatenated objects', () => {
    expect(texts('{"a":1}\n{"b":2}{"c":3} {"d":4}\n', { mode: 'json' })).toEqual([
      '{"a":1}',
      '{"b":2}',
      '{"c":3}',
      '{"d":4}',
    ]);
  });

  it('resynchronises after a structural error at the next line starting with "{"', () => {
    const input = [
      '{',
      '  "a": "unterminated,',
      '  "b": 2',
      '}',
      '{',
      '  "ok": 1',
      '}',
      'garbage here',
      '{"ok": 2}',
      '{"bad": ]',
      '{"ok": 3}',
      '',
    ].join('\n');
    const recs = frameBuffer(input, { mode: 'json' });
    expect(recs.map((r) => [r.line, r.error, r.error ? r.bytes.toString() : r.text])).toEqual([
      [1, 'invalid_json', '{\n  "a": "unterminated,\n  "b": 2\n}'],
      [5, null, '{\n  "ok": 1\n}'],
      [8, 'invalid_json', 'garbage here'],
      [9, null, '{"ok": 2}'],
      [10, 'invalid_json', '{"bad": ]'],
      [11, null, '{"ok": 3}'],
    ]);
  });

  it('cuts an object missing its closing brace at the next top-level object (found at end of input)', () => {
    const input = '{\n  "a": {\n    "b": 1\n  }\n{\n  "c": 1\n}\n{\n  "d": 2\n}\n';
    const recs = frameBuffer(input, { mode: 'json' });
    expect(recs.map((r) => [r.offset, r.end, r.line, r.error, r.error ? null : r.text])).toEqual([
      [0, 26, 1, 'invalid_json', null],
      [26, 39, 5, null, '{\n  "c": 1\n}'],
      [39, 52, 8, null, '{\n  "d": 2\n}'],
    ]);
    expect(recs[0]!.bytes.toString()).toBe('{\n  "a": {\n    "b": 1\n  }');
  });

  it('cuts an object missing its brace inside an indented top-level array', () => {
    const input = '[\n  {\n    "a": 1\n  ,\n  {\n    "b": 2\n  }\n]\n';
    expect(texts(input, { mode: 'json' })).toEqual(['<invalid_json>', '{\n    "b": 2\n  }']);
  });

  it('marks a value larger than maxRecordBytes oversized and continues', () => {
    const big = JSON.stringify({ data: 'x'.repeat(100) }, null, 2);
    const input = `{"a":1}\n${big}\n{"b":2}\n`;
    const recs = frameBuffer(input, { mode: 'json', maxRecordBytes: 50 });
    expect(recs.map((r) => [r.error, r.size, r.bytes.length])).toEqual([
      [null, 7, 7],
      ['oversized', big.length, 50],
      [null, 7, 7],
    ]);
    // Chunked: same records.
    const buf = Buffer.from(input);
    const chunks = Array.from({ length: Math.ceil(buf.length / 7) }, (_, i) =>
      buf.subarray(i * 7, i * 7 + 7),
    );
    expect(frameChunks(chunks, { mode: 'json', maxRecordBytes: 50 })).toEqual(
      frameBuffer(input, { mode: 'json', maxRecordBytes: 50 }).map(plain),
    );
  });

  it('recovers the objects after a missing brace once the broken record outgrows maxRecordBytes', () => {
    const objs = Array.from({ length: 200 }, (_, i) => JSON.stringify({ i, pad: 'y'.repeat(20) }, null, 2));
    const input = '{\n  "broken": {\n    "x": 1\n' + objs.join('\n') + '\n';
    const recs = frameBuffer(input, { mode: 'json', maxRecordBytes: 256 });
    expect(recs[0]!.error).toBe('invalid_json');
    expect(recs.slice(1).map((r) => (JSON.parse(r.text!) as { i: number }).i)).toEqual(objs.map((_, i) => i));
  });

  it('reports invalid UTF-8 inside a value', () => {
    const input = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}\n{"b":1}')]);
    expect(texts(input, { mode: 'json' })).toEqual(['<invalid_utf8>', '{"b":1}']);
  });

  it('leaves non-structural syntax errors to the parser', () => {
    expect(texts('{"a": x, "b" 1}\n', { mode: 'json' })).toEqual(['{"a": x, "b" 1}']);
  });

  it('resumes inside a top-level array given the head bytes', () => {
    const input = Buffer.from('[\n  [1, 2],\n  {"a": 1},\n  [3]\n]\n');
    const all = frameBuffer(input, { mode: 'auto' });
    expect(all.map((r) => r.text)).toEqual(['[1, 2]', '{"a": 1}', '[3]']);
    const r0 = all[0]!;
    const rest = frameBuffer(input.subarray(r0.end), {
      mode: 'auto',
      startOffset: r0.end,
      headBytes: input.subarray(0, 16),
    });
    expect(rest.map(plain)).toEqual(
      all
        .slice(1)
        .map(plain)
        .map((r) => ({ ...r, line: null })),
    );
  });

  it('resuming concatenated objects from any record end yields exactly the remaining records', () => {
    const input = Buffer.from(
      [1, 2, 3, 4].map((i) => JSON.stringify({ i, nested: { list: [{ a: i }] } }, null, 2)).join('\n') + '\n',
    );
    const all = frameBuffer(input, { mode: 'auto' }).map(plain);
    expect(all).toHaveLength(4);
    for (const r of all) {
      const rest = frameBuffer(input.subarray(r.end), {
        mode: 'auto',
        startOffset: r.end,
        startLine: input.subarray(0, r.end).toString().split('\n').length,
        headBytes: input.subarray(0, 64),
      });
      expect(rest.map(plain)).toEqual(all.filter((x) => x.offset >= r.end));
    }
  });
});

describe('auto mode', () => {
  it.each([
    ['{"a":1}\n{"b":2}\n', 'lines'],
    ['  \n{"a":1}', 'lines'],
    ['{\n  "a": 1\n}\n', 'json'],
    ['{"a":1}{"b":2}\n', 'json'],
    ['[{"a":1},{"b":2}]', 'json'],
    ['[\n  {"a": 1}\n]', 'json'],
    ['[1, 2]', 'json'],
    ['[]', 'json'],
    ['[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok', 'lines'],
    ['[2005-12-04 04:47:44] x', 'lines'],
    ['[notice] x', 'lines'],
    ['{foo} bar', 'lines'],
    ['Dec 10 06:55:46 LabSZ sshd[24200]: x', 'lines'],
    ['', 'lines'],
    ['\ufeff{\n"a":1}', 'json'],
  ])('%j -> %s', (input, mode) => {
    expect(detectMode(Buffer.from(input), true)).toBe(mode);
    const f = new Framer({ mode: 'auto' });
    f.push(input);
    f.end();
    expect(f.mode).toBe(mode);
  });

  it('waits for enough bytes before deciding', () => {
    expect(detectMode(Buffer.from('  '), false)).toBeNull();
    expect(detectMode(Buffer.from('{"a":1'), false)).toBeNull();
    expect(detectMode(Buffer.from('['), false)).toBeNull();
    expect(detectMode(Buffer.from('[1'), false)).toBeNull();
    expect(detectMode(Buffer.from('{"a":1'), true)).toBe('json');
  });
});

describe('chunk boundaries (property)', () => {
  // Byte soup made of the pieces that matter to the framers.
  const piece = fc.constantFrom(
    '{',
    '}',
    '[',
    ']',
    '"',
    '\\',
    '\\"',
    ',',
    ':',
    ' ',
    '  ',
    '\n',
    '\r\n',
    '\r',
    '\n{',
    '\n  {',
    'a',
    'hello world',
    '12',
    'null',
    'tru',
    'é',
    '😀',
    '\ufeff',
    '\u0001',
    '{"k": "v"}',
    '{\n  "k": [1, 2]\n}\n',
  );
  const rawByte = fc.constantFrom(0xff, 0xc3, 0x80, 0xf0, 0x9f);
  const input = fc
    .array(
      fc.oneof(
        { weight: 10, arbitrary: piece.map((s) => Buffer.from(s)) },
        rawByte.map((b) => Buffer.from([b])),
      ),
      {
        maxLength: 60,
      },
    )
    .map((parts) => Buffer.concat(parts));
  const cuts = fc.array(fc.nat(), { maxLength: 12 });
  const options = fc.record({
    mode: fc.constantFrom('lines' as const, 'json' as const, 'auto' as const),
    maxRecordBytes: fc.constantFrom(4, 16, 1024),
  });

  it('splitting the same input into arbitrary chunks gives identical records', () => {
    fc.assert(
      fc.property(input, cuts, options, (buf, points, opts) => {
        const whole = frameChunks([buf], opts);
        expect(frameChunks(split(buf, points), opts)).toEqual(whole);
        // One byte at a time, the worst case.
        expect(frameChunks(split(buf, [...buf.keys()]), opts)).toEqual(whole);
      }),
      { numRuns: RUNS },
    );
  });

  it('records are in order, cover their bytes, and ends do not decrease', () => {
    fc.assert(
      fc.property(input, options, (buf, opts) => {
        const recs = frameBuffer(buf, opts);
        let prevEnd = 0;
        for (const r of recs) {
          expect(r.offset).toBeGreaterThanOrEqual(prevEnd);
          expect(r.end).toBeGreaterThan(r.offset);
          expect(r.end).toBeLessThanOrEqual(buf.length);
          expect(r.bytes.length).toBe(Math.min(r.size, opts.maxRecordBytes));
          if (r.error === 'oversized') expect(r.size).toBeGreaterThan(opts.maxRecordBytes);
          expect(r.offset + r.size).toBeLessThanOrEqual(r.end);
          expect(buf.subarray(r.offset, r.offset + r.bytes.length).equals(r.bytes)).toBe(true);
          if (r.error === null) expect(Buffer.from(r.text!, 'utf8').equals(r.bytes)).toBe(true);
          prevEnd = r.end;
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('lines mode: resuming from any record end yields exactly the remaining records', () => {
    fc.assert(
      fc.property(input, cuts, (buf, points) => {
        const all = frameChunks([buf], { mode: 'lines', maxRecordBytes: 16 });
        for (const r of all) {
          const rest = frameChunks(split(buf.subarray(r.end), points), {
            mode: 'lines',
            maxRecordBytes: 16,
            startOffset: r.end,
            startLine: r.line! + 1,
          });
          expect(rest).toEqual(all.filter((x) => x.offset >= r.end));
        }
      }),
      { numRuns: Math.ceil(RUNS / 2) },
    );
  });
});

describe('stream APIs', () => {
  it('frameBatches and frameRecords agree with frameBuffer', async () => {
    const input = Buffer.from('x\n{"a":1}\n\ny\r\nz');
    async function* chunks() {
      for (let i = 0; i < input.length; i += 3) yield input.subarray(i, i + 3);
    }
    const batches: FramedRecord[] = [];
    for await (const b of frameBatches(chunks(), { mode: 'lines' })) batches.push(...b);
    const records: FramedRecord[] = [];
    for await (const r of frameRecords(chunks(), { mode: 'lines' })) records.push(r);
    const expected = frameBuffer(input, { mode: 'lines' }).map(plain);
    expect(batches.map(plain)).toEqual(expected);
    expect(records.map(plain)).toEqual(expected);
  });

  it('rejects bad options', () => {
    expect(() => new Framer({ maxRecordBytes: 0 })).toThrow(RangeError);
    expect(() => new Framer({ startOffset: -1 })).toThrow(RangeError);
  });
});
