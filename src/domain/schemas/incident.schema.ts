import { z } from 'zod';
import { INCIDENT_STATUSES, INCIDENT_TYPES, PRIORITIES, SEVERITIES } from '../enums.ts';
import { formatNumber } from '../ids.ts';
import { jsonObject, stringList, uuidSchema } from './common.schema.ts';

export { actorSchema } from './rule.schema.ts';

/** `INC-000042`, in the canonical form the database trigger produces. */
export const incidentNumberSchema = z
  .string()
  .refine(
    (v) => /^INC-\d{6,15}$/.test(v) && formatNumber('INC', Number(v.slice(4))) === v,
    'expected INC- and six zero-padded digits (or more, unpadded), e.g. INC-000042',
  );

const incidentFields = z.object({
  title: z.string().trim().min(1).max(500),
  description: z.string().max(100_000).nullish(),
  incidentType: z.enum(INCIDENT_TYPES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  priority: z.enum(PRIORITIES).optional(),
  status: z.enum(INCIDENT_STATUSES).optional(),
  externalId: z.string().trim().min(1).max(255).nullish(),
  tags: stringList.optional(),
  customFields: jsonObject.optional(),
  /** When the activity began, if known: the start of time_to_detect. */
  occurredAt: z.coerce.date().nullish(),
  /** Defaults to now. */
  detectedAt: z.coerce.date().optional(),
  /** Seed 000 IncidentSource: `{ system, rule_id, confidence }`. */
  source: jsonObject.nullish(),
  actors: z.array(z.unknown()).max(10_000).optional(),
  assets: z.array(z.unknown()).max(10_000).optional(),
  analysis: jsonObject.nullish(),
  remediationActions: z.array(z.unknown()).max(10_000).optional(),
  assignedTo: z.string().trim().min(1).max(255).nullish(),
  /** An incident of the same tenant. */
  parentIncidentId: uuidSchema.nullish(),
  relatedIncidents: z.array(uuidSchema).max(1000).optional(),
});

export const incidentCreateSchema = incidentFields
  .extend({
    /** Omit to let the database assign the tenant's next number. */
    incidentNumber: incidentNumberSchema.optional(),
    /** Initial entries (an import); status changes are appended by the repository. */
    timeline: z.array(z.unknown()).max(10_000).optional(),
  })
  .refine((v) => !v.occurredAt || !v.detectedAt || v.occurredAt.getTime() <= v.detectedAt.getTime(), {
    path: ['occurredAt'],
    message: 'must not be after detectedAt',
  });
export type IncidentCreate = z.input<typeof incidentCreateSchema>;

/**
 * The number never changes; the timeline is append-only (status changes add entries); responded/resolved
 * times and the time_to_* figures are derived from status changes (src/domain/incident-timing.ts).
 */
export const incidentUpdateSchema = incidentFields.partial();
export type IncidentUpdate = z.input<typeof incidentUpdateSchema>;

export const incidentFiltersSchema = z.object({
  status: z.enum(INCIDENT_STATUSES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  priority: z.enum(PRIORITIES).optional(),
  incidentType: z.enum(INCIDENT_TYPES).optional(),
  assignedTo: z.string().min(1).max(255).optional(),
  /** Incidents carrying this tag (exact match). */
  tag: z.string().min(1).max(255).optional(),
  /** Case-insensitive substring of the title, description or number. */
  q: z.string().max(255).optional(),
  /** detected_at >= detectedFrom (inclusive). */
  detectedFrom: z.coerce.date().optional(),
  /** detected_at < detectedTo (exclusive). */
  detectedTo: z.coerce.date().optional(),
});
export type IncidentFilters = z.input<typeof incidentFiltersSchema>;
