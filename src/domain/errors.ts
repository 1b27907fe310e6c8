/**
 * Domain errors. Services and repositories throw these (never driver errors); the HTTP error handler
 * maps `code` to a status and an RFC 9457 problem body, the CLI maps it to a message and an exit code.
 */
export type ErrorCode =
  | 'validation'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'unauthorized'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export interface FieldIssue {
  /** Dotted path of the offending field, e.g. `severity` or `source.confidence`. */
  path: string;
  message: string;
}

export abstract class VigilError extends Error {
  abstract readonly code: ErrorCode;
  /** Process exit code used by the CLI. */
  abstract readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends VigilError {
  readonly code = 'validation' as const;
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class NotFoundError extends VigilError {
  readonly code = 'not_found' as const;
  readonly exitCode = 3;
  constructor(
    readonly resource: string,
    readonly id: string,
  ) {
    super(`${resource} ${id} not found`);
  }
}

export class ConflictError extends VigilError {
  readonly code = 'conflict' as const;
  readonly exitCode = 4;
  constructor(
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ForbiddenError extends VigilError {
  readonly code = 'forbidden' as const;
  readonly exitCode = 5;
}

export class UnauthorizedError extends VigilError {
  readonly code = 'unauthorized' as const;
  readonly exitCode = 5;
}

export class UnavailableError extends VigilError {
  readonly code = 'unavailable' as const;
  readonly exitCode = 6;
}

export class ConfigError extends VigilError {
  readonly code = 'validation' as const;
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(message);
  }
}

export function isVigilError(e: unknown): e is VigilError {
  return e instanceof VigilError;
}
