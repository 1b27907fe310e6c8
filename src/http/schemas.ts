/**
 * Zod schemas shared by every route: problem bodies, list pages and queries, id parameters.
 *
 * Request schemas reuse the domain's input schemas (src/domain/schemas) made strict, so an unknown body or
 * query key is a 400 naming the key instead of being ignored. Response schemas are written here (one per
 * resource, in its route file) and registered with an `id`, so the OpenAPI document references them as
 * components. A response schema strips every key it does not list: what is not in it never leaves the process.
 */
import { z } from 'zod';
import { listQuerySchema } from '../domain/schemas/common.schema.ts';
import { TITLES } from './problem.ts';

/** RFC 9457 problem details, as the error handler sends them (`application/problem+json`). */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.string().describe('Stable machine-readable error code, e.g. `validation`, `not_found`'),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('For validation problems: each offending field, by dotted path'),
    requestId: z.string().optional(),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 503;

/**
 * Problem responses for a route's schema, e.g. `...problems(400, 401, 403, 404)`. Every route documents the
 * errors it can answer; the error handler sends them with `application/problem+json`.
 */
export function problems<S extends ProblemStatus>(
  ...statuses: S[]
): Record<S, { description: string; content: { [PROBLEM_CONTENT_TYPE]: { schema: typeof problemSchema } } }> {
  const out = {} as Record<
    S,
    { description: string; content: { [PROBLEM_CONTENT_TYPE]: { schema: typeof problemSchema } } }
  >;
  for (const s of statuses) {
    out[s] = {
      description: TITLES[s] ?? 'Error',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } },
    };
  }
  return out;
}

/** The problems every authenticated route can answer. */
export const AUTHENTICATED_PROBLEMS = [401, 403, 503] as const;

/** `{ items, total, limit, offset }`: what every list route answers. */
export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    total: z.number().int().describe('Rows matching the filters, over all pages'),
    limit: z.number().int(),
    offset: z.number().int(),
  });
}

/**
 * The querystring of a list route: `limit`, `offset`, `sort` and the resource's filters, strict (an unknown
 * key is a 400). Refinements across filters (`since <= until`) are re-checked by the repository.
 */
export function listQuery<F extends z.ZodRawShape>(filters: F) {
  return z.strictObject({ ...listQuerySchema.shape, ...filters });
}

/** Split a parsed list query into the repository's list options. */
export function listOptions<Q extends { limit: number; offset: number; sort?: string | undefined }>(
  q: Q,
): {
  limit: number;
  offset: number;
  sort?: string | undefined;
  filters: Omit<Q, 'limit' | 'offset' | 'sort'>;
} {
  const { limit, offset, sort, ...filters } = q;
  return { limit, offset, sort, filters };
}

/** `/:id` for resources keyed by UUID. */
export const idParams = z.strictObject({ id: z.uuid().describe('The resource id (UUID)') });

/** A 204 answer: no body. */
export const noContent = z.undefined().describe('No content');

/** Timestamps leave as ISO 8601 strings (JSON.stringify of a Date). */
export const timestamp = z.date();
