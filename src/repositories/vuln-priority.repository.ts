import { asc, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { vulnerabilities } from '../db/schema/index.ts';
import { lockVulnerabilityWrites } from './vulnerability.repository.ts';

/** The columns `vulnerabilityPriority` reads, with the stored score. */
export interface PriorityRow {
  cveId: string;
  cvssScore: number | null;
  epssScore: number | null;
  exploitedInTheWild: boolean;
  kevRansomwareUse: string | null;
  ssvc: unknown;
  publishedAt: Date | null;
  isRejected: boolean;
  priorityScore: number | null;
}

/** Scores per UPDATE statement (one JSON parameter, so not bounded by the parameter limit). */
const UPDATE_CHUNK = 5000;

/**
 * The periodic recompute of `vulnerabilities.priority_score` (its recency term moves with time): reads only
 * the inputs of the formula, in keyset pages, and writes the changed scores in bulk. Kept apart from
 * VulnerabilityRepository, whose `listAfter` reads whole records (descriptions, source records) and whose
 * `upsert` is one statement per record.
 */
export class VulnPriorityRepository {
  constructor(private readonly db: Database) {}

  /** The priority inputs of the records after `afterCveId` in `cve_id` order. */
  async listInputsAfter(afterCveId: string | null, limit: number): Promise<PriorityRow[]> {
    return this.db.platform((tx) =>
      tx
        .select({
          cveId: vulnerabilities.cveId,
          cvssScore: vulnerabilities.cvssScore,
          epssScore: vulnerabilities.epssScore,
          exploitedInTheWild: vulnerabilities.exploitedInTheWild,
          kevRansomwareUse: vulnerabilities.kevRansomwareUse,
          ssvc: vulnerabilities.ssvc,
          publishedAt: vulnerabilities.publishedAt,
          isRejected: vulnerabilities.isRejected,
          priorityScore: vulnerabilities.priorityScore,
        })
        .from(vulnerabilities)
        .where(afterCveId === null ? undefined : sql`${vulnerabilities.cveId} > ${afterCveId}`)
        .orderBy(asc(vulnerabilities.cveId))
        .limit(limit),
    );
  }

  /**
   * Set `priority_score` of the given records; a record whose stored score already equals the new one is
   * not written (nor its `updated_at` touched). Returns how many rows changed.
   */
  async updateScores(scores: readonly { cveId: string; priorityScore: number }[]): Promise<number> {
    if (scores.length === 0) return 0;
    return this.db.platform(async (tx) => {
      await lockVulnerabilityWrites(tx);
      let changed = 0;
      for (let i = 0; i < scores.length; i += UPDATE_CHUNK) {
        const chunk = JSON.stringify(
          scores.slice(i, i + UPDATE_CHUNK).map((s) => ({ cve_id: s.cveId, score: s.priorityScore })),
        );
        const rows = await tx.execute(sql`
          update ${vulnerabilities} as v
             set priority_score = x.score::real
            from jsonb_to_recordset(${chunk}::jsonb) as x(cve_id text, score double precision)
           where v.cve_id = x.cve_id
             and v.priority_score is distinct from x.score::real
          returning v.cve_id`);
        changed += rowCount(rows);
      }
      return changed;
    });
  }
}

/** Rows returned by `execute` on either driver (node-postgres result or PGlite result). */
function rowCount(r: unknown): number {
  const rows = (r as { rows?: unknown[] }).rows;
  return Array.isArray(rows) ? rows.length : Array.isArray(r) ? r.length : 0;
}
