/**
 * Detection rules (seed 000 rules merged with seed 002 detection_rules) and their version history.
 *
 * Every update keeps the row as it was in rule_versions and bumps `version`, under a row lock, so two
 * concurrent edits produce two versions instead of one lost update. Execution statistics
 * (recordExecution) are not edits: they never bump the version.
 */
import { and, desc, eq, ilike, or, sql } from 'drizzle-orm';
import type { Database, DrizzleTx } from '../db/client.ts';
import { ruleVersions, rules, tenantCounters, type Json } from '../db/schema/index.ts';
import { NotFoundError, ValidationError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  actorSchema,
  ruleCreateSchema,
  ruleExecutionSchema,
  ruleFiltersSchema,
  ruleUpdateSchema,
  type RuleCreate,
  type RuleExecution,
  type RuleFilters,
  type RuleUpdate,
} from '../domain/schemas/rule.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, likeEscape, listPage, planList, type ListOptions, type Page } from './base.ts';

export type Rule = typeof rules.$inferSelect;
export type RuleVersion = typeof ruleVersions.$inferSelect;

/** Longest parent chain walked when checking a new parent for cycles. */
const MAX_RULE_DEPTH = 100;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export class RuleRepository {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, id: string): Promise<Rule | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(rules)
        .where(and(eq(rules.tenantId, tenantId), eq(rules.id, id)));
      return row;
    });
  }

  async getByNumber(tenantId: string, ruleNumber: string): Promise<Rule | undefined> {
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(rules)
        .where(and(eq(rules.tenantId, tenantId), eq(rules.ruleNumber, ruleNumber)));
      return row;
    });
  }

  /** By the Sigma rule's own id: how a re-import finds the rule to update instead of duplicating it. */
  async getBySigmaId(tenantId: string, sigmaId: string): Promise<Rule | undefined> {
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(rules)
        .where(and(eq(rules.tenantId, tenantId), eq(rules.sigmaId, sigmaId)));
      return row;
    });
  }

  /**
   * Rules a Sigma reference (a correlation's or filter's `rules` entry: an id or a `name`) may designate:
   * the Sigma id (any case), the name recorded at import (`definition.name`), or, for rows imported before
   * the name was recorded, YAML that contains the reference. Candidates only: the caller checks each
   * parsed document (sigma/index.ts designates). At most 20.
   */
  async listBySigmaRef(tenantId: string, ref: string): Promise<Rule[]> {
    return this.db.tenant(tenantId, (tx) =>
      tx
        .select()
        .from(rules)
        .where(
          and(
            eq(rules.tenantId, tenantId),
            or(
              sql`lower(${rules.sigmaId}) = lower(${ref})`,
              sql`${rules.definition}->>'name' = ${ref}`,
              sql`(${rules.definition}->>'name' is null and strpos(${rules.sigmaYaml}, ${ref}) > 0)`,
            ),
          ),
        )
        .orderBy(rules.ruleNumber)
        .limit(20),
    );
  }

  async list(tenantId: string, opts: ListOptions<RuleFilters> = {}): Promise<Page<Rule>> {
    const f = parseInput(ruleFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        rule_number: rules.ruleNumber,
        name: rules.name,
        rule_type: rules.ruleType,
        severity: rules.severity,
        status: rules.status,
        created_at: rules.createdAt,
        updated_at: rules.updatedAt,
        last_executed: rules.lastExecuted,
      },
      'rule_number',
      rules.id,
    );
    const q = f.q && `%${likeEscape(f.q)}%`;
    return this.db.tenant(tenantId, (tx) =>
      listPage<Rule>(
        tx,
        rules,
        allOf(
          eq(rules.tenantId, tenantId),
          f.ruleType && eq(rules.ruleType, f.ruleType),
          f.severity && eq(rules.severity, f.severity),
          f.status && eq(rules.status, f.status),
          f.enabled !== undefined && eq(rules.enabled, f.enabled),
          f.tag && sql`${rules.tags} @> jsonb_build_array(${f.tag}::text)`,
          f.technique && sql`${rules.techniques} @> jsonb_build_array(${f.technique}::text)`,
          q && or(ilike(rules.name, q), ilike(rules.description, q)),
        ),
        plan,
      ),
    );
  }

  /**
   * The database assigns the tenant's next RULE-nnnnnn unless `ruleNumber` is given (an import); a given
   * number also moves the tenant's counter past it, so later assigned numbers never collide with it.
   */
  async create(tenantId: string, input: RuleCreate, actor: string): Promise<Rule> {
    const v = parseInput(ruleCreateSchema, input, 'rule');
    const by = parseInput(actorSchema, actor, 'actor');
    return this.db.tenant(tenantId, async (tx) => {
      if (v.parentRuleId) await this.#lockParent(tx, tenantId, v.parentRuleId);
      if (v.ruleNumber) await this.#reserveNumber(tx, tenantId, Number(v.ruleNumber.slice('RULE-'.length)));
      const [row] = await tx
        .insert(rules)
        .values({ ...v, tenantId, createdBy: by })
        .returning();
      return row!;
    });
  }

  /**
   * Lock the row, keep it as it was in rule_versions, then apply the patch as version + 1.
   * An empty patch changes nothing (and creates no version).
   */
  async update(tenantId: string, id: string, patch: RuleUpdate, actor: string): Promise<Rule> {
    const v = definedOnly(parseInput(ruleUpdateSchema, patch, 'rule'));
    const by = parseInput(actorSchema, actor, 'actor');
    if (!isUuid(id)) throw new NotFoundError('rule', id);
    return this.db.tenant(tenantId, async (tx) => {
      const [current] = await tx
        .select()
        .from(rules)
        .where(and(eq(rules.tenantId, tenantId), eq(rules.id, id)))
        .for('update');
      if (!current) throw new NotFoundError('rule', id);
      if (Object.keys(v).length === 0) return current;
      if (v.parentRuleId) await this.#checkParentChain(tx, tenantId, id, v.parentRuleId);

      await tx.insert(ruleVersions).values({
        tenantId,
        ruleId: id,
        version: current.version,
        snapshot: JSON.parse(JSON.stringify(current)) as Json,
        changedBy: by,
      });
      const [row] = await tx
        .update(rules)
        .set({ ...v, version: current.version + 1, updatedBy: by })
        .where(and(eq(rules.tenantId, tenantId), eq(rules.id, id)))
        .returning();
      return row!;
    });
  }

  /** The saved versions of a rule, newest first; empty for an unknown rule. */
  async listVersions(tenantId: string, ruleId: string): Promise<RuleVersion[]> {
    if (!isUuid(ruleId)) return [];
    return this.db.tenant(tenantId, (tx) =>
      tx
        .select()
        .from(ruleVersions)
        .where(and(eq(ruleVersions.tenantId, tenantId), eq(ruleVersions.ruleId, ruleId)))
        .orderBy(desc(ruleVersions.version)),
    );
  }

  /** Deletes the rule and its versions; its alerts stay (rule_id nulled), so do its child rules (parent nulled). */
  async delete(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('rule', id);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(rules)
        .where(and(eq(rules.tenantId, tenantId), eq(rules.id, id)))
        .returning({ id: rules.id });
      if (gone.length === 0) throw new NotFoundError('rule', id);
    });
  }

  /**
   * Record one run: `last_executed` (never moved backwards by a late report) and counters merged into
   * `metrics` (other keys kept): runs, total_hits, last_hits, errors, last_duration_ms, avg_duration_ms,
   * last_error (null after a clean run). Does not bump the version.
   */
  async recordExecution(tenantId: string, id: string, execution: RuleExecution): Promise<Rule> {
    const e = parseInput(ruleExecutionSchema, execution, 'execution');
    if (!isUuid(id)) throw new NotFoundError('rule', id);
    return this.db.tenant(tenantId, async (tx) => {
      const [current] = await tx
        .select({ metrics: rules.metrics, lastExecuted: rules.lastExecuted })
        .from(rules)
        .where(and(eq(rules.tenantId, tenantId), eq(rules.id, id)))
        .for('update');
      if (!current) throw new NotFoundError('rule', id);
      const m = current.metrics;
      const runs = num(m.runs) + 1;
      const metrics: Json = {
        ...m,
        runs,
        total_hits: num(m.total_hits) + e.hits,
        last_hits: e.hits,
        errors: num(m.errors) + (e.error ? 1 : 0),
        last_duration_ms: e.durationMs,
        avg_duration_ms: (num(m.avg_duration_ms) * (runs - 1) + e.durationMs) / runs,
        last_error: e.error ?? null,
      };
      const lastExecuted =
        current.lastExecuted && current.lastExecuted.getTime() > e.executedAt.getTime()
          ? current.lastExecuted
          : e.executedAt;
      const [row] = await tx
        .update(rules)
        .set({ metrics, lastExecuted })
        .where(and(eq(rules.tenantId, tenantId), eq(rules.id, id)))
        .returning();
      return row!;
    });
  }

  /**
   * The parent must be a rule of this tenant. `FOR KEY SHARE` keeps it from being deleted before this
   * transaction commits, so the composite foreign key cannot fail later with a less helpful error.
   */
  async #lockParent(tx: DrizzleTx, tenantId: string, parentId: string): Promise<string | null> {
    const [parent] = await tx
      .select({ parentRuleId: rules.parentRuleId })
      .from(rules)
      .where(and(eq(rules.tenantId, tenantId), eq(rules.id, parentId)))
      .for('key share');
    if (!parent)
      throw new ValidationError(`parent rule ${parentId} does not exist`, [
        { path: 'parentRuleId', message: 'must be a rule of the same tenant' },
      ]);
    return parent.parentRuleId;
  }

  /** A rule cannot become its own ancestor. */
  async #checkParentChain(tx: DrizzleTx, tenantId: string, id: string, parentId: string): Promise<void> {
    const cycle = () =>
      new ValidationError('a rule cannot be its own ancestor', [
        { path: 'parentRuleId', message: 'would create a cycle' },
      ]);
    let next: string | null = parentId;
    for (let depth = 0; next !== null && depth < MAX_RULE_DEPTH; depth++) {
      if (next === id) throw cycle();
      next =
        depth === 0 ? await this.#lockParent(tx, tenantId, next) : await this.#parentOf(tx, tenantId, next);
    }
    if (next !== null)
      throw new ValidationError(`rule hierarchy deeper than ${MAX_RULE_DEPTH}`, [
        { path: 'parentRuleId', message: 'hierarchy too deep' },
      ]);
  }

  async #parentOf(tx: DrizzleTx, tenantId: string, id: string): Promise<string | null> {
    const [row] = await tx
      .select({ parentRuleId: rules.parentRuleId })
      .from(rules)
      .where(and(eq(rules.tenantId, tenantId), eq(rules.id, id)));
    return row?.parentRuleId ?? null;
  }

  /** Move the tenant's rule counter to at least `n` (the trigger hands out counter + 1 next). */
  async #reserveNumber(tx: DrizzleTx, tenantId: string, n: number): Promise<void> {
    await tx
      .insert(tenantCounters)
      .values({ tenantId, name: 'rule', value: n })
      .onConflictDoUpdate({
        target: [tenantCounters.tenantId, tenantCounters.name],
        set: { value: sql`greatest(${tenantCounters.value}, excluded.value)` },
      });
  }
}
