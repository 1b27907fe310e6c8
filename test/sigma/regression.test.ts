/**
 * The SigmaHQ regression tests, all of them: each `info.yml` names a rule (rule_metadata[0].id) and the event
 * file beside it holds events that rule must match. Every case's events go into a DuckDB store under a
 * tenant of its own, then the named rule runs there, compiled as the detection engine compiles it (parser,
 * built-in pipeline, DuckDB backend). Target: at least 98% of the cases match. Failures are printed with
 * their reason.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDbLogStore } from '../../src/logstore/duckdb/duckdb-log-store.ts';
import type { LogStore } from '../../src/logstore/log-store.ts';
import { PostgresLogStore } from '../../src/logstore/postgres/postgres-log-store.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';
import { readEvents, SigmaService } from '../../src/services/sigma.service.ts';
import type { PreparedRule } from '../../src/sigma/index.ts';

const SHARED = resolve(import.meta.dirname, '../../../shared/data');
const RULES = join(SHARED, 'detection_rules/sigma');
const REGRESSION = join(SHARED, 'sigma_logs/sigmahq_regression_data');
const present = existsSync(RULES) && existsSync(REGRESSION);

function infoFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...infoFiles(p));
    else if (e.name === 'info.yml') out.push(p);
  }
  return out;
}

const STORES = ['duckdb', ...engines().map((e) => `postgres (${e})`)];

describe.skipIf(!present).each(STORES)('SigmaHQ regression tests (../shared/data) on %s', (kind) => {
  let store: LogStore;
  let db: TestDb | undefined;
  let byId: Map<string, PreparedRule>;
  let unsupported: Map<string, string>;

  beforeAll(async () => {
    const set = new SigmaService().load([RULES]);
    byId = new Map(set.rules.filter((r) => r.rule.id).map((r) => [r.rule.id!.toLowerCase(), r]));
    unsupported = new Map(set.unsupported.filter((u) => u.id).map((u) => [u.id!.toLowerCase(), u.reason]));
    if (kind === 'duckdb') store = new DuckDbLogStore(':memory:');
    else {
      db = await createTestDb(kind.includes('pglite') ? 'pglite' : 'postgres');
      store = new PostgresLogStore(db.db);
    }
    await store.init();
  }, 120_000);
  afterAll(async () => {
    await store?.close();
    await db?.dispose();
  });

  it('the named rule matches its events in at least 98% of the cases', async () => {
    const cases = infoFiles(REGRESSION);
    expect(cases.length).toBeGreaterThan(100);
    const failures: string[] = [];
    let passed = 0;
    for (const info of cases) {
      const meta = parseYaml(readFileSync(info, 'utf8')) as {
        rule_metadata?: { id: string; title: string }[];
      };
      const ruleId = meta.rule_metadata?.[0]?.id?.toLowerCase();
      const dir = join(info, '..');
      const eventFiles = readdirSync(dir)
        .filter((f) => f !== 'info.yml')
        .map((f) => join(dir, f));
      const rule = ruleId ? byId.get(ruleId) : undefined;
      if (!rule) {
        failures.push(
          `${info}: rule ${ruleId} ${unsupported.has(ruleId ?? '') ? `unsupported: ${unsupported.get(ruleId!)}` : 'not found'}`,
        );
        continue;
      }
      // The PostgreSQL store's rows reference a real tenant (row-level security, foreign keys).
      const tenant = db ? (await makeTenant(db.db, 'Regression')).id : randomUUID();
      for (const f of eventFiles) {
        for await (const b of readEvents(f, tenant, { format: 'auto', timezone: 'UTC' })) {
          if (b.events.length) await store.append({ tenantId: tenant, events: b.events, quarantine: [] });
        }
      }
      const r = await store.detect(tenant, [{ key: 'r', node: rule.node }], {
        afterSeq: 0,
        uptoSeq: await store.maxSeq(tenant),
      });
      if (r.errors.size) failures.push(`${info}: ${r.errors.get('r')}`);
      else if ((r.matches.get('r')?.count ?? 0) > 0) passed += 1;
      else failures.push(`${info}: ${rule.rule.title} matched none of ${r.scanned} events`);
    }
    const ratio = passed / cases.length;
    console.log(
      `SigmaHQ regression on ${kind}: ${passed} of ${cases.length} cases match (${(ratio * 100).toFixed(1)}%)` +
        (failures.length ? `\n  ${failures.join('\n  ')}` : ''),
    );
    expect(ratio).toBeGreaterThanOrEqual(0.98);
  }, 300_000);
});
