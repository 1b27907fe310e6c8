/**
 * Sigma rule files (specification v2) -> documents: rules, correlation rules and filters (model.ts), with each
 * rule's detection and condition resolved into one intermediate tree (ir.ts). Pure: text in, data out.
 *
 * A file may hold several YAML documents (`---`); each becomes one document or one SigmaError ("file:line:
 * reason", the line of the offending key or value). When a document has several problems, the first one (by
 * line) gives the error's line and the reason lists the others. parseSigma never throws.
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type YAMLMap,
} from 'yaml';
import { ConditionError, parseCondition, resolveCondition, type ConditionExpr } from './condition.ts';
import { and, not, or, type Node } from './ir.ts';
import type {
  CorrelationCondition,
  CorrelationType,
  SigmaCorrelation,
  SigmaDocument,
  SigmaFilter,
  SigmaLevel,
  SigmaLogsource,
  SigmaMeta,
  SigmaRule,
  SigmaStatus,
} from './model.ts';
import { SigmaError } from './model.ts';
import { buildItem, DetectionError, splitFieldKey, type SigmaScalar } from './modifiers.ts';

export interface ParseOptions {
  /** The file name, for error messages and locations. */
  file: string;
  /** Values for the `expand` modifier (`%name%` -> values, as alternatives). */
  placeholders?: Record<string, readonly string[]>;
}

export interface ParseResult {
  documents: SigmaDocument[];
  errors: SigmaError[];
}

const LEVELS: readonly SigmaLevel[] = ['informational', 'low', 'medium', 'high', 'critical'];
const STATUSES: readonly SigmaStatus[] = ['stable', 'test', 'experimental', 'deprecated', 'unsupported'];
const RELATED_TYPES = ['derived', 'obsolete', 'merged', 'renamed', 'similar'];
const CORRELATION_TYPES: readonly CorrelationType[] = [
  'event_count',
  'value_count',
  'temporal',
  'temporal_ordered',
];
const CORRELATION_KEYS = new Set([
  'type',
  'rules',
  'group-by',
  'timespan',
  'condition',
  'aliases',
  'generate',
]);
const COMPARISONS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as const;
const TIME_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** A problem at a line, collected while reading one document. */
class Problem extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** What reading one document needs. */
class Reader {
  readonly problems: Problem[] = [];
  constructor(
    readonly doc: Document,
    readonly lc: LineCounter,
    readonly docLine: number,
    readonly opts: ParseOptions,
  ) {}

  line(node: unknown): number {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range ? this.lc.linePos(range[0]).line : this.docLine;
  }

  problem(node: unknown, reason: string): Problem {
    const p = new Problem(this.line(node), reason);
    this.problems.push(p);
    return p;
  }

  /** Runs `f`; a Problem it throws is recorded (once) and undefined returned. */
  attempt<T>(f: () => T): T | undefined {
    try {
      return f();
    } catch (e) {
      if (e instanceof Problem) {
        if (!this.problems.includes(e)) this.problems.push(e);
        return undefined;
      }
      throw e;
    }
  }

  deref(node: unknown): unknown {
    return isAlias(node) ? node.resolve(this.doc) : node;
  }

  /** The pairs of a map, keys as text, values dereferenced. */
  entries(map: YAMLMap): { key: string; keyNode: unknown; value: unknown }[] {
    return map.items.map((pair) => {
      const keyNode = this.deref(pair.key);
      const key = isScalar(keyNode) ? String(keyNode.value) : '';
      if (!isScalar(keyNode)) throw this.problem(keyNode, 'a key must be a plain value');
      return { key, keyNode, value: this.deref(pair.value) };
    });
  }

  get(map: YAMLMap, key: string): { keyNode: unknown; value: unknown } | undefined {
    for (const pair of map.items) {
      const k = this.deref(pair.key);
      if (isScalar(k) && String(k.value) === key) return { keyNode: k, value: this.deref(pair.value) };
    }
    return undefined;
  }

  scalar(node: unknown, what: string): SigmaScalar {
    if (!isScalar(node)) throw this.problem(node, `${what} must be a single value`);
    const v = node.value;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    return String(v);
  }

  optString(map: YAMLMap, key: string): string | undefined {
    const e = this.get(map, key);
    if (!e) return undefined;
    const v = this.scalar(e.value ?? e.keyNode, `'${key}'`);
    if (v === null) return undefined;
    if (typeof v === 'boolean') throw this.problem(e.value, `'${key}' must be text`);
    return String(v);
  }

  /** A list of texts; a single text is a list of one; absent or null is empty. */
  stringList(map: YAMLMap, key: string): string[] {
    const e = this.get(map, key);
    if (!e || (isScalar(e.value) && e.value.value === null) || e.value === null) return [];
    const one = (n: unknown): string => {
      const v = this.scalar(this.deref(n), `an item of '${key}'`);
      if (v === null || typeof v === 'boolean') throw this.problem(n, `an item of '${key}' must be text`);
      return String(v);
    };
    if (isSeq(e.value)) return e.value.items.map(one);
    if (isScalar(e.value)) return [one(e.value)];
    throw this.problem(e.value, `'${key}' must be a list`);
  }

  map(node: unknown, what: string, at: unknown = node): YAMLMap {
    if (!isMap(node)) throw this.problem(node ?? at, `${what} must be a map`);
    return node;
  }
}

// ------------------------------------------------------------------------------------------- entry point

/** Parses a Sigma file: every YAML document becomes a document or an error. Never throws. */
export function parseSigma(text: string, opts: ParseOptions): ParseResult {
  const documents: SigmaDocument[] = [];
  const errors: SigmaError[] = [];
  const lc = new LineCounter();
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  } catch (e) {
    return { documents, errors: [new SigmaError(opts.file, 1, `YAML: ${(e as Error).message}`)] };
  }
  if (!Array.isArray(docs)) return { documents, errors };
  for (const doc of docs) {
    const range = doc.range ?? [0, text.length, text.length];
    const start = doc.contents?.range?.[0] ?? range[0];
    const docLine = lc.linePos(start).line;
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const msg = e.message.split('\n')[0]!;
      errors.push(new SigmaError(opts.file, lc.linePos(e.pos[0]).line, `YAML: ${msg}`));
      continue;
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) continue;
    const r = new Reader(doc, lc, docLine, opts);
    let result: SigmaDocument | undefined;
    try {
      result = r.attempt(() => readDocument(r, text.slice(range[0], range[2])));
    } catch (e) {
      r.problems.push(new Problem(docLine, `internal error: ${(e as Error).message}`));
    }
    if (r.problems.length > 0 || !result) {
      errors.push(toError(opts.file, r.problems, docLine));
    } else documents.push(result);
  }
  return { documents, errors };
}

function toError(file: string, problems: Problem[], docLine: number): SigmaError {
  if (problems.length === 0) return new SigmaError(file, docLine, 'invalid document');
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  const [first, ...rest] = sorted;
  const also = rest.length ? `; also ${rest.map((p) => `line ${p.line}: ${p.reason}`).join('; ')}` : '';
  return new SigmaError(file, first!.line, first!.reason + also);
}

// ------------------------------------------------------------------------------------------- documents

function readDocument(r: Reader, yaml: string): SigmaDocument | undefined {
  const top = r.map(r.doc.contents, 'a Sigma document');
  const action = r.get(top, 'action');
  if (action) {
    throw r.problem(action.keyNode, "'action' (Sigma v1 rule collections) is not supported");
  }
  const kinds = ['detection', 'correlation', 'filter'].filter((k) => r.get(top, k));
  if (kinds.length === 0) {
    throw r.problem(top, "not a Sigma document: no 'detection', 'correlation' or 'filter' section");
  }
  if (kinds.length > 1) {
    throw r.problem(
      r.get(top, kinds[1]!)!.keyNode,
      `a document cannot have both '${kinds[0]}' and '${kinds[1]}'`,
    );
  }
  const meta = r.attempt(() => readMeta(r, top, yaml));
  const kind = kinds[0]!;
  if (kind === 'detection') {
    const logsource = r.attempt(() => readLogsource(r, top));
    const det = r.get(top, 'detection')!;
    const detection = r.attempt(() =>
      readDetection(r, r.map(det.value, "'detection'", det.keyNode), det.keyNode, new Set()),
    );
    if (!meta || !logsource || !detection) return undefined;
    const rule: SigmaRule = {
      ...meta,
      type: 'rule',
      logsource,
      detection: detection.node,
      detectionNames: detection.names,
    };
    return rule;
  }
  if (kind === 'correlation') {
    const c = r.get(top, 'correlation')!;
    const correlation = r.attempt(() => readCorrelation(r, r.map(c.value, "'correlation'", c.keyNode)));
    if (!meta || !correlation) return undefined;
    const doc: SigmaCorrelation = { ...meta, type: 'correlation', correlation };
    return doc;
  }
  const f = r.get(top, 'filter')!;
  const logsource = r.attempt(() => readLogsource(r, top));
  const filter = r.attempt(() => {
    const map = r.map(f.value, "'filter'", f.keyNode);
    const rulesEntry = r.get(map, 'rules');
    if (!rulesEntry) throw r.problem(f.keyNode, "a filter needs 'rules' (the rules it applies to)");
    const rules = r.stringList(map, 'rules');
    if (rules.length === 0) throw r.problem(rulesEntry.keyNode, "a filter's 'rules' must not be empty");
    const detection = readDetection(r, map, f.keyNode, new Set(['rules']));
    return { rules, detection };
  });
  if (!meta || !logsource || !filter) return undefined;
  // Sigma ANDs a filter's condition into the rule's condition (`condition: not selection` keeps the events
  // that are not selected). SigmaFilter.detection is the set of events EXCLUDED (rule AND NOT detection),
  // hence the negation.
  const doc: SigmaFilter = {
    ...meta,
    type: 'filter',
    logsource,
    rules: filter.rules,
    detection: not(filter.detection.node),
  };
  return doc;
}

function readMeta(r: Reader, top: YAMLMap, yaml: string): SigmaMeta {
  const titleEntry = r.get(top, 'title');
  const title = r.optString(top, 'title');
  if (title === undefined || title.trim() === '') {
    throw r.problem(titleEntry?.keyNode ?? top, "'title' is required");
  }
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
    const v = r.optString(top, key);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      throw r.problem(r.get(top, key)!.value, `invalid ${key} '${v}' (allowed: ${allowed.join(', ')})`);
    }
    return v as T;
  };
  const level = r.attempt(() => oneOf('level', LEVELS));
  const status = r.attempt(() => oneOf('status', STATUSES));
  const related: { id: string; type: string }[] = [];
  const rel = r.get(top, 'related');
  if (rel && !(isScalar(rel.value) && rel.value.value === null)) {
    if (!isSeq(rel.value)) throw r.problem(rel.value ?? rel.keyNode, "'related' must be a list");
    for (const item of rel.value.items) {
      const m = r.map(r.deref(item), "an item of 'related'", rel.keyNode);
      const id = r.optString(m, 'id');
      const type = r.optString(m, 'type');
      if (id === undefined || type === undefined)
        throw r.problem(m, "an item of 'related' needs 'id' and 'type'");
      if (!RELATED_TYPES.includes(type)) {
        throw r.problem(
          r.get(m, 'type')!.value,
          `invalid related type '${type}' (allowed: ${RELATED_TYPES.join(', ')})`,
        );
      }
      related.push({ id, type });
    }
  }
  const opt = <K extends string>(key: K) => {
    const v = r.attempt(() => r.optString(top, key));
    return v === undefined ? {} : ({ [key]: v } as Record<K, string>);
  };
  return {
    title,
    ...opt('id'),
    ...opt('name'),
    ...(status ? { status } : {}),
    ...opt('description'),
    references: r.attempt(() => r.stringList(top, 'references')) ?? [],
    ...opt('author'),
    ...opt('date'),
    ...opt('modified'),
    tags: r.attempt(() => r.stringList(top, 'tags')) ?? [],
    ...(level ? { level } : {}),
    falsepositives: r.attempt(() => r.stringList(top, 'falsepositives')) ?? [],
    fields: r.attempt(() => r.stringList(top, 'fields')) ?? [],
    related,
    location: { file: r.opts.file, line: r.docLine },
    yaml,
  };
}

function readLogsource(r: Reader, top: YAMLMap): SigmaLogsource {
  const e = r.get(top, 'logsource');
  if (!e) throw r.problem(top, "'logsource' is required");
  const m = r.map(e.value, "'logsource'", e.keyNode);
  const out: Record<string, string> = {};
  for (const key of ['category', 'product', 'service', 'definition']) {
    const v = r.optString(m, key);
    if (v !== undefined) out[key] = v;
  }
  if (!out.category && !out.product && !out.service) {
    throw r.problem(e.keyNode, "'logsource' needs at least one of category, product, service");
  }
  return out;
}

// ------------------------------------------------------------------------------------------- detection

/**
 * A detection section (a rule's `detection`, a filter's `filter` minus `rules`): the named detections and the
 * condition, resolved into one tree.
 */
function readDetection(
  r: Reader,
  map: YAMLMap,
  sectionKey: unknown,
  skip: ReadonlySet<string>,
): { node: Node<string>; names: string[] } {
  const named = new Map<string, Node<string>>();
  const names: string[] = [];
  let failed = false;
  let condition: { value: unknown; keyNode: unknown } | undefined;
  for (const { key, keyNode, value } of r.entries(map)) {
    if (skip.has(key)) continue;
    if (key === 'condition') {
      condition = { value, keyNode };
      continue;
    }
    if (key === 'timeframe') {
      r.problem(keyNode, "'timeframe' (Sigma v1 aggregation) is not supported: use a correlation rule");
      failed = true;
      continue;
    }
    names.push(key);
    const node = r.attempt(() => readNamedDetection(r, key, keyNode, value));
    if (node) named.set(key, node);
    else failed = true;
  }
  if (!condition) throw r.problem(sectionKey, "'condition' is missing");
  const texts: { text: string; node: unknown }[] = [];
  if (isSeq(condition.value)) {
    for (const item of condition.value.items) {
      const v = r.deref(item);
      if (!isScalar(v) || typeof v.value !== 'string') throw r.problem(v, 'a condition must be text');
      texts.push({ text: v.value, node: v });
    }
    if (texts.length === 0) throw r.problem(condition.keyNode, "'condition' is an empty list");
  } else if (isScalar(condition.value) && typeof condition.value.value === 'string') {
    texts.push({ text: condition.value.value, node: condition.value });
  } else {
    throw r.problem(condition.value ?? condition.keyNode, "'condition' must be text or a list of texts");
  }
  const parsed: { expr: ConditionExpr; text: string; node: unknown }[] = [];
  for (const t of texts) {
    try {
      parsed.push({ expr: parseCondition(t.text), ...t });
    } catch (e) {
      if (!(e instanceof ConditionError)) throw e;
      r.problem(t.node, conditionReason(e, t.text));
    }
  }
  if (failed || parsed.length !== texts.length) throw r.problems[r.problems.length - 1]!;
  const trees: Node<string>[] = [];
  for (const p of parsed) {
    try {
      trees.push(resolveCondition(p.expr, named));
    } catch (e) {
      if (!(e instanceof ConditionError)) throw e;
      throw r.problem(p.node, conditionReason(e, p.text));
    }
  }
  return { node: or(...trees), names };
}

function conditionReason(e: ConditionError, text: string): string {
  return `condition '${text}': ${e.reason} at column ${e.column}`;
}

/** One named detection: a map (AND of items), a list (OR of maps and keywords) or a single keyword. */
function readNamedDetection(r: Reader, name: string, keyNode: unknown, value: unknown): Node<string> {
  if (isMap(value)) return readItemMap(r, value, name);
  if (isSeq(value)) {
    if (value.items.length === 0) throw r.problem(keyNode, `detection '${name}' is an empty list`);
    const items: Node<string>[] = [];
    const keywords: SigmaScalar[] = [];
    let keywordNode: unknown;
    for (const raw of value.items) {
      const item = r.deref(raw);
      if (isMap(item)) items.push(readItemMap(r, item, name));
      else if (isScalar(item)) {
        const v = r.scalar(item, 'a keyword');
        if (v === null) throw r.problem(item, `detection '${name}': a keyword cannot be null`);
        keywords.push(v);
        keywordNode ??= item;
      } else throw r.problem(item, `detection '${name}': a list item must be a map or a value`);
    }
    if (keywords.length > 0) items.push(item(r, keywordNode, () => buildItem(null, [], keywords, r.opts)));
    return or(...items);
  }
  if (isScalar(value) && value.value !== null) {
    const v = r.scalar(value, 'a keyword');
    return item(r, value, () => buildItem(null, [], [v], r.opts));
  }
  throw r.problem(value ?? keyNode, `detection '${name}' is empty`);
}

function item<T>(r: Reader, node: unknown, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DetectionError) throw r.problem(node, e.reason);
    throw e;
  }
}

/** A map of detection items: the AND of `field|modifiers: value or list`. */
function readItemMap(r: Reader, map: YAMLMap, name: string): Node<string> {
  const nodes: Node<string>[] = [];
  if (map.items.length === 0) throw r.problem(map, `detection '${name}' is an empty map`);
  for (const { key, keyNode, value } of r.entries(map)) {
    const { field, modifiers } = splitFieldKey(key);
    let values: SigmaScalar[];
    if (isSeq(value)) {
      values = value.items.map((v) => {
        const d = r.deref(v);
        if (!isScalar(d)) throw r.problem(d, `'${key}': a value list may only hold plain values`);
        return r.scalar(d, 'a value');
      });
    } else if (isScalar(value)) values = [r.scalar(value, 'a value')];
    else if (value === null || value === undefined) values = [null];
    else throw r.problem(value, `'${key}': the value must be a plain value or a list of them`);
    nodes.push(
      item(r, keyNode, () => {
        try {
          return buildItem(field, modifiers, values, r.opts);
        } catch (e) {
          if (e instanceof DetectionError) throw new DetectionError(`'${key}': ${e.reason}`);
          throw e;
        }
      }),
    );
  }
  return and(...nodes);
}

// ------------------------------------------------------------------------------------------- correlation

/** Parses `5m`, `1h`, `30s`, `2d`, `1w` into seconds. */
export function parseTimespan(text: string): number | undefined {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n * TIME_UNITS[m[2]!]! : undefined;
}

function readCorrelation(r: Reader, map: YAMLMap): SigmaCorrelation['correlation'] {
  const before = r.problems.length;
  for (const { key, keyNode } of r.entries(map)) {
    if (!CORRELATION_KEYS.has(key)) {
      r.problem(keyNode, `unknown correlation key '${key}' (known: ${[...CORRELATION_KEYS].join(', ')})`);
    }
  }
  const typeText = r.optString(map, 'type');
  if (typeText === undefined) throw r.problem(map, "a correlation needs 'type'");
  if (!(CORRELATION_TYPES as readonly string[]).includes(typeText)) {
    throw r.problem(
      r.get(map, 'type')!.value,
      `unknown correlation type '${typeText}' (allowed: ${CORRELATION_TYPES.join(', ')})`,
    );
  }
  const type = typeText as CorrelationType;
  const temporal = type === 'temporal' || type === 'temporal_ordered';

  const rulesEntry = r.get(map, 'rules');
  if (!rulesEntry) throw r.problem(map, "a correlation needs 'rules'");
  const rules = r.stringList(map, 'rules');
  if (rules.length === 0) throw r.problem(rulesEntry.keyNode, "a correlation's 'rules' must not be empty");
  if (temporal && rules.length < 2) {
    throw r.problem(rulesEntry.keyNode, `a ${type} correlation needs at least two rules`);
  }
  const groupBy = r.stringList(map, 'group-by');

  const ts = r.get(map, 'timespan');
  if (!ts) throw r.problem(map, "a correlation needs 'timespan' (e.g. 5m)");
  const tsText = r.scalar(ts.value, "'timespan'");
  const timespanSeconds = typeof tsText === 'string' ? parseTimespan(tsText) : undefined;
  if (timespanSeconds === undefined) {
    throw r.problem(
      ts.value,
      `invalid timespan '${String(tsText)}' (a positive number and a unit s, m, h, d or w, e.g. 5m)`,
    );
  }

  let condition: CorrelationCondition | undefined;
  const cond = r.get(map, 'condition');
  if (temporal) {
    if (cond) throw r.problem(cond.keyNode, `a ${type} correlation takes no 'condition'`);
  } else {
    if (!cond) throw r.problem(map, `a ${type} correlation needs a 'condition' (e.g. gte: 10)`);
    const cm = r.map(cond.value, "the correlation 'condition'", cond.keyNode);
    let field: string | undefined;
    const ops: { op: CorrelationCondition['op']; value: number }[] = [];
    for (const { key, keyNode, value } of r.entries(cm)) {
      if (key === 'field') {
        const f = r.scalar(value, "'field'");
        if (typeof f !== 'string' || f === '') throw r.problem(value, "'field' must be a field name");
        field = f;
      } else if ((COMPARISONS as readonly string[]).includes(key)) {
        const v = r.scalar(value, `'${key}'`);
        if (typeof v !== 'number' || !Number.isFinite(v)) throw r.problem(value, `'${key}' must be a number`);
        ops.push({ op: key as CorrelationCondition['op'], value: v });
      } else {
        throw r.problem(keyNode, `unknown condition operator '${key}' (allowed: ${COMPARISONS.join(', ')})`);
      }
    }
    if (ops.length === 0)
      throw r.problem(cond.keyNode, 'the correlation condition needs an operator (e.g. gte: 10)');
    if (ops.length > 1) {
      throw r.problem(cond.keyNode, 'the correlation condition has several operators; only one is supported');
    }
    if (type === 'value_count' && field === undefined) {
      throw r.problem(cond.keyNode, "a value_count correlation needs 'field' in its condition");
    }
    if (type === 'event_count' && field !== undefined) {
      throw r.problem(cond.keyNode, "an event_count correlation takes no 'field' in its condition");
    }
    condition = { ...ops[0]!, ...(field !== undefined ? { field } : {}) };
  }

  const aliases: Record<string, Record<string, string>> = {};
  const al = r.get(map, 'aliases');
  if (al && !(isScalar(al.value) && al.value.value === null)) {
    const am = r.map(al.value, "'aliases'", al.keyNode);
    for (const { key, value } of r.entries(am)) {
      const m = r.map(value, `alias '${key}'`);
      const byRule: Record<string, string> = {};
      for (const e of r.entries(m)) {
        const f = r.scalar(e.value, `alias '${key}'`);
        if (typeof f !== 'string' || f === '') {
          throw r.problem(
            e.value ?? e.keyNode,
            `alias '${key}': a field name for rule '${e.key}' is required`,
          );
        }
        if (!rules.includes(e.key)) {
          throw r.problem(e.keyNode, `alias '${key}' names rule '${e.key}', which is not in 'rules'`);
        }
        byRule[e.key] = f;
      }
      aliases[key] = byRule;
    }
  }

  let generate = false;
  const gen = r.get(map, 'generate');
  if (gen) {
    const g = r.scalar(gen.value, "'generate'");
    if (typeof g !== 'boolean') throw r.problem(gen.value, "'generate' must be true or false");
    generate = g;
  }
  if (r.problems.length > before) throw r.problems[before]!;
  return {
    type,
    rules,
    groupBy,
    timespanSeconds,
    ...(condition ? { condition } : {}),
    aliases,
    generate,
  };
}
