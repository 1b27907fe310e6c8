/**
 * `vigil rules import DIR` and `POST /api/v1/rules/import`: Sigma files into a tenant's rules table.
 *
 * A rule is identified by its Sigma `id` (rules.sigma_id): a rerun updates the rules whose YAML changed
 * (RuleRepository.update keeps the previous version), leaves the others alone, and never duplicates. Rules
 * the engine cannot run (parse errors, a logsource no pipeline maps, a construct neither SQL dialect can
 * express) are not loaded: the summary lists each with its reason. Everything runs in one tenant
 * transaction with one `import` row in the audit trail, so an import is all or nothing.
 *
 * The three Sigma document kinds become rules of three types, identified the same way:
 * - detection rules: `sigma`;
 * - filters: `filter` (scheduled detection applies each to the Sigma rules it names, stored now or later);
 *   a filter whose logsource no pipeline maps, or whose condition neither dialect can express, is listed;
 * - correlation rules: `correlation`, with the parsed correlation in `rules.correlation`. Each rule it
 *   references must be a detection rule of this import or already stored (by id or name); otherwise it is
 *   listed with the reason (a reference to another correlation: chains are not supported).
 */
import { createHash } from 'node:crypto';
import type { Database } from '../db/client.ts';
import type { Severity, RuleStatus } from '../domain/enums.ts';
import type { RuleCreate } from '../domain/schemas/rule.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { Rule, RuleRepository } from '../repositories/rule.repository.ts';
import { compilePredicate } from '../sigma/backends/index.ts';
import {
  designates,
  type PreparedRule,
  type RuleSet,
  type RuleSource,
  type SigmaCorrelation,
  type SigmaDocument,
  type SigmaFilter,
  type SigmaLevel,
  type SigmaStatus,
  type Unsupported,
} from '../sigma/index.ts';
import type { SigmaService } from './sigma.service.ts';

/** Who imports: a user or API key (HTTP) or the operator at the command line. */
export interface ImportActor {
  name: string;
  userId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export interface RuleImportSummary {
  files: number;
  loaded: number;
  updated: number;
  unchanged: number;
  unsupported: Unsupported[];
}

const SEVERITY: Record<SigmaLevel, Severity> = {
  informational: 'info',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
};

const STATUS: Record<SigmaStatus, RuleStatus> = {
  stable: 'active',
  test: 'testing',
  experimental: 'testing',
  deprecated: 'deprecated',
  unsupported: 'inactive',
};

/**
 * Default false-positive rate by Sigma status when the rule gives none: the engine's confidence in a rule
 * (it feeds the alert priority formula, docs/detection.md).
 */
const FP_RATE: Record<SigmaStatus, number> = {
  stable: 0.1,
  test: 0.2,
  experimental: 0.3,
  deprecated: 0.5,
  unsupported: 0.5,
};

/** ATT&CK technique ids from Sigma tags: `attack.t1059.001` -> `T1059.001`. */
export function techniquesOf(tags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of tags) {
    const m = /^attack\.(t\d{4}(?:\.\d{3})?)$/i.exec(t);
    if (m) out.add(m[1]!.toUpperCase());
  }
  return [...out];
}

/** The rule's Sigma id, or for a document without one a stable id from its title (reruns update it). */
function sigmaIdOf(d: SigmaDocument): string {
  return d.id ?? `title:${createHash('sha256').update(d.title).digest('hex').slice(0, 40)}`;
}

export function ruleRow(p: PreparedRule): RuleCreate {
  const r = p.rule;
  const status = r.status ?? 'experimental';
  return {
    name: r.title.slice(0, 255),
    description: r.description ?? null,
    ruleType: 'sigma',
    severity: SEVERITY[r.level ?? 'medium'],
    status: STATUS[status],
    enabled: status !== 'deprecated' && status !== 'unsupported',
    sigmaYaml: r.yaml,
    // A rule without an id is known by its title, so a rerun still updates instead of duplicating.
    sigmaId: sigmaIdOf(r),
    logsource: { ...r.logsource },
    tags: [...r.tags],
    references: [...r.references],
    techniques: techniquesOf(r.tags),
    falsePositives: [...r.falsepositives],
    falsePositiveRate: FP_RATE[status],
    author: r.author?.slice(0, 255) ?? null,
    definition: {
      format: 'sigma',
      file: r.location.file,
      name: r.name ?? null,
      date: r.date ?? null,
      modified: r.modified ?? null,
      filters: [...p.filters],
    },
  };
}

/** A Sigma filter as a `filter` rule: it raises nothing; detection applies it to the rules it names. */
export function filterRow(f: SigmaFilter): RuleCreate {
  return {
    name: f.title.slice(0, 255),
    description: f.description ?? null,
    ruleType: 'filter',
    severity: 'info',
    status: f.status ? STATUS[f.status] : 'active',
    enabled: f.status !== 'deprecated' && f.status !== 'unsupported',
    sigmaYaml: f.yaml,
    sigmaId: sigmaIdOf(f),
    logsource: { ...f.logsource },
    tags: [...f.tags],
    references: [...f.references],
    author: f.author?.slice(0, 255) ?? null,
    definition: {
      format: 'sigma',
      file: f.location.file,
      name: f.name ?? null,
      rules: [...f.rules],
      date: f.date ?? null,
      modified: f.modified ?? null,
    },
  };
}

/** A Sigma correlation as a `correlation` rule. */
export function correlationRow(c: SigmaCorrelation): RuleCreate {
  const status = c.status ?? 'experimental';
  const { condition, ...rest } = c.correlation;
  return {
    name: c.title.slice(0, 255),
    description: c.description ?? null,
    ruleType: 'correlation',
    severity: SEVERITY[c.level ?? 'medium'],
    status: STATUS[status],
    enabled: status !== 'deprecated' && status !== 'unsupported',
    sigmaYaml: c.yaml,
    sigmaId: sigmaIdOf(c),
    correlation: {
      ...rest,
      rules: [...rest.rules],
      groupBy: [...rest.groupBy],
      ...(condition ? { condition: { ...condition } } : {}),
    },
    tags: [...c.tags],
    references: [...c.references],
    techniques: techniquesOf(c.tags),
    falsePositives: [...c.falsepositives],
    falsePositiveRate: FP_RATE[status],
    author: c.author?.slice(0, 255) ?? null,
    definition: {
      format: 'sigma',
      file: c.location.file,
      name: c.name ?? null,
      date: c.date ?? null,
      modified: c.modified ?? null,
    },
  };
}

const unsupportedOf = (d: SigmaDocument, reason: string): Unsupported => ({
  file: d.location.file,
  line: d.location.line,
  id: d.id,
  title: d.title,
  reason,
});

export class RuleImportService {
  constructor(
    private readonly db: Database,
    private readonly rules: RuleRepository,
    private readonly auditLogs: AuditLogRepository,
    private readonly sigma: SigmaService,
  ) {}

  /** Rule files and directories on this machine (the CLI). */
  importSigma(tenantId: string, paths: readonly string[], actor: ImportActor): Promise<RuleImportSummary> {
    return this.#import(tenantId, this.sigma.load(paths), actor);
  }

  /** Rule texts sent by a client (the API): never a path on the server. */
  importSigmaTexts(
    tenantId: string,
    files: readonly RuleSource[],
    actor: ImportActor,
  ): Promise<RuleImportSummary> {
    return this.#import(tenantId, this.sigma.prepare(files), actor);
  }

  /** The stored rule a correlation's reference names (by Sigma id or name), as its document says. */
  async #storedRef(tenantId: string, ref: string): Promise<Rule | undefined> {
    for (const r of await this.rules.listBySigmaRef(tenantId, ref)) {
      if (!r.sigmaYaml) continue;
      const doc = this.sigma.parse({ file: r.ruleNumber, text: r.sigmaYaml }).documents[0];
      if (doc && designates(ref, doc)) return r;
    }
    return undefined;
  }

  async #import(tenantId: string, set: RuleSet, actor: ImportActor): Promise<RuleImportSummary> {
    const files = new Set<string>();
    const unsupported = [...set.unsupported];
    const ready: PreparedRule[] = [];
    for (const p of set.rules) {
      files.add(p.rule.location.file);
      // A rule is loaded when at least one dialect runs it (the store in use decides at run time).
      const errors: string[] = [];
      for (const d of ['duckdb', 'postgres'] as const) {
        try {
          compilePredicate(p.node, d);
        } catch (e) {
          errors.push(`${d}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      if (errors.length === 2) {
        unsupported.push({
          file: p.rule.location.file,
          line: p.rule.location.line,
          id: p.rule.id,
          title: p.rule.title,
          reason: errors.join('; '),
        });
      } else ready.push(p);
    }
    // Filters: stored when their condition maps and compiles (detection applies them to the rules they name).
    const filters: SigmaFilter[] = [];
    for (const f of set.filters) {
      files.add(f.location.file);
      const mapped = this.sigma.mapFilter(f);
      if (!mapped.ok) {
        unsupported.push(unsupportedOf(f, `filter: ${mapped.reason}`));
        continue;
      }
      const errors: string[] = [];
      for (const d of ['duckdb', 'postgres'] as const) {
        try {
          compilePredicate(mapped.node, d);
        } catch (e) {
          errors.push(`${d}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      if (errors.length === 2) unsupported.push(unsupportedOf(f, `filter: ${errors.join('; ')}`));
      else filters.push(f);
    }
    // Correlations: every reference must name a detection rule of this import or one already stored.
    const correlations: SigmaCorrelation[] = [];
    for (const c of set.correlations) {
      files.add(c.location.file);
      let reason: string | undefined;
      for (const ref of c.correlation.rules) {
        if (ready.some((p) => designates(ref, p.rule))) continue;
        if (set.correlations.some((o) => designates(ref, o))) {
          reason = `rule '${ref}' is a correlation: chained correlations are not supported`;
          break;
        }
        if (set.rules.some((p) => designates(ref, p.rule)) || unsupported.some((u) => u.id === ref)) {
          reason = `rule '${ref}' could not be loaded (see its own entry)`;
          break;
        }
        const stored = await this.#storedRef(tenantId, ref);
        if (stored?.ruleType === 'sigma') continue;
        reason =
          stored?.ruleType === 'correlation'
            ? `rule '${ref}' is a correlation: chained correlations are not supported`
            : `rule '${ref}' is neither in this import nor a stored Sigma rule of the tenant`;
        break;
      }
      if (reason !== undefined) unsupported.push(unsupportedOf(c, `correlation rule: ${reason}`));
      else correlations.push(c);
    }
    for (const u of unsupported) files.add(u.file);
    const by = actor.name;
    const summary: RuleImportSummary = {
      files: files.size,
      loaded: 0,
      updated: 0,
      unchanged: 0,
      unsupported,
    };
    await this.db.tenant(tenantId, async () => {
      const rows: { doc: SigmaDocument; row: RuleCreate }[] = [
        ...ready.map((p) => ({ doc: p.rule, row: ruleRow(p) })),
        ...filters.map((f) => ({ doc: f, row: filterRow(f) })),
        ...correlations.map((c) => ({ doc: c, row: correlationRow(c) })),
      ];
      for (const { doc, row } of rows) {
        const existing = row.sigmaId ? await this.rules.getBySigmaId(tenantId, row.sigmaId) : undefined;
        if (!existing) {
          await this.rules.create(tenantId, row, by);
          summary.loaded += 1;
        } else if (existing.ruleType !== row.ruleType) {
          summary.unsupported.push(
            unsupportedOf(
              doc,
              `its id is already a stored ${existing.ruleType} rule (${existing.ruleNumber})`,
            ),
          );
        } else if (existing.sigmaYaml === row.sigmaYaml) {
          summary.unchanged += 1;
        } else {
          // The analyst's choices on the rule (enabled, status) are kept; the rule's content is replaced.
          const { enabled: _e, status: _s, ...content } = row;
          await this.rules.update(tenantId, existing.id, content, by);
          summary.updated += 1;
        }
      }
      await this.auditLogs.create(tenantId, {
        userId: actor.userId ?? null,
        actor: by,
        action: 'import',
        resourceType: 'rule',
        description: `Sigma import: ${summary.loaded} loaded, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.unsupported.length} unsupported`,
        ipAddress: actor.ip ?? null,
        userAgent: actor.userAgent ?? null,
      });
    });
    return summary;
  }
}
