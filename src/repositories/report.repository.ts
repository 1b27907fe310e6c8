import { and, eq, gte, lt } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { reports } from '../db/schema/index.ts';
import { NotFoundError } from '../domain/errors.ts';
import { isUuid } from '../domain/ids.ts';
import {
  reportCreateSchema,
  reportFiltersSchema,
  reportUpdateSchema,
  type ReportCreate,
  type ReportFilters,
  type ReportUpdate,
} from '../domain/schemas/report.schema.ts';
import { parseInput } from '../domain/validation.ts';
import { allOf, definedOnly, listPage, planList, type ListOptions, type Page } from './base.ts';

export type Report = typeof reports.$inferSelect;

/** Seed 001 reports: generated security reports, tenant-scoped. */
export class ReportRepository {
  constructor(private readonly db: Database) {}

  async get(tenantId: string, id: string): Promise<Report | undefined> {
    if (!isUuid(id)) return undefined;
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .select()
        .from(reports)
        .where(and(eq(reports.tenantId, tenantId), eq(reports.id, id)));
      return row;
    });
  }

  async list(tenantId: string, opts: ListOptions<ReportFilters> = {}): Promise<Page<Report>> {
    const f = parseInput(reportFiltersSchema, opts.filters ?? {}, 'filters');
    const plan = planList(
      opts,
      {
        created_at: reports.createdAt,
        title: reports.title,
        report_type: reports.reportType,
        period_start: reports.periodStart,
      },
      '-created_at',
      reports.id,
    );
    return this.db.tenant(tenantId, (tx) =>
      listPage<Report>(
        tx,
        reports,
        allOf(
          eq(reports.tenantId, tenantId),
          f.reportType && eq(reports.reportType, f.reportType),
          f.generatedBy && eq(reports.generatedBy, f.generatedBy),
          f.since && gte(reports.createdAt, f.since),
          f.until && lt(reports.createdAt, f.until),
        ),
        plan,
      ),
    );
  }

  async create(tenantId: string, input: ReportCreate): Promise<Report> {
    const v = parseInput(reportCreateSchema, input, 'report');
    return this.db.tenant(tenantId, async (tx) => {
      const [row] = await tx
        .insert(reports)
        .values({ ...v, tenantId })
        .returning();
      return row!;
    });
  }

  /** Revise a report's title, summary or data. */
  async update(tenantId: string, id: string, patch: ReportUpdate): Promise<Report> {
    const v = definedOnly(parseInput(reportUpdateSchema, patch, 'report'));
    if (!isUuid(id)) throw new NotFoundError('report', id);
    return this.db.tenant(tenantId, async (tx) => {
      const where = and(eq(reports.tenantId, tenantId), eq(reports.id, id));
      const [row] = Object.keys(v).length
        ? await tx.update(reports).set(v).where(where).returning()
        : await tx.select().from(reports).where(where);
      if (!row) throw new NotFoundError('report', id);
      return row;
    });
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if (!isUuid(id)) throw new NotFoundError('report', id);
    return this.db.tenant(tenantId, async (tx) => {
      const gone = await tx
        .delete(reports)
        .where(and(eq(reports.tenantId, tenantId), eq(reports.id, id)))
        .returning({ id: reports.id });
      if (gone.length === 0) throw new NotFoundError('report', id);
    });
  }
}
