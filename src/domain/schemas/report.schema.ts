import { z } from 'zod';
import { REPORT_TYPES } from '../enums.ts';
import { jsonObject } from './common.schema.ts';

export const reportCreateSchema = z
  .object({
    title: z.string().trim().min(1).max(255),
    /** Executive summary. */
    summary: z.string().max(100_000).nullish(),
    reportType: z.enum(REPORT_TYPES),
    /** Who generated it: a user name, or a job such as `scheduler:weekly-summary`. */
    generatedBy: z.string().trim().min(1).max(255),
    periodStart: z.coerce.date().nullish(),
    periodEnd: z.coerce.date().nullish(),
    /** Report data and statistics. */
    data: jsonObject.nullish(),
  })
  .refine((r) => !r.periodStart || !r.periodEnd || r.periodEnd >= r.periodStart, {
    path: ['periodEnd'],
    message: 'must not be before periodStart',
  });
export type ReportCreate = z.input<typeof reportCreateSchema>;

/** A generated report keeps its type, author and period; its text and data may be revised. */
export const reportUpdateSchema = z.object({
  title: z.string().trim().min(1).max(255).optional(),
  summary: z.string().max(100_000).nullish(),
  data: jsonObject.nullish(),
});
export type ReportUpdate = z.input<typeof reportUpdateSchema>;

export const reportFiltersSchema = z
  .object({
    reportType: z.enum(REPORT_TYPES).optional(),
    generatedBy: z.string().trim().min(1).max(255).optional(),
    /** Created at or after. */
    since: z.coerce.date().optional(),
    /** Created before. */
    until: z.coerce.date().optional(),
  })
  .refine((f) => !f.since || !f.until || f.until >= f.since, {
    path: ['until'],
    message: 'must not be before since',
  });
export type ReportFilters = z.input<typeof reportFiltersSchema>;
