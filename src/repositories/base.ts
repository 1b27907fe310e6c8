/**
 * What every repository shares: tenant-first list pages with whitelisted sorting, counted totals,
 * and not-found handling. Repositories build SQL only through drizzle's builder (parameterised).
 */
import { and, asc, count, desc, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { ValidationError } from '../domain/errors.ts';
import { listQuerySchema, type ListQueryInput } from '../domain/schemas/common.schema.ts';
import { parseInput } from '../domain/validation.ts';
import type { Executor } from '../db/client.ts';

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

export interface ListOptions<F> extends ListQueryInput {
  filters?: F;
}

export interface ListPlan {
  limit: number;
  offset: number;
  order: SQL[];
}

/**
 * Validate paging and resolve `sort` against the columns a repository allows.
 * `-created_at` sorts descending; a final tiebreak on `tiebreak` keeps pages stable.
 */
export function planList(
  opts: ListQueryInput,
  sortable: Record<string, PgColumn>,
  defaultSort: string,
  tiebreak: PgColumn,
): ListPlan {
  const q = parseInput(listQuerySchema, opts, 'list query');
  const sort = q.sort ?? defaultSort;
  const key = sort.replace(/^-/, '');
  const col = sortable[key];
  if (!col) {
    throw new ValidationError(`cannot sort by ${key}`, [
      { path: 'sort', message: `one of ${Object.keys(sortable).join(', ')}` },
    ]);
  }
  const descending = sort.startsWith('-');
  // NULLs last in both directions: "top by priority" never opens with the unscored rows.
  const order = descending ? sql`${col} desc nulls last` : sql`${col} asc nulls last`;
  return { limit: q.limit, offset: q.offset, order: [order, descending ? desc(tiebreak) : asc(tiebreak)] };
}

/** Run the page query and its count with the same WHERE. */
export async function listPage<T>(
  ex: Executor,
  table: PgTable,
  where: SQL | undefined,
  plan: ListPlan,
): Promise<Page<T>> {
  const [items, totals] = await Promise.all([
    ex
      .select()
      .from(table)
      .where(where)
      .orderBy(...plan.order)
      .limit(plan.limit)
      .offset(plan.offset),
    ex.select({ n: count() }).from(table).where(where),
  ]);
  return { items: items as T[], total: Number(totals[0]?.n ?? 0), limit: plan.limit, offset: plan.offset };
}

/** AND together the conditions that are set. */
export function allOf(...conds: (SQL | undefined | null | false | '')[]): SQL | undefined {
  const set = conds.filter((c): c is SQL => !!c);
  return set.length ? and(...set) : undefined;
}

/** Drop keys whose value is undefined, so a patch only touches what the caller gave. */
export function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Escape LIKE wildcards in user text (PostgreSQL's default escape character is backslash). */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
