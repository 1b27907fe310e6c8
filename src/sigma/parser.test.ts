import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatNode } from './condition.ts';
import type { SigmaCorrelation, SigmaDocument, SigmaFilter, SigmaRule } from './model.ts';
import { SigmaError } from './model.ts';
import { parseSigma, parseTimespan, type ParseResult } from './parser.ts';

const parse = (text: string, placeholders?: Record<string, string[]>): ParseResult =>
  parseSigma(text, { file: 'r.yml', ...(placeholders ? { placeholders } : {}) });

function one<T extends SigmaDocument>(text: string, type: T['type']): T {
  const r = parse(text);
  expect(r.errors.map((e) => e.message)).toEqual([]);
  expect(r.documents).toHaveLength(1);
  expect(r.documents[0]!.type).toBe(type);
  return r.documents[0] as T;
}
const rule = (text: string) => one<SigmaRule>(text, 'rule');
function error(text: string): SigmaError {
  const r = parse(text);
  expect(r.documents).toEqual([]);
  expect(r.errors).toHaveLength(1);
  expect(r.errors[0]).toBeInstanceOf(SigmaError);
  return r.errors[0]!;
}

const RULE = `title: Suspicious Whoami
id: 11111111-2222-3333-4444-555555555555
status: test
description: test rule
references:
  - https://example.com
author: me
date: 2024-01-02
modified: 2024/02/03
tags:
  - attack.discovery
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    Image|endswith: '\\whoami.exe'
    EventID: 4688
  filter_main:
    User: SYSTEM
  condition: selection and not filter_main
falsepositives:
  - Admins
level: medium
`;

describe('rules', () => {
  it('parses metadata, logsource and the resolved detection', () => {
    const r = rule(RULE);
    expect(r.title).toBe('Suspicious Whoami');
    expect(r.id).toBe('11111111-2222-3333-4444-555555555555');
    expect(r.status).toBe('test');
    expect(r.level).toBe('medium');
    expect(r.date).toBe('2024-01-02');
    expect(r.modified).toBe('2024/02/03');
    expect(r.references).toEqual(['https://example.com']);
    expect(r.tags).toEqual(['attack.discovery']);
    expect(r.falsepositives).toEqual(['Admins']);
    expect(r.fields).toEqual([]);
    expect(r.related).toEqual([]);
    expect(r.logsource).toEqual({ category: 'process_creation', product: 'windows' });
    expect(r.detectionNames).toEqual(['selection', 'filter_main']);
    expect(formatNode(r.detection)).toBe("and(Image='*\\\\whoami.exe', EventID='4688', not(User='SYSTEM'))");
    expect(r.location).toEqual({ file: 'r.yml', line: 1 });
    expect(r.yaml).toBe(RULE);
  });
  it('defaults optional lists and leaves optional fields out', () => {
    const r = rule(`title: t
logsource: {product: linux}
detection:
  keywords: [evil]
  condition: keywords
`);
    expect(r.references).toEqual([]);
    expect(r.tags).toEqual([]);
    expect(r.falsepositives).toEqual([]);
    expect(r.id).toBeUndefined();
    expect(r.level).toBeUndefined();
    expect(formatNode(r.detection)).toBe("'*evil*'");
  });
  it('reads related entries', () => {
    const r = rule(`title: t
related:
  - id: abc
    type: derived
logsource: {product: linux}
detection: {sel: {a: 1}, condition: sel}
`);
    expect(r.related).toEqual([{ id: 'abc', type: 'derived' }]);
  });
  it('lists of maps are OR, keyword lists are OR of keywords, value lists OR', () => {
    const r = rule(`title: t
logsource: {product: windows}
detection:
  sel:
    - Image|endswith: '\\a.exe'
      CommandLine|contains: x
    - Image|endswith: '\\b.exe'
  keywords:
    - 'foo'
    - 'ba*r'
  vals:
    EventID:
      - 1
      - 2
  empty:
    User: ''
    Parent: null
    Other:
  condition: sel or keywords or vals or empty
`);
    expect(formatNode(r.detection)).toBe(
      "or(and(Image='*\\\\a.exe', CommandLine='*x*'), Image='*\\\\b.exe', '*foo*', '*ba*r*', EventID='1', EventID='2', and(User='', Parent=null, Other=null))",
    );
  });
  it('a list of conditions is OR-ed', () => {
    const r = rule(`title: t
logsource: {product: windows}
detection:
  a: {x: 1}
  b: {y: 2}
  condition:
    - a
    - b
`);
    expect(formatNode(r.detection)).toBe("or(x='1', y='2')");
  });
  it('keyword map with |all', () => {
    const r = rule(`title: t
logsource: {product: windows}
detection:
  keywords:
    '|all':
      - a
      - b
  condition: keywords
`);
    expect(formatNode(r.detection)).toBe("and('*a*', '*b*')");
  });
  it('expand uses the given placeholders', () => {
    const text = `title: t
logsource: {product: windows}
detection:
  sel:
    Host|expand: '%dcs%'
  condition: sel
`;
    const r = parse(text, { dcs: ['dc1', 'dc2'] });
    expect(r.errors).toEqual([]);
    expect(formatNode((r.documents[0] as SigmaRule).detection)).toBe("or(Host='dc1', Host='dc2')");
    const e = parse(text).errors[0]!;
    expect(e.line).toBe(5);
    expect(e.reason).toMatch(/unknown placeholder '%dcs%'/);
  });
});

describe('errors carry the line of the offending key', () => {
  it('unknown modifier', () => {
    const e = error(`title: t
logsource: {product: windows}
detection:
  sel:
    Image: x
    CommandLine|containz: y
  condition: sel
`);
    expect(e.line).toBe(6);
    expect(e.reason).toMatch(/'CommandLine\|containz': unknown modifier 'containz'/);
    expect(e.message).toBe(`r.yml:6: ${e.reason}`);
  });
  it('illegal combination', () => {
    const e = error(`title: t
logsource: {product: windows}
detection:
  sel:
    CommandLine|re|contains: y
  condition: sel
`);
    expect(e.line).toBe(5);
    expect(e.reason).toMatch(/'re' cannot be combined with 'contains'/);
  });
  it('undefined identifier in the condition, with the condition line and column', () => {
    const e = error(`title: t
logsource: {product: windows}
detection:
  selection:
    a: 1
  condition: selection and not filter
`);
    expect(e.line).toBe(6);
    expect(e.reason).toBe("condition 'selection and not filter': undefined detection 'filter' at column 19");
  });
  it('a condition list item gets its own line', () => {
    const e = error(`title: t
logsource: {product: windows}
detection:
  a: {x: 1}
  condition:
    - a
    - 1 of b*
`);
    expect(e.line).toBe(7);
    expect(e.reason).toMatch(/'b\*' matches no detection/);
  });
  it('condition syntax error', () => {
    const e = error(`title: t
logsource: {product: windows}
detection:
  a: {x: 1}
  condition: (a
`);
    expect(e.line).toBe(5);
    expect(e.reason).toMatch(/expected '\)' but found end of condition at column 3/);
  });
  it('missing condition, missing title, invalid level and status', () => {
    expect(error(`title: t\nlogsource: {product: x}\ndetection:\n  a: {x: 1}\n`).reason).toMatch(
      /'condition' is missing/,
    );
    expect(error(`logsource: {product: x}\ndetection: {a: {x: 1}, condition: a}\n`).reason).toMatch(
      /'title' is required/,
    );
    const lvl = error(
      `title: t\nlevel: severe\nlogsource: {product: x}\ndetection: {a: {x: 1}, condition: a}\n`,
    );
    expect(lvl.line).toBe(2);
    expect(lvl.reason).toMatch(/invalid level 'severe'/);
    const st = error(
      `title: t\nstatus: done\nlogsource: {product: x}\ndetection: {a: {x: 1}, condition: a}\n`,
    );
    expect(st.reason).toMatch(/invalid status 'done'/);
  });
  it('several problems: the first gives the line, the others are listed', () => {
    const e = error(`title: t
level: severe
logsource: {product: windows}
detection:
  sel:
    A|foo: 1
  condition: sel
`);
    expect(e.line).toBe(2);
    expect(e.reason).toMatch(/invalid level 'severe'.*; also line 6: 'A\|foo': unknown modifier 'foo'/);
  });
  it('YAML syntax errors have their line', () => {
    const e = error(`title: t\nlogsource:\n  product: [windows\ndetection: x\n`);
    expect(e.reason).toMatch(/^YAML: /);
    expect(e.line).toBeGreaterThanOrEqual(3);
  });
  it('duplicate keys are YAML errors', () => {
    const e = error(`title: t\ntitle: u\nlogsource: {product: x}\ndetection: {a: {x: 1}, condition: a}\n`);
    expect(e.line).toBe(2);
    expect(e.reason).toMatch(/YAML: .*unique/i);
  });
  it('a document of no known kind, v1 collections and timeframe are refused', () => {
    expect(error(`title: t\nfoo: bar\n`).reason).toMatch(/no 'detection', 'correlation' or 'filter'/);
    expect(error(`action: global\ntitle: t\ndetection: {a: {x: 1}, condition: a}\n`).reason).toMatch(
      /'action'/,
    );
    expect(
      error(`title: t\nlogsource: {product: x}\ndetection: {a: {x: 1}, timeframe: 5m, condition: a}\n`)
        .reason,
    ).toMatch(/timeframe/);
  });
  it('missing logsource', () => {
    expect(error(`title: t\ndetection: {a: {x: 1}, condition: a}\n`).reason).toMatch(
      /'logsource' is required/,
    );
  });
  it('never throws, even on odd input', () => {
    for (const t of [
      '',
      '---\n---\n',
      '[1, 2]',
      'just text',
      ': :',
      '\t\tx: [',
      'title: t\ndetection: 5\n',
    ]) {
      expect(() => parse(t)).not.toThrow();
    }
    expect(parse('').documents).toEqual([]);
    expect(parse('').errors).toEqual([]);
  });
});

describe('multi-document files', () => {
  it('each document is a document or an error, with its own start line', () => {
    const text = `title: a
logsource: {product: x}
detection: {s: {x: 1}, condition: s}
---
title: b
logsource: {product: x}
detection: {s: {x: 1}, condition: nope}
---
title: c
logsource: {product: x}
detection: {s: {x: 1}, condition: s}
`;
    const r = parse(text);
    expect(r.documents.map((d) => d.title)).toEqual(['a', 'c']);
    expect(r.documents[1]!.location.line).toBe(9);
    expect(r.documents[1]!.yaml).toContain('title: c');
    expect(r.documents[1]!.yaml).not.toContain('title: a');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]!.line).toBe(7);
  });
});

const CORRELATION = `title: Many failed logins
id: corr-1
name: many_failed
status: test
level: high
correlation:
  type: event_count
  rules:
    - failed_login
  group-by:
    - User
  timespan: 5m
  condition:
    gte: 10
`;

describe('correlations', () => {
  it('parses an event_count correlation', () => {
    const c = one<SigmaCorrelation>(CORRELATION, 'correlation');
    expect(c.correlation).toEqual({
      type: 'event_count',
      rules: ['failed_login'],
      groupBy: ['User'],
      timespanSeconds: 300,
      condition: { op: 'gte', value: 10 },
      aliases: {},
      generate: false,
    });
    expect(c.name).toBe('many_failed');
  });
  it('value_count with field, temporal without condition, aliases and generate', () => {
    const v = one<SigmaCorrelation>(
      `title: v
correlation:
  type: value_count
  rules: one_rule
  group-by: Host
  timespan: 1h
  condition: {field: User, gt: 3}
`,
      'correlation',
    );
    expect(v.correlation.condition).toEqual({ op: 'gt', value: 3, field: 'User' });
    expect(v.correlation.rules).toEqual(['one_rule']);
    expect(v.correlation.groupBy).toEqual(['Host']);
    const t = one<SigmaCorrelation>(
      `title: t
correlation:
  type: temporal_ordered
  rules: [a, b]
  group-by: [ip]
  timespan: 2d
  generate: true
  aliases:
    ip:
      a: SourceIp
      b: DestinationIp
`,
      'correlation',
    );
    expect(t.correlation.type).toBe('temporal_ordered');
    expect(t.correlation.condition).toBeUndefined();
    expect(t.correlation.timespanSeconds).toBe(2 * 86400);
    expect(t.correlation.generate).toBe(true);
    expect(t.correlation.aliases).toEqual({ ip: { a: 'SourceIp', b: 'DestinationIp' } });
  });
  it('timespans', () => {
    expect(parseTimespan('30s')).toBe(30);
    expect(parseTimespan('5m')).toBe(300);
    expect(parseTimespan('1h')).toBe(3600);
    expect(parseTimespan('2d')).toBe(172800);
    expect(parseTimespan('1w')).toBe(604800);
    expect(parseTimespan('5')).toBeUndefined();
    expect(parseTimespan('0m')).toBeUndefined();
    expect(parseTimespan('1M')).toBeUndefined();
  });
  const bad = (body: string) => error(`title: c\ncorrelation:\n${body}`);
  it('validation errors', () => {
    expect(bad('  type: sum\n  rules: [a]\n  timespan: 5m\n').reason).toMatch(
      /unknown correlation type 'sum'/,
    );
    const noTs = bad('  type: event_count\n  rules: [a]\n  condition: {gte: 1}\n');
    expect(noTs.reason).toMatch(/needs 'timespan'/);
    expect(bad('  type: value_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 1}\n').reason).toMatch(
      /value_count correlation needs 'field'/,
    );
    const tc = bad('  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  condition: {gte: 1}\n');
    expect(tc.reason).toMatch(/temporal correlation takes no 'condition'/);
    expect(tc.line).toBe(6);
    expect(bad('  type: event_count\n  rules: [a]\n  timespan: 5m\n').reason).toMatch(/needs a 'condition'/);
    expect(
      bad('  type: event_count\n  rules: [a]\n  timespan: five\n  condition: {gte: 1}\n').reason,
    ).toMatch(/invalid timespan 'five'/);
    expect(bad('  type: event_count\n  timespan: 5m\n  condition: {gte: 1}\n').reason).toMatch(
      /needs 'rules'/,
    );
    expect(
      bad('  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {about: 1}\n').reason,
    ).toMatch(/unknown condition operator 'about'/);
    expect(
      bad('  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 1, lte: 5}\n').reason,
    ).toMatch(/several operators/);
    expect(bad('  type: temporal\n  rules: [a]\n  timespan: 5m\n').reason).toMatch(/at least two rules/);
    expect(bad('  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: x}\n').reason).toMatch(
      /'gte' must be a number/,
    );
    expect(
      bad('  type: event_count\n  rules: [a]\n  timespan: 5m\n  condition: {gte: 1}\n  groupby: [x]\n')
        .reason,
    ).toMatch(/unknown correlation key 'groupby'/);
    expect(
      bad('  type: temporal\n  rules: [a, b]\n  timespan: 5m\n  aliases: {ip: {c: x}}\n').reason,
    ).toMatch(/rule 'c', which is not in 'rules'/);
  });
});

const FILTER = `title: Exclude domain controllers
id: f-1
logsource:
  product: windows
filter:
  rules:
    - 11111111-2222-3333-4444-555555555555
    - other_rule
  selection:
    ComputerName|startswith: 'DC'
  condition: not selection
`;

describe('filters', () => {
  it('parses rules and the detection; detection is the set of EXCLUDED events', () => {
    const f = one<SigmaFilter>(FILTER, 'filter');
    expect(f.rules).toEqual(['11111111-2222-3333-4444-555555555555', 'other_rule']);
    expect(f.logsource).toEqual({ product: 'windows' });
    // Sigma: rule AND (not selection). Model: rule AND NOT detection, so detection = selection.
    expect(formatNode(f.detection)).toBe("ComputerName='DC*'");
  });
  it('validation errors', () => {
    expect(error(FILTER.replace(/ {2}rules:\n.*\n.*\n/, '')).reason).toMatch(/a filter needs 'rules'/);
    const e = error(FILTER.replace('not selection', 'not selektion'));
    expect(e.line).toBe(11);
    expect(e.reason).toMatch(/undefined detection 'selektion'/);
    expect(error(FILTER.replace('ComputerName|startswith', 'ComputerName|sw')).line).toBe(10);
  });
});

// ------------------------------------------------------------------------------------------- real data

const SIGMA_DIR = resolve(import.meta.dirname, '../../../shared/data/detection_rules/sigma');
const hasData = existsSync(SIGMA_DIR);
if (!hasData) console.log(`real-data test skipped: ${SIGMA_DIR} is absent`);

describe.skipIf(!hasData)('SigmaHQ rules (real data)', () => {
  it('at least 99% of the rule files parse without error', () => {
    const files = (readdirSync(SIGMA_DIR, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.yml'))
      .sort();
    const failed: string[] = [];
    let documents = 0;
    const start = performance.now();
    for (const f of files) {
      const r = parseSigma(readFileSync(join(SIGMA_DIR, f), 'utf8'), { file: f });
      documents += r.documents.length;
      for (const e of r.errors) failed.push(e.message);
    }
    const ms = performance.now() - start;
    const failedFiles = new Set(failed.map((m) => m.split(':')[0]));
    console.log(
      `sigma: ${files.length} files, ${documents} documents, ${files.length - failedFiles.size} files parsed, ` +
        `${failedFiles.size} failed (${(ms / 1000).toFixed(1)}s)` +
        (failed.length ? `\n  ${failed.join('\n  ')}` : ''),
    );
    expect(files.length).toBeGreaterThan(1000);
    expect(files.length - failedFiles.size).toBeGreaterThanOrEqual(Math.ceil(files.length * 0.99));
  });
});
