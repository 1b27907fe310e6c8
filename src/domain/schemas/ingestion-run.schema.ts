import { z } from 'zod';
import { INGESTION_KINDS, INGESTION_STATUSES } from '../enums.ts';
import { jsonObject, uuidSchema } from './common.schema.ts';

export const ingestionRunStartSchema = z.object({
  /** Data source identifier: `kev`, `nvd`, `epss`, `file:/var/log/auth.log`, ... */
  source: z.string().trim().min(1).max(255),
  kind: z.enum(INGESTION_KINDS),
  /** Run label, e.g. `initial_load`. */
  label: z.string().trim().min(1).max(128).nullish(),
  /** Set for a tenant's log ingestion; absent or null for global intel feeds. */
  tenantId: uuidSchema.nullish(),
});
export type IngestionRunStart = z.input<typeof ingestionRunStartSchema>;

const counter = z.number().int().min(0).max(2_147_483_647);

export const ingestionRunFinishSchema = z.object({
  status: z.enum(['success', 'failed']),
  recordsFetched: counter.optional(),
  recordsInserted: counter.optional(),
  recordsUpdated: counter.optional(),
  recordsFailed: counter.optional(),
  recordsDuplicate: counter.optional(),
  errorMessage: z.string().max(100_000).nullish(),
  details: jsonObject.optional(),
});
export type IngestionRunFinish = z.input<typeof ingestionRunFinishSchema>;

export const ingestionRunFiltersSchema = z.object({
  source: z.string().trim().min(1).max(255).optional(),
  status: z.enum(INGESTION_STATUSES).optional(),
  kind: z.enum(INGESTION_KINDS).optional(),
  /** A tenant's runs; `null` selects the global runs only. */
  tenantId: uuidSchema.nullable().optional(),
});
export type IngestionRunFilters = z.input<typeof ingestionRunFiltersSchema>;
