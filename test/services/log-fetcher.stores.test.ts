/**
 * The periodic log fetcher over the real log stores (the in-memory fake stands in for them elsewhere): the
 * watermark semantics only hold if the store's `seq` does what the interface promises. Each store runs when
 * its implementation is in the tree; until then its block is skipped, saying so.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/config.ts';
import type { LogEventRow } from '../../src/domain/log-event.ts';
import type { LogStore, LogStoreKind } from '../../src/logstore/log-store.ts';
import { openLogStore } from '../../src/logstore/open.ts';
import { LogWatermarkRepository } from '../../src/repositories/log-watermark.repository.ts';
import { TenantRepository } from '../../src/repositories/tenant.repository.ts';
import { LogFetcherService } from '../../src/services/log-fetcher.service.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';
import { makeEvent } from '../helpers/memory-log-store.ts';

const IMPLEMENTATION: Record<LogStoreKind, string> = {
  duckdb: 'src/logstore/duckdb/duckdb-log-store.ts',
  postgres: 'src/logstore/postgres/postgres-log-store.ts',
};
const root = join(import.meta.dirname, '..', '..');
const present = (kind: LogStoreKind) => existsSync(join(root, IMPLEMENTATION[kind]));

const KINDS = ['duckdb', 'postgres'] as const;

describe.each(engines())('LogFetcherService over the real log stores (%s)', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb(engine);
  });
  afterAll(async () => t?.dispose());

  describe.each(KINDS)('%s log store', (kind) => {
    if (!present(kind)) {
      it.skip(`${IMPLEMENTATION[kind]} is not in the tree yet`, () => undefined);
      return;
    }
    let store: LogStore;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-fetcher-'));
      const config = { logs: { store: kind, path: join(dir, 'logs.duckdb') } } as unknown as Config;
      store = await openLogStore(config, t.db, captureLogger('silent').logger);
    });
    afterAll(async () => {
      await store?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    function fetcher(seen: LogEventRow[]) {
      const f = new LogFetcherService(
        t.db,
        store,
        new TenantRepository(t.db),
        new LogWatermarkRepository(t.db),
        captureLogger('silent').logger,
      );
      f.register({
        name: `collect-${kind}`,
        batchSize: 3,
        handle: async (_tenantId, events) => void seen.push(...events),
      });
      return f;
    }

    it('delivers each event once across appends, a restart and a late arrival, per tenant', async () => {
      const a = await makeTenant(t.db);
      const b = await makeTenant(t.db);
      const seen: LogEventRow[] = [];
      const append = (tenantId: string, events = [makeEvent(tenantId), makeEvent(tenantId)]) =>
        store.append({ tenantId, events, quarantine: [] });

      await append(a.id);
      await append(b.id);
      await fetcher(seen).runOnce();
      await append(a.id);
      await append(a.id, [makeEvent(a.id, { timestamp: new Date(Date.now() - 3 * 86_400_000) })]); // late
      const restarted = fetcher(seen);
      await restarted.runOnce();
      await restarted.runOnce();

      for (const tenant of [a, b]) {
        const stored = (await store.readSince(tenant.id, 0, 1000)).map((e) => e.id);
        const got = seen.filter((e) => e.tenantId === tenant.id).map((e) => e.id);
        expect(got).toEqual(stored);
      }
      expect(seen.filter((e) => e.tenantId === a.id)).toHaveLength(5);
      expect(seen.filter((e) => e.tenantId === b.id)).toHaveLength(2);
    });
  });
});
