import { and, asc, eq, getTableColumns, ilike, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { techniques } from '../db/schema/index.ts';
import { ValidationError } from '../domain/errors.ts';
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

  /**
   * Insert or update a batch by ATT&CK id, every column taken from the input (a feed's full record).
   * Invalid inputs are reported by position, not fatal; a repeated id keeps its last occurrence.
   */
  async upsertMany(inputs: readonly TechniqueUpsert[]): Promise<{
    inserted: number;
    updated: number;
    failed: number;
    errors: { index: number; message: string }[];
  }> {
    const out = { inserted: 0, updated: 0, failed: 0, errors: [] as { index: number; message: string }[] };
    const byId = new Map<string, ReturnType<typeof techniqueUpsertSchema.parse>>();
    inputs.forEach((input, index) => {
      try {
        const v = parseInput(techniqueUpsertSchema, input, 'technique');
        byId.delete(v.techniqueId);
        byId.set(v.techniqueId, v);
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        out.failed += 1;
        const detail = e.issues.map((i) => `${i.path}: ${i.message}`).join('; ');
        out.errors.push({ index, message: detail ? `${e.message}: ${detail}` : e.message });
      }
    });
    const rows = [...byId.values()].map((v) => ({
      techniqueId: v.techniqueId,
      stixId: v.stixId ?? null,
      name: v.name,
      description: v.description ?? null,
      tactics: v.tactics ?? [],
      platforms: v.platforms ?? [],
      dataSources: v.dataSources ?? [],
      isSubtechnique: v.isSubtechnique,
      parentTechniqueId: v.parentTechniqueId,
      url: v.url ?? null,
      revoked: v.revoked ?? false,
      deprecated: v.deprecated ?? false,
      version: v.version ?? null,
      modifiedAt: v.modifiedAt ?? null,
    }));
    if (rows.length === 0) return out;
    const col = (name: string) => sql.raw(`excluded.${name}`);
    await this.db.platform(async (tx) => {
      for (let i = 0; i < rows.length; i += 500) {
        const written = await tx
          .insert(techniques)
          .values(rows.slice(i, i + 500))
          .onConflictDoUpdate({
            target: techniques.techniqueId,
            set: {
              stixId: col('stix_id'),
              name: col('name'),
              description: col('description'),
              tactics: col('tactics'),
              platforms: col('platforms'),
              dataSources: col('data_sources'),
              isSubtechnique: col('is_subtechnique'),
              parentTechniqueId: col('parent_technique_id'),
              url: col('url'),
              revoked: col('revoked'),
              deprecated: col('deprecated'),
              version: col('version'),
              modifiedAt: col('modified_at'),
            },
          })
          // xmax is 0 for a freshly inserted row version, the updating transaction's id otherwise.
          .returning({ inserted: sql<boolean>`(xmax = 0)` });
        for (const w of written) {
          if (w.inserted) out.inserted += 1;
          else out.updated += 1;
        }
      }
    });
    return out;
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
