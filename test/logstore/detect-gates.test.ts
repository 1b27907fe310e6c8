/**
 * Rule gates of the DuckDB detection statement (src/logstore/duckdb/detect-plan.ts): a gate is a necessary
 * condition of its rule, so gating may only skip work, never a match. Checked on built rules and, with the
 * shared data, by running every Windows SigmaHQ rule in ONE statement over the regression and OTRF events
 * with gates on and off: the matches must be identical.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LogEventInput } from '../../src/domain/log-event.ts';
import type { DetectionRuleInput, DetectResult } from '../../src/logstore/detect.ts';
import { DetectPlan, gateRegex } from '../../src/logstore/duckdb/detect-plan.ts';
import { DuckDbLogStore } from '../../src/logstore/duckdb/duckdb-log-store.ts';
import { readEvents, SigmaService } from '../../src/services/sigma.service.ts';
import { makeEvent } from './log-store.suite.ts';
import type { FieldRef, Node } from '../../src/sigma/ir.ts';

const TENANT = '00000000-0000-4000-8000-0000000ca7e5';
const field = (...path: string[]): FieldRef => ({ kind: 'json', column: 'normalized', paths: [path] });
const str = (f: FieldRef, text: string, where: 'contains' | 'ends' | 'eq' = 'contains'): Node<FieldRef> => ({
  kind: 'string',
  field: f,
  cased: false,
  pattern:
    where === 'eq'
      ? [{ kind: 'text', text }]
      : where === 'ends'
        ? [{ kind: 'any' }, { kind: 'text', text }]
        : [{ kind: 'any' }, { kind: 'text', text }, { kind: 'any' }],
});
const CHANNEL = field('channel');
const IMAGE = field('event_data', 'Image');
const CMD = field('event_data', 'CommandLine');
const sysmon = str(CHANNEL, 'Microsoft-Windows-Sysmon/Operational', 'eq');

describe('gateRegex', () => {
  it('is an alternation of the escaped literals, a literal containing another dropped', () => {
    expect(gateRegex(['\\cmd.exe', 'cmd', 'a|b', '(x)'])).toBe('\\(x\\)|a\\|b|cmd');
    const re = new RegExp(gateRegex(['c:\\windows\\temp\\', '.ps1', '$recycle.bin']));
    expect(re.test('c:\\windows\\temp\\x.bat')).toBe(true);
    expect(re.test('d:\\$recycle.bin\\y')).toBe(true);
    expect(re.test('c:\\windowsxtemp\\')).toBe(false);
  });
});

describe('rule gates', () => {
  const gateOf = (node: Node<FieldRef>) => new DetectPlan([{ key: 'r', node }]).rules[0]!.gate;

  it('takes the most selective conjunct that implies literals on one field', () => {
    const node: Node<FieldRef> = {
      kind: 'and',
      items: [
        sysmon,
        { kind: 'or', items: [str(IMAGE, '\\powershell.exe', 'ends'), str(IMAGE, '\\pwsh.exe', 'ends')] },
        { kind: 'or', items: [str(CMD, ' -EncodedCommand '), str(CMD, ' -enc ')] },
      ],
    };
    // Bare program names score low: the command line's literals are preferred, lower-cased.
    const fields = [...gateOf(node)!.fields];
    expect(fields).toHaveLength(1);
    expect(fields[0]![0]).toContain('CommandLine');
    expect(fields[0]![1]).toEqual([' -encodedcommand ', ' -enc ']);
  });

  it('gates an OR over a few fields on each of them', () => {
    const ofn = field('event_data', 'OriginalFileName');
    const node: Node<FieldRef> = {
      kind: 'and',
      items: [
        sysmon,
        { kind: 'or', items: [str(IMAGE, '\\rundll32.exe', 'ends'), str(ofn, 'RUNDLL32.EXE', 'eq')] },
      ],
    };
    const g = gateOf(node)!;
    expect([...g.fields.values()]).toEqual([['\\rundll32.exe'], ['rundll32.exe']]);
    const six = ['A', 'B', 'C', 'D', 'E', 'F'].map((x) => str(field('event_data', x), 'value'));
    expect(gateOf({ kind: 'and', items: [sysmon, { kind: 'or', items: six }] })!.fields.size).toBe(6);
    const seven = [...six, str(field('event_data', 'G'), 'value')];
    expect(gateOf({ kind: 'and', items: [sysmon, { kind: 'or', items: seven }] })).toBeUndefined();
  });

  it('never gates on what does not imply a literal', () => {
    const cases: Node<FieldRef>[] = [
      { kind: 'and', items: [sysmon, { kind: 'not', item: str(CMD, 'x') }] },
      { kind: 'and', items: [sysmon, { ...(str(CMD, 'Secret') as object), cased: true } as Node<FieldRef>] },
      {
        kind: 'and',
        items: [sysmon, { kind: 'or', items: [str(CMD, 'abc'), { kind: 'not', item: str(IMAGE, 'def') }] }],
      },
      { kind: 'and', items: [sysmon, str(CMD, 'é—')] },
      {
        kind: 'and',
        items: [sysmon, { kind: 'string', field: CMD, cased: false, pattern: [{ kind: 'any' }] }],
      },
    ];
    for (const node of cases) expect(gateOf(node), JSON.stringify(node)).toBeUndefined();
  });

  it('gates a non-ASCII literal on its longest printable ASCII run', () => {
    // Sigma's windash turns ' -p ' into variants with an en dash, em dash, horizontal bar...
    const node: Node<FieldRef> = {
      kind: 'and',
      items: [sysmon, { kind: 'or', items: [str(CMD, ' -accepteula'), str(CMD, ' \u2013AcceptEula')] }],
    };
    expect([...gateOf(node)!.fields.values()]).toEqual([[' -accepteula', 'accepteula']]);
    expect([...gateOf({ kind: 'and', items: [sysmon, str(CMD, 'café crème')] })!.fields.values()]).toEqual([
      ['caf'],
    ]);
  });

  it('gates nothing when turned off', () => {
    const node: Node<FieldRef> = { kind: 'and', items: [sysmon, str(CMD, 'mimikatz')] };
    expect(new DetectPlan([{ key: 'r', node }], { gateBucket: 0 }).rules[0]!.gate).toBeUndefined();
    expect(() => new DetectPlan([], { gateBucket: -1 })).toThrow(/gateBucket/);
  });

  it('finds the same events with and without gates (built rules, one statement)', async () => {
    const events: LogEventInput[] = [
      'powershell.exe -enc AAAA',
      'POWERSHELL.EXE -EncodedCommand BBBB',
      'cmd.exe /c whoami',
      'rundll32.exe x.dll,Start',
      'certutil -urlcache -f http://x',
    ].map((cmd, i) =>
      makeEvent(TENANT, i, {
        raw: cmd,
        sourceType: 'windows_event',
        normalized: {
          channel: 'Microsoft-Windows-Sysmon/Operational',
          event_id: 1,
          event_data: { CommandLine: cmd, Image: `C:\\Windows\\System32\\${cmd.split(' ')[0]}` },
        },
      }),
    );
    const rules: DetectionRuleInput[] = [
      {
        key: 'enc',
        node: {
          kind: 'and',
          items: [sysmon, { kind: 'or', items: [str(CMD, ' -enc'), str(CMD, 'encodedcommand')] }],
        },
      },
      {
        key: 'whoami',
        node: { kind: 'and', items: [sysmon, str(CMD, 'whoami'), str(IMAGE, '\\cmd.exe', 'ends')] },
      },
      {
        key: 'urlcache',
        node: {
          kind: 'and',
          items: [sysmon, str(CMD, 'URLCACHE'), { kind: 'not', item: str(CMD, 'localhost') }],
        },
      },
      { key: 'none', node: { kind: 'and', items: [sysmon, str(CMD, 'mimikatz')] } },
    ];
    const counts = async (gateBucket: number) => {
      const store = new DuckDbLogStore(':memory:', { detectGateBucket: gateBucket });
      await store.init();
      try {
        await store.append({ tenantId: TENANT, events, quarantine: [] });
        const r = await store.detect(TENANT, rules, { afterSeq: 0, uptoSeq: await store.maxSeq(TENANT) });
        return Object.fromEntries([...r.matches].map(([k, m]) => [k, m.count]));
      } finally {
        await store.close();
      }
    };
    const gated = await counts(2);
    expect(gated).toEqual({ enc: 2, whoami: 1, urlcache: 1 });
    expect(await counts(0)).toEqual(gated);
  });
});

describe('logsource dispatch (one statement, many logsources)', () => {
  const SECURITY = (v = 'Security') => str(CHANNEL, v, 'eq');
  const eventId = (v: string) => str(field('event_id'), v, 'eq');
  const win = (i: number, channel: string, id: number, raw: string, data: Record<string, unknown> = {}) =>
    makeEvent(TENANT, i, {
      raw,
      sourceType: 'windows_event',
      appname: null,
      normalized: { channel, event_id: id, event_data: data },
    });
  const and = (...items: Node<FieldRef>[]): Node<FieldRef> => ({ kind: 'and', items });
  const keyword = (text: string): Node<FieldRef> => ({
    kind: 'keyword',
    cased: false,
    pattern: [{ kind: 'any' }, { kind: 'text', text }, { kind: 'any' }],
  });
  const events = [
    win(0, 'Security', 4624, 'logon alice', { TargetUserName: 'alice' }),
    win(1, 'Security', 4625, 'failed logon MIMIKATZ', { TargetUserName: 'bob' }),
    win(2, 'Security', 4624, 'logon bob', { TargetUserName: 'bob' }),
    win(3, 'Microsoft-Windows-Sysmon/Operational', 1, 'process', { CommandLine: 'whoami /all' }),
    win(4, 'SECURITY', 4625, 'failed logon carol', { TargetUserName: 'carol' }),
    win(5, 'System', 7045, 'service sekurlsa::logonpasswords', {}),
    // DuckDB's lower() turns İ (U+0130) into i: the raw text's case-insensitive gate must let it through.
    win(6, 'System', 7045, 'service MİMİKATZ', {}),
  ];
  const rules: DetectionRuleInput[] = [
    { key: 'logon', node: and(SECURITY(), eventId('4624')) },
    {
      key: 'logon-bob',
      node: and(SECURITY(), eventId('4624'), str(field('event_data', 'TargetUserName'), 'bob')),
    },
    { key: 'failed', node: and(SECURITY(), eventId('4625')) },
    // The same channel spelled in another case: a second trie branch, not exclusive with the first.
    { key: 'failed-lower', node: and(SECURITY('security'), eventId('4625')) },
    { key: 'any-security', node: and(SECURITY(), str(field('event_id'), '46', 'contains')) },
    { key: 'whoami', node: and(sysmon, eventId('1'), str(CMD, 'whoami')) },
    // No logsource condition at all, and keyword rules (the raw text), gated or not.
    { key: 'keyword', node: { kind: 'or', items: [keyword('mimikatz'), keyword('sekurlsa::')] } },
    { key: 'keyword-security', node: and(SECURITY(), keyword('mimikatz')) },
    { key: 'nothing', node: and(SECURITY(), eventId('4688')) },
  ];
  const expected = {
    logon: 2,
    'logon-bob': 1,
    failed: 2,
    'failed-lower': 2,
    'any-security': 4,
    whoami: 1,
    keyword: 3,
    'keyword-security': 1,
  };

  it('gates keyword rules on the lowered raw text', () => {
    const plan = new DetectPlan(rules);
    const kw = plan.rules.find((r) => r.key === 'keyword')!;
    expect([...kw.gate!.fields.values()]).toEqual([['mimikatz', 'sekurlsa::']]);
  });

  it('evaluates every rule on its own events only, with and without gates', async () => {
    for (const gateBucket of [0, 1, 16]) {
      const store = new DuckDbLogStore(':memory:', { detectGateBucket: gateBucket });
      await store.init();
      try {
        await store.append({ tenantId: TENANT, events, quarantine: [] });
        const r = await store.detect(TENANT, rules, { afterSeq: 0, uptoSeq: await store.maxSeq(TENANT) });
        expect(r.errors.size).toBe(0);
        expect(
          Object.fromEntries([...r.matches].map(([k, m]) => [k, m.count])),
          `gates ${gateBucket}`,
        ).toEqual(expected);
      } finally {
        await store.close();
      }
    }
  });

  it('chains exclusive EventID tests into one CASE per channel', () => {
    const sql = new DetectPlan(rules).statement(new DetectPlan(rules).rules).sql;
    // Security 4624 and 4625 (and 4688) share one CASE: a WHEN per value.
    expect(sql).toMatch(/CASE WHEN [^\n]*THEN[^\n]*\nWHEN /);
  });
});

describe('literal searches of one column merged into one regular expression', () => {
  const starts = (f: FieldRef, text: string): Node<FieldRef> => ({
    kind: 'string',
    field: f,
    cased: false,
    pattern: [{ kind: 'text', text }, { kind: 'any' }],
  });
  const or = (...items: Node<FieldRef>[]): Node<FieldRef> => ({ kind: 'or', items });
  // Regex metacharacters in the values, anchors at either end, an equality, values JavaScript lowers as DuckDB
  // does (ASCII, punctuation such as the en dash of Sigma's windash) and values it does not (Σ: JavaScript's
  // final sigma is ς, DuckDB's lower() gives σ), and a lone value of another column left apart.
  const rules: DetectionRuleInput[] = [
    {
      key: 'list',
      node: or(
        str(CMD, 'a.b'),
        starts(CMD, 'C:\\Tools\\'),
        str(CMD, '(x|y)', 'ends'),
        str(CMD, 'ÄRGER'),
        str(CMD, 'ΟΔΟΣ'),
        str(CMD, 'exact', 'eq'),
        str(IMAGE, 'evil.exe', 'ends'),
        str(CMD, '[z]*+?{1}^$'),
      ),
    },
    { key: 'not-list', node: { kind: 'not', item: or(str(CMD, 'q'), str(CMD, 'r'), str(CMD, 's')) } },
    { key: 'dash', node: or(str(CMD, '\u2013Flag'), str(CMD, 'zz')) },
  ];
  const events = [
    'xx A.B yy', // contains a.b
    'aXb', // a regex '.' would match: must not
    'c:\\tools\\run', // starts with
    'run c:\\tools\\', // not at the start
    'end (X|Y)', // ends with
    '(x|y) not at the end',
    'big ärger', // the non-ASCII value (lowered by DuckDB)
    'EXACT',
    'exact and more',
    'has [Z]*+?{1}^$ inside',
    'qrs', // all three of the negated list
    'nothing',
    'run \u2013FLAG', // the en dash value
    'run -flag', // an ASCII hyphen instead: not it
    'οδοσ', // ΟΔΟΣ as DuckDB lowers it
  ].map((cmd, i) =>
    makeEvent(TENANT, i, {
      raw: cmd,
      sourceType: 'windows_event',
      appname: null,
      normalized: { event_data: { CommandLine: cmd, ...(i === 11 ? { Image: 'C:\\EVIL.EXE' } : {}) } },
    }),
  );

  it('compiles the runs into one regexp_matches per column, leaving the rest', () => {
    const plan = new DetectPlan(rules);
    const sql = plan.statement(plan.rules).sql;
    const hits = sql.slice(sql.indexOf('hits AS'));
    // The list's CMD run (lowered by DuckDB: Ä, Σ), the negated list and the dash list (lowered here).
    expect(hits.match(/regexp_matches\(/g)?.length).toBe(3);
    expect(hits.match(/regexp_matches\(l\d+, lower\(\$\d+\)\)/g)?.length).toBe(1);
    expect(hits).toMatch(/ends_with\(l\d+, \$\d+\)/); // the one value of IMAGE
    expect(hits.match(/starts_with\(|contains\(|l\d+ = /g)).toBeNull();
  });

  it('finds the same events as one search per value', async () => {
    const found: Record<string, number[]>[] = [];
    for (const detectTextRuns of [true, false]) {
      const store = new DuckDbLogStore(':memory:', { detectTextRuns });
      await store.init();
      try {
        await store.append({ tenantId: TENANT, events, quarantine: [] });
        const r = await store.detect(TENANT, rules, { afterSeq: 0, uptoSeq: await store.maxSeq(TENANT) });
        expect(r.errors.size).toBe(0);
        found.push(
          Object.fromEntries(
            [...r.matches].map(([k, m]) => [k, m.events.map((e) => events.findIndex((x) => x.id === e.id))]),
          ),
        );
      } finally {
        await store.close();
      }
    }
    expect(found[0]).toEqual({
      list: [0, 2, 4, 6, 7, 9, 11, 14],
      'not-list': [0, 1, 4, 5, 7, 11, 14],
      dash: [12],
    });
    expect(found[1]).toEqual(found[0]);
  });
});

const SHARED = resolve(import.meta.dirname, '../../../shared/data');
const RULES = join(SHARED, 'detection_rules/sigma');
const REGRESSION = join(SHARED, 'sigma_logs/sigmahq_regression_data');
const OTRF = join(SHARED, 'sigma_logs/otrf_security_datasets');
const present = [RULES, REGRESSION, OTRF].every((p) => existsSync(p));
if (!present) console.warn(`[detect gates] ${SHARED} is absent: skipping the SigmaHQ equivalence test`);

function jsonFiles(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const p = join(root, e.name);
      return e.isDirectory() ? jsonFiles(p) : e.name.endsWith('.json') ? [p] : [];
    });
}

describe.skipIf(!present)('gates on every Windows SigmaHQ rule (../shared/data)', () => {
  const stores: DuckDbLogStore[] = [];
  afterAll(async () => {
    for (const s of stores) await s.close();
  });

  it('one statement of all the rules finds the same matches with gates and merged searches on and off', async () => {
    const events: LogEventInput[] = [];
    for (const f of [...jsonFiles(REGRESSION), ...jsonFiles(OTRF).slice(0, 8)])
      for await (const b of readEvents(f, TENANT, { format: 'auto', timezone: 'UTC' }))
        for (const e of b.events) if (e.sourceType === 'windows_event') events.push(e);
    const set = new SigmaService().load([RULES]);
    const rules: DetectionRuleInput[] = set.rules
      .filter((r) => r.rule.logsource.product?.toLowerCase() === 'windows')
      .map((r, i) => ({ key: `${i}:${r.rule.id ?? ''}`, node: r.node }));
    const run = async (gateBucket: number): Promise<DetectResult> => {
      // Without gates, also without merged literal searches: the plainest statement is the reference.
      const store = new DuckDbLogStore(':memory:', {
        detectGateBucket: gateBucket,
        ...(gateBucket === 0 ? { detectTextRuns: false } : {}),
      });
      stores.push(store);
      await store.init();
      for (let i = 0; i < events.length; i += 5000)
        await store.append({ tenantId: TENANT, events: events.slice(i, i + 5000), quarantine: [] });
      return store.detect(TENANT, rules, {
        afterSeq: 0,
        uptoSeq: await store.maxSeq(TENANT),
        maxMatchesPerRule: 5,
      });
    };
    const summary = (r: DetectResult) =>
      Object.fromEntries(
        [...r.matches]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, m]) => [k, [m.count, m.events.map((e) => e.id)]]),
      );
    const gated = await run(16);
    const open = await run(0);
    expect(gated.errors.size).toBe(0);
    expect(Object.keys(summary(gated)).length).toBeGreaterThan(100);
    expect(summary(gated)).toEqual(summary(open));

    // The reference: each rule that matched, and a sample of those that did not, ALONE in its statement (no
    // other logsource, no shared trie or gate bucket) finds the same events.
    const store = stores[0]!;
    const upto = await store.maxSeq(TENANT);
    const matched = rules.filter((r) => gated.matches.has(r.key));
    const unmatched = rules.filter((r) => !gated.matches.has(r.key)).filter((_, i) => i % 25 === 0);
    const alone: DetectResult = { scanned: 0, matches: new Map(), errors: new Map(), elapsedMs: 0 };
    for (const rule of [...matched, ...unmatched]) {
      const r = await store.detect(TENANT, [rule], { afterSeq: 0, uptoSeq: upto, maxMatchesPerRule: 5 });
      for (const [k, m] of r.matches) alone.matches.set(k, m);
      for (const [k, e] of r.errors) alone.errors.set(k, e);
    }
    expect(alone.errors.size).toBe(0);
    expect(summary(alone)).toEqual(summary(gated));
  }, 600_000);
});
