import { z } from 'zod';
import { RULE_STATUSES, RULE_TYPES, SEVERITIES } from '../enums.ts';
import { formatNumber } from '../ids.ts';
import { jsonObject, stringList, uuidSchema } from './common.schema.ts';

/** Who makes a change: a user's email or id, or a system component such as `detection-engine`. */
export const actorSchema = z.string().trim().min(1).max(255);

/** ATT&CK technique or sub-technique id: `T1059`, `T1059.001` (lower case accepted, stored upper case). */
export const techniqueIdSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^T\d{4}(\.\d{3})?$/, 'expected an ATT&CK technique id such as T1059 or T1059.001');

/**
 * `RULE-000042`: only the canonical form the database trigger itself produces (six digits, zero padded,
 * more digits without padding), so an explicit number can never alias an assigned one (`RULE-0000042`).
 */
export const ruleNumberSchema = z
  .string()
  .refine(
    (v) => /^RULE-\d{6,15}$/.test(v) && formatNumber('RULE', Number(v.slice(5))) === v,
    'expected RULE- and six zero-padded digits (or more, unpadded), e.g. RULE-000042',
  );

/** A flag as JSON gives it (`true`) or a query string does (`'true'`); `z.coerce.boolean` would read 'false' as true. */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

const ruleFields = z.object({
  name: z.string().trim().min(1).max(255),
  description: z.string().max(10_000).nullish(),
  ruleType: z.enum(RULE_TYPES),
  severity: z.enum(SEVERITIES).optional(),
  status: z.enum(RULE_STATUSES).optional(),
  /** SQL for query rules. */
  query: z.string().max(100_000).nullish(),
  conditions: jsonObject.nullish(),
  threshold: jsonObject.nullish(),
  correlation: jsonObject.nullish(),
  /** Seed 002 `rule_definition`. */
  definition: jsonObject.nullish(),
  sigmaYaml: z.string().max(1_000_000).nullish(),
  /** The Sigma rule's own `id`. */
  sigmaId: z.string().trim().min(1).max(64).nullish(),
  logsource: jsonObject.nullish(),
  enabled: z.boolean().optional(),
  tags: stringList.optional(),
  references: z.array(z.unknown()).max(1000).optional(),
  techniques: z.array(techniqueIdSchema).max(1000).optional(),
  falsePositives: z.array(z.string().max(10_000)).max(1000).optional(),
  falsePositiveRate: z.number().min(0).max(1).nullish(),
  author: z.string().max(255).nullish(),
  actions: z.array(z.unknown()).max(1000).optional(),
  customFields: jsonObject.optional(),
  /** A rule of the same tenant. */
  parentRuleId: uuidSchema.nullish(),
  relatedRules: z.array(uuidSchema).max(1000).optional(),
});

export const ruleCreateSchema = ruleFields.extend({
  /** Omit to let the database assign the tenant's next number. */
  ruleNumber: ruleNumberSchema.optional(),
});
export type RuleCreate = z.input<typeof ruleCreateSchema>;

/** The number is the rule's identity for humans: it never changes, so it is not part of a patch. */
export const ruleUpdateSchema = ruleFields.partial();
export type RuleUpdate = z.input<typeof ruleUpdateSchema>;

export const ruleFiltersSchema = z.object({
  ruleType: z.enum(RULE_TYPES).optional(),
  severity: z.enum(SEVERITIES).optional(),
  status: z.enum(RULE_STATUSES).optional(),
  enabled: flag.optional(),
  /** Rules carrying this tag (exact match). */
  tag: z.string().min(1).max(255).optional(),
  /** Rules detecting this ATT&CK technique (exact id). */
  technique: techniqueIdSchema.optional(),
  /** Case-insensitive substring of the name or description. */
  q: z.string().max(255).optional(),
});
export type RuleFilters = z.input<typeof ruleFiltersSchema>;

/** One run of a rule, as the detection engine reports it. */
export const ruleExecutionSchema = z.object({
  executedAt: z.coerce.date(),
  durationMs: z.number().min(0).max(86_400_000),
  hits: z.number().int().min(0),
  error: z.string().max(10_000).nullish(),
});
export type RuleExecution = z.input<typeof ruleExecutionSchema>;
