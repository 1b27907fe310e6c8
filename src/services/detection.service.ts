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
 */
import { createHash } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
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
import { LOOKUP_MAX_VALUES } from '../domain/schemas/indicator.schema.ts';
import { evaluateCorrelation } from '../sigma/correlation.ts';
import { parseWildcards } from '../sigma/modifiers.ts';
import { and, or, type FieldRef, type Node, type SigmaCorrelation } from '../sigma/index.ts';
import type { SigmaService } from './sigma.service.ts';

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
  node?: Node<FieldRef>;
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
const RUNNABLE_TYPES = new Set<string>(['sigma', 'ioc_match', 'query', 'threshold']);

/** Events a threshold rule's filter may pass in one window (more is a failed run, retried, then a gap). */
const THRESHOLD_MAX_EVENTS = 100_000;

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
    private readonly settings: DetectionSettings,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The rule's tree over stored events, compiled once per rule version. */
  compile(rule: Rule): Compiled {
    const hit = this.#compiled.get(rule.id);
    if (hit && hit.version === rule.version) return hit;
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
      const set = this.sigma.prepare([{ file: rule.ruleNumber, text: rule.sigmaYaml }]);
      const p = set.rules[0];
      c = p
        ? { version: rule.version, node: p.node }
        : { version: rule.version, error: set.unsupported[0]?.reason ?? 'the rule holds no detection' };
    }
    this.#compiled.set(rule.id, c);
    return c;
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

  async #enabledRules(tenantId: string): Promise<Rule[]> {
    const out: Rule[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.repos.rules.list(tenantId, {
        limit: PAGE,
        offset,
        filters: { enabled: true },
      });
      out.push(
        ...page.items.filter(
          (r) => RUNNABLE_TYPES.has(r.ruleType) && (r.status === 'active' || r.status === 'testing'),
        ),
      );
      if (page.items.length < PAGE) return out;
    }
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
    const rules = await this.#enabledRules(tenantId);
    if (rules.length === 0) return;
    result.rules += rules.length;
    const store = await this.store();
    const maxSeq = await store.maxSeq(tenantId);
    const marks = new Map(
      (await this.repos.watermarks.list(tenantId)).items.map((w) => [w.consumer, Number(w.lastSeq)]),
    );
    // Rules at the same watermark share one evaluation of the window.
    const groups = new Map<number, { rule: Rule; node: Node<FieldRef> }[]>();
    for (const rule of rules) {
      const c = this.compile(rule);
      if (c.query !== undefined) {
        const from = marks.get(watermarkOf(rule.id)) ?? 0;
        if (from < maxSeq)
          await this.#runQuery(store, this.#window(tenantId, rule, from, maxSeq), c.query, result);
        continue;
      }
      if (!c.node) {
        result.unsupported[rule.id] = c.error ?? 'not compiled';
        continue;
      }
      const from = marks.get(watermarkOf(rule.id)) ?? 0;
      if (from >= maxSeq) continue;
      if (c.iocFields) {
        await this.#runIoc(store, this.#window(tenantId, rule, from, maxSeq), c.node, c.iocFields, result);
        continue;
      }
      if (c.threshold) {
        await this.#runThreshold(
          store,
          this.#window(tenantId, rule, from, maxSeq),
          c.node,
          c.threshold,
          result,
        );
        continue;
      }
      const g = groups.get(from) ?? [];
      g.push({ rule, node: c.node });
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
        await this.#commit(win(g.rule), share, detected.scanned, detected.matches.get(g.rule.id), result);
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
    await this.#commit(w, performance.now() - t0, scanned, matches, result, async () => {
      for (const i of hitIndicators.values()) await this.repos.indicators.recordSighting(tenantId, i.id);
    });
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
    await this.#commit(w, res.elapsedMs, to - from, matches, result);
  }

  /**
   * A threshold rule: the events of the window that pass its filter, counted per group (`groupBy`) within
   * `windowSeconds`; every burst of at least `count` is one alert carrying the burst's events.
   */
  async #runThreshold(
    store: LogStore,
    w: RuleWindow,
    node: Node<FieldRef>,
    t: { correlation: SigmaCorrelation; fields: { name: string; ref: FieldRef }[] },
    result: DetectionPassResult,
  ): Promise<void> {
    const { tenantId, from, to } = w;
    const t0 = performance.now();
    let r;
    try {
      r = await store.detect(tenantId, [{ key: 't', node, fields: t.fields }], {
        afterSeq: from,
        uptoSeq: to,
        maxMatchesPerRule: THRESHOLD_MAX_EVENTS,
      });
      const error = r.errors.get('t');
      if (error !== undefined) throw new Error(error);
      const m = r.matches.get('t');
      if (m && m.count > m.events.length)
        throw new Error(`more than ${THRESHOLD_MAX_EVENTS} events pass the filter in one window`);
    } catch (e) {
      await this.#fail(w, e, result);
      return;
    }
    const events = r.matches.get('t')?.events ?? [];
    const byId = new Map(events.map((e) => [e.id, e]));
    const hits = evaluateCorrelation(
      t.correlation,
      events.map((e) => ({ rule: 't', id: e.id, timestamp: e.timestamp, fields: e.fields ?? {} })),
    );
    // Each burst is raised as its own alert: its events, with the group values as context.
    const bursts = hits.map((h) => h.eventIds.map((id) => byId.get(id)!).filter(Boolean));
    const matched = bursts.flat();
    await this.#commit(
      w,
      performance.now() - t0,
      r.scanned,
      matched.length ? { count: matched.length, events: matched } : undefined,
      result,
      undefined,
      bursts,
    );
  }

  /** The live indicators among the events' field values, and a matcher per event. */
  async #lookup(tenantId: string, events: DetectionMatch[]) {
    const values = new Set<string>();
    for (const e of events)
      for (const v of Object.values(e.fields ?? {})) for (const c of indicatorCandidates(v)) values.add(c);
    const list = [...values];
    const exact = new Map<string, { id: string; value: string }>();
    const networks: { id: string; value: string; list: BlockList }[] = [];
    for (let i = 0; i < list.length; i += LOOKUP_MAX_VALUES) {
      for (const ind of await this.repos.indicators.lookup(tenantId, list.slice(i, i + LOOKUP_MAX_VALUES))) {
        if (ind.type === 'cidr') {
          const [net, bits] = ind.value.split('/');
          const bl = new BlockList();
          bl.addSubnet(net!, Number(bits), isIP(net!) === 6 ? 'ipv6' : 'ipv4');
          networks.push({ id: ind.id, value: ind.value, list: bl });
        } else exact.set(ind.value.toLowerCase(), { id: ind.id, value: ind.value });
      }
    }
    return {
      match(e: DetectionMatch): { id: string; value: string }[] {
        const out: { id: string; value: string }[] = [];
        for (const v of Object.values(e.fields ?? {})) {
          for (const c of indicatorCandidates(v)) {
            const hit = exact.get(c.toLowerCase());
            if (hit) out.push(hit);
            const family = isIP(c);
            if (family)
              for (const n of networks) if (n.list.check(c, family === 6 ? 'ipv6' : 'ipv4')) out.push(n);
          }
        }
        return out;
      },
    };
  }

  /** The rule's window and its alerts, in one transaction. */
  async #commit(
    w: RuleWindow,
    durationMs: number,
    scanned: number,
    matches: RuleMatches | undefined,
    result: DetectionPassResult,
    alsoInTransaction?: () => Promise<void>,
    /** Threshold rules: the events already grouped into bursts (one alert each). */
    bursts?: DetectionMatch[][],
  ): Promise<void> {
    const { tenantId, rule, from, to, started } = w;
    const hits = matches?.count ?? 0;
    try {
      const counts = await this.db.tenant(tenantId, async () => {
        await alsoInTransaction?.();
        const c = matches
          ? await this.#raise(tenantId, rule, matches, bursts)
          : { created: 0, grouped: 0, suppressed: 0 };
        await this.repos.watermarks.advance(tenantId, watermarkOf(rule.id), {
          fromSeq: from,
          toSeq: to,
          delivered: to - from,
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

  /** Matches -> alerts: one per entity set, grouped with an open alert of the same key, unless suppressed. */
  async #raise(
    tenantId: string,
    rule: Rule,
    matches: RuleMatches,
    bursts?: DetectionMatch[][],
  ): Promise<{ created: number; grouped: number; suppressed: number }> {
    const now = this.now();
    const out = { created: 0, grouped: 0, suppressed: 0 };
    const byEntity = new Map<string, DetectionMatch[]>();
    if (bursts) bursts.forEach((b, i) => byEntity.set(String(i), b));
    else
      for (const m of matches.events) {
        const key = ENTITY_FIELDS.map((f) => m[f] ?? '').join('\u0001');
        const list = byEntity.get(key) ?? [];
        list.push(m);
        byEntity.set(key, list);
      }
    // Matches past the listed ones are counted on the last group (they are in the same window).
    const unlisted = matches.count - matches.events.length;
    const suppressions = await this.repos.suppressions.active(tenantId, rule.id, now);
    const since = new Date(now.getTime() - this.settings.suppressionWindowSeconds * 1000);
    const kev = await this.#kevHit(rule);
    const groups = [...byEntity.values()];
    for (const [i, events] of groups.entries()) {
      const first = events[0]!;
      const count = events.length + (i === groups.length - 1 ? unlisted : 0);
      const entities = {
        host: first.host ?? first.hostname,
        sourceIp: validIp(first.srcIp),
        destIp: validIp(first.dstIp),
        userName: first.user ? first.user.slice(0, 255) : null,
      };
      const s = suppressions.find((x) => suppresses(x, entities));
      if (s) {
        await this.repos.suppressions.addHits(tenantId, s.id, count);
        out.suppressed += count;
        continue;
      }
      const dedupKey = createHash('sha256')
        .update(
          [rule.id, entities.host, entities.sourceIp, entities.destIp, entities.userName].join('\u0001'),
        )
        .digest('hex');
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
        (values.length > 0 && (await this.repos.indicators.lookup(tenantId, values)).length > 0);
      const asset = first.sourceId ? await this.#criticality(tenantId, first.sourceId) : null;
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
          seq_range: [first.seq, events[events.length - 1]!.seq],
          indicator_hit: indicatorHit,
          kev_hit: kev,
          asset_criticality: asset,
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
        firstSeen: first.timestamp,
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
   * its hits and its cost.
   */
  async backtest(tenantId: string, ruleId: string): Promise<BacktestResult> {
    const rule = await this.repos.rules.get(tenantId, ruleId);
    if (!rule) throw new NotFoundError('rule', ruleId);
    const c = this.compile(rule);
    if (!c.node) throw new ValidationError(`rule ${rule.ruleNumber} cannot run: ${c.error}`);
    const store = await this.store();
    const upto = await store.maxSeq(tenantId);
    const started = this.now();
    const r = await store.detect(tenantId, [{ key: rule.id, node: c.node }], {
      afterSeq: 0,
      uptoSeq: upto,
      maxMatchesPerRule: this.settings.maxEventIdsPerAlert,
    });
    const error = r.errors.get(rule.id);
    const m = r.matches.get(rule.id);
    await this.repos.runs.create(tenantId, {
      ruleId: rule.id,
      mode: 'backtest',
      status: error ? 'failed' : 'success',
      fromSeq: 0,
      toSeq: upto,
      eventsScanned: r.scanned,
      hits: m?.count ?? 0,
      durationMs: r.elapsedMs,
      error: error ?? null,
      startedAt: started,
      finishedAt: this.now(),
    });
    if (error) throw new ValidationError(`rule ${rule.ruleNumber} failed: ${error}`);
    return {
      ruleId: rule.id,
      scanned: r.scanned,
      hits: m?.count ?? 0,
      elapsedMs: r.elapsedMs,
      events: m?.events ?? [],
    };
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
