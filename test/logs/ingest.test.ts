/**
 * The ingest pipeline end to end on both log stores: real Loghub files in, summaries that add up, nothing
 * doubled on re-ingest, bad records quarantined with their reasons while the rest of the batch goes through,
 * resume from the stream checkpoint, HTTP-style batches, file follow.
 */
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { createLogger } from '../../src/config/logger.ts';
import { createContainer, type Container } from '../../src/container.ts';
import type { Engine } from '../../src/db/client.ts';
import type { Tenant } from '../../src/repositories/tenant.repository.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';
import { ValidationError } from '../../src/domain/errors.ts';
import { parseDeclaredLogsource } from '../../src/domain/schemas/log.schema.ts';
import { SigmaService } from '../../src/services/sigma.service.ts';

const SHARED = resolve(import.meta.dirname, '../../../shared/data');
const LOGHUB = join(SHARED, 'logs/loghub');
const hasShared = existsSync(LOGHUB);
if (!hasShared) console.warn(`skipping real-data ingest tests: ${LOGHUB} is absent`);

type StoreKind = 'duckdb' | 'postgres';
const matrix: [StoreKind, Engine][] = [
  ['duckdb', 'pglite'],
  ...engines().map((e): [StoreKind, Engine] => ['postgres', e]),
];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((d) => (d.isDirectory() ? listFiles(join(dir, d.name)) : [join(dir, d.name)]))
    .sort();
}

describe.each(matrix)('ingest pipeline into %s (relational: %s)', (store, engine) => {
  let t: TestDb;
  let c: Container;
  let dir: string;
  let a: Tenant;
  let b: Tenant;
  let config: Config;

  beforeAll(async () => {
    t = await createTestDb(engine);
    dir = mkdtempSync(join(tmpdir(), 'vigil-ingest-'));
    config = loadConfig({
      env: {
        LOG_LEVEL: 'silent',
        VIGIL_DATA_DIR: dir,
        VIGIL_LOG_STORE: store,
        VIGIL__LOGS__BATCH_SIZE: '500',
      },
    });
    c = await createContainer(config, createLogger(config), t.db);
    a = await makeTenant(t.db, 'A');
    b = await makeTenant(t.db, 'B');
  });
  afterAll(async () => {
    if (c) await (await c.logStore()).close();
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!hasShared)(
    'ingests OpenSSH_2k.log: 2000 read, 2000 accepted, summary adds up, run recorded',
    async () => {
      const s = await c.services.logIngest.ingestFile({ tenant: a.slug }, join(LOGHUB, 'OpenSSH_2k.log'));
      expect(s).toMatchObject({ read: 2000, accepted: 2000, rejected: 0, duplicates: 0 });
      expect(s.read).toBe(s.accepted + s.rejected + s.duplicates);
      const logs = await c.logStore();
      expect(await logs.count(a.id)).toBe(2000);
      expect(await logs.count(b.id)).toBe(0);
      const run = await c.repos.ingestionRuns.get(s.runId);
      expect(run).toMatchObject({
        status: 'success',
        kind: 'logs',
        tenantId: a.id,
        recordsFetched: 2000,
        recordsInserted: 2000,
        recordsFailed: 0,
        recordsDuplicate: 0,
      });
      const page = await logs.fetchLogs(a.id, { filters: { appname: 'sshd' }, limit: 5 });
      expect(page.items).toHaveLength(5);
      expect(page.items[0]!.host).toBe('LabSZ');
      expect(page.items[0]!.sourceType).toBe('syslog_rfc3164');
    },
  );

  // The real-data sweep runs once, on the default store (the PostgreSQL store runs every other test here).
  if (store === 'duckdb')
    it.skipIf(!hasShared)(
      'ingests every shared log file, the OTRF data sets and the SigmaHQ regression events with no reject',
      async () => {
        const files = [
          ...listFiles(join(SHARED, 'logs')),
          ...listFiles(join(SHARED, 'sigma_logs/otrf_security_datasets')).filter(
            (f) => !/\/(LICENSE|[^/]+\.ya?ml)$/.test(f),
          ),
          ...listFiles(join(SHARED, 'sigma_logs/sigmahq_regression_data')).filter((f) =>
            /\.(json|jsoncls|raw)$/.test(f),
          ),
        ];
        expect(files.length).toBeGreaterThan(140);
        let read = 0;
        const rejected: string[] = [];
        const seen = new Set<string>();
        const tenant = await makeTenant(t.db, 'All');
        for (const f of files) {
          const s = await c.services.logIngest.ingestFile({ tenant: tenant.slug }, f);
          expect(s.read, f).toBe(s.accepted + s.rejected + s.duplicates);
          // A file whose bytes equal an earlier file's (one regression .jsoncls repeats its .json) is all
          // duplicates, as it should be; every other file adds all its records.
          const digest = createHash('sha256').update(readFileSync(f)).digest('hex');
          expect(s.duplicates, f).toBe(seen.has(digest) ? s.read : 0);
          seen.add(digest);
          if (s.rejected) rejected.push(`${f}: ${JSON.stringify(s.rejectReasons)}`);
          read += s.read;
        }
        expect(rejected, rejected.join('\n')).toEqual([]);
        expect(read).toBeGreaterThan(140_000);
        const logs = await c.logStore();
        const stored = await logs.count(tenant.id);
        expect(stored).toBeGreaterThan(140_000);
        expect(stored).toBeLessThanOrEqual(read);
        // Windows events of both shapes (nested regression events, flat OTRF) share one normalised vocabulary.
        expect(await logs.count(tenant.id, { filters: { source_type: 'windows_event' } })).toBeGreaterThan(
          7_900,
        );
        const sysmon = await logs.fetchLogs(tenant.id, {
          filters: { 'normalized.channel': 'Microsoft-Windows-Sysmon/Operational' },
          limit: 50,
        });
        expect(sysmon.items.length).toBe(50);
        for (const e of sysmon.items) {
          expect(e.normalized.event_id).toBeTypeOf('number');
          expect(e.normalized.event_data).toBeTypeOf('object');
        }
      },
      240_000,
    );

  it.skipIf(!hasShared)(
    're-ingesting the same file adds nothing: every record a duplicate (with and without resume)',
    async () => {
      const path = join(LOGHUB, 'OpenSSH_2k.log');
      const again = await c.services.logIngest.ingestFile({ tenant: a.slug }, path);
      expect(again).toMatchObject({ read: 2000, accepted: 0, rejected: 0, duplicates: 2000, resumed: 2000 });
      // Without the checkpoint every line is read and parsed again; the content-derived ids keep them single.
      const full = await c.services.logIngest.ingestFile({ tenant: a.slug }, path, { resume: false });
      expect(full).toMatchObject({ read: 2000, accepted: 0, rejected: 0, duplicates: 2000, resumed: 0 });
      // A copy under another name is the same stream.
      const copy = join(dir, 'copy-of-openssh.log');
      writeFileSync(copy, readFileSync(path));
      const viaCopy = await c.services.logIngest.ingestFile({ tenant: a.slug }, copy, { resume: false });
      expect(viaCopy.accepted).toBe(0);
      expect(await (await c.logStore()).count(a.id)).toBe(2000);
      // The same file in another tenant is that tenant's own events.
      const other = await c.services.logIngest.ingestFile({ tenant: b.slug }, path);
      expect(other.accepted).toBe(2000);
      expect(await (await c.logStore()).count(b.id)).toBe(2000);
    },
  );

  it('quarantines malformed, oversized and non-UTF-8 records with their reasons; the rest goes through', async () => {
    const path = join(dir, 'mixed.log');
    const big = 'x'.repeat(config.logs.maxRecordBytes + 10);
    const lines = [
      Buffer.from(
        '<34>1 2026-03-01T10:00:00Z host1 sshd 100 - - Failed password for root from 203.0.113.5 port 22 ssh2\n',
      ),
      Buffer.from('{"timestamp":"2026-03-01T10:00:01Z","host":"web1","msg":"ok"}\n'),
      Buffer.from('{"broken": \n'),
      Buffer.from([0x4d, 0x61, 0x72, 0x20, 0xff, 0xfe, 0x0a]), // "Mar " then invalid UTF-8
      Buffer.from(`${big}\n`),
      Buffer.from('\n'),
      Buffer.from('Mar  1 10:00:02 host2 kernel: [1.0] usb 1-1: new device\n'),
    ];
    writeFileSync(path, Buffer.concat(lines));
    const s = await c.services.logIngest.ingestFile({ tenant: a.slug }, path);
    expect(s.read).toBe(6);
    expect(s.blank).toBe(1);
    expect(s).toMatchObject({ accepted: 3, rejected: 3, duplicates: 0 });
    expect(s.rejectReasons).toMatchObject({ invalid_json: 1, invalid_utf8: 1, oversized: 1 });
    const q = await c.services.logs.quarantine(a.id, { runId: s.runId });
    expect(q.total).toBe(3);
    const byReason = Object.fromEntries(q.items.map((i) => [i.reason.split(':')[0], i]));
    expect(Buffer.from(byReason.invalid_utf8!.raw)).toEqual(
      Buffer.from([0x4d, 0x61, 0x72, 0x20, 0xff, 0xfe]),
    );
    expect(byReason.oversized!.rawSize).toBe(big.length);
    expect(byReason.oversized!.raw.length).toBeLessThanOrEqual(config.logs.quarantineMaxBytes);
    expect(byReason.invalid_json!.line).toBe(3);
    // Other tenants see none of it.
    expect((await c.services.logs.quarantine(b.id, { runId: s.runId })).total).toBe(0);
    // Ingesting the same file again quarantines nothing twice.
    const again = await c.services.logIngest.ingestFile({ tenant: a.slug }, path, { resume: false });
    expect(again).toMatchObject({ read: 6, accepted: 0 });
    expect(again.read).toBe(again.accepted + again.rejected + again.duplicates);
  });

  it('never resumes a file from the checkpoint of another file that shares its first line', async () => {
    const header = 'time,name,ip,host\n';
    const one = join(dir, 'alerts-one.csv');
    const two = join(dir, 'alerts-two.csv');
    writeFileSync(one, header + '1643069179,scan,10.0.0.1,a\n1643069180,scan,10.0.0.2,b\n');
    writeFileSync(
      two,
      header + '1643069190,login,10.0.0.3,c\n1643069191,login,10.0.0.4,d\n1643069192,x,10.0.0.5,e\n',
    );
    expect(await c.services.logIngest.ingestFile({ tenant: a.slug }, one)).toMatchObject({
      accepted: 2,
      skipped: 1,
    });
    // Read again: all resumed, and the checkpoint stays at the end of the file.
    expect(await c.services.logIngest.ingestFile({ tenant: a.slug }, one)).toMatchObject({
      read: 2,
      accepted: 0,
      resumed: 2,
    });
    expect(await c.services.logIngest.ingestFile({ tenant: a.slug }, two)).toMatchObject({
      read: 3,
      accepted: 3,
      resumed: 0,
      rejected: 0,
    });
  });

  it('resumes from the checkpoint after a partial run: the rest is read, nothing doubled', async () => {
    const path = join(dir, 'grow.log');
    const line = (i: number) =>
      `Mar  2 10:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')} gw sshd[${1000 + i}]: Failed password for invalid user u${i} from 198.51.100.${i % 250} port ${40000 + i} ssh2\n`;
    writeFileSync(path, Array.from({ length: 1200 }, (_, i) => line(i)).join(''));
    const first = await c.services.logIngest.ingestFile({ tenant: a.slug }, path);
    expect(first.accepted).toBe(1200);
    appendFileSync(path, Array.from({ length: 300 }, (_, i) => line(1200 + i)).join(''));
    const second = await c.services.logIngest.ingestFile({ tenant: a.slug }, path);
    expect(second).toMatchObject({ read: 1500, accepted: 300, duplicates: 1200, resumed: 1200 });
    const n = await (await c.logStore()).count(a.id, { filters: { file: path } });
    expect(n).toBe(1500);
  });

  it('ingests a byte stream (stdin): piped again, every record is a duplicate', async () => {
    const text = Array.from(
      { length: 50 },
      (_, i) => `Mar  6 00:00:${String(i).padStart(2, '0')} pipe app[${i}]: line ${i}\n`,
    ).join('');
    const chunks = () => Readable.from([Buffer.from(text.slice(0, 333)), Buffer.from(text.slice(333))]);
    const first = await c.services.logIngest.ingestChunks({ tenant: a.slug }, 'stdin', chunks());
    expect(first).toMatchObject({ read: 50, accepted: 50, duplicates: 0, bytes: Buffer.byteLength(text) });
    const again = await c.services.logIngest.ingestChunks({ tenant: a.slug }, 'stdin', chunks());
    expect(again).toMatchObject({ read: 50, accepted: 0, duplicates: 50, resumed: 0 });
  });

  it('ingests already-framed records (HTTP batches): a retried batch adds nothing', async () => {
    const records = [
      { text: JSON.stringify({ '@timestamp': '2026-03-03T00:00:00Z', host: 'h', message: 'one' }) },
      { text: JSON.stringify({ '@timestamp': '2026-03-03T00:00:01Z', host: 'h', message: 'two' }) },
      { text: '{not json' },
      { text: 'Mar  3 00:00:02 h app[1]: a plain syslog line' },
    ];
    const s1 = await c.services.logIngest.ingestRecords({ tenant: a.id }, 'http', records);
    expect(s1).toMatchObject({ read: 4, accepted: 3, rejected: 1, duplicates: 0 });
    const s2 = await c.services.logIngest.ingestRecords({ tenant: a.id }, 'http', records);
    expect(s2).toMatchObject({ read: 4, accepted: 0, duplicates: 3 });
  });

  it('stores a declared logsource (--logsource) on every event of the run as metadata.logsource', async () => {
    const path = join(dir, 'macos-esf.ndjson');
    writeFileSync(
      path,
      [
        { timestamp: '2026-03-05T00:00:00Z', host: 'mbp', Image: '/usr/bin/osascript', CommandLine: 'a' },
        { timestamp: '2026-03-05T00:00:01Z', host: 'mbp', Image: '/bin/ls', CommandLine: 'b' },
      ]
        .map((e) => JSON.stringify(e) + '\n')
        .join(''),
    );
    const logsource = { product: 'macos', category: 'process_creation' };
    const s = await c.services.logIngest.ingestFile({ tenant: a.slug }, path, { logsource });
    expect(s).toMatchObject({ read: 2, accepted: 2 });
    const page = await c.services.logs.search(a.id, { filters: { file: path } });
    expect(page.items).toHaveLength(2);
    for (const e of page.items) expect(e.metadata.logsource).toEqual(logsource);
    // A macOS rule (a declared pipeline entry) selects them in this store's SQL dialect.
    const rule = new SigmaService().prepare([
      {
        file: 'osascript.yml',
        text: 'title: osascript\nlogsource: {product: macos, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: /osascript\n  condition: sel\n',
      },
    ]).rules[0]!;
    const logs = await c.logStore();
    const found = await logs.detect(a.id, [{ key: 'r', node: rule.node }], {
      afterSeq: 0,
      uptoSeq: await logs.maxSeq(a.id),
      maxMatchesPerRule: 10,
    });
    expect(found.errors.size).toBe(0);
    expect(found.matches.get('r')?.count).toBe(1);
    // HTTP batches too; without the option no logsource is stored.
    const records = [{ text: JSON.stringify({ '@timestamp': '2026-03-05T00:00:02Z', message: 'av hit' }) }];
    await c.services.logIngest.ingestRecords({ tenant: a.id }, 'http-av', records, {
      logsource: { category: 'antivirus' },
    });
    const av = await c.services.logs.search(a.id, { text: 'av hit' });
    expect(av.items.map((e) => e.metadata.logsource)).toEqual([{ category: 'antivirus' }]);
    await c.services.logIngest.ingestRecords({ tenant: a.id }, 'http-plain', [
      { text: JSON.stringify({ '@timestamp': '2026-03-05T00:00:03Z', message: 'undeclared source' }) },
    ]);
    const plain = await c.services.logs.search(a.id, { text: 'undeclared source' });
    expect(plain.items.length).toBeGreaterThan(0);
    for (const e of plain.items) expect(e.metadata).not.toHaveProperty('logsource');
  });

  it('refuses a bad declared logsource before it opens a run', async () => {
    const path = join(dir, 'macos-esf.ndjson');
    for (const logsource of [
      { product: 'Mac OS' },
      { product: 'x'.repeat(65) },
      { vendor: 'apple' },
      {},
    ] as unknown as { product?: string }[]) {
      await expect(
        c.services.logIngest.ingestFile({ tenant: a.slug }, path, { logsource }),
        JSON.stringify(logsource),
      ).rejects.toThrow(/invalid logsource/);
      await expect(
        c.services.logIngest.ingestRecords({ tenant: a.id }, 'http', [], { logsource }),
      ).rejects.toThrow(/invalid logsource/);
    }
  });

  it('parses --logsource / ?logsource= values and refuses bad ones', () => {
    expect(parseDeclaredLogsource('product=macos,category=process_creation')).toEqual({
      product: 'macos',
      category: 'process_creation',
    });
    expect(parseDeclaredLogsource('service=sslvpnd, product=fortios')).toEqual({
      service: 'sslvpnd',
      product: 'fortios',
    });
    for (const bad of [
      '',
      'macos',
      'product=',
      'product=MacOS',
      'product=a b',
      'vendor=apple',
      'product=a,product=b',
      '__proto__=x',
      `product=${'a'.repeat(65)}`,
    ])
      expect(() => parseDeclaredLogsource(bad), bad).toThrow(ValidationError);
  });

  it('refuses an unknown tenant or source with NotFound', async () => {
    await expect(
      c.services.logIngest.ingestRecords({ tenant: 'no-such-tenant' }, 'http', []),
    ).rejects.toThrow(/tenant no-such-tenant not found/);
    await expect(
      c.services.logIngest.ingestRecords({ tenant: a.slug, source: 'no-such-source' }, 'http', []),
    ).rejects.toThrow(/source no-such-source not found/);
  });

  it('follows a file: appended complete lines arrive, a half-written line waits for its newline', async () => {
    const path = join(dir, 'follow.log');
    writeFileSync(path, 'Mar  4 00:00:00 f app: line 1\nMar  4 00:00:01 f app: line 2\n');
    const ac = new AbortController();
    const runs: number[] = [];
    const following = c.services.logIngest.follow({ tenant: a.slug }, path, {
      pollMs: 50,
      signal: ac.signal,
      onRun: (s) => runs.push(s.accepted),
    });
    const count = async () => (await c.logStore()).count(a.id, { filters: { file: path } });
    const until = async (n: number) => {
      for (let i = 0; i < 200 && (await count()) < n; i++) await new Promise((r) => setTimeout(r, 25));
      return count();
    };
    expect(await until(2)).toBe(2);
    appendFileSync(path, 'Mar  4 00:00:02 f app: line 3\nMar  4 00:00:03 f app: li');
    expect(await until(3)).toBe(3);
    await new Promise((r) => setTimeout(r, 200));
    expect(await count()).toBe(3);
    appendFileSync(path, 'ne 4\n');
    expect(await until(4)).toBe(4);
    ac.abort();
    await following;
    const page = await (await c.logStore()).fetchLogs(a.id, { filters: { file: path }, limit: 10 });
    expect(page.items.map((e) => e.message).sort()).toEqual(['line 1', 'line 2', 'line 3', 'line 4']);
    expect(runs.reduce((x, y) => x + y, 0)).toBe(4);
  });
});
