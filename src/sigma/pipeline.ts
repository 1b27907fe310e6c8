/**
 * Sigma processing pipelines: which stored events a rule's logsource means (a condition on the stored event)
 * and where each of the rule's fields is stored (a FieldRef). The mappings are data, YAML files in
 * src/sigma/pipelines/ (see windows.yml for the format, documented in its header); this module loads and
 * validates them and applies them to a rule's detection tree.
 *
 *   applyPipeline(rule, pipeline)  =  logsource condition  AND  detection with fields mapped
 *
 * A logsource no entry matches, or one an entry marks `unsupported: <reason>`, gives `{ ok: false, reason }`
 * (listed by `vigil sigma check`). Pure: no store, no ingest imports; only defaultPipeline() reads files.
 *
 * Declared logsources: an entry `declared: true` has no conditions of its own. It selects the events whose
 * source DECLARED the rule's logsource at ingest (`vigil ingest --logsource product=macos,...`, stored as
 * metadata.logsource): every logsource key the rule names must equal the declared key. It is for formats no
 * Vigil parser recognises, so it ranks below every other entry (native mappings, and `unsupported`, win
 * whatever their specificity); among declared entries the most specific wins as usual.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import {
  and,
  EVENT_TEXT_COLUMNS,
  literal,
  mapFields,
  or,
  type EventJsonColumn,
  type EventTextColumn,
  type FieldRef,
  type Node,
  type PatternPart,
} from './ir.ts';
import type { SigmaLogsource } from './model.ts';

export interface LogsourceMapping {
  /** Condition on the stored event that selects this logsource's events (e.g. Sysmon channel AND event_id 1, OR Security channel AND 4688). */
  condition: Node<FieldRef>;
  /** True when the condition is the logsource the events' source declared (metadata.logsource). */
  readonly declared: boolean;
  /**
   * Where a rule's field is stored: the entry's own mapping for the name, else the entry's `default_field`
   * template (every supported entry has one), so this never fails; a field the events do not have reads
   * as absent.
   */
  field(name: string): FieldRef;
}

/** What a pipeline says about a logsource: mapped, or explicitly unsupported with a reason. */
export type Resolution = { ok: true; mapping: LogsourceMapping } | { ok: false; reason: string };

/** The best entry of a pipeline for a logsource and how specific it is (for combining pipelines). */
export interface PipelineMatch {
  /** Number of logsource keys (product, category, service) the entry names with a concrete value. */
  readonly specificity: number;
  /** A `declared: true` entry: it ranks below every other kind of entry. */
  readonly declared: boolean;
  readonly resolution: Resolution;
}

export interface Pipeline {
  readonly name: string;
  /** The mapping of a logsource; undefined when unknown or unsupported (see lookup for the reason). */
  resolve(logsource: SigmaLogsource): LogsourceMapping | undefined;
  /** The mapping, or the entry's reason why the logsource is unsupported; undefined when no entry matches. */
  lookup(logsource: SigmaLogsource): Resolution | undefined;
  /** The best matching entry with its specificity; undefined when none matches. */
  match(logsource: SigmaLogsource): PipelineMatch | undefined;
}

export type Applied = { ok: true; node: Node<FieldRef> } | { ok: false; reason: string };

// ------------------------------------------------------------------------------------------------ paths

const TEXT_COLUMNS = new Set<string>([...EVENT_TEXT_COLUMNS, 'procid']);
const JSON_COLUMNS = new Set<string>(['normalized', 'original', 'metadata']);
const LOGSOURCE_KEYS = ['product', 'category', 'service'] as const;
type LogsourceKey = (typeof LOGSOURCE_KEYS)[number];

/** One key of a path; `{field}` in it is replaced by the rule's field name (split on dots when unquoted). */
interface Segment {
  readonly text: string;
  readonly quoted: boolean;
}
interface PathTemplate {
  readonly column: string;
  readonly segments: readonly Segment[];
}
/** Alternatives, first present wins; all in one column. */
type FieldSpec = readonly PathTemplate[];

class PipelineError extends Error {
  override readonly name = 'PipelineError';
}

function fail(pipeline: string, where: string, reason: string): never {
  throw new PipelineError(`pipeline ${pipeline}: ${where}: ${reason}`);
}

type Ctx = { pipeline: string };

/** `column`, or `normalized|original|metadata` then `.key` or `."key.with.dots"` segments. */
function parsePath(ctx: Ctx, where: string, text: unknown): PathTemplate {
  if (typeof text !== 'string' || text === '') fail(ctx.pipeline, where, 'a path must be a non-empty string');
  const dot = text.indexOf('.');
  const column = dot < 0 ? text : text.slice(0, dot);
  if (TEXT_COLUMNS.has(column)) {
    if (dot >= 0) fail(ctx.pipeline, where, `column '${column}' is text, it has no keys: '${text}'`);
    return { column, segments: [] };
  }
  if (!JSON_COLUMNS.has(column)) {
    fail(
      ctx.pipeline,
      where,
      `unknown column '${column}' in '${text}' (one of ${[...TEXT_COLUMNS, ...JSON_COLUMNS].join(', ')})`,
    );
  }
  if (dot < 0) fail(ctx.pipeline, where, `'${column}' needs a key path (${column}.key)`);
  const segments: Segment[] = [];
  let i = dot;
  while (i < text.length) {
    if (text[i] !== '.') fail(ctx.pipeline, where, `expected '.' at position ${i} of '${text}'`);
    i++;
    if (text[i] === '"') {
      const close = text.indexOf('"', i + 1);
      if (close < 0) fail(ctx.pipeline, where, `unterminated quoted key in '${text}'`);
      const key = text.slice(i + 1, close);
      if (key === '') fail(ctx.pipeline, where, `empty key in '${text}'`);
      segments.push({ text: key, quoted: true });
      i = close + 1;
    } else {
      let end = text.indexOf('.', i);
      if (end < 0) end = text.length;
      const key = text.slice(i, end);
      if (key === '') fail(ctx.pipeline, where, `empty key in '${text}'`);
      if (key.includes('"')) fail(ctx.pipeline, where, `a quoted key must be the whole key in '${text}'`);
      segments.push({ text: key, quoted: false });
      i = end;
    }
  }
  return { column, segments };
}

/** One path or a list of alternative paths, all in one JSON column (a text column stands alone). */
function parseFieldSpec(ctx: Ctx, where: string, value: unknown): FieldSpec {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) fail(ctx.pipeline, where, 'an empty list of paths');
  const paths = items.map((p, i) => parsePath(ctx, items.length > 1 ? `${where}[${i}]` : where, p));
  const first = paths[0]!;
  if (paths.length > 1) {
    if (TEXT_COLUMNS.has(first.column)) {
      fail(
        ctx.pipeline,
        where,
        `alternatives must be paths in one JSON column, not column '${first.column}'`,
      );
    }
    const other = paths.find((p) => p.column !== first.column);
    if (other) {
      fail(
        ctx.pipeline,
        where,
        `alternatives must share one column ('${first.column}' and '${other.column}')`,
      );
    }
  }
  return paths;
}

function expand(segments: readonly Segment[], field: string): string[] {
  const out: string[] = [];
  for (const s of segments) {
    if (!s.quoted && s.text === '{field}') out.push(...field.split('.'));
    else out.push(s.text.split('{field}').join(field));
  }
  return out;
}

function toFieldRef(spec: FieldSpec, field: string): FieldRef {
  const first = spec[0]!;
  if (TEXT_COLUMNS.has(first.column)) {
    return { kind: 'column', column: first.column as EventTextColumn | 'procid' };
  }
  // `original."{field}"` and `original.{field}` are one path for a field without dots: keep it once.
  const paths: string[][] = [];
  const seen = new Set<string>();
  for (const p of spec) {
    const keys = expand(p.segments, field);
    const id = JSON.stringify(keys);
    if (!seen.has(id)) paths.push(keys);
    seen.add(id);
  }
  return { kind: 'json', column: first.column as EventJsonColumn, paths };
}

// ------------------------------------------------------------------------------------------- conditions

/** `*` any run, `?` one character, `\` escapes the next character. */
function wildcardPattern(text: string): PatternPart[] {
  const parts: PatternPart[] = [];
  let buf = '';
  const flush = (): void => {
    if (buf) parts.push({ kind: 'text', text: buf });
    buf = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) buf += text[++i];
    else if (c === '*') {
      flush();
      parts.push({ kind: 'any' });
    } else if (c === '?') {
      flush();
      parts.push({ kind: 'one' });
    } else buf += c;
  }
  flush();
  return parts;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function valueNode(ctx: Ctx, where: string, field: FieldRef, value: unknown): Node<FieldRef> {
  if (value === null) return { kind: 'null', field };
  if (typeof value === 'string') {
    return { kind: 'string', field, pattern: wildcardPattern(value), cased: false };
  }
  if (typeof value === 'number' || typeof value === 'boolean') {
    return { kind: 'string', field, pattern: [{ kind: 'text', text: String(value) }], cased: false };
  }
  if (Array.isArray(value)) {
    if (value.length === 0) fail(ctx.pipeline, where, 'an empty list of values');
    return or(
      ...value.map((v, i) => {
        if (Array.isArray(v) || isPlainObject(v)) fail(ctx.pipeline, `${where}[${i}]`, 'expected a scalar');
        return valueNode(ctx, `${where}[${i}]`, field, v);
      }),
    );
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'exists' && typeof value.exists === 'boolean') {
      return { kind: 'exists', field, exists: value.exists };
    }
    fail(
      ctx.pipeline,
      where,
      `unknown value form ${JSON.stringify(value)} (expected a scalar, a list, null or {exists: bool})`,
    );
  }
  fail(ctx.pipeline, where, `unsupported value ${String(value)}`);
}

function parseConditions(ctx: Ctx, where: string, value: unknown): Node<FieldRef> {
  if (!Array.isArray(value) || value.length === 0) {
    fail(ctx.pipeline, where, 'conditions must be a non-empty list of alternatives');
  }
  return or(
    ...value.map((alt, i) => {
      const w = `${where}[${i}]`;
      if (!isPlainObject(alt) || Object.keys(alt).length === 0) {
        fail(ctx.pipeline, w, 'each alternative must be a non-empty map of path -> value');
      }
      return and(
        ...Object.entries(alt).map(([p, v]) => {
          const spec = parseFieldSpec(ctx, `${w}.${p}`, p);
          if (spec[0]!.segments.some((s) => s.text.includes('{field}'))) {
            fail(ctx.pipeline, `${w}.${p}`, 'a condition path cannot use {field}');
          }
          return valueNode(ctx, `${w}.${p}`, toFieldRef(spec, ''), v);
        }),
      );
    }),
  );
}

// ------------------------------------------------------------------------------------------- logsources

/** Per key: undefined = the rule must not name it; 'any' = anything or absent; a set (null = absent). */
type KeySpec = undefined | 'any' | ReadonlySet<string | null>;
type LogsourceSpec = Readonly<Record<LogsourceKey, KeySpec>>;

function parseLogsourceSpec(ctx: Ctx, where: string, value: unknown): LogsourceSpec {
  if (!isPlainObject(value)) fail(ctx.pipeline, where, 'logsource must be a map of product/category/service');
  const spec: Record<LogsourceKey, KeySpec> = { product: undefined, category: undefined, service: undefined };
  for (const [k, v] of Object.entries(value)) {
    if (!(LOGSOURCE_KEYS as readonly string[]).includes(k)) {
      fail(ctx.pipeline, `${where}.${k}`, 'unknown logsource key (product, category, service)');
    }
    if (v === '*') {
      spec[k as LogsourceKey] = 'any';
      continue;
    }
    const items = Array.isArray(v) ? v : [v];
    if (items.length === 0) fail(ctx.pipeline, `${where}.${k}`, 'an empty list');
    const set = new Set<string | null>();
    for (const item of items) {
      if (item === null) set.add(null);
      else if (typeof item === 'string' && item.trim() !== '') set.add(item.trim().toLowerCase());
      else fail(ctx.pipeline, `${where}.${k}`, `expected a name, a list of names, null or '*'`);
    }
    spec[k as LogsourceKey] = set;
  }
  if (LOGSOURCE_KEYS.every((k) => spec[k] === undefined)) fail(ctx.pipeline, where, 'an empty logsource');
  return spec;
}

function logsourceValue(ls: SigmaLogsource, k: LogsourceKey): string | null {
  const v = ls[k];
  return typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : null;
}

/** The specificity when the spec matches the logsource, else -1. */
function matchSpec(spec: LogsourceSpec, ls: SigmaLogsource): number {
  let score = 0;
  for (const k of LOGSOURCE_KEYS) {
    const s = spec[k];
    const v = logsourceValue(ls, k);
    if (s === undefined) {
      if (v !== null) return -1;
    } else if (s !== 'any') {
      if (!s.has(v)) return -1;
      score++;
    }
  }
  return score;
}

function specKey(spec: LogsourceSpec): string {
  return LOGSOURCE_KEYS.map((k) => {
    const s = spec[k];
    return s === undefined ? '-' : s === 'any' ? '*' : [...s].map(String).sort().join('|');
  }).join('/');
}

/** `product=windows category=file_access` (the keys the logsource names). */
export function describeLogsource(ls: SigmaLogsource): string {
  const parts = LOGSOURCE_KEYS.filter((k) => logsourceValue(ls, k) !== null).map((k) => `${k}=${ls[k]!}`);
  return parts.length ? parts.join(' ') : '(empty)';
}

// ------------------------------------------------------------------------------------------------ loader

interface FieldSet {
  readonly defaultField?: FieldSpec;
  readonly fields: ReadonlyMap<string, FieldSpec>;
}

interface Entry {
  readonly spec: LogsourceSpec;
  readonly declared: boolean;
  /** The entry's resolution for a rule's logsource (a declared entry's condition depends on it). */
  resolution(ls: SigmaLogsource): Resolution;
}

/** metadata.logsource.<key> equals the rule's value, for every key the rule names (none: undefined). */
function declaredCondition(ls: SigmaLogsource): Node<FieldRef> | undefined {
  const named = LOGSOURCE_KEYS.flatMap((k) => {
    const v = logsourceValue(ls, k);
    return v === null ? [] : [[k, v] as const];
  });
  if (named.length === 0) return undefined;
  return and(
    ...named.map(([k, v]): Node<FieldRef> => ({
      kind: 'string',
      field: { kind: 'json', column: 'metadata', paths: [['logsource', k]] },
      pattern: literal(v),
      cased: false,
    })),
  );
}

function parseFieldSet(ctx: Ctx, where: string, value: unknown): FieldSet {
  if (!isPlainObject(value)) fail(ctx.pipeline, where, 'expected a map');
  const fields = new Map<string, FieldSpec>();
  if (value.fields !== undefined) {
    if (!isPlainObject(value.fields))
      fail(ctx.pipeline, `${where}.fields`, 'expected a map of field -> path(s)');
    for (const [name, spec] of Object.entries(value.fields)) {
      fields.set(name, parseFieldSpec(ctx, `${where}.fields.${name}`, spec));
    }
  }
  const defaultField =
    value.default_field === undefined
      ? undefined
      : parseFieldSpec(ctx, `${where}.default_field`, value.default_field);
  return defaultField ? { defaultField, fields } : { fields };
}

const ENTRY_KEYS = new Set([
  'logsource',
  'use',
  'conditions',
  'declared',
  'fields',
  'default_field',
  'unsupported',
]);

function parseEntry(ctx: Ctx, where: string, value: unknown, sets: ReadonlyMap<string, FieldSet>): Entry {
  if (!isPlainObject(value)) fail(ctx.pipeline, where, 'each logsources item must be a map');
  for (const k of Object.keys(value)) {
    if (!ENTRY_KEYS.has(k))
      fail(ctx.pipeline, `${where}.${k}`, `unknown key (${[...ENTRY_KEYS].join(', ')})`);
  }
  if (value.logsource === undefined) fail(ctx.pipeline, where, 'missing logsource');
  const spec = parseLogsourceSpec(ctx, `${where}.logsource`, value.logsource);
  if (value.unsupported !== undefined) {
    if (typeof value.unsupported !== 'string' || value.unsupported.trim() === '') {
      fail(ctx.pipeline, `${where}.unsupported`, 'the reason must be a non-empty string');
    }
    const extra = ['use', 'conditions', 'declared', 'fields', 'default_field'].find(
      (k) => value[k] !== undefined,
    );
    if (extra) fail(ctx.pipeline, `${where}.${extra}`, 'an unsupported entry has no mapping');
    const resolution: Resolution = { ok: false, reason: value.unsupported.trim() };
    return { spec, declared: false, resolution: () => resolution };
  }
  if (value.declared !== undefined && value.declared !== true)
    fail(ctx.pipeline, `${where}.declared`, 'expected true (or leave it out)');
  const declared = value.declared === true;
  if (declared && value.conditions !== undefined)
    fail(ctx.pipeline, `${where}.conditions`, "a declared entry's condition is the rule's logsource");
  if (!declared && value.conditions === undefined)
    fail(ctx.pipeline, where, 'missing conditions (or declared: true, or unsupported: reason)');
  const condition = declared ? undefined : parseConditions(ctx, `${where}.conditions`, value.conditions);
  let base: FieldSet = { fields: new Map() };
  if (value.use !== undefined) {
    if (typeof value.use !== 'string') fail(ctx.pipeline, `${where}.use`, 'expected a field set name');
    const set = sets.get(value.use);
    if (!set) fail(ctx.pipeline, `${where}.use`, `unknown field set '${value.use}'`);
    base = set;
  }
  const own = parseFieldSet(ctx, where, { fields: value.fields, default_field: value.default_field });
  const fields = new Map([...base.fields, ...own.fields]);
  const defaultField = own.defaultField ?? base.defaultField;
  if (!defaultField) fail(ctx.pipeline, where, 'no default_field (own or from the field set it uses)');
  const field = (name: string): FieldRef => toFieldRef(fields.get(name) ?? defaultField, name);
  if (condition) {
    const resolution: Resolution = { ok: true, mapping: { condition, declared: false, field } };
    return { spec, declared: false, resolution: () => resolution };
  }
  return {
    spec,
    declared: true,
    // Only called for a logsource that names a key (see entryScore), so the condition exists.
    resolution: (ls) => ({
      ok: true,
      mapping: { condition: declaredCondition(ls)!, declared: true, field },
    }),
  };
}

/** The entry's specificity for the logsource, -1 when it does not match (a declared entry needs a key). */
function entryScore(e: Entry, ls: SigmaLogsource): number {
  if (e.declared && !declaredCondition(ls)) return -1;
  return matchSpec(e.spec, ls);
}

type Rank = Pick<PipelineMatch, 'specificity' | 'declared'>;

/** True when `a` ranks above `b`: any entry above a declared one, then the more specific (or equal, if `ties`). */
function outranks(a: Rank, b: Rank, ties: boolean): boolean {
  if (a.declared !== b.declared) return !a.declared;
  return ties ? a.specificity >= b.specificity : a.specificity > b.specificity;
}

function makePipeline(name: string, match: (ls: SigmaLogsource) => PipelineMatch | undefined): Pipeline {
  return {
    name,
    match,
    lookup: (ls) => match(ls)?.resolution,
    resolve(ls) {
      const r = match(ls)?.resolution;
      return r?.ok ? r.mapping : undefined;
    },
  };
}

/**
 * Loads a pipeline from its YAML text (format: src/sigma/pipelines/windows.yml). Throws an Error naming the
 * pipeline, the place (`logsources[3].conditions[0]...`) and the problem when the text is not valid.
 */
export function loadPipeline(yamlText: string, name: string): Pipeline {
  const ctx: Ctx = { pipeline: name };
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (e) {
    fail(name, 'YAML', e instanceof Error ? e.message.split('\n')[0]! : String(e));
  }
  if (!isPlainObject(doc))
    fail(name, 'top level', 'expected a map with logsources (and optional name, field_sets)');
  for (const k of Object.keys(doc)) {
    if (k !== 'name' && k !== 'field_sets' && k !== 'logsources') {
      fail(name, k, 'unknown top-level key (name, field_sets, logsources)');
    }
  }
  if (doc.name !== undefined && typeof doc.name !== 'string') fail(name, 'name', 'expected a string');
  const sets = new Map<string, FieldSet>();
  if (doc.field_sets !== undefined) {
    if (!isPlainObject(doc.field_sets)) fail(name, 'field_sets', 'expected a map of name -> field set');
    for (const [setName, v] of Object.entries(doc.field_sets)) {
      sets.set(setName, parseFieldSet(ctx, `field_sets.${setName}`, v));
    }
  }
  if (!Array.isArray(doc.logsources)) fail(name, 'logsources', 'expected a list of entries');
  const entries: Entry[] = [];
  const seen = new Map<string, number>();
  doc.logsources.forEach((v, i) => {
    const entry = parseEntry(ctx, `logsources[${i}]`, v, sets);
    const key = specKey(entry.spec);
    const prev = seen.get(key);
    if (prev !== undefined) fail(name, `logsources[${i}]`, `same logsource as logsources[${prev}]`);
    seen.set(key, i);
    entries.push(entry);
  });
  return makePipeline(name, (ls) => {
    let best: { rank: Rank; entry: Entry } | undefined;
    for (const e of entries) {
      const specificity = entryScore(e, ls);
      if (specificity < 0) continue;
      const rank = { specificity, declared: e.declared };
      if (!best || outranks(rank, best.rank, false)) best = { rank, entry: e };
    }
    return best && { ...best.rank, resolution: best.entry.resolution(ls) };
  });
}

/**
 * Pipelines in order of precedence: for a logsource the most specific matching entry of any pipeline wins,
 * and at equal specificity the later pipeline wins (user pipelines over the default). A declared entry
 * (`declared: true`) wins only when no pipeline has any other entry for the logsource.
 */
export function combinePipelines(...pipelines: Pipeline[]): Pipeline {
  return makePipeline(pipelines.map((p) => p.name).join('+'), (ls) => {
    let best: PipelineMatch | undefined;
    for (const p of pipelines) {
      const m = p.match(ls);
      if (m && (!best || outranks(m, best, true))) best = m;
    }
    return best;
  });
}

let builtIn: Pipeline | undefined;

/** The built-in mappings: every src/sigma/pipelines/*.yml, combined in file-name order. */
export function defaultPipeline(): Pipeline {
  if (!builtIn) {
    const here = import.meta.dirname ?? path.dirname(fileURLToPath(import.meta.url));
    const dir = path.join(here, 'pipelines');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yml'))
      .sort();
    const loaded = files.map((f) => loadPipeline(readFileSync(path.join(dir, f), 'utf8'), f.slice(0, -4)));
    builtIn = makePipeline('default', combinePipelines(...loaded).match);
  }
  return builtIn;
}

/**
 * The rule's detection with its fields mapped, AND the logsource's condition (condition first). An unknown
 * logsource gives `unsupported logsource product=.. category=..`, an unsupported one the same with `: reason`.
 */
export function applyPipeline(
  rule: { logsource: SigmaLogsource; detection: Node<string> },
  pipeline: Pipeline,
): Applied {
  const r = pipeline.lookup(rule.logsource);
  const what = `unsupported logsource ${describeLogsource(rule.logsource)}`;
  if (!r) return { ok: false, reason: what };
  if (!r.ok) return { ok: false, reason: `${what}: ${r.reason}` };
  const mapping = r.mapping;
  return {
    ok: true,
    node: and(
      mapping.condition,
      mapFields(rule.detection, (f) => mapping.field(f)),
    ),
  };
}
