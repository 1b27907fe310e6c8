/**
 * Sigma correlation rules end to end: rule files and NDJSON Windows Security events in a temporary
 * directory, run through `SigmaService.test` (events ingested into an in-memory DuckDB store, referenced rules
 * run with their correlation fields, correlations evaluated, report assembled).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SigmaService, type TestReport } from '../../src/services/sigma.service.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigil-correlation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FAILED_ID = '7a4c2d3e-1f5b-4c8d-9e0a-2b3c4d5e6f70';
const SUCCESS_ID = '8b5d3e4f-2a6c-4d9e-8f1b-3c4d5e6f7081';
const PROC_ID = '9c6e4f50-3b7d-4e0f-9a2c-4d5e6f708192';
const CORR_ID = 'a1b2c3d4-0000-4000-8000-00000000c0de';

const FAILED = `title: Failed logon
id: ${FAILED_ID}
name: failed_logon
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4625
  condition: selection
level: low
`;
const SUCCESS = `title: Successful logon
id: ${SUCCESS_ID}
name: successful_logon
logsource:
  product: windows
  service: security
detection:
  selection:
    EventID: 4624
  condition: selection
level: informational
`;
const PROC = `title: Process created
id: ${PROC_ID}
name: process_created
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    EventID: 4688
  condition: selection
level: informational
`;

function correlation(body: string, extra = ''): string {
  return `title: The correlation
id: ${CORR_ID}
${extra}correlation:
${body
  .trim()
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
level: high
`;
}

let n = 0;
/** Writes the rule documents (one file, multi-document) and the events (NDJSON), runs `sigma test`. */
async function run(docs: readonly string[], events: readonly object[]): Promise<TestReport> {
  n += 1;
  const rules = join(dir, `rules-${n}.yml`);
  const file = join(dir, `events-${n}.ndjson`);
  writeFileSync(rules, docs.join('---\n'));
  writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return new SigmaService().test([rules], [file]);
}

const T0 = Date.parse('2024-05-01T10:00:00Z');
const time = (sec: number) => new Date(T0 + sec * 1000).toISOString();
const failed = (sec: number, user: string, ip?: string) => ({
  EventID: 4625,
  Channel: 'Security',
  Computer: 'dc1',
  TargetUserName: user,
  ...(ip !== undefined ? { IpAddress: ip } : {}),
  TimeCreated: time(sec),
});
const success = (sec: number, user: string) => ({
  EventID: 4624,
  Channel: 'Security',
  Computer: 'dc1',
  TargetUserName: user,
  IpAddress: '10.0.0.5',
  TimeCreated: time(sec),
});
const proc = (sec: number, user: string) => ({
  EventID: 4688,
  Channel: 'Security',
  Computer: 'ws1',
  SubjectUserName: user,
  NewProcessName: 'C:\\Windows\\System32\\whoami.exe',
  TimeCreated: time(sec),
});

const counts = (r: TestReport) => Object.fromEntries(r.matches.map((m) => [m.id, m.count]));

describe('sigma test: correlation rules', () => {
  it('event_count: 3+ failed logons per user in 5 minutes; the referenced rule is not reported alone', async () => {
    const r = await run(
      [
        FAILED,
        SUCCESS,
        correlation(`
type: event_count
rules: [failed_logon]
group-by: [TargetUserName]
timespan: 5m
condition: { gte: 3 }
`),
      ],
      [
        failed(0, 'bob'),
        failed(30, 'bob'),
        failed(60, 'bob'),
        failed(90, 'bob'),
        failed(0, 'alice'),
        failed(100, 'alice'),
        // alice's third is 6 minutes after her first two
        failed(460, 'alice'),
        success(120, 'bob'),
      ],
    );
    expect(r.events).toBe(8);
    expect(r.rules).toBe(2);
    expect(r.correlations).toBe(1);
    expect(r.unsupported).toEqual([]);
    // bob: one hit; alice: none. failed_logon is only the correlation's input (generate: false).
    expect(counts(r)).toEqual({ [CORR_ID]: 1, [SUCCESS_ID]: 1 });
    expect(r.matches.find((m) => m.id === CORR_ID)!.title).toBe('The correlation');
  });

  it('generate: true also reports the referenced rule with its own count', async () => {
    const r = await run(
      [
        FAILED,
        correlation(
          `
type: event_count
rules: [${FAILED_ID}]
group-by: [TargetUserName]
timespan: 5m
condition: { gte: 3 }
generate: true
`,
        ),
      ],
      [failed(0, 'bob'), failed(1, 'bob'), failed(2, 'bob'), failed(3, 'alice')],
    );
    expect(counts(r)).toEqual({ [CORR_ID]: 1, [FAILED_ID]: 4 });
  });

  it('value_count: distinct user names per source address, one hit per burst', async () => {
    const r = await run(
      [
        FAILED,
        correlation(`
type: value_count
rules: [failed_logon]
group-by: [IpAddress]
timespan: 10m
condition: { field: TargetUserName, gte: 3 }
`),
      ],
      [
        // 10.0.0.5 sprays three accounts, twice, an hour apart: two hits
        failed(0, 'bob', '10.0.0.5'),
        failed(10, 'alice', '10.0.0.5'),
        failed(20, 'carol', '10.0.0.5'),
        failed(3600, 'dave', '10.0.0.5'),
        failed(3610, 'erin', '10.0.0.5'),
        failed(3620, 'dave', '10.0.0.5'),
        failed(3630, 'frank', '10.0.0.5'),
        // 10.0.0.9 tries one account many times: no hit
        ...[0, 1, 2, 3, 4, 5].map((s) => failed(s, 'bob', '10.0.0.9')),
        // two accounts from 10.0.0.7: below the threshold
        failed(0, 'bob', '10.0.0.7'),
        failed(1, 'alice', '10.0.0.7'),
      ],
    );
    expect(counts(r)).toEqual({ [CORR_ID]: 2 });
  });

  it('temporal_ordered: failed logons followed by a success of the same user', async () => {
    const rule = correlation(`
type: temporal_ordered
rules: [failed_logon, successful_logon]
group-by: [TargetUserName]
timespan: 10m
`);
    const positive = await run(
      [FAILED, SUCCESS, rule],
      [failed(0, 'bob'), failed(10, 'bob'), success(60, 'bob')],
    );
    expect(counts(positive)).toEqual({ [CORR_ID]: 1 });
    // success first, failure after: not in order
    const negative = await run([FAILED, SUCCESS, rule], [success(0, 'alice'), failed(60, 'alice')]);
    expect(counts(negative)).toEqual({});
    // in order but different users
    const users = await run([FAILED, SUCCESS, rule], [failed(0, 'bob'), success(60, 'alice')]);
    expect(counts(users)).toEqual({});
  });

  it('temporal with aliases: a logon and a process of the same user under different field names', async () => {
    const rule = correlation(`
type: temporal
rules: [failed_logon, process_created]
group-by: [user]
timespan: 5m
aliases:
  user:
    failed_logon: TargetUserName
    process_created: SubjectUserName
`);
    const r = await run(
      [FAILED, PROC, rule],
      [
        proc(0, 'bob'),
        failed(30, 'bob'),
        // carol fails, dave starts a process: different users
        failed(0, 'carol'),
        proc(10, 'dave'),
      ],
    );
    expect(r.unsupported).toEqual([]);
    expect(counts(r)).toEqual({ [CORR_ID]: 1 });
    const none = await run([FAILED, PROC, rule], [failed(0, 'carol'), proc(10, 'dave')]);
    expect(counts(none)).toEqual({});
  });

  it('timespan: an event exactly at the edge is inside, a second later is not', async () => {
    const r = await run(
      [
        FAILED,
        correlation(`
type: event_count
rules: [failed_logon]
group-by: [TargetUserName]
timespan: 5m
condition: { gte: 2 }
`),
      ],
      [failed(0, 'bob'), failed(300, 'bob'), failed(0, 'alice'), failed(301, 'alice')],
    );
    expect(counts(r)).toEqual({ [CORR_ID]: 1 });
  });

  it('events without the group-by field belong to no group', async () => {
    const rule = correlation(`
type: event_count
rules: [failed_logon]
group-by: [IpAddress]
timespan: 5m
condition: { gte: 3 }
`);
    const absent = await run([FAILED, rule], [failed(0, 'bob'), failed(1, 'bob'), failed(2, 'bob')]);
    expect(counts(absent)).toEqual({});
    const present = await run(
      [FAILED, rule],
      [
        failed(0, 'bob'),
        failed(1, 'bob', '10.0.0.5'),
        failed(2, 'bob', '10.0.0.5'),
        failed(3, 'bob', '10.0.0.5'),
      ],
    );
    expect(counts(present)).toEqual({ [CORR_ID]: 1 });
  });

  it('a rule referenced by a generating and a non-generating correlation is reported', async () => {
    const second = `title: Quiet correlation
id: b1b2c3d4-0000-4000-8000-00000000c0de
correlation:
  type: event_count
  rules: [failed_logon]
  group-by: [TargetUserName]
  timespan: 1m
  condition: { gte: 100 }
`;
    const generating = correlation(`
type: event_count
rules: [failed_logon]
timespan: 1m
condition: { gte: 1 }
generate: true
`);
    const r = await run([FAILED, second, generating], [failed(0, 'bob'), failed(1, 'bob')]);
    expect(counts(r)).toEqual({ [CORR_ID]: 1, [FAILED_ID]: 2 });
    expect(r.correlations).toBe(2);
  });

  it('a correlation naming an unknown rule or another correlation is unsupported, with the reason', async () => {
    const unknown = correlation(`
type: event_count
rules: [no_such_rule]
timespan: 1m
condition: { gte: 1 }
`);
    const chained = `title: Chained
id: c1b2c3d4-0000-4000-8000-00000000c0de
correlation:
  type: temporal
  rules: [${CORR_ID}, failed_logon]
  timespan: 1m
`;
    const r = await run([FAILED, unknown, chained], [failed(0, 'bob')]);
    expect(r.matches).toEqual([]);
    expect(r.unsupported.map((u) => [u.id, u.title, u.reason])).toEqual([
      [CORR_ID, 'The correlation', "rule 'no_such_rule' is unknown or could not be prepared"],
      [
        'c1b2c3d4-0000-4000-8000-00000000c0de',
        'Chained',
        `rule '${CORR_ID}' is a correlation: chained correlations are not supported`,
      ],
    ]);
  });
});
