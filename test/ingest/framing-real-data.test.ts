/**
 * Frames every file of the shared real data sets (Loghub, AIT, OTRF Security-Datasets, SigmaHQ regression
 * data) in auto mode and checks the counts the data sets document, and that the framing covers each file.
 * Skips with a message when ../shared/data is absent (the project never copies those files).
 */
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Framer, type FramedRecord } from '../../src/ingest/framing.ts';

const SHARED = resolve(import.meta.dirname, '../../../shared/data');
const ROOTS = ['logs', 'sigma_logs'].map((d) => join(SHARED, d));
const present = ROOTS.every((d) => existsSync(d));
if (!present) console.warn(`framing-real-data: ${SHARED} not found; skipping the real-data framing tests`);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

async function frameFile(path: string, highWaterMark = 64 * 1024) {
  const framer = new Framer({ mode: 'auto' });
  const records: FramedRecord[] = [];
  for await (const chunk of createReadStream(path, { highWaterMark }))
    records.push(...framer.push(chunk as Buffer));
  records.push(...framer.end());
  return { records, mode: framer.mode, events: records.filter((r) => r.error !== 'blank') };
}

/** Top-level JSON values in a document of concatenated values (the oracle: JSON.parse on growing slices). */
function countConcatenatedObjects(text: string): unknown[] {
  const values: unknown[] = [];
  let start = text.search(/\S/);
  while (start >= 0 && start < text.length) {
    let end = text.indexOf('\n}', start);
    for (;;) {
      if (end < 0) throw new Error('no complete value');
      try {
        values.push(JSON.parse(text.slice(start, end + 2)));
        break;
      } catch {
        end = text.indexOf('\n}', end + 2);
      }
    }
    const rest = text.slice(end + 2).search(/\S/);
    start = rest < 0 ? -1 : end + 2 + rest;
  }
  return values;
}

describe.skipIf(!present)('framing the real data sets (auto mode)', () => {
  const files = present ? ROOTS.flatMap(walk).sort() : [];

  it('frames every file: ends are ordered and the last record (or the input) ends at the file size', async () => {
    expect(files.length).toBeGreaterThan(200);
    for (const file of files) {
      const { records } = await frameFile(file, 16 * 1024);
      const size = statSync(file).size;
      let prev = 0;
      for (const r of records) {
        expect(r.offset, file).toBeGreaterThanOrEqual(prev);
        prev = r.end;
      }
      if (records.length > 0) expect(records.at(-1)!.end, relative(SHARED, file)).toBe(size);
    }
  });

  it('Loghub and AIT 2k logs: 2000 records each, CRLF stripped, last line without newline included', async () => {
    const logs = files.filter((f) => /_2k\.log$/.test(f));
    expect(logs.length).toBeGreaterThanOrEqual(4);
    for (const file of logs) {
      const { events, mode } = await frameFile(file);
      expect(mode, file).toBe('lines');
      expect(events, file).toHaveLength(2000);
      expect(
        events.every((r) => r.error === null && !r.text!.includes('\r')),
        file,
      ).toBe(true);
      expect(events.at(-1)!.end, file).toBe(statSync(file).size);
      expect(events.map((r) => r.line)).toEqual(events.map((_, i) => i + 1));
    }
  });

  it('OTRF data sets: NDJSON, one valid JSON object per non-blank line', async () => {
    const ndjson = files.filter((f) => f.includes('otrf_security_datasets') && f.endsWith('.json'));
    expect(ndjson.length).toBeGreaterThanOrEqual(10);
    for (const file of ndjson) {
      const lines = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
      const { events, records, mode } = await frameFile(file);
      expect(mode, file).toBe('lines');
      expect(events, file).toHaveLength(lines.length);
      expect(
        events.every((r) => r.error === null && typeof JSON.parse(r.text!) === 'object'),
        file,
      ).toBe(true);
      expect(records.at(-1)!.end, file).toBe(statSync(file).size);
    }
  });

  it('SigmaHQ regression events: pretty-printed, sometimes concatenated objects, all valid', async () => {
    const docs = files.filter((f) => f.includes('sigmahq_regression_data') && f.endsWith('.json'));
    expect(docs.length).toBeGreaterThanOrEqual(100);
    let concatenated = 0;
    for (const file of docs) {
      const expected = countConcatenatedObjects(readFileSync(file, 'utf8'));
      const { events, mode } = await frameFile(file, 4096);
      expect(mode, file).toBe('json');
      if (expected.length > 1) concatenated++;
      expect(
        events.map((r) => r.error),
        file,
      ).toEqual(expected.map(() => null));
      expect(
        events.map((r) => JSON.parse(r.text!) as unknown),
        file,
      ).toEqual(expected);
      expect(events.at(-1)!.end, file).toBe(statSync(file).size);
    }
    expect(concatenated).toBeGreaterThan(5);
  });
});
