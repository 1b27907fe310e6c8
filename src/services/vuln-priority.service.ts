/**
 * Keeps `vulnerabilities.priority_score` current. The score (src/intel/vuln/priority.ts, docs/priority.md)
 * has a recency term, `max(0, 1 - age_days / 365)`, so a score stored at import time goes stale as days
 * pass even when no source changes: `recomputePriorities` recomputes every record's score for `now`, in
 * keyset chunks of `chunkSize` records, and writes only the scores that changed (rounded to 4 decimals, so
 * an unchanged record is never rewritten). Idempotent and safe to run on several nodes at once (the last
 * writer writes the same value). The `vuln-priority` job (src/jobs/vuln-priority.job.ts) runs it daily.
 */
import { vulnerabilityPriority } from '../intel/vuln/priority.ts';
import type { PriorityRow, VulnPriorityRepository } from '../repositories/vuln-priority.repository.ts';

export interface PriorityRecomputeResult {
  /** Records read. */
  scanned: number;
  /** Records whose stored score changed. */
  changed: number;
  elapsedMs: number;
  /** True when the signal stopped the run before the last chunk. */
  aborted: boolean;
}

export interface PriorityRecomputeOptions {
  /** The date the scores are computed for (default: the service's clock). */
  now?: Date;
  /** Records per chunk (default 2,000). */
  chunkSize?: number;
  signal?: AbortSignal;
}

/** The stored score differs from `score` by more than float4 noise (scores have 4 decimals). */
const differs = (stored: number | null, score: number) => stored === null || Math.abs(stored - score) >= 5e-5;

export class VulnPriorityService {
  constructor(
    private readonly repo: VulnPriorityRepository,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async recomputePriorities(opts: PriorityRecomputeOptions = {}): Promise<PriorityRecomputeResult> {
    const started = performance.now();
    const now = opts.now ?? this.clock();
    const chunkSize = opts.chunkSize ?? 2000;
    let after: string | null = null;
    let scanned = 0;
    let changed = 0;
    let aborted = false;
    for (;;) {
      if (opts.signal?.aborted) {
        aborted = true;
        break;
      }
      const rows = await this.repo.listInputsAfter(after, chunkSize);
      scanned += rows.length;
      const updates: { cveId: string; priorityScore: number }[] = [];
      for (const r of rows) {
        const score = scoreOf(r, now);
        if (differs(r.priorityScore, score)) updates.push({ cveId: r.cveId, priorityScore: score });
      }
      changed += await this.repo.updateScores(updates);
      if (rows.length < chunkSize) break;
      after = rows[rows.length - 1]!.cveId;
    }
    return { scanned, changed, elapsedMs: Math.round(performance.now() - started), aborted };
  }
}

function scoreOf(r: PriorityRow, now: Date): number {
  return vulnerabilityPriority(
    {
      cvssScore: r.cvssScore,
      epssScore: r.epssScore,
      exploitedInTheWild: r.exploitedInTheWild,
      kevRansomwareUse: r.kevRansomwareUse,
      ssvc: r.ssvc as Parameters<typeof vulnerabilityPriority>[0]['ssvc'],
      publishedAt: r.publishedAt === null ? null : r.publishedAt.toISOString(),
      isRejected: r.isRejected,
    },
    now,
  );
}
