/**
 * Detection on DuckDB as ONE statement over a range of events, whatever the number of rules.
 *
 * The statement reads each event once and parses its `normalized` JSON once:
 *
 *   scan     json_transform(normalized, <struct of every path the rules read>): one parse per event, and the
 *            keys of each object are matched against the struct's (a hash lookup per key present), where
 *            json_extract_string would walk the document again for every path.
 *   fields   each field reference as text (v0, v1, ...; json_extract_string of the JSON leaf, so the text is
 *            exactly what json_extract_string gives), and lowered once (l0, l1, ...) when a rule compares it
 *            case-insensitively.
 *   hits     rules are grouped by their logsource condition (the top-level conjuncts over the fields that rules
 *            select events by, such as normalized.channel and normalized.event_id): per group, CASE WHEN
 *            <condition> THEN [CASE WHEN <rule> THEN <its index> END, ...] END, so a rule is only evaluated on the
 *            events of its logsource. AND / OR are nested CASEs (see RuleCompiler.nodes): evaluated in order.
 *   matches  one row per (rule, matching event), ranked per rule: its count and its first matches in seq order.
 *
 * Rules compile like the Sigma backend (src/sigma/backends) with the same SQL semantics, reading the
 * pre-extracted columns; a case-insensitive pattern reads the lowered column: `f ILIKE p` is `lower(f) LIKE
 * lower(p)` (DuckDB lowers both sides with lower()'s function), and a single wildcard run at either end becomes
 * contains / starts_with / ends_with, what DuckDB's own LIKE optimisation does with constant patterns. Other
 * nodes (regex, number, null, exists, fieldref, keyword, cased patterns) go through the backend unchanged.
 * Every value is a parameter, json_transform's struct type included; the only rule text in the SQL are JSON path
 * segments (the struct's field names, cold fields' paths), checked by the backend's defaultFieldSql (its strict
 * segment check) first.
 */
import type { FieldRef, Node } from '../../sigma/ir.ts';
import { EVENT_TEXT_COLUMNS, literalText } from '../../sigma/ir.ts';
import { compilePredicate, defaultFieldSql } from '../../sigma/backends/index.ts';
import { errorReason, fieldKey, type DetectionRuleInput } from '../detect.ts';

/** Parameters $1..$4 of the statement: tenant, afterSeq, uptoSeq, max matches per rule. */
const FIXED_PARAMS = 4;

const RAW: FieldRef = { kind: 'column', column: 'raw' };

/** Columns of log_events a field may read in place (cold fields) besides the JSON ones. */
const PASSTHROUGH = new Set<string>([...EVENT_TEXT_COLUMNS, 'procid']);

interface Slot {
  /** The field's text, as a column of the fields level (hot) or an expression over log_events columns (cold). */
  value: string;
  /** The lowered column, for hot fields a rule reads case-insensitively. */
  lower?: string;
  hot: boolean;
  ref: FieldRef;
}

/** A rule ready to join a statement: its condition without the group's conjuncts, and its parameters. */
export interface PlannedRule {
  readonly index: number;
  readonly key: string;
  readonly group: string;
  /** The group's condition (the rule's logsource conjuncts) and its parameters. */
  readonly pre: Node<FieldRef>[];
  readonly rest: Node<FieldRef>[];
  /** Requested fields: name and field key. */
  readonly fields: readonly { name: string; key: string }[];
  /** A necessary condition of the rule that many rules can share in one test (see RuleGate). */
  readonly gate?: RuleGate;
}

/**
 * A rule's gate: for the rule to match, the lowered text of one of a few hot fields must contain one of that
 * field's `literals` (lower-case printable ASCII). It is implied by one of the rule's own conjuncts (a
 * case-insensitive pattern, or an OR of them, such as Sigma's `Image|endswith` / `OriginalFileName` pairs:
 * each pattern's longest literal piece must then occur in its lowered field), so testing it first never loses
 * a match. The statement tests the gates of up to GATE_BUCKET rules of a logsource group that gate on the
 * same fields as ONE regular expression per field (an alternation of the literals, which RE2 runs as one DFA
 * pass over the text) and evaluates those rules only on the events it passes: most events of a busy
 * logsource (registry, image loads, file events) pass none, and skip hundreds of rules for a few scans.
 */
export interface RuleGate {
  /** Per field slot key (its lowered column is read), the literals one of which it must contain. */
  readonly fields: ReadonlyMap<string, readonly string[]>;
}

/** Rules of one group that share a gate test, by default (measured on bench:detect: see docs/detection.md). */
export const GATE_BUCKET = 16;

export interface DetectPlanOptions {
  /** Rules per gate test; 0 turns gates off (every rule of a group is evaluated on each of its events). */
  gateBucket?: number;
  /** Merge an OR's literal searches of one column into one regular expression (default true; see #orParts). */
  textRuns?: boolean;
}

/** A statement for a set of rules, and its parameters after the fixed four. */
export interface DetectStatement {
  sql: string;
  params: unknown[];
  /** Rule of each index the statement reports (the `r` column). */
  rules: readonly PlannedRule[];
  /** Requested field key -> its output column. */
  fieldColumns: ReadonlyMap<string, string>;
}

/** Selection fields, per-rule conjunct split and field slots for a set of rules. */
export class DetectPlan {
  readonly rules: PlannedRule[] = [];
  readonly errors = new Map<string, string>();
  readonly #slots = new Map<string, Slot>();
  /** The JSON paths of `normalized` read through the struct (segments checked). */
  #struct: StructNode = new Map();

  readonly #gateBucket: number;
  readonly #textRuns: boolean;

  constructor(inputs: readonly DetectionRuleInput[], opts: DetectPlanOptions = {}) {
    const bucket = opts.gateBucket ?? GATE_BUCKET;
    if (!Number.isInteger(bucket) || bucket < 0)
      throw new Error(`gateBucket must be an integer >= 0, got ${bucket}`);
    this.#gateBucket = bucket;
    this.#textRuns = opts.textRuns ?? true;
    // 1. Which fields are hot: every path of normalized that the struct can carry.
    const refs = new Map<string, FieldRef>();
    const addRef = (r: FieldRef) => refs.set(fieldKey(r), r);
    for (const r of inputs) {
      visitFields(r.node, addRef);
      for (const f of r.fields ?? []) addRef(f.ref);
    }
    const candidates: FieldRef[] = [];
    for (const ref of refs.values()) {
      try {
        defaultFieldSql(ref, 'duckdb'); // the backend's checks (columns, path segments); throws when refused
      } catch {
        continue; // compiling the rule reports it
      }
      if (ref.kind === 'json' && ref.column === 'normalized') candidates.push(ref);
    }
    this.#struct = buildStruct(candidates.flatMap((r) => (r.kind === 'json' ? r.paths : [])));
    let n = 0;
    for (const ref of refs.values()) {
      const hot =
        ref.kind === 'json' &&
        ref.column === 'normalized' &&
        ref.paths.every((p) => isHotPath(this.#struct, p));
      const key = fieldKey(ref);
      if (hot) this.#slots.set(key, { value: `v${n++}`, hot, ref });
      else if (ref.kind === 'column' && ref.column !== 'procid' && PASSTHROUGH.has(ref.column)) {
        // A text column: read in place (it is in every level), lowered once when read case-insensitively.
        this.#slots.set(key, { value: `"${ref.column}"`, lower: `l${n++}`, hot: true, ref });
      } else {
        try {
          this.#slots.set(key, { value: coldSql(ref), hot, ref });
        } catch {
          // compiling a rule that reads it reports the reason
        }
      }
    }
    // 2. Selection fields: those of the first conjunct of each rule (a pipeline puts the logsource's condition
    //    first), when hot. A rule's leading conjuncts over them only form its group's condition.
    const selectors = new Set<string>();
    for (const r of inputs) {
      const first = conjuncts(r.node)[0];
      if (!first) continue;
      const keys: string[] = [];
      visitFields(first, (f) => keys.push(fieldKey(f)));
      if (keys.length > 0 && keys.every((k) => this.#slots.get(k)?.hot))
        keys.forEach((k) => selectors.add(k));
    }
    inputs.forEach((r, index) => {
      const all = conjuncts(r.node);
      const pre: Node<FieldRef>[] = [];
      const rest: Node<FieldRef>[] = [];
      for (const c of all) {
        const keys: string[] = [];
        let keyword = false;
        visitNodes(c, (x) => (keyword ||= x.kind === 'keyword'));
        visitFields(c, (f) => keys.push(fieldKey(f)));
        if (!keyword && keys.length > 0 && keys.every((k) => selectors.has(k))) pre.push(c);
        else rest.push(c);
      }
      this.rules.push({
        index,
        key: r.key,
        group: JSON.stringify(pre),
        pre,
        rest,
        fields: (r.fields ?? []).map((f) => ({ name: f.name, key: fieldKey(f.ref) })),
        ...(this.#gateBucket > 0 ? gateOf(rest, this.#slots) : {}),
      });
    });
    // 3. Compile each rule once alone: what cannot compile is this rule's error, not the statement's.
    for (const r of this.rules) {
      try {
        const c = new RuleCompiler(this.#slots, FIXED_PARAMS, this.#textRuns);
        c.nodes(r.pre, 'and');
        c.nodes(r.rest, 'and');
        for (const f of r.fields)
          if (!this.#slots.has(f.key)) throw new Error(`field ${f.key} cannot be read`);
      } catch (e) {
        this.errors.set(r.key, errorReason(e));
      }
    }
  }

  /** The statement that evaluates `rules` (compiled ones) over one range of events. */
  statement(rules: readonly PlannedRule[]): DetectStatement {
    const c = new RuleCompiler(this.#slots, FIXED_PARAMS, this.#textRuns);
    const used = new Set<string>();
    const groups = new Map<string, PlannedRule[]>();
    for (const r of rules) {
      const g = groups.get(r.group);
      if (g) g.push(r);
      else groups.set(r.group, [r]);
      for (const n of [...r.pre, ...r.rest]) visitFields(n, (f) => used.add(fieldKey(f)));
      for (const f of r.fields) used.add(f.key);
    }
    // Hot fields used: their struct paths, their text and (when read case-insensitively) lowered columns.
    const slots = [...used].map((k) => this.#slots.get(k)!).filter((s) => s.hot && s.ref.kind === 'json');
    const columns = [...used].map((k) => this.#slots.get(k)!).filter((s) => s.hot && s.ref.kind === 'column');
    const order: PlannedRule[] = [];
    const ruleList = (rs: readonly PlannedRule[]) =>
      `[${rs
        .map((r) => {
          order.push(r);
          return `CASE WHEN ${c.nodes(r.rest, 'and')} THEN ${order.length - 1} END`;
        })
        .join(', ')}]`;
    // Groups by their logsource conjuncts, in a trie of shared leading conjuncts (channel, then EventID...):
    // each trie node is one CASE WHEN <conjunct> THEN <its groups' rules and its children> END, so an event
    // tests the conditions of its own channel's groups only, not those of every group (217 on the Windows
    // rules), and a vector holding no event of a channel skips that channel's whole subtree.
    const root = newTrieNode(undefined);
    for (const members of groups.values()) {
      let at = root;
      for (const conj of members[0]!.pre) {
        const k = JSON.stringify(conj);
        let next = at.children.get(k);
        if (!next) at.children.set(k, (next = newTrieNode(conj)));
        at = next;
      }
      at.groups.push(members);
    }
    // Children that test one field for equality with different values (EventID 4624, 4625, ...) exclude each
    // other: they become the WHENs of ONE CASE, one list per event instead of one per child.
    const emit = (node: TrieNode): string[] => {
      const parts: string[] = [];
      for (const members of node.groups) parts.push(...groupParts(members));
      const chains = new Map<string, { values: Set<string>; whens: string[] }>();
      for (const child of node.children.values()) {
        const inner = emit(child);
        if (inner.length === 0) continue;
        const when = `WHEN ${c.node(child.conj!)} THEN ${listOf(inner)}`;
        const eq = equality(child.conj!);
        let chain = eq && chains.get(eq.field);
        if (eq && !chain) chains.set(eq.field, (chain = { values: new Set(), whens: [] }));
        // A value met twice in one chain ('Security' and 'security', uncased) is not exclusive: apart.
        if (!eq || !chain || chain.values.has(eq.value)) parts.push(`CASE ${when} END`);
        else {
          chain.values.add(eq.value);
          chain.whens.push(when);
        }
      }
      for (const { whens } of chains.values()) parts.push(`CASE ${whens.join('\n')} END`);
      return parts;
    };
    const groupParts = (members: readonly PlannedRule[]): string[] => {
      // Gated rules by the fields they gate on, GATE_BUCKET at a time behind one regular expression per
      // field; the others as they are.
      const byFields = new Map<string, PlannedRule[]>();
      const open: PlannedRule[] = [];
      for (const r of members) {
        if (!r.gate) open.push(r);
        else {
          const k = JSON.stringify([...r.gate.fields.keys()].sort());
          byFields.set(k, [...(byFields.get(k) ?? []), r]);
        }
      }
      const parts: string[] = [];
      for (const [k, unsorted] of byFields) {
        const keys = JSON.parse(k) as string[];
        // Rules with the same literals side by side: a common literal then opens one bucket, not many.
        const sig = (r: PlannedRule) => keys.map((f) => gateRegex(r.gate!.fields.get(f)!)).join('\n');
        const rs = unsorted
          .map((r) => ({ r, sig: sig(r) }))
          .sort((a, b) => (a.sig < b.sig ? -1 : a.sig > b.sig ? 1 : 0))
          .map((x) => x.r);
        for (let i = 0; i < rs.length; i += this.#gateBucket) {
          const bucket = rs.slice(i, i + this.#gateBucket);
          const tests = keys.map((f) => {
            const re = gateRegex(bucket.flatMap((r) => r.gate!.fields.get(f)!));
            return c.gateTest(f, re);
          });
          parts.push(`CASE WHEN ${anyOf(tests)} THEN ${ruleList(bucket)} END`);
        }
      }
      if (open.length) parts.push(ruleList(open));
      // Each rule once (a gate repeating them would double the statement, and DuckDB plans it per run).
      return parts;
    };
    const hits = emit(root);
    const lowered = c.lowered;
    const struct = structType(restrict(this.#struct, slots));
    const cold = new Set<string>(['normalized']);
    for (const k of used) {
      const s = this.#slots.get(k)!;
      if (!s.hot || s.ref.kind === 'column') for (const col of coldColumns(s.ref)) cold.add(col);
    }
    const base = ['seq', 'id', 'timestamp', 'host', 'hostname', 'source_id', ...cold];
    const uniqBase = [...new Set(base)].map((x) => `"${x}"`);
    const fieldCols = slots.map((s) => `${hotSql(s.ref)} AS ${s.value}`);
    const lowerCols = [...slots, ...columns]
      .filter((s) => lowered.has(s.value))
      .map((s) => `lower(${s.value}) AS ${s.lower!}`);
    // Requested fields come back as q0, q1, ... (one column per distinct field).
    const fieldColumns = new Map<string, string>();
    for (const r of rules)
      for (const f of r.fields)
        if (!fieldColumns.has(f.key)) fieldColumns.set(f.key, `q${fieldColumns.size}`);
    const requested = [...fieldColumns]
      .map(([k, col]) => `, ${this.#slots.get(k)!.value} AS ${col}`)
      .join('');
    const sql = `
WITH scan AS (
  SELECT ${uniqBase.join(', ')}${slots.length ? `, json_transform(normalized, ${c.param(struct)}) AS t` : ''}
  FROM log_events WHERE tenant_id = $1::UUID AND seq > $2 AND seq <= $3
), fields AS (
  SELECT ${[...uniqBase, ...fieldCols].join(', ')} FROM scan
), lowered AS (
  SELECT *${lowerCols.length ? ', ' + lowerCols.join(', ') : ''} FROM fields
), hits AS (
  SELECT seq, id, "timestamp", host, hostname, source_id, normalized${requested}, flatten([${hits.length ? hits.join(',\n') : 'NULL::INTEGER[]'}]) AS hit_list FROM lowered
), matched AS (
  SELECT unnest(hit_list) AS r, * EXCLUDE (hit_list) FROM hits
)
SELECT r, seq, id::VARCHAR AS id, "timestamp", host, hostname, source_id::VARCHAR AS source_id,
  json_extract_string(normalized, '$.src_ip') AS src_ip, json_extract_string(normalized, '$.dst_ip') AS dst_ip,
  json_extract_string(normalized, '$.user') AS usr${[...fieldColumns.values()].map((q) => `, ${q}`).join('')},
  count(*) OVER (PARTITION BY r) AS total
FROM matched WHERE r IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY r ORDER BY seq) <= $4
ORDER BY r, seq`;
    return { sql, params: c.params, rules: order, fieldColumns };
  }
}

// ------------------------------------------------------------------------------------------ compiling

class RuleCompiler {
  readonly params: unknown[] = [];
  /** Hot value columns read lowered. */
  readonly lowered = new Set<string>();

  constructor(
    private readonly slots: ReadonlyMap<string, Slot>,
    private readonly offset: number,
    private readonly textRuns = true,
  ) {}

  #param(v: unknown): string {
    this.params.push(v);
    return `$${this.offset + this.params.length}`;
  }

  /** A parameter holding `v`. */
  param(v: unknown): string {
    return this.#param(v);
  }

  /**
   * A gate's test: the lowered hot field matches `re` (an alternation of lower-case printable ASCII literals,
   * gateRegex). The raw text is not lowered for it: lowering every event's raw text (1.5 KB on average for
   * Windows events) cost as much as the search itself, and only keyword rules read it, behind their gates.
   * The raw text is searched case-insensitively instead, which finds at least what the lowered text would:
   * RE2's (?i) matches each ASCII letter in both cases (and K, U+212A, with k), and the one other character
   * that DuckDB's lower() turns into ASCII, İ (U+0130, to i), is added to each i. It may find more (ſ, U+017F,
   * with s), which a gate may: the rules behind it decide.
   */
  gateTest(key: string, re: string): string {
    const s = this.slots.get(key);
    if (!s?.hot) throw new Error(`field ${key} is not hot`);
    if (isRaw(s)) return `regexp_matches("raw", ${this.#param(`(?i)(?:${re.replaceAll('i', '[iİ]')})`)})`;
    return `regexp_matches(${this.#lower(s)}, ${this.#param(re)})`;
  }

  /**
   * Mark a hot slot read lowered; its lowered column's name. The raw text is lowered where a rule reads it
   * (behind a gate, on the few events that pass it), not for every event (see gateTest).
   */
  #lower(s: Slot): string {
    if (isRaw(s)) return 'lower("raw")';
    s.lower ??= `l${s.value.slice(1)}`;
    this.lowered.add(s.value);
    return s.lower;
  }

  #slot(ref: FieldRef): Slot {
    const s = this.slots.get(fieldKey(ref));
    if (!s) return { value: defaultFieldSql(ref, 'duckdb'), hot: false, ref }; // throws the backend's reason
    return s;
  }

  /**
   * `and` / `or` as nested CASE: each item is evaluated only on the rows the items before it left undecided,
   * in the rule's order. (DuckDB may evaluate a conjunction's items in another order to learn which is
   * cheaper, which inside a projection means running an expensive one over every row.) Only truthiness
   * matters where these are used (a WHEN, or `IS NOT TRUE`), and a CASE is true exactly when AND / OR is.
   */
  nodes(items: readonly Node<FieldRef>[], kind: 'and' | 'or'): string {
    if (items.length === 0) return kind === 'and' ? 'TRUE' : 'FALSE';
    if (kind === 'or' && this.textRuns && items.length >= TEXT_RUN_MIN) return anyOf(this.#orParts(items));
    const parts = items.map((i) => this.node(i));
    return kind === 'and' ? allOf(parts) : anyOf(parts);
  }

  /**
   * An OR's items, where TEXT_RUN_MIN or more of them compare one lowered column with a literal (equality,
   * contains, starts_with, ends_with: Sigma's value lists) are ONE regexp_matches of their alternation, at the
   * place of the first: `l = 'a' OR contains(l, 'b') OR starts_with(l, 'c') OR ends_with(l, 'd')` is
   * `regexp_matches(l, '^a$|b|^c|d$')` (RE2: `^` and `$` anchor the whole text, the literals escaped). An OR's
   * truthiness does not depend on the order of its items, and both forms are NULL exactly when the column is.
   * One node instead of one per value: the SigmaHQ Windows rules hold 33,000 such values, which DuckDB binds
   * and folds at every run, and evaluates one node at a time per vector.
   */
  #orParts(items: readonly Node<FieldRef>[]): string[] {
    const alts = items.map((i) => this.#literalRun(i));
    const byColumn = new Map<string, number[]>();
    alts.forEach((a, i) => {
      if (!a) return;
      const run = byColumn.get(a.slot.value);
      if (run) run.push(i);
      else byColumn.set(a.slot.value, [i]);
    });
    const parts: string[] = [];
    const merged = new Set<number>();
    items.forEach((item, i) => {
      if (merged.has(i)) return;
      const a = alts[i];
      const run = a && byColumn.get(a.slot.value)!;
      if (!a || !run || run.length < TEXT_RUN_MIN) {
        parts.push(this.node(item));
        return;
      }
      for (const j of run) merged.add(j);
      const re = [...new Set(run.map((j) => alts[j]!.re))].join('|');
      // A value JavaScript cannot lower as DuckDB does: DuckDB lowers the whole pattern (lower() changes
      // letters only, never the escapes and operators around them), folded to a constant when bound.
      const pattern = run.every((j) => alts[j]!.lowered) ? this.#param(re) : `lower(${this.#param(re)})`;
      parts.push(`regexp_matches(${this.#lower(a.slot)}, ${pattern})`);
    });
    return parts;
  }

  /**
   * A case-insensitive comparison of a hot column with one literal (equality, contains, starts_with,
   * ends_with), as an RE2 alternative.
   */
  #literalRun(n: Node<FieldRef>): { slot: Slot; re: string; lowered: boolean } | undefined {
    if ((n.kind !== 'string' && n.kind !== 'keyword') || n.cased) return undefined;
    const s = this.#slot(n.kind === 'string' ? n.field : RAW);
    if (!s.hot) return undefined;
    const p = n.pattern;
    const texts = p.filter((x) => x.kind === 'text');
    if (texts.length !== 1 || p.some((x) => x.kind === 'one')) return undefined;
    const first = p[0]!.kind === 'any';
    const last = p[p.length - 1]!.kind === 'any';
    const text = (texts[0] as { text: string }).text;
    if (!LITERAL_TEXT.test(text)) return undefined;
    // Lowered here when JavaScript and DuckDB lower it alike, else by DuckDB's lower() in the statement.
    const lowered = RUN_TEXT.test(text);
    const re = `${first ? '' : '^'}${escapeRegex(lowered ? text.toLowerCase() : text)}${last ? '' : '$'}`;
    return { slot: s, re, lowered };
  }

  node(n: Node<FieldRef>): string {
    switch (n.kind) {
      case 'and':
      case 'or':
        return this.nodes(n.items, n.kind);
      case 'not':
        return `(${this.node(n.item)}) IS NOT TRUE`;
      case 'const':
        return n.value ? 'TRUE' : 'FALSE';
      case 'string': {
        const s = this.#slot(n.field);
        if (s.hot && !n.cased && !n.pattern.every((x) => x.kind === 'any'))
          return this.#uncased(s, n.pattern);
        return this.#backend(n);
      }
      case 'keyword': {
        // The backend's keyword: the pattern over the raw column; lowered once per event when uncased.
        const s = this.#slot(RAW);
        if (s.hot && !n.cased && !n.pattern.every((x) => x.kind === 'any'))
          return this.#uncased(s, n.pattern);
        return this.#backend(n);
      }
      default:
        return this.#backend(n);
    }
  }

  /** A case-insensitive pattern over the lowered column (see the module comment for the equivalences). */
  #uncased(s: Slot, pattern: Extract<Node<FieldRef>, { kind: 'string' }>['pattern']): string {
    const l = this.#lower(s);
    const lit = literalText(pattern);
    if (lit !== undefined) return `${l} = ${this.#lowerParam(lit)}`;
    const texts = pattern.filter((x) => x.kind === 'text');
    const ones = pattern.some((x) => x.kind === 'one');
    if (texts.length === 1 && !ones) {
      const text = (texts[0] as { text: string }).text;
      const first = pattern[0]!.kind === 'any';
      const last = pattern[pattern.length - 1]!.kind === 'any';
      // Runs of `*` at one end or both, the text in the middle: pattern = [*...] text [*...].
      const p = this.#lowerParam(text);
      if (first && last) return `contains(${l}, ${p})`;
      if (first) return `ends_with(${l}, ${p})`;
      if (last) return `starts_with(${l}, ${p})`;
    }
    const like = pattern
      .map((x) => (x.kind === 'text' ? x.text.replace(/[\\%_]/g, '\\$&') : x.kind === 'any' ? '%' : '_'))
      .join('');
    return `${l} LIKE ${this.#lowerParam(like)} ESCAPE '\\'`;
  }

  /**
   * A parameter holding `text` lowered as DuckDB's lower() lowers it: ASCII text is lowered here (the same
   * mapping, A-Z to a-z), one expression node less per value for DuckDB to bind and fold at every run (tens
   * of thousands in the SigmaHQ rule set); other text is lowered by lower() in the statement.
   */
  #lowerParam(text: string): string {
    return isAscii(text) ? this.#param(text.toLowerCase()) : `lower(${this.#param(text)})`;
  }

  /** The backend's SQL for one leaf, reading the slots' columns; its parameters continue ours. */
  #backend(n: Node<FieldRef>): string {
    const frag = compilePredicate(n, 'duckdb', {
      paramOffset: this.offset + this.params.length,
      fieldSql: (ref) => this.#slot(ref).value,
    });
    this.params.push(...frag.params);
    return frag.sql;
  }
}

const isRaw = (s: Slot): boolean => s.ref.kind === 'column' && s.ref.column === 'raw';

/** Text whose lowering JavaScript and DuckDB agree on (ASCII: A-Z to a-z, nothing else changes). */
const isAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
};

/** True when every part is: `CASE WHEN a THEN CASE WHEN b THEN c END END`. */
export function allOf(parts: readonly string[]): string {
  if (parts.length === 0) return 'TRUE';
  let sql = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) sql = `CASE WHEN ${parts[i]!} THEN ${sql} END`;
  return sql;
}

/** A node of the logsource trie (DetectPlan.statement): a conjunct, the groups it completes, and its children. */
interface TrieNode {
  conj: Node<FieldRef> | undefined;
  groups: PlannedRule[][];
  children: Map<string, TrieNode>;
}

const newTrieNode = (conj: Node<FieldRef> | undefined): TrieNode => ({
  conj,
  groups: [],
  children: new Map(),
});

/**
 * For a conjunct that is a plain equality (one printable-ASCII text, no wildcard): the field and case mode it
 * compares, and the value as compared (lowered when uncased). Conjuncts with the same field and different
 * values exclude each other. ASCII only, so JavaScript and DuckDB agree on what lowering does.
 */
function equality(n: Node<FieldRef>): { field: string; value: string } | undefined {
  if (n.kind !== 'string' || n.pattern.length !== 1) return undefined;
  const part = n.pattern[0]!;
  if (part.kind !== 'text' || !/^[\x20-\x7e]*$/.test(part.text)) return undefined;
  return {
    field: JSON.stringify([fieldKey(n.field), n.cased]),
    value: n.cased ? part.text : part.text.toLowerCase(),
  };
}

/** Lists of rule indexes as one list: the list itself, or their flattened concatenation. */
const listOf = (parts: readonly string[]): string =>
  parts.length === 1 ? parts[0]! : `flatten([${parts.join(',\n')}])`;

/** True when some part is: `CASE WHEN a THEN TRUE WHEN b THEN TRUE ELSE c END`. */
export function anyOf(parts: readonly string[]): string {
  if (parts.length === 0) return 'FALSE';
  if (parts.length === 1) return parts[0]!;
  const whens = parts.slice(0, -1).map((p) => `WHEN ${p} THEN TRUE`);
  return `CASE ${whens.join(' ')} ELSE ${parts[parts.length - 1]!} END`;
}

// ------------------------------------------------------------------------------------------ gates

/** What is not printable ASCII (gate literals are: lower-casing them is the same in JS and in DuckDB's lower()). */
const NOT_GATE_TEXT = /[^\x20-\x7e]+/;

/** Fields one gate may test: an OR over more fields is left ungated (each field costs a scan). */
const GATE_MAX_FIELDS = 6;

/**
 * The literals one conjunct implies, when it does: a case-insensitive pattern over a hot field (its longest
 * literal piece), an OR whose every branch implies literals (their union, per field; at most
 * GATE_MAX_FIELDS fields), or an AND with such an item (the most selective one). Anything else (NOT, cased,
 * regex, keyword, numbers, cold fields, non-ASCII text) implies nothing usable.
 */
function impliedLiterals(n: Node<FieldRef>, slots: ReadonlyMap<string, Slot>): RuleGate | undefined {
  switch (n.kind) {
    case 'string':
    case 'keyword': {
      // A keyword is a pattern over the raw event (RuleCompiler.node), read lowered like a field.
      if (n.cased) return undefined;
      const key = fieldKey(n.kind === 'keyword' ? RAW : n.field);
      if (!slots.get(key)?.hot) return undefined;
      // The longest run of printable ASCII of the pattern's text: the lowered field contains it whenever the
      // pattern matches (a piece of the literal is in the field wherever the literal is; Sigma's windash
      // variants and other non-ASCII literals keep their ASCII pieces).
      let best = '';
      for (const x of n.pattern)
        if (x.kind === 'text')
          for (const run of x.text.split(NOT_GATE_TEXT)) if (run.length > best.length) best = run;
      if (best === '') return undefined;
      return { fields: new Map([[key, [best.toLowerCase()]]]) };
    }
    case 'or': {
      const fields = new Map<string, string[]>();
      for (const item of n.items) {
        const g = impliedLiterals(item, slots);
        if (!g) return undefined;
        for (const [k, ls] of g.fields) fields.set(k, [...(fields.get(k) ?? []), ...ls]);
      }
      return fields.size === 0 || fields.size > GATE_MAX_FIELDS ? undefined : { fields };
    }
    case 'and':
      return bestGate(n.items.map((i) => impliedLiterals(i, slots)));
    default:
      return undefined;
  }
}

/**
 * How selective a literal is likely to be: its length, except a bare program or library name (`\\cmd.exe`,
 * `.dll`), which the Image-like fields of a busy host carry on most events: such a gate would pass nearly
 * always, so another conjunct of the rule is preferred when it has one.
 */
function literalScore(l: string): number {
  return /^\\?[\w .-]*\.(exe|dll|sys)$/.test(l) ? 4 : l.length;
}

/** The most selective gate: the one whose least selective literal scores highest. */
function bestGate(gates: readonly (RuleGate | undefined)[]): RuleGate | undefined {
  let best: RuleGate | undefined;
  let score = 0;
  for (const g of gates) {
    if (!g) continue;
    const s = Math.min(...[...g.fields.values()].flat().map(literalScore));
    if (s > score) {
      best = g;
      score = s;
    }
  }
  return best;
}

/** A rule's gate, from the conjuncts after its group's condition (none when none implies literals). */
function gateOf(rest: readonly Node<FieldRef>[], slots: ReadonlyMap<string, Slot>): { gate?: RuleGate } {
  const g = bestGate(rest.map((c) => impliedLiterals(c, slots)));
  return g ? { gate: g } : {};
}

/**
 * One RE2 alternation that matches where any literal occurs. A literal that contains another is dropped (the
 * shorter one already matches there); the rest are sorted so equal buckets give equal parameters.
 */
export function gateRegex(literals: readonly string[]): string {
  const uniq = [...new Set(literals)].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  // Shortest first: a literal is dropped when one of its substrings of a kept length is kept (Set lookups; a
  // scan of every kept literal per literal was quadratic: 1 s per statement over buckets of a few thousand).
  const kept = new Set<string>();
  const lengths: number[] = [];
  for (const l of uniq) {
    let covered = false;
    for (const m of lengths) {
      for (let i = 0; i + m <= l.length && !covered; i++) covered = kept.has(l.slice(i, i + m));
      if (covered) break;
    }
    if (covered) continue;
    kept.add(l);
    if (lengths[lengths.length - 1] !== l.length) lengths.push(l.length);
  }
  return [...kept].sort().map(escapeRegex).join('|');
}

/** Literal text as an RE2 pattern (its metacharacters escaped). */
const escapeRegex = (l: string): string => l.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');

/**
 * Text an RE2 literal carries as it is, and whose lowering JavaScript and DuckDB agree on: printable ASCII, and
 * punctuation and spaces of any script, which have no case (Sigma's windash variants: en dash, em dash,
 * horizontal bar).
 */
const RUN_TEXT = /^[\x20-\x7e\p{P}\p{Zs}]+$/u;

/** Text an RE2 literal carries as it is (no control characters). */
const LITERAL_TEXT = /^[^\p{Cc}]+$/u;

/** Items of one OR searching one column for literals from which on they are one regular expression. */
const TEXT_RUN_MIN = 2;

// ------------------------------------------------------------------------------------------ the struct

/** A trie of JSON keys: a leaf (null) or an object of children. */
type StructNode = Map<string, StructNode | null>;

/**
 * The trie of the paths, with what json_transform cannot carry as json_extract_string reads it left out: a
 * key that is both a leaf and an object (`user` and `user.name`), and keys that differ only in case (DuckDB
 * struct field names are case-insensitive). Paths left out are read with json_extract_string instead.
 */
function buildStruct(paths: readonly (readonly string[])[]): StructNode {
  const root: StructNode = new Map();
  const conflicts = new Set<string>();
  for (const p of paths) {
    let node = root;
    for (let i = 0; i < p.length; i++) {
      const seg = p[i]!;
      const leaf = i === p.length - 1;
      const have = node.get(seg);
      if (leaf) {
        if (have === undefined) node.set(seg, null);
        else if (have !== null) conflicts.add(JSON.stringify(p.slice(0, i + 1)));
      } else {
        if (have === null) {
          conflicts.add(JSON.stringify(p.slice(0, i + 1)));
          break;
        }
        if (have === undefined) {
          const child: StructNode = new Map();
          node.set(seg, child);
          node = child;
        } else node = have;
      }
    }
  }
  const prune = (node: StructNode, prefix: string[]) => {
    const lower = new Map<string, number>();
    for (const k of node.keys()) lower.set(k.toLowerCase(), (lower.get(k.toLowerCase()) ?? 0) + 1);
    for (const [k, child] of [...node]) {
      const here = [...prefix, k];
      if (lower.get(k.toLowerCase())! > 1 || conflicts.has(JSON.stringify(here))) node.delete(k);
      else if (child) {
        prune(child, here);
        if (child.size === 0) node.delete(k);
      }
    }
  };
  prune(root, []);
  return root;
}

function isHotPath(root: StructNode, path: readonly string[]): boolean {
  let node: StructNode | null | undefined = root;
  for (const seg of path) {
    if (!node) return false;
    node = node.get(seg);
  }
  return node === null;
}

/** The trie limited to the paths of the given hot slots. */
function restrict(root: StructNode, slots: readonly Slot[]): StructNode {
  const out: StructNode = new Map();
  for (const s of slots) {
    if (s.ref.kind !== 'json') continue;
    for (const p of s.ref.paths) {
      let src: StructNode = root;
      let dst = out;
      p.forEach((seg, i) => {
        if (i === p.length - 1) dst.set(seg, null);
        else {
          src = src.get(seg)!;
          let next = dst.get(seg);
          if (!next) {
            next = new Map();
            dst.set(seg, next);
          }
          dst = next;
        }
      });
    }
  }
  return out;
}

/** The json_transform structure: every leaf as JSON, so its text is then read exactly as json_extract_string. */
function structType(node: StructNode): string {
  const obj = (n: StructNode): Record<string, unknown> =>
    Object.fromEntries([...n].map(([k, v]) => [k, v === null ? 'JSON' : obj(v)]));
  // Keys passed the backend's segment check (no quote, no backslash); the quotes of the SQL literal are
  // still doubled, so this literal stays one literal whatever a key holds.
  return JSON.stringify(obj(node)).replaceAll("'", "''");
}

/** A hot field's text: the first path present, each leaf read as json_extract_string reads it. */
function hotSql(ref: FieldRef): string {
  if (ref.kind !== 'json') throw new Error('a hot field is a JSON path');
  const alts = ref.paths.map((p) => `json_extract_string(t${p.map((s) => `."${s}"`).join('')}, '$')`);
  return alts.length === 1 ? alts[0]! : `coalesce(${alts.join(', ')})`;
}

/** A cold field read in place, as the backend reads it (only its own checked SQL). */
function coldSql(ref: FieldRef): string {
  return defaultFieldSql(ref, 'duckdb');
}

function coldColumns(ref: FieldRef): string[] {
  if (ref.kind === 'json') return [ref.column];
  return PASSTHROUGH.has(ref.column) ? [ref.column] : [];
}

// ------------------------------------------------------------------------------------------ tree walks

function conjuncts(n: Node<FieldRef>): Node<FieldRef>[] {
  return n.kind === 'and' ? [...n.items] : [n];
}

function visitNodes(n: Node<FieldRef>, fn: (n: Node<FieldRef>) => void): void {
  fn(n);
  if (n.kind === 'and' || n.kind === 'or') n.items.forEach((i) => visitNodes(i, fn));
  else if (n.kind === 'not') visitNodes(n.item, fn);
}

/** Every field a node reads (a keyword reads the raw column). */
function visitFields(n: Node<FieldRef>, fn: (f: FieldRef) => void): void {
  visitNodes(n, (x) => {
    switch (x.kind) {
      case 'and':
      case 'or':
      case 'not':
      case 'const':
        return;
      case 'keyword':
        fn({ kind: 'column', column: 'raw' });
        return;
      case 'fieldref':
        fn(x.field);
        fn(x.other);
        return;
      default:
        fn(x.field);
    }
  });
}
