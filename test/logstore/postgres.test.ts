/**
 * The PostgreSQL log store: the shared LogStore suite on PGlite (always) and PostgreSQL (TEST_DATABASE_URL),
 * then what is particular to it: row-level security through the partitions, daily partitions and their
 * DEFAULT safety net, seq under concurrent appends, and the console's sandbox attacked through every layer
 * (the database layers also on their own, without the lexical check).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { ValidationError } from '../../src/domain/errors.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import type { LogEventInput } from '../../src/domain/log-event.ts';
import { DAY_MS, partitionName } from '../../src/logstore/postgres/partitions.ts';
import { PostgresLogStore } from '../../src/logstore/postgres/postgres-log-store.ts';
import { createTestDb, engines, TEST_DATABASE_URL, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';
import { describeLogStore, makeEvent, makeEvents } from './log-store.suite.ts';

for (const engine of engines()) {
  describeLogStore(`postgres (${engine})`, async () => {
    const t = await createTestDb(engine);
    const store = new PostgresLogStore(t.db);
    await store.init();
    return {
      store,
      async dispose() {
        await store.close();
        await t.dispose();
      },
    };
  });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected a ValidationError').toBeInstanceOf(ValidationError);
  return (err as Error).message;
}

const DAY0 = Date.parse('2024-05-01T00:00:00.000Z');

describe.each(engines())('PostgresLogStore on %s', (engine) => {
  // Tests of what only a PostgreSQL server does (concurrent connections, cancelling a running statement) are
  // registered on that engine only.
  const onPostgres = (engine === 'postgres' ? it : () => undefined) as typeof it;
  let t: TestDb;
  let store: PostgresLogStore;
  const a = uuidv7();
  const b = uuidv7();

  /** Raw SQL in one transaction as `role`, with `vigil.tenant_id` set to `tenant` (or not set). */
  async function asRole<T>(
    role: string,
    tenant: string | null,
    fn: (q: {
      query: <R = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;
    }) => Promise<T>,
  ): Promise<T> {
    return t.db.rawTransaction(async (q) => {
      if (tenant) await q.query(`select set_config('vigil.tenant_id', $1, true)`, [tenant]);
      await q.exec(`set local role ${role}`);
      return fn(q);
    });
  }

  beforeAll(async () => {
    t = await createTestDb(engine);
    store = new PostgresLogStore(t.db);
    await store.init();
    await store.append({ tenantId: a, events: makeEvents(a, 30), quarantine: [] });
    await store.append({ tenantId: b, events: makeEvents(b, 20, 1000), quarantine: [] });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  describe('row-level security', () => {
    it('shows vigil_app no event, counter, quarantine or checkpoint row without a tenant, only its own with one', async () => {
      for (const table of ['log_events', 'log_seq', 'log_quarantine', 'ingest_checkpoints']) {
        const [none] = await asRole('vigil_app', null, (q) =>
          q.query<{ n: number }>(`select count(*)::int as n from ${table}`),
        );
        expect(none!.n, table).toBe(0);
      }
      const [own] = await asRole('vigil_app', a, (q) =>
        q.query<{ n: number; tenants: number }>(
          'select count(*)::int as n, count(distinct tenant_id)::int as tenants from log_events',
        ),
      );
      expect(own).toEqual({ n: 30, tenants: 1 });
      // The owner sees both tenants: the rows are there.
      const [all] = await t.db.query<{ n: number }>('select count(*)::int as n from log_events');
      expect(all!.n).toBeGreaterThanOrEqual(50);
    });

    it('refuses vigil_app a row of another tenant, an update, and any direct access to a partition', async () => {
      await expect(
        asRole('vigil_app', a, (q) =>
          q.query(
            `insert into log_events (tenant_id, id, seq, "timestamp", raw, source_type)
             values ($1, $2, 1, now(), 'x', 'text')`,
            [b, uuidv7()],
          ),
        ),
      ).rejects.toThrow(/row-level security/);
      await expect(
        asRole('vigil_app', a, (q) => q.query(`update log_events set message = 'x'`)),
      ).rejects.toThrow(/permission denied/);
      const part = partitionName(Date.parse('2024-03-01T00:00:00Z'));
      await expect(
        asRole('vigil_app', a, (q) => q.query(`select count(*) from vigil_log_partitions.${part}`)),
      ).rejects.toThrow(/permission denied/);
      await expect(
        asRole('vigil_app', a, (q) =>
          q.query(`select count(*) from vigil_log_partitions.log_events_default`),
        ),
      ).rejects.toThrow(/permission denied/);
    });

    it('confines the console role to the view and log_events under the tenant policy', async () => {
      const [own] = await asRole('vigil_log_reader', a, (q) =>
        q.query<{ n: number }>('select count(*)::int as n from vigil_logs.logs'),
      );
      expect(own!.n).toBe(30);
      const [none] = await asRole('vigil_log_reader', null, (q) =>
        q.query<{ n: number }>('select count(*)::int as n from public.log_events'),
      );
      expect(none!.n).toBe(0);
      for (const sql of [
        `insert into vigil_logs.logs (tenant_id) values ('${a}')`,
        'delete from public.log_events',
        'select * from public.users',
        'select * from public.log_quarantine',
        `select set_config('vigil.tenant_id', '${b}', true)`,
        `select set_config('role', 'none', true)`,
        `select pg_read_file('/etc/passwd')`,
        `select pg_ls_dir('.')`,
      ]) {
        await expect(
          asRole('vigil_log_reader', a, (q) => q.query(sql)),
          sql,
        ).rejects.toThrow(/permission denied/);
      }
    });
  });

  describe('partitions', () => {
    it('creates one partition per UTC day on demand and routes events to it', async () => {
      const t1 = uuidv7();
      const events = [0, 1, 2].map((d) =>
        makeEvent(t1, d, { timestamp: new Date(DAY0 + d * DAY_MS + 3_600_000) }),
      );
      await store.append({ tenantId: t1, events, quarantine: [] });
      const names = (await store.partitions.list()).map((p) => p.name);
      expect(names).toEqual(
        expect.arrayContaining(['log_events_20240501', 'log_events_20240502', 'log_events_20240503']),
      );
      const rows = await t.db.query<{ part: string }>(
        `select tableoid::regclass::text as part from log_events where tenant_id = $1 order by "timestamp"`,
        [t1],
      );
      expect(rows.map((r) => r.part)).toEqual([
        'vigil_log_partitions.log_events_20240501',
        'vigil_log_partitions.log_events_20240502',
        'vigil_log_partitions.log_events_20240503',
      ]);
    });

    it('moves the rows of a day out of DEFAULT when that day gets its partition', async () => {
      const t1 = uuidv7();
      const day = Date.parse('2023-07-14T00:00:00.000Z');
      const stray = uuidv7();
      // An event that reached DEFAULT (its partition could not be created at the time).
      await t.db.query(
        `insert into log_events (tenant_id, id, seq, "timestamp", raw, source_type) values ($1, $2, 1, $3, 'x', 'text')`,
        [t1, stray, new Date(day + 1000).toISOString()],
      );
      const [where] = await t.db.query<{ part: string }>(
        'select tableoid::regclass::text as part from log_events where id = $1',
        [stray],
      );
      expect(where!.part).toBe('vigil_log_partitions.log_events_default');
      const fresh = new PostgresLogStore(t.db);
      const r = await fresh.append({
        tenantId: t1,
        events: [makeEvent(t1, 1, { timestamp: new Date(day + 2000) })],
        quarantine: [],
      });
      expect(r.inserted).toBe(1);
      const rows = await t.db.query<{ part: string }>(
        'select tableoid::regclass::text as part from log_events where tenant_id = $1',
        [t1],
      );
      expect(rows.map((x) => x.part)).toEqual([
        'vigil_log_partitions.log_events_20230714',
        'vigil_log_partitions.log_events_20230714',
      ]);
    });

    it('keeps absurd timestamps in DEFAULT instead of creating a partition for them', async () => {
      const t1 = uuidv7();
      await store.append({
        tenantId: t1,
        events: [makeEvent(t1, 1, { timestamp: new Date('1970-01-01T00:00:00Z') })],
        quarantine: [],
      });
      const [row] = await t.db.query<{ part: string }>(
        'select tableoid::regclass::text as part from log_events where tenant_id = $1',
        [t1],
      );
      expect(row!.part).toBe('vigil_log_partitions.log_events_default');
      expect(await store.count(t1)).toBe(1);
    });

    it('drops whole partitions only below the longest retention of all tenants', async () => {
      const tenant = await makeTenant(t.db);
      await t.db.query('update tenants set retention_days = 30');
      const t1 = tenant.id;
      const now = Date.parse('2020-01-31T12:00:00Z'); // before every other day of this file's data
      const old = makeEvent(t1, 1, { timestamp: new Date(now - 40 * DAY_MS) });
      const recent = makeEvent(t1, 2, { timestamp: new Date(now - 10 * DAY_MS) });
      await store.append({ tenantId: t1, events: [old, recent], quarantine: [] });
      const { cutoff, dropped } = await store.dropExpiredPartitions(new Date(now));
      expect(cutoff!.toISOString()).toBe(new Date(now - 30 * DAY_MS).toISOString());
      expect(dropped).toContain(partitionName(now - 40 * DAY_MS));
      expect(dropped).not.toContain(partitionName(now - 10 * DAY_MS));
      expect((await store.fetchLogs(t1)).items.map((e) => e.id)).toEqual([recent.id]);
      // The store goes on: the dropped day gets a new partition when an event of it comes again.
      await store.append({ tenantId: t1, events: [old], quarantine: [] });
      expect(await store.count(t1)).toBe(2);
    });

    onPostgres(
      'sends events to DEFAULT when the table is busy, and never fails the append for it',
      async () => {
        const busy = new pg.Client({ connectionString: await dbUrl(t) });
        await busy.connect();
        try {
          await busy.query('begin');
          await busy.query('lock table log_events in access share mode');
          const slow = new PostgresLogStore(t.db, { partitionLockTimeoutMs: 200 });
          const t1 = uuidv7();
          const day = Date.parse('2022-02-02T00:00:00Z');
          const r = await slow.append({
            tenantId: t1,
            events: [makeEvent(t1, 1, { timestamp: new Date(day) })],
            quarantine: [],
          });
          expect(r.inserted).toBe(1);
          const [row] = await t.db.query<{ part: string }>(
            'select tableoid::regclass::text as part from log_events where tenant_id = $1',
            [t1],
          );
          expect(row!.part).toBe('vigil_log_partitions.log_events_default');
          await busy.query('rollback');
          // Next time the partition is created and the stray row moved into it.
          await slow.append({
            tenantId: t1,
            events: [makeEvent(t1, 2, { timestamp: new Date(day + 1) })],
            quarantine: [],
          });
          const parts = await t.db.query<{ part: string }>(
            'select distinct tableoid::regclass::text as part from log_events where tenant_id = $1',
            [t1],
          );
          expect(parts.map((p) => p.part)).toEqual(['vigil_log_partitions.log_events_20220202']);
        } finally {
          await busy.end();
        }
      },
    );
  });

  describe('append', () => {
    it('numbers concurrent appends of a tenant gap-free in commit order, and a concurrent reader never skips', async () => {
      const t1 = uuidv7();
      const batches = Array.from({ length: 12 }, (_, k) => makeEvents(t1, 25, k * 100));
      const seen: number[] = [];
      let watermark = 0;
      let done = false;
      const reader = (async () => {
        for (;;) {
          const finished = done;
          const rows = await store.readSince(t1, watermark, 1000);
          for (const r of rows) seen.push(r.seq);
          if (rows.length) watermark = rows.at(-1)!.seq;
          if (finished && rows.length === 0) return;
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const results = await Promise.all(
        batches.map((events) => store.append({ tenantId: t1, events, quarantine: [] })),
      );
      done = true;
      await reader;
      const n = 12 * 25;
      expect(seen).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(results.map((r) => r.lastSeq).sort((x, y) => x - y)).toEqual(
        Array.from({ length: 12 }, (_, k) => (k + 1) * 25),
      );
      const [counter] = await t.db.query<{ last_seq: string | number }>(
        'select last_seq from log_seq where tenant_id = $1',
        [t1],
      );
      expect(Number(counter!.last_seq)).toBe(n);
    });

    it('stores text and JSON holding U+0000 (as U+FFFD), which PostgreSQL cannot hold', async () => {
      const t1 = uuidv7();
      const ev = makeEvent(t1, 1, {
        raw: 'a\u0000b',
        message: 'm\u0000',
        normalized: { 'k\u0000': 'v\u0000', list: ['\u0000'] },
        original: { x: 'y\u0000' },
      });
      expect((await store.append({ tenantId: t1, events: [ev], quarantine: [] })).inserted).toBe(1);
      const [row] = (await store.fetchLogs(t1)).items;
      expect(row!.raw).toBe('a\uFFFDb');
      expect(row!.message).toBe('m\uFFFD');
      expect(row!.normalized).toEqual({ 'k\uFFFD': 'v\uFFFD', list: ['\uFFFD'] });
      expect(row!.original).toEqual({ x: 'y\uFFFD' });
    });

    it('refuses a non-UUID event id with a ValidationError, storing nothing', async () => {
      const t1 = uuidv7();
      const events: LogEventInput[] = [makeEvent(t1, 1), makeEvent(t1, 2, { id: 'line-2' })];
      await refusal(store.append({ tenantId: t1, events, quarantine: [] }));
      expect(await store.count(t1)).toBe(0);
    });
  });

  describe('console sandbox', () => {
    const guarded: [string, string, RegExp][] = [
      ['INSERT', `insert into logs (raw) values ('x')`, /only SELECT.*INSERT/],
      ['UPDATE', `update logs set raw = 'x'`, /only SELECT.*UPDATE/],
      ['DELETE', `delete from logs`, /only SELECT.*DELETE/],
      ['DROP', `drop table log_events`, /only SELECT.*DROP/],
      ['CREATE', `create table x (a int)`, /only SELECT.*CREATE/],
      ['TRUNCATE', `truncate log_events`, /only SELECT.*TRUNCATE/],
      ['COPY', `copy log_events to '/tmp/x'`, /only SELECT.*COPY/],
      ['COPY of a query', `copy (select * from logs) to program 'id'`, /only SELECT.*COPY/],
      ['; DROP TABLE', `select 1; drop table log_events`, /one statement/],
      [
        'a data-modifying CTE',
        `with d as (delete from logs returning *) select * from d`,
        /DELETE is not allowed/,
      ],
      ['SELECT INTO', `select * into stolen from logs`, /SELECT INTO/],
      ['FOR UPDATE', `select * from logs for update`, /UPDATE is not allowed/],
      ['pg_read_file', `select pg_read_file('/etc/passwd')`, /pg_read_file" is not allowed/],
      ['pg_ls_dir', `select * from pg_ls_dir('.')`, /pg_ls_dir" is not allowed/],
      ['lo_import', `select lo_import('/etc/passwd')`, /lo_import" is not allowed/],
      ['dblink', `select * from dblink('host=evil', 'select 1') as t(a int)`, /dblink" is not allowed/],
      ['set_config', `select set_config('vigil.tenant_id', '${uuidv7()}', true), * from logs`, /set_config/],
      ['a quoted set_config', `select "set_config"('role', 'none', true)`, /set_config/],
      ['a Unicode-escaped name', `select U&"set\\005fconfig"('role', 'none', true)`, /Unicode/],
      ['current_setting', `select current_setting('vigil.tenant_id')`, /settings/],
      ['query_to_xml', `select query_to_xml('select * from users', true, false, '')`, /run SQL text/],
      ['pg_sleep', `select pg_sleep(60)`, /pg_sleep" is not allowed/],
      ['pg_catalog', `select * from pg_catalog.pg_authid`, /not allowed/],
      ['an advisory lock', `select pg_advisory_lock(1)`, /not allowed/],
      ['a logs WITH query', `with logs as (select 1 as x) select * from logs`, /hide the table/],
      ['a hidden second statement', `select ';' as a; select 2`, /one statement/],
      ['an unterminated comment', `select 1 /* `, /unterminated/],
      ['breaking out of the wrapper', `select 1) as q; select (1`, /statement|parenthes/],
    ];
    for (const [what, sql, pattern] of guarded) {
      it(`refuses ${what}`, async () => {
        expect(await refusal(store.console(a, sql))).toMatch(pattern);
      });
    }

    it('allows keywords and names inside strings, comments and quoted identifiers', async () => {
      const r = await store.console(
        a,
        `select 'delete; drop table x' as "update", $$pg_sleep(1)$$ as s -- insert
         from logs /* ; drop */ where message not like '%set_config%' limit 1;`,
      );
      expect(r.columns.map((c) => c.name)).toEqual(['update', 's']);
      expect(r.rows).toEqual([['delete; drop table x', 'pg_sleep(1)']]);
    });

    it('keeps duplicate column names and names the types', async () => {
      const r = await store.console(
        a,
        `select 1 as x, 'two' as x, now() as at, 1.5::numeric as n, count(*) over () as c from logs limit 1`,
      );
      expect(r.columns).toEqual([
        { name: 'x', type: 'integer' },
        { name: 'x', type: 'text' },
        { name: 'at', type: 'timestamp with time zone' },
        { name: 'n', type: 'numeric' },
        { name: 'c', type: 'bigint' },
      ]);
      expect(r.rows[0]!.slice(0, 2)).toEqual([1, 'two']);
      expect(r.rows[0]![3]).toBe(1.5);
      expect(r.rows[0]![4]).toBe(30);
    });

    it('reads public.log_events directly only within the tenant', async () => {
      const r = await store.console(a, 'select distinct tenant_id from public.log_events');
      expect(r.rows).toEqual([[a]]);
    });

    it('refuses other tables, by bare name and qualified', async () => {
      for (const sql of ['select * from users', 'select * from tenants', 'select * from audit_logs']) {
        expect(await refusal(store.console(a, sql))).toMatch(/does not exist: other tables are not allowed/);
      }
      for (const sql of [
        'select * from public.users',
        'select * from public.tenants',
        'select * from public.audit_logs',
      ]) {
        expect(await refusal(store.console(a, sql))).toMatch(
          /permission denied: other tables are not allowed/,
        );
      }
    });

    it('caps an endless generate_series at the row cap', async () => {
      const r = await store.console(a, 'select generate_series(1, 1e9) as g', { maxRows: 50 });
      expect(r.rows).toHaveLength(50);
      expect(r.truncated).toBe(true);
    });

    it('stops generate_series(1, 1e9) in FROM (materialised before any LIMIT) at the time limit', async () => {
      const started = Date.now();
      const message = await refusal(
        store.console(a, 'select * from generate_series(1, 1e9) as g', { maxRows: 50, timeoutMs: 500 }),
      );
      expect(message).toMatch(
        engine === 'pglite' ? /too expensive for the time limit/ : /time limit of 500 ms/,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    it('stops an aggregate over generate_series(1, 1e9) at the time limit', async () => {
      const started = Date.now();
      const message = await refusal(
        store.console(a, 'select count(*) from generate_series(1, 1e9) as g', { timeoutMs: 500 }),
      );
      expect(message).toMatch(
        engine === 'pglite' ? /too expensive for the time limit/ : /time limit of 500 ms/,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    });

    /** The database layers alone, without the lexical check. */
    describe('without the lexical check', () => {
      const raw = (sql: string, timeoutMs = 2_000) => store.sandbox.run(a, sql, { maxRows: 100, timeoutMs });

      it('cannot switch tenant or role with set_config, even through a function that runs SQL text', async () => {
        expect(await refusal(raw(`select set_config('vigil.tenant_id', '${b}', true), * from logs`))).toMatch(
          /settings cannot be changed/,
        );
        expect(await refusal(raw(`select set_config('role', 'none', true)`))).toMatch(
          /settings cannot be changed/,
        );
        expect(
          await refusal(
            raw(`select query_to_xml('select set_config(''role'', ''none'', true)', true, false, '')`),
          ),
        ).toMatch(/settings cannot be changed/);
        const who = await raw('select current_user as u, count(distinct tenant_id) as n from logs');
        expect(who.rows).toEqual([['vigil_log_reader', 1]]);
      });

      it('refuses writes, other tables, files and extensions', async () => {
        expect(await refusal(raw('with d as (delete from logs returning *) select * from d'))).toMatch(
          /not supported|syntax|read-only/,
        );
        expect(await refusal(raw('delete from logs'))).toMatch(/syntax error/);
        expect(await refusal(raw('select 1; drop table log_events'))).toMatch(/syntax error|statement/);
        expect(await refusal(raw('select * from public.users'))).toMatch(/other tables are not allowed/);
        expect(
          await refusal(raw(`select query_to_xml('select * from public.users', true, false, '')`)),
        ).toMatch(/other tables are not allowed/);
        expect(await refusal(raw(`select pg_read_file('/etc/passwd')`))).toMatch(/not allowed.*pg_read_file/);
        expect(await refusal(raw(`select pg_ls_dir('.')`))).toMatch(/not allowed.*pg_ls_dir/);
        expect(await refusal(raw(`select lo_import('/etc/passwd')`))).toMatch(/not allowed|read-only/);
        expect(await refusal(raw(`select * from dblink('host=x', 'select 1') as t(a int)`))).toMatch(
          /does not exist/,
        );
        expect(await refusal(raw('select * from vigil_log_partitions.log_events_default'))).toMatch(
          /not allowed/,
        );
        const own = await raw('select count(*) as n, count(distinct tenant_id) as t from public.log_events');
        expect(own.rows).toEqual([[30, 1]]);
      });

      onPostgres('cuts pg_sleep(60) at the time limit', async () => {
        const started = Date.now();
        expect(await refusal(raw('select pg_sleep(60)', 300))).toMatch(/time limit of 300 ms/);
        expect(Date.now() - started).toBeLessThan(5_000);
      });

      it('left the data as it was', async () => {
        expect(await store.count(a)).toBe(30);
        expect(await store.count(b)).toBe(20);
      });
    });
  });
});

/** The URL of a PostgreSQL test database (its name read from the server). */
async function dbUrl(t: TestDb): Promise<string> {
  const [row] = await t.db.query<{ db: string }>('select current_database() as db');
  const url = new URL(TEST_DATABASE_URL!);
  url.pathname = `/${row!.db}`;
  return url.toString();
}
