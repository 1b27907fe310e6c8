/**
 * Daily partitions of `log_events` (migration 0009): `vigil_log_partitions.log_events_YYYYMMDD` holds the events
 * of one UTC day. They are created on demand, before an append needs them, by the owner connection (DDL), one
 * creator at a time (an advisory lock), with a short lock timeout: if the table is busy the events go to the
 * DEFAULT partition instead, and a later append moves that day's rows out of it when it creates the partition.
 *
 * Dropping whole partitions is the cheap form of retention, and it is only correct below every tenant's own
 * cut-off: `dropExpired` drops the days older than the longest retention of all tenants; per-tenant purges
 * (DELETE) handle the rest.
 */
import type { Database, RawQueryable } from '../../db/client.ts';

export const PARTITION_SCHEMA = 'vigil_log_partitions';
export const DEFAULT_PARTITION = `${PARTITION_SCHEMA}.log_events_default`;
export const DAY_MS = 86_400_000;
/** pg_advisory_xact_lock key of partition DDL (the migrator uses 7_246_101). */
const PARTITION_LOCK_KEY = 7_246_109;
/** Days outside these years get no partition of their own (a malformed timestamp, such as the Unix epoch or a
 *  year 20000, must not create one): they stay in DEFAULT. */
const MIN_YEAR = 2000;
const MAX_YEAR = 2999;
const NAME = /^log_events_(\d{4})(\d{2})(\d{2})$/;

export interface PartitionInfo {
  name: string;
  from: Date;
  to: Date;
}

/** Start (ms, UTC midnight) of the day holding `ms`. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export function partitionName(day: number): string {
  const d = new Date(day);
  const p = (n: number) => String(n).padStart(2, '0');
  return `log_events_${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}`;
}

/** The day a partition name stands for, or undefined for names that are not ours. */
export function dayOfName(name: string): number | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const day = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return partitionName(day) === name ? day : undefined;
}

function partitionable(day: number): boolean {
  const y = new Date(day).getUTCFullYear();
  return y >= MIN_YEAR && y <= MAX_YEAR;
}

async function listDays(q: Pick<RawQueryable, 'query'>): Promise<number[]> {
  const rows = await q.query<{ name: string }>(
    `select c.relname as name
       from pg_inherits i
       join pg_class c on c.oid = i.inhrelid
       join pg_namespace n on n.oid = c.relnamespace
      where i.inhparent = 'log_events'::regclass and n.nspname = $1`,
    [PARTITION_SCHEMA],
  );
  return rows.map((r) => dayOfName(r.name)).filter((d): d is number => d !== undefined);
}

export class PartitionManager {
  /** Days known to have a partition (a cache: a partition dropped elsewhere only sends rows to DEFAULT). */
  #known: Set<number> | undefined;

  constructor(
    private readonly db: Database,
    private readonly lockTimeoutMs = 5_000,
  ) {}

  /** Days (UTC midnights) among these timestamps that have no partition yet. */
  async missing(timestamps: Iterable<number>): Promise<number[]> {
    if (!this.#known) this.#known = new Set(await listDays(this.db));
    const out = new Set<number>();
    for (const t of timestamps) {
      const day = dayOf(t);
      if (!this.#known.has(day) && partitionable(day)) out.add(day);
    }
    return [...out].sort((a, b) => a - b);
  }

  /**
   * Create the partitions these timestamps need. Never throws for a busy table: the rows then land in the
   * DEFAULT partition, which is correct, only slower to read and to purge.
   */
  async ensure(timestamps: Iterable<number>): Promise<void> {
    const days = await this.missing(timestamps);
    if (days.length === 0) return;
    try {
      await this.db.rawTransaction(async (q) => {
        await q.query('select pg_advisory_xact_lock($1)', [PARTITION_LOCK_KEY]);
        await q.exec(`set local lock_timeout = ${Math.max(1, Math.round(this.lockTimeoutMs))}`);
        const existing = new Set(await listDays(q));
        for (const day of days) {
          if (!existing.has(day)) await createPartition(q, day);
        }
      });
      for (const day of days) this.#known!.add(day);
    } catch (e) {
      // lock_not_available (55P03): someone holds the table; the DEFAULT partition takes the rows meanwhile.
      if ((e as { code?: string }).code !== '55P03') throw e;
      this.#known = undefined;
    }
  }

  async list(): Promise<PartitionInfo[]> {
    const days = (await listDays(this.db)).sort((a, b) => a - b);
    return days.map((d) => ({ name: partitionName(d), from: new Date(d), to: new Date(d + DAY_MS) }));
  }

  /** Drop the daily partitions that end at or before `cutoff`, whoever's events they hold. */
  async dropBefore(cutoff: Date): Promise<string[]> {
    const dropped: string[] = [];
    for (const p of await this.list()) {
      if (p.to.getTime() > cutoff.getTime()) break;
      await this.db.rawTransaction(async (q) => {
        await q.exec(`set local lock_timeout = ${Math.max(1, Math.round(this.lockTimeoutMs))}`);
        await q.exec(`drop table if exists ${PARTITION_SCHEMA}.${p.name}`);
      });
      this.#known?.delete(p.from.getTime());
      dropped.push(p.name);
    }
    return dropped;
  }

  /**
   * Drop the partitions older than the longest retention of all tenants (`tenants.retention_days`): every
   * event in them is past every tenant's own cut-off, so this never removes what a per-tenant purge would
   * keep. Without tenants it drops nothing.
   */
  async dropExpired(now: Date = new Date()): Promise<{ cutoff: Date | null; dropped: string[] }> {
    const [row] = await this.db.query<{ days: number | null }>(
      'select max(retention_days)::int as days from tenants',
    );
    const days = row?.days;
    if (days === null || days === undefined) return { cutoff: null, dropped: [] };
    const cutoff = new Date(now.getTime() - days * DAY_MS);
    return { cutoff, dropped: await this.dropBefore(cutoff) };
  }

  /** Forget what is known (after partitions changed behind this process's back). */
  reset(): void {
    this.#known = undefined;
  }
}

async function createPartition(q: RawQueryable, day: number): Promise<void> {
  const name = partitionName(day);
  const from = new Date(day).toISOString();
  const to = new Date(day + DAY_MS).toISOString();
  const bounds = `FOR VALUES FROM ('${from}') TO ('${to}')`;
  const [stray] = await q.query<{ n: number }>(
    `select count(*)::int as n from ${DEFAULT_PARTITION} where "timestamp" >= $1 and "timestamp" < $2`,
    [from, to],
  );
  if ((stray?.n ?? 0) === 0) {
    await q.exec(`CREATE TABLE ${PARTITION_SCHEMA}.${name} PARTITION OF log_events ${bounds}`);
    return;
  }
  // Rows of that day went to DEFAULT earlier: move them into the new table, then attach it.
  await q.exec(`CREATE TABLE ${PARTITION_SCHEMA}.${name} (LIKE log_events INCLUDING DEFAULTS)`);
  await q.query(
    `with moved as (delete from ${DEFAULT_PARTITION} where "timestamp" >= $1 and "timestamp" < $2 returning *)
     insert into ${PARTITION_SCHEMA}.${name} select * from moved`,
    [from, to],
  );
  await q.exec(`ALTER TABLE log_events ATTACH PARTITION ${PARTITION_SCHEMA}.${name} ${bounds}`);
}
