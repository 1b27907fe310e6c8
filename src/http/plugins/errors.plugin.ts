/**
 * One error handler: every error leaves as an RFC 9457 problem (`application/problem+json`).
 *   - our domain errors (src/domain/errors.ts): their code decides the status (problem.ts);
 *   - request validation (the zod type provider): 400 `validation` with `errors: [{ path, message }]`, one
 *     entry per offending field (an unknown key is named too);
 *   - Fastify's own 4xx (malformed JSON, unsupported content type, body too large): that status, a stable code;
 *   - anything else: 500 `internal`, logged, with no detail for the client. 5xx details never leave.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isVigilError, ValidationError, type FieldIssue } from '../../domain/errors.ts';
import { WWW_AUTHENTICATE } from './auth.plugin.ts';
import { problem, STATUS_BY_CODE, type Problem } from '../problem.ts';
import { PROBLEM_CONTENT_TYPE } from '../schemas.ts';

/** Codes for Fastify's own client errors, by status. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
};

interface ValidationEntry {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: { keys?: unknown; missingProperty?: unknown };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const p = toProblem(err, req);
    if (p.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.debug({ code: p.code, detail: p.detail }, 'request refused');
    return sendProblem(reply, p);
  });

  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      reply,
      problem(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`, {
        instance: req.url,
        requestId: req.id,
      }),
    ),
  );
}

/**
 * For Fastify's `frameworkErrors` option: errors the router raises before any route or hook runs (a url
 * that does not decode, a parameter over maxParamLength) leave as problems too, with the usual headers.
 */
export function frameworkErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const status =
    typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500
      ? err.statusCode
      : 400;
  // No route, so no hooks run: the headers every response carries are set here.
  reply.headers({
    'x-request-id': req.id,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  });
  void sendProblem(
    reply,
    problem(status, CODE_BY_STATUS[status] ?? 'bad_request', err.message, {
      instance: req.url,
      requestId: req.id,
    }),
  );
}

export function sendProblem(reply: FastifyReply, p: Problem): FastifyReply {
  if (p.status === 401 && !reply.hasHeader('www-authenticate'))
    reply.header('www-authenticate', WWW_AUTHENTICATE);
  return reply.status(p.status).type(PROBLEM_CONTENT_TYPE).send(p);
}

function toProblem(err: FastifyError, req: FastifyRequest): Problem {
  const ctx = { instance: req.url, requestId: req.id };
  if (isVigilError(err)) {
    const status = STATUS_BY_CODE[err.code];
    if (status >= 500) return problem(status, err.code, hiddenDetail(status), ctx);
    const errors = err instanceof ValidationError && err.issues.length ? err.issues : undefined;
    return problem(status, err.code, err.message, { ...ctx, ...(errors ? { errors } : {}) });
  }
  if (Array.isArray(err.validation)) {
    const where = err.validationContext ?? 'body';
    const errors = validationIssues(err.validation as ValidationEntry[], where);
    const first = errors[0];
    const detail = `invalid ${where}${first ? `: ${first.path}: ${first.message}` : ''}`;
    return problem(400, 'validation', detail, { ...ctx, errors });
  }
  const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
  if (status >= 400 && status < 500) {
    return problem(status, CODE_BY_STATUS[status] ?? 'bad_request', err.message, ctx);
  }
  return problem(500, 'internal', hiddenDetail(500), ctx);
}

function hiddenDetail(status: number): string {
  return status === 503
    ? 'the service is temporarily unavailable; retry later'
    : 'an unexpected error occurred';
}

/** Fastify validation entries (JSON pointers) -> our field issues (dotted paths); unknown keys by name. */
function validationIssues(entries: ValidationEntry[], where: string): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const e of entries) {
    const base = (e.instancePath ?? '')
      .split('/')
      .filter(Boolean)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .join('.');
    const keys = e.params?.keys;
    if (e.keyword === 'unrecognized_keys' && Array.isArray(keys) && keys.length) {
      for (const k of keys)
        out.push({ path: base ? `${base}.${String(k)}` : String(k), message: 'unknown field' });
      continue;
    }
    const missing = e.params?.missingProperty;
    const path = typeof missing === 'string' ? (base ? `${base}.${missing}` : missing) : base;
    out.push({ path: path || where, message: e.message ?? 'invalid value' });
  }
  return out;
}
