/**
 * Detection over stored events: the part of the LogStore contract the detection engine uses. A rule reaches
 * the store as a mapped intermediate tree (src/sigma/ir.ts, fields already resolved by a pipeline); the store
 * compiles it with the Sigma backend of its own dialect (values only as parameters) and runs it over one
 * tenant's events in a seq range, so scheduled detection (a watermark per rule) and backtests (the whole
 * history) are the same call.
 */
import type { FieldRef, Node } from '../sigma/ir.ts';
import { ValidationError } from '../domain/errors.ts';

export interface DetectionRuleInput {
  /** Caller's key for the rule (its id): results come back under it. */
  readonly key: string;
  readonly node: Node<FieldRef>;
  /**
   * Values to read from each matched event, by the caller's name (correlation group-by and value_count
   * fields): they come back in DetectionMatch.fields as text (null when absent).
   */
  readonly fields?: readonly { readonly name: string; readonly ref: FieldRef }[];
}

/** What an alert needs of a matched event: its identity, time and entities. */
export interface DetectionMatch {
  id: string;
  seq: number;
  timestamp: Date;
  host: string | null;
  hostname: string | null;
  /** normalized.src_ip / dst_ip / user (the normalised vocabulary, src/ingest/normalize.ts). */
  srcIp: string | null;
  dstIp: string | null;
  user: string | null;
  /** The source the event came through (its asset criticality feeds the alert's priority). */
  sourceId: string | null;
  /** The rule's requested fields (DetectionRuleInput.fields), by name; absent when none were asked. */
  fields?: Record<string, string | null>;
}

export interface DetectOptions {
  /** Events with seq > afterSeq ... */
  afterSeq: number;
  /** ... and seq <= uptoSeq. */
  uptoSeq: number;
  /** At most this many matched events are returned per rule (all are counted). Default 1,000. */
  maxMatchesPerRule?: number;
}

export interface RuleMatches {
  /** Every matching event in the range. */
  count: number;
  /** The first matches in seq order (at most maxMatchesPerRule). */
  events: DetectionMatch[];
}

export interface DetectResult {
  /** Events in the range (scanned). */
  scanned: number;
  /** Rules that matched at least one event, by key. */
  matches: Map<string, RuleMatches>;
  /** Rules that could not run (e.g. a construct the dialect cannot express), by key, with the reason. */
  errors: Map<string, string>;
  /** Wall time of the whole call, ms. */
  elapsedMs: number;
}

export const DEFAULT_MAX_MATCHES = 1000;
const MAX_MATCHES = 100_000;

export function checkDetectOptions(o: DetectOptions): Required<DetectOptions> {
  const int = (v: number, name: string, min: number, max: number) => {
    if (!Number.isSafeInteger(v) || v < min || v > max)
      throw new ValidationError(`${name} must be an integer between ${min} and ${max}`, [
        { path: name, message: `an integer between ${min} and ${max}` },
      ]);
    return v;
  };
  int(o.afterSeq, 'afterSeq', 0, Number.MAX_SAFE_INTEGER);
  int(o.uptoSeq, 'uptoSeq', 0, Number.MAX_SAFE_INTEGER);
  return {
    afterSeq: o.afterSeq,
    uptoSeq: o.uptoSeq,
    maxMatchesPerRule: int(o.maxMatchesPerRule ?? DEFAULT_MAX_MATCHES, 'maxMatchesPerRule', 1, MAX_MATCHES),
  };
}

/** A stable text key of a field reference (for de-duplicating the fields of many rules). */
export function fieldKey(ref: FieldRef): string {
  let key = fieldKeys.get(ref);
  if (key === undefined) fieldKeys.set(ref, (key = JSON.stringify(ref)));
  return key;
}

/** Keys of the references seen (a plan asks for the same references' keys many times). */
const fieldKeys = new WeakMap<FieldRef, string>();

/** Every field reference a tree reads, de-duplicated, in first-seen order. */
export function collectFields(nodes: Iterable<Node<FieldRef>>): FieldRef[] {
  const seen = new Map<string, FieldRef>();
  const visit = (n: Node<FieldRef>): void => {
    switch (n.kind) {
      case 'and':
      case 'or':
        n.items.forEach(visit);
        return;
      case 'not':
        visit(n.item);
        return;
      case 'const':
      case 'keyword':
        return;
      case 'fieldref':
        add(n.field);
        add(n.other);
        return;
      default:
        add(n.field);
    }
  };
  const add = (f: FieldRef) => {
    const k = fieldKey(f);
    if (!seen.has(k)) seen.set(k, f);
  };
  for (const n of nodes) visit(n);
  return [...seen.values()];
}

/** Every field reference the rules read or ask back, de-duplicated. */
export function collectRuleFields(rules: readonly DetectionRuleInput[]): FieldRef[] {
  const refs = collectFields(rules.map((r) => r.node));
  const seen = new Set(refs.map(fieldKey));
  for (const r of rules)
    for (const f of r.fields ?? []) {
      const k = fieldKey(f.ref);
      if (!seen.has(k)) {
        seen.add(k);
        refs.push(f.ref);
      }
    }
  return refs;
}

export function errorReason(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
