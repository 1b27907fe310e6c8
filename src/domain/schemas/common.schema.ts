import { z } from 'zod';

export const uuidSchema = z.uuid();
export const jsonObject = z.record(z.string(), z.unknown());
export const stringList = z.array(z.string().min(1).max(255)).max(1000);

/** `?limit=&offset=&sort=-created_at` as every list takes it. */
export const listQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
  /** A column name, `-` prefixed for descending. */
  sort: z
    .string()
    .regex(/^-?[a-z_]{1,64}$/, 'expected a column name, optionally prefixed with -')
    .optional(),
});
export type ListQueryInput = z.input<typeof listQuerySchema>;
