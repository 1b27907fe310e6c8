/**
 * Scheduled detection end to end on a real, migrated relational database (PGlite; PostgreSQL with
 * TEST_DATABASE_URL) and a DuckDB log store: Sigma rules imported into the rules table, events stored, a
 * pass raises alerts; a second pass evaluates nothing twice; late events are evaluated; duplicates within
 * the window are grouped; suppressions silence; a rule that fails is retried, then recorded as a gap.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { createContainer, type Container } from '../../src/container.ts';
import { uuidv7 } from '../../src/domain/ids.ts';
import type { LogEventInput } from '../../src/domain/log-event.ts';
import type { Actor } from '../../src/services/audited.service.ts';
import { captureLogger } from '../helpers/capture-logger.ts';
import { createTestDb, engines, type TestDb } from '../helpers/db.ts';
import { makeTenant } from '../helpers/fixtures.ts';

const RULE = `title: Whoami Execution
id: 11111111-2222-4333-8444-555555555555
status: stable
level: high
tags: [attack.discovery, attack.t1033]
logsource: { product: windows, category: process_creation }
detection:
  selection:
    Image|endswith: '\\\\whoami.exe'
  filter:
    CommandLine|contains: '/benign'
  condition: selection and not filter
`;

/** Two Windows Security rules (by name) and an event_count correlation over both (generate: false). */
const LOGONS = `title: Failed logon
id: 0b7f1c0e-0001-4000-8000-000000000001
name: failed_logon
status: stable
level: low
logsource: { product: windows, service: security }
detection:
  selection: { EventID: 4625 }
  condition: selection
---
title: Logon with explicit credentials
id: 0b7f1c0e-0001-4000-8000-000000000002
name: explicit_logon
status: stable
level: low
logsource: { product: windows, service: security }
detection:
  selection: { EventID: 4648 }
  condition: selection
---
title: Logon burst per account
id: 0b7f1c0e-0001-4000-8000-000000000003
status: stable
level: high
tags: [attack.credential-access, attack.t1110]
correlation:
  type: event_count
  rules: [failed_logon, explicit_logon]
  group-by: [TargetUserName]
  timespan: 5m
  condition: { gte: 4 }
`;

/** A success rule, and a temporal_ordered correlation reusing the stored failed_logon (generate: true). */
const ORDERED = `title: Successful logon
id: 0b7f1c0e-0002-4000-8000-000000000001
name: successful_logon
status: stable
level: low
logsource: { product: windows, service: security }
detection:
  selection: { EventID: 4624 }
  condition: selection
---
title: Failed then successful logon
id: 0b7f1c0e-0002-4000-8000-000000000002
status: stable
level: critical
correlation:
  type: temporal_ordered
  rules: [failed_logon, successful_logon]
  group-by: [TargetUserName]
  timespan: 10m
  generate: true
`;

/** A Sigma filter on the whoami rule: command lines of the build agent are not detections. */
const FILTER = `title: Build agent whoami
id: 0b7f1c0e-0003-4000-8000-000000000001
description: the build agent runs whoami /build on every job
logsource: { product: windows, category: process_creation }
filter:
  rules: [11111111-2222-4333-8444-555555555555]
  selection:
    CommandLine|contains: '/build'
  condition: not selection
`;

const T1 = Date.UTC(2026, 10, 3);
/** A Windows Security event `sec` seconds after T1. */
function logon(tenantId: string, eventId: number, user: string, sec: number): LogEventInput {
  return {
    tenantId,
    id: uuidv7(),
    timestamp: new Date(T1 + sec * 1000),
    raw: JSON.stringify({ EventID: eventId, TargetUserName: user }),
    appname: null,
    file: null,
    host: 'DC1',
    hostname: 'DC1',
    message: null,
    procid: null,
    sourceType: 'windows_event',
    normalized: { channel: 'Security', event_id: eventId, event_data: { TargetUserName: user } },
    metadata: {},
    sourceId: null,
    original: null,
  };
}

let n = 0;
function proc(tenantId: string, image: string, cmd: string, host = 'WS1', user = 'alice'): LogEventInput {
  n += 1;
  return {
    tenantId,
    id: uuidv7(),
    timestamp: new Date(Date.UTC(2026, 10, 1, 0, 0, n)),
    raw: JSON.stringify({ Image: image, CommandLine: cmd }),
    appname: null,
    file: null,
    host,
    hostname: host,
    message: null,
    procid: null,
    sourceType: 'windows_event',
    normalized: {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      event_id: 1,
      user,
      event_data: { Image: image, CommandLine: cmd },
    },
    metadata: {},
    sourceId: null,
    original: null,
  };
}

describe.each(engines())('DetectionService on %s', (engine) => {
  let t: TestDb;
  let c: Container;
  let tenant: string;
  let ruleId: string;
  let dir: string;

  beforeAll(async () => {
    t = await createTestDb(engine);
    dir = mkdtempSync(join(tmpdir(), 'vigil-detect-'));
    const config = loadConfig({
      env: { VIGIL_DATA_DIR: dir, VIGIL_LOG_STORE: 'duckdb', DATABASE_URL: '' },
      overrides: { detection: { maxAttempts: 2 } },
    });
    c = await createContainer(config, captureLogger().logger, t.db);
    tenant = (await makeTenant(t.db, 'Detect')).id;
    writeFileSync(join(dir, 'rule.yml'), RULE);
    const s = await c.services.ruleImport.importSigma(tenant, [join(dir, 'rule.yml')], { name: 'test' });
    expect(s).toMatchObject({ loaded: 1, updated: 0, unsupported: [] });
    ruleId = (await c.repos.rules.getBySigmaId(tenant, '11111111-2222-4333-8444-555555555555'))!.id;
  });
  afterAll(async () => {
    await c?.logStore().then((s) => s.close());
    await t?.dispose();
  });

  const append = async (events: LogEventInput[]) =>
    (await c.logStore()).append({ tenantId: tenant, events, quarantine: [] });
  const alertsOf = async () => (await c.repos.alerts.list(tenant, { filters: { ruleId }, limit: 100 })).items;

  it('re-importing the same file changes nothing; an edited rule is updated, not duplicated', async () => {
    const again = await c.services.ruleImport.importSigma(tenant, [join(dir, 'rule.yml')], { name: 'test' });
    expect(again).toMatchObject({ loaded: 0, updated: 0, unchanged: 1 });
    const rule = await c.repos.rules.get(tenant, ruleId);
    expect(rule).toMatchObject({
      ruleType: 'sigma',
      severity: 'high',
      status: 'active',
      techniques: ['T1033'],
    });
  });

  it('raises one alert per entity set, with the matched events, entities, techniques and a priority', async () => {
    await append([
      proc(tenant, 'C:\\Windows\\System32\\whoami.exe', 'whoami /all'),
      proc(tenant, 'C:\\Windows\\System32\\whoami.exe', 'whoami /priv'),
      proc(tenant, 'C:\\Windows\\System32\\whoami.exe', 'whoami /benign'),
      proc(tenant, 'C:\\Windows\\System32\\cmd.exe', 'cmd /c dir'),
      proc(tenant, 'C:\\Windows\\System32\\WHOAMI.EXE', 'whoami', 'WS2', 'bob'),
    ]);
    const r = await c.services.detection.runOnce({ tenantId: tenant });
    expect(r).toMatchObject({ runs: 1, hits: 3, alertsCreated: 2, failed: 0, gaps: 0 });
    const alerts = await alertsOf();
    expect(alerts).toHaveLength(2);
    const ws1 = alerts.find((a) => a.host === 'WS1')!;
    expect(ws1).toMatchObject({ count: 2, userName: 'alice', severity: 'high', techniques: ['T1033'] });
    expect(ws1.eventIds).toHaveLength(2);
    // high (0.7) x (0.5 + 0.5 x (1 - 0.1 for a stable rule)) = 0.665, no indicator, KEV or asset term.
    expect(ws1.priorityScore).toBe(0.665);
    const runs = await c.services.detection.runs(tenant, { ruleId });
    expect(runs[0]).toMatchObject({ status: 'success', hits: 3, alertsCreated: 2, fromSeq: 0 });
    const rule = await c.repos.rules.get(tenant, ruleId);
    expect(rule!.lastExecuted).not.toBeNull();
    expect(rule!.metrics).toMatchObject({ last_hits: 3 });
  });

  it('a second pass with nothing new evaluates nothing and raises nothing', async () => {
    const r = await c.services.detection.runOnce({ tenantId: tenant });
    expect(r).toMatchObject({ runs: 0, hits: 0, alertsCreated: 0 });
    expect(await alertsOf()).toHaveLength(2);
  });

  it('a late event (old timestamp, stored now) is evaluated and grouped with the open alert', async () => {
    const late = proc(tenant, 'C:\\Windows\\System32\\whoami.exe', 'whoami /groups');
    late.timestamp = new Date(Date.UTC(2020, 0, 1));
    await append([late]);
    const r = await c.services.detection.runOnce({ tenantId: tenant });
    expect(r).toMatchObject({ runs: 1, hits: 1, alertsCreated: 0, alertsGrouped: 1 });
    const ws1 = (await alertsOf()).find((a) => a.host === 'WS1')!;
    expect(ws1.count).toBe(3);
    expect(ws1.eventIds).toContain(late.id);
  });

  it('a suppression with an owner silences matching alerts until it expires', async () => {
    await c.repos.suppressions.create(tenant, {
      ruleId,
      match: { host: 'ws3' },
      reason: 'admin workstation',
      owner: 'alice',
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    await append([proc(tenant, 'C:\\Windows\\System32\\whoami.exe', 'whoami', 'WS3', 'carol')]);
    const r = await c.services.detection.runOnce({ tenantId: tenant });
    expect(r).toMatchObject({ hits: 1, alertsCreated: 0, suppressed: 1 });
    const [s] = await c.repos.suppressions.list(tenant);
    expect(s!.hits).toBe(1);
  });

  it('a failing window is retried, then recorded as a gap, never as success', async () => {
    const store = await c.logStore();
    const real = store.detect.bind(store);
    store.detect = () => Promise.reject(new Error('store unavailable'));
    try {
      await append([proc(tenant, 'C:\\Windows\\System32\\whoami.exe', 'whoami', 'WS4')]);
      const first = await c.services.detection.runOnce({ tenantId: tenant });
      expect(first).toMatchObject({ runs: 0, failed: 1, gaps: 0 });
      const second = await c.services.detection.runOnce({ tenantId: tenant });
      expect(second).toMatchObject({ failed: 1, gaps: 1 });
    } finally {
      store.detect = real;
    }
    const gaps = await c.services.detection.runs(tenant, { ruleId, status: 'gap' });
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.error).toMatch(/store unavailable/);
    const failed = await c.services.detection.runs(tenant, { ruleId, status: 'failed' });
    expect(failed.map((f) => f.attempt).sort()).toEqual([1, 2]);
    // Past the gap, detection goes on with new events.
    await append([proc(tenant, 'C:\\Windows\\System32\\whoami.exe', 'whoami', 'WS5')]);
    const after = await c.services.detection.runOnce({ tenantId: tenant });
    expect(after).toMatchObject({ runs: 1, hits: 1, alertsCreated: 1 });
  });

  it('a backtest reports hits over the whole history and creates no alert', async () => {
    const before = (await alertsOf()).length;
    const r = await c.services.detection.backtest(tenant, ruleId);
    expect(r.hits).toBe(7);
    expect(r.scanned).toBe(9);
    expect((await alertsOf()).length).toBe(before);
  });

  it('a Sigma filter stored by import suppresses the matches it excludes, in runs and backtests', async () => {
    const before = await c.services.detection.backtest(tenant, ruleId);
    writeFileSync(join(dir, 'filter.yml'), FILTER);
    const s = await c.services.ruleImport.importSigma(tenant, [join(dir, 'filter.yml')], { name: 'test' });
    expect(s).toMatchObject({ loaded: 1, unsupported: [] });
    const stored = (await c.repos.rules.list(tenant, { filters: { ruleType: 'filter' } })).items;
    expect(stored.map((r) => r.sigmaId)).toEqual(['0b7f1c0e-0003-4000-8000-000000000001']);
    await append([
      proc(tenant, 'C:\\Windows\\System32\\whoami.exe', 'whoami /build', 'B1'),
      proc(tenant, 'C:\\Windows\\System32\\whoami.exe', 'whoami /user', 'B2'),
    ]);
    const r = await c.services.detection.runOnce({ tenantId: tenant });
    expect(r.failed).toBe(0);
    const hosts = (await alertsOf()).map((a) => a.host);
    expect(hosts).toContain('B2');
    expect(hosts).not.toContain('B1');
    // The backtest applies it too: of the two new matches only one counts.
    expect((await c.services.detection.backtest(tenant, ruleId)).hits).toBe(before.hits + 1);
    // A disabled filter no longer applies.
    await c.repos.rules.update(tenant, stored[0]!.id, { enabled: false }, 'test');
    expect((await c.services.detection.backtest(tenant, ruleId)).hits).toBe(before.hits + 2);
  });

  /** An audited writer acting in `tenantId` (an API key: no user row needed). */
  const actorIn = (tenantId: string): Actor => ({
    principal: {
      kind: 'api_key',
      id: uuidv7(),
      name: 'api-key:detection-test',
      platformRole: 'user',
      tenantId,
      role: 'admin',
      permissions: new Set(),
      crossTenant: false,
    },
    meta: {},
  });

  it('an ioc_match rule raises alerts for events whose fields are live indicators (exact and CIDR)', async () => {
    // Through IndicatorService (as the API writes them): each write drops the tenant's cached matcher index,
    // which the alerts raised above (their indicator_hit term) have already loaded.
    const indicators = c.services.indicators;
    const ip = await indicators.create(
      tenant,
      { type: 'ip', value: '203.0.113.7', source: 'test' },
      actorIn(tenant),
    );
    await indicators.create(
      tenant,
      { type: 'cidr', value: '198.51.100.0/24', source: 'test' },
      actorIn(tenant),
    );
    await indicators.create(
      tenant,
      { type: 'domain', value: 'evil.example', source: 'test' },
      actorIn(tenant),
    );
    const rule = await c.repos.rules.create(
      tenant,
      { name: 'Known bad infrastructure', ruleType: 'ioc_match', severity: 'high' },
      'test',
    );
    const net = (over: Record<string, unknown>, host: string): LogEventInput => {
      const e = proc(tenant, 'C:\\x.exe', 'x', host);
      return { ...e, normalized: { ...e.normalized, ...over } };
    };
    await append([
      net({ dst_ip: '203.0.113.7' }, 'N1'),
      net({ dst_ip: '198.51.100.20' }, 'N2'),
      net({ event_data: { QueryName: 'EVIL.example' } }, 'N3'),
      net({ dst_ip: '192.0.2.1', event_data: { QueryName: 'good.example' } }, 'N4'),
    ]);
    const r = await c.services.detection.runOnce({ tenantId: tenant });
    expect(r.failed).toBe(0);
    const alerts = (await c.repos.alerts.list(tenant, { filters: { ruleId: rule.id }, limit: 10 })).items;
    expect(alerts.map((a) => a.host).sort()).toEqual(['N1', 'N2', 'N3']);
    expect(alerts.every((a) => a.detectionMethod === 'ioc_match')).toBe(true);
    // high, no false-positive rate given (0.3): 0.7 x 0.85 + 0.15 for the indicator hit.
    expect(alerts[0]!.priorityScore).toBe(0.745);
    expect((await c.repos.indicators.get(tenant, ip.id))!.sightings).toBe(1);
    // Evaluated once: a second pass raises nothing new.
    const again = await c.services.detection.runOnce({ tenantId: tenant });
    expect(again.alertsCreated).toBe(0);
  });

  it('an ioc_match rule sees an indicator created or deactivated just before its run (no TTL wait)', async () => {
    const own = (await makeTenant(t.db, 'Fresh')).id;
    const rule = await c.repos.rules.create(
      own,
      { name: 'Fresh indicators', ruleType: 'ioc_match', severity: 'medium' },
      'test',
    );
    const store = await c.logStore();
    const event = (dst: string, host: string): LogEventInput => {
      const e = proc(own, 'C:\\x.exe', 'x', host);
      return { ...e, normalized: { ...e.normalized, dst_ip: dst } };
    };
    const hosts = async () =>
      (await c.repos.alerts.list(own, { filters: { ruleId: rule.id }, limit: 20 })).items
        .map((a) => a.host)
        .sort();
    const matcher = c.services.intelFeed;
    await store.append({ tenantId: own, events: [event('192.0.2.55', 'F1')], quarantine: [] });
    expect((await c.services.detection.runOnce({ tenantId: own })).alertsCreated).toBe(0);
    expect(await matcher.matchIndicators(own, ['192.0.2.55'])).toEqual(new Map()); // cached: empty index

    const created = await c.services.indicators.create(
      own,
      { type: 'ip', value: '192.0.2.55', source: 'test' },
      actorIn(own),
    );
    await store.append({ tenantId: own, events: [event('192.0.2.55', 'F2')], quarantine: [] });
    const fired = await c.services.detection.runOnce({ tenantId: own });
    expect(fired).toMatchObject({ failed: 0, alertsCreated: 1 });
    expect(await hosts()).toEqual(['F2']);

    await c.services.indicators.update(own, created.id, { status: 'inactive' }, actorIn(own));
    await store.append({ tenantId: own, events: [event('192.0.2.55', 'F3')], quarantine: [] });
    const quiet = await c.services.detection.runOnce({ tenantId: own });
    expect(quiet).toMatchObject({ failed: 0, runs: 1, alertsCreated: 0, alertsGrouped: 0 });
    expect(await hosts()).toEqual(['F2']);

    // Deleted: gone at once too; and another tenant's indicator never matches here.
    await c.services.indicators.update(own, created.id, { status: 'active' }, actorIn(own));
    await c.services.indicators.delete(own, created.id, actorIn(own));
    await c.services.indicators.create(
      tenant,
      { type: 'ip', value: '192.0.2.56', source: 'test' },
      actorIn(tenant),
    );
    await store.append({
      tenantId: own,
      events: [event('192.0.2.55', 'F4'), event('192.0.2.56', 'F5')],
      quarantine: [],
    });
    expect(await c.services.detection.runOnce({ tenantId: own })).toMatchObject({ alertsCreated: 0 });
    expect(await hosts()).toEqual(['F2']);
  });

  it('a threshold rule raises one alert per burst of at least `count` filtered events per group', async () => {
    const rule = await c.repos.rules.create(
      tenant,
      {
        name: 'SSH brute force',
        ruleType: 'threshold',
        severity: 'medium',
        conditions: { 'normalized.reason': 'failed_password' },
        threshold: { count: 3, windowSeconds: 60, groupBy: ['normalized.src_ip'] },
      },
      'test',
    );
    const t0 = Date.UTC(2026, 10, 2);
    const fail = (ip: string, sec: number, reason = 'failed_password'): LogEventInput => {
      const e = proc(tenant, 'sshd', 'x', 'SSH1');
      return { ...e, timestamp: new Date(t0 + sec * 1000), normalized: { src_ip: ip, reason } };
    };
    await append([
      fail('198.51.100.1', 0),
      fail('198.51.100.1', 10),
      fail('198.51.100.1', 20), // 3 within 60 s: a burst
      fail('198.51.100.2', 0),
      fail('198.51.100.2', 100), // 2, far apart: none
      fail('198.51.100.3', 0, 'invalid_user'),
      fail('198.51.100.3', 1, 'invalid_user'),
      fail('198.51.100.3', 2, 'invalid_user'), // filtered out
    ]);
    const r = await c.services.detection.runOnce({ tenantId: tenant });
    expect(r.failed).toBe(0);
    const alerts = (await c.repos.alerts.list(tenant, { filters: { ruleId: rule.id }, limit: 10 })).items;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ sourceIp: '198.51.100.1', count: 3, detectionMethod: 'threshold' });
    expect(alerts[0]!.eventIds).toHaveLength(3);
  });

  it('a query rule runs its SQL over its window only; each row is a hit', async () => {
    const rule = await c.repos.rules.create(
      tenant,
      {
        name: 'Encoded PowerShell',
        ruleType: 'query',
        severity: 'low',
        query: `select id, seq, host from logs where normalized->>'$.event_data.CommandLine' ilike '%-enc%'`,
      },
      'test',
    );
    await append([
      proc(tenant, 'C:\\ps.exe', 'powershell -enc AAAA', 'Q1'),
      proc(tenant, 'C:\\ps.exe', 'powershell -nop', 'Q2'),
    ]);
    const first = await c.services.detection.runOnce({ tenantId: tenant });
    expect(first.failed).toBe(0);
    const alerts = (await c.repos.alerts.list(tenant, { filters: { ruleId: rule.id }, limit: 10 })).items;
    expect(alerts.map((a) => a.host)).toEqual(['Q1']);
    // The next window holds only new events: the old match is not raised again.
    await append([proc(tenant, 'C:\\ps.exe', 'powershell -ENC BBBB', 'Q3')]);
    await c.services.detection.runOnce({ tenantId: tenant });
    const after = (await c.repos.alerts.list(tenant, { filters: { ruleId: rule.id }, limit: 10 })).items;
    expect(after.map((a) => a.host).sort()).toEqual(['Q1', 'Q3']);
    expect(after.find((a) => a.host === 'Q1')!.count).toBe(1);
  });

  describe('correlation rules', () => {
    let ct: string;
    let corrId: string;
    const corrAlerts = async (id = corrId) =>
      (await c.repos.alerts.list(ct, { filters: { ruleId: id }, limit: 100 })).items;
    const add = async (events: LogEventInput[]) =>
      (await c.logStore()).append({ tenantId: ct, events, quarantine: [] });
    const ruleBySigmaId = async (id: string) => (await c.repos.rules.getBySigmaId(ct, id))!;

    beforeAll(async () => {
      ct = (await makeTenant(t.db, 'Correlate')).id;
      writeFileSync(join(dir, 'logons.yml'), LOGONS);
    });

    it('rules import loads the correlation with its base rules; a rerun changes nothing', async () => {
      const s = await c.services.ruleImport.importSigma(ct, [join(dir, 'logons.yml')], { name: 'test' });
      expect(s).toMatchObject({ loaded: 3, updated: 0, unsupported: [] });
      const corr = await ruleBySigmaId('0b7f1c0e-0001-4000-8000-000000000003');
      expect(corr).toMatchObject({ ruleType: 'correlation', severity: 'high', techniques: ['T1110'] });
      expect(corr.correlation).toMatchObject({
        type: 'event_count',
        rules: ['failed_logon', 'explicit_logon'],
      });
      corrId = corr.id;
      const again = await c.services.ruleImport.importSigma(ct, [join(dir, 'logons.yml')], { name: 'test' });
      expect(again).toMatchObject({ loaded: 0, updated: 0, unchanged: 3, unsupported: [] });
      expect((await c.repos.rules.list(ct, {})).total).toBe(3);
    });

    it('a correlation over an unknown rule is listed as unsupported, not loaded', async () => {
      const orphan = LOGONS.split('---\n')[2]!
        .replace('0b7f1c0e-0001-4000-8000-000000000003', '0b7f1c0e-0001-4000-8000-0000000000ff')
        .replace('explicit_logon]', 'no_such_rule]');
      writeFileSync(join(dir, 'orphan.yml'), orphan);
      const s = await c.services.ruleImport.importSigma(ct, [join(dir, 'orphan.yml')], { name: 'test' });
      expect(s.loaded).toBe(0);
      expect(s.unsupported.map((u) => u.reason)).toEqual([expect.stringMatching(/'no_such_rule'/)]);
    });

    it('an event_count burst straddling two runs raises one alert, once; below the threshold none', async () => {
      // Run 1: bob 3 of 4 (two rules), alice 3 spread over 13 minutes: nothing yet.
      await add([
        logon(ct, 4625, 'bob', 0),
        logon(ct, 4625, 'bob', 30),
        logon(ct, 4648, 'bob', 60),
        logon(ct, 4625, 'alice', 0),
        logon(ct, 4625, 'alice', 400),
        logon(ct, 4625, 'alice', 800),
      ]);
      const r1 = await c.services.detection.runOnce({ tenantId: ct });
      expect(r1).toMatchObject({ failed: 0, alertsCreated: 0, unsupported: {} });
      // generate: false: the base rules ran (their hits are recorded) but raise nothing of their own.
      const failed = await ruleBySigmaId('0b7f1c0e-0001-4000-8000-000000000001');
      expect((await c.services.detection.runs(ct, { ruleId: failed.id }))[0]).toMatchObject({
        hits: 5,
        alertsCreated: 0,
      });
      expect((await c.repos.alerts.list(ct, {})).total).toBe(0);

      // Run 2: bob's 4th within 5 minutes of the first. The first attempt fails: nothing is lost.
      const fourth = logon(ct, 4625, 'bob', 90);
      await add([fourth, logon(ct, 4625, 'alice', 810)]);
      const store = await c.logStore();
      const real = store.detect.bind(store);
      store.detect = () => Promise.reject(new Error('store unavailable'));
      try {
        const failedRun = await c.services.detection.runOnce({ tenantId: ct });
        expect(failedRun.alertsCreated).toBe(0);
        expect(failedRun.failed).toBeGreaterThan(0);
      } finally {
        store.detect = real;
      }
      const r2 = await c.services.detection.runOnce({ tenantId: ct });
      expect(r2).toMatchObject({ failed: 0, alertsCreated: 1 });
      const [alert, ...more] = await corrAlerts();
      expect(more).toEqual([]);
      expect(alert).toMatchObject({
        count: 4,
        severity: 'high',
        detectionMethod: 'correlation',
        host: 'DC1',
        firstSeen: new Date(T1),
        lastSeen: new Date(T1 + 90_000),
      });
      expect(alert!.eventIds).toHaveLength(4);
      expect(alert!.eventIds).toContain(fourth.id);
      expect(alert!.metadata).toMatchObject({ correlation: { group: { TargetUserName: 'bob' }, events: 4 } });

      // Run 3: nothing new, nothing raised.
      const r3 = await c.services.detection.runOnce({ tenantId: ct });
      expect(r3).toMatchObject({ runs: 0, alertsCreated: 0 });
      // Run 4: one more of bob's inside the same five minutes joins the alert; alice stays below 4.
      await add([logon(ct, 4648, 'bob', 120), logon(ct, 4625, 'alice', 1500)]);
      const r4 = await c.services.detection.runOnce({ tenantId: ct });
      expect(r4).toMatchObject({ failed: 0, alertsCreated: 0, alertsGrouped: 1 });
      const after = await corrAlerts();
      expect(after).toHaveLength(1);
      expect(after[0]!.count).toBe(5);
      expect((await c.repos.alerts.list(ct, {})).total).toBe(1);

      // A backtest counts the same one burst over the whole history, and raises nothing.
      const bt = await c.services.detection.backtest(ct, corrId);
      expect(bt.hits).toBe(1);
      expect(bt.events.map((e) => e.id)).toEqual(after[0]!.eventIds);
      expect((await c.repos.alerts.list(ct, {})).total).toBe(1);
    });

    it('a temporal_ordered correlation fires only for the right order; generate: true lets its rules alert', async () => {
      writeFileSync(join(dir, 'ordered.yml'), ORDERED);
      // failed_logon is referenced by name from the rules already stored.
      const s = await c.services.ruleImport.importSigma(ct, [join(dir, 'ordered.yml')], { name: 'test' });
      expect(s).toMatchObject({ loaded: 2, unsupported: [] });
      const ordered = await ruleBySigmaId('0b7f1c0e-0002-4000-8000-000000000002');
      // carol: success first, then a failure (wrong order). dave: the failure now, the success next run.
      await add([
        logon(ct, 4624, 'carol', 2000),
        logon(ct, 4625, 'carol', 2010),
        logon(ct, 4625, 'dave', 2000),
      ]);
      const r1 = await c.services.detection.runOnce({ tenantId: ct });
      expect(r1.failed).toBe(0);
      expect(await corrAlerts(ordered.id)).toEqual([]);
      await add([logon(ct, 4624, 'dave', 2300), logon(ct, 4624, 'erin', 2300)]);
      const r2 = await c.services.detection.runOnce({ tenantId: ct });
      expect(r2.failed).toBe(0);
      const alerts = await corrAlerts(ordered.id);
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toMatchObject({ count: 2, severity: 'critical' });
      expect(alerts[0]!.metadata).toMatchObject({ correlation: { group: { TargetUserName: 'dave' } } });
      // generate: true: the base rules now raise their own alerts for the events they had not evaluated.
      const success = await ruleBySigmaId('0b7f1c0e-0002-4000-8000-000000000001');
      const own = (await c.repos.alerts.list(ct, { filters: { ruleId: success.id }, limit: 10 })).items;
      expect(own.length).toBeGreaterThan(0);
      expect((await c.services.detection.runOnce({ tenantId: ct })).alertsCreated).toBe(0);
    });

    it('an edited correlation is updated in place, never duplicated', async () => {
      writeFileSync(join(dir, 'logons.yml'), LOGONS.replace('gte: 4', 'gte: 6'));
      const s = await c.services.ruleImport.importSigma(ct, [join(dir, 'logons.yml')], { name: 'test' });
      expect(s).toMatchObject({ loaded: 0, updated: 1, unchanged: 2, unsupported: [] });
      const corr = await ruleBySigmaId('0b7f1c0e-0001-4000-8000-000000000003');
      expect(corr.id).toBe(corrId);
      expect(corr.version).toBe(2);
      expect(corr.correlation).toMatchObject({ condition: { op: 'gte', value: 6 } });
      expect((await c.repos.rules.list(ct, { filters: { ruleType: 'correlation' } })).total).toBe(2);
    });
  });

  it('a threshold burst straddling two runs raises one alert, once, and later events join it', async () => {
    const st = (await makeTenant(t.db, 'Straddle')).id;
    const rule = await c.repos.rules.create(
      st,
      {
        name: 'Password spraying',
        ruleType: 'threshold',
        severity: 'medium',
        conditions: { 'normalized.reason': 'failed_password' },
        threshold: { count: 3, windowSeconds: 60, groupBy: ['normalized.src_ip'] },
      },
      'test',
    );
    const t0 = Date.UTC(2026, 10, 4);
    const fail = (ip: string, sec: number): LogEventInput => {
      const e = proc(st, 'sshd', 'x', 'SSH2');
      return {
        ...e,
        timestamp: new Date(t0 + sec * 1000),
        normalized: { src_ip: ip, reason: 'failed_password' },
      };
    };
    const add = async (events: LogEventInput[]) =>
      (await c.logStore()).append({ tenantId: st, events, quarantine: [] });
    const alerts = async () =>
      (await c.repos.alerts.list(st, { filters: { ruleId: rule.id }, limit: 10 })).items;

    const first = [fail('203.0.113.9', 0), fail('203.0.113.9', 10), fail('203.0.113.8', 0)];
    await add(first);
    expect((await c.services.detection.runOnce({ tenantId: st })).alertsCreated).toBe(0);
    await add([fail('203.0.113.9', 20), fail('203.0.113.8', 200)]);
    const r2 = await c.services.detection.runOnce({ tenantId: st });
    expect(r2).toMatchObject({ failed: 0, alertsCreated: 1 });
    const [a] = await alerts();
    expect(a).toMatchObject({ sourceIp: '203.0.113.9', count: 3 });
    expect(a!.eventIds).toEqual(expect.arrayContaining([first[0]!.id, first[1]!.id]));
    expect((await c.services.detection.runOnce({ tenantId: st })).alertsCreated).toBe(0);
    await add([fail('203.0.113.9', 30)]);
    const r4 = await c.services.detection.runOnce({ tenantId: st });
    expect(r4).toMatchObject({ alertsCreated: 0, alertsGrouped: 1 });
    expect((await alerts()).map((x) => x.count)).toEqual([4]);
    // The backtest sees the same single burst.
    expect((await c.services.detection.backtest(st, rule.id)).hits).toBe(1);
  });

  it('another tenant sees none of it', async () => {
    const other = (await makeTenant(t.db, 'Other')).id;
    expect((await c.repos.alerts.list(other, {})).items).toHaveLength(0);
    expect(await c.services.detection.runs(other)).toHaveLength(0);
    const r = await c.services.detection.runOnce({ tenantId: other });
    expect(r.rules).toBe(0);
  });
});
