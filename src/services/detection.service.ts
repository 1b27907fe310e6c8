/**
 * Scheduled detection: every enabled Sigma rule of every active tenant runs over the events stored since
 * its own watermark (log_consumer_watermarks, consumer `rule:<rule id>`; the log store's seq, so an event
 * that arrives late, with an old timestamp, is still evaluated).
 *
 * Per rule and run, in ONE tenant transaction: the alerts it raises (or the grouped alerts it adds to), the
 * watermark moved from the seq it started at (compare-and-set), a detection_runs row, and the rule's
 * metrics (last_executed, hits, duration). So a window is evaluated exactly once across restarts and
 * concurrent schedulers: a crash or a lost race rolls all of it back and the window runs again.
 *
 * A rule that fails leaves its watermark where it was and records a `failed` run (with the attempt number);
 * the next run retries the same window. After `maxAttempts` failures of one window the window is recorded as
 * a `gap` (visible in `vigil detect runs --status gap` and the API) and the watermark moves past it, so one
 * broken rule cannot hold detection back forever, and no skipped window is ever reported as clean.
 *
 * Rules that share a watermark are evaluated together (one read of the window by the store), which is the
 * steady state: all rules caught up at the same seq.
 *
 * Sigma filters (`filter` rules, imported with `vigil rules import`) are applied to the Sigma rules they name
 * (by id or name) exactly as prepareRules applies a filter file to its rules: rule AND the filter's
 * condition, mapped with the filter's own logsource. A rule is recompiled when a filter naming it changes.
 *
 * Correlation rules (`correlation`, Sigma correlation YAML) and threshold rules count matches over time, so
 * a window of seqs is not enough: a burst can straddle two windows. Both are evaluated incrementally
 * (src/sigma/correlation-stream.ts): the matches that may still take part in a result (those within the
 * timespan before the latest match time seen, and not yet part of a result) and the spans already decided
 * per group are CARRIED from window to window in the watermark row's `state`, written by the same
 * compare-and-set as the watermark. Each window reads only its new events (the base rules' matches among
 * them), adds them to the carried matches, and raises an alert only for results made of carried or new
 * matches that never contributed to a result before; a new match inside a result's span joins that
 * result's alert instead. So a burst split over two windows is counted whole, once, when it crosses the
 * threshold, and a later window with nothing new raises nothing. The carried matches are what "the window
 * extended backwards by the timespan" holds, without reading old events again. Limits: a match older than
 * (latest match time - timespan) when it is stored is correlated only with what is still carried; a
 * changed rule (or base rule or filter) starts with an empty state.
 *
 * A Sigma rule that only correlations with `generate: false` (the default) reference does not raise alerts
 * of its own (Sigma: only the correlation is generated); it still runs and records its hits.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Logger } from '../config/logger.ts';
import type { Database } from '../db/client.ts';
import { priorityScore } from '../domain/alert-priority.ts';
import type { AssetCriticality } from '../domain/enums.ts';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.ts';
import type { DetectionMatch, RuleMatches } from '../logstore/detect.ts';
import type { LogStore } from '../logstore/log-store.ts';
import type { AlertRepository } from '../repositories/alert.repository.ts';
import type {
  AlertSuppression,
  AlertSuppressionRepository,
  DetectionRun,
  DetectionRunRepository,
} from '../repositories/detection-run.repository.ts';
import type { IndicatorRepository } from '../repositories/indicator.repository.ts';
import type { LogWatermarkRepository } from '../repositories/log-watermark.repository.ts';
import type { Rule, RuleRepository } from '../repositories/rule.repository.ts';
import type { SourceRepository } from '../repositories/source.repository.ts';
import type { TenantRepository } from '../repositories/tenant.repository.ts';
import type { VulnerabilityRepository } from '../repositories/vulnerability.repository.ts';
import {
  correlationFields,
  evaluateCorrelation,
  type BaseMatch,
  type CorrelationHit,
} from '../sigma/correlation.ts';
import {
  emptyState,
  stepCorrelation,
  type ClosedSpan,
  type CorrelationState,
} from '../sigma/correlation-stream.ts';
import { parseWildcards } from '../sigma/modifiers.ts';
import {
  and,
  designates,
  or,
  type FieldRef,
  type Node,
  type SigmaCorrelation,
  type SigmaDocument,
  type SigmaLogsource,
} from '../sigma/index.ts';
import type { IndicatorHit } from './intel-feed.service.ts';
import type { SigmaService } from './sigma.service.ts';

/**
 * The batch indicator matcher (IntelFeedService.matchIndicators): for each value, the live indicators
 * (global and the tenant's own) it matches, exactly or inside a network. Its index is cached; writes
 * through IndicatorService and the feed imports drop it, so a run sees them at once.
 */
export interface IndicatorMatcher {
  matchIndicators(tenantId: string, values: readonly string[]): Promise<Map<string, readonly IndicatorHit[]>>;
}

export interface DetectionSettings {
  maxEventsPerRun: number;
  maxEventIdsPerAlert: number;
  suppressionWindowSeconds: number;
  maxAttempts: number;
}

export interface DetectionPassResult {
  tenants: number;
  rules: number;
  /** Rule windows evaluated successfully. */
  runs: number;
  hits: number;
  alertsCreated: number;
  alertsGrouped: number;
  suppressed: number;
  failed: number;
  gaps: number;
  /** Rules that cannot run (no SQL for this store), by rule id. */
  unsupported: Record<string, string>;
}

export interface BacktestResult {
  ruleId: string;
  scanned: number;
  hits: number;
  elapsedMs: number;
  /** The first matching events. */
  events: DetectionMatch[];
}

const watermarkOf = (ruleId: string) => `rule:${ruleId}`;
const ENTITY_FIELDS = ['host', 'srcIp', 'dstIp', 'user'] as const;
const PAGE = 500;

/** One rule's evaluation: the events with from < seq <= to of the tenant, started at `started`. */
interface RuleWindow {
  tenantId: string;
  rule: Rule;
  from: number;
  to: number;
  started: Date;
}

interface Compiled {
  version: number;
  /** The filters applied (`id:version`, ...): a changed filter recompiles the rule. */
  filters?: string;
  node?: Node<FieldRef>;
  /** sigma: the logsource the rule was mapped with (a correlation reads its fields through it). */
  logsource?: SigmaLogsource;
  /** ioc_match: the fields whose values are looked up among the active indicators. */
  iocFields?: { name: string; ref: FieldRef }[];
  /** query: read-only SQL over the tenant's events (`logs`), run over the rule's window. */
  query?: string;
  /** threshold: the counting of the filter's matches (an event_count correlation over one rule). */
  threshold?: { correlation: SigmaCorrelation; fields: { name: string; ref: FieldRef }[] };
  error?: string;
}

/**
 * Fields an ioc_match rule checks when it names none (`conditions.fields`): the normalised network fields,
 * and the Windows (Sysmon) fields that carry addresses, names and hashes.
 */
export const DEFAULT_IOC_FIELDS = [
  'normalized.src_ip',
  'normalized.dst_ip',
  'normalized.src_host',
  'normalized.dst_host',
  'normalized.event_data.DestinationIp',
  'normalized.event_data.SourceIp',
  'normalized.event_data.DestinationHostname',
  'normalized.event_data.QueryName',
  'normalized.event_data.Hashes',
];

/** The rule types the scheduler runs. */
const RUNNABLE_TYPES = new Set<string>(['sigma', 'ioc_match', 'query', 'threshold', 'correlation']);

/**
 * Matches one base rule of a correlation (or a threshold rule's filter) may have in one window: the store's
 * maximum; more is a failed run, retried, then a gap.
 */
const WINDOW_MAX_MATCHES = 100_000;

/** Matches a correlation or threshold rule may carry from one window to the next (its state's size). */
const MAX_CARRIED_MATCHES = 50_000;

/** What a correlation or threshold rule evaluates: the counting, and the rules whose matches it counts. */
interface CountingPlan {
  correlation: SigmaCorrelation;
  /** One per reference of correlation.rules (a threshold rule: its filter, as `t`). */
  inputs: { ref: string; node: Node<FieldRef>; fields: { name: string; ref: FieldRef }[] }[];
  /** The rule, its base rules and their filters, by version: a carried state is only valid for the same. */
  sig: string;
}

/** A base rule's match as a correlation carries it: the match, and the event it came from (for the alert). */
type Carried = BaseMatch & { event: DetectionMatch };

/** The state stored with the watermark (JSON). */
interface StoredState {
  v: 1;
  sig: string;
  horizon: number | null;
  groups: Record<string, number>;
  pending: { rule: string; event: Omit<DetectionMatch, 'timestamp'> & { timestamp: number } }[];
  closed: ClosedSpan[];
}

/** One result of a threshold or correlation rule: one alert. */
interface Burst {
  events: DetectionMatch[];
  group: Record<string, string | null>;
  hit: CorrelationHit;
}

/** What one successful window commits. */
interface CommitInput {
  durationMs: number;
  scanned: number;
  /** The run's hits: matching events; threshold and correlation rules: results. */
  hits: number;
  /** Sigma, ioc_match and query rules: the matches, one alert per entity set. */
  matches?: RuleMatches;
  /** Threshold and correlation rules: one alert per result. */
  bursts?: Burst[];
  /** Matches that join a result raised in an earlier window: its alert's dedup key and the events. */
  grow?: { key: string; events: DetectionMatch[] }[];
  /** false: record the hits but raise nothing (a Sigma rule used only by `generate: false` correlations). */
  alerts?: boolean;
  /** The state carried to the next window (stored with the watermark); undefined leaves it as it is. */
  state?: StoredState;
  alsoInTransaction?: () => Promise<void>;
}

/** A tenant's rules as one pass sees them. */
interface TenantRules {
  /** Enabled, active or testing, of a type the scheduler runs. */
  runnable: Rule[];
  /** Every Sigma rule, enabled or not: correlations may use any of them as a base rule. */
  sigma: Rule[];
  /** Every correlation rule (to name a chained reference). */
  correlations: Rule[];
  /** Enabled Sigma filters. */
  filters: Rule[];
}

/** Matched events an ioc_match rule reads per store call (it pages through a larger window). */
const IOC_PAGE = 20_000;

/** `normalized.event_data.QueryName` -> a JSON field reference; only stored-event JSON columns. */
export function iocFieldRef(path: string): FieldRef | undefined {
  const [column, ...segments] = path.split('.');
  if ((column !== 'normalized' && column !== 'original') || segments.length === 0) return undefined;
  if (segments.some((s) => !/^[A-Za-z0-9_-]{1,128}$/.test(s))) return undefined;
  return { kind: 'json', column, paths: [segments] };
}

/**
 * The values of one field that can be indicators: the text itself and, for Sysmon's `Hashes`
 * (`SHA1=...,MD5=...`), each hash.
 */
export function indicatorCandidates(value: string | null): string[] {
  if (!value) return [];
  const v = value.trim();
  if (!v) return [];
  if (/^[A-Z0-9]+=[0-9A-Fa-f]+(,[A-Z0-9]+=[0-9A-Fa-f]+)*$/.test(v)) {
    return v.split(',').map((p) => p.slice(p.indexOf('=') + 1).toLowerCase());
  }
  return [v];
}

export class DetectionService {
  readonly #compiled = new Map<string, Compiled>();
  readonly #docs = new Map<string, { version: number; doc: SigmaDocument | undefined }>();

  constructor(
    private readonly db: Database,
    private readonly store: () => Promise<LogStore>,
    private readonly repos: {
      rules: RuleRepository;
      alerts: AlertRepository;
      runs: DetectionRunRepository;
      suppressions: AlertSuppressionRepository;
      watermarks: LogWatermarkRepository;
      tenants: TenantRepository;
      indicators: IndicatorRepository;
      vulnerabilities: VulnerabilityRepository;
      sources: SourceRepository;
    },
    private readonly sigma: SigmaService,
    private readonly matcher: IndicatorMatcher,
    private readonly settings: DetectionSettings,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The rule's tree over stored events, compiled once per rule version (and, for a Sigma rule, per version
   * of the filters that name it, among `filters`).
   */
  compile(rule: Rule, filters: readonly Rule[] = []): Compiled {
    const applied = rule.ruleType === 'sigma' ? this.#filtersOf(rule, filters) : [];
    const sig = applied.map((f) => `${f.id}:${f.version}`).join(',');
    const hit = this.#compiled.get(rule.id);
    if (hit && hit.version === rule.version && (hit.filters ?? '') === sig) return hit;
    let c: Compiled;
    if (rule.ruleType === 'ioc_match') {
      c = compileIoc(rule);
    } else if (rule.ruleType === 'threshold') {
      c = compileThreshold(rule);
    } else if (rule.ruleType === 'query') {
      c = rule.query?.trim()
        ? { version: rule.version, query: rule.query }
        : { version: rule.version, error: 'a query rule needs its SQL (rules.query)' };
    } else if (rule.ruleType !== 'sigma' || !rule.sigmaYaml) {
      c = { version: rule.version, error: `rule type ${rule.ruleType} is not run by the Sigma engine` };
    } else {
      const set = this.sigma.prepare([
        { file: rule.ruleNumber, text: rule.sigmaYaml },
        ...applied.map((f) => ({ file: f.ruleNumber, text: f.sigmaYaml! })),
      ]);
      const p = set.rules[0];
      const reason =
        set.unsupported.find((u) => u.file === rule.ruleNumber)?.reason ?? set.unsupported[0]?.reason;
      c = p
        ? { version: rule.version, filters: sig, node: p.node, logsource: p.rule.logsource }
        : { version: rule.version, filters: sig, error: reason ?? 'the rule holds no detection' };
    }
    this.#compiled.set(rule.id, c);
    return c;
  }

  /** The stored document of a rule, filter or correlation (parsed once per version). */
  #doc(rule: Rule): SigmaDocument | undefined {
    const hit = this.#docs.get(rule.id);
    if (hit && hit.version === rule.version) return hit.doc;
    const doc = rule.sigmaYaml
      ? this.sigma.parse({ file: rule.ruleNumber, text: rule.sigmaYaml }).documents[0]
      : undefined;
    this.#docs.set(rule.id, { version: rule.version, doc });
    return doc;
  }

  /**
   * True when the Sigma reference (an id or a name) designates the stored rule. The row's Sigma id and the
   * name recorded at import rule most rules out without parsing the rule's YAML.
   */
  #names(ref: string, rule: Rule): boolean {
    const name = (rule.definition as { name?: unknown } | null)?.name;
    const maybe =
      rule.sigmaId?.toLowerCase() === ref.toLowerCase() ||
      name === ref ||
      (typeof name !== 'string' && rule.sigmaYaml?.includes(ref) === true);
    if (!maybe) return false;
    const d = this.#doc(rule);
    return d !== undefined && designates(ref, d);
  }

  /** The enabled filters that name the Sigma rule (by id or name), in a stable order. */
  #filtersOf(rule: Rule, filters: readonly Rule[]): Rule[] {
    return filters.filter((f) => {
      const fd = this.#doc(f);
      return fd?.type === 'filter' && fd.rules.some((ref) => this.#names(ref, rule));
    });
  }

  /**
   * A correlation rule's plan: its parsed correlation and, per reference, the Sigma rule it names (among all
   * of the tenant's Sigma rules, enabled or not), compiled with its filters, with the fields the correlation
   * reads from its events. An error when a reference names no runnable Sigma rule.
   */
  #correlationPlan(rule: Rule, t: TenantRules): { plan?: CountingPlan; bases?: Rule[]; error?: string } {
    const doc = this.#doc(rule);
    if (doc?.type !== 'correlation')
      return {
        error: rule.sigmaYaml
          ? "the rule's sigma_yaml is not a Sigma correlation"
          : 'a correlation rule needs its Sigma correlation YAML (vigil rules import)',
      };
    const inputs: CountingPlan['inputs'] = [];
    const bases: Rule[] = [];
    const sig: string[] = [`${rule.id}:${rule.version}`];
    for (const ref of doc.correlation.rules) {
      const base = t.sigma.find((r) => this.#names(ref, r) && this.#doc(r)?.type === 'rule');
      if (!base) {
        const chained = t.correlations.some((r) => r.id !== rule.id && this.#names(ref, r));
        return {
          error: chained
            ? `rule '${ref}' is a correlation: chained correlations are not supported`
            : `rule '${ref}' is not a Sigma rule of this tenant`,
        };
      }
      const c = this.compile(base, t.filters);
      if (!c.node || !c.logsource) return { error: `rule '${ref}' cannot run: ${c.error ?? 'not compiled'}` };
      const mapping = this.sigma.pipeline.resolve(c.logsource);
      if (!mapping) return { error: `rule '${ref}': its logsource is no longer mapped` };
      inputs.push({
        ref,
        node: c.node,
        fields: correlationFields(doc, ref).map((name) => ({ name, ref: mapping.field(name) })),
      });
      bases.push(base);
      sig.push(`${base.id}:${base.version}:${c.filters ?? ''}`);
    }
    return { plan: { correlation: doc, inputs, sig: sig.join('|') }, bases };
  }

  /** One pass over every active tenant (or one). */
  async runOnce(opts: { tenantId?: string; signal?: AbortSignal } = {}): Promise<DetectionPassResult> {
    const result: DetectionPassResult = {
      tenants: 0,
      rules: 0,
      runs: 0,
      hits: 0,
      alertsCreated: 0,
      alertsGrouped: 0,
      suppressed: 0,
      failed: 0,
      gaps: 0,
      unsupported: {},
    };
    const tenantIds = opts.tenantId ? [opts.tenantId] : await this.#activeTenants();
    for (const tenantId of tenantIds) {
      if (opts.signal?.aborted) break;
      result.tenants += 1;
      await this.#runTenant(tenantId, result, opts.signal);
    }
    return result;
  }

  async #activeTenants(): Promise<string[]> {
    const ids: string[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.repos.tenants.list({ limit: PAGE, offset, filters: { status: 'active' } });
      ids.push(...page.items.map((t) => t.id));
      if (page.items.length < PAGE) return ids;
    }
  }

  async #tenantRules(tenantId: string): Promise<TenantRules> {
    const all: Rule[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.repos.rules.list(tenantId, { limit: PAGE, offset });
      all.push(...page.items);
      if (page.items.length < PAGE) break;
    }
    const live = (r: Rule) => r.enabled && (r.status === 'active' || r.status === 'testing');
    return {
      runnable: all.filter((r) => live(r) && RUNNABLE_TYPES.has(r.ruleType)),
      sigma: all.filter((r) => r.ruleType === 'sigma'),
      correlations: all.filter((r) => r.ruleType === 'correlation'),
      filters: all.filter((r) => live(r) && r.ruleType === 'filter'),
    };
  }

  /** A rule's next window: after its watermark `from`, at most maxEventsPerRun events, up to maxSeq. */
  #window(tenantId: string, rule: Rule, from: number, maxSeq: number): RuleWindow {
    return {
      tenantId,
      rule,
      from,
      to: Math.min(maxSeq, from + this.settings.maxEventsPerRun),
      started: this.now(),
    };
  }

  async #runTenant(tenantId: string, result: DetectionPassResult, signal?: AbortSignal): Promise<void> {
    const t = await this.#tenantRules(tenantId);
    for (const f of t.filters)
      if (this.#doc(f)?.type !== 'filter')
        result.unsupported[f.id] = "the rule's sigma_yaml is not a Sigma filter";
    const rules = t.runnable;
    if (rules.length === 0) return;
    result.rules += rules.length;
    // Correlations first: which Sigma rules they use, and whether those still alert on their own.
    const plans = new Map<string, CountingPlan>();
    const used = new Set<string>();
    const generated = new Set<string>();
    for (const rule of rules) {
      if (rule.ruleType !== 'correlation') continue;
      const p = this.#correlationPlan(rule, t);
      if (!p.plan) {
        result.unsupported[rule.id] = p.error ?? 'not compiled';
        continue;
      }
      plans.set(rule.id, p.plan);
      for (const b of p.bases!) (p.plan.correlation.correlation.generate ? generated : used).add(b.id);
    }
    const silent = (rule: Rule) => used.has(rule.id) && !generated.has(rule.id);

    const store = await this.store();
    const maxSeq = await store.maxSeq(tenantId);
    const marks = new Map(
      (await this.repos.watermarks.list(tenantId)).items.map((w) => [w.consumer, Number(w.lastSeq)]),
    );
    // Rules at the same watermark share one evaluation of the window.
    const groups = new Map<number, { rule: Rule; node: Node<FieldRef>; alerts: boolean }[]>();
    for (const rule of rules) {
      if (signal?.aborted) return;
      const from = marks.get(watermarkOf(rule.id)) ?? 0;
      const plan = plans.get(rule.id);
      if (plan) {
        if (from < maxSeq) await this.#runCounting(store, tenantId, rule, plan, maxSeq, result);
        continue;
      }
      if (rule.ruleType === 'correlation') continue; // unsupported, noted above
      const c = this.compile(rule, t.filters);
      if (c.query !== undefined) {
        if (from < maxSeq)
          await this.#runQuery(store, this.#window(tenantId, rule, from, maxSeq), c.query, result);
        continue;
      }
      if (!c.node) {
        result.unsupported[rule.id] = c.error ?? 'not compiled';
        continue;
      }
      if (from >= maxSeq) continue;
      if (c.iocFields) {
        await this.#runIoc(store, this.#window(tenantId, rule, from, maxSeq), c.node, c.iocFields, result);
        continue;
      }
      if (c.threshold) {
        const plan: CountingPlan = {
          correlation: c.threshold.correlation,
          inputs: [{ ref: 't', node: c.node, fields: c.threshold.fields }],
          sig: `${rule.id}:${rule.version}`,
        };
        await this.#runCounting(store, tenantId, rule, plan, maxSeq, result);
        continue;
      }
      const g = groups.get(from) ?? [];
      g.push({ rule, node: c.node, alerts: !silent(rule) });
      groups.set(from, g);
    }
    for (const [from, group] of groups) {
      if (signal?.aborted) return;
      // One window for the whole group: the same range, read once.
      const shared = this.#window(tenantId, group[0]!.rule, from, maxSeq);
      const { to } = shared;
      const win = (rule: Rule): RuleWindow => ({ ...shared, rule });
      const t0 = performance.now();
      let detected;
      try {
        detected = await store.detect(
          tenantId,
          group.map((g) => ({ key: g.rule.id, node: g.node })),
          { afterSeq: from, uptoSeq: to, maxMatchesPerRule: this.settings.maxEventIdsPerAlert * 10 },
        );
      } catch (e) {
        // The store could not read the window at all: every rule of the group fails this attempt.
        for (const g of group) await this.#fail(win(g.rule), e, result);
        continue;
      }
      const share = (performance.now() - t0) / group.length;
      for (const g of group) {
        const error = detected.errors.get(g.rule.id);
        if (error !== undefined) {
          await this.#fail(win(g.rule), new Error(error), result);
          continue;
        }
        const matches = detected.matches.get(g.rule.id);
        await this.#commit(
          win(g.rule),
          {
            durationMs: share,
            scanned: detected.scanned,
            hits: matches?.count ?? 0,
            ...(matches ? { matches } : {}),
            alerts: g.alerts,
          },
          result,
        );
      }
    }
  }

  /**
   * An ioc_match rule over its window: the events that carry any of its fields, paged in seq order, their
   * values looked up among the tenant's live indicators (exact, and CIDR networks); the events with a hit
   * are the rule's matches, and each indicator that hit gets a sighting, in the same transaction.
   */
  async #runIoc(
    store: LogStore,
    w: RuleWindow,
    node: Node<FieldRef>,
    fields: { name: string; ref: FieldRef }[],
    result: DetectionPassResult,
  ): Promise<void> {
    const { tenantId, from, to } = w;
    const t0 = performance.now();
    const hits: DetectionMatch[] = [];
    const hitIndicators = new Map<string, { id: string; value: string }>();
    let scanned = 0;
    try {
      for (let after = from; after < to;) {
        const r = await store.detect(tenantId, [{ key: 'ioc', node, fields }], {
          afterSeq: after,
          uptoSeq: to,
          maxMatchesPerRule: IOC_PAGE,
        });
        if (after === from) scanned = r.scanned;
        const error = r.errors.get('ioc');
        if (error !== undefined) throw new Error(error);
        const m = r.matches.get('ioc');
        if (!m || m.events.length === 0) break;
        const found = await this.#lookup(tenantId, m.events);
        for (const e of m.events) {
          const matched = found.match(e);
          if (matched.length === 0) continue;
          hits.push(e);
          for (const i of matched) hitIndicators.set(i.id, i);
        }
        if (m.count <= m.events.length) break;
        after = m.events[m.events.length - 1]!.seq;
      }
    } catch (e) {
      await this.#fail(w, e, result);
      return;
    }
    const matches = hits.length
      ? { count: hits.length, events: hits.slice(0, this.settings.maxEventIdsPerAlert * 10) }
      : undefined;
    await this.#commit(
      w,
      {
        durationMs: performance.now() - t0,
        scanned,
        hits: hits.length,
        ...(matches ? { matches } : {}),
        alsoInTransaction: async () => {
          for (const i of hitIndicators.values()) await this.repos.indicators.recordSighting(tenantId, i.id);
        },
      },
      result,
    );
  }

  /**
   * A query rule (seed 000): its read-only SQL runs in the log console's sandbox over the events of its
   * window only; every row is a hit. Rows that carry the event columns (id, seq, timestamp, host, ...) give
   * the alert its events and entities.
   */
  async #runQuery(store: LogStore, w: RuleWindow, query: string, result: DetectionPassResult): Promise<void> {
    const { tenantId, rule, from, to, started } = w;
    let res;
    try {
      res = await store.console(tenantId, query, {
        maxRows: this.settings.maxEventIdsPerAlert * 10,
        timeoutMs: 60_000,
        seqRange: { afterSeq: from, uptoSeq: to },
      });
    } catch (e) {
      await this.#fail(w, e, result);
      return;
    }
    const names = res.columns.map((c) => c.name.toLowerCase());
    const col = (row: unknown[], ...keys: string[]) => {
      for (const k of keys) {
        const i = names.indexOf(k);
        if (i >= 0 && row[i] !== null && row[i] !== undefined) return String(row[i]);
      }
      return null;
    };
    const events: DetectionMatch[] = res.rows.map((row, i) => {
      const ts = col(row, 'timestamp', 'first_seen', 'last_seen');
      const seq = Number(col(row, 'seq'));
      return {
        id: col(row, 'id') ?? `${rule.id}:${from}:${i}`,
        seq: Number.isFinite(seq) ? seq : to,
        timestamp: ts && !Number.isNaN(Date.parse(ts)) ? new Date(ts) : started,
        host: col(row, 'host'),
        hostname: col(row, 'hostname'),
        srcIp: col(row, 'src_ip', 'source_ip'),
        dstIp: col(row, 'dst_ip', 'dest_ip'),
        user: col(row, 'user', 'user_name', 'usr'),
        sourceId: col(row, 'source_id'),
      };
    });
    const matches = events.length ? { count: events.length, events } : undefined;
    await this.#commit(
      w,
      { durationMs: res.elapsedMs, scanned: to - from, hits: events.length, ...(matches ? { matches } : {}) },
      result,
    );
  }

  /**
   * A correlation or threshold rule over its next window: the window's matches of its base rules (a threshold
   * rule: of its filter) with the fields the counting reads, added to the matches carried from earlier
   * windows (the watermark row's state), evaluated by stepCorrelation; each new result is one alert, and the
   * new state is stored by the watermark's compare-and-set, in the same transaction as the alerts.
   */
  async #runCounting(
    store: LogStore,
    tenantId: string,
    rule: Rule,
    plan: CountingPlan,
    maxSeq: number,
    result: DetectionPassResult,
  ): Promise<void> {
    // The state and the seq it describes, read together.
    const mark = await this.repos.watermarks.get(tenantId, watermarkOf(rule.id));
    const from = Number(mark?.lastSeq ?? 0);
    if (from >= maxSeq) return;
    const w = this.#window(tenantId, rule, from, maxSeq);
    const t0 = performance.now();
    let scanned;
    let step;
    try {
      const r = await store.detect(
        tenantId,
        plan.inputs.map((b, i) => ({ key: String(i), node: b.node, fields: b.fields })),
        { afterSeq: from, uptoSeq: w.to, maxMatchesPerRule: WINDOW_MAX_MATCHES },
      );
      scanned = r.scanned;
      const fresh: Carried[] = [];
      plan.inputs.forEach((b, i) => {
        const name = rule.ruleType === 'threshold' ? 'the filter' : `rule '${b.ref}'`;
        const error = r.errors.get(String(i));
        if (error !== undefined) throw new Error(`${name}: ${error}`);
        const m = r.matches.get(String(i));
        if (!m) return;
        if (m.count > m.events.length)
          throw new Error(`${name} matched more than ${m.events.length} events in one window`);
        for (const e of m.events)
          fresh.push({ rule: b.ref, id: e.id, timestamp: e.timestamp, fields: e.fields ?? {}, event: e });
      });
      step = stepCorrelation(plan.correlation, restoreState(mark?.state, plan.sig), fresh, {
        now: this.now().getTime(),
        maxPending: MAX_CARRIED_MATCHES,
      });
    } catch (e) {
      await this.#fail(w, e, result);
      return;
    }
    const bursts: Burst[] = step.hits.map((h) => {
      const events = uniqueEvents(h.matches);
      // The result's span remembers its alert, so matches that join it later grow that alert.
      h.span.tag = burstKey(rule, events[0]!, h.hit.group);
      return { events, group: h.hit.group, hit: h.hit };
    });
    const grow = step.absorbed
      .filter((a) => a.span.tag !== undefined)
      .map((a) => ({ key: a.span.tag!, events: uniqueEvents(a.matches) }));
    await this.#commit(
      w,
      {
        durationMs: performance.now() - t0,
        scanned,
        hits: bursts.length,
        bursts,
        grow,
        state: storeState(step.state, plan.sig),
      },
      result,
    );
  }

  /** The live indicators among the events' field values (the in-memory matcher), and a matcher per event. */
  async #lookup(tenantId: string, events: DetectionMatch[]) {
    const values = new Set<string>();
    for (const e of events)
      for (const v of Object.values(e.fields ?? {})) for (const c of indicatorCandidates(v)) values.add(c);
    const found = values.size ? await this.matcher.matchIndicators(tenantId, [...values]) : new Map();
    return {
      match(e: DetectionMatch): { id: string; value: string }[] {
        const out: { id: string; value: string }[] = [];
        if (found.size === 0) return out;
        for (const v of Object.values(e.fields ?? {}))
          for (const c of indicatorCandidates(v))
            for (const h of found.get(c) ?? []) out.push({ id: h.id, value: h.value });
        return out;
      },
    };
  }

  /** The rule's window and its alerts (and its carried state), in one transaction. */
  async #commit(w: RuleWindow, input: CommitInput, result: DetectionPassResult): Promise<void> {
    const { tenantId, rule, from, to, started } = w;
    const { durationMs, scanned, hits } = input;
    try {
      const counts = await this.db.tenant(tenantId, async () => {
        await input.alsoInTransaction?.();
        const c =
          input.alerts === false
            ? { created: 0, grouped: 0, suppressed: 0 }
            : await this.#raise(tenantId, rule, input);
        await this.repos.watermarks.advance(tenantId, watermarkOf(rule.id), {
          fromSeq: from,
          toSeq: to,
          delivered: to - from,
          ...(input.state !== undefined ? { state: input.state } : {}),
        });
        await this.repos.runs.create(tenantId, {
          ruleId: rule.id,
          mode: 'scheduled',
          status: 'success',
          fromSeq: from,
          toSeq: to,
          eventsScanned: scanned,
          hits,
          alertsCreated: c.created,
          alertsGrouped: c.grouped,
          suppressed: c.suppressed,
          durationMs,
          startedAt: started,
          finishedAt: this.now(),
        });
        await this.repos.rules.recordExecution(tenantId, rule.id, {
          executedAt: started,
          durationMs,
          hits,
          error: null,
        });
        return c;
      });
      result.runs += 1;
      result.hits += hits;
      result.alertsCreated += counts.created;
      result.alertsGrouped += counts.grouped;
      result.suppressed += counts.suppressed;
    } catch (e) {
      if (e instanceof ConflictError) {
        // Another scheduler evaluated this window first: nothing of ours was kept.
        this.logger.info({ tenantId, ruleId: rule.id, from }, 'detection window taken by another run');
        return;
      }
      await this.#fail(w, e, result);
    }
  }

  async #fail(w: RuleWindow, e: unknown, result: DetectionPassResult): Promise<void> {
    const { tenantId, rule, from, to, started } = w;
    const message = e instanceof Error ? e.message : String(e);
    const attempt = (await this.repos.runs.failuresSinceSuccess(tenantId, rule.id, from)) + 1;
    const giveUp = attempt >= this.settings.maxAttempts;
    this.logger.warn({ tenantId, ruleId: rule.id, from, to, attempt, err: message }, 'detection run failed');
    await this.db.tenant(tenantId, async () => {
      await this.repos.runs.create(tenantId, {
        ruleId: rule.id,
        mode: 'scheduled',
        status: 'failed',
        fromSeq: from,
        toSeq: to,
        attempt,
        error: message,
        startedAt: started,
        finishedAt: this.now(),
      });
      await this.repos.rules.recordExecution(tenantId, rule.id, {
        executedAt: started,
        durationMs: 0,
        hits: 0,
        error: message,
      });
      if (giveUp) {
        // Recorded as a gap, then skipped: visible, never silent, never reported as evaluated.
        await this.repos.runs.create(tenantId, {
          ruleId: rule.id,
          mode: 'scheduled',
          status: 'gap',
          fromSeq: from,
          toSeq: to,
          attempt,
          error: `not evaluated after ${attempt} attempts: ${message}`,
          startedAt: started,
          finishedAt: this.now(),
        });
        await this.repos.watermarks.advance(tenantId, watermarkOf(rule.id), {
          fromSeq: from,
          toSeq: to,
          delivered: 0,
        });
      } else {
        await this.repos.watermarks.recordFailure(tenantId, watermarkOf(rule.id), message);
      }
    });
    result.failed += 1;
    if (giveUp) result.gaps += 1;
  }

  /**
   * Matches -> alerts: one per entity set (threshold and correlation rules: one per result), grouped with an
   * open alert of the same key, unless suppressed. Matches that join a result raised earlier (`grow`) are
   * added to its alert while it is open.
   */
  async #raise(
    tenantId: string,
    rule: Rule,
    input: Pick<CommitInput, 'matches' | 'bursts' | 'grow'>,
  ): Promise<{ created: number; grouped: number; suppressed: number }> {
    const now = this.now();
    const out = { created: 0, grouped: 0, suppressed: 0 };
    const since = new Date(now.getTime() - this.settings.suppressionWindowSeconds * 1000);
    for (const g of input.grow ?? []) {
      const existing = await this.repos.alerts.findGroup(tenantId, g.key, since);
      if (!existing) continue;
      await this.repos.alerts.addToGroup(tenantId, existing.id, {
        count: g.events.length,
        lastSeen: g.events.reduce((a, e) => (e.timestamp > a ? e.timestamp : a), g.events[0]!.timestamp),
        eventIds: g.events.map((e) => e.id).slice(0, this.settings.maxEventIdsPerAlert),
        maxEventIds: this.settings.maxEventIdsPerAlert,
      });
      out.grouped += 1;
    }
    const groups: { events: DetectionMatch[]; count: number; key: string; burst?: Burst }[] = [];
    if (input.bursts) {
      for (const b of input.bursts)
        groups.push({
          events: b.events,
          count: b.events.length,
          key: burstKey(rule, b.events[0]!, b.group),
          burst: b,
        });
    } else if (input.matches) {
      const { matches } = input;
      const byEntity = new Map<string, DetectionMatch[]>();
      for (const m of matches.events) {
        const key = ENTITY_FIELDS.map((f) => m[f] ?? '').join('\u0001');
        const list = byEntity.get(key) ?? [];
        list.push(m);
        byEntity.set(key, list);
      }
      // Matches past the listed ones are counted on the last group (they are in the same window).
      const unlisted = matches.count - matches.events.length;
      const lists = [...byEntity.values()];
      lists.forEach((events, i) =>
        groups.push({
          events,
          count: events.length + (i === lists.length - 1 ? unlisted : 0),
          key: matchKey(rule, events[0]!),
        }),
      );
    }
    if (groups.length === 0) return out;
    const suppressions = await this.repos.suppressions.active(tenantId, rule.id, now);
    const kev = await this.#kevHit(rule);
    for (const { events, count, key: dedupKey, burst } of groups) {
      const first = events[0]!;
      const entities = entitiesOf(first);
      const s = suppressions.find((x) => suppresses(x, entities));
      if (s) {
        await this.repos.suppressions.addHits(tenantId, s.id, count);
        out.suppressed += count;
        continue;
      }
      const eventIds = events.map((e) => e.id).slice(0, this.settings.maxEventIdsPerAlert);
      const lastSeen = events.reduce((a, e) => (e.timestamp > a ? e.timestamp : a), first.timestamp);
      const existing = await this.repos.alerts.findGroup(tenantId, dedupKey, since);
      if (existing) {
        await this.repos.alerts.addToGroup(tenantId, existing.id, {
          count,
          lastSeen,
          eventIds,
          maxEventIds: this.settings.maxEventIdsPerAlert,
        });
        out.grouped += 1;
        continue;
      }
      const values = [entities.sourceIp, entities.destIp, entities.userName, entities.host].filter(
        (v): v is string => !!v,
      );
      const indicatorHit =
        rule.ruleType === 'ioc_match' ||
        (values.length > 0 && (await this.matcher.matchIndicators(tenantId, values)).size > 0);
      const asset = first.sourceId ? await this.#criticality(tenantId, first.sourceId) : null;
      const seqs = events.map((e) => e.seq);
      await this.repos.alerts.create(tenantId, {
        ruleId: rule.id,
        logId: first.id,
        eventIds,
        title: rule.name.slice(0, 500),
        alertType: rule.ruleType,
        detectionMethod: rule.ruleType === 'sigma' ? 'sigma' : rule.ruleType,
        severity: rule.severity,
        description: rule.description ?? null,
        metadata: {
          rule_number: rule.ruleNumber,
          sigma_id: rule.sigmaId,
          seq_range: [Math.min(...seqs), Math.max(...seqs)],
          indicator_hit: indicatorHit,
          kev_hit: kev,
          asset_criticality: asset,
          ...(burst
            ? {
                correlation: {
                  group: burst.group,
                  first: burst.hit.first.toISOString(),
                  last: burst.hit.last.toISOString(),
                  events: burst.hit.count,
                  ...(burst.hit.distinct !== undefined ? { distinct: burst.hit.distinct } : {}),
                },
              }
            : {}),
        },
        priorityScore: priorityScore({
          severity: rule.severity,
          falsePositiveRate: rule.falsePositiveRate,
          indicatorHit,
          kevHit: kev,
          assetCriticality: asset,
        }),
        ...entities,
        techniques: rule.techniques,
        dedupKey,
        count,
        firstSeen: events.reduce((a, e) => (e.timestamp < a ? e.timestamp : a), first.timestamp),
        lastSeen,
      });
      out.created += 1;
    }
    return out;
  }

  async #kevHit(rule: Rule): Promise<boolean> {
    for (const t of rule.tags) {
      const m = /^cve\.(\d{4}-\d{4,})$/i.exec(t);
      if (!m) continue;
      const v = await this.repos.vulnerabilities.getByCveId(`CVE-${m[1]}`);
      if (v?.exploitedInTheWild) return true;
    }
    return false;
  }

  async #criticality(tenantId: string, sourceId: string): Promise<AssetCriticality | null> {
    return (await this.repos.sources.get(tenantId, sourceId))?.criticality ?? null;
  }

  /**
   * Run one rule over stored history without creating alerts (or anything else but a `backtest` run row):
   * its hits and its cost. A Sigma rule runs with the filters that name it. For threshold and correlation
   * rules a hit is one result (a burst), over the whole history at once, and the events are the results'.
   */
  async backtest(tenantId: string, ruleId: string): Promise<BacktestResult> {
    const rule = await this.repos.rules.get(tenantId, ruleId);
    if (!rule) throw new NotFoundError('rule', ruleId);
    const t = await this.#tenantRules(tenantId);
    let plan: CountingPlan | undefined;
    let node: Node<FieldRef> | undefined;
    if (rule.ruleType === 'correlation') {
      const p = this.#correlationPlan(rule, t);
      if (!p.plan) throw new ValidationError(`rule ${rule.ruleNumber} cannot run: ${p.error}`);
      plan = p.plan;
    } else {
      const c = this.compile(rule, t.filters);
      if (!c.node) throw new ValidationError(`rule ${rule.ruleNumber} cannot run: ${c.error}`);
      node = c.node;
      if (c.threshold)
        plan = {
          correlation: c.threshold.correlation,
          inputs: [{ ref: 't', node: c.node, fields: c.threshold.fields }],
          sig: '',
        };
    }
    const store = await this.store();
    const upto = await store.maxSeq(tenantId);
    const started = this.now();
    const inputs = plan
      ? plan.inputs.map((b, i) => ({ key: String(i), node: b.node, fields: b.fields }))
      : [{ key: rule.id, node: node! }];
    const r = await store.detect(tenantId, inputs, {
      afterSeq: 0,
      uptoSeq: upto,
      maxMatchesPerRule: plan ? WINDOW_MAX_MATCHES : this.settings.maxEventIdsPerAlert,
    });
    let error = inputs.map((i) => r.errors.get(i.key)).find((e) => e !== undefined);
    let hits = 0;
    let events: DetectionMatch[] = [];
    if (!plan) {
      const m = r.matches.get(rule.id);
      hits = m?.count ?? 0;
      events = m?.events ?? [];
    } else if (error === undefined) {
      const base: Carried[] = [];
      plan.inputs.forEach((b, i) => {
        const m = r.matches.get(String(i));
        if (m && m.count > m.events.length)
          error ??= `'${b.ref}' matched ${m.count} events, more than the ${m.events.length} a backtest reads`;
        for (const e of m?.events ?? [])
          base.push({ rule: b.ref, id: e.id, timestamp: e.timestamp, fields: e.fields ?? {}, event: e });
      });
      const byId = new Map(base.map((m) => [m.id, m.event]));
      const results = evaluateCorrelation(plan.correlation, base);
      hits = results.length;
      events = results
        .flatMap((h) => h.eventIds.map((id) => byId.get(id)!))
        .slice(0, this.settings.maxEventIdsPerAlert);
    }
    await this.repos.runs.create(tenantId, {
      ruleId: rule.id,
      mode: 'backtest',
      status: error ? 'failed' : 'success',
      fromSeq: 0,
      toSeq: upto,
      eventsScanned: r.scanned,
      hits: error ? 0 : hits,
      durationMs: r.elapsedMs,
      error: error ?? null,
      startedAt: started,
      finishedAt: this.now(),
    });
    if (error) throw new ValidationError(`rule ${rule.ruleNumber} failed: ${error}`);
    return { ruleId: rule.id, scanned: r.scanned, hits, elapsedMs: r.elapsedMs, events };
  }

  runs(
    tenantId: string,
    opts: { ruleId?: string; status?: string; limit?: number } = {},
  ): Promise<DetectionRun[]> {
    return this.repos.runs.list(tenantId, opts);
  }
}

/** Only a real IP address goes in an alert's IP column (the normalised field may hold a name). */
function validIp(v: string | null): string | null {
  return v && isIP(v) !== 0 ? v : null;
}

/** The alert columns an event's entities fill. */
function entitiesOf(e: DetectionMatch) {
  return {
    host: e.host ?? e.hostname,
    sourceIp: validIp(e.srcIp),
    destIp: validIp(e.dstIp),
    userName: e.user ? e.user.slice(0, 255) : null,
  };
}

/** The dedup key of a rule's matches on one entity set. */
function matchKey(rule: Rule, first: DetectionMatch): string {
  const e = entitiesOf(first);
  return createHash('sha256')
    .update([rule.id, e.host, e.sourceIp, e.destIp, e.userName].join('\u0001'))
    .digest('hex');
}

/** The dedup key of a threshold or correlation result: its first event's entities and its group. */
function burstKey(rule: Rule, first: DetectionMatch, group: Record<string, string | null>): string {
  const e = entitiesOf(first);
  return createHash('sha256')
    .update([rule.id, e.host, e.sourceIp, e.destIp, e.userName, JSON.stringify(group)].join('\u0001'))
    .digest('hex');
}

/** The events of a result's matches, each once (an event may match several base rules), in time order. */
function uniqueEvents(matches: readonly Carried[]): DetectionMatch[] {
  const seen = new Map<string, DetectionMatch>();
  for (const m of matches) if (!seen.has(m.id)) seen.set(m.id, m.event);
  return [...seen.values()].sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || a.seq - b.seq);
}

/** The carried state as stored with the watermark; an absent, unknown or stale (other `sig`) one is empty. */
function restoreState(stored: unknown, sig: string): CorrelationState<Carried> {
  const s = stored as StoredState | null | undefined;
  if (!s || s.v !== 1 || s.sig !== sig || !Array.isArray(s.pending) || !Array.isArray(s.closed))
    return emptyState();
  return {
    horizon: s.horizon,
    groups: s.groups ?? {},
    pending: s.pending.map(({ rule, event }) => {
      const timestamp = new Date(event.timestamp);
      return { rule, id: event.id, timestamp, fields: event.fields ?? {}, event: { ...event, timestamp } };
    }),
    closed: s.closed,
  };
}

function storeState(state: CorrelationState<Carried>, sig: string): StoredState {
  return {
    v: 1,
    sig,
    horizon: state.horizon,
    groups: state.groups,
    pending: state.pending.map((m) => ({
      rule: m.rule,
      event: { ...m.event, timestamp: m.event.timestamp.getTime() },
    })),
    closed: state.closed,
  };
}

const SUPPRESSION_FIELD: Record<string, 'host' | 'sourceIp' | 'destIp' | 'userName'> = {
  host: 'host',
  source_ip: 'sourceIp',
  dest_ip: 'destIp',
  user_name: 'userName',
};

function suppresses(
  s: AlertSuppression,
  e: { host: string | null; sourceIp: string | null; destIp: string | null; userName: string | null },
): boolean {
  return Object.entries(s.match).every(([k, v]) => {
    const f = SUPPRESSION_FIELD[k];
    return f !== undefined && e[f]?.toLowerCase() === v.toLowerCase();
  });
}

/** An ioc_match rule: `conditions.fields` (paths into the stored event) or the default fields. */
function compileIoc(rule: Rule): Compiled {
  const given = (rule.conditions as { fields?: unknown } | null)?.fields;
  const paths = given === undefined ? DEFAULT_IOC_FIELDS : given;
  if (!Array.isArray(paths) || paths.length === 0 || paths.some((p) => typeof p !== 'string'))
    return {
      version: rule.version,
      error: 'conditions.fields must be a non-empty list of paths such as normalized.src_ip',
    };
  const fields: { name: string; ref: FieldRef }[] = [];
  for (const p of paths as string[]) {
    const ref = iocFieldRef(p);
    if (!ref)
      return {
        version: rule.version,
        error: `conditions.fields: ${p} is not a normalized.* or original.* path`,
      };
    fields.push({ name: p, ref });
  }
  const node = or(...fields.map((f): Node<FieldRef> => ({ kind: 'exists', field: f.ref, exists: true })));
  return { version: rule.version, node, iocFields: fields };
}

/**
 * A threshold rule (seed 000): `conditions` filters the events (a map of stored-event path -> value or list of
 * values, Sigma wildcards allowed, all keys must match), `threshold` counts them:
 * `{ "count": 5, "windowSeconds": 300, "groupBy": ["normalized.src_ip"] }`.
 */
function compileThreshold(rule: Rule): Compiled {
  const fail = (error: string): Compiled => ({ version: rule.version, error });
  const t = (rule.threshold ?? {}) as { count?: unknown; windowSeconds?: unknown; groupBy?: unknown };
  if (!Number.isInteger(t.count) || (t.count as number) < 1)
    return fail('threshold.count must be an integer >= 1');
  if (!Number.isInteger(t.windowSeconds) || (t.windowSeconds as number) < 1)
    return fail('threshold.windowSeconds must be an integer >= 1');
  const groupBy = t.groupBy ?? [];
  if (!Array.isArray(groupBy) || groupBy.some((g) => typeof g !== 'string'))
    return fail('threshold.groupBy must be a list of paths');
  const fields: { name: string; ref: FieldRef }[] = [];
  for (const g of groupBy as string[]) {
    const ref = iocFieldRef(g);
    if (!ref) return fail(`threshold.groupBy: ${g} is not a normalized.* or original.* path`);
    fields.push({ name: g, ref });
  }
  const conditions = rule.conditions ?? {};
  const parts: Node<FieldRef>[] = [];
  for (const [path, value] of Object.entries(conditions)) {
    const ref = iocFieldRef(path);
    if (!ref) return fail(`conditions: ${path} is not a normalized.* or original.* path`);
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0 || values.some((v) => typeof v !== 'string' && typeof v !== 'number'))
      return fail(`conditions.${path}: a value or a list of values`);
    parts.push(
      or(
        ...values.map((v): Node<FieldRef> => ({
          kind: 'string',
          field: ref,
          pattern: parseWildcards(String(v)),
          cased: false,
        })),
      ),
    );
  }
  const correlation = {
    type: 'correlation',
    title: rule.name,
    references: [],
    tags: [],
    falsepositives: [],
    fields: [],
    related: [],
    location: { file: rule.ruleNumber, line: 1 },
    yaml: '',
    correlation: {
      type: 'event_count',
      rules: ['t'],
      groupBy: fields.map((f) => f.name),
      timespanSeconds: t.windowSeconds as number,
      condition: { op: 'gte', value: t.count as number },
      aliases: {},
      generate: false,
    },
  } satisfies SigmaCorrelation;
  return { version: rule.version, node: and(...parts), threshold: { correlation, fields } };
}
