/**
 * `vigil rules import DIR` and `POST /api/v1/rules/import`: Sigma files into a tenant's rules table.
 *
 * A rule is identified by its Sigma `id` (rules.sigma_id): a rerun updates the rules whose YAML changed
 * (RuleRepository.update keeps the previous version), leaves the others alone, and never duplicates. Rules
 * the engine cannot run (parse errors, a logsource no pipeline maps, a construct neither SQL dialect can
 * express) are not loaded: the summary lists each with its reason. Everything runs in one tenant
 * transaction with one `import` row in the audit trail, so an import is all or nothing.
 */
import { createHash } from 'node:crypto';
import type { Database } from '../db/client.ts';
import type { Severity, RuleStatus } from '../domain/enums.ts';
import type { RuleCreate } from '../domain/schemas/rule.schema.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { RuleRepository } from '../repositories/rule.repository.ts';
import { compilePredicate } from '../sigma/backends/index.ts';
import type {
  PreparedRule,
  RuleSet,
  RuleSource,
  SigmaLevel,
  SigmaStatus,
  Unsupported,
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
    sigmaId: r.id ?? `title:${createHash('sha256').update(r.title).digest('hex').slice(0, 40)}`,
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
      date: r.date ?? null,
      modified: r.modified ?? null,
      filters: [...p.filters],
    },
  };
}

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
    // Correlation rules and filters are evaluated by `vigil sigma test`; scheduled detection does not run them
    // yet, so they are not loaded as if it did: the summary names each.
    for (const d of [...set.correlations, ...set.filters]) {
      unsupported.push({
        file: d.location.file,
        line: d.location.line,
        id: d.id,
        title: d.title,
        reason: `${d.type === 'correlation' ? 'correlation rule' : 'filter'}: not run by scheduled detection yet (use vigil sigma test)`,
      });
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
      for (const p of ready) {
        const row = ruleRow(p);
        const existing = row.sigmaId ? await this.rules.getBySigmaId(tenantId, row.sigmaId) : undefined;
        if (!existing) {
          await this.rules.create(tenantId, row, by);
          summary.loaded += 1;
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
        description: `Sigma import: ${summary.loaded} loaded, ${summary.updated} updated, ${summary.unchanged} unchanged, ${unsupported.length} unsupported`,
        ipAddress: actor.ip ?? null,
        userAgent: actor.userAgent ?? null,
      });
    });
    return summary;
  }
}
