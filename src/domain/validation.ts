import { type z } from 'zod';
import { ValidationError, type FieldIssue } from './errors.ts';

/** Turn zod issues into our field issues (dotted paths). */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/** Parse `input` or throw a ValidationError that names every bad field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what = 'input'): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = toFieldIssues(r.error);
  const first = issues[0];
  const where = first?.path ? `${first.path}: ` : '';
  throw new ValidationError(`invalid ${what}: ${where}${first?.message ?? 'bad value'}`, issues);
}
