/**
 * Sigma rules as files: compile them to SQL (`vigil sigma compile`), report which compile for each dialect
 * (`vigil sigma check`), and run them over event files in a throw-away store (`vigil sigma test`). Needs no
 * database of the platform: the rules and events are the user's files, the store is an in-memory DuckDB.
 */
import { readdirSync, readFileSync, statSync, createReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import { ValidationError } from '../domain/errors.ts';
import type { LogEventInput } from '../domain/log-event.ts';
import { checkDeclaredLogsource, type DeclaredLogsource } from '../domain/schemas/log.schema.ts';
import { EventIdChain } from '../ingest/event-id.ts';
import { frameBatches } from '../ingest/framing.ts';
import { createStreamParser, isValidTimeZone } from '../ingest/index.ts';
import { LOG_FORMATS, type LogFormat } from '../ingest/types.ts';
import { DuckDbLogStore } from '../logstore/duckdb/duckdb-log-store.ts';
import {
  combinePipelines,
  defaultPipeline,
  DIALECTS,
  loadPipeline,
  designates,
  parseSigma,
  prepareRules,
  ruleQuery,
  UnsupportedError,
  type Dialect,
  type Pipeline,
  type PreparedRule,
  type RuleSet,
  type RuleSource,
  type FieldRef,
  type Node,
  type SigmaCorrelation,
  type SigmaFilter,
  type Unsupported,
} from '../sigma/index.ts';
import type { ParseResult } from '../sigma/parser.ts';
import { applyPipeline } from '../sigma/pipeline.ts';
import { compilePredicate } from '../sigma/backends/index.ts';
import { correlationFields, evaluateCorrelation, type BaseMatch } from '../sigma/correlation.ts';
import type { DetectionRuleInput } from '../logstore/detect.ts';

export interface SigmaServiceOptions {
  /** Values of `expand` placeholders (%name%), from configuration. */
  placeholders?: Record<string, readonly string[]>;
  /** Extra pipeline files (YAML), applied over the built-in mappings. */
  pipelineFiles?: readonly string[];
}

export interface CompiledRuleOutput {
  id: string | undefined;
  title: string;
  file: string;
  sql: string;
  params: unknown[];
}

export interface DialectReport {
  compiled: number;
  /** Share of the rule documents that compile, 0..1. */
  ratio: number;
  unsupported: Unsupported[];
}

export interface CheckReport {
  files: number;
  /** Rule documents (parsed or not); correlations and filters are counted apart. */
  rules: number;
  correlations: number;
  filters: number;
  dialects: Record<Dialect, DialectReport>;
}

export interface TestMatch {
  id: string;
  title: string;
  count: number;
}

export interface TestReport {
  rules: number;
  /** Correlation rules read (matching ones are in `matches`, with their number of hits as count). */
  correlations: number;
  events: number;
  matches: TestMatch[];
  /** Records of the event files that could not be parsed (they are not events). */
  rejected: number;
  unsupported: Unsupported[];
}

const RULE_FILE = /\.ya?ml$/i;
/** Matches read per referenced rule of a correlation (the store's maximum). */
const CORRELATION_MAX_MATCHES = 100_000;
const TEST_TENANT = '00000000-0000-4000-8000-000000000001';

/** Every rule file under the given files and directories, in a stable order. */
export function ruleFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string, top: boolean) => {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new ValidationError(`${p} does not exist`, [
        { path: 'path', message: 'no such file or directory' },
      ]);
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e), false);
    } else if (top || RULE_FILE.test(p)) {
      out.push(p);
    }
  };
  for (const p of paths) walk(p, true);
  return out;
}

export class SigmaService {
  #loaded: Pipeline | undefined;

  constructor(private readonly opts: SigmaServiceOptions = {}) {}

  /** The field mappings, read on first use (the container builds this service for every command). */
  get pipeline(): Pipeline {
    if (!this.#loaded) {
      const extra = (this.opts.pipelineFiles ?? []).map((f) =>
        loadPipeline(readFileSync(f, 'utf8'), basename(f)),
      );
      this.#loaded = extra.length ? combinePipelines(defaultPipeline(), ...extra) : defaultPipeline();
    }
    return this.#loaded;
  }

  /** Read and prepare rules from files and directories. */
  load(paths: readonly string[]): RuleSet {
    return this.prepare(ruleFiles(paths).map((file) => ({ file, text: readFileSync(file, 'utf8') })));
  }

  /** Parse one text (a stored rule, filter or correlation) with the configured placeholders; nothing mapped. */
  parse(source: RuleSource): ParseResult {
    return parseSigma(source.text, {
      file: source.file,
      ...(this.opts.placeholders ? { placeholders: this.opts.placeholders } : {}),
    });
  }

  /** The filter's condition over stored events, or why the pipeline cannot map it. */
  mapFilter(f: SigmaFilter): { ok: true; node: Node<FieldRef> } | { ok: false; reason: string } {
    return applyPipeline({ logsource: f.logsource, detection: f.detection }, this.pipeline);
  }

  /** Prepare rules from their text (rules stored in the database). */
  prepare(sources: readonly RuleSource[]): RuleSet {
    return prepareRules(sources, {
      pipeline: this.pipeline,
      ...(this.opts.placeholders ? { placeholders: this.opts.placeholders } : {}),
    });
  }

  /** `vigil sigma compile`: each rule's full query for a dialect. */
  compile(
    paths: readonly string[],
    dialect: Dialect,
  ): { rules: CompiledRuleOutput[]; unsupported: Unsupported[] } {
    const set = this.load(paths);
    const rules: CompiledRuleOutput[] = [];
    const unsupported = [...set.unsupported];
    for (const r of set.rules) {
      try {
        rules.push({
          id: r.rule.id,
          title: r.rule.title,
          file: r.rule.location.file,
          ...ruleQuery(r, dialect),
        });
      } catch (e) {
        unsupported.push(unsupportedOf(r, e));
      }
    }
    return { rules, unsupported };
  }

  /** `vigil sigma check`: how many rules compile for each dialect, and why the others do not. */
  check(paths: readonly string[]): CheckReport {
    const files = ruleFiles(paths);
    const set = this.load(files);
    // Parse errors and unmappable rules fail every dialect; the rest can still fail one dialect (regexes).
    const ruleDocs = set.rules.length + set.unsupported.length;
    const dialects = {} as Record<Dialect, DialectReport>;
    for (const d of DIALECTS) {
      const unsupported = [...set.unsupported];
      let compiled = 0;
      for (const r of set.rules) {
        try {
          compilePredicate(r.node, d);
          compiled += 1;
        } catch (e) {
          unsupported.push(unsupportedOf(r, e));
        }
      }
      dialects[d] = { compiled, ratio: ruleDocs ? compiled / ruleDocs : 1, unsupported };
    }
    return {
      files: files.length,
      rules: ruleDocs,
      correlations: set.correlations.length,
      filters: set.filters.length,
      dialects,
    };
  }

  /**
   * `vigil sigma test`: load the event files (any format ingest reads) into an in-memory DuckDB store, run
   * every rule over them, and report per matching rule its id, title and match count. Correlation rules are
   * evaluated over the matches of the rules they reference (src/sigma/correlation.ts) and reported with their
   * number of hits as count; a rule a correlation references is reported on its own only when a correlation
   * referencing it says `generate: true` (Sigma: referenced rules are not stand-alone rules by default).
   */
  async test(
    rulePaths: readonly string[],
    eventFiles: readonly string[],
    opts: { format?: LogFormat; timezone?: string; logsource?: DeclaredLogsource | undefined } = {},
  ): Promise<TestReport> {
    const format = opts.format ?? 'auto';
    if (!LOG_FORMATS.includes(format)) throw new ValidationError(`unknown format ${format}`);
    if (opts.timezone !== undefined && !isValidTimeZone(opts.timezone))
      throw new ValidationError(`unknown time zone ${opts.timezone}`);
    const set = this.load(rulePaths);
    const store = new DuckDbLogStore(':memory:');
    await store.init();
    try {
      let events = 0;
      let rejected = 0;
      for (const file of eventFiles) {
        for await (const batch of readEvents(file, TEST_TENANT, {
          format,
          timezone: opts.timezone ?? 'UTC',
          logsource: opts.logsource,
        })) {
          rejected += batch.rejected;
          if (batch.events.length === 0) continue;
          const r = await store.append({ tenantId: TEST_TENANT, events: batch.events, quarantine: [] });
          events += r.inserted;
        }
      }
      const uptoSeq = await store.maxSeq(TEST_TENANT);
      const byKey = new Map(set.rules.map((r, i) => [String(i), r]));
      const result = await store.detect(
        TEST_TENANT,
        set.rules.map((r, i) => ({ key: String(i), node: r.node })),
        { afterSeq: 0, uptoSeq, maxMatchesPerRule: 1 },
      );
      const unsupported = [...set.unsupported];
      for (const [key, reason] of result.errors) unsupported.push(unsupportedOf(byKey.get(key)!, reason));

      // Rules that correlations reference: listed on their own only when one of them generates.
      const referenced = new Set<number>();
      const generated = new Set<number>();
      for (const c of set.correlations)
        for (const ref of c.correlation.rules)
          set.rules.forEach((r, i) => {
            if (!designates(ref, r.rule)) return;
            referenced.add(i);
            if (c.correlation.generate) generated.add(i);
          });
      const matches: TestMatch[] = [];
      for (const [key, m] of result.matches) {
        const i = Number(key);
        if (referenced.has(i) && !generated.has(i)) continue;
        const r = set.rules[i]!.rule;
        matches.push({ id: r.id ?? '', title: r.title, count: m.count });
      }
      const correlated = await this.#correlate(set, store, uptoSeq);
      matches.push(...correlated.matches);
      unsupported.push(...correlated.unsupported);
      matches.sort((a, b) => b.count - a.count || a.title.localeCompare(b.title));
      return {
        rules: set.rules.length,
        correlations: set.correlations.length,
        events,
        matches,
        rejected,
        unsupported,
      };
    } finally {
      await store.close();
    }
  }

  /**
   * Evaluates the set's correlations over the store: each referenced rule runs once more, returning every
   * match (up to the store's maximum) with the fields its correlations read. A correlation is unsupported
   * when a reference names no prepared rule (unknown, unsupported, or another correlation: chains are not
   * evaluated), when a referenced rule fails, or when it matches more events than can be read.
   */
  async #correlate(
    set: RuleSet,
    store: DuckDbLogStore,
    uptoSeq: number,
  ): Promise<{ matches: TestMatch[]; unsupported: Unsupported[] }> {
    const unsupported: Unsupported[] = [];
    const plans: { c: SigmaCorrelation; refs: { ref: string; rule: number }[] }[] = [];
    const fields = new Map<number, Set<string>>();
    for (const c of set.correlations) {
      const refs: { ref: string; rule: number }[] = [];
      let reason: string | undefined;
      for (const ref of c.correlation.rules) {
        const rule = set.rules.findIndex((r) => designates(ref, r.rule));
        if (rule >= 0) {
          refs.push({ ref, rule });
          continue;
        }
        reason = set.correlations.some((o) => designates(ref, o))
          ? `rule '${ref}' is a correlation: chained correlations are not supported`
          : `rule '${ref}' is unknown or could not be prepared`;
        break;
      }
      if (reason !== undefined) {
        unsupported.push(unsupportedDoc(c, reason));
        continue;
      }
      plans.push({ c, refs });
      for (const { ref, rule } of refs) {
        const names = fields.get(rule) ?? new Set<string>();
        for (const f of correlationFields(c, ref)) names.add(f);
        fields.set(rule, names);
      }
    }
    if (plans.length === 0) return { matches: [], unsupported };

    const inputs: DetectionRuleInput[] = [...fields].map(([i, names]) => {
      const r = set.rules[i]!;
      const mapping = this.pipeline.resolve(r.rule.logsource)!;
      return {
        key: String(i),
        node: r.node,
        fields: [...names].map((name) => ({ name, ref: mapping.field(name) })),
      };
    });
    const result = await store.detect(TEST_TENANT, inputs, {
      afterSeq: 0,
      uptoSeq,
      maxMatchesPerRule: CORRELATION_MAX_MATCHES,
    });
    const matches: TestMatch[] = [];
    for (const { c, refs } of plans) {
      const base: BaseMatch[] = [];
      let reason: string | undefined;
      for (const { ref, rule } of refs) {
        const error = result.errors.get(String(rule));
        if (error !== undefined) {
          reason = `rule '${ref}' cannot run: ${error}`;
          break;
        }
        const m = result.matches.get(String(rule));
        if (!m) continue;
        if (m.count > m.events.length) {
          reason = `rule '${ref}' matched ${m.count} events, more than the ${m.events.length} a correlation reads`;
          break;
        }
        for (const e of m.events)
          base.push({ rule: ref, id: e.id, timestamp: e.timestamp, fields: e.fields ?? {} });
      }
      if (reason !== undefined) {
        unsupported.push(unsupportedDoc(c, reason));
        continue;
      }
      const hits = evaluateCorrelation(c, base);
      if (hits.length > 0) matches.push({ id: c.id ?? '', title: c.title, count: hits.length });
    }
    return { matches, unsupported };
  }
}

function unsupportedDoc(c: SigmaCorrelation, reason: string): Unsupported {
  return { file: c.location.file, line: c.location.line, id: c.id, title: c.title, reason };
}

function unsupportedOf(r: PreparedRule, e: unknown): Unsupported {
  const reason = e instanceof UnsupportedError ? e.reason : e instanceof Error ? e.message : String(e);
  return {
    file: r.rule.location.file,
    line: r.rule.location.line,
    id: r.rule.id,
    title: r.rule.title,
    reason,
  };
}

/**
 * The events of one file, batch by batch, parsed as ingest parses them (ids chained over the file's content,
 * so the same file gives the same ids). Records that do not parse are counted, not stored.
 */
export async function* readEvents(
  file: string,
  tenantId: string,
  opts: { format: LogFormat; timezone: string; logsource?: DeclaredLogsource | undefined },
): AsyncGenerator<{ events: LogEventInput[]; rejected: number }> {
  // The logsource the events' source declares, stored as ingest stores it (metadata.logsource).
  const logsource = opts.logsource === undefined ? undefined : checkDeclaredLogsource(opts.logsource);
  const parser = createStreamParser({
    format: opts.format,
    timezone: opts.timezone,
    referenceTime: new Date(),
  });
  const ids = EventIdChain.start(tenantId, 'sigma-test', file);
  const mode =
    opts.format === 'auto' || opts.format === 'json' || opts.format === 'windows_event' ? 'auto' : 'lines';
  let last: Date | null = null;
  for await (const batch of frameBatches(createReadStream(file, { highWaterMark: 1 << 20 }), { mode })) {
    const events: LogEventInput[] = [];
    let rejected = 0;
    for (const rec of batch) {
      if (rec.error === 'blank') continue;
      const id = ids.next(rec.offset, rec.bytes);
      if (rec.error || rec.text === null) {
        rejected += 1;
        continue;
      }
      const r = parser.parse(rec.text);
      if (!r.ok) {
        if (!r.skip) rejected += 1;
        continue;
      }
      const ev = r.event;
      const ts: Date = ev.timestamp ?? last ?? new Date(0);
      last = ts;
      events.push({
        tenantId,
        id,
        timestamp: ts,
        raw: rec.text,
        appname: ev.appname,
        file: basename(file),
        host: ev.host,
        hostname: ev.host,
        message: ev.message,
        procid: ev.procid,
        sourceType: ev.sourceType,
        normalized: ev.normalized,
        metadata: logsource ? { offset: rec.offset, logsource: { ...logsource } } : { offset: rec.offset },
        sourceId: null,
        original: ev.original ?? null,
      });
    }
    yield { events, rejected };
  }
}
