import { and, asc, eq, getTableColumns, ilike, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { techniques } from '../db/schema/index.ts';
import { isUuid } from '../domain/ids.ts';
import {
  techniqueFiltersSchema,
  techniqueIdSchema,
  techniqueUpsertSchema,
  type TechniqueFilters,
  type TechniqueUpsert,
} from '../domain/schemas/technique.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, likeEscape, listPage, planList, type ListOptions, type Page } from './base.ts';

export type Technique = typeof techniques.$inferSelect;

/** Neither revoked nor deprecated: what analysts map detections to. */
const current = () => and(eq(techniques.revoked, false), eq(techniques.deprecated, false));

/** MITRE ATT&CK techniques (seed 004). Global data: no tenant. */
export class TechniqueRepository {
  constructor(private readonly db: Database) {}

  async get(id: string): Promise<Technique | undefined> {
    if (!isUuid(id)) return undefined;
    const [row] = await this.db.tx((tx) => tx.select().from(techniques).where(eq(techniques.id, id)));
    return row;
  }

  /** By ATT&CK id, case-insensitively: `t1059.001` finds `T1059.001`. */
  async getByTechniqueId(techniqueId: string): Promise<Technique | undefined> {
    const parsed = techniqueIdSchema.safeParse(techniqueId);
    if (!parsed.success) return undefined;
    const [row] = await this.db.tx((tx) =>
      tx.select().from(techniques).where(eq(techniques.techniqueId, parsed.data)),
    );
    return row;
  }

  async list(opts: ListOptions<TechniqueFilters> = {}): Promise<Page<Technique>> {
    const f = parseInput(techniqueFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        technique_id: techniques.techniqueId,
        name: techniques.name,
        modified_at: techniques.modifiedAt,
        updated_at: techniques.updatedAt,
      },
      'technique_id',
      techniques.id,
    );
    const q = f.q && `%${likeEscape(f.q)}%`;
    return this.db.tx((tx) =>
      listPage<Technique>(
        tx,
        techniques,
        allOf(
          f.tactic && sql`${techniques.tactics} @> ${JSON.stringify([f.tactic])}::jsonb`,
          f.platform && sql`${techniques.platforms} @> ${JSON.stringify([f.platform])}::jsonb`,
          q && or(ilike(techniques.name, q), ilike(techniques.techniqueId, q)),
          f.isSubtechnique !== undefined && eq(techniques.isSubtechnique, f.isSubtechnique),
          !f.includeRevoked && current(),
        ),
        plan,
      ),
    );
  }

  /** The sub-techniques of `T1059` (T1059.001, ...), in id order; revoked and deprecated ones on request. */
  async listSubtechniques(parentId: string, opts: { includeRevoked?: boolean } = {}): Promise<Technique[]> {
    const parsed = techniqueIdSchema.safeParse(parentId);
    if (!parsed.success) return [];
    return this.db.tx((tx) =>
      tx
        .select()
        .from(techniques)
        .where(allOf(eq(techniques.parentTechniqueId, parsed.data), !opts.includeRevoked && current()))
        .orderBy(asc(techniques.techniqueId)),
    );
  }

  /** Insert or update by ATT&CK id; only the fields given are written. */
  async upsert(input: TechniqueUpsert): Promise<{ row: Technique; inserted: boolean }> {
    const v = parseInput(techniqueUpsertSchema, input, 'technique');
    const { techniqueId: _id, ...set } = definedOnly(v);
    return this.db.platform(async (tx) => {
      const [out] = await tx
        .insert(techniques)
        .values(v)
        .onConflictDoUpdate({ target: techniques.techniqueId, set })
        // xmax is 0 for a freshly inserted row version, the updating transaction's id otherwise.
        .returning({ ...getTableColumns(techniques), inserted: sql<boolean>`(xmax = 0)` });
      const { inserted, ...row } = out!;
      return { row, inserted };
    });
  }
}
