import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { frameBuffer } from '../ingest/framing.ts';
import { createStreamParser } from '../ingest/index.ts';
import { evaluate, readField, type StoredEventLike } from './evaluate.ts';
import { literal, type FieldRef, type Node } from './ir.ts';
import type { SigmaLogsource } from './model.ts';
import {
  applyPipeline,
  combinePipelines,
  defaultPipeline,
  describeLogsource,
  loadPipeline,
  type LogsourceMapping,
  type Pipeline,
} from './pipeline.ts';

// ------------------------------------------------------------------------------------------- helpers

function stored(partial: Partial<StoredEventLike>): StoredEventLike {
  return {
    raw: '',
    appname: null,
    file: null,
    host: null,
    hostname: null,
    message: null,
    procid: null,
    source_type: 'json',
    normalized: {},
    metadata: {},
    original: null,
    ...partial,
  };
}

/** Parses records the way ingest does and shapes them like stored rows (JSON columns round-tripped). */
function parseRecords(text: string | Uint8Array, file: string | null = null): StoredEventLike[] {
  const parser = createStreamParser({ format: 'auto' });
  const out: StoredEventLike[] = [];
  for (const r of frameBuffer(text, { mode: 'auto' })) {
    if (r.text === null) continue;
    const res = parser.parse(r.text);
    if (!res.ok) continue;
    const e = res.event;
    out.push({
      raw: r.text,
      appname: e.appname,
      file,
      host: e.host,
      hostname: e.host,
      message: e.message,
      procid: e.procid,
      source_type: e.sourceType,
      normalized: JSON.parse(JSON.stringify(e.normalized)) as unknown,
      metadata: {},
      original: e.original === null ? null : (JSON.parse(JSON.stringify(e.original)) as unknown),
    });
  }
  return out;
}

function mustResolve(p: Pipeline, ls: SigmaLogsource): LogsourceMapping {
  const m = p.resolve(ls);
  if (!m) throw new Error(`does not resolve: ${describeLogsource(ls)}`);
  return m;
}

const json = (column: 'normalized' | 'original', ...paths: string[][]): FieldRef => ({
  kind: 'json',
  column,
  paths,
});

const MINIMAL = `
logsources:
  - logsource: { product: acme }
    conditions: [{ appname: acme }]
    default_field: original.{field}
`;

// ------------------------------------------------------------------------------------------- loading

describe('loadPipeline validation', () => {
  const bad: [string, string, RegExp][] = [
    ['bad YAML', 'logsources: [\n  - {', /pipeline t: YAML: /],
    ['not a map', '- a\n- b', /top level: expected a map/],
    ['unknown top-level key', 'logsource: []\nlogsources: []', /logsource: unknown top-level key/],
    ['logsources not a list', 'logsources: {}', /logsources: expected a list/],
    ['entry not a map', 'logsources: [1]', /logsources\[0\]: each logsources item must be a map/],
    [
      'unknown entry key',
      'logsources: [{logsource: {product: a}, condition: []}]',
      /logsources\[0\]\.condition: unknown key/,
    ],
    ['missing logsource', 'logsources: [{conditions: [{appname: a}]}]', /missing logsource/],
    ['empty logsource', 'logsources: [{logsource: {}, conditions: [{appname: a}]}]', /an empty logsource/],
    [
      'unknown logsource key',
      'logsources: [{logsource: {vendor: a}, conditions: [{appname: a}]}]',
      /logsource\.vendor: unknown logsource key/,
    ],
    ['missing conditions', 'logsources: [{logsource: {product: a}}]', /missing conditions/],
    [
      'declared not true',
      'logsources: [{logsource: {product: a}, declared: false, default_field: message}]',
      /logsources\[0\]\.declared: expected true/,
    ],
    [
      'declared with conditions',
      'logsources: [{logsource: {product: a}, declared: true, conditions: [{appname: a}], default_field: message}]',
      /conditions: a declared entry's condition is the rule's logsource/,
    ],
    [
      'declared and unsupported',
      'logsources: [{logsource: {product: a}, declared: true, unsupported: why}]',
      /declared: an unsupported entry has no mapping/,
    ],
    [
      'declared without default_field',
      'logsources: [{logsource: {product: a}, declared: true}]',
      /no default_field/,
    ],
    [
      'empty conditions',
      'logsources: [{logsource: {product: a}, conditions: [], default_field: message}]',
      /conditions: conditions must be a non-empty list/,
    ],
    [
      'unknown column',
      'logsources: [{logsource: {product: a}, conditions: [{nope.x: 1}], default_field: message}]',
      /conditions\[0\]\.nope\.x: unknown column 'nope'/,
    ],
    [
      'text column with keys',
      'logsources: [{logsource: {product: a}, conditions: [{appname.x: 1}], default_field: message}]',
      /column 'appname' is text/,
    ],
    [
      'json column without keys',
      'logsources: [{logsource: {product: a}, conditions: [{original: 1}], default_field: message}]',
      /'original' needs a key path/,
    ],
    [
      'bad value form',
      'logsources: [{logsource: {product: a}, conditions: [{appname: {is: 1}}], default_field: message}]',
      /unknown value form/,
    ],
    [
      'mixed-column alternatives',
      'logsources: [{logsource: {product: a}, conditions: [{appname: a}], default_field: [original.x, normalized.x]}]',
      /alternatives must share one column/,
    ],
    [
      'text column alternatives',
      'logsources: [{logsource: {product: a}, conditions: [{appname: a}], default_field: [message, raw]}]',
      /alternatives must be paths in one JSON column/,
    ],
    [
      'no default_field',
      'logsources: [{logsource: {product: a}, conditions: [{appname: a}]}]',
      /no default_field/,
    ],
    [
      'unknown field set',
      'logsources: [{logsource: {product: a}, use: w, conditions: [{appname: a}]}]',
      /use: unknown field set 'w'/,
    ],
    [
      'unsupported with a mapping',
      'logsources: [{logsource: {product: a}, unsupported: why, conditions: [{appname: a}]}]',
      /an unsupported entry has no mapping/,
    ],
    [
      'empty unsupported reason',
      "logsources: [{logsource: {product: a}, unsupported: ''}]",
      /non-empty string/,
    ],
    [
      'duplicate logsource',
      'logsources: [{logsource: {product: a}, unsupported: x}, {logsource: {product: A}, unsupported: y}]',
      /logsources\[1\]: same logsource as logsources\[0\]/,
    ],
    [
      'unterminated quoted key',
      'logsources: [{logsource: {product: a}, conditions: [{appname: a}], default_field: original."x}]',
      /unterminated quoted key/,
    ],
  ];
  for (const [what, text, error] of bad) {
    it(`rejects ${what}`, () => {
      expect(() => loadPipeline(text, 't')).toThrow(error);
    });
  }

  it('loads a minimal pipeline', () => {
    const p = loadPipeline(MINIMAL, 'mini');
    expect(p.name).toBe('mini');
    const m = mustResolve(p, { product: 'ACME' });
    expect(m.condition).toEqual({
      kind: 'string',
      field: { kind: 'column', column: 'appname' },
      pattern: literal('acme'),
      cased: false,
    });
    expect(m.field('a.b')).toEqual(json('original', ['a', 'b']));
  });

  it('every built-in file loads on its own', () => {
    const dir = path.join(import.meta.dirname, 'pipelines');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files)
      expect(() => loadPipeline(readFileSync(path.join(dir, f), 'utf8'), f)).not.toThrow();
  });
});

describe('paths and condition values', () => {
  const p = loadPipeline(
    `
field_sets:
  base:
    default_field: ['normalized."{field}"', 'normalized.x.{field}']
    fields:
      Msg: message
      Pid: procid
logsources:
  - logsource: { product: a }
    use: base
    fields:
      Zeek: original."id.orig_h"
      Both: [original.a.b, original."a.b"]
    conditions:
      - { appname: [sshd, 'sshd(*)'], normalized.n: 4, normalized.b: true, normalized.z: null }
      - { original.k: { exists: false }, raw: '*lit\\*eral?x*' }
`,
    'p',
  );
  const m = mustResolve(p, { product: 'a' });

  it('quoted keys keep dots; {field} splits unless quoted; text columns', () => {
    expect(m.field('Zeek')).toEqual(json('original', ['id.orig_h']));
    expect(m.field('Both')).toEqual(json('original', ['a', 'b'], ['a.b']));
    expect(m.field('u.v')).toEqual(json('normalized', ['u.v'], ['x', 'u', 'v']));
    expect(m.field('Msg')).toEqual({ kind: 'column', column: 'message' });
    expect(m.field('Pid')).toEqual({ kind: 'column', column: 'procid' });
  });

  it('condition values: lists, numbers, booleans, null, exists, wildcards and escapes', () => {
    const c = m.condition;
    expect(c.kind).toBe('or');
    const yes = stored({ appname: 'sshd(pam_unix)', normalized: { n: 4, b: true } });
    expect(evaluate(c, yes)).toBe(true);
    expect(evaluate(c, stored({ appname: 'SSHD', normalized: { n: '4', b: 'true' } }))).toBe(true);
    expect(evaluate(c, stored({ appname: 'sshd', normalized: { n: 4, b: true, z: 1 } }))).toBe(false);
    expect(evaluate(c, stored({ appname: 'sshd', normalized: { n: 5, b: true } }))).toBe(false);
    expect(evaluate(c, stored({ raw: 'a lit*eralXx b', original: {} }))).toBe(true);
    expect(evaluate(c, stored({ raw: 'a litteralXx b', original: {} }))).toBe(false);
    expect(evaluate(c, stored({ raw: 'a lit*eralXx b', original: { k: 1 } }))).toBe(false);
  });
});

describe('logsource matching', () => {
  const p = loadPipeline(
    `
logsources:
  - logsource: { product: w }
    conditions: [{ appname: generic }]
    default_field: message
  - logsource: { product: w, category: c1 }
    conditions: [{ appname: c1 }]
    default_field: message
  - logsource: { product: w, category: [c2, c3] }
    conditions: [{ appname: c23 }]
    default_field: message
  - logsource: { product: k, category: [app, null], service: audit }
    conditions: [{ appname: k }]
    default_field: message
  - logsource: { product: m, category: '*' }
    unsupported: 'no m'
`,
    'm',
  );
  const cond = (ls: SigmaLogsource): unknown => {
    const r = p.lookup(ls);
    if (!r) return undefined;
    if (!r.ok) return r.reason;
    return (r.mapping.condition as unknown as { pattern: { text: string }[] }).pattern[0]!.text;
  };

  it('keys the entry leaves out must be absent in the rule', () => {
    expect(cond({ product: 'w' })).toBe('generic');
    expect(cond({ product: 'w', category: 'c1' })).toBe('c1');
    expect(cond({ product: 'w', category: 'c9' })).toBeUndefined();
    expect(cond({ product: 'w', service: 's' })).toBeUndefined();
    expect(cond({ product: 'W', category: ' C1 ' })).toBe('c1');
  });
  it('lists, null in a list, and * match', () => {
    expect(cond({ product: 'w', category: 'c3' })).toBe('c23');
    expect(cond({ product: 'k', service: 'audit' })).toBe('k');
    expect(cond({ product: 'k', category: 'app', service: 'audit' })).toBe('k');
    expect(cond({ product: 'k', category: 'other', service: 'audit' })).toBeUndefined();
    expect(cond({ product: 'm' })).toBe('no m');
    expect(cond({ product: 'm', category: 'x' })).toBe('no m');
    expect(p.resolve({ product: 'm' })).toBeUndefined();
  });
  it('definition is ignored', () => {
    expect(cond({ product: 'w', category: 'c1', definition: 'whatever' })).toBe('c1');
  });
});

describe('combinePipelines', () => {
  const base = loadPipeline(
    `
logsources:
  - logsource: { product: w }
    conditions: [{ appname: base-generic }]
    default_field: message
  - logsource: { product: w, category: c1 }
    conditions: [{ appname: base-c1 }]
    default_field: message
  - logsource: { product: w, category: gone }
    unsupported: base cannot
`,
    'base',
  );
  const user = loadPipeline(
    `
logsources:
  - logsource: { product: w }
    conditions: [{ appname: user-generic }]
    default_field: raw
  - logsource: { product: w, category: gone }
    conditions: [{ appname: user-gone }]
    default_field: raw
  - logsource: { product: w, category: c1 }
    unsupported: user disabled it
  - logsource: { product: x, category: '*' }
    conditions: [{ appname: user-x }]
    default_field: raw
`,
    'user',
  );
  const text = (p: Pipeline, ls: SigmaLogsource): string | undefined => {
    const r = p.lookup(ls);
    if (!r) return undefined;
    return r.ok
      ? (r.mapping.condition as unknown as { pattern: { text: string }[] }).pattern[0]!.text
      : `!${r.reason}`;
  };

  it('a later pipeline overrides an earlier one at equal specificity, both ways', () => {
    const c = combinePipelines(base, user);
    expect(c.name).toBe('base+user');
    expect(text(c, { product: 'w' })).toBe('user-generic');
    expect(text(c, { product: 'w', category: 'gone' })).toBe('user-gone');
    expect(text(c, { product: 'w', category: 'c1' })).toBe('!user disabled it');
    expect(c.resolve({ product: 'w', category: 'c1' })).toBeUndefined();
    expect(text(c, { product: 'x', category: 'y' })).toBe('user-x');
    expect(c.resolve({ product: 'w', category: 'gone' })?.field('F')).toEqual({
      kind: 'column',
      column: 'raw',
    });
  });
  it('order matters', () => {
    const c = combinePipelines(user, base);
    expect(text(c, { product: 'w' })).toBe('base-generic');
    expect(text(c, { product: 'w', category: 'c1' })).toBe('base-c1');
  });
  it('a more specific entry wins over a later wildcard entry', () => {
    const wild = loadPipeline(
      `logsources: [{ logsource: { product: w, category: '*' }, conditions: [{ appname: wild }], default_field: raw }]`,
      'wild',
    );
    const c = combinePipelines(base, wild);
    expect(text(c, { product: 'w', category: 'c1' })).toBe('base-c1');
    expect(text(c, { product: 'w', category: 'other' })).toBe('wild');
  });
});

describe('declared logsources (declared: true)', () => {
  const meta = (logsource: Record<string, string>, original: unknown = null) =>
    stored({ metadata: { offset: 0, logsource }, original });
  const native = loadPipeline(
    `
logsources:
  - logsource: { product: w, category: '*' }
    conditions: [{ appname: native-w }]
    default_field: message
  - logsource: { product: n }
    unsupported: 'n is refused'
`,
    'native',
  );
  const declared = loadPipeline(
    `
field_sets:
  rec:
    default_field: ['original."{field}"', 'original.{field}']
logsources:
  - logsource: { product: '*', category: '*', service: '*' }
    declared: true
    use: rec
  - logsource: { product: w, category: c1 }
    declared: true
    default_field: normalized.event_data."{field}"
  - logsource: { product: mac, category: '*' }
    declared: true
    use: rec
    fields:
      Pid: original.process.pid
`,
    'declared',
  );

  it("selects events whose metadata.logsource has every key the rule names, equal to the rule's value", () => {
    const m = mustResolve(declared, { product: 'MAC', category: 'process_creation' });
    expect(m.declared).toBe(true);
    expect(m.condition).toEqual({
      kind: 'and',
      items: [
        {
          kind: 'string',
          field: { kind: 'json', column: 'metadata', paths: [['logsource', 'product']] },
          pattern: literal('mac'),
          cased: false,
        },
        {
          kind: 'string',
          field: { kind: 'json', column: 'metadata', paths: [['logsource', 'category']] },
          pattern: literal('process_creation'),
          cased: false,
        },
      ],
    });
    expect(evaluate(m.condition, meta({ product: 'mac', category: 'process_creation' }))).toBe(true);
    // A key the rule does not name may be declared too; one it names must be declared and equal.
    expect(
      evaluate(m.condition, meta({ product: 'mac', category: 'process_creation', service: 'esf' })),
    ).toBe(true);
    expect(evaluate(m.condition, meta({ product: 'mac' }))).toBe(false);
    expect(evaluate(m.condition, meta({ product: 'mac', category: 'file_event' }))).toBe(false);
    expect(evaluate(m.condition, stored({ metadata: { offset: 0 } }))).toBe(false);
  });

  it('values are literal text, not wildcards', () => {
    const m = mustResolve(declared, { product: 'a*' });
    expect(evaluate(m.condition, meta({ product: 'a*' }))).toBe(true);
    expect(evaluate(m.condition, meta({ product: 'abc' }))).toBe(false);
  });

  it("maps fields to the record's own keys (whole key first, then the dotted path), with per-entry fields", () => {
    const m = mustResolve(declared, { product: 'mac', category: 'file_event' });
    expect(m.field('Image')).toEqual(json('original', ['Image']));
    expect(m.field('a.b')).toEqual(json('original', ['a.b'], ['a', 'b']));
    expect(m.field('Pid')).toEqual(json('original', ['process', 'pid']));
    expect(mustResolve(declared, { product: 'w', category: 'c1' }).field('FileName')).toEqual(
      json('normalized', ['event_data', 'FileName']),
    );
    const r = applyPipeline(
      { logsource: { product: 'mac', category: 'process_creation' }, detection: literalNode('Image', '/x') },
      declared,
    );
    expect(r.ok).toBe(true);
    const ls = { product: 'mac', category: 'process_creation' };
    const node = r.ok ? r.node : undefined;
    expect(node && evaluate(node, meta(ls, { Image: '/X' }))).toBe(true);
    expect(node && evaluate(node, meta(ls, { Image: '/y' }))).toBe(false);
    expect(node && evaluate(node, meta({ product: 'mac' }, { Image: '/x' }))).toBe(false);
  });

  it('a logsource that names no key is not matched (the condition would select everything)', () => {
    expect(declared.lookup({})).toBeUndefined();
    expect(declared.lookup({ definition: 'x' })).toBeUndefined();
  });

  it('the most specific declared entry wins among declared entries', () => {
    expect(declared.match({ product: 'w', category: 'c1' })).toMatchObject({
      specificity: 2,
      declared: true,
    });
    expect(declared.match({ product: 'w', category: 'c2' })).toMatchObject({
      specificity: 0,
      declared: true,
    });
  });

  it('any other entry ranks above a declared one, whatever the specificity and the pipeline order', () => {
    for (const c of [combinePipelines(native, declared), combinePipelines(declared, native)]) {
      // native { product: w, category: '*' } (specificity 1) beats declared { product: w, category: c1 } (2)
      const w = c.lookup({ product: 'w', category: 'c1' });
      expect(w?.ok && w.mapping.declared).toBe(false);
      expect(w?.ok && evaluate(w.mapping.condition, stored({ appname: 'native-w' }))).toBe(true);
      // an unsupported entry is not overridden by a declared fallback
      expect(c.lookup({ product: 'n' })).toEqual({ ok: false, reason: 'n is refused' });
      // no native entry: the declared fallback
      expect(c.match({ product: 'z', service: 's' })).toMatchObject({ declared: true });
    }
    // the same inside one pipeline
    const one = loadPipeline(
      `
logsources:
  - logsource: { product: w, category: c1 }
    declared: true
    default_field: message
  - logsource: { product: w, category: '*' }
    conditions: [{ appname: native-w }]
    default_field: message
`,
      'one',
    );
    expect(one.match({ product: 'w', category: 'c1' })).toMatchObject({ specificity: 1, declared: false });
  });
});

// ------------------------------------------------------------------------------------------- built-in

describe('defaultPipeline: resolve by family', () => {
  const p = defaultPipeline();
  const ed = (...names: string[]): FieldRef => json('normalized', ...names.map((n) => ['event_data', n]));

  it('is cached and named', () => {
    expect(defaultPipeline()).toBe(p);
    expect(p.name).toBe('default');
  });

  it('windows process_creation: Sysmon 1 or Security 4688, 4688 names as alternatives', () => {
    const m = mustResolve(p, { product: 'windows', category: 'process_creation' });
    expect(m.field('Image')).toEqual(ed('Image', 'NewProcessName'));
    expect(m.field('ParentImage')).toEqual(ed('ParentImage', 'ParentProcessName'));
    expect(m.field('CommandLine')).toEqual(ed('CommandLine'));
    expect(m.field('EventID')).toEqual(json('normalized', ['event_id']));
    expect(m.field('Channel')).toEqual(json('normalized', ['channel']));
    expect(m.field('Provider_Name')).toEqual(json('normalized', ['provider']));
    expect(m.field('Computer')).toEqual(json('normalized', ['computer']));
    expect(m.field('Level')).toEqual(json('original', ['Event', 'System', 'Level'], ['Level']));
    const sysmon = stored({
      source_type: 'windows_event',
      normalized: { channel: 'Microsoft-Windows-Sysmon/Operational', event_id: 1 },
    });
    const sec = stored({ source_type: 'windows_event', normalized: { channel: 'Security', event_id: 4688 } });
    const other = stored({ source_type: 'windows_event', normalized: { channel: 'Security', event_id: 1 } });
    expect(evaluate(m.condition, sysmon)).toBe(true);
    expect(evaluate(m.condition, sec)).toBe(true);
    expect(evaluate(m.condition, other)).toBe(false);
  });

  it('every Sysmon category resolves to the Sysmon channel', () => {
    const ids: Record<string, number[]> = {
      file_change: [2],
      network_connection: [3],
      sysmon_status: [4, 16],
      process_termination: [5],
      driver_load: [6],
      image_load: [7],
      create_remote_thread: [8],
      raw_access_thread: [9],
      process_access: [10],
      file_event: [11],
      registry_add: [12],
      registry_delete: [12],
      registry_set: [13],
      registry_rename: [14],
      registry_event: [12, 13, 14],
      create_stream_hash: [15],
      pipe_created: [17, 18],
      wmi_event: [19, 20, 21],
      dns_query: [22],
      file_delete: [23, 26],
      clipboard_capture: [24],
      process_tampering: [25],
      file_delete_detected: [26],
      file_block_executable: [27],
      file_block_shredding: [28],
      file_executable_detected: [29],
      sysmon_error: [255],
    };
    for (const [category, eventIds] of Object.entries(ids)) {
      const m = mustResolve(p, { product: 'windows', category });
      for (let id = 0; id <= 255; id++) {
        const e = stored({
          source_type: 'windows_event',
          normalized: { channel: 'Microsoft-Windows-Sysmon/Operational', event_id: id },
        });
        expect(evaluate(m.condition, e), `${category} event ${id}`).toBe(eventIds.includes(id));
      }
    }
  });

  it('PowerShell categories and services', () => {
    const ev = (channel: string, event_id: number) =>
      stored({ source_type: 'windows_event', normalized: { channel, event_id } });
    const script = mustResolve(p, { product: 'windows', category: 'ps_script' });
    expect(evaluate(script.condition, ev('Microsoft-Windows-PowerShell/Operational', 4104))).toBe(true);
    expect(evaluate(script.condition, ev('PowerShellCore/Operational', 4104))).toBe(true);
    expect(evaluate(script.condition, ev('Microsoft-Windows-PowerShell/Operational', 4103))).toBe(false);
    const module = mustResolve(p, { product: 'windows', category: 'ps_module' });
    expect(evaluate(module.condition, ev('Microsoft-Windows-PowerShell/Operational', 4103))).toBe(true);
    const classic = mustResolve(p, { product: 'windows', category: 'ps_classic_start' });
    expect(evaluate(classic.condition, ev('Windows PowerShell', 400))).toBe(true);
    expect(classic.field('Data')).toEqual(ed('Data', 'Data_2'));
    const provider = mustResolve(p, { product: 'windows', category: 'ps_classic_provider_start' });
    expect(evaluate(provider.condition, ev('Windows PowerShell', 600))).toBe(true);
    const svc = mustResolve(p, { product: 'windows', service: 'powershell-classic' });
    expect(evaluate(svc.condition, ev('Windows PowerShell', 800))).toBe(true);
  });

  it('windows services map to their channel', () => {
    const channels: Record<string, string> = {
      security: 'Security',
      system: 'System',
      application: 'Application',
      sysmon: 'Microsoft-Windows-Sysmon/Operational',
      powershell: 'Microsoft-Windows-PowerShell/Operational',
      taskscheduler: 'Microsoft-Windows-TaskScheduler/Operational',
      wmi: 'Microsoft-Windows-WMI-Activity/Operational',
      'dns-server': 'DNS Server',
      'driver-framework': 'Microsoft-Windows-DriverFrameworks-UserMode/Operational',
      'firewall-as': 'Microsoft-Windows-Windows Firewall With Advanced Security/Firewall',
      'bits-client': 'Microsoft-Windows-Bits-Client/Operational',
      'codeintegrity-operational': 'Microsoft-Windows-CodeIntegrity/Operational',
      windefend: 'Microsoft-Windows-Windows Defender/Operational',
      'msexchange-management': 'MSExchange Management',
      'appxdeployment-server': 'Microsoft-Windows-AppXDeploymentServer/Operational',
      ldap_debug: 'Microsoft-Windows-LDAP-Client/Debug',
      ntlm: 'Microsoft-Windows-NTLM/Operational',
      'smbclient-security': 'Microsoft-Windows-SmbClient/Security',
      'lsa-server': 'Microsoft-Windows-LSA/Operational',
      openssh: 'OpenSSH/Operational',
      applocker: 'Microsoft-Windows-AppLocker/EXE and DLL',
      'security-mitigations': 'Microsoft-Windows-Security-Mitigations/Kernel Mode',
    };
    for (const [service, channel] of Object.entries(channels)) {
      const m = mustResolve(p, { product: 'windows', service });
      const yes = stored({ source_type: 'windows_event', normalized: { channel, event_id: 1 } });
      const no = stored({ source_type: 'windows_event', normalized: { channel: 'Other', event_id: 1 } });
      expect(evaluate(m.condition, yes), service).toBe(true);
      expect(evaluate(m.condition, no), service).toBe(false);
      expect(m.field('ServiceName')).toEqual(ed('ServiceName'));
    }
  });

  it('windows Kernel-File categories run on events that declare them, EventData names', () => {
    for (const category of ['file_access', 'file_rename']) {
      const m = mustResolve(p, { product: 'windows', category });
      expect(m.declared).toBe(true);
      expect(m.field('FileName')).toEqual(ed('FileName'));
      expect(m.field('EventID')).toEqual(json('normalized', ['event_id']));
      const declared = stored({ metadata: { logsource: { product: 'windows', category } } });
      expect(evaluate(m.condition, declared)).toBe(true);
      expect(evaluate(m.condition, stored({ normalized: { channel: 'Security', event_id: 4663 } }))).toBe(
        false,
      );
    }
    // the native Windows categories stay native
    expect(mustResolve(p, { product: 'windows', category: 'file_event' }).declared).toBe(false);
  });

  it('linux: auditd by source_type with its own field names; syslog services by appname', () => {
    const audit = mustResolve(p, { product: 'linux', service: 'auditd' });
    expect(audit.field('type')).toEqual(json('normalized', ['audit_type']));
    expect(audit.field('a0')).toEqual(json('normalized', ['fields', 'a0']));
    expect(evaluate(audit.condition, stored({ source_type: 'auditd' }))).toBe(true);
    expect(evaluate(audit.condition, stored({ source_type: 'syslog_rfc3164' }))).toBe(false);
    const sshd = mustResolve(p, { product: 'linux', service: 'sshd' });
    expect(evaluate(sshd.condition, stored({ appname: 'sshd' }))).toBe(true);
    expect(evaluate(sshd.condition, stored({ appname: 'sshd(pam_unix)' }))).toBe(true);
    expect(evaluate(sshd.condition, stored({ appname: 'sudo' }))).toBe(false);
    const auth = mustResolve(p, { product: 'linux', service: 'auth' });
    expect(evaluate(auth.condition, stored({ appname: 'su(pam_unix)' }))).toBe(true);
    expect(evaluate(auth.condition, stored({ appname: 'cron', normalized: { facility: 'authpriv' } }))).toBe(
      true,
    );
    expect(evaluate(auth.condition, stored({ appname: 'kernel', normalized: { facility: 'kern' } }))).toBe(
      false,
    );
    for (const service of ['cron', 'sudo', 'syslog', 'vsftpd', 'clamav', 'guacamole']) {
      mustResolve(p, { product: 'linux', service });
    }
    const linux = mustResolve(p, { product: 'linux' });
    expect(evaluate(linux.condition, stored({ source_type: 'syslog_rfc5424' }))).toBe(true);
    expect(evaluate(linux.condition, stored({ source_type: 'windows_event' }))).toBe(false);
  });

  it('linux endpoint categories read Sysmon for Linux events', () => {
    const pc = mustResolve(p, { product: 'linux', category: 'process_creation' });
    expect(pc.field('CommandLine')).toEqual(json('normalized', ['event_data', 'CommandLine']));
    const sysmon = stored({
      normalized: { channel: 'Linux-Sysmon/Operational', event_id: 1, event_data: { Image: '/usr/bin/id' } },
    });
    expect(evaluate(pc.condition, sysmon)).toBe(true);
    expect(evaluate(pc.condition, stored({ normalized: { channel: 'Security', event_id: 1 } }))).toBe(false);
  });

  it('macOS endpoint categories run only on events whose source declares them', () => {
    for (const ls of [
      { product: 'macos', category: 'process_creation' },
      { product: 'macos', category: 'file_event' },
    ]) {
      const r = applyPipeline({ logsource: ls, detection: literalNode('Image', '/usr/bin/osascript') }, p);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      const original = { Image: '/usr/bin/osascript' };
      expect(evaluate(r.node, stored({ original, metadata: { logsource: ls } }))).toBe(true);
      expect(evaluate(r.node, stored({ original, metadata: {} }))).toBe(false);
      expect(
        evaluate(r.node, stored({ original, metadata: { logsource: { ...ls, product: 'linux' } } })),
      ).toBe(false);
    }
  });

  it('devices, antivirus, database and application frameworks without a parser are declared entries', () => {
    for (const ls of [
      { category: 'antivirus' },
      { product: 'windows', category: 'antivirus' },
      { category: 'database' },
      { product: 'jvm', category: 'application' },
      { product: 'ruby_on_rails', category: 'application' },
      { product: 'fortigate', service: 'event' },
      { product: 'fortios', service: 'sslvpnd' },
      { product: 'paloalto', category: 'appliance', service: 'globalprotect' },
      { product: 'huawei', service: 'bgp' },
      { product: 'juniper', service: 'bgp' },
    ]) {
      const m = p.match(ls);
      expect(m?.declared, describeLogsource(ls)).toBe(true);
      expect(mustResolve(p, ls).field('Signature')).toEqual(json('original', ['Signature']));
    }
    // OpenCanary stays native (by its record shape), not a declared application.
    expect(p.match({ product: 'opencanary', category: 'application' })?.declared).toBe(false);
  });

  it('webserver and proxy: JSON records with W3C names, ECS alternatives', () => {
    const web = mustResolve(p, { category: 'webserver' });
    expect(web.field('cs-uri-query')).toEqual(json('original', ['cs-uri-query'], ['url', 'query']));
    expect(web.field('cs-user-agent')).toEqual(
      json('original', ['cs-user-agent'], ['cs(User-Agent)'], ['user_agent', 'original']),
    );
    expect(web.field('x-custom.field')).toEqual(json('original', ['x-custom.field']));
    const iis = stored({ original: { 'cs-method': 'GET', 'cs-uri-stem': '/a', 'sc-status': 200 } });
    const ecs = stored({
      original: { http: { request: { method: 'GET' } }, url: { path: '/a', query: 'q=1' } },
    });
    expect(evaluate(web.condition, iis)).toBe(true);
    expect(evaluate(web.condition, ecs)).toBe(true);
    expect(evaluate(web.condition, stored({ original: { message: 'x' } }))).toBe(false);
    expect(evaluate(web.condition, stored({ source_type: 'text', original: { 'cs-method': 'GET' } }))).toBe(
      false,
    );
    const applied = applyPipeline(
      { logsource: { category: 'webserver' }, detection: literalNode('cs-uri-query', 'q=1') },
      p,
    );
    expect(applied.ok && evaluate(applied.node, ecs)).toBe(true);
    expect(applied.ok && evaluate(applied.node, iis)).toBe(false);
    const proxy = mustResolve(p, { category: 'proxy' });
    expect(proxy.field('c-uri')).toEqual(json('original', ['c-uri'], ['url', 'original'], ['url', 'full']));
    expect(evaluate(proxy.condition, stored({ original: { 'c-uri': 'http://x/', 'cs-host': 'x' } }))).toBe(
      true,
    );
    expect(evaluate(proxy.condition, stored({ original: { 'cs-method': 'GET' } }))).toBe(false);
  });

  it('cloud: CloudTrail by cloud_provider, fields are original dotted paths; others by their record shape', () => {
    const ct = mustResolve(p, { product: 'aws', service: 'cloudtrail' });
    expect(ct.field('requestParameters.userName')).toEqual(
      json('original', ['requestParameters', 'userName']),
    );
    expect(evaluate(ct.condition, stored({ normalized: { cloud_provider: 'aws' } }))).toBe(true);
    expect(evaluate(ct.condition, stored({ normalized: {} }))).toBe(false);
    const signin = mustResolve(p, { product: 'azure', service: 'signinlogs' });
    expect(evaluate(signin.condition, stored({ original: { category: 'SignInLogs' } }))).toBe(true);
    expect(evaluate(signin.condition, stored({ original: { Type: 'SigninLogs' } }))).toBe(true);
    expect(signin.field('ResultType')).toEqual(
      json('original', ['ResultType'], ['resultType'], ['properties', 'status', 'errorCode']),
    );
    const gcp = mustResolve(p, { product: 'gcp', service: 'gcp.audit' });
    expect(
      evaluate(
        gcp.condition,
        stored({
          original: { protoPayload: { '@type': 'type.googleapis.com/google.cloud.audit.AuditLog' } },
        }),
      ),
    ).toBe(true);
    expect(gcp.field('gcp.audit.method_name').kind).toBe('json');
    const k8s = mustResolve(p, { product: 'kubernetes', category: 'application', service: 'audit' });
    expect(
      evaluate(k8s.condition, stored({ original: { apiVersion: 'audit.k8s.io/v1', kind: 'Event' } })),
    ).toBe(true);
    expect(mustResolve(p, { product: 'kubernetes', service: 'audit' }).condition).toEqual(k8s.condition);
    for (const ls of [
      { product: 'azure', service: 'activitylogs' },
      { product: 'azure', service: 'auditlogs' },
      { product: 'azure', service: 'riskdetection' },
      { product: 'm365', service: 'threat_management' },
      { product: 'm365', service: 'audit' },
      { product: 'okta', service: 'okta' },
      { product: 'github', service: 'audit' },
      { product: 'bitbucket', service: 'audit' },
      { product: 'gcp', service: 'google_workspace.admin' },
      { product: 'onelogin', service: 'onelogin.events' },
      { product: 'cisco', service: 'duo' },
    ]) {
      mustResolve(p, ls);
    }
  });

  it('unknown logsources', () => {
    expect(p.lookup({ product: 'nosuch' })).toBeUndefined();
    expect(p.resolve({ product: 'windows', category: 'nosuch' })).toBeUndefined();
    const r = applyPipeline(
      { logsource: { product: 'windows', category: 'nosuch' }, detection: literalNode('A', 'b') },
      p,
    );
    expect(r).toEqual({ ok: false, reason: 'unsupported logsource product=windows category=nosuch' });
    expect(applyPipeline({ logsource: {}, detection: literalNode('A', 'b') }, p)).toEqual({
      ok: false,
      reason: 'unsupported logsource (empty)',
    });
  });
});

function literalNode(field: string, value: string): Node<string> {
  return { kind: 'string', field, pattern: literal(value), cased: false };
}

describe('applyPipeline', () => {
  it('maps every field (also fieldref and keyword-free nodes) and ANDs the condition first', () => {
    const p = defaultPipeline();
    const detection: Node<string> = {
      kind: 'and',
      items: [
        literalNode('Image', 'C:\\x.exe'),
        { kind: 'not', item: { kind: 'null', field: 'CommandLine' } },
        { kind: 'fieldref', field: 'ParentImage', other: 'Image', op: 'equals', cased: false },
        {
          kind: 'keyword',
          pattern: [{ kind: 'any' }, { kind: 'text', text: 'evil' }, { kind: 'any' }],
          cased: false,
        },
      ],
    };
    const r = applyPipeline(
      { logsource: { product: 'windows', category: 'process_creation' }, detection },
      p,
    );
    if (!r.ok) throw new Error(r.reason);
    const m = mustResolve(p, { product: 'windows', category: 'process_creation' });
    expect(r.node).toEqual({
      kind: 'and',
      items: [
        m.condition,
        { kind: 'string', field: m.field('Image'), pattern: literal('C:\\x.exe'), cased: false },
        { kind: 'not', item: { kind: 'null', field: m.field('CommandLine') } },
        {
          kind: 'fieldref',
          field: m.field('ParentImage'),
          other: m.field('Image'),
          op: 'equals',
          cased: false,
        },
        {
          kind: 'keyword',
          pattern: [{ kind: 'any' }, { kind: 'text', text: 'evil' }, { kind: 'any' }],
          cased: false,
        },
      ],
    });
    const e = stored({
      raw: 'an evil record',
      source_type: 'windows_event',
      normalized: {
        channel: 'Security',
        event_id: 4688,
        event_data: { NewProcessName: 'c:\\X.exe', ParentProcessName: 'C:\\x.exe', CommandLine: 'x' },
      },
    });
    expect(evaluate(r.node, e)).toBe(true);
  });

  it('a constant detection still carries the logsource condition', () => {
    const p = defaultPipeline();
    const r = applyPipeline(
      { logsource: { product: 'linux', service: 'auditd' }, detection: { kind: 'const', value: true } },
      p,
    );
    expect(r).toEqual({ ok: true, node: mustResolve(p, { product: 'linux', service: 'auditd' }).condition });
  });
});

// ------------------------------------------------------------------------------------------- real data

const DATA = path.resolve(import.meta.dirname, '../../../shared/data');
const RULES = path.join(DATA, 'detection_rules/sigma');
const REGRESSION = path.join(DATA, 'sigma_logs/sigmahq_regression_data');
const OTRF = path.join(DATA, 'sigma_logs/otrf_security_datasets');
const LOGHUB = path.join(DATA, 'logs/loghub');
const haveRules = existsSync(RULES);
const haveRegression = haveRules && existsSync(REGRESSION);
const haveOtrf = existsSync(OTRF);
const haveLoghub = existsSync(LOGHUB);
if (!haveRules || !haveRegression || !haveOtrf || !haveLoghub) {
  console.log(`pipeline real-data tests skipped: ${DATA} (or part of it) is absent`);
}

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

interface RuleDoc {
  file: string;
  id?: string;
  logsource: SigmaLogsource;
  detection: Record<string, unknown>;
}

let ruleCache: RuleDoc[] | undefined;

function loadRules(): RuleDoc[] {
  if (ruleCache) return ruleCache;
  const docs: RuleDoc[] = [];
  for (const file of walk(RULES).filter((f) => f.endsWith('.yml'))) {
    for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
      const j = d.toJS() as Record<string, unknown> | null;
      if (!j || typeof j.logsource !== 'object' || j.logsource === null) continue;
      docs.push({
        file,
        ...(typeof j.id === 'string' ? { id: j.id } : {}),
        logsource: j.logsource as SigmaLogsource,
        detection: (j.detection ?? {}) as Record<string, unknown>,
      });
    }
  }
  ruleCache = docs;
  return docs;
}

/** Field names a detection uses (keys of its maps, modifiers stripped). */
function detectionFields(detection: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object' && v !== null) {
      for (const k of Object.keys(v)) {
        const name = k.split('|')[0]!;
        if (name) out.add(name);
      }
    }
  };
  for (const [k, v] of Object.entries(detection)) if (k !== 'condition' && k !== 'timeframe') visit(v);
  return [...out];
}

const lsKey = (ls: SigmaLogsource): string =>
  `${ls.product ?? '-'}/${ls.category ?? '-'}/${ls.service ?? '-'}`;

describe.skipIf(!haveRules)('SigmaHQ rules: logsource coverage', () => {
  it('resolves a high share of all rule logsources', () => {
    const p = defaultPipeline();
    const rules = loadRules();
    const unsupported = new Map<string, { n: number; reason: string }>();
    let resolved = 0;
    let declared = 0;
    for (const r of rules) {
      const res = p.lookup(r.logsource);
      if (res?.ok) {
        resolved++;
        if (res.mapping.declared) declared++;
      } else {
        const key = lsKey(r.logsource);
        const u = unsupported.get(key) ?? { n: 0, reason: res ? res.reason : 'no entry' };
        u.n++;
        unsupported.set(key, u);
      }
    }
    const share = resolved / rules.length;
    console.log(
      `SigmaHQ logsources: ${resolved}/${rules.length} rules resolve (${(share * 100).toFixed(1)}%), ` +
        `${declared} of them only on events that declare their logsource; unresolved:\n` +
        [...unsupported]
          .sort((a, b) => b[1].n - a[1].n)
          .map(([k, u]) => `  ${u.n}\t${k}\t${u.reason}`)
          .join('\n'),
    );
    expect(rules.length).toBeGreaterThan(3000);
    expect(share).toBeGreaterThan(0.9);
    // nothing is silently missing: every unresolved combination has an explicit reason
    const noEntry = [...unsupported].filter(([, u]) => u.reason === 'no entry');
    expect(noEntry.map(([k]) => k)).toEqual([]);
  }, 60_000);
});

describe.skipIf(!haveRegression)(
  'SigmaHQ regression data: the logsource condition selects the events',
  () => {
    it('selects at least one event of every regression test, and the rule fields are present', () => {
      const p = defaultPipeline();
      const byId = new Map<string, RuleDoc>();
      for (const r of loadRules()) if (r.id) byId.set(r.id, r);
      const infos = walk(REGRESSION).filter((f) => path.basename(f) === 'info.yml');
      const failures: string[] = [];
      let pass = 0;
      let fieldsTotal = 0;
      let fieldsPresent = 0;
      const missingFields: string[] = [];
      for (const info of infos) {
        const meta = parseYaml(readFileSync(info, 'utf8')) as { rule_metadata?: { id?: string }[] };
        const id = meta.rule_metadata?.[0]?.id;
        const name = path.basename(path.dirname(info));
        const rule = id ? byId.get(id) : undefined;
        if (!rule) {
          failures.push(`${name}: rule ${id ?? '?'} not found`);
          continue;
        }
        const dir = path.dirname(info);
        const events = readdirSync(dir)
          .filter((f) => f !== 'info.yml')
          .flatMap((f) => parseRecords(readFileSync(path.join(dir, f)), path.join(dir, f)));
        const res = p.lookup(rule.logsource);
        if (!res?.ok) {
          failures.push(`${name} (${lsKey(rule.logsource)}): ${res ? res.reason : 'no pipeline entry'}`);
          continue;
        }
        const selected = events.filter((e) => evaluate(res.mapping.condition, e));
        if (selected.length === 0) {
          failures.push(`${name} (${lsKey(rule.logsource)}): none of ${events.length} events selected`);
          continue;
        }
        pass++;
        for (const f of detectionFields(rule.detection)) {
          fieldsTotal++;
          const ref = res.mapping.field(f);
          if (selected.some((e) => readField(ref, e) !== undefined)) fieldsPresent++;
          else missingFields.push(`${name}: ${f}`);
        }
      }
      console.log(
        `regression tests: ${pass}/${infos.length} select >= 1 event; failures:\n  ${failures.join('\n  ') || '(none)'}\n` +
          `rule fields present in the selected events: ${fieldsPresent}/${fieldsTotal} ` +
          `(${((fieldsPresent / Math.max(1, fieldsTotal)) * 100).toFixed(1)}%); absent:\n  ${missingFields.join('\n  ') || '(none)'}`,
      );
      expect(infos.length).toBeGreaterThan(100);
      expect(pass / infos.length).toBeGreaterThan(0.95);
      expect(fieldsPresent / fieldsTotal).toBeGreaterThan(0.9);
    }, 60_000);
  },
);

describe.skipIf(!haveOtrf)('OTRF Security Datasets (flat Windows, CloudTrail, auditd)', () => {
  // The describe body runs even when skipped (to collect the tests): read the data only when it is there.
  const events = haveOtrf
    ? walk(OTRF)
        .filter((f) => f.endsWith('.json') || f.endsWith('.log'))
        .flatMap((f) => parseRecords(readFileSync(f), f))
    : [];
  const count = (ls: SigmaLogsource): number => {
    const m = mustResolve(defaultPipeline(), ls);
    return events.filter((e) => evaluate(m.condition, e)).length;
  };
  const countWhere = (pred: (n: Record<string, unknown>) => boolean): number =>
    events.filter((e) => pred(e.normalized as Record<string, unknown>)).length;
  const sysmon = (id: number) => (n: Record<string, unknown>) =>
    n.channel === 'Microsoft-Windows-Sysmon/Operational' && n.event_id === id;

  it('windows categories select exactly the Sysmon / Security events they mean', () => {
    expect(count({ product: 'windows', category: 'process_creation' })).toBe(
      countWhere((n) => sysmon(1)(n) || (n.channel === 'Security' && n.event_id === 4688)),
    );
    expect(count({ product: 'windows', category: 'process_creation' })).toBeGreaterThan(0);
    expect(count({ product: 'windows', category: 'process_access' })).toBe(countWhere(sysmon(10)));
    expect(count({ product: 'windows', category: 'image_load' })).toBe(countWhere(sysmon(7)));
    expect(count({ product: 'windows', category: 'registry_set' })).toBe(countWhere(sysmon(13)));
    expect(count({ product: 'windows', category: 'dns_query' })).toBeGreaterThan(0);
    expect(count({ product: 'windows', service: 'security' })).toBe(
      countWhere((n) => n.channel === 'Security'),
    );
    expect(count({ product: 'windows', service: 'taskscheduler' })).toBe(2);
  });

  it('flat 4688 events read Image/ParentImage through the 4688 names', () => {
    const m = mustResolve(defaultPipeline(), { product: 'windows', category: 'process_creation' });
    const sec = events.filter(
      (e) => evaluate(m.condition, e) && (e.normalized as { channel?: string }).channel === 'Security',
    );
    expect(sec.length).toBeGreaterThan(0);
    for (const e of sec) {
      expect(readField(m.field('Image'), e)).toMatch(/\.exe$/i);
      expect(readField(m.field('ParentImage'), e)).toMatch(/\.exe$/i);
    }
  });

  it('CloudTrail and auditd', () => {
    const ct = events.filter((e) => (e.original as { eventSource?: string } | null)?.eventSource);
    expect(ct.length).toBeGreaterThan(0);
    expect(count({ product: 'aws', service: 'cloudtrail' })).toBe(ct.length);
    const audit = events.filter((e) => e.source_type === 'auditd').length;
    expect(audit).toBeGreaterThan(0);
    expect(count({ product: 'linux', service: 'auditd' })).toBe(audit);
    const m = mustResolve(defaultPipeline(), { product: 'linux', service: 'auditd' });
    const execve = events.filter((e) => readField(m.field('type'), e) === 'EXECVE');
    expect(execve.length).toBeGreaterThan(0);
    expect(readField(m.field('a0'), execve[0]!)).toBe('arp');
  });
});

describe.skipIf(!haveLoghub)('Loghub syslog (OpenSSH, Linux)', () => {
  it('sshd and auth select the daemon lines', () => {
    const p = defaultPipeline();
    const ssh = parseRecords(readFileSync(path.join(LOGHUB, 'OpenSSH_2k.log')));
    const sshd = mustResolve(p, { product: 'linux', service: 'sshd' });
    expect(ssh.filter((e) => evaluate(sshd.condition, e)).length).toBe(ssh.length);
    const linux = parseRecords(readFileSync(path.join(LOGHUB, 'Linux_2k.log')));
    const auth = mustResolve(p, { product: 'linux', service: 'auth' });
    const selected = linux.filter((e) => evaluate(auth.condition, e));
    expect(selected.length).toBe(linux.filter((e) => /^(sshd|su|login|gdm)/.test(e.appname ?? '')).length);
    expect(selected.length).toBeGreaterThan(800);
    expect(
      linux.filter((e) => evaluate(mustResolve(p, { product: 'linux', service: 'sshd' }).condition, e))
        .length,
    ).toBe(linux.filter((e) => e.appname?.startsWith('sshd')).length);
  });
});
