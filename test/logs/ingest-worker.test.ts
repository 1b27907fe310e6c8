/**
 * Files parsed on the ingest worker thread (src/services/ingest-worker.ts) give exactly what the in-place
 * pipeline gives: the same events (ids, times, fields), the same quarantine rows, the same checkpoint and the
 * same summary, on a file that mixes formats, blank lines, bad bytes and oversized records, fresh and resumed.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createContainer, type Container } from '../../src/container.ts';
import type { LogEventRow } from '../../src/domain/log-event.ts';
import { streamKey } from '../../src/ingest/event-id.ts';
import type { IngestSummary } from '../../src/services/log-ingest.service.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const BATCH = 7;

/** A file of every kind of record, `n` rounds long, starting at round `from`. */
function content(from: number, n: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = from; i < from + n; i++) {
    parts.push(
      Buffer.from(
        [
          `Dec 10 06:55:${String(i % 60).padStart(2, '0')} LabSZ sshd[${24200 + i}]: Failed password for invalid user admin${i} from 173.234.31.${i % 250} port ${38926 + i} ssh2`,
          JSON.stringify({ ts: `2024-03-01T10:00:${String(i % 60).padStart(2, '0')}Z`, user: `u${i}`, n: i }),
          '',
          `<34>1 2024-03-01T10:11:${String(i % 60).padStart(2, '0')}Z mymachine su - ID47 - 'su root' failed for lonvick on /dev/pts/${i}\r`,
          `a line with no time at all ${i}`,
          '',
        ].join('\n') + '\n',
      ),
    );
    if (i % 3 === 0) parts.push(Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x0a])); // not UTF-8
    if (i % 5 === 0) parts.push(Buffer.from('x'.repeat(2000) + '\n')); // over maxRecordBytes
  }
  return Buffer.concat(parts);
}

const matrix = [
  { store: 'duckdb' as const, engine: 'pglite' as const },
  ...engines().map((engine) => ({ store: 'postgres' as const, engine })),
];

describe.each(matrix)('ingest worker thread ($store store, $engine)', ({ store, engine }) => {
  let t: TestDb;
  const dirs: string[] = [];
  /** in place: the main thread parses; worker: every file goes to the worker thread. */
  let inPlace: Container;
  let worker: Container;
  let tenantA: Tenant;
  let tenantB: Tenant;

  async function container(workerThread: boolean): Promise<Container> {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-worker-'));
    dirs.push(dir);
    const config = loadConfig({
      env: {
        LOG_LEVEL: 'silent',
        VIGIL_DATA_DIR: dir,
        VIGIL_LOG_STORE: store,
        VIGIL__LOGS__BATCH_SIZE: String(BATCH),
        VIGIL__LOGS__MAX_RECORD_BYTES: '1024',
        VIGIL__LOGS__WORKER_THREAD: String(workerThread),
        VIGIL__LOGS__WORKER_MIN_BYTES: '0',
        // The worker posts parts of 3 records, joined into batches of at least BATCH: joins are exercised.
        VIGIL__LOGS__WORKER_PART_SIZE: '3',
      },
    });
    return createContainer(config, createLogger(config), t.db);
  }

  beforeAll(async () => {
    t = await createTestDb(engine);
    inPlace = await container(false);
    worker = await container(true);
    tenantA = await makeTenant(t.db, 'A');
    tenantB = await makeTenant(t.db, 'B');
  });
  afterAll(async () => {
    for (const c of [inPlace, worker]) if (c) await (await c.logStore()).close();
    await t?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const comparable = (s: IngestSummary) => ({
    read: s.read,
    accepted: s.accepted,
    rejected: s.rejected,
    duplicates: s.duplicates,
    resumed: s.resumed,
    skipped: s.skipped,
    blank: s.blank,
    bytes: s.bytes,
    rejectReasons: s.rejectReasons,
  });

  async function events(c: Container, tenantId: string) {
    const rows: LogEventRow[] = await (await c.logStore()).readSince(tenantId, 0, 10_000);
    return rows
      .map((r) => ({
        id: r.id,
        timestamp: r.timestamp.toISOString(),
        raw: r.raw,
        appname: r.appname,
        host: r.host,
        message: r.message,
        procid: r.procid,
        sourceType: r.sourceType,
        normalized: r.normalized,
        // The run id differs between the two runs; everything else must not.
        metadata: { ...r.metadata, run: undefined },
        original: r.original,
      }))
      .sort((x, y) => x.id.localeCompare(y.id));
  }

  async function quarantine(c: Container, tenantId: string) {
    const q = await (await c.logStore()).listQuarantine(tenantId, { limit: 1000 });
    return q.items
      .map((r) => ({
        id: r.id,
        reason: r.reason,
        position: r.position,
        line: r.line,
        raw: [...r.raw],
        size: r.rawSize,
      }))
      .sort((x, y) => x.id.localeCompare(y.id));
  }

  it('gives the same events, quarantine, checkpoint and summary as the in-place pipeline, fresh and resumed', async () => {
    // Each container's store is its own, so the same tenant can be used on both (the PostgreSQL stores share
    // one database: there each side gets its own tenant, and ids are compared through a second run below).
    const dir = mkdtempSync(join(tmpdir(), 'vigil-worker-file-'));
    dirs.push(dir);
    const file = join(dir, 'mixed.log');
    writeFileSync(file, content(0, 40));
    const tA = tenantA;
    const tB = store === 'duckdb' ? tenantA : tenantB;

    const s1 = await inPlace.services.logIngest.ingestFile({ tenant: tA.slug }, file);
    const w1 = await worker.services.logIngest.ingestFile({ tenant: tB.slug }, file);
    expect(s1.read).toBe(40 * 4 + 14 + 8);
    expect(s1.rejected).toBeGreaterThan(10);
    expect(s1.rejectReasons).toHaveProperty('invalid_utf8');
    expect(s1.rejectReasons).toHaveProperty('oversized');
    expect(s1.read).toBe(s1.accepted + s1.rejected + s1.duplicates);
    expect(comparable(w1)).toEqual(comparable(s1));

    // More lines arrive: the next run of each resumes from its checkpoint.
    appendFileSync(file, content(40, 25));
    const s2 = await inPlace.services.logIngest.ingestFile({ tenant: tA.slug }, file);
    const w2 = await worker.services.logIngest.ingestFile({ tenant: tB.slug }, file);
    expect(s2.resumed).toBe(s1.read);
    expect(s2.accepted).toBe(25 * 4);
    expect(comparable(w2)).toEqual(comparable(s2));

    if (store === 'duckdb') {
      const [e1, e2] = [await events(inPlace, tA.id), await events(worker, tB.id)];
      expect(e1.length).toBe(s1.accepted + s2.accepted);
      expect(e2).toEqual(e1);
      expect(await quarantine(worker, tB.id)).toEqual(await quarantine(inPlace, tA.id));
      const key = streamKey(tA.id, '', content(0, 1).subarray(0, content(0, 1).indexOf(10)));
      const [c1, c2] = [
        await (await inPlace.logStore()).getCheckpoint(tA.id, key),
        await (await worker.logStore()).getCheckpoint(tB.id, key),
      ];
      expect(c1?.offset).toBe(content(0, 65).length);
      expect({ ...c2, updatedAt: undefined, firstSeen: undefined }).toEqual({
        ...c1,
        updatedAt: undefined,
        firstSeen: undefined,
      });
    } else {
      // One database: the same file through the other path for the same tenant must be all duplicates
      // (same ids), and the events of both tenants the same apart from their ids.
      const again = await inPlace.services.logIngest.ingestFile({ tenant: tB.slug }, file, { resume: false });
      expect(again.accepted).toBe(0);
      expect(again.read).toBe(s2.read);
      expect(again.duplicates).toBe(s1.accepted + s2.accepted);
      const strip = (rows: Awaited<ReturnType<typeof events>>) =>
        rows
          .map((r) => ({ ...r, id: undefined }))
          .sort((x, y) => x.raw.localeCompare(y.raw) || x.timestamp.localeCompare(y.timestamp));
      expect(strip(await events(worker, tB.id))).toEqual(strip(await events(inPlace, tA.id)));
    }
  });

  // The failure hook (beforeCommit) is the DuckDB store's.
  if (store === 'duckdb')
    it('a store failure mid-file fails the run, stops the worker and keeps what committed before', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vigil-worker-fail-'));
      dirs.push(dir);
      const file = join(dir, 'fail.log');
      writeFileSync(file, content(100, 30));
      const duck = (await worker.logStore()) as unknown as { beforeCommit: (() => void) | undefined };
      let commits = 0;
      duck.beforeCommit = () => {
        if (++commits === 4) throw new Error('disk on fire');
      };
      try {
        await expect(
          worker.services.logIngest.ingestFile({ tenant: tenantB.slug }, file, { resume: false }),
        ).rejects.toThrow('disk on fire');
      } finally {
        duck.beforeCommit = undefined;
      }
      // Three batches committed, with their checkpoint: the next run resumes after them and stores the rest.
      const again = await worker.services.logIngest.ingestFile({ tenant: tenantB.slug }, file);
      expect(again.resumed).toBeGreaterThan(0);
      expect(again.resumed).toBeLessThan(again.read);
      const whole = await inPlace.services.logIngest.ingestFile({ tenant: tenantB.slug }, file);
      expect(again.read).toBe(whole.read);
      expect(again.accepted + again.rejected + again.duplicates).toBe(again.read);
    });
});
