import { isIP } from 'node:net';
import { z } from 'zod';
import { ALERT_STATUSES, SEVERITIES } from '../enums.ts';
import { jsonObject, uuidSchema } from './common.schema.ts';
import { techniqueIdSchema } from './rule.schema.ts';

export { actorSchema } from './rule.schema.ts';

const ip = z.string().refine((v) => isIP(v) !== 0, 'must be an IPv4 or IPv6 address');

/** A flag as JSON gives it (`true`) or a query string does (`'true'`); `z.coerce.boolean` would read 'false' as true. */
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

const alertFields = z.object({
  /** The rule that raised it, of the same tenant. */
  ruleId: uuidSchema.nullish(),
  /** Seed 002 `log_id`: the first matched event. */
  logId: z.string().min(1).max(64).nullish(),
  eventIds: z.array(z.string().min(1).max(64)).max(10_000).optional(),
  title: z.string().trim().min(1).max(500).nullish(),
  /** e.g. `brute_force`. */
  alertType: z.string().trim().min(1).max(64),
  /** e.g. `heuristic`, `sigma`, `ioc_match`. */
  detectionMethod: z.string().trim().min(1).max(64),
  severity: z.enum(SEVERITIES).optional(),
  description: z.string().max(100_000).nullish(),
  metadata: jsonObject.optional(),
  status: z.enum(ALERT_STATUSES).optional(),
  /** 0 (ignore) .. 1 (look now). */
  priorityScore: z.number().min(0).max(1).nullish(),
  sourceIp: ip.nullish(),
  destIp: ip.nullish(),
  /** Seed 002 `user`. */
  userName: z.string().min(1).max(255).nullish(),
  host: z.string().min(1).max(255).nullish(),
  techniques: z.array(techniqueIdSchema).max(1000).optional(),
  dedupKey: z.string().min(1).max(128).nullish(),
  count: z.number().int().min(1).optional(),
  firstSeen: z.coerce.date().optional(),
  lastSeen: z.coerce.date().optional(),
});

const seenInOrder = (v: { firstSeen?: Date | undefined; lastSeen?: Date | undefined }) =>
  !v.firstSeen || !v.lastSeen || v.firstSeen.getTime() <= v.lastSeen.getTime();

export const alertCreateSchema = alertFields.refine(seenInOrder, {
  path: ['lastSeen'],
  message: 'must not be before firstSeen',
});
export type AlertCreate = z.input<typeof alertCreateSchema>;

/** Seed 002 store_alerts_batch: every item is validated before any is stored. */
export const alertBatchSchema = z.array(alertCreateSchema).max(10_000);

/** Acknowledgement has its own method (who and when); everything else may be patched. */
export const alertUpdateSchema = alertFields.partial().refine(seenInOrder, {
  path: ['lastSeen'],
  message: 'must not be before firstSeen',
});
export type AlertUpdate = z.input<typeof alertUpdateSchema>;

export const alertFiltersSchema = z.object({
  severity: z.enum(SEVERITIES).optional(),
  status: z.enum(ALERT_STATUSES).optional(),
  acknowledged: flag.optional(),
  ruleId: uuidSchema.optional(),
  sourceIp: z.string().min(1).max(45).optional(),
  destIp: z.string().min(1).max(45).optional(),
  userName: z.string().min(1).max(255).optional(),
  host: z.string().min(1).max(255).optional(),
  /** created_at >= since (inclusive). */
  since: z.coerce.date().optional(),
  /** created_at < until (exclusive). */
  until: z.coerce.date().optional(),
  /** priority_score >= minPriority. */
  minPriority: z.coerce.number().min(0).max(1).optional(),
});
export type AlertFilters = z.input<typeof alertFiltersSchema>;
