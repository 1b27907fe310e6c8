import { z } from 'zod';
import { jsonObject, uuidSchema } from './common.schema.ts';

/** Seed 003 sessions: a user's working session (LangGraph thread id, JSON context, title). */
export const sessionCreateSchema = z.object({
  userId: uuidSchema,
  threadId: z.string().trim().min(1).max(255).nullish(),
  context: jsonObject.nullish(),
  title: z.string().trim().max(255).nullish(),
});
export type SessionCreate = z.input<typeof sessionCreateSchema>;

export const sessionUpdateSchema = z.object({
  title: z.string().trim().max(255).nullish(),
  context: jsonObject.nullish(),
  /** `false` ends the session (sets `ended_at`); `true` reopens it (clears `ended_at`). */
  isActive: z.boolean().optional(),
});
export type SessionUpdate = z.input<typeof sessionUpdateSchema>;

export const sessionFiltersSchema = z.object({
  userId: uuidSchema.optional(),
  isActive: z.boolean().optional(),
  threadId: z.string().max(255).optional(),
});
export type SessionFilters = z.input<typeof sessionFiltersSchema>;
