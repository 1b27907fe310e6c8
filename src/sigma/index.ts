/**
 * Sigma in Vigil, end to end and pure (no I/O): rule files' text -> documents (parser.ts) -> filters applied
 * to the rules they name -> fields mapped and the logsource's condition added (pipeline.ts) -> SQL per
 * dialect (backends/). Services read the files and run the SQL; this module only transforms.
 */
import { compilePredicate, type Dialect, type SqlFragment } from './backends/index.ts';
import { and, not, type FieldRef, type Node } from './ir.ts';
import type { SigmaCorrelation, SigmaDocument, SigmaError, SigmaFilter, SigmaRule } from './model.ts';
import { parseSigma } from './parser.ts';
import { applyPipeline, type Pipeline } from './pipeline.ts';

export type { Dialect, SqlFragment } from './backends/index.ts';
export { UnsupportedError } from './backends/index.ts';
export type { FieldRef, Node } from './ir.ts';
export { and, not, or } from './ir.ts';
export * from './model.ts';
export { parseSigma } from './parser.ts';
export { combinePipelines, defaultPipeline, loadPipeline, type Pipeline } from './pipeline.ts';

export const DIALECTS: readonly Dialect[] = ['duckdb', 'postgres'];

/** One rule file's text. */
export interface RuleSource {
  readonly file: string;
  readonly text: string;
}

/** A rule ready to run: its model and its tree over stored events (filters and logsource included). */
export interface PreparedRule {
  readonly rule: SigmaRule;
  readonly node: Node<FieldRef>;
  /** Ids or titles of the filters applied to it. */
  readonly filters: readonly string[];
}

/** A document that cannot run, and why. */
export interface Unsupported {
  readonly file: string;
  readonly line: number;
  readonly id: string | undefined;
  readonly title: string | undefined;
  readonly reason: string;
}

export interface RuleSet {
  readonly rules: PreparedRule[];
  readonly correlations: SigmaCorrelation[];
  readonly filters: SigmaFilter[];
  /** Parse errors and rules the pipeline cannot map. */
  readonly unsupported: Unsupported[];
  /** Documents read (rules, correlations and filters, parsed or not). */
  readonly documents: number;
}

export interface PrepareOptions {
  readonly pipeline: Pipeline;
  /** Values of `expand` placeholders (%name%). */
  readonly placeholders?: Record<string, readonly string[]>;
}

const fromError = (e: SigmaError): Unsupported => ({
  file: e.file,
  line: e.line,
  id: undefined,
  title: undefined,
  reason: e.reason,
});

const fromDoc = (d: SigmaDocument, reason: string): Unsupported => ({
  file: d.location.file,
  line: d.location.line,
  id: d.id,
  title: d.title,
  reason,
});

/** True when `ref` (an id or a name, as correlations and filters name rules) designates the document. */
export function designates(ref: string, d: SigmaDocument): boolean {
  return (d.id !== undefined && d.id.toLowerCase() === ref.toLowerCase()) || d.name === ref;
}

/** Parse, apply filters and pipelines: every document ends up prepared or in `unsupported` with its reason. */
export function prepareRules(sources: Iterable<RuleSource>, opts: PrepareOptions): RuleSet {
  const docs: SigmaDocument[] = [];
  const unsupported: Unsupported[] = [];
  let documents = 0;
  for (const s of sources) {
    const r = parseSigma(s.text, {
      file: s.file,
      ...(opts.placeholders ? { placeholders: opts.placeholders } : {}),
    });
    documents += r.documents.length + r.errors.length;
    docs.push(...r.documents);
    unsupported.push(...r.errors.map(fromError));
  }
  const filters = docs.filter((d): d is SigmaFilter => d.type === 'filter');
  const correlations = docs.filter((d): d is SigmaCorrelation => d.type === 'correlation');
  const rules: PreparedRule[] = [];
  for (const rule of docs) {
    if (rule.type !== 'rule') continue;
    const mapped = applyPipeline(rule, opts.pipeline);
    if (!mapped.ok) {
      unsupported.push(fromDoc(rule, mapped.reason));
      continue;
    }
    let node = mapped.node;
    const applied: string[] = [];
    let failed: string | undefined;
    for (const f of filters) {
      if (!f.rules.some((ref) => designates(ref, rule))) continue;
      const fm = applyPipeline({ logsource: f.logsource, detection: f.detection }, opts.pipeline);
      if (!fm.ok) {
        failed = `filter ${f.id ?? f.title}: ${fm.reason}`;
        break;
      }
      node = and(node, not(fm.node));
      applied.push(f.id ?? f.title);
    }
    if (failed) unsupported.push(fromDoc(rule, failed));
    else rules.push({ rule, node, filters: applied });
  }
  return { rules, correlations, filters, unsupported, documents };
}

/** The full query a rule runs as, for display (`vigil sigma compile`): the tenant is parameter $1. */
export function ruleQuery(rule: PreparedRule, dialect: Dialect): SqlFragment {
  const pred = compilePredicate(rule.node, dialect, { paramOffset: 1 });
  return {
    sql: `SELECT * FROM log_events WHERE tenant_id = $1 AND (${pred.sql})`,
    params: ['<tenant id>', ...pred.params],
  };
}
