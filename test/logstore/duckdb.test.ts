import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import duckdb from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError, ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import { DuckDbLogStore } from '../../src/logstore/duckdb/duckdb-log-store.ts';
import { describeLogStore, makeEvents, makeQuarantine } from './log-store.suite.ts';

describeLogStore('duckdb', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-duckdb-'));
  const store = new DuckDbLogStore(join(dir, 'logs.duckdb'));
  await store.init();
  return {
    store,
    async dispose() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const T0 = Date.parse('2024-03-01T00:00:00.000Z');

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a ValidationError').toBeInstanceOf(ValidationError);
  return (err as Error).message;
}

describe('DuckDbLogStore', () => {
  let dir: string;
  let store: DuckDbLogStore;
  const a = uuidv7();
  const b = uuidv7();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-duckdb-'));
    store = new DuckDbLogStore(join(dir, 'logs.duckdb'));
    await store.init();
    await store.append({ tenantId: a, events: makeEvents(a, 60), quarantine: [makeQuarantine(a, 1)] });
    await store.append({ tenantId: b, events: makeEvents(b, 60, 1000), quarantine: [makeQuarantine(b, 1)] });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('console: DuckDB-specific attacks', () => {
    const attacks: [string, string, RegExp][] = [
      ['a replacement scan of a file', `SELECT * FROM '/etc/passwd'`, /not allowed/],
      ['a replacement scan of a CSV', `SELECT * FROM 'data.csv'`, /not allowed/],
      ['a replacement scan hidden in a join', `SELECT * FROM logs, "/etc/hosts"`, /not allowed/],
      ['read_csv', `SELECT * FROM read_csv('/etc/passwd')`, /read_csv/],
      ['read_csv_auto', `SELECT * FROM read_csv_auto('/etc/passwd')`, /read_csv_auto/],
      ['read_text', `SELECT * FROM read_text('/etc/passwd')`, /read_text/],
      ['read_blob', `SELECT content FROM read_blob('/etc/shadow')`, /read_blob/],
      ['read_parquet', `SELECT * FROM read_parquet('s3://bucket/x.parquet')`, /read_parquet/],
      ['glob', `SELECT * FROM glob('/*')`, /glob/],
      ['a table function without parentheses', `SELECT * FROM read_csv`, /not allowed/],
      ['range', `SELECT count(*) FROM range(1000000000000)`, /range/],
      ['scalar range', `SELECT range(1000000000)`, /range/],
      ['repeat', `SELECT repeat('x', 2000000000)`, /repeat/],
      ['duckdb_tables()', `SELECT * FROM duckdb_tables()`, /duckdb_tables/],
      ['duckdb_settings()', `SELECT * FROM duckdb_settings()`, /duckdb_settings/],
      ['duckdb_databases()', `SELECT * FROM duckdb_databases()`, /duckdb_databases/],
      ['a duckdb_ view', `SELECT * FROM duckdb_tables`, /not allowed/],
      ['sqlite_master', `SELECT * FROM sqlite_master`, /not allowed/],
      ['pg_class unqualified', `SELECT * FROM pg_class`, /not allowed/],
      ['query()', `SELECT * FROM query('SELECT * FROM log_events')`, /query/],
      ['query_table()', `SELECT * FROM query_table('log_events')`, /query_table/],
      [
        'json_execute_serialized_sql',
        `SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT * FROM log_events'))`,
        /json_execute_serialized_sql|json_serialize_sql/,
      ],
      [
        'json_serialize_plan',
        `SELECT json_serialize_plan('SELECT * FROM log_events')`,
        /json_serialize_plan/,
      ],
      ['sql_auto_complete', `SELECT * FROM sql_auto_complete('SEL')`, /sql_auto_complete/],
      ['getenv', `SELECT getenv('HOME')`, /getenv/],
      ['current_setting', `SELECT current_setting('enable_external_access')`, /current_setting/],
      ['a qualified function', `SELECT pg_catalog.current_setting('threads')`, /current_setting|qualified/],
      ['getvariable', `SELECT getvariable('x')`, /getvariable/],
      ['the physical table', `SELECT * FROM log_events`, /not allowed/],
      ['main.logs', `SELECT * FROM main.logs`, /not allowed/],
      ['"main"."logs"', `SELECT * FROM "main"."logs"`, /not allowed/],
      ['memory.main.logs', `SELECT * FROM memory.main.logs`, /not allowed/],
      ['main.log_events', `SELECT * FROM main.log_events`, /not allowed/],
      ['the staging table', `SELECT * FROM temp.main.stage_events`, /not allowed/],
      ['information_schema', `SELECT * FROM information_schema.columns`, /not allowed/],
      [
        'a CTE whose body reads the table it is named after',
        `WITH log_events AS (SELECT * FROM log_events) SELECT * FROM log_events`,
        /log_events/,
      ],
      [
        'a CTE named like a system view',
        `WITH sqlite_master AS (SELECT 1) SELECT * FROM sqlite_master`,
        /sqlite_master/,
      ],
      ['a CTE named like a file', `WITH "x.csv" AS (SELECT 1) SELECT * FROM "x.csv"`, /identifier/],
      [
        'a CTE referenced out of its scope',
        `SELECT * FROM (WITH mine AS (SELECT 1 AS x) SELECT * FROM mine) s, mine`,
        /mine/,
      ],
      [
        'a CTE referencing a later one',
        `WITH x AS (SELECT * FROM y), y AS (SELECT 1) SELECT * FROM x`,
        /"y"/,
      ],
      ['a nested CTE shadowing logs', `SELECT * FROM (WITH logs AS (SELECT 1) SELECT * FROM logs)`, /logs/],
      ['time travel', `SELECT * FROM logs AT (VERSION => 1)`, /AT/],
      ['COPY', `COPY logs TO '/tmp/out.csv'`, /SELECT/],
      ['COPY of a query', `COPY (SELECT * FROM logs) TO '/tmp/out.parquet' (FORMAT parquet)`, /SELECT/],
      ['EXPORT DATABASE', `EXPORT DATABASE '/tmp/dump'`, /SELECT/],
      ['ATTACH', `ATTACH '/tmp/other.duckdb' AS other`, /SELECT/],
      ['DETACH', `DETACH memory`, /SELECT/],
      ['SET enable_external_access', `SET enable_external_access = true`, /SELECT/],
      ['RESET', `RESET lock_configuration`, /SELECT/],
      ['INSTALL', `INSTALL httpfs`, /SELECT/],
      ['LOAD', `LOAD httpfs`, /SELECT/],
      ['PRAGMA', `PRAGMA database_list`, /SELECT/],
      ['CALL', `CALL duckdb_tables()`, /SELECT/],
      ['EXPLAIN', `EXPLAIN SELECT * FROM log_events`, /SELECT/],
      ['EXPLAIN ANALYZE', `EXPLAIN ANALYZE SELECT 1`, /SELECT/],
      ['CHECKPOINT', `CHECKPOINT`, /SELECT/],
      ['CREATE MACRO', `CREATE MACRO m() AS TABLE SELECT * FROM log_events`, /SELECT/],
      ['CREATE SECRET', `CREATE SECRET (TYPE s3, KEY_ID 'x', SECRET 'y')`, /SELECT/],
      ['USE', `USE memory`, /SELECT/],
      ['VACUUM', `VACUUM`, /SELECT/],
      ['SHOW TABLES', `SHOW TABLES`, /SHOW/],
      ['DESCRIBE', `DESCRIBE log_events`, /SHOW|DESCRIBE/],
      ['SUMMARIZE', `SUMMARIZE log_events`, /SUMMARIZE/],
      ['PIVOT', `SELECT * FROM logs PIVOT (count(*) FOR appname IN ('sshd'))`, /PIVOT/],
      [
        'a statement hidden after a line comment',
        `SELECT 1 -- comment\n; DELETE FROM log_events`,
        /SELECT|statement/,
      ],
      [
        'a statement hidden in a block comment trick',
        `SELECT 1 /* */; ATTACH '/tmp/x' /* */`,
        /SELECT|statement/,
      ],
      ['an unterminated comment', `SELECT * FROM logs /*`, /syntax|SELECT/],
    ];
    for (const [what, sql, pattern] of attacks) {
      it(`refuses ${what}`, async () => {
        expect(await refusal(store.console(a, sql))).toMatch(pattern);
      });
    }

    it('cancels a cross join at the time limit with an interrupt', async () => {
      const started = Date.now();
      const message = await refusal(
        store.console(
          a,
          'SELECT sum(l1.procid * l2.procid + l3.procid * l4.procid + l5.procid) FROM logs l1, logs l2, logs l3, logs l4, logs l5',
          {
            timeoutMs: 300,
          },
        ),
      );
      expect(message).toMatch(/time limit of 300 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('runs DuckDB analytics: json_extract, unnest, lists, regexp, time_bucket, QUALIFY', async () => {
      const j = await store.console(
        a,
        `SELECT json_extract_string(normalized, '$.user.name') AS u, count(*) AS n FROM logs GROUP BY u ORDER BY n DESC, u`,
      );
      expect(j.rows).toEqual([
        ['alice', 20],
        ['bob', 20],
        ['root', 20],
      ]);
      const u = await store.console(a, `SELECT x FROM (SELECT unnest([1, 2, 3]) AS x) ORDER BY x`);
      expect(u.rows).toEqual([[1], [2], [3]]);
      const r = await store.console(
        a,
        `SELECT regexp_extract(message, 'for (\\w+)', 1) AS who, list(DISTINCT host ORDER BY host) AS hosts
         FROM logs WHERE regexp_matches(message, '^Failed') GROUP BY who ORDER BY who`,
      );
      expect(r.rows[0]).toEqual(['alice', ['web-0']]);
      const tb = await store.console(
        a,
        `SELECT time_bucket(INTERVAL '5 minutes', "timestamp") AS b, count(*) FROM logs GROUP BY b ORDER BY b LIMIT 1`,
      );
      expect(tb.rows).toEqual([['2024-03-01T00:00:00.000Z', 30]]);
      const q = await store.console(
        a,
        `SELECT id FROM logs QUALIFY row_number() OVER (ORDER BY seq DESC) <= 2`,
      );
      expect(q.rows).toHaveLength(2);
      const rec = await store.console(
        a,
        `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT sum(n) FROM r`,
      );
      expect(rec.rows).toEqual([[15]]);
      const big = await store.console(
        a,
        `SELECT 9007199254740993::HUGEINT AS h, 1.5::DECIMAL(4,1) AS d, 'x'::BLOB AS bl`,
      );
      expect(big.rows[0]![0]).toBe('9007199254740993');
      expect(JSON.parse(JSON.stringify(big.rows))).toEqual(big.rows);
    });

    it('still sees only the tenant in nested CTEs and subqueries', async () => {
      const r = await store.console(
        a,
        `WITH x AS (SELECT * FROM logs), y AS (SELECT * FROM x WHERE id IN (SELECT id FROM logs))
         SELECT (SELECT count(*) FROM y), (SELECT count(DISTINCT tenant_id) FROM (SELECT tenant_id FROM logs))`,
      );
      expect(r.rows).toEqual([[60, 1]]);
    });
  });

  describe('append', () => {
    it('rolls the whole batch back when the commit fails midway', async () => {
      const t = uuidv7();
      await store.append({ tenantId: t, events: makeEvents(t, 5), quarantine: [] });
      const seqBefore = await store.maxSeq(t);
      store.beforeCommit = () => {
        throw new Error('disk full (simulated)');
      };
      try {
        await expect(
          store.append({
            tenantId: t,
            events: makeEvents(t, 10, 100),
            quarantine: [makeQuarantine(t, 5)],
            checkpoint: {
              tenantId: t,
              streamKey: 's',
              offset: 10,
              records: 10,
              path: null,
              firstSeen: new Date(T0),
            },
          }),
        ).rejects.toThrow(/simulated/);
      } finally {
        store.beforeCommit = undefined;
      }
      expect(await store.count(t)).toBe(5);
      expect((await store.listQuarantine(t)).total).toBe(0);
      expect(await store.getCheckpoint(t, 's')).toBeUndefined();
      // The seq counter did not move, and the next batch goes through.
      const next = await store.append({ tenantId: t, events: makeEvents(t, 3, 200), quarantine: [] });
      expect(next.inserted).toBe(3);
      expect(next.lastSeq).toBeGreaterThan(seqBefore);
      const rows = await store.readSince(t, seqBefore, 100);
      expect(rows.map((r) => r.seq)).toEqual([next.lastSeq - 2, next.lastSeq - 1, next.lastSeq]);
    });

    it('dedupes against events stored in earlier batches of other time ranges', async () => {
      const t = uuidv7();
      const early = makeEvents(t, 10);
      await store.append({ tenantId: t, events: early, quarantine: [] });
      await store.append({ tenantId: t, events: makeEvents(t, 10, 5000), quarantine: [] });
      const r = await store.append({
        tenantId: t,
        events: [...early.slice(3, 6), ...makeEvents(t, 2, 9000)],
        quarantine: [],
      });
      expect(r).toMatchObject({ inserted: 2, duplicates: 3 });
    });

    it('finds the stored copy of an event staged unpacked (U+0000 in a field), the latest of its range', async () => {
      const t = uuidv7();
      const events = makeEvents(t, 3).map((e, i) => (i === 2 ? { ...e, message: 'nul \u0000 inside' } : e));
      await store.append({ tenantId: t, events, quarantine: [] });
      const r = await store.append({
        tenantId: t,
        events: [events[2]!, ...makeEvents(t, 1, 50)],
        quarantine: [],
      });
      expect(r).toMatchObject({ inserted: 1, duplicates: 1 });
      expect(await store.count(t)).toBe(4);
    });
  });

  describe('append: packed staging', () => {
    it('stores each batch in seq order, once the stored side of the id check outgrows the batch too', async () => {
      // The order a later scan reads: a batch clustered by logsource must stay so on disk (detection skips a
      // vector's other logsources). A hash join's output is in no order, and DuckDB builds it on the smaller
      // side: the batch, once the table is large.
      const dir = mkdtempSync(join(tmpdir(), 'vigil-duckdb-order-'));
      const path = join(dir, 'logs.duckdb');
      const s = new DuckDbLogStore(path, { threads: 2 });
      await s.init();
      const t = uuidv7();
      try {
        for (let k = 0; k < 6; k++)
          await s.append({ tenantId: t, events: makeEvents(t, 10_000, k * 10_000), quarantine: [] });
        const next = makeEvents(t, 10_000, 60_000);
        await s.append({ tenantId: t, events: next.slice(0, 10), quarantine: [] });
        // Ten ids stored already: the anti-join path.
        expect(await s.append({ tenantId: t, events: next, quarantine: [] })).toMatchObject({
          inserted: 9_990,
          duplicates: 10,
        });
        expect(
          (await s.append({ tenantId: t, events: makeEvents(t, 10_000, 70_000), quarantine: [] })).inserted,
        ).toBe(10_000);
      } finally {
        await s.close();
      }
      const inst = await duckdb.DuckDBInstance.create(path);
      try {
        const c = await inst.connect();
        const r = await c.runAndReadAll(
          `SELECT count(*) FILTER (WHERE d <> 1), count(*),
             count(*) FILTER (WHERE appname IS DISTINCT FROM prev)
           FROM (SELECT seq - lag(seq) OVER (ORDER BY rowid) AS d, appname, lag(appname) OVER (ORDER BY rowid) AS prev
                 FROM log_events)`,
        );
        // In seq order on disk, and two clusters (sshd, cron) per batch: 9 batches, 18 runs of one app name.
        expect(r.getRowsJS()[0]!.map(Number)).toEqual([0, 80_000, 18]);
        c.closeSync();
      } finally {
        inst.closeSync();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 60_000);

    it('stores text holding U+0000 exactly, beside packed events, clustered by logsource in time order', async () => {
      const t = uuidv7();
      const events = makeEvents(t, 6).map((e, i) =>
        i === 1
          ? { ...e, raw: 'a\u0000b', message: '\u0000', appname: 'x\u0000', host: null, hostname: '' }
          : i === 4
            ? { ...e, file: '\u0000\u0000', original: { k: 'v\u0000w' }, normalized: { s: '\u0000' } }
            : e,
      );
      const r = await store.append({ tenantId: t, events, quarantine: [] });
      expect(r).toMatchObject({ inserted: 6, duplicates: 0 });
      const rows = await store.readSince(t, r.lastSeq - 6, 100);
      expect(rows.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5, 6].map((k) => r.lastSeq - 6 + k));
      // Clusters (app name here) in the order of their first event, time order within each: sshd (0, 2, 4),
      // the unpackable 'x\u0000' (1), cron (3, 5).
      const order = [0, 2, 4, 1, 3, 5];
      expect(rows.map((row) => row.id)).toEqual(order.map((i) => events[i]!.id));
      for (const [k, row] of rows.entries()) {
        const e = events[order[k]!]!;
        expect(row).toMatchObject({
          raw: e.raw,
          message: e.message,
          appname: e.appname,
          file: e.file,
          host: e.host,
          hostname: e.hostname,
          normalized: e.normalized,
          original: e.original,
        });
      }
    });

    it('orders a batch by logsource then time, keeps the earliest of a repeated id, and leaves no seq gap for stored ids', async () => {
      const t = uuidv7();
      const stored = makeEvents(t, 4, 0);
      await store.append({ tenantId: t, events: stored, quarantine: [] });
      const fresh = makeEvents(t, 4, 10);
      const later = {
        ...fresh[0]!,
        timestamp: new Date(fresh[0]!.timestamp.getTime() + 3_600_000),
        raw: 'later',
      };
      // Out of time order, two stored ids, and fresh[0] again (later in time: the earlier copy is kept).
      const batch = [fresh[3]!, stored[1]!, later, fresh[1]!, fresh[0]!, stored[2]!, fresh[2]!];
      const r = await store.append({ tenantId: t, events: batch, quarantine: [] });
      expect(r).toMatchObject({ inserted: 4, duplicates: 3 });
      const rows = await store.readSince(t, r.lastSeq - 4, 100);
      expect(rows.map((row) => row.seq)).toEqual([1, 2, 3, 4].map((k) => r.lastSeq - 4 + k));
      // Clusters by app name: cron (stored[1], fresh[1], fresh[3]) came first in time, then sshd (stored[2],
      // fresh[0], fresh[2]); the stored ids are dropped.
      expect(rows.map((row) => row.id)).toEqual([1, 3, 0, 2].map((i) => fresh[i]!.id));
      expect(rows[2]!.raw).toBe(fresh[0]!.raw);
    });
  });

  describe('lifecycle', () => {
    it('keeps events and continues seq after a reopen', async () => {
      const d = mkdtempSync(join(tmpdir(), 'vigil-duckdb-'));
      const path = join(d, 'logs.duckdb');
      const t = uuidv7();
      try {
        const s1 = new DuckDbLogStore(path);
        const r1 = await s1.append({ tenantId: t, events: makeEvents(t, 4), quarantine: [] });
        await s1.close();
        const s2 = new DuckDbLogStore(path);
        await s2.init();
        expect(await s2.count(t)).toBe(4);
        const r2 = await s2.append({ tenantId: t, events: makeEvents(t, 1, 50), quarantine: [] });
        expect(r2.lastSeq).toBe(r1.lastSeq + 1);
        await s2.close();
        await expect(s2.count(t)).rejects.toThrow(/closed/);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    });

    it('refuses a file another process holds, with a clear error', async () => {
      const d = mkdtempSync(join(tmpdir(), 'vigil-duckdb-'));
      const path = join(d, 'logs.duckdb');
      const holder = spawn(
        process.execPath,
        [
          '-e',
          `require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(path)}).then(() => console.log('ready'));
           setInterval(() => {}, 1000);`,
        ],
        { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          holder.stdout.on('data', (b: Buffer) => {
            if (b.toString().includes('ready')) resolve();
          });
          holder.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
        });
        const s = new DuckDbLogStore(path);
        const err = await s.init().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(UnavailableError);
        expect((err as Error).message).toBe(
          `log store ${path} is in use by another process (is vigil serve running?)`,
        );
      } finally {
        holder.kill();
        rmSync(d, { recursive: true, force: true });
      }
    });

    it('refuses to open the same file twice in one process', async () => {
      const d = mkdtempSync(join(tmpdir(), 'vigil-duckdb-'));
      const path = join(d, 'logs.duckdb');
      const s1 = new DuckDbLogStore(path);
      await s1.init();
      try {
        await expect(new DuckDbLogStore(path).init()).rejects.toThrow(/is in use/);
      } finally {
        await s1.close();
        rmSync(d, { recursive: true, force: true });
      }
    });

    it('works in memory', async () => {
      const s = new DuckDbLogStore(':memory:');
      const t = uuidv7();
      await s.append({ tenantId: t, events: makeEvents(t, 3), quarantine: [] });
      expect(await s.count(t)).toBe(3);
      await s.close();
    });
  });
});
