import { z } from 'zod';
import { stringList } from './common.schema.ts';

const flag = z.union([z.boolean(), z.stringbool()]);

/** ATT&CK ids: `T1059` or, for a sub-technique, `T1059.001`. */
export const techniqueIdSchema = z
  .string()
  .trim()
  .regex(/^T\d{4}(\.\d{3})?$/i, 'expected T1234 or T1234.001')
  .transform((s) => s.toUpperCase());

/**
 * One ATT&CK technique. `isSubtechnique` and `parentTechniqueId` follow from the id when not given
 * (`T1059.001` is a sub-technique of `T1059`), and must agree with it when given.
 */
export const techniqueUpsertSchema = z
  .object({
    techniqueId: techniqueIdSchema,
    stixId: z.string().max(128).nullish(),
    name: z.string().trim().min(1).max(255),
    description: z.string().max(100_000).nullish(),
    /** Kill-chain phase names as ATT&CK spells them, e.g. `execution`, `defense-evasion`. */
    tactics: stringList.optional(),
    platforms: stringList.optional(),
    dataSources: stringList.optional(),
    isSubtechnique: z.boolean().optional(),
    parentTechniqueId: techniqueIdSchema.nullish(),
    url: z.url().max(512).nullish(),
    revoked: z.boolean().optional(),
    deprecated: z.boolean().optional(),
    version: z.string().max(16).nullish(),
    modifiedAt: z.coerce.date().nullish(),
  })
  .transform((v, ctx) => {
    const dot = v.techniqueId.indexOf('.');
    const isSub = dot > 0;
    const parent = isSub ? v.techniqueId.slice(0, dot) : null;
    if (v.isSubtechnique !== undefined && v.isSubtechnique !== isSub) {
      ctx.addIssue({
        code: 'custom',
        path: ['isSubtechnique'],
        message: `must be ${isSub} for ${v.techniqueId}`,
      });
      return z.NEVER;
    }
    if (v.parentTechniqueId != null && v.parentTechniqueId !== parent) {
      ctx.addIssue({
        code: 'custom',
        path: ['parentTechniqueId'],
        message: parent ? `must be ${parent}` : 'a technique has no parent',
      });
      return z.NEVER;
    }
    return { ...v, isSubtechnique: isSub, parentTechniqueId: parent };
  });
export type TechniqueUpsert = z.input<typeof techniqueUpsertSchema>;

export const techniqueFiltersSchema = z.object({
  /** Exact member of `tactics`. */
  tactic: z.string().trim().min(1).max(64).optional(),
  /** Exact member of `platforms`. */
  platform: z.string().trim().min(1).max(64).optional(),
  /** Case-insensitive substring of the name or the technique id. */
  q: z.string().max(255).optional(),
  isSubtechnique: flag.optional(),
  /** Default false: hide revoked and deprecated techniques. */
  includeRevoked: flag.optional(),
});
export type TechniqueFilters = z.input<typeof techniqueFiltersSchema>;
