/**
 * The Sigma rule model (Sigma specification v2): rules, correlation rules and filters, as parsed from YAML.
 * Pure data. The detection of a rule is already an intermediate tree (ir.ts) with the rule's own field names.
 */
import type { Node } from './ir.ts';

export type SigmaLevel = 'informational' | 'low' | 'medium' | 'high' | 'critical';
export type SigmaStatus = 'stable' | 'test' | 'experimental' | 'deprecated' | 'unsupported';

export interface SigmaLogsource {
  readonly category?: string;
  readonly product?: string;
  readonly service?: string;
  readonly definition?: string;
}

/** Where something is in a rule file: for error messages ("file:line: reason"). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

/** The metadata every Sigma document kind shares. */
export interface SigmaMeta {
  readonly title: string;
  /** The rule's `id` (a UUID in SigmaHQ), or undefined when the file has none. */
  readonly id?: string;
  readonly name?: string;
  readonly status?: SigmaStatus;
  readonly description?: string;
  readonly references: readonly string[];
  readonly author?: string;
  readonly date?: string;
  readonly modified?: string;
  readonly tags: readonly string[];
  readonly level?: SigmaLevel;
  readonly falsepositives: readonly string[];
  readonly fields: readonly string[];
  /** `related: [{id, type}]` */
  readonly related: readonly { id: string; type: string }[];
  /** The file and line of the document's start. */
  readonly location: SourceLocation;
  /** The document's YAML text (one document of a multi-document file). */
  readonly yaml: string;
}

export interface SigmaRule extends SigmaMeta {
  readonly type: 'rule';
  readonly logsource: SigmaLogsource;
  /** The whole condition, already resolved over the named detections. Fields are the rule's field names. */
  readonly detection: Node<string>;
  /** Detection names (for correlation/filter debugging and `1 of selection_*`). */
  readonly detectionNames: readonly string[];
}

export type CorrelationType = 'event_count' | 'value_count' | 'temporal' | 'temporal_ordered';

export interface CorrelationCondition {
  readonly op: 'gt' | 'gte' | 'lt' | 'lte' | 'eq' | 'neq';
  readonly value: number;
  /** value_count only: the field whose distinct values are counted. */
  readonly field?: string;
}

export interface SigmaCorrelation extends SigmaMeta {
  readonly type: 'correlation';
  readonly correlation: {
    readonly type: CorrelationType;
    /** Referenced rules, by id or name, in the order given (temporal_ordered uses the order). */
    readonly rules: readonly string[];
    /** Field names to group by (after aliases). */
    readonly groupBy: readonly string[];
    /** The time span, in seconds. */
    readonly timespanSeconds: number;
    /** event_count / value_count: the condition on the count. temporal*: absent. */
    readonly condition?: CorrelationCondition;
    /** alias name -> (rule id or name -> field name in that rule's events). */
    readonly aliases: Readonly<Record<string, Readonly<Record<string, string>>>>;
    /** Whether the referenced rules also produce their own alerts (Sigma `generate`, default false). */
    readonly generate: boolean;
  };
}

export interface SigmaFilter extends SigmaMeta {
  readonly type: 'filter';
  readonly logsource: SigmaLogsource;
  /** Rules (ids or names) the filter applies to. */
  readonly rules: readonly string[];
  /** The filter's condition: events it matches are EXCLUDED from those rules (rule AND NOT filter). */
  readonly detection: Node<string>;
}

export type SigmaDocument = SigmaRule | SigmaCorrelation | SigmaFilter;

/** A parse failure: where, and why. `message` reads "file:line: reason". */
export class SigmaError extends Error {
  override readonly name = 'SigmaError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}
